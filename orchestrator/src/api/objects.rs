//! Generic object semantics over the store, shared by HTTP handlers and in-process controllers —
//! upstream's generic registry store: create with generateName and system fields, updates with
//! optimistic concurrency (retried when the client did not pin a resourceVersion), patches,
//! graceful deletion, finalizers, and the namespace `finalize` step.

use std::sync::Arc;

use rand::RngExt;
use serde_json::{Value, json};

use super::meta;
use super::service_alloc::ServiceAllocator;
use crate::admission::Admission;
use crate::error::{ApiError, Reason};
use crate::patch::PatchType;
use crate::registry::{FieldValidation, ResourceInfo, UpdateTarget, strategy_for};
use crate::store::{Preconditions, Storage, Stored};

/// How often an unpinned update or patch is retried after losing a race to another writer.
const MAX_CONFLICT_RETRIES: usize = 16;
/// The resource a refused binding names (upstream `NewConflict(Resource("pods/binding"), …)`).
const BINDING: &str = "pods/binding";

/// Options common to writes.
#[derive(Clone, Debug, Default)]
pub struct WriteParams {
    pub field_validation: FieldValidation,
    /// `dryRun=All`: run everything but the store write.
    pub dry_run: bool,
}

/// Options of a delete (`DeleteOptions`).
#[derive(Clone, Debug, Default)]
pub struct DeleteParams {
    pub grace_period_seconds: Option<i64>,
    /// `Orphan`, `Background` or `Foreground`; validated, and kept for the garbage collector.
    pub propagation_policy: Option<String>,
    pub preconditions: Preconditions,
    pub dry_run: bool,
}

/// What a delete did.
#[derive(Clone, Debug)]
pub enum DeleteOutcome {
    /// The object is gone; its last state.
    Deleted(Arc<Stored>),
    /// The object now has `deletionTimestamp` and waits for finalizers or its node.
    Pending(Arc<Stored>),
}

impl DeleteOutcome {
    /// The object the outcome carries.
    pub fn object(&self) -> &Arc<Stored> {
        match self {
            DeleteOutcome::Deleted(o) | DeleteOutcome::Pending(o) => o,
        }
    }
}

/// Generic object semantics over a store.
pub struct Objects {
    store: Arc<dyn Storage>,
    admission: Admission,
    /// Cluster IPs and node ports; held across a Service's store write so a failed write can be
    /// undone exactly.
    services: parking_lot::Mutex<ServiceAllocator>,
}

impl std::fmt::Debug for Objects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Objects")
            .field("revision", &self.store.revision())
            .finish()
    }
}

/// The characters upstream's `generateName` suffix is drawn from (no vowels, no confusables).
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

impl Objects {
    /// Semantics over `store`.
    pub fn new(store: Arc<dyn Storage>) -> Arc<Self> {
        let admission = Admission::new(store.clone());
        let mut services = ServiceAllocator::default();
        if let Ok(listed) = store.list("services", &crate::store::ListOptions::default()) {
            for svc in &listed.items {
                services.record(&svc.value());
            }
        }
        Arc::new(Self {
            store,
            admission,
            services: parking_lot::Mutex::new(services),
        })
    }

    /// The underlying store (reads go straight to it).
    pub fn store(&self) -> &Arc<dyn Storage> {
        &self.store
    }

