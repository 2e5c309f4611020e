//! The dependency graph (upstream `graph_builder.go`): nodes by uid, each with the owners its
//! object names and the dependents that name it. Observed changes update it and say which work
//! they make due; the collector ([`super::GarbageCollector`]) does that work against the store.
//!
//! Unlike upstream, an object enters the graph only when it takes part in ownership: it has
//! owners, a dependent names it (a "virtual" node until the store confirms it), or it is being
//! deleted with a garbage-collector finalizer. Objects that own nothing and are owned by nothing
//! (most of a large cluster) cost only the reading of their metadata ([`Meta::parse`] stops
//! there).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, Visitor};

use crate::api::{FINALIZER_FOREGROUND, FINALIZER_ORPHAN};
use crate::registry::{ResourceInfo, find_by_kind};

/// An object's uid.
pub(crate) type Uid = Arc<str>;

/// One `metadata.ownerReferences` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct OwnerRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
    pub controller: Option<bool>,
    pub block_owner_deletion: Option<bool>,
}

impl OwnerRef {
    /// Whether the owner's foreground deletion waits for this dependent.
    pub(crate) fn blocks(&self) -> bool {
        self.block_owner_deletion == Some(true)
    }

    /// The served resource this reference names, looked up by group and kind.
    pub(crate) fn resource(&self) -> Option<&'static ResourceInfo> {
        let group = self
            .api_version
            .rsplit_once('/')
            .map_or("", |(group, _)| group);
        find_by_kind(group, &self.kind)
    }
}

/// The part of `metadata` the collector reads, parsed without the rest of the object.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Meta {
    pub name: String,
    pub namespace: Option<String>,
    pub uid: String,
    pub owner_references: Option<Vec<OwnerRef>>,
    pub finalizers: Option<Vec<String>>,
    pub deletion_timestamp: Option<String>,
}

/// Reads the top-level `metadata` of an object into its slot and stops there: the rest (spec,
/// status) is never scanned. Stopping is an error by design, which the caller ignores.
struct MetadataOnly<'a>(&'a mut Option<Meta>);

/// The error that ends the parse once `metadata` is read.
const STOP: &str = "metadata read";

impl<'de> DeserializeSeed<'de> for MetadataOnly<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MetadataOnly<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(is_metadata) = map.next_key_seed(IsMetadata)? {
            if is_metadata {
                *self.0 = Some(map.next_value()?);
                return Err(A::Error::custom(STOP));
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }
}

/// Reads a key, telling whether it is `metadata`, without copying it.
struct IsMetadata;

impl<'de> DeserializeSeed<'de> for IsMetadata {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for IsMetadata {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == "metadata")
    }
}

impl Meta {
    /// The metadata of a serialized object, read without parsing the rest of it; `None` if it
    /// has none with a uid (not a stored object).
    pub(crate) fn parse(bytes: &[u8]) -> Option<Meta> {
        let mut slot = None;
        let mut de = serde_json::Deserializer::from_slice(bytes);
        // Ends with the STOP error once metadata is read; any other outcome leaves no metadata.
        let _ = MetadataOnly(&mut slot).deserialize(&mut de);
        slot.filter(|m: &Meta| !m.uid.is_empty())
    }

    /// Whether the graph has to hold an object it does not hold yet.
    pub(crate) fn takes_part(&self) -> bool {
        !self.owners().is_empty() || self.deleting_dependents() || self.orphaning()
    }

    pub(crate) fn owners(&self) -> &[OwnerRef] {
        self.owner_references.as_deref().unwrap_or_default()
    }

    pub(crate) fn has_finalizer(&self, f: &str) -> bool {
        self.finalizers.iter().flatten().any(|x| x == f)
    }

    pub(crate) fn being_deleted(&self) -> bool {
        self.deletion_timestamp.is_some()
    }

    /// Being deleted in the foreground: waiting for its blocking dependents to go.
    pub(crate) fn deleting_dependents(&self) -> bool {
        self.being_deleted() && self.has_finalizer(FINALIZER_FOREGROUND)
    }

    /// Being deleted with its dependents to be orphaned first.
    pub(crate) fn orphaning(&self) -> bool {
        self.being_deleted() && self.has_finalizer(FINALIZER_ORPHAN)
    }
}

/// Where an object lives.
#[derive(Clone, Debug)]
pub(crate) struct Identity {
    pub info: &'static ResourceInfo,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
}

impl Identity {
    /// Where the owner a reference names lives, seen from a dependent in `namespace`: namespaced
    /// owners share the dependent's namespace. `None` for a kind not served, or a namespaced
    /// owner of a cluster-scoped dependent (which upstream rejects as invalid).
    pub(crate) fn of_owner(owner: &OwnerRef, namespace: &str) -> Option<Identity> {
        let info = owner.resource()?;
        if info.namespaced && namespace.is_empty() {
            return None;
        }
        Some(Identity {
            info,
            namespace: if info.namespaced {
                namespace.to_string()
            } else {
                String::new()
            },
            name: owner.name.clone(),
        })
    }
}

