//! Tests of the in-memory store's MVCC, list and watch semantics.

use std::time::Duration;

use serde_json::json;

use super::*;
use crate::store::{FieldSelector, LabelSelector};

fn cm(ns: &str, name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns, "labels": labels, "uid": format!("uid-{name}")}, "data": {"k": "v"}})
}

fn store() -> MemoryStore {
    MemoryStore::new(MemoryStoreConfig::default())
}

fn small(history: usize, watch_buffer: usize) -> MemoryStore {
    MemoryStore::new(MemoryStoreConfig {
        history,
        watch_buffer,
        history_max_age: None,
    })
}

const CM: &str = "configmaps";

fn names(items: &[Arc<Stored>]) -> Vec<String> {
    items
        .iter()
        .map(|s| format!("{}/{}", s.namespace, s.name))
        .collect()
}

fn rv_of(s: &Stored) -> String {
    s.value()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn next(w: &mut Watch) -> Option<Arc<Event>> {
    tokio::time::timeout(Duration::from_secs(5), w.rx.recv())
        .await
        .expect("no event within 5s")
}

#[test]
fn create_sets_revision_and_conflicts_on_duplicates() {
    let s = store();
    let a = s
        .create(CM, "default", "a", cm("default", "a", json!({"x": "1"})))
        .unwrap();
    assert_eq!(a.revision, 1);
    assert_eq!(rv_of(&a), "1");
    assert_eq!(s.revision(), 1);
    assert_eq!(&*a.labels, &[("x".into(), "1".into())]);
    let e = s
        .create(CM, "default", "a", cm("default", "a", json!({})))
        .unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (409, "configmaps \"a\" already exists")
    );
    assert_eq!(
        s.revision(),
        1,
        "a failed write does not advance the revision"
    );
    let e = s
        .create("deployments.apps", "", "d", json!("not an object"))
        .unwrap_err();
    assert_eq!(e.code, 500);
    assert_eq!(s.revision(), 1);
    assert_eq!(s.count(CM), 1);
}

#[test]
fn get_update_delete_and_their_errors() {
    let s = store();
    s.create(CM, "ns", "a", cm("ns", "a", json!({}))).unwrap();
    assert_eq!(s.get(CM, "ns", "a").unwrap().revision, 1);
    let e = s.get("deployments.apps", "ns", "zz").unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (404, "deployments.apps \"zz\" not found")
    );

    let stale = Preconditions {
        revision: Some(7),
        uid: None,
    };
    let e = s
        .update(CM, "ns", "a", cm("ns", "a", json!({})), &stale)
        .unwrap_err();
    assert_eq!(e.code, 409);
    assert_eq!(
        e.message,
        "Operation cannot be fulfilled on configmaps \"a\": the object has been modified; please apply your changes to the latest version and try again"
    );
    let bad_uid = Preconditions {
        revision: None,
        uid: Some("other".into()),
    };
    let e = s.delete(CM, "ns", "a", &bad_uid).unwrap_err();
    assert_eq!(
        e.message,
        "Operation cannot be fulfilled on configmaps \"a\": Precondition failed: UID in precondition: other, UID in object meta: uid-a"
    );
    let e = s.delete(CM, "ns", "a", &stale).unwrap_err();
    assert_eq!(
        e.message,
        "Operation cannot be fulfilled on configmaps \"a\": Precondition failed: ResourceVersion in precondition: 7, ResourceVersion in object meta: 1"
    );
    assert_eq!(s.revision(), 1);

    let ok = Preconditions {
        revision: Some(1),
        uid: Some("uid-a".into()),
    };
    let u = s
        .update(CM, "ns", "a", cm("ns", "a", json!({"v": "2"})), &ok)
        .unwrap();
    assert_eq!((u.revision, rv_of(&u).as_str()), (2, "2"));
    assert_eq!(s.get(CM, "ns", "a").unwrap().label("v"), Some("2"));
    let d = s.delete(CM, "ns", "a", &Preconditions::default()).unwrap();
    assert_eq!(
        (d.revision, rv_of(&d).as_str()),
        (3, "3"),
        "delete returns the last state at the deletion's revision"
    );
    assert_eq!(d.label("v"), Some("2"));
    assert_eq!(s.get(CM, "ns", "a").unwrap_err().code, 404);
    assert_eq!(
        s.update(
            CM,
            "ns",
            "a",
            cm("ns", "a", json!({})),
            &Preconditions::default()
        )
        .unwrap_err()
        .code,
        404
    );
    assert_eq!(
        s.delete(CM, "ns", "a", &Preconditions::default())
            .unwrap_err()
            .code,
        404
    );
    assert_eq!(s.count(CM), 0);
}