    /// Create an object: system fields, generateName, prepare (strategy), admit, store.
    pub fn create(
        &self,
        info: &'static ResourceInfo,
        namespace: &str,
        mut obj: Value,
        p: &WriteParams,
    ) -> Result<Arc<Stored>, ApiError> {
        {
            let m = meta::meta_mut(&mut obj);
            set_namespace(info, m, namespace)?;
            if m.get("resourceVersion")
                .is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty()))
            {
                return Err(ApiError::bad_request(
                    "resourceVersion should not be set on objects to be created",
                ));
            }
            m.remove("resourceVersion");
            m.insert(
                "uid".into(),
                Value::String(uuid::Uuid::new_v4().to_string()),
            );
            m.insert(
                "creationTimestamp".into(),
                Value::String(meta::now_rfc3339()),
            );
            m.remove("deletionTimestamp");
            m.remove("deletionGracePeriodSeconds");
            m.remove("managedFields");
            m.remove("selfLink");
        }
        let generate = meta::name(&obj).is_empty()
            && meta::meta_str(&obj, "generateName").is_some_and(|g| !g.is_empty());
        if generate {
            let name = generated_name(meta::meta_str(&obj, "generateName").unwrap_or(""));
            meta::meta_mut(&mut obj).insert("name".into(), Value::String(name));
        }
        let strategy = strategy_for(info);
        let mut prepared = strategy.prepare_create(obj)?;
        let before_admission = (info.store_key == "pods").then(|| prepared.clone());
        self.admission
            .admit_create_opts(info, namespace, &mut prepared, p.dry_run)?;
        // Upstream runs mutating admission (LimitRanger's defaults) before PrepareForCreate and
        // validation; when admission changed a pod, prepare it again so its QoS class and its
        // validation see the defaulted resources.
        if before_admission.is_some_and(|before| before != prepared) {
            prepared = strategy.prepare_create(prepared)?;
        }
        meta::omit_empty(&mut prepared);
        if p.dry_run {
            let name = meta::name(&prepared).to_string();
            return Ok(Arc::new(dry_run_stored(
                &prepared,
                namespace,
                &name,
                self.store.revision(),
            )));
        }
        // Admission ran once; a generated name that is taken only changes the name (as upstream,
        // which retries the storage write alone).
        let is_service = info.store_key == "services";
        let mut services = is_service.then(|| self.services.lock());
        if let Some(alloc) = services.as_mut() {
            let name = meta::name(&prepared).to_string();
            alloc.allocate(&name, &mut prepared, None)?;
        }
        let attempts = if generate { 8 } else { 1 };
        let mut last_err = None;
        for attempt in 0..attempts {
            if attempt > 0 {
                let base = meta::meta_str(&prepared, "generateName")
                    .unwrap_or("")
                    .to_string();
                meta::meta_mut(&mut prepared)
                    .insert("name".into(), Value::String(generated_name(&base)));
            }
            let name = meta::name(&prepared).to_string();
            match self
                .store
                .create(info.store_key, namespace, &name, prepared.clone())
            {
                Err(e) if generate && e.reason == Reason::AlreadyExists => last_err = Some(e),
                Err(e) => {
                    if let Some(alloc) = services.as_mut() {
                        alloc.release(&prepared);
                    }
                    return Err(e);
                }
                ok => return ok,
            }
        }
        if let Some(alloc) = services.as_mut() {
            alloc.release(&prepared);
        }
        Err(last_err.unwrap_or_else(|| ApiError::internal("generateName retries exhausted")))
    }

    /// Replace an object (PUT), or its status. A body with `metadata.resourceVersion` is a
    /// precondition (409 when stale); without one the update applies to the latest version.
    pub fn update(
        &self,
        info: &'static ResourceInfo,
        namespace: &str,
        name: &str,
        obj: Value,
        target: UpdateTarget,
        p: &WriteParams,
    ) -> Result<Arc<Stored>, ApiError> {
        let pinned = pinned_revision(&obj)?;
        self.write_loop(
            info,
            namespace,
            name,
            pinned,
            p,
            |_old| Ok(obj.clone()),
            target,
        )
    }

    /// Patch an object (or its status), retrying internally on a conflicting concurrent write
    /// unless the patch itself pins a resourceVersion.
    #[allow(clippy::too_many_arguments)]
    pub fn patch(
        &self,
        info: &'static ResourceInfo,
        namespace: &str,
        name: &str,
        patch_type: PatchType,
        patch: &[u8],
        target: UpdateTarget,
        p: &WriteParams,
    ) -> Result<Arc<Stored>, ApiError> {
        self.write_loop(
            info,
            namespace,
            name,
            None,
            p,
            |old| {
                let patched = crate::patch::apply(info.kind, patch_type, old, patch)?;
                // A patch that carries a resourceVersion is pinned to it.
                let old_rv = meta::meta_str(old, "resourceVersion").unwrap_or("");
                let new_rv = meta::meta_str(&patched, "resourceVersion").unwrap_or("");
                if !new_rv.is_empty() && new_rv != old_rv {
                    return Err(ApiError::stale(info.group, info.plural, name));
                }
                Ok(patched)
            },
            target,
        )
    }

    /// Read the current object, let `change` produce the new one, prepare, admit and write it
    /// with the read revision as precondition; on losing a race, start again (unless pinned).
    #[allow(clippy::too_many_arguments)]
    fn write_loop(
        &self,
        info: &'static ResourceInfo,
        namespace: &str,
        name: &str,
        pinned: Option<u64>,
        p: &WriteParams,
        mut change: impl FnMut(&Value) -> Result<Value, ApiError>,
        target: UpdateTarget,
    ) -> Result<Arc<Stored>, ApiError> {
        let strategy = strategy_for(info);
        for _ in 0..MAX_CONFLICT_RETRIES {
            let current = self.store.get(info.store_key, namespace, name)?;
            if let Some(rv) = pinned
                && rv != current.revision
            {
                return Err(ApiError::stale(info.group, info.plural, name));
            }
            let old = current.value();
            let mut new = change(&old)?;
            {
                let body_name = meta::name(&new).to_string();
                if !body_name.is_empty() && body_name != name {
                    return Err(ApiError::bad_request(format!(
                        "the name of the object ({body_name}) does not match the name on the URL ({name})"
                    )));
                }
                let m = meta::meta_mut(&mut new);
                m.insert("name".into(), Value::String(name.to_string()));
                set_namespace(info, m, namespace)?;
                carry_system_fields(m, &old);
            }
            if target == UpdateTarget::Main {
                self.admission.mutate_update(info, &mut new, &old);
            }
            let mut prepared = strategy.prepare_update(new, &old, target)?;
            self.admission
                .admit_update_opts(info, namespace, &mut prepared, &old, p.dry_run)?;
            meta::omit_empty(&mut prepared);
            let mut services =
                (info.store_key == "services" && !p.dry_run).then(|| self.services.lock());
            if let Some(alloc) = services.as_mut() {
                alloc.allocate(name, &mut prepared, Some(&old))?;
            }
            if meta::without_resource_version(&prepared) == meta::without_resource_version(&old) {
                // A no-op write is not a write: same resourceVersion, no watch event (upstream).
                return Ok(current);
            }
            if p.dry_run {
                return Ok(Arc::new(dry_run_stored(
                    &prepared,
                    namespace,
                    name,
                    current.revision,
                )));
            }
            let pre = Preconditions {
                revision: Some(current.revision),
                uid: None,
            };
            let deleting = should_delete_during_update(info, &prepared);
            let result = if deleting {
                self.store.delete(info.store_key, namespace, name, &pre)
            } else {
                self.store
                    .update(info.store_key, namespace, name, prepared.clone(), &pre)
            };
            if let Some(alloc) = services.as_mut() {
                match &result {
                    Ok(_) if deleting => alloc.release(&prepared),
                    Ok(_) => {}
                    Err(_) => {
                        // Undo: give back what this attempt took, keep what the old version holds.
                        alloc.release(&prepared);
                        alloc.record(&old);
                    }
                }
            }
            drop(services);
            match result {
                Err(e) if e.reason == Reason::Conflict && pinned.is_none() => continue,
                other => return other,
            }
        }
        Err(ApiError::conflict(
            info.group,
            info.plural,
            name,
            "too many concurrent writes; please retry",
        ))
    }

    /// Delete an object, gracefully where upstream does: objects with finalizers and bound,
    /// running pods get `deletionTimestamp` and stay; a namespace turns `Terminating`.
    ///
    /// The propagation policy becomes the garbage collector's finalizers first (upstream's
    /// `deletionFinalizersForGarbageCollection`): `Orphan` adds `orphan`, `Foreground` adds
    /// `foregroundDeletion`, `Background` removes both, and no policy keeps what the object
    /// carries or else applies the resource's default. A second delete of a terminating object
    /// may change them again, except while a pod's grace period runs.
    pub fn delete(
        &self,
        info: &'static ResourceInfo,
        namespace: &str,
        name: &str,
        p: &DeleteParams,
    ) -> Result<DeleteOutcome, ApiError> {
        let policy = match p.propagation_policy.as_deref() {
            None => None,
            Some("Orphan") => Some(Propagation::Orphan),
            Some("Background") => Some(Propagation::Background),
            Some("Foreground") => Some(Propagation::Foreground),
            Some(other) => {
                return Err(ApiError::invalid(
                    "meta.k8s.io",
                    "DeleteOptions",
                    "",
                    vec![crate::error::Cause::not_supported(
                        "propagationPolicy",
                        &Value::String(other.to_string()),
                        &["Foreground", "Background", "Orphan"],
                    )],
                ));
            }
        };
        if let Some(g) = p.grace_period_seconds
            && g < 0
        {
            return Err(ApiError::bad_request(
                "gracePeriodSeconds must not be negative",
            ));
        }
        for _ in 0..MAX_CONFLICT_RETRIES {
            let current = self.store.get(info.store_key, namespace, name)?;
            check_preconditions(info, name, &current, &p.preconditions)?;
            let old = current.value();
            let terminating = meta::is_terminating(&old);
            if info.store_key == "namespaces" && terminating {
                return Ok(DeleteOutcome::Pending(current));
            }
            let old_grace = old
                .pointer("/metadata/deletionGracePeriodSeconds")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            // An object already marked with no grace left is deleted without grace (upstream's
            // `BeforeDelete` answers "not graceful" for it).
            let grace = if terminating && old_grace == 0 {
                0
            } else {
                effective_grace(info, &old, p.grace_period_seconds)
            };
            if terminating && old_grace > 0 && grace != 0 {
                // A pod counting down: a second delete can only cut its grace to zero, and
                // cannot change its finalizers (upstream's `pendingGraceful`).
                return Ok(DeleteOutcome::Pending(current));
            }
            let mut new = old.clone();
            set_gc_finalizers(info, &mut new, policy);
            let immediate =
                info.store_key != "namespaces" && grace == 0 && meta::finalizers(&new).is_empty();
            if immediate {
                if p.dry_run {
                    return Ok(DeleteOutcome::Deleted(current));
                }
                let pre = Preconditions {
                    revision: Some(current.revision),
                    uid: None,
                };
                match self.store.delete(info.store_key, namespace, name, &pre) {
                    Ok(gone) => {
                        if info.store_key == "services" {
                            self.services.lock().release(&old);
                        }
                        return Ok(DeleteOutcome::Deleted(gone));
                    }
                    Err(e) if e.reason == Reason::Conflict => continue,
                    Err(e) => return Err(e),
                }
            }
            if info.store_key == "namespaces" {
                new["status"]["phase"] = json!("Terminating");
            }
            {
                let m = meta::meta_mut(&mut new);
                let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(grace);
                // First deletion, or a pod's countdown cut to zero; otherwise the object keeps
                // its deletion time and only its finalizers may have changed.
                if !terminating || old_grace > 0 {
                    m.insert(
                        "deletionTimestamp".into(),
                        Value::String(meta::timestamp_rfc3339(at)),
                    );
                    m.insert("deletionGracePeriodSeconds".into(), json!(grace));
                }
                if !terminating && let Some(g) = m.get("generation").and_then(Value::as_i64) {
                    m.insert("generation".into(), json!(g + 1));
                }
            }
            if new == old {
                return Ok(DeleteOutcome::Pending(current));
            }
            if p.dry_run {
                return Ok(DeleteOutcome::Pending(Arc::new(dry_run_stored(
                    &new,
                    namespace,
                    name,
                    current.revision,
                ))));
            }
            let pre = Preconditions {
                revision: Some(current.revision),
                uid: None,
            };
            match self
                .store
                .update(info.store_key, namespace, name, new, &pre)
            {
                Ok(stored) => return Ok(DeleteOutcome::Pending(stored)),
                Err(e) if e.reason == Reason::Conflict => continue,
                Err(e) => return Err(e),
            }
        }
        Err(ApiError::conflict(
            info.group,
            info.plural,
            name,
            "too many concurrent writes; please retry",
        ))
    }

    /// The namespace `finalize` step (upstream's `namespaces/{name}/finalize` subresource): set
    /// `spec.finalizers`; a terminating namespace with no finalizers left is removed.
    pub fn finalize_namespace(
        &self,
        name: &str,
        finalizers: Vec<String>,
    ) -> Result<Arc<Stored>, ApiError> {
        for _ in 0..MAX_CONFLICT_RETRIES {
            let current = self.store.get("namespaces", "", name)?;
            let mut ns = current.value();
            ns["spec"]["finalizers"] = json!(finalizers);
            let pre = Preconditions {
                revision: Some(current.revision),
                uid: None,
            };
            let result = if meta::is_terminating(&ns)
                && finalizers.is_empty()
                && meta::finalizers(&ns).is_empty()
            {
                self.store.delete("namespaces", "", name, &pre)
            } else {
                self.store.update("namespaces", "", name, ns, &pre)
            };
            match result {
                Err(e) if e.reason == Reason::Conflict => continue,
                other => return other,
            }
        }
        Err(ApiError::conflict(
            "",
            "namespaces",
            name,
            "too many concurrent writes; please retry",
        ))
    }

    /// Admission for a delete (e.g. immortal namespaces), before [`Self::delete`].
    pub fn admit_delete(
        &self,
        info: &'static ResourceInfo,
        namespace: &str,
        name: &str,
    ) -> Result<(), ApiError> {
        self.admission.admit_delete(info, namespace, name)
    }

    /// Bind a pod to a node (upstream's `pods/binding`, whose refusals name that resource): set `spec.nodeName` once, clear
    /// `status.nominatedNodeName`, merge the binding's annotations, and mark `PodScheduled` true.
    /// 409 if already bound, terminating or still gated.
    pub fn bind(
        &self,
        namespace: &str,
        name: &str,
        node: &str,
        annotations: Option<&Value>,
    ) -> Result<Arc<Stored>, ApiError> {
        for _ in 0..MAX_CONFLICT_RETRIES {
            let current = self.store.get("pods", namespace, name)?;
            let mut pod = current.value();
            if meta::is_terminating(&pod) {
                return Err(ApiError::conflict(
                    "",
                    BINDING,
                    name,
                    &format!("pod {name} is being deleted, cannot be assigned to a host"),
                ));
            }
            let bound = pod
                .pointer("/spec/nodeName")
                .and_then(Value::as_str)
                .unwrap_or("");
            if !bound.is_empty() {
                return Err(ApiError::conflict(
                    "",
                    BINDING,
                    name,
                    &format!("pod {name} is already assigned to node {bound:?}"),
                ));
            }
            // A gated pod is not ready for scheduling, whoever binds it.
            if pod
                .pointer("/spec/schedulingGates")
                .and_then(Value::as_array)
                .is_some_and(|g| !g.is_empty())
            {
                return Err(ApiError::conflict(
                    "",
                    BINDING,
                    name,
                    &format!("pod {name} has non-empty .spec.schedulingGates"),
                ));
            }
            pod["spec"]["nodeName"] = json!(node);
            // The nomination was a hint for the time before binding; a stale one would mislead
            // other components (upstream's ClearingNominatedNodeNameAfterBinding, on since 1.35).
            if let Some(status) = pod.get_mut("status").and_then(Value::as_object_mut) {
                status.remove("nominatedNodeName");
            }
            if let Some(Value::Object(extra)) = annotations {
                let m = meta::meta_mut(&mut pod);
                let ann = m.entry("annotations").or_insert_with(|| json!({}));
                if let Some(ann) = ann.as_object_mut() {
                    for (k, v) in extra {
                        ann.insert(k.clone(), v.clone());
                    }
                }
            }
            let now = meta::now_rfc3339();
            let condition = json!({ "type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now });
            let conditions = pod["status"]["conditions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut conditions: Vec<Value> = conditions
                .into_iter()
                .filter(|c| c["type"] != "PodScheduled")
                .collect();
            conditions.push(condition);
            pod["status"]["conditions"] = Value::Array(conditions);
            let pre = Preconditions {
                revision: Some(current.revision),
                uid: None,
            };
            match self.store.update("pods", namespace, name, pod, &pre) {
                Err(e) if e.reason == Reason::Conflict => continue,
                other => return other,
            }
        }
        Err(ApiError::conflict(
            "",
            "pods",
            name,
            "too many concurrent writes; please retry",
        ))
    }
}

/// The finalizer by which the garbage collector orphans an object's dependents before the
/// object goes (upstream `metav1.FinalizerOrphanDependents`).
pub const FINALIZER_ORPHAN: &str = "orphan";
/// The finalizer by which the garbage collector deletes an object's blocking dependents before
/// the object goes (upstream `metav1.FinalizerDeleteDependents`).
pub const FINALIZER_FOREGROUND: &str = "foregroundDeletion";

/// A delete's `propagationPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Propagation {
    Orphan,
    Background,
    Foreground,
}

/// What a resource's dependents undergo when it is deleted without a policy (upstream's
/// `DefaultGarbageCollectionPolicy` of each strategy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GcDefault {
    /// Left alone, and the garbage collector's finalizers are removed (events).
    Unsupported,
    /// Orphaned, for compatibility with the days before server-side cascading: core/v1
    /// ReplicationControllers and batch/v1 Jobs (the only versions of them served).
    Orphan,
    /// Deleted in the background: everything else.
    DeleteDependents,
}

