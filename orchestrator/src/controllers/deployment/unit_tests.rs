//! The sync's decisions against a recording fake API, on tables from upstream's `sync_test.go`
//! (`TestScale`, `TestDeploymentController_cleanupDeployment`) and `rolling_test.go`.

use std::cell::RefCell;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, ReplicaSet, ReplicaSetSpec, ReplicaSetStatus,
    RollingUpdateDeployment,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::sync::{Api, Syncer};
use super::util::*;
use crate::error::ApiError;

/// Records writes; updates succeed unless the ReplicaSet is in `failing`.
#[derive(Default)]
struct Fake {
    updates: RefCell<Vec<ReplicaSet>>,
    deletes: RefCell<Vec<String>>,
    events: RefCell<Vec<String>>,
}

impl Api for Fake {
    fn update_rs(&self, rs: &ReplicaSet) -> Result<ReplicaSet, ApiError> {
        self.updates.borrow_mut().push(rs.clone());
        Ok(rs.clone())
    }
    fn create_rs(&self, rs: &ReplicaSet) -> Result<ReplicaSet, ApiError> {
        Ok(rs.clone())
    }
    fn get_rs(&self, _: &str, name: &str) -> Result<ReplicaSet, ApiError> {
        Err(ApiError::not_found("apps", "replicasets", name))
    }
    fn delete_rs(&self, _: &str, name: &str) -> Result<(), ApiError> {
        self.deletes.borrow_mut().push(name.into());
        Ok(())
    }
    fn update_status(&self, d: &Deployment) -> Result<Deployment, ApiError> {
        Ok(d.clone())
    }
    fn update_deployment(&self, d: &Deployment) -> Result<Deployment, ApiError> {
        Ok(d.clone())
    }
    fn event(&self, _: &Deployment, _: &str, reason: &str, message: &str) {
        self.events
            .borrow_mut()
            .push(format!("{reason}: {message}"));
    }
}

fn at(hour: i64) -> Option<Time> {
    Some(Time(
        "2016-05-20T00:00:00Z".parse::<jiff::Timestamp>().unwrap()
            + jiff::SignedDuration::from_hours(hour),
    ))
}

/// Upstream's `newDeployment`: RollingUpdate with both fenceposts 0 unless given.
fn deployment(replicas: i32, surge: i32, unavailable: i32) -> Deployment {
    Deployment {
        metadata: ObjectMeta {
            name: Some("foo".into()),
            namespace: Some("default".into()),
            ..Default::default()
        },
        spec: DeploymentSpec {
            replicas: Some(replicas),
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(IntOrString::Int(surge)),
                    max_unavailable: Some(IntOrString::Int(unavailable)),
                }),
            }),
            ..Default::default()
        },
        status: None,
    }
}

/// Upstream's `rs(name, replicas, selector, timestamp)`.
fn rs(name: &str, replicas: i32, created: Option<Time>) -> ReplicaSet {
    ReplicaSet {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            creation_timestamp: created,
            ..Default::default()
        },
        spec: ReplicaSetSpec {
            replicas: Some(replicas),
            ..Default::default()
        },
        status: None,
    }
}

fn with_available(mut r: ReplicaSet, available: i32) -> ReplicaSet {
    r.status = Some(ReplicaSetStatus {
        available_replicas: Some(available),
        ..Default::default()
    });
    r
}

fn now() -> jiff::Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

/// Sizes after `scale`, by name: `(new, olds)` in the table's order.
struct ScaleCase {
    name: &'static str,
    replicas: i32,
    old_replicas: i32,
    surge: i32,
    old_surge: i32,
    new_rs: Option<(&'static str, i32)>,
    old_rss: &'static [(&'static str, i32)],
    expected_new: i32,
    expected_old: &'static [i32],
    /// Annotated with a different desired size than the old deployment's.
    desired: &'static [(&'static str, i32)],
    /// Updates to these are dropped (upstream's `wasntUpdated`).
    failing: &'static [&'static str],
}