/// One object in the graph.
#[derive(Debug)]
pub(crate) struct Node {
    /// `None` for a virtual node whose reference names no served kind: it cannot be verified.
    pub identity: Option<Identity>,
    /// Seen in a watch event or a store read; a virtual node is only named by dependents.
    pub observed: bool,
    /// The revision it was last observed at.
    pub revision: u64,
    pub owners: Vec<OwnerRef>,
    pub dependents: BTreeSet<Uid>,
    pub being_deleted: bool,
    /// Being deleted in the foreground; once set, only the object's deletion clears it.
    pub deleting_dependents: bool,
    /// Being deleted with the `orphan` finalizer, and its orphaning queued.
    pub orphaning: bool,
}

/// Work a change makes due (upstream's `attemptToDelete` and `attemptToOrphan` queues).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Work {
    /// Check whether the object should go, or whether its foreground deletion can finish.
    Delete(Uid),
    /// Orphan the object's dependents, then let it go.
    Orphan(Uid),
}

/// The dependency graph.
#[derive(Debug, Default)]
pub(crate) struct Graph {
    nodes: HashMap<Uid, Node>,
}

impl Graph {
    /// How many nodes, virtual ones included.
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    pub(crate) fn node(&self, uid: &str) -> Option<&Node> {
        self.nodes.get(uid)
    }

    /// Dependents whose reference to `owner` has `blockOwnerDeletion` (upstream
    /// `blockingDependents`).
    pub(crate) fn blocking_dependents(&self, owner: &str) -> Vec<Uid> {
        let Some(node) = self.nodes.get(owner) else {
            return Vec::new();
        };
        node.dependents
            .iter()
            .filter(|d| {
                self.nodes
                    .get(&***d)
                    .is_some_and(|dep| dep.owners.iter().any(|o| &*o.uid == owner && o.blocks()))
            })
            .cloned()
            .collect()
    }

    /// An object as it is now, observed at `revision` (an add, an update, or a store read).
    /// Observations older than the last one are ignored.
    pub(crate) fn observe(
        &mut self,
        info: &'static ResourceInfo,
        meta: &Meta,
        revision: u64,
        work: &mut Vec<Work>,
    ) {
        let identity = || Identity {
            info,
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone(),
        };
        let Some(uid) = self
            .nodes
            .get_key_value(meta.uid.as_str())
            .map(|(k, _)| k.clone())
        else {
            if !meta.takes_part() {
                return;
            }
            let uid: Uid = Arc::from(meta.uid.as_str());
            let identity = identity();
            let owners = meta.owners().to_vec();
            self.nodes.insert(
                uid.clone(),
                Node {
                    identity: Some(identity.clone()),
                    observed: true,
                    revision,
                    owners: owners.clone(),
                    dependents: BTreeSet::new(),
                    being_deleted: meta.being_deleted(),
                    deleting_dependents: false,
                    orphaning: false,
                },
            );
            self.add_to_owners(&uid, &identity.namespace, &owners, work);
            self.transitions(&uid, meta, work);
            return;
        };
        let node = self.nodes.get_mut(&uid).expect("just found");
        if node.observed && revision <= node.revision {
            return;
        }
        // A uid's kind, namespace and name never change; a virtual node's came from a reference.
        if !node.observed {
            node.identity = Some(identity());
        }
        node.observed = true;
        node.revision = revision;
        if meta.being_deleted() {
            node.being_deleted = true;
        }
        if node.owners.as_slice() != meta.owners() {
            let previous = std::mem::replace(&mut node.owners, meta.owners().to_vec());
            let namespace = meta.namespace.clone().unwrap_or_default();
            self.owners_changed(&uid, &namespace, &previous, meta.owners(), work);
        }
        self.transitions(&uid, meta, work);
    }

    /// The object with this uid is gone (a watch's DELETED, or a store read that found nothing
    /// or another uid): its dependents may now be garbage, and owners waiting for it may finish.
    pub(crate) fn remove(&mut self, uid: &str, work: &mut Vec<Work>) {
        let Some(node) = self.nodes.remove(uid) else {
            return;
        };
        work.extend(node.dependents.iter().cloned().map(Work::Delete));
        for owner in &node.owners {
            if let Some(o) = self.nodes.get_mut(owner.uid.as_str()) {
                o.dependents.remove(uid);
                if o.deleting_dependents {
                    work.push(Work::Delete(Arc::from(owner.uid.as_str())));
                }
            }
        }
    }

