//! A DaemonSet's history as ControllerRevisions (upstream `update.go` `constructHistory`,
//! `snapshot`, `dedupCurHistories`, `cleanupHistory` and `controller_utils.go` `ComputeHash`):
//! each distinct template gets one revision, named `<ds>-<hash>` and labelled
//! `controller-revision-hash`, whose `data` is the strategic merge patch that restores it
//! (`{"spec":{"template":{"$patch":"replace",…}}}`, keys sorted as Go's JSON encoder writes a
//! map) — the very patch `kubectl rollout undo` applies. The current revision is the one whose
//! data matches the template; it is renumbered above every older one when a rollback brings an
//! old template back.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::plan::HASH_LABEL;
use crate::api::{DeleteParams, Objects, WriteParams};
use crate::controllers::runtime::owner::Owner;
use crate::error::{ApiError, Reason};
use crate::patch::PatchType;
use crate::registry::{ResourceInfo, UpdateTarget};
use crate::store::{EventType, Filter, LabelSelector, ListOptions, Stored};

/// The store key of ControllerRevisions.
pub(crate) const REVISIONS: &str = "controllerrevisions.apps";

pub(crate) fn revisions_info() -> &'static ResourceInfo {
    crate::registry::find("apps", "v1", "controllerrevisions").expect("served")
}

/// A value with every object's keys sorted, as Go's `json.Marshal` of a map writes them.
pub(crate) fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::with_capacity(m.len());
            for k in keys {
                out.insert(k.clone(), canonical(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// The template as Go's encoder writes the typed struct: struct fields that are not pointers
/// are never omitted, so the template's `metadata` carries `"creationTimestamp": null` and every
/// container `"resources": {}`. kubectl compares revision data byte for byte with what it
/// computes from the DaemonSet this way (`rollout undo` "skipped rollback").
fn as_go_writes_it(template: &Value) -> Value {
    let mut t = template.clone();
    let Some(m) = t.as_object_mut() else {
        return t;
    };
    let meta = m.entry("metadata").or_insert_with(|| json!({}));
    if let Some(meta) = meta.as_object_mut() {
        meta.entry("creationTimestamp").or_insert(Value::Null);
    }
    if let Some(spec) = m.get_mut("spec").and_then(Value::as_object_mut) {
        for field in ["containers", "initContainers"] {
            for c in spec
                .get_mut(field)
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(c) = c.as_object_mut() {
                    c.entry("resources").or_insert_with(|| json!({}));
                }
            }
        }
    }
    t
}

/// The revision data for a template (upstream `getPatch`).
pub(crate) fn revision_data(template: &Value) -> Value {
    let mut t = as_go_writes_it(template);
    if let Some(m) = t.as_object_mut() {
        m.insert("$patch".into(), json!("replace"));
    }
    canonical(&json!({"spec": {"template": t}}))
}

/// Whether a revision's data restores exactly this template (upstream `Match`, which compares
/// the bytes).
pub(crate) fn matches(data: &Value, template: &Value) -> bool {
    canonical(data) == revision_data(template)
}

/// Upstream `rand.SafeEncodeString`: each byte mapped into an alphabet without vowels or
/// confusable characters, so a hash never spells a word.
pub(crate) fn safe_encode(s: &str) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    s.bytes()
        .map(|b| ALPHANUMS[b as usize % ALPHANUMS.len()] as char)
        .collect()
}

/// FNV-1a, 32 bits (Go's `hash/fnv` `New32a`).
fn fnv32a(bytes: impl IntoIterator<Item = u8>, mut h: u32) -> u32 {
    for b in bytes {
        h ^= u32::from(b);
        h = h.wrapping_mul(16_777_619);
    }
    h
}

/// The hash naming a template's revision and labelling its pods (upstream `ComputeHash`: FNV-1a
/// of the template, then of the collision count's little-endian bytes, printed in decimal and
/// safe-encoded). Upstream hashes Go's `spew` dump of the struct; this hashes its canonical
/// JSON, so the values differ from upstream's but are as stable.
pub(crate) fn compute_hash(template: &Value, collision_count: Option<i32>) -> String {
    let mut h = fnv32a(canonical(template).to_string().into_bytes(), 2_166_136_261);
    if let Some(c) = collision_count {
        h = fnv32a((c as u32).to_le_bytes(), h);
    }
    safe_encode(&h.to_string())
}

/// One ControllerRevision, as the controller reads it.
#[derive(Clone, Debug)]
pub(crate) struct Revision {
    pub name: String,
    pub revision: i64,
    pub hash: Option<String>,
    pub data: Value,
    pub stored: Arc<Stored>,
}

impl Revision {
    fn parse(stored: Arc<Stored>) -> Self {
        let v = stored.value();
        Self {
            name: stored.name.to_string(),
            revision: v["revision"].as_i64().unwrap_or(0),
            hash: stored.label(HASH_LABEL).map(str::to_string),
            data: v["data"].clone(),
            stored,
        }
    }
}

/// What history needs of the DaemonSet.
#[derive(Debug)]
pub(crate) struct HistorySubject<'a> {
    pub owner: &'a Owner,
    pub selector: &'a LabelSelector,
    /// `spec.template` as served.
    pub template: &'a Value,
    pub template_labels: Value,
    pub annotations: Value,
    pub collision_count: Option<i32>,
    pub revision_history_limit: i64,
}