fn gc_default(info: &ResourceInfo) -> GcDefault {
    match info.store_key {
        "events" | "events.events.k8s.io" => GcDefault::Unsupported,
        "replicationcontrollers" | "jobs.batch" => GcDefault::Orphan,
        _ => GcDefault::DeleteDependents,
    }
}

/// Set the garbage collector's finalizers a delete asks for (upstream's
/// `deletionFinalizersForGarbageCollection` with `shouldOrphanDependents` and
/// `shouldDeleteDependents`): an explicit policy decides; without one, a finalizer the object
/// already carries decides; else the resource's default. Other finalizers keep their order; the
/// list is left untouched when the set does not change.
fn set_gc_finalizers(info: &ResourceInfo, obj: &mut Value, policy: Option<Propagation>) {
    let current: Vec<String> = meta::finalizers(obj)
        .into_iter()
        .map(str::to_string)
        .collect();
    let has = |f: &str| current.iter().any(|c| c == f);
    let default = gc_default(info);
    let (orphan, foreground) = if default == GcDefault::Unsupported {
        (false, false)
    } else {
        match policy {
            Some(Propagation::Orphan) => (true, false),
            Some(Propagation::Foreground) => (false, true),
            Some(Propagation::Background) => (false, false),
            // The first GC finalizer in the list wins, as upstream's loops.
            None => match current
                .iter()
                .find(|f| *f == FINALIZER_ORPHAN || *f == FINALIZER_FOREGROUND)
            {
                Some(f) if f == FINALIZER_ORPHAN => (true, false),
                Some(_) => (false, true),
                None => (default == GcDefault::Orphan, false),
            },
        }
    };
    if orphan == has(FINALIZER_ORPHAN) && foreground == has(FINALIZER_FOREGROUND) {
        return;
    }
    let mut next: Vec<String> = current
        .iter()
        .filter(|f| *f != FINALIZER_ORPHAN && *f != FINALIZER_FOREGROUND)
        .cloned()
        .collect();
    if orphan {
        next.push(FINALIZER_ORPHAN.to_string());
    }
    if foreground {
        next.push(FINALIZER_FOREGROUND.to_string());
    }
    let m = meta::meta_mut(obj);
    if next.is_empty() {
        m.remove("finalizers");
    } else {
        m.insert("finalizers".into(), json!(next));
    }
}