#[test]
fn scaling_events_are_shared_proportionally_between_active_replica_sets() {
    let base = ScaleCase {
        name: "",
        replicas: 0,
        old_replicas: 0,
        surge: 0,
        old_surge: 0,
        new_rs: None,
        old_rss: &[],
        expected_new: 0,
        expected_old: &[],
        desired: &[],
        failing: &[],
    };
    let cases = [
        ScaleCase {
            name: "normal scaling event: 10 -> 12",
            replicas: 12,
            old_replicas: 10,
            new_rs: Some(("foo-v1", 10)),
            expected_new: 12,
            ..base
        },
        ScaleCase {
            name: "normal scaling event: 10 -> 5",
            replicas: 5,
            old_replicas: 10,
            new_rs: Some(("foo-v1", 10)),
            expected_new: 5,
            ..base
        },
        ScaleCase {
            name: "proportional scaling: 5 -> 10",
            replicas: 10,
            old_replicas: 5,
            new_rs: Some(("foo-v2", 2)),
            old_rss: &[("foo-v1", 3)],
            expected_new: 4,
            expected_old: &[6],
            ..base
        },
        ScaleCase {
            name: "proportional scaling: 5 -> 3",
            replicas: 3,
            old_replicas: 5,
            new_rs: Some(("foo-v2", 2)),
            old_rss: &[("foo-v1", 3)],
            expected_new: 1,
            expected_old: &[2],
            ..base
        },
        ScaleCase {
            name: "proportional scaling: 9 -> 4",
            replicas: 4,
            old_replicas: 9,
            new_rs: Some(("foo-v2", 8)),
            old_rss: &[("foo-v1", 1)],
            expected_new: 4,
            expected_old: &[0],
            ..base
        },
        ScaleCase {
            name: "proportional scaling: 7 -> 10",
            replicas: 10,
            old_replicas: 7,
            new_rs: Some(("foo-v3", 2)),
            old_rss: &[("foo-v2", 3), ("foo-v1", 2)],
            expected_new: 3,
            expected_old: &[4, 3],
            ..base
        },
        ScaleCase {
            name: "proportional scaling: 13 -> 8",
            replicas: 8,
            old_replicas: 13,
            new_rs: Some(("foo-v3", 2)),
            old_rss: &[("foo-v2", 8), ("foo-v1", 3)],
            expected_new: 1,
            expected_old: &[5, 2],
            ..base
        },
        ScaleCase {
            name: "leftover distribution: 3 -> 4",
            replicas: 4,
            old_replicas: 3,
            new_rs: Some(("foo-v3", 1)),
            old_rss: &[("foo-v2", 1), ("foo-v1", 1)],
            expected_new: 2,
            expected_old: &[1, 1],
            ..base
        },
        ScaleCase {
            name: "leftover distribution: 3 -> 2",
            replicas: 2,
            old_replicas: 3,
            new_rs: Some(("foo-v3", 1)),
            old_rss: &[("foo-v2", 1), ("foo-v1", 1)],
            expected_new: 1,
            expected_old: &[1, 0],
            ..base
        },
        ScaleCase {
            name: "proportional scaling (no new rs): 4 -> 5",
            replicas: 5,
            old_replicas: 4,
            old_rss: &[("foo-v2", 2), ("foo-v1", 2)],
            expected_old: &[3, 2],
            ..base
        },
        ScaleCase {
            name: "proportional scaling: 6 -> 0",
            replicas: 0,
            old_replicas: 6,
            new_rs: Some(("foo-v3", 3)),
            old_rss: &[("foo-v2", 2), ("foo-v1", 1)],
            expected_new: 0,
            expected_old: &[0, 0],
            ..base
        },
        ScaleCase {
            name: "proportional scaling: 0 -> 6",
            replicas: 6,
            old_replicas: 6,
            new_rs: Some(("foo-v3", 0)),
            old_rss: &[("foo-v2", 0), ("foo-v1", 0)],
            expected_new: 6,
            expected_old: &[0, 0],
            failing: &["foo-v2", "foo-v1"],
            ..base
        },
        ScaleCase {
            name: "failed rs update",
            replicas: 5,
            old_replicas: 5,
            new_rs: Some(("foo-v3", 2)),
            old_rss: &[("foo-v2", 1), ("foo-v1", 1)],
            expected_new: 2,
            expected_old: &[2, 1],
            desired: &[("foo-v2", 3)],
            failing: &["foo-v3", "foo-v1"],
            ..base
        },
        ScaleCase {
            name: "deployment with surge pods",
            replicas: 20,
            old_replicas: 10,
            surge: 2,
            old_surge: 2,
            new_rs: Some(("foo-v2", 6)),
            old_rss: &[("foo-v1", 6)],
            expected_new: 11,
            expected_old: &[11],
            ..base
        },
        ScaleCase {
            name: "change both surge and size",
            replicas: 50,
            old_replicas: 10,
            surge: 6,
            old_surge: 3,
            new_rs: Some(("foo-v2", 5)),
            old_rss: &[("foo-v1", 8)],
            expected_new: 22,
            expected_old: &[34],
            ..base
        },
    ];
    let times = [at(2), at(1), at(0)];
    for case in cases {
        let old_d = deployment(case.old_replicas, case.old_surge, 0);
        let annotate = |name: &str, mut r: ReplicaSet| {
            let desired = case
                .desired
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(case.old_replicas, |(_, d)| *d);
            set_replicas_annotations(&mut r, desired, desired + max_surge(&old_d));
            r
        };
        let mut rss: Vec<ReplicaSet> = case
            .old_rss
            .iter()
            .enumerate()
            .map(|(i, (n, r))| annotate(n, rs(n, *r, times[i + 1].clone())))
            .collect();
        let mut new = None;
        if let Some((n, r)) = case.new_rs {
            rss.push(annotate(n, rs(n, r, times[0].clone())));
            new = Some(rss.len() - 1);
        }
        let fake = Fake::default();
        let mut s = Syncer::new(
            &fake,
            deployment(case.replicas, case.surge, 0),
            rss.clone(),
            now(),
        );
        s.new = new;
        s.scale()
            .unwrap_or_else(|e| panic!("{}: {}", case.name, e.message));
        let size = |name: &str| {
            let updated = fake
                .updates
                .borrow()
                .iter()
                .rev()
                .find(|u| u.metadata.name.as_deref() == Some(name))
                .filter(|_| !case.failing.contains(&name))
                .map(rs_replicas);
            updated.unwrap_or_else(|| {
                rss.iter()
                    .find(|r| r.metadata.name.as_deref() == Some(name))
                    .map(rs_replicas)
                    .unwrap()
            })
        };
        if let Some((n, _)) = case.new_rs {
            assert_eq!(size(n), case.expected_new, "{}: new", case.name);
        }
        for ((n, _), want) in case.old_rss.iter().zip(case.expected_old) {
            assert_eq!(size(n), *want, "{}: old {n}", case.name);
        }
    }
}