    /// Record `uid` as a dependent of each owner, creating virtual owners that the collector
    /// then verifies (upstream `addDependentToOwners`).
    fn add_to_owners(
        &mut self,
        uid: &Uid,
        namespace: &str,
        owners: &[OwnerRef],
        work: &mut Vec<Work>,
    ) {
        for owner in owners {
            let owner_uid: Uid = Arc::from(owner.uid.as_str());
            let node = self.nodes.entry(owner_uid.clone()).or_insert_with(|| {
                work.push(Work::Delete(owner_uid.clone()));
                Node {
                    identity: Identity::of_owner(owner, namespace),
                    observed: false,
                    revision: 0,
                    owners: Vec::new(),
                    dependents: BTreeSet::new(),
                    being_deleted: false,
                    deleting_dependents: false,
                    orphaning: false,
                }
            });
            node.dependents.insert(uid.clone());
            // A dependent seen only after its owner's foreground deletion began (each resource
            // has its own watch) is deleted like the ones known then.
            if node.deleting_dependents {
                work.push(Work::Delete(uid.clone()));
            }
        }
    }

    /// A dependent's references changed: new owners learn of it, former owners forget it, and
    /// owners waiting in the foreground that it no longer blocks are looked at again (upstream
    /// `addUnblockedOwnersToDeleteQueue`).
    fn owners_changed(
        &mut self,
        uid: &Uid,
        namespace: &str,
        before: &[OwnerRef],
        after: &[OwnerRef],
        work: &mut Vec<Work>,
    ) {
        let added: Vec<OwnerRef> = after
            .iter()
            .filter(|a| !before.iter().any(|b| b.uid == a.uid))
            .cloned()
            .collect();
        for b in before {
            let now = after.iter().find(|a| a.uid == b.uid);
            let unblocked = b.blocks() && now.is_none_or(|a| !a.blocks());
            let Some(owner) = self.nodes.get_mut(b.uid.as_str()) else {
                continue;
            };
            if now.is_none() {
                owner.dependents.remove(&**uid);
            }
            if unblocked && owner.deleting_dependents {
                work.push(Work::Delete(Arc::from(b.uid.as_str())));
            }
        }
        self.add_to_owners(uid, namespace, &added, work);
    }