/// Put the request's namespace into `metadata`, or reject a body that names another one.
fn set_namespace(
    info: &ResourceInfo,
    m: &mut serde_json::Map<String, Value>,
    namespace: &str,
) -> Result<(), ApiError> {
    if !info.namespaced {
        m.remove("namespace");
        return Ok(());
    }
    match m.get("namespace").and_then(Value::as_str) {
        Some(ns) if !ns.is_empty() && ns != namespace => Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        )),
        _ => {
            m.insert("namespace".into(), Value::String(namespace.to_string()));
            Ok(())
        }
    }
}

/// What an update can never change (upstream's `rest.BeforeUpdate`): generation (recomputed by the
/// strategy), creation time, deletion fields; an empty uid means "the existing one".
fn carry_system_fields(m: &mut serde_json::Map<String, Value>, old: &Value) {
    let old_meta = old.get("metadata").and_then(Value::as_object);
    let get = |k: &str| old_meta.and_then(|om| om.get(k)).cloned();
    for key in [
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    ] {
        match get(key) {
            Some(v) => {
                m.insert(key.into(), v);
            }
            None => {
                m.remove(key);
            }
        }
    }
    if m.get("uid")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
        && let Some(uid) = get("uid")
    {
        m.insert("uid".into(), uid);
    }
    m.remove("managedFields");
    m.remove("selfLink");
}

