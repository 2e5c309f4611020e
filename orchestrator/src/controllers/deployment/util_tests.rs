//! Tables from upstream's `deployment_util_test.go`.

use super::*;
use k8s_openapi::api::apps::v1::{
    DeploymentCondition, DeploymentSpec, DeploymentStrategy, ReplicaSetSpec,
    RollingUpdateDeployment,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// (maxSurge, maxUnavailable, desired, surge, unavailable, error)
type FencepostCase = (
    Option<&'static str>,
    Option<&'static str>,
    i32,
    i32,
    i32,
    bool,
);
/// (deployment replicas, status replicas, maxSurge, rs replicas, max-replicas, expected)
type FractionCase = (i32, i32, i32, i32, Option<&'static str>, i32);

/// A template with these labels.
fn labelled(labels: &[(&str, &str)]) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn int(n: i32) -> Option<IntOrString> {
    Some(IntOrString::Int(n))
}

fn pct(s: &str) -> Option<IntOrString> {
    Some(IntOrString::String(s.into()))
}

fn rolling(
    replicas: i32,
    surge: Option<IntOrString>,
    unavailable: Option<IntOrString>,
) -> Deployment {
    Deployment {
        spec: DeploymentSpec {
            replicas: Some(replicas),
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: surge,
                    max_unavailable: unavailable,
                }),
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn recreate(replicas: i32) -> Deployment {
    Deployment {
        spec: DeploymentSpec {
            replicas: Some(replicas),
            strategy: Some(DeploymentStrategy {
                type_: Some("Recreate".into()),
                rolling_update: None,
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn rs(replicas: i32, annotations: &[(&str, &str)]) -> ReplicaSet {
    ReplicaSet {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            annotations: Some(
                annotations
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        },
        spec: ReplicaSetSpec {
            replicas: Some(replicas),
            ..Default::default()
        },
        status: None,
    }
}

#[test]
fn fenceposts_round_surge_up_and_unavailability_down_and_never_both_zero() {
    // (maxSurge, maxUnavailable, desired, surge, unavailable, error)
    let cases: &[FencepostCase] = &[
        (Some("0%"), Some("0%"), 0, 0, 1, false),
        (Some("39%"), Some("39%"), 10, 4, 3, false),
        (Some("oops"), Some("39%"), 10, 0, 0, true),
        (Some("55%"), Some("urg"), 10, 0, 0, true),
        (None, Some("39%"), 10, 0, 3, false),
        (Some("39%"), None, 10, 4, 0, false),
        (None, None, 10, 0, 1, false),
    ];
    for (n, &(surge, unavailable, desired, want_surge, want_unavailable, err)) in
        cases.iter().enumerate()
    {
        let surge = surge.and_then(pct);
        let unavailable = unavailable.and_then(pct);
        let got = resolve_fenceposts(surge.as_ref(), unavailable.as_ref(), desired);
        match got {
            Ok((s, u)) => {
                assert!(!err, "case {n}: expected an error");
                assert_eq!((s, u), (want_surge, want_unavailable), "case {n}");
            }
            Err(_) => assert!(err, "case {n}: unexpected error"),
        }
    }
    assert_eq!(
        resolve_fenceposts(pct("25%").as_ref(), pct("25%").as_ref(), 8),
        Ok((2, 2))
    );
    assert_eq!(
        resolve_fenceposts(int(0).as_ref(), int(0).as_ref(), 5),
        Ok((0, 1))
    );
}

#[test]
fn new_rs_new_replicas_grows_within_the_surge_or_takes_everything_on_recreate() {
    // (strategy, deployment replicas, new RS replicas, maxSurge, expected); one other RS of 5.
    let cases = [
        ("RollingUpdate", 1, 5, 1, 5),
        ("RollingUpdate", 6, 2, 10, 6),
        ("Recreate", 3, 1, 1, 3),
    ];
    for (strategy, dep, new, surge, want) in cases {
        let mut d = rolling(dep, int(surge), int(1));
        d.spec.strategy.as_mut().unwrap().type_ = Some(strategy.into());
        let new_rs = rs(new, &[]);
        let other = rs(5, &[]);
        let got = new_rs_new_replicas(&d, &[&other], &new_rs).unwrap();
        assert_eq!(got, want, "{strategy} {dep} {new} {surge}");
    }
}

#[test]
fn max_unavailable_is_capped_by_replicas_and_zero_for_recreate() {
    let cases = [
        (rolling(10, int(1), int(5)), 5),
        (rolling(10, int(1), int(10)), 10),
        (rolling(5, int(1), int(10)), 5),
        (rolling(0, int(1), int(10)), 0),
        (recreate(10), 0),
        (rolling(10, int(1), pct("50%")), 5),
        (rolling(10, int(1), pct("100%")), 10),
        (rolling(5, int(1), pct("100%")), 5),
    ];
    for (n, (d, want)) in cases.into_iter().enumerate() {
        assert_eq!(max_unavailable(&d), want, "case {n}");
    }
}

#[test]
fn min_available_is_replicas_less_max_unavailable() {
    let cases = [
        (rolling(10, int(1), int(5)), 5),
        (rolling(10, int(1), int(10)), 0),
        (rolling(5, int(1), int(10)), 0),
        (rolling(0, int(1), int(10)), 0),
        (recreate(10), 0),
        (rolling(10, int(1), pct("60%")), 4),
        (rolling(10, int(1), pct("100%")), 0),
        (rolling(5, int(1), pct("100%")), 0),
    ];
    for (n, (d, want)) in cases.into_iter().enumerate() {
        assert_eq!(min_available(&d), want, "case {n}");
    }
}

#[test]
fn replica_set_fraction_follows_the_max_replicas_annotation() {
    // (deployment replicas, status replicas, maxSurge, rs replicas, max-replicas, expected)
    let cases: &[FractionCase] = &[
        (0, 0, 0, 10, None, -10),
        (10, 0, 0, 5, None, 0),
        (10, 0, 0, 5, Some("0"), 0),
        (120, 100, 0, 50, None, 10),
        (120, 100, 0, 50, Some("0"), 10),
        (120, 0, 0, 50, Some("100"), 10),
        (120, 0, 10, 50, Some("110"), 9),
        (10, 0, 0, 6, Some("12"), -1),
        (100, 0, 10, 50, Some("130"), -8),
    ];
    for (n, &(replicas, status, surge, rs_replicas, max, want)) in cases.iter().enumerate() {
        let mut d = rolling(replicas, int(surge), int(1));
        d.status = Some(DeploymentStatus {
            replicas: Some(status),
            ..Default::default()
        });
        let annotations: Vec<(&str, &str)> = max.map(|m| (MAX_REPLICAS, m)).into_iter().collect();
        let r = rs(rs_replicas, &annotations);
        assert_eq!(replica_set_fraction(&r, &d), want, "case {n}");
    }
}

#[test]
fn proportions_never_exceed_what_is_left_to_add_or_remove() {
    let d = rolling(10, int(0), int(1));
    let r = rs(5, &[(MAX_REPLICAS, "5")]);
    // Fraction +5, but only 3 left to add.
    assert_eq!(get_proportion(Some(&r), &d, 5, 2), 3);
    assert_eq!(get_proportion(Some(&r), &d, 5, 5), 0);
    assert_eq!(get_proportion(None, &d, 5, 0), 0);
    assert_eq!(get_proportion(Some(&rs(0, &[])), &d, 5, 0), 0);
    let shrink = rolling(2, int(0), int(1));
    // Fraction -3, but only 1 left to remove.
    assert_eq!(get_proportion(Some(&r), &shrink, -2, -1), -1);
}

#[test]
fn deployment_complete_needs_every_replica_updated_and_available() {
    let d = |desired, current, updated, available, unavailable, surge| {
        let mut d = rolling(desired, int(surge), int(unavailable));
        d.status = Some(DeploymentStatus {
            replicas: Some(current),
            updated_replicas: Some(updated),
            available_replicas: Some(available),
            ..Default::default()
        });
        d
    };
    let cases = [
        (d(5, 5, 5, 4, 1, 0), false),
        (d(5, 5, 5, 3, 1, 0), false),
        (d(5, 5, 5, 5, 0, 0), true),
        (d(5, 5, 4, 5, 0, 0), false),
        (d(1, 2, 1, 1, 0, 1), false),
        (d(1, 1, 1, 0, 1, 1), false),
    ];
    for (n, (d, want)) in cases.into_iter().enumerate() {
        let status = d.status.clone().unwrap();
        assert_eq!(deployment_complete(&d, &status), want, "case {n}");
    }
}

#[test]
fn progress_is_more_updated_ready_or_available_replicas_or_fewer_old_ones() {
    let status = |current, updated, ready, available| DeploymentStatus {
        replicas: Some(current),
        updated_replicas: Some(updated),
        ready_replicas: Some(ready),
        available_replicas: Some(available),
        ..Default::default()
    };
    let cases = [
        ((10, 4, 4, 4), (10, 6, 4, 4), true),
        ((10, 4, 4, 4), (10, 4, 4, 4), false),
        ((10, 4, 6, 6), (8, 4, 6, 6), true),
        ((10, 7, 3, 3), (10, 6, 3, 3), false),
        ((10, 4, 7, 7), (8, 8, 5, 5), true),
        ((10, 10, 9, 8), (10, 10, 10, 8), true),
        ((10, 10, 10, 9), (10, 10, 10, 10), true),
    ];
    for (n, (old, new, want)) in cases.into_iter().enumerate() {
        let d = Deployment {
            status: Some(status(old.0, old.1, old.2, old.3)),
            ..Default::default()
        };
        let new = status(new.0, new.1, new.2, new.3);
        assert_eq!(deployment_progressing(&d, &new), want, "case {n}");
    }
}

#[test]
fn a_deployment_times_out_once_its_progressing_condition_is_older_than_the_deadline() {
    let at = |min: i64, sec: i64| -> jiff::Timestamp {
        "2016-01-01T00:00:00Z".parse::<jiff::Timestamp>().unwrap()
            + jiff::SignedDuration::from_secs(min * 60 + sec)
    };
    let d = |reason: &str, pds: Option<i32>, from: jiff::Timestamp| Deployment {
        spec: DeploymentSpec {
            progress_deadline_seconds: pds,
            ..Default::default()
        },
        status: Some(DeploymentStatus {
            conditions: Some(vec![DeploymentCondition {
                type_: Some(PROGRESSING.into()),
                status: Some("True".into()),
                reason: Some(reason.into()),
                last_update_time: Some(Time(from)),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let cases = [
        (d("", None, at(1, 9)), at(1, 20), false),
        (d("", Some(i32::MAX), at(1, 9)), at(1, 20), false),
        (d("", Some(10), at(1, 9)), at(1, 20), true),
        (d("", Some(10), at(1, 11)), at(1, 20), false),
        (d(NEW_RS_AVAILABLE, None, at(0, 0)), at(1, 20), false),
    ];
    for (n, (d, now, want)) in cases.into_iter().enumerate() {
        let status = d.status.clone().unwrap();
        assert_eq!(deployment_timed_out(&d, &status, now), want, "case {n}");
    }
}

#[test]
fn set_condition_overwrites_the_same_type_and_keeps_others() {
    let cond = |type_: &str, status: &str, reason: &str| DeploymentCondition {
        type_: Some(type_.into()),
        status: Some(status.into()),
        reason: Some(reason.into()),
        ..Default::default()
    };
    let mut s = DeploymentStatus::default();
    set_condition(&mut s, cond(AVAILABLE, "True", "AwesomeController"));
    assert_eq!(s.conditions.as_ref().unwrap().len(), 1);
    set_condition(&mut s, cond(PROGRESSING, "False", "ForSomeReason"));
    set_condition(&mut s, cond(PROGRESSING, "True", "BecauseItIs"));
    let conds = s.conditions.clone().unwrap();
    assert_eq!(conds.len(), 2);
    assert_eq!(conds[1].reason.as_deref(), Some("BecauseItIs"));
    remove_condition(&mut s, REPLICA_FAILURE);
    assert_eq!(s.conditions.as_ref().unwrap().len(), 2);
    remove_condition(&mut s, PROGRESSING);
    remove_condition(&mut s, AVAILABLE);
    assert_eq!(s.conditions, None);
}

#[test]
fn annotations_only_accept_nonnegative_int32s() {
    let cases = [
        ("invalid", None),
        ("-1", None),
        ("0", Some(0)),
        ("13", Some(13)),
        ("2147483647", Some(i32::MAX)),
        ("2147483648", None),
        ("4294967296", None),
    ];
    for (v, want) in cases {
        assert_eq!(
            desired_replicas_annotation(&rs(1, &[(DESIRED_REPLICAS, v)])),
            want,
            "{v}"
        );
    }
    assert_eq!(desired_replicas_annotation(&rs(1, &[])), None);
}

#[test]
fn reusing_a_replica_set_keeps_its_old_revisions_within_the_history_limit() {
    let mut d = rolling(1, int(0), int(1));
    d.metadata.annotations = Some([(REVISION.to_string(), "1".to_string())].into());
    let mut r = rs(1, &[]);
    for i in 10..20 {
        let next = i + 1;
        set_new_rs_annotations(&d, &mut r, next, true, 5);
        let a = r.metadata.annotations.as_ref().unwrap();
        if i >= 12 {
            assert_eq!(a[REVISION_HISTORY], format!("{},{}", i - 1, i), "at {i}");
        }
        assert_eq!(a[REVISION], next.to_string());
    }
    assert!(set_replicas_annotations(&mut r, 10, 11));
    let a = r.metadata.annotations.as_ref().unwrap();
    assert_eq!(
        (a[DESIRED_REPLICAS].as_str(), a[MAX_REPLICAS].as_str()),
        ("10", "11")
    );
    r.metadata
        .annotations
        .as_mut()
        .unwrap()
        .insert(DESIRED_REPLICAS.into(), "1".into());
    assert!(!is_saturated(&d, Some(&r)), "not yet available");
    r.status = Some(k8s_openapi::api::apps::v1::ReplicaSetStatus {
        available_replicas: Some(1),
        ..Default::default()
    });
    assert!(is_saturated(&d, Some(&r)));
}

#[test]
fn replicas_annotations_need_an_update_unless_both_match() {
    assert!(replicas_annotations_need_update(&rs(1, &[]), 10, 20));
    assert!(replicas_annotations_need_update(
        &rs(1, &[(DESIRED_REPLICAS, "8"), (MAX_REPLICAS, "20")]),
        10,
        20
    ));
    assert!(replicas_annotations_need_update(
        &rs(1, &[(DESIRED_REPLICAS, "10"), (MAX_REPLICAS, "16")]),
        10,
        20
    ));
    assert!(!replicas_annotations_need_update(
        &rs(1, &[(DESIRED_REPLICAS, "10"), (MAX_REPLICAS, "20")]),
        10,
        20
    ));
}

#[test]
fn copied_annotations_skip_the_controllers_own_and_kubectls_last_applied() {
    let mut d = rolling(3, int(1), int(0));
    d.metadata.annotations = Some(
        [
            (LAST_APPLIED, "{}"),
            (REVISION, "7"),
            ("kubernetes.io/change-cause", "kubectl set image"),
            ("team", "web"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    );
    let mut r = rs(0, &[]);
    assert!(set_new_rs_annotations(
        &d,
        &mut r,
        3,
        false,
        MAX_REVISION_HISTORY_CHARS
    ));
    let a = r.metadata.annotations.unwrap();
    assert_eq!(a.get(LAST_APPLIED), None);
    assert_eq!(a[REVISION], "3");
    assert_eq!(a["kubernetes.io/change-cause"], "kubectl set image");
    assert_eq!(a["team"], "web");
    assert_eq!(
        (a[DESIRED_REPLICAS].as_str(), a[MAX_REPLICAS].as_str()),
        ("3", "4")
    );
}

#[test]
fn revisions_order_rollouts_and_the_last_one_is_the_second_highest() {
    let rss = [
        rs(0, &[(REVISION, "3")]),
        rs(0, &[(REVISION, "bad")]),
        rs(0, &[(REVISION, "5")]),
        rs(0, &[]),
    ];
    assert_eq!(max_revision(rss.iter()), 5);
    assert_eq!(last_revision(rss.iter()), 3);
}

#[test]
fn the_template_hash_depends_on_the_template_and_the_collision_count() {
    let t = labelled(&[("app", "web")]);
    let h = compute_hash(&t, None);
    assert!(!h.is_empty() && h.len() <= 10, "{h}");
    assert!(
        h.bytes()
            .all(|b| b"bcdfghjklmnpqrstvwxz2456789".contains(&b)),
        "{h}"
    );
    assert_eq!(compute_hash(&t, None), h, "stable");
    assert_ne!(compute_hash(&t, Some(1)), h);
    assert_ne!(compute_hash(&t, Some(1)), compute_hash(&t, Some(2)));
    // SafeEncodeString maps bytes, so the decimal digits of the sum map one to one.
    assert_eq!(safe_encode("0123456789"), "456789bcdf");
    let mut fnv = Fnv32a::default();
    fnv.write(b"a");
    assert_eq!(fnv.0, 0xe40c_292c, "FNV-1a of \"a\"");
}

#[test]
fn templates_equal_but_for_the_hash_label_and_empty_fields_are_the_same() {
    let a = labelled(&[("app", "web")]);
    let mut b = a.clone();
    b.metadata
        .as_mut()
        .unwrap()
        .labels
        .as_mut()
        .unwrap()
        .insert(HASH_LABEL.into(), "abc".into());
    b.metadata.as_mut().unwrap().annotations = Some(Default::default());
    assert!(equal_ignore_hash(&a, &b));
    b.metadata
        .as_mut()
        .unwrap()
        .labels
        .as_mut()
        .unwrap()
        .insert("tier".into(), "x".into());
    assert!(!equal_ignore_hash(&a, &b));
}
