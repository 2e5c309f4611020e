//! Admission: what happens to a valid object before it is stored, in upstream's plugin order —
//! NamespaceLifecycle (no content in missing or terminating namespaces), LimitRanger (container
//! defaults, then min/max/ratio checks), Priority (a pod's priority from its PriorityClass; one
//! global default class), DefaultTolerationSeconds (300 s tolerations of the
//! not-ready and unreachable taints), ResourceQuota (reject what exceeds a quota, charge the
//! rest to `status.used`).
//!
//! Each plugin's rules are pure functions over JSON in their own file; this file reads what they
//! need from the store and turns their verdicts into `metav1.Status` errors.

mod default_toleration_seconds;
mod limit_ranger;
mod namespace_lifecycle;
pub(crate) mod pod_resources;
mod priority;
pub mod quantity;
pub(crate) mod quota_usage;
mod resource_quota;
#[cfg(test)]
mod store_tests;

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde_json::Value;

pub use default_toleration_seconds::DEFAULT_TOLERATION_SECONDS;
pub use namespace_lifecycle::IMMORTAL_NAMESPACES;
pub(crate) use namespace_lifecycle::is_terminating;
pub use quantity::{Format, Quantity, QuantityError};

use crate::error::{ApiError, Reason};
use crate::registry::ResourceInfo;
use crate::store::{Filter, ListOptions, Preconditions, Storage};
use quota_usage::{Evaluator, Operation};
use resource_quota::QuotaDoc;

/// How many times a quota charge is retried when the quota changed under it (upstream: 3
/// retries after the first attempt).
const QUOTA_ATTEMPTS: usize = 4;
/// Quota charges in one namespace are serialized (upstream batches them per namespace in one
/// worker); namespaces hash onto this many locks.
const QUOTA_LOCK_STRIPES: usize = 64;

/// The admission chain, run by [`crate::api::Objects`] after decoding, defaulting and validation
/// and before the store write.
pub struct Admission {
    store: Arc<dyn Storage>,
    quota_locks: Box<[parking_lot::Mutex<()>]>,
}

impl Admission {
    /// A chain reading and writing through `store`.
    pub fn new(store: Arc<dyn Storage>) -> Self {
        let quota_locks = (0..QUOTA_LOCK_STRIPES)
            .map(|_| parking_lot::Mutex::new(()))
            .collect();
        Self { store, quota_locks }
    }

    /// Admit a create of `obj` in `namespace` (empty for cluster-scoped). May mutate `obj`
    /// (LimitRange defaults). 404 for a missing namespace, 403 for a terminating one, 403 for an
    /// exceeded quota or a LimitRange violation. Charges quota.
    pub fn admit_create(
        &self,
        info: &'static ResourceInfo,
        namespace: &str,
        obj: &mut Value,
    ) -> Result<(), ApiError> {
        self.admit_create_opts(info, namespace, obj, false)
    }

    /// [`Self::admit_create`]; with `dry_run` every check runs but no quota is charged.
    pub fn admit_create_opts(
        &self,
        info: &'static ResourceInfo,
        namespace: &str,
        obj: &mut Value,
        dry_run: bool,
    ) -> Result<(), ApiError> {
        if is_priority_classes(info) {
            priority::validate_class(&*self.store, obj, false)?;
        }
        if !info.namespaced {
            return Ok(());
        }
        namespace_lifecycle::admit(&*self.store, info, namespace, obj, true)?;
        self.limit_ranger(info, namespace, obj, None)?;
        if is_pods(info) {
            priority::admit_pod_create(&*self.store, obj)?;
            default_toleration_seconds::admit(obj);
        }
        self.quota(info, namespace, obj, None, Operation::Create, dry_run)
    }

    /// Admit an update: the namespace must exist; LimitRanger checks claims (pods' resources are
    /// immutable, so upstream skips them); quota charges what the update adds (a claim's growth,
    /// a service's new node ports).
    pub fn admit_update(
        &self,
        info: &'static ResourceInfo,
        namespace: &str,
        new: &mut Value,
        old: &Value,
    ) -> Result<(), ApiError> {
        self.admit_update_opts(info, namespace, new, old, false)
    }

    /// [`Self::admit_update`]; with `dry_run` every check runs but no quota is charged.
    pub fn admit_update_opts(
        &self,
        info: &'static ResourceInfo,
        namespace: &str,
        new: &mut Value,
        old: &Value,
        dry_run: bool,
    ) -> Result<(), ApiError> {
        if is_priority_classes(info) {
            priority::validate_class(&*self.store, new, true)?;
        }
        if !info.namespaced {
            return Ok(());
        }
        namespace_lifecycle::admit(&*self.store, info, namespace, new, false)?;
        self.limit_ranger(info, namespace, new, Some(old))?;
        // Only a claim's usage depends on which part an update wrote; the cheap answer for
        // everything else keeps kubelet status traffic off the comparison.
        let op = match Evaluator::for_resource(info) {
            Evaluator::PersistentVolumeClaims if status_only(new, old) => Operation::UpdateStatus {
                allocation_changed: quota_usage::pvc_allocation_changed(new, old),
            },
            _ => Operation::Update,
        };
        self.quota(info, namespace, new, Some(old), op, dry_run)
    }

    /// The mutations of an update that validation must see, run before it as upstream runs
    /// mutating admission before validation: DefaultTolerationSeconds, so that replacing a pod
    /// with its original manifest (no default tolerations) is not taken for removing them.
    /// Priority, so that a body omitting the priority set at create keeps it. Only for the
    /// main resource: upstream skips subresources.
    pub fn mutate_update(&self, info: &'static ResourceInfo, new: &mut Value, old: &Value) {
        if is_pods(info) {
            priority::mutate_pod_update(new, old);
            default_toleration_seconds::admit(new);
        }
    }