/// `metadata.resourceVersion` in an update body, if the client set one.
fn pinned_revision(obj: &Value) -> Result<Option<u64>, ApiError> {
    match meta::meta_str(obj, "resourceVersion") {
        None | Some("") => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "invalid resourceVersion {s:?}: must be a decimal number"
            ))
        }),
    }
}

pub(super) fn check_preconditions(
    info: &ResourceInfo,
    name: &str,
    current: &Stored,
    pre: &Preconditions,
) -> Result<(), ApiError> {
    if let Some(uid) = &pre.uid {
        let value = current.value();
        let actual = meta::meta_str(&value, "uid").unwrap_or("");
        if actual != uid {
            return Err(ApiError::conflict(
                info.group,
                info.plural,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"
                ),
            ));
        }
    }
    if let Some(rv) = pre.revision
        && rv != current.revision
    {
        return Err(ApiError::conflict(
            info.group,
            info.plural,
            name,
            &format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                current.revision
            ),
        ));
    }
    Ok(())
}

/// The grace period a delete gets: only pods are deleted gracefully, and only while bound to a
/// node and not finished (upstream's pod strategy `CheckGracefulDelete`).
fn effective_grace(info: &ResourceInfo, obj: &Value, requested: Option<i64>) -> i64 {
    if info.store_key != "pods" {
        return 0;
    }
    let node = obj
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or("");
    let phase = obj
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("");
    if node.is_empty() || matches!(phase, "Succeeded" | "Failed") {
        return 0;
    }
    requested
        .or_else(|| {
            obj.pointer("/spec/terminationGracePeriodSeconds")
                .and_then(Value::as_i64)
        })
        .unwrap_or(30)
        .max(0)
}