    /// Deletion with a garbage-collector finalizer has just begun (upstream
    /// `processTransitions`): orphan the dependents, or delete them in the foreground. The
    /// node's flags, not the event's previous state, tell "just begun", so that observing the
    /// same state again (from a store read) starts nothing twice.
    fn transitions(&mut self, uid: &Uid, new: &Meta, work: &mut Vec<Work>) {
        let Some(node) = self.nodes.get_mut(uid) else {
            return;
        };
        if new.orphaning() && !node.orphaning {
            node.orphaning = true;
            work.push(Work::Orphan(uid.clone()));
            return;
        }
        if new.deleting_dependents() && !node.deleting_dependents {
            node.deleting_dependents = true;
            work.extend(node.dependents.iter().cloned().map(Work::Delete));
            work.push(Work::Delete(uid.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::registry::RESOURCES;

    fn configmaps() -> &'static ResourceInfo {
        RESOURCES
            .iter()
            .find(|r| r.store_key == "configmaps")
            .unwrap()
    }

    fn meta(v: serde_json::Value) -> Meta {
        Meta::parse(&serde_json::to_vec(&v).unwrap()).unwrap()
    }

    fn owned(name: &str, uid: &str, owners: &[(&str, &str, bool)]) -> Meta {
        let refs: Vec<_> = owners
            .iter()
            .map(|(n, u, block)| {
                json!({"apiVersion": "v1", "kind": "ConfigMap", "name": n, "uid": u,
                    "blockOwnerDeletion": block})
            })
            .collect();
        meta(
            json!({"metadata": {"name": name, "namespace": "ns", "uid": uid,
            "ownerReferences": refs}}),
        )
    }

    #[test]
    fn a_dependent_makes_its_unknown_owner_a_virtual_node_to_verify() {
        let mut g = Graph::default();
        let mut work = Vec::new();
        g.observe(
            configmaps(),
            &owned("d", "d1", &[("o", "o1", true)]),
            5,
            &mut work,
        );
        assert_eq!(work, vec![Work::Delete("o1".into())]);
        let owner = g.node("o1").unwrap();
        assert!(!owner.observed);
        assert_eq!(owner.identity.as_ref().unwrap().namespace, "ns");
        assert!(owner.dependents.contains("d1"));
        assert_eq!(g.blocking_dependents("o1"), vec![Uid::from("d1")]);
    }

    #[test]
    fn objects_outside_ownership_stay_out_of_the_graph() {
        let mut g = Graph::default();
        let mut work = Vec::new();
        let plain = meta(json!({"metadata": {"name": "x", "namespace": "ns", "uid": "x1"}}));
        g.observe(configmaps(), &plain, 3, &mut work);
        assert_eq!(g.len(), 0);
        assert!(work.is_empty());
    }

    #[test]
    fn foreground_deletion_starts_once_and_queues_every_dependent() {
        let mut g = Graph::default();
        let mut work = Vec::new();
        g.observe(
            configmaps(),
            &owned("d", "d1", &[("o", "o1", false)]),
            5,
            &mut work,
        );
        let live = meta(json!({"metadata": {"name": "o", "namespace": "ns", "uid": "o1"}}));
        g.observe(configmaps(), &live, 6, &mut work);
        work.clear();
        let deleting = meta(
            json!({"metadata": {"name": "o", "namespace": "ns", "uid": "o1",
            "deletionTimestamp": "2026-01-01T00:00:00Z", "finalizers": ["foregroundDeletion"]}}),
        );
        g.observe(configmaps(), &deleting, 7, &mut work);
        assert_eq!(
            work,
            vec![Work::Delete("d1".into()), Work::Delete("o1".into())]
        );
        assert!(g.node("o1").unwrap().deleting_dependents);
        work.clear();
        // A stale event changes nothing; a later one without a transition queues nothing.
        g.observe(configmaps(), &live, 6, &mut work);
        g.observe(configmaps(), &deleting, 8, &mut work);
        assert!(work.is_empty());
        // The dependent's deletion lets the owner finish.
        g.remove("d1", &mut work);
        assert_eq!(work, vec![Work::Delete("o1".into())]);
        assert!(g.node("o1").unwrap().dependents.is_empty());
    }

    #[test]
    fn unblocking_or_dropping_a_reference_wakes_a_waiting_owner() {
        let mut g = Graph::default();
        let mut work = Vec::new();
        g.observe(
            configmaps(),
            &owned("d", "d1", &[("o", "o1", true)]),
            5,
            &mut work,
        );
        g.nodes.get_mut("o1").unwrap().deleting_dependents = true;
        work.clear();
        g.observe(
            configmaps(),
            &owned("d", "d1", &[("o", "o1", false)]),
            6,
            &mut work,
        );
        assert_eq!(work, vec![Work::Delete("o1".into())]);
        assert!(g.blocking_dependents("o1").is_empty());
        work.clear();
        g.observe(
            configmaps(),
            &owned("d", "d1", &[("p", "p1", true)]),
            7,
            &mut work,
        );
        assert_eq!(work, vec![Work::Delete("p1".into())]);
        assert!(g.node("o1").unwrap().dependents.is_empty());
        assert!(g.node("p1").unwrap().dependents.contains("d1"));
    }

    #[test]
    fn an_owner_is_found_by_group_and_kind_in_its_dependents_namespace() {
        let cm = OwnerRef {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            name: "o".into(),
            ..Default::default()
        };
        let id = Identity::of_owner(&cm, "ns").unwrap();
        assert_eq!(
            (id.info.store_key, id.namespace.as_str()),
            ("configmaps", "ns")
        );
        assert!(
            Identity::of_owner(&cm, "").is_none(),
            "namespaced owner of a cluster-scoped object"
        );
        let node = OwnerRef {
            api_version: "v1".into(),
            kind: "Node".into(),
            ..Default::default()
        };
        assert_eq!(Identity::of_owner(&node, "ns").unwrap().namespace, "");
        let rs = OwnerRef {
            api_version: "apps/v1".into(),
            kind: "ReplicaSet".into(),
            ..Default::default()
        };
        assert_eq!(rs.resource().unwrap().store_key, "replicasets.apps");
        let unknown = OwnerRef {
            api_version: "example.com/v1".into(),
            kind: "Widget".into(),
            ..Default::default()
        };
        assert!(Identity::of_owner(&unknown, "ns").is_none());
    }
}

#[cfg(test)]
mod parse_tests {
    use super::*;

    #[test]
    fn metadata_is_read_wherever_it_is_and_the_rest_is_not_needed() {
        let first = br#"{"metadata":{"uid":"u1","name":"a","ownerReferences":[{"uid":"o","kind":"ConfigMap","apiVersion":"v1","name":"x"}]},"spec":{"not json"#;
        let meta = Meta::parse(first).expect("metadata before broken content");
        assert_eq!((meta.uid.as_str(), meta.owners().len()), ("u1", 1));
        let later = br#"{"spec":{"template":{"metadata":{"uid":"nested"}}},"metadata":{"uid":"u2","finalizers":null}}"#;
        assert_eq!(Meta::parse(later).unwrap().uid, "u2");
        assert!(Meta::parse(br#"{"spec":{}}"#).is_none());
        assert!(Meta::parse(br#"{"metadata":{"name":"no-uid"}}"#).is_none());
    }
}