#[test]
fn a_saturated_but_broken_new_replica_set_leaves_old_pods_alone() {
    let d = deployment(2, 1, 1);
    let mut new = with_available(rs("foo-v2", 2, at(2)), 0);
    let mut old = rs("foo-v1", 1, at(1));
    set_replicas_annotations(&mut new, 2, 3);
    set_replicas_annotations(&mut old, 2, 3);
    let fake = Fake::default();
    let mut s = Syncer::new(&fake, d, vec![old, new], now());
    s.new = Some(1);
    s.scale().unwrap();
    assert!(fake.updates.borrow().is_empty());
}

#[test]
fn reconcile_new_replica_set_grows_within_the_surge_and_shrinks_an_oversized_one() {
    // (deployment replicas, maxSurge, old, new, expected new size if scaled)
    let cases = [
        (10, 0, 10, 0, None),
        (10, 2, 10, 0, Some(2)),
        (10, 2, 5, 0, Some(7)),
        (10, 2, 10, 2, None),
        (10, 2, 2, 11, Some(10)),
    ];
    for (n, (replicas, surge, old, new, want)) in cases.into_iter().enumerate() {
        let fake = Fake::default();
        let rss = vec![rs("foo-v2", new, None), rs("foo-v1", old, None)];
        let mut s = Syncer::new(&fake, deployment(replicas, surge, 0), rss, now());
        s.new = Some(0);
        let scaled = s.reconcile_new_replica_set().unwrap();
        assert_eq!(scaled, want.is_some(), "case {n}");
        let updates = fake.updates.borrow();
        match want {
            Some(size) => {
                assert_eq!(updates.len(), 1, "case {n}");
                assert_eq!(rs_replicas(&updates[0]), size, "case {n}");
            }
            None => assert!(updates.is_empty(), "case {n}"),
        }
    }
}