/// Whether an update that leaves a terminating object without finalizers removes it
/// (upstream's `ShouldDeleteDuringUpdate`): pods only once their node confirmed (grace 0) or
/// when unbound or finished; namespaces only when `spec.finalizers` is empty too.
fn should_delete_during_update(info: &ResourceInfo, obj: &Value) -> bool {
    if !meta::is_terminating(obj) || !meta::finalizers(obj).is_empty() {
        return false;
    }
    match info.store_key {
        "pods" => {
            let grace = obj
                .pointer("/metadata/deletionGracePeriodSeconds")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            grace == 0 || effective_grace(info, obj, Some(1)) == 0
        }
        "namespaces" => obj
            .pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty),
        _ => true,
    }
}

fn generated_name(base: &str) -> String {
    let mut rng = rand::rng();
    // Upstream trims the base so the name stays within 63 characters.
    let base: String = base.chars().take(58).collect();
    let suffix: String = (0..5)
        .map(|_| NAME_ALPHABET[rng.random_range(0..NAME_ALPHABET.len())] as char)
        .collect();
    format!("{base}{suffix}")
}

fn dry_run_stored(obj: &Value, namespace: &str, name: &str, revision: u64) -> Stored {
    Stored {
        revision,
        namespace: namespace.into(),
        name: name.into(),
        bytes: serde_json::to_vec(obj).unwrap_or_default().into(),
        labels: Box::new([]),
        fields: Box::new([]),
    }
}