    /// Admit a delete: 403 for the immortal namespaces (`default`, `kube-system`,
    /// `kube-public`).
    pub fn admit_delete(
        &self,
        info: &'static ResourceInfo,
        namespace: &str,
        name: &str,
    ) -> Result<(), ApiError> {
        let _ = namespace;
        namespace_lifecycle::admit_delete(info, name)
    }

    /// The namespace's objects of a resource, in name order.
    fn list(&self, resource: &'static str, namespace: &str) -> Result<Vec<(Value, u64)>, ApiError> {
        let opts = ListOptions {
            filter: Filter {
                namespace: Some(namespace.to_string()),
                ..Default::default()
            },
            ..Default::default()
        };
        let page = self.store.list(resource, &opts)?;
        Ok(page.items.iter().map(|s| (s.value(), s.revision)).collect())
    }

    fn limit_ranger(
        &self,
        info: &'static ResourceInfo,
        namespace: &str,
        obj: &mut Value,
        old: Option<&Value>,
    ) -> Result<(), ApiError> {
        let pods = info.group.is_empty() && info.plural == "pods";
        let claims = info.group.is_empty() && info.plural == "persistentvolumeclaims";
        // Pods' containers cannot change after create, so upstream skips pod updates; objects
        // already being deleted are left alone.
        if !(claims || pods && old.is_none()) || old.is_some_and(has_deletion_timestamp) {
            return Ok(());
        }
        let ranges = self.list("limitranges", namespace)?;
        if ranges.is_empty() {
            return Ok(());
        }
        let forbid = |obj: &Value, detail: String| {
            ApiError::forbidden(
                info.group,
                info.plural,
                &namespace_lifecycle::object_name(obj),
                &detail,
            )
        };
        if pods {
            for (lr, _) in &ranges {
                limit_ranger::mutate_pod(lr, obj);
            }
            for (lr, _) in &ranges {
                limit_ranger::validate_pod(lr, obj).map_err(|e| forbid(obj, e))?;
            }
        } else {
            for (lr, _) in &ranges {
                limit_ranger::validate_pvc(lr, obj).map_err(|e| forbid(obj, e))?;
            }
        }
        Ok(())
    }

    fn quota(
        &self,
        info: &'static ResourceInfo,
        namespace: &str,
        obj: &Value,
        old: Option<&Value>,
        op: Operation,
        dry_run: bool,
    ) -> Result<(), ApiError> {
        let evaluator = Evaluator::for_resource(info);
        if !evaluator.handles(op) {
            return Ok(());
        }
        // Most namespaces have no quota: find out before taking the namespace's lock.
        if self.list("resourcequotas", namespace)?.is_empty() {
            return Ok(());
        }
        let _serialized = self.quota_lock(namespace).lock();
        let mut only: Option<Vec<String>> = None;
        let mut last_err = None;
        for _ in 0..QUOTA_ATTEMPTS {
            let mut quotas: Vec<QuotaDoc> = self
                .list("resourcequotas", namespace)?
                .into_iter()
                .map(|(v, rev)| QuotaDoc::new(v, rev))
                .collect();
            if let Some(names) = &only {
                quotas.retain(|q| names.contains(&q.name));
            }
            if quotas.is_empty() {
                return Ok(());
            }
            let charges = resource_quota::check_request(
                &quotas,
                evaluator,
                op,
                obj,
                old,
                jiff::Timestamp::now(),
            )
            .map_err(|detail| {
                ApiError::forbidden(
                    info.group,
                    info.plural,
                    &namespace_lifecycle::object_name(obj),
                    &detail,
                )
            })?;
            if dry_run || charges.is_empty() {
                return Ok(());
            }
            let mut failed = Vec::new();
            for (i, used) in charges {
                let q = &quotas[i];
                let pre = Preconditions {
                    revision: Some(q.revision),
                    uid: None,
                };
                match self.store.update(
                    "resourcequotas",
                    namespace,
                    &q.name,
                    q.with_used(&used),
                    &pre,
                ) {
                    Ok(_) => {}
                    // A quota deleted meanwhile no longer limits anything.
                    Err(e) if e.reason == Reason::NotFound => {}
                    Err(e) => {
                        failed.push(q.name.clone());
                        last_err = Some(e);
                    }
                }
            }
            if failed.is_empty() {
                return Ok(());
            }
            only = Some(failed);
        }
        Err(last_err.unwrap_or_else(|| ApiError::internal("resource quota evaluation failed")))
    }

    fn quota_lock(&self, namespace: &str) -> &parking_lot::Mutex<()> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        namespace.hash(&mut h);
        &self.quota_locks[(h.finish() % QUOTA_LOCK_STRIPES as u64) as usize]
    }
}

fn is_pods(info: &ResourceInfo) -> bool {
    info.group.is_empty() && info.plural == "pods"
}

fn is_priority_classes(info: &ResourceInfo) -> bool {
    info.group == "scheduling.k8s.io" && info.plural == "priorityclasses"
}

fn has_deletion_timestamp(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
}

/// Whether an update changed nothing but `status` (and metadata): upstream's `status`
/// subresource, which quota charges but never rejects.
fn status_only(new: &Value, old: &Value) -> bool {
    let (Some(n), Some(o)) = (new.as_object(), old.as_object()) else {
        return false;
    };
    let rest_within = |a: &serde_json::Map<String, Value>, b: &serde_json::Map<String, Value>| {
        a.iter()
            .filter(|(k, _)| *k != "status" && *k != "metadata")
            .all(|(k, v)| b.get(k) == Some(v))
    };
    n.get("status") != o.get("status") && rest_within(n, o) && rest_within(o, n)
}