#[test]
fn reconcile_old_replica_sets_scales_down_within_max_unavailable() {
    // (replicas, maxUnavailable, old, new, available old, available new, expected old size)
    let cases = [
        (10, 0, 10, 0, 10, 0, Some(9)),
        (10, 2, 10, 0, 10, 0, Some(8)),
        // Unhealthy old replicas are cleaned up first.
        (10, 2, 10, 0, 8, 0, Some(8)),
        // One unhealthy cleaned up and one ready scaled down.
        (10, 2, 10, 0, 9, 0, Some(8)),
        // The new ReplicaSet's unavailable pods block any further scale-down.
        (10, 2, 8, 2, 8, 0, None),
    ];
    for (n, (replicas, unavailable, old, new, avail_old, avail_new, want)) in
        cases.into_iter().enumerate()
    {
        let fake = Fake::default();
        let mut new_rs = with_available(rs("foo-new", new, None), avail_new);
        let mut old_rs = with_available(rs("foo-old", old, None), avail_old);
        for r in [&mut new_rs, &mut old_rs] {
            let size = rs_replicas(r);
            r.metadata.annotations =
                Some([(DESIRED_REPLICAS.to_string(), size.to_string())].into());
        }
        let mut s = Syncer::new(
            &fake,
            deployment(replicas, 0, unavailable),
            vec![old_rs, new_rs],
            now(),
        );
        s.new = Some(1);
        let scaled = s.reconcile_old_replica_sets(vec![0]).unwrap();
        assert_eq!(scaled, want.is_some(), "case {n}");
        if let Some(size) = want {
            assert_eq!(rs_replicas(&s.rss[0]), size, "case {n}");
        }
    }
}

#[test]
fn cleanup_of_unhealthy_replicas_stops_at_the_maximum() {
    // (old replicas, available, max cleanup, expected cleaned)
    let cases = [(10, 8, 1, 1), (10, 8, 3, 2), (10, 8, 0, 0), (10, 10, 3, 0)];
    for (n, (old, available, max, want)) in cases.into_iter().enumerate() {
        let fake = Fake::default();
        let rss = vec![with_available(rs("foo-v2", old, None), available)];
        let mut s = Syncer::new(&fake, deployment(10, 2, 2), rss, now());
        let (_, cleaned) = s.cleanup_unhealthy_replicas(vec![0], max).unwrap();
        assert_eq!(cleaned, want, "case {n}");
    }
}

#[test]
fn old_replica_sets_scale_down_by_what_is_available_beyond_the_minimum() {
    // (replicas, maxUnavailable, available, old replicas, expected old size if scaled)
    let cases = [
        (10, 0, 10, 10, Some(9)),
        (10, 2, 10, 10, Some(8)),
        (10, 2, 8, 10, None),
        (10, 2, 10, 0, None),
        (10, 2, 1, 10, None),
    ];
    for (n, (replicas, unavailable, available, old, want)) in cases.into_iter().enumerate() {
        let fake = Fake::default();
        let rss = vec![with_available(rs("foo-v2", old, None), available)];
        let mut s = Syncer::new(&fake, deployment(replicas, 0, unavailable), rss, now());
        let scaled = s
            .scale_down_old_replica_sets_for_rolling_update(vec![0])
            .unwrap();
        assert_eq!(scaled > 0, want.is_some(), "case {n}");
        if let Some(size) = want {
            assert_eq!(rs_replicas(&fake.updates.borrow()[0]), size, "case {n}");
        }
    }
}