#[test]
fn lists_in_etcd_key_order_and_filters() {
    let s = store();
    for (ns, n) in [("b", "x"), ("a", "y"), ("a-b", "z"), ("a", "b")] {
        s.create(CM, ns, n, cm(ns, n, json!({"ns": ns}))).unwrap();
    }
    s.create(
        "namespaces",
        "",
        "zeta",
        json!({"metadata": {"name": "zeta"}}),
    )
    .unwrap();
    let all = s.list(CM, &ListOptions::default()).unwrap();
    // etcd orders "a-b/z" before "a/b" because '-' sorts before '/'.
    assert_eq!(names(&all.items), ["a-b/z", "a/b", "a/y", "b/x"]);
    assert_eq!(all.revision, 5);
    assert!(all.continue_token.is_none());
    let mut opts = ListOptions::default();
    opts.filter.namespace = Some("a".into());
    assert_eq!(names(&s.list(CM, &opts).unwrap().items), ["a/b", "a/y"]);
    assert!(
        s.list("pods", &ListOptions::default())
            .unwrap()
            .items
            .is_empty()
    );
}

#[test]
fn pages_stay_consistent_across_concurrent_writes() {
    let s = store();
    for i in 0..5 {
        s.create(
            CM,
            "ns",
            &format!("o{i}"),
            cm("ns", &format!("o{i}"), json!({})),
        )
        .unwrap();
    }
    let mut opts = ListOptions {
        limit: 2,
        ..Default::default()
    };
    let p1 = s.list(CM, &opts).unwrap();
    assert_eq!(names(&p1.items), ["ns/o0", "ns/o1"]);
    assert_eq!((p1.revision, p1.remaining), (5, Some(3)));
    // Writes between pages: delete a later item, modify one, add one, touch an earlier one.
    s.delete(CM, "ns", "o2", &Preconditions::default()).unwrap();
    s.update(
        CM,
        "ns",
        "o3",
        cm("ns", "o3", json!({"changed": "yes"})),
        &Preconditions::default(),
    )
    .unwrap();
    s.create(CM, "ns", "o25", cm("ns", "o25", json!({})))
        .unwrap();
    s.delete(CM, "ns", "o0", &Preconditions::default()).unwrap();
    opts.continue_token = p1.continue_token.clone();
    let p2 = s.list(CM, &opts).unwrap();
    assert_eq!(p2.revision, 5);
    assert_eq!(names(&p2.items), ["ns/o2", "ns/o3"]);
    assert_eq!(
        p2.items[1].label("changed"),
        None,
        "the page shows o3 as it was at revision 5"
    );
    assert_eq!(p2.remaining, Some(1));
    opts.continue_token = p2.continue_token.clone();
    let p3 = s.list(CM, &opts).unwrap();
    assert_eq!(names(&p3.items), ["ns/o4"]);
    assert!(p3.continue_token.is_none() && p3.remaining.is_none());
    // A fresh list sees the writes.
    assert_eq!(
        names(&s.list(CM, &ListOptions::default()).unwrap().items),
        ["ns/o1", "ns/o25", "ns/o3", "ns/o4"]
    );
}