#[cfg(test)]
pub(crate) mod bind_tests {

    use super::*;
    use crate::store::MemoryStore;

    /// Namespace `default` holding pod `p` (spec `spec_extra` on top of one container, then
    /// `status` if not null).
    pub(crate) fn objects_with_pod(spec_extra: Value, status: Value) -> Arc<Objects> {
        let store: Arc<dyn Storage> = Arc::new(MemoryStore::new(Default::default()));
        let objects = Objects::new(store);
        let namespaces = crate::registry::find("", "v1", "namespaces").expect("served");
        objects
            .create(
                namespaces,
                "",
                json!({"metadata": {"name": "default"}}),
                &WriteParams::default(),
            )
            .unwrap();
        let mut spec = json!({"containers": [{"name": "c", "image": "x"}]});
        for (k, v) in spec_extra.as_object().unwrap() {
            spec[k] = v.clone();
        }
        let pods = crate::registry::find("", "v1", "pods").expect("served");
        objects
            .create(
                pods,
                "default",
                json!({"metadata": {"name": "p"}, "spec": spec}),
                &WriteParams::default(),
            )
            .unwrap();
        if !status.is_null() {
            let patch = serde_json::to_vec(&json!({"status": status})).unwrap();
            objects
                .patch(
                    pods,
                    "default",
                    "p",
                    PatchType::Merge,
                    &patch,
                    UpdateTarget::Status,
                    &WriteParams::default(),
                )
                .unwrap();
        }
        objects
    }

    #[test]
    fn a_gated_pod_cannot_be_bound() {
        let objects = objects_with_pod(json!({"schedulingGates": [{"name": "wait"}]}), Value::Null);
        let err = objects.bind("default", "p", "n1", None).unwrap_err();
        assert_eq!(err.code, 409);
        assert_eq!(
            err.message,
            "Operation cannot be fulfilled on pods/binding \"p\": pod p has non-empty \
             .spec.schedulingGates"
        );
    }

    #[test]
    fn binding_clears_the_nomination() {
        let objects = objects_with_pod(json!({}), json!({"nominatedNodeName": "n1"}));
        let before = objects.store().get("pods", "default", "p").unwrap().value();
        assert_eq!(before["status"]["nominatedNodeName"], "n1");
        let bound = objects.bind("default", "p", "n1", None).unwrap().value();
        assert_eq!(bound["spec"]["nodeName"], "n1");
        assert!(
            bound["status"].get("nominatedNodeName").is_none(),
            "{:#}",
            bound["status"]
        );
    }
}

#[cfg(test)]
mod delete_tests {
    use super::*;
    use crate::store::MemoryStore;