#[test]
fn cleanup_deletes_only_fully_scaled_down_revisions_beyond_the_limit() {
    let with_status = |name: &str, spec: i32, status: i32| {
        let mut r = rs(name, spec, None);
        r.status = Some(ReplicaSetStatus {
            replicas: status,
            ..Default::default()
        });
        r
    };
    let mut already_deleted = with_status("foo-1", 0, 0);
    already_deleted.metadata.deletion_timestamp = at(0);
    let cases = [
        (
            vec![
                with_status("foo-1", 0, 0),
                with_status("foo-2", 0, 0),
                with_status("foo-3", 0, 0),
            ],
            1,
            2,
        ),
        (
            vec![
                with_status("foo-1", 0, 0),
                with_status("foo-2", 0, 1),
                with_status("foo-3", 1, 0),
                with_status("foo-4", 1, 1),
            ],
            0,
            1,
        ),
        (
            vec![with_status("foo-1", 0, 0), with_status("foo-2", 0, 0)],
            0,
            2,
        ),
        (
            vec![with_status("foo-1", 1, 1), with_status("foo-2", 1, 1)],
            0,
            0,
        ),
        (vec![already_deleted], 0, 0),
        (
            vec![
                with_status("foo-1", 0, 0),
                with_status("foo-2", 0, 0),
                with_status("foo-3", 0, 0),
            ],
            i32::MAX,
            0,
        ),
    ];
    for (n, (rss, limit, want)) in cases.into_iter().enumerate() {
        let fake = Fake::default();
        let mut d = deployment(1, 0, 1);
        d.spec.revision_history_limit = Some(limit);
        let mut s = Syncer::new(&fake, d, rss, now());
        s.cleanup_deployment().unwrap();
        assert_eq!(fake.deletes.borrow().len(), want, "case {n}");
    }
}

#[test]
fn scaling_records_upstreams_event() {
    let fake = Fake::default();
    let mut s = Syncer::new(
        &fake,
        deployment(3, 1, 0),
        vec![rs("foo-abc", 1, None)],
        now(),
    );
    s.new = Some(0);
    s.scale_rs_and_record_event(0, 3).unwrap();
    s.scale_rs_and_record_event(0, 2).unwrap();
    assert_eq!(
        *fake.events.borrow(),
        [
            "ScalingReplicaSet: Scaled up replica set foo-abc from 1 to 3",
            "ScalingReplicaSet: Scaled down replica set foo-abc from 3 to 2",
        ]
    );
}

#[test]
fn replica_set_owners_follow_every_change_of_controller() {
    let mut owners = super::RsOwners::default();
    let owned = |key: &str, name: &str| Some((key.to_owned(), name.to_owned()));
    owners.set("u1", owned("team/web", "web-a"));
    owners.set("u2", owned("team/web", "web-b"));
    owners.set("u3", owned("team/api", "api-a"));
    let mut names = owners.names_of("team/web");
    names.sort();
    assert_eq!(names, ["web-a", "web-b"]);
    assert_eq!(owners.key_of("u3").as_deref(), Some("team/api"));
    owners.set("u2", owned("team/api", "web-b"));
    assert_eq!(owners.names_of("team/web"), ["web-a"]);
    owners.set("u1", None);
    assert!(owners.names_of("team/web").is_empty());
    assert!(
        !owners.by_owner.contains_key("team/web"),
        "no empty sets left behind"
    );
    assert_eq!(owners.key_of("u1"), None);
    owners.clear();
    assert!(owners.names_of("team/api").is_empty());
}