/// The revisions `ds` controls, adopting matching orphans and releasing its revisions that no
/// longer match (upstream `controlledHistories` with `ClaimControllerRevisions`).
fn controlled(objects: &Objects, ds: &HistorySubject<'_>) -> Result<Vec<Revision>, ApiError> {
    let listed = objects.store().list(
        REVISIONS,
        &ListOptions {
            filter: Filter {
                namespace: Some(ds.owner.namespace.clone()),
                ..Default::default()
            },
            ..Default::default()
        },
    )?;
    let mut out = Vec::new();
    for stored in listed.items {
        let v = stored.value();
        let refs = v["metadata"]["ownerReferences"].as_array();
        let controller = refs.and_then(|r| r.iter().find(|o| o["controller"] == json!(true)));
        let selected = ds.selector.matches(|k| stored.label(k));
        match controller {
            Some(c) if c["uid"] == json!(ds.owner.uid) => {
                if selected || ds.owner.deleting {
                    out.push(Revision::parse(stored));
                } else {
                    let patch = json!({"metadata": {"ownerReferences": [
                        {"$patch": "delete", "uid": ds.owner.uid}], "uid": v["metadata"]["uid"]}});
                    patch_revision(objects, &stored, &patch).ok();
                }
            }
            None if selected && !ds.owner.deleting => {
                let patch = json!({"metadata": {"ownerReferences": [ds.owner.reference()],
                    "uid": v["metadata"]["uid"]}});
                if let Ok(adopted) = patch_revision(objects, &stored, &patch) {
                    out.push(Revision::parse(adopted));
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

fn patch_revision(
    objects: &Objects,
    stored: &Stored,
    patch: &Value,
) -> Result<Arc<Stored>, ApiError> {
    objects.patch(
        revisions_info(),
        &stored.namespace,
        &stored.name,
        PatchType::StrategicMerge,
        patch.to_string().as_bytes(),
        UpdateTarget::Main,
        &WriteParams::default(),
    )
}

/// The current revision and the older ones (upstream `constructHistory`): revisions missing the
/// hash label get it (their name), the current one is created when no revision matches the
/// template, duplicates of it are merged, and it is renumbered above all older ones.
pub(crate) fn construct(
    objects: &Objects,
    ds: &HistorySubject<'_>,
    relabel_pods: impl Fn(&str, &str) -> Result<(), ApiError>,
) -> Result<(Revision, Vec<Revision>), ApiError> {
    let mut current = Vec::new();
    let mut old = Vec::new();
    for mut rev in controlled(objects, ds)? {
        if rev.hash.is_none() {
            let patch = json!({"metadata": {"labels": {HASH_LABEL: rev.name}}});
            rev = Revision::parse(patch_revision(objects, &rev.stored, &patch)?);
        }
        if matches(&rev.data, ds.template) {
            current.push(rev);
        } else {
            old.push(rev);
        }
    }
    let next = old.iter().map(|r| r.revision).max().unwrap_or(0) + 1;
    let cur = match current.len() {
        0 => snapshot(objects, ds, next)?,
        _ => dedup(objects, current, &relabel_pods)?,
    };
    if cur.revision < next {
        let patch = json!({"revision": next});
        let renumbered = patch_revision(objects, &cur.stored, &patch)?;
        return Ok((Revision::parse(renumbered), old));
    }
    Ok((cur, old))
}

/// Create the revision of the current template (upstream `snapshot`). A name taken by another
/// template is a hash collision: the DaemonSet's `collisionCount` goes up and the sync retries.
fn snapshot(
    objects: &Objects,
    ds: &HistorySubject<'_>,
    revision: i64,
) -> Result<Revision, ApiError> {
    let hash = compute_hash(ds.template, ds.collision_count);
    let name = format!("{}-{hash}", ds.owner.name);
    let mut labels = ds.template_labels.as_object().cloned().unwrap_or_default();
    labels.insert(HASH_LABEL.into(), json!(hash));
    let mut metadata = json!({"name": name, "namespace": ds.owner.namespace, "labels": labels,
        "ownerReferences": [ds.owner.reference()]});
    if ds.annotations.as_object().is_some_and(|a| !a.is_empty()) {
        metadata["annotations"] = ds.annotations.clone();
    }
    let obj = json!({"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": metadata,
        "data": revision_data(ds.template), "revision": revision});
    match objects.create(
        revisions_info(),
        &ds.owner.namespace,
        obj,
        &WriteParams::default(),
    ) {
        Ok(stored) => Ok(Revision::parse(stored)),
        Err(e) if e.reason == Reason::AlreadyExists => {
            let existing =
                Revision::parse(objects.store().get(REVISIONS, &ds.owner.namespace, &name)?);
            if matches(&existing.data, ds.template) {
                return Ok(existing);
            }
            bump_collision_count(objects, ds)?;
            Err(e)
        }
        Err(e) => Err(e),
    }
}

fn bump_collision_count(objects: &Objects, ds: &HistorySubject<'_>) -> Result<(), ApiError> {
    let info = crate::registry::find("apps", "v1", "daemonsets").expect("served");
    let current = objects
        .store()
        .get(info.store_key, &ds.owner.namespace, &ds.owner.name)?
        .value();
    let stored_count = current["status"]["collisionCount"]
        .as_i64()
        .map(|c| c as i32);
    if stored_count != ds.collision_count {
        return Err(ApiError::conflict(
            "apps",
            "daemonsets",
            &ds.owner.name,
            "found a stale collision count; will retry until it is updated",
        ));
    }
    let mut next = current;
    next["status"]["collisionCount"] = json!(stored_count.unwrap_or(0) + 1);
    objects.update(
        info,
        &ds.owner.namespace,
        &ds.owner.name,
        next,
        UpdateTarget::Status,
        &WriteParams::default(),
    )?;
    Ok(())
}

/// Keep the highest-numbered of several revisions of the current template (upstream
/// `dedupCurHistories`): pods labelled with a duplicate's hash are relabelled, then the
/// duplicate is deleted.
fn dedup(
    objects: &Objects,
    mut current: Vec<Revision>,
    relabel_pods: &impl Fn(&str, &str) -> Result<(), ApiError>,
) -> Result<Revision, ApiError> {
    current.sort_by_key(|r| std::cmp::Reverse(r.revision));
    let keep = current.remove(0);
    for dup in current {
        if let (Some(from), Some(to)) = (&dup.hash, &keep.hash) {
            relabel_pods(from, to)?;
        }
        delete_revision(objects, &dup)?;
    }
    Ok(keep)
}

fn delete_revision(objects: &Objects, rev: &Revision) -> Result<(), ApiError> {
    match objects.delete(
        revisions_info(),
        &rev.stored.namespace,
        &rev.name,
        &DeleteParams::default(),
    ) {
        Err(e) if e.reason != Reason::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// A ControllerRevision's controller reference: the DaemonSet's name and uid.
fn controller_of(revision: &Value) -> Option<(String, String)> {
    let c = revision["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|o| o["controller"] == json!(true))?;
    let is_daemon_set = c["kind"] == "DaemonSet"
        && c["apiVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with("apps/"));
    is_daemon_set.then(|| {
        let field = |k: &str| c[k].as_str().unwrap_or_default().to_string();
        (field("name"), field("uid"))
    })
}

/// Which DaemonSets a change to a ControllerRevision wakes (upstream `addHistory`,
/// `updateHistory`, `deleteHistory`).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Wake {
    /// DaemonSets by name and uid: the revision's controller, before or after the change.
    pub owners: Vec<(String, String)>,
    /// Every DaemonSet whose selector matches the revision's labels: it is an orphan one of
    /// them may adopt.
    pub selecting: bool,
}

/// Upstream wakes a revision's controller when the revision changes or goes, but not when it
/// appears: a revision the controller made itself needs no second look, and one another client
/// made (even a second copy of the current template) waits for the next sync. An orphan wakes
/// the DaemonSets that may adopt it when it appears or its labels or controller change.
pub(crate) fn wakes(kind: &EventType, revision: &Value, prev: Option<&Value>) -> Wake {
    let cur = controller_of(revision);
    let deleting = !revision["metadata"]["deletionTimestamp"].is_null();
    match kind {
        EventType::Added if deleting => wakes(&EventType::Deleted, revision, None),
        EventType::Added => Wake {
            owners: Vec::new(),
            selecting: cur.is_none(),
        },
        EventType::Modified => {
            let old = prev.and_then(controller_of);
            let changed = old != cur;
            let mut owners = Vec::new();
            if changed && let Some(o) = old {
                owners.push(o);
            }
            let labels_changed =
                prev.is_some_and(|p| p["metadata"]["labels"] != revision["metadata"]["labels"]);
            match cur {
                Some(c) => {
                    owners.push(c);
                    Wake {
                        owners,
                        selecting: false,
                    }
                }
                None => Wake {
                    owners,
                    selecting: changed || labels_changed,
                },
            }
        }
        EventType::Deleted => Wake {
            owners: cur.into_iter().collect(),
            selecting: false,
        },
        _ => Wake::default(),
    }
}

/// Delete the oldest revisions beyond `revisionHistoryLimit`, sparing any a live pod still
/// carries (upstream `cleanupHistory`).
pub(crate) fn cleanup(
    objects: &Objects,
    limit: i64,
    mut old: Vec<Revision>,
    live_hashes: &HashSet<String>,
) -> Result<(), ApiError> {
    let mut to_kill = old.len() as i64 - limit;
    if to_kill <= 0 {
        return Ok(());
    }
    old.sort_by_key(|r| r.revision);
    for rev in &old {
        if to_kill <= 0 {
            break;
        }
        if rev.hash.as_ref().is_some_and(|h| live_hashes.contains(h)) {
            continue;
        }
        delete_revision(objects, rev)?;
        to_kill -= 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revision_data_replaces_the_template_with_keys_sorted() {
        let template = json!({"spec": {"containers": [{"name": "c", "image": "i"}]},
                              "metadata": {"labels": {"b": "2", "a": "1"}}});
        assert_eq!(
            revision_data(&template).to_string(),
            r#"{"spec":{"template":{"$patch":"replace","metadata":{"creationTimestamp":null,"labels":{"a":"1","b":"2"}},"spec":{"containers":[{"image":"i","name":"c","resources":{}}]}}}}"#
        );
        assert!(matches(&revision_data(&template), &template));
        let mut other = template.clone();
        other["spec"]["containers"][0]["image"] = json!("j");
        assert!(!matches(&revision_data(&template), &other));
    }

    #[test]
    fn hashes_are_stable_safe_and_change_with_the_collision_count() {
        let t = json!({"spec": {"containers": [{"name": "c", "image": "i"}]}});
        let reordered = json!({"spec": {"containers": [{"image": "i", "name": "c"}]}});
        let h = compute_hash(&t, None);
        assert_eq!(
            h,
            compute_hash(&reordered, None),
            "key order does not matter"
        );
        assert_ne!(h, compute_hash(&t, Some(1)));
        assert!(
            h.bytes()
                .all(|b| b"bcdfghjklmnpqrstvwxz2456789".contains(&b))
        );
        assert!(!h.is_empty() && h.len() <= 10);
    }

    #[test]
    fn safe_encoding_maps_bytes_into_the_alphabet() {
        // upstream's TestSafeEncodeString: "a" is byte 97, 97 % 27 = 16 → 'v'
        assert_eq!(safe_encode("a"), "v");
        assert_eq!(safe_encode("0"), "4");
    }

    #[test]
    fn fnv32a_matches_the_reference_vectors() {
        assert_eq!(fnv32a(*b"", 2_166_136_261), 0x811c_9dc5);
        assert_eq!(fnv32a(*b"a", 2_166_136_261), 0xe40c_292c);
        assert_eq!(fnv32a(*b"foobar", 2_166_136_261), 0xbf9c_f968);
    }

    fn revision(controller: Option<(&str, &str)>, labels: Value) -> Value {
        let refs: Vec<Value> = controller
            .into_iter()
            .map(|(name, uid)| {
                json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "name": name, "uid": uid,
                       "controller": true})
            })
            .collect();
        json!({"metadata": {"name": "r", "labels": labels, "ownerReferences": refs},
               "data": {}, "revision": 1})
    }

    fn owners(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, u)| (n.to_string(), u.to_string()))
            .collect()
    }

    #[test]
    fn a_controlled_revision_wakes_its_daemon_set_when_it_changes_or_goes_not_when_it_appears() {
        let r = revision(Some(("ds", "u1")), json!({"app": "x"}));
        assert_eq!(wakes(&EventType::Added, &r, None), Wake::default());
        let mut relabelled = r.clone();
        relabelled["metadata"]["labels"]["extra"] = json!("y");
        assert_eq!(
            wakes(&EventType::Modified, &relabelled, Some(&r)),
            Wake {
                owners: owners(&[("ds", "u1")]),
                selecting: false
            }
        );
        assert_eq!(
            wakes(&EventType::Deleted, &r, None),
            Wake {
                owners: owners(&[("ds", "u1")]),
                selecting: false
            }
        );
        let mut going = r.clone();
        going["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        assert_eq!(
            wakes(&EventType::Added, &going, None).owners,
            owners(&[("ds", "u1")])
        );
    }

    #[test]
    fn an_orphan_revision_wakes_the_daemon_sets_that_may_adopt_it() {
        let orphan = revision(None, json!({"app": "x"}));
        assert!(wakes(&EventType::Added, &orphan, None).selecting);
        assert_eq!(
            wakes(&EventType::Modified, &orphan, Some(&orphan)),
            Wake::default(),
            "an orphan unchanged in labels and controller wakes nobody"
        );
        let mut relabelled = orphan.clone();
        relabelled["metadata"]["labels"]["app"] = json!("y");
        assert!(wakes(&EventType::Modified, &relabelled, Some(&orphan)).selecting);
        assert_eq!(wakes(&EventType::Deleted, &orphan, None), Wake::default());
        let released = orphan.clone();
        let was = revision(Some(("ds", "u1")), json!({"app": "x"}));
        assert_eq!(
            wakes(&EventType::Modified, &released, Some(&was)),
            Wake {
                owners: owners(&[("ds", "u1")]),
                selecting: true
            }
        );
    }

    #[test]
    fn only_a_daemon_set_controller_counts() {
        let mut r = revision(Some(("ss", "u2")), json!({}));
        r["metadata"]["ownerReferences"][0]["kind"] = json!("StatefulSet");
        assert!(wakes(&EventType::Added, &r, None).selecting);
    }
}