    fn info(plural: &str) -> &'static ResourceInfo {
        crate::registry::RESOURCES
            .iter()
            .find(|r| r.plural == plural)
            .expect("served")
    }

    fn objects() -> Arc<Objects> {
        let store: Arc<dyn Storage> = Arc::new(MemoryStore::new(Default::default()));
        let objects = Objects::new(store);
        objects
            .create(
                info("namespaces"),
                "",
                json!({"metadata": {"name": "ns"}}),
                &WriteParams::default(),
            )
            .unwrap();
        objects
    }

    fn create(objects: &Objects, plural: &str, obj: Value) {
        objects
            .create(info(plural), "ns", obj, &WriteParams::default())
            .unwrap();
    }

    fn delete(objects: &Objects, plural: &str, name: &str, policy: Option<&str>) -> DeleteOutcome {
        let p = DeleteParams {
            propagation_policy: policy.map(str::to_string),
            ..Default::default()
        };
        objects.delete(info(plural), "ns", name, &p).unwrap()
    }

    fn finalizers_of(outcome: &DeleteOutcome) -> Vec<String> {
        meta::finalizers(&outcome.object().value())
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    fn cm(name: &str) -> Value {
        json!({"metadata": {"name": name}})
    }

    #[test]
    fn orphan_and_foreground_mark_the_object_with_their_finalizer() {
        let objects = objects();
        for (policy, finalizer) in [("Orphan", "orphan"), ("Foreground", "foregroundDeletion")] {
            let name = policy.to_lowercase();
            create(&objects, "configmaps", cm(&name));
            let out = delete(&objects, "configmaps", &name, Some(policy));
            assert!(matches!(out, DeleteOutcome::Pending(_)), "{policy}");
            assert_eq!(finalizers_of(&out), [finalizer]);
            assert!(meta::is_terminating(&out.object().value()));
        }
        create(&objects, "configmaps", cm("bg"));
        let out = delete(&objects, "configmaps", "bg", Some("Background"));
        assert!(matches!(out, DeleteOutcome::Deleted(_)));
    }

    #[test]
    fn a_second_delete_swaps_or_drops_the_finalizers_as_upstream() {
        let objects = objects();
        create(
            &objects,
            "configmaps",
            json!({"metadata": {"name": "held", "finalizers": ["example.com/hold"]}}),
        );
        let first = delete(&objects, "configmaps", "held", Some("Orphan"));
        assert_eq!(finalizers_of(&first), ["example.com/hold", "orphan"]);
        let stamp = first.object().value()["metadata"]["deletionTimestamp"].clone();
        let second = delete(&objects, "configmaps", "held", Some("Foreground"));
        assert_eq!(
            finalizers_of(&second),
            ["example.com/hold", "foregroundDeletion"]
        );
        assert_eq!(
            second.object().value()["metadata"]["deletionTimestamp"],
            stamp
        );
        // No policy keeps what the object carries: nothing is written.
        let third = delete(&objects, "configmaps", "held", None);
        assert_eq!(third.object().revision, second.object().revision);
        let fourth = delete(&objects, "configmaps", "held", Some("Background"));
        assert_eq!(finalizers_of(&fourth), ["example.com/hold"]);

        create(&objects, "configmaps", cm("only-gc"));
        delete(&objects, "configmaps", "only-gc", Some("Orphan"));
        let gone = delete(&objects, "configmaps", "only-gc", Some("Background"));
        assert!(
            matches!(gone, DeleteOutcome::Deleted(_)),
            "with no finalizer left it goes"
        );
    }

    #[test]
    fn replication_controllers_and_jobs_orphan_by_default_and_events_never_wait() {
        let objects = objects();
        let template = |restart: &str| {
            json!({"metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "x"}], "restartPolicy": restart}})
        };
        create(
            &objects,
            "replicationcontrollers",
            json!({"metadata": {"name": "rc"},
                "spec": {"replicas": 0, "selector": {"a": "b"}, "template": template("Always")}}),
        );
        assert_eq!(
            finalizers_of(&delete(&objects, "replicationcontrollers", "rc", None)),
            ["orphan"]
        );
        create(
            &objects,
            "jobs",
            json!({"metadata": {"name": "job"}, "spec": {"template": template("Never")}}),
        );
        assert_eq!(
            finalizers_of(&delete(&objects, "jobs", "job", None)),
            ["orphan"]
        );
        create(&objects, "configmaps", cm("plain"));
        assert!(matches!(
            delete(&objects, "configmaps", "plain", None),
            DeleteOutcome::Deleted(_)
        ));
        create(
            &objects,
            "events",
            json!({"metadata": {"name": "ev"}, "involvedObject": {"kind": "Pod", "name": "p", "namespace": "ns"},
                "reason": "R", "message": "m", "type": "Normal"}),
        );
        assert!(matches!(
            delete(&objects, "events", "ev", Some("Orphan")),
            DeleteOutcome::Deleted(_)
        ));
    }

    #[test]
    fn a_dry_run_delete_answers_with_the_marked_object_and_changes_nothing() {
        let objects = objects();
        create(&objects, "configmaps", cm("dry"));
        let before = objects.store().get("configmaps", "ns", "dry").unwrap();
        let p = DeleteParams {
            propagation_policy: Some("Foreground".into()),
            dry_run: true,
            ..Default::default()
        };
        let out = objects.delete(info("configmaps"), "ns", "dry", &p).unwrap();
        assert_eq!(finalizers_of(&out), ["foregroundDeletion"]);
        let after = objects.store().get("configmaps", "ns", "dry").unwrap();
        assert_eq!(after.revision, before.revision);
        assert_eq!(after.value(), before.value());
    }

    #[test]
    fn a_running_pods_grace_period_is_kept_and_its_finalizers_frozen_until_it_ends() {
        let objects = objects();
        create(
            &objects,
            "pods",
            json!({"metadata": {"name": "p"}, "spec": {"nodeName": "n1",
                "containers": [{"name": "c", "image": "x"}]}}),
        );
        let first = delete(&objects, "pods", "p", Some("Orphan"));
        let pod = first.object().value();
        assert_eq!(pod["metadata"]["deletionGracePeriodSeconds"], 30);
        assert_eq!(finalizers_of(&first), ["orphan"]);
        let second = delete(&objects, "pods", "p", Some("Foreground"));
        assert_eq!(second.object().revision, first.object().revision);
        assert_eq!(finalizers_of(&second), ["orphan"]);
    }

    #[test]
    fn an_unknown_policy_is_refused() {
        let objects = objects();
        create(&objects, "configmaps", cm("x"));
        let p = DeleteParams {
            propagation_policy: Some("Sideways".into()),
            ..Default::default()
        };
        let err = objects
            .delete(info("configmaps"), "ns", "x", &p)
            .unwrap_err();
        assert_eq!(err.code, 422);
    }
}