#[test]
fn expired_continue_is_410_and_bad_token_400() {
    let s = small(3, 16);
    for i in 0..4 {
        s.create(
            CM,
            "ns",
            &format!("o{i}"),
            cm("ns", &format!("o{i}"), json!({})),
        )
        .unwrap();
    }
    let p1 = s
        .list(
            CM,
            &ListOptions {
                limit: 1,
                ..Default::default()
            },
        )
        .unwrap();
    // Four writes push revision 4's successor (5) out of a three-event history.
    for i in 0..4 {
        s.update(
            CM,
            "ns",
            "o0",
            cm("ns", "o0", json!({"i": i.to_string()})),
            &Preconditions::default(),
        )
        .unwrap();
    }
    let opts = ListOptions {
        limit: 1,
        continue_token: p1.continue_token,
        ..Default::default()
    };
    let e = s.list(CM, &opts).unwrap_err();
    assert_eq!((e.code, e.reason), (410, Reason::Expired));
    assert!(e.message.starts_with(
        "The provided continue parameter is too old to display a consistent list result."
    ));
    let bad = ListOptions {
        continue_token: Some("garbage!".into()),
        ..Default::default()
    };
    assert_eq!(s.list(CM, &bad).unwrap_err().code, 400);
    let with_rv = ListOptions {
        continue_token: Some(continue_token::encode(4, "ns/o0")),
        read_at: ReadAt::Exact(4),
        ..Default::default()
    };
    let e = s.list(CM, &with_rv).unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (
            400,
            "specifying resource version is not allowed when using continue"
        )
    );
}

#[test]
fn exact_reads_serve_old_snapshots() {
    let s = small(4, 16);
    s.create(CM, "ns", "a", cm("ns", "a", json!({"v": "1"})))
        .unwrap(); // 1
    s.create(CM, "ns", "b", cm("ns", "b", json!({}))).unwrap(); // 2
    s.update(
        CM,
        "ns",
        "a",
        cm("ns", "a", json!({"v": "2"})),
        &Preconditions::default(),
    )
    .unwrap(); // 3
    s.delete(CM, "ns", "b", &Preconditions::default()).unwrap(); // 4
    s.create(CM, "ns", "c", cm("ns", "c", json!({}))).unwrap(); // 5, evicts 1
    let at = |rv| {
        s.list(
            CM,
            &ListOptions {
                read_at: ReadAt::Exact(rv),
                ..Default::default()
            },
        )
    };
    let r2 = at(2).unwrap();
    assert_eq!(
        (r2.revision, names(&r2.items)),
        (2, vec!["ns/a".to_string(), "ns/b".to_string()])
    );
    assert_eq!(r2.items[0].label("v"), Some("1"));
    assert_eq!(names(&at(4).unwrap().items), ["ns/a"]);
    assert_eq!(names(&at(5).unwrap().items), ["ns/a", "ns/c"]);
    let e = at(0).unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (410, "too old resource version: 0 (1)")
    );
    let e = at(9).unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (504, "Too large resource version: 9, current: 5")
    );
    let e = s
        .list(
            CM,
            &ListOptions {
                read_at: ReadAt::NotOlderThan(9),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(e.code, 504);
    assert_eq!(
        s.list(
            CM,
            &ListOptions {
                read_at: ReadAt::NotOlderThan(0),
                ..Default::default()
            }
        )
        .unwrap()
        .revision,
        5
    );
}

#[tokio::test]
async fn watch_now_sends_current_objects_then_changes() {
    let s = store();
    s.create(CM, "ns", "a", cm("ns", "a", json!({}))).unwrap();
    let mut w = s.watch(CM, Filter::default(), WatchFrom::Now).unwrap();
    assert_eq!(w.revision, 1);
    assert_eq!(w.backlog.len(), 1);
    assert_eq!(
        (w.backlog[0].kind, w.backlog[0].revision()),
        (EventType::Added, 1)
    );
    s.create(
        "secrets",
        "ns",
        "other",
        json!({"metadata": {"name": "other"}}),
    )
    .unwrap();
    s.update(
        CM,
        "ns",
        "a",
        cm("ns", "a", json!({"v": "2"})),
        &Preconditions::default(),
    )
    .unwrap();
    s.delete(CM, "ns", "a", &Preconditions::default()).unwrap();
    let e = next(&mut w).await.unwrap();
    assert_eq!((e.kind, e.revision()), (EventType::Modified, 3));
    assert_eq!(e.prev.as_ref().unwrap().revision, 1);
    let e = next(&mut w).await.unwrap();
    assert_eq!((e.kind, e.revision()), (EventType::Deleted, 4));
}

#[tokio::test]
async fn watch_resumes_after_a_revision_and_410s_when_too_old() {
    let s = small(3, 16);
    for i in 0..4 {
        s.create(
            CM,
            "ns",
            &format!("o{i}"),
            cm("ns", &format!("o{i}"), json!({})),
        )
        .unwrap();
    }
    let w = s.watch(CM, Filter::default(), WatchFrom::After(2)).unwrap();
    let revs: Vec<u64> = w.backlog.iter().map(|e| e.revision()).collect();
    assert_eq!(revs, [3, 4]);
    assert!(
        s.watch(CM, Filter::default(), WatchFrom::After(1))
            .unwrap()
            .backlog
            .len()
            == 3
    );
    let e = s
        .watch(CM, Filter::default(), WatchFrom::After(0))
        .unwrap_err();
    assert_eq!(
        (e.code, e.reason, e.message.as_str()),
        (410, Reason::Expired, "too old resource version: 0 (1)")
    );
    let mut w = s.watch(CM, Filter::default(), WatchFrom::After(4)).unwrap();
    assert!(w.backlog.is_empty());
    s.create(CM, "ns", "o9", cm("ns", "o9", json!({}))).unwrap();
    assert_eq!(next(&mut w).await.unwrap().revision(), 5);
}

#[tokio::test]
async fn filtered_watch_turns_boundary_crossings_into_added_and_deleted() {
    let s = store();
    s.create(CM, "ns", "a", cm("ns", "a", json!({"app": "web"})))
        .unwrap();
    let filter = Filter {
        labels: LabelSelector::parse("app=web").unwrap(),
        ..Default::default()
    };
    let mut w = s.watch(CM, filter, WatchFrom::Now).unwrap();
    assert_eq!(w.backlog.len(), 1);
    let set = |l: Value| {
        s.update(CM, "ns", "a", cm("ns", "a", l), &Preconditions::default())
            .unwrap()
    };
    set(json!({"app": "web", "x": "1"})); // stays in: MODIFIED
    set(json!({"app": "db"})); // leaves: DELETED with the new object
    set(json!({"app": "db", "y": "1"})); // stays out: nothing
    set(json!({"app": "web"})); // enters: ADDED
    let kinds = [EventType::Modified, EventType::Deleted, EventType::Added];
    let revs = [2, 3, 5];
    for (kind, rev) in kinds.into_iter().zip(revs) {
        let e = next(&mut w).await.unwrap();
        assert_eq!((e.kind, e.revision()), (kind, rev));
    }
    let e = s.watch(
        CM,
        Filter {
            fields: FieldSelector::parse("spec.nope=1").unwrap(),
            ..Default::default()
        },
        WatchFrom::Now,
    );
    assert_eq!(e.unwrap_err().code, 400);
}

#[tokio::test]
async fn slow_watchers_are_dropped_and_closed_ones_removed() {
    let s = small(100, 2);
    let mut slow = s.watch(CM, Filter::default(), WatchFrom::Now).unwrap();
    let gone = s.watch(CM, Filter::default(), WatchFrom::Now).unwrap();
    drop(gone);
    for i in 0..3 {
        s.create(
            CM,
            "ns",
            &format!("o{i}"),
            cm("ns", &format!("o{i}"), json!({})),
        )
        .unwrap();
    }
    assert_eq!(s.state.read().resources[CM].watchers.len(), 0);
    // The two buffered events are still delivered, then the stream ends.
    assert_eq!(next(&mut slow).await.unwrap().revision(), 1);
    assert_eq!(next(&mut slow).await.unwrap().revision(), 2);
    assert!(next(&mut slow).await.is_none());
}

#[test]
fn forged_continue_tokens_cannot_panic() {
    let s = store();
    s.create(CM, "a", "x", cm("a", "x", json!({}))).unwrap();
    for start in ["zzz", "a/", "a0", "\u{10FFFF}"] {
        let mut opts = ListOptions {
            continue_token: Some(continue_token::encode(1, start)),
            ..Default::default()
        };
        opts.filter.namespace = Some("a".into());
        let page = s.list(CM, &opts).unwrap();
        assert!(page.items.len() <= 1);
    }
}

#[test]
fn history_ages_out_like_compaction() {
    let s = MemoryStore::new(MemoryStoreConfig {
        history: 100,
        watch_buffer: 16,
        history_max_age: Some(Duration::ZERO),
    });
    s.create(CM, "ns", "a", cm("ns", "a", json!({}))).unwrap();
    // Any measurable time later, the next write compacts everything before it.
    let start = std::time::Instant::now();
    while start.elapsed().is_zero() {}
    s.create(CM, "ns", "b", cm("ns", "b", json!({}))).unwrap();
    let e = s
        .watch(CM, Filter::default(), WatchFrom::After(0))
        .unwrap_err();
    assert_eq!(e.message, "too old resource version: 0 (1)");
    assert!(s.watch(CM, Filter::default(), WatchFrom::After(1)).is_ok());
}

#[test]
fn pages_are_consistent_while_another_thread_writes() {
    let s = Arc::new(store());
    for i in 0..200 {
        s.create(
            CM,
            "ns",
            &format!("o{i:03}"),
            cm("ns", &format!("o{i:03}"), json!({})),
        )
        .unwrap();
    }
    let writer = {
        let s = s.clone();
        std::thread::spawn(move || {
            let mut created = Vec::new();
            for i in 0..400 {
                let name = format!("n{i:03}");
                let c = s
                    .create(CM, "ns", &name, cm("ns", &name, json!({})))
                    .unwrap();
                created.push((name, c.revision));
                let o = format!("o{:03}", i % 200);
                s.update(
                    CM,
                    "ns",
                    &o,
                    cm("ns", &o, json!({"i": i.to_string()})),
                    &Preconditions::default(),
                )
                .unwrap();
            }
            created
        })
    };
    let mut opts = ListOptions {
        limit: 7,
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut revision = None;
    loop {
        let page = s.list(CM, &opts).unwrap();
        assert_eq!(
            *revision.get_or_insert(page.revision),
            page.revision,
            "every page is read at the first's revision"
        );
        for item in &page.items {
            assert!(item.revision <= page.revision);
            seen.push(item.name.to_string());
        }
        match page.continue_token {
            Some(t) => opts.continue_token = Some(t),
            None => break,
        }
    }
    let created = writer.join().unwrap();
    let revision = revision.unwrap();
    let mut want: Vec<String> = (0..200).map(|i| format!("o{i:03}")).collect();
    want.extend(
        created
            .into_iter()
            .filter(|(_, rv)| *rv <= revision)
            .map(|(n, _)| n),
    );
    want.sort();
    assert_eq!(seen, want);
}

#[tokio::test]
async fn a_watch_started_during_writes_misses_and_doubles_nothing() {
    let s = Arc::new(store());
    let writer = {
        let s = s.clone();
        std::thread::spawn(move || {
            for i in 0..500 {
                s.create(
                    CM,
                    "ns",
                    &format!("o{i:03}"),
                    cm("ns", &format!("o{i:03}"), json!({})),
                )
                .unwrap();
            }
        })
    };
    let mut w = s.watch(CM, Filter::default(), WatchFrom::Now).unwrap();
    writer.join().unwrap();
    let mut names: Vec<String> = w
        .backlog
        .iter()
        .map(|e| e.object.name.to_string())
        .collect();
    while names.len() < 500 {
        let e = next(&mut w).await.expect("the watch stays open");
        assert_eq!(e.kind, EventType::Added);
        names.push(e.object.name.to_string());
    }
    assert!(w.rx.try_recv().is_err(), "no event arrives twice");
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 500);
}
