//! One file per kind (or family): defaulting, validation and update rules, over the k8s-openapi
//! type. The generic half — decoding, metadata rules, status and generation handling, turning
//! causes into 422s — is written once in [`Generic`], a [`Strategy`] for any [`Kind`].
//!
//! Each call converts once: the body (or the API layer's JSON) becomes the typed object, every
//! rule runs on it, and it is serialized once at the end.

mod apps;
mod config;
mod controller_revision;
mod decode;
mod duplicates;
mod job;
mod misc;
mod namespace;
mod network;
mod node;
mod pod;
mod pod_spec;
mod policy;
mod replication_controller;
mod resource_lists;
mod service;
mod storage;
mod template;

use std::marker::PhantomData;

use k8s_openapi::Metadata as _;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::validation::{self, NameRule};
use super::{Decoded, FieldValidation, RESOURCES, ResourceInfo, Strategy, UpdateTarget};
use crate::error::{ApiError, Cause};

/// One kind's rules; [`Generic<K>`] turns them into a [`Strategy`]. Every method has a neutral
/// default so a kind states only what upstream does for it.
pub(crate) trait Kind: Send + Sync + 'static {
    /// The k8s-openapi type.
    type Object: Serialize
        + DeserializeOwned
        + k8s_openapi::Resource
        + k8s_openapi::Metadata<Ty = ObjectMeta>
        + Clone
        + PartialEq
        + Send
        + Sync;

    /// How `metadata.name` is checked (upstream's `ValidateNameFunc` for the kind).
    const NAME_RULE: NameRule = NameRule::Subdomain;

    /// Whether upstream's strategy sets `metadata.generation` (1 on create, +1 on each change
    /// outside metadata and status).
    const TRACKS_GENERATION: bool = false;

    /// Rewrite quantities in upstream's canonical form, as its decoder does; an unparseable one is
    /// upstream's decode error (400).
    fn canonicalize(_obj: &mut Self::Object) -> Result<(), &'static str> {
        Ok(())
    }

    /// Upstream's `SetDefaults_*` for the kind (and what the generated defaulters call for its
    /// nested types).
    fn default(_obj: &mut Self::Object) {}

    /// Upstream's `PrepareForCreate`: reset status to its initial value, drop what clients may
    /// not set.
    fn prepare_create(_obj: &mut Self::Object) {}

    /// Upstream's `PrepareForUpdate` for the main resource: typically keep the old status.
    fn prepare_update(_new: &mut Self::Object, _old: &Self::Object) {}

    /// Upstream's `PrepareForUpdate` for the `/status` strategy: typically keep the old spec.
    fn prepare_status_update(_new: &mut Self::Object, _old: &Self::Object) {}

    /// Whether anything a generation counts (upstream: the spec) changed.
    fn spec_changed(_new: &Self::Object, _old: &Self::Object) -> bool {
        false
    }

    /// The kind's own rules for an object (metadata's common rules run separately).
    fn validate(_obj: &Self::Object, _errs: &mut Vec<Cause>) {}

    /// The kind's rules for an update (immutable fields), on top of [`Kind::validate`] of the new
    /// object.
    fn validate_update(_new: &Self::Object, _old: &Self::Object, _errs: &mut Vec<Cause>) {}

    /// The kind's rules for a `/status` write; by default the new object's own rules.
    fn validate_status_update(new: &Self::Object, _old: &Self::Object, errs: &mut Vec<Cause>) {
        Self::validate(new, errs);
    }
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The index of the [`RESOURCES`] entry for a group and kind, found at compile time.
const fn index_of(group: &str, kind: &str) -> usize {
    let mut i = 0;
    while i < RESOURCES.len() {
        if str_eq(RESOURCES[i].group, group) && str_eq(RESOURCES[i].kind, kind) {
            return i;
        }
        i += 1;
    }
    panic!("a Kind whose resource is not in RESOURCES")
}

/// The [`Strategy`] for a [`Kind`]: a zero-sized value, one static per kind.
pub(crate) struct Generic<K>(PhantomData<fn() -> K>);

impl<K: Kind> Generic<K> {
    /// Found at compile time; the entry itself is read at run time so [`Strategy::info`] returns
    /// the very `&RESOURCES[i]` callers hold (a const copy would be a different address).
    const INDEX: usize = index_of(
        <K::Object as k8s_openapi::Resource>::GROUP,
        <K::Object as k8s_openapi::Resource>::KIND,
    );

    const fn new() -> Self {
        Self(PhantomData)
    }

    fn info() -> &'static ResourceInfo {
        &RESOURCES[Self::INDEX]
    }

    fn from_value(obj: Value) -> Result<K::Object, ApiError> {
        serde_json::from_value(obj).map_err(|e| {
            let info = Self::info();
            ApiError::bad_request(format!(
                "{} in version {:?} cannot be handled as a {}: {e}",
                info.kind, info.version, info.kind
            ))
        })
    }

    /// [`Kind::canonicalize`], with a failure worded as upstream's decode error.
    fn canonical(obj: &mut K::Object) -> Result<(), ApiError> {
        K::canonicalize(obj).map_err(|e| {
            let info = Self::info();
            ApiError::bad_request(format!(
                "{} in version {:?} cannot be handled as a {}: {e}",
                info.kind, info.version, info.kind
            ))
        })
    }

    fn to_value(obj: &K::Object) -> Result<Value, ApiError> {
        serde_json::to_value(obj).map_err(|e| ApiError::internal(e.to_string()))
    }

    /// 422 with every cause (deduplicated, as upstream's aggregate is), or the object.
    fn finish(obj: &K::Object, mut errs: Vec<Cause>) -> Result<Value, ApiError> {
        if errs.is_empty() {
            return Self::to_value(obj);
        }
        let mut seen = std::collections::HashSet::new();
        errs.retain(|c| seen.insert(c.render()));
        let info = Self::info();
        let name = obj.metadata().name.clone().unwrap_or_default();
        Err(ApiError::invalid(info.group, info.kind, &name, errs))
    }
}

impl<K: Kind> Strategy for Generic<K> {
    fn info(&self) -> &'static ResourceInfo {
        Self::info()
    }

    fn decode(&self, body: &[u8], validation: FieldValidation) -> Result<Decoded, ApiError> {
        let mut typed = decode::decode::<K::Object>(Self::info(), body)?;
        Self::canonical(&mut typed.object)?;
        if validation == FieldValidation::Ignore {
            return Ok(Decoded {
                object: Self::to_value(&typed.object)?,
                warnings: Vec::new(),
            });
        }
        let problems = duplicates::field_problems(body, &typed.unknown);
        if validation == FieldValidation::Strict && !problems.is_empty() {
            return Err(decode::strict_error(Self::info(), &problems));
        }
        Ok(Decoded {
            object: Self::to_value(&typed.object)?,
            warnings: problems,
        })
    }

    fn prepare_create(&self, obj: Value) -> Result<Value, ApiError> {
        let mut obj = Self::from_value(obj)?;
        Self::canonical(&mut obj)?;
        // upstream defaults while decoding, before the strategy's PrepareForCreate
        K::default(&mut obj);
        K::prepare_create(&mut obj);
        if K::TRACKS_GENERATION {
            obj.metadata_mut().generation = Some(1);
        }
        let mut errs = Vec::new();
        K::validate(&obj, &mut errs);
        validation::validate_object_meta(
            obj.metadata(),
            Self::info().namespaced,
            K::NAME_RULE,
            &mut errs,
        );
        Self::finish(&obj, errs)
    }

    fn prepare_update(
        &self,
        new: Value,
        old: &Value,
        target: UpdateTarget,
    ) -> Result<Value, ApiError> {
        let mut new = Self::from_value(new)?;
        let old = K::Object::deserialize(old)
            .map_err(|e| ApiError::internal(format!("stored object: {e}")))?;
        Self::canonical(&mut new)?;
        K::default(&mut new);
        restore_server_owned_meta(new.metadata_mut(), old.metadata());
        match target {
            UpdateTarget::Main => K::prepare_update(&mut new, &old),
            UpdateTarget::Status => K::prepare_status_update(&mut new, &old),
        }
        if K::TRACKS_GENERATION {
            let generation = old.metadata().generation.unwrap_or(0);
            let bump = target == UpdateTarget::Main && K::spec_changed(&new, &old);
            new.metadata_mut().generation = Some(if bump { generation + 1 } else { generation });
        }
        let mut errs = Vec::new();
        validation::validate_object_meta_update(new.metadata(), old.metadata(), &mut errs);
        match target {
            UpdateTarget::Main => {
                K::validate(&new, &mut errs);
                K::validate_update(&new, &old, &mut errs);
            }
            UpdateTarget::Status => K::validate_status_update(&new, &old, &mut errs),
        }
        Self::finish(&new, errs)
    }
}

/// What upstream's `rest.BeforeUpdate` silently takes from the stored object: the generation
/// (the strategy bumps it), an unset uid, the creation timestamp, and deletion state.
fn restore_server_owned_meta(new: &mut ObjectMeta, old: &ObjectMeta) {
    new.generation = old.generation;
    if new.uid.as_deref().is_none_or(str::is_empty) {
        new.uid.clone_from(&old.uid);
    }
    if old.creation_timestamp.is_some() {
        new.creation_timestamp.clone_from(&old.creation_timestamp);
    }
    if old.deletion_timestamp.is_some() {
        new.deletion_timestamp.clone_from(&old.deletion_timestamp);
    }
    if old.deletion_grace_period_seconds.is_some() && new.deletion_grace_period_seconds.is_none() {
        new.deletion_grace_period_seconds = old.deletion_grace_period_seconds;
    }
}

macro_rules! strategies {
    ($($key:literal => $static:ident: $kind:ty),* $(,)?) => {
        $(static $static: Generic<$kind> = Generic::new();)*

        /// The strategy for a served resource.
        pub fn strategy_for(info: &'static ResourceInfo) -> &'static dyn Strategy {
            match info.store_key {
                $($key => &$static,)*
                other => panic!("no strategy for {other}: every entry of RESOURCES has one"),
            }
        }
    };
}

strategies! {
    "namespaces" => NAMESPACES: namespace::NamespaceKind,
    "nodes" => NODES: node::NodeKind,
    "pods" => PODS: pod::PodKind,
    "services" => SERVICES: service::ServiceKind,
    "endpoints" => ENDPOINTS: network::EndpointsKind,
    "replicationcontrollers" => RCS: replication_controller::ReplicationControllerKind,
    "persistentvolumes" => PVS: storage::PersistentVolumeKind,
    "persistentvolumeclaims" => PVCS: storage::PersistentVolumeClaimKind,
    "configmaps" => CONFIGMAPS: config::ConfigMapKind,
    "secrets" => SECRETS: config::SecretKind,
    "serviceaccounts" => SERVICEACCOUNTS: misc::ServiceAccountKind,
    "events" => EVENTS: misc::EventKind,
    "resourcequotas" => QUOTAS: policy::ResourceQuotaKind,
    "limitranges" => LIMITRANGES: policy::LimitRangeKind,
    "deployments.apps" => DEPLOYMENTS: apps::DeploymentKind,
    "replicasets.apps" => REPLICASETS: apps::ReplicaSetKind,
    "daemonsets.apps" => DAEMONSETS: apps::DaemonSetKind,
    "controllerrevisions.apps" => CONTROLLERREVISIONS: controller_revision::ControllerRevisionKind,
    "jobs.batch" => JOBS: job::JobKind,
    "leases.coordination.k8s.io" => LEASES: misc::LeaseKind,
    "storageclasses.storage.k8s.io" => STORAGECLASSES: storage::StorageClassKind,
    "endpointslices.discovery.k8s.io" => ENDPOINTSLICES: network::EndpointSliceKind,
    "priorityclasses.scheduling.k8s.io" => PRIORITYCLASSES: policy::PriorityClassKind,
}

#[cfg(test)]
pub(crate) mod test_support;

#[cfg(test)]
mod tests {
    use super::test_support::{causes, create, decode, update};
    use crate::registry::{FieldValidation, RESOURCES};
    use serde_json::json;

    #[test]
    fn every_resource_has_a_strategy_for_itself() {
        for info in RESOURCES {
            assert!(
                std::ptr::eq(super::strategy_for(info).info(), info),
                "{}",
                info.store_key
            );
        }
    }

    #[test]
    fn unknown_fields_warn_fail_or_pass_per_directive() {
        let body =
            r#"{"metadata":{"name":"c","namespace":"d","foo":1},"data":{"k":"v"},"bar":{"x":1}}"#;
        let warned = decode("configmaps", body, FieldValidation::Warn).unwrap();
        assert_eq!(
            warned.warnings,
            vec!["unknown field \"metadata.foo\"", "unknown field \"bar\""]
        );
        assert_eq!(warned.object["kind"], "ConfigMap");
        assert_eq!(warned.object["apiVersion"], "v1");
        assert!(warned.object.get("bar").is_none());
        assert!(
            decode("configmaps", body, FieldValidation::Ignore)
                .unwrap()
                .warnings
                .is_empty()
        );
        let err = decode("configmaps", body, FieldValidation::Strict).unwrap_err();
        assert_eq!(err.code, 400);
        assert_eq!(
            err.message,
            "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"metadata.foo\", unknown field \"bar\""
        );
    }

    #[test]
    fn duplicate_fields_warn_or_fail_like_unknown_ones() {
        let body = r#"{"metadata":{"name":"c","namespace":"d","name":"e"},"data":{"k":"v"}}"#;
        let warned = decode("configmaps", body, FieldValidation::Warn).unwrap();
        assert_eq!(warned.warnings, vec!["duplicate field \"metadata.name\""]);
        assert_eq!(warned.object["metadata"]["name"], "e");
        let err = decode("configmaps", body, FieldValidation::Strict).unwrap_err();
        assert_eq!(
            err.message,
            "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: duplicate field \"metadata.name\""
        );
    }

    #[test]
    fn unknown_fields_in_lists_use_index_paths() {
        let body = r#"{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i","foo":true}]}}"#;
        let d = decode("pods", body, FieldValidation::Warn).unwrap();
        assert_eq!(d.warnings, vec!["unknown field \"spec.containers[0].foo\""]);
    }

    #[test]
    fn wrong_kind_or_version_is_a_bad_request() {
        let err = decode(
            "pods",
            r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"}}"#,
            FieldValidation::Warn,
        )
        .unwrap_err();
        assert_eq!(err.code, 400);
        assert_eq!(
            err.message,
            "Service in version \"v1\" cannot be handled as a Pod: converting (v1.Service) to (core.Pod): unknown conversion"
        );
        let err = decode(
            "pods",
            r#"{"apiVersion":"apps/v1","kind":"Pod","metadata":{"name":"s"}}"#,
            FieldValidation::Warn,
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "Pod in version \"v1\" cannot be handled as a Pod: no kind \"Pod\" is registered for version \"apps/v1\" in scheme \"pkg/api/legacyscheme/scheme.go:30\""
        );
        let err = decode(
            "deployments.apps",
            r#"{"apiVersion":"apps/v1beta2","kind":"Deployment","metadata":{"name":"d"}}"#,
            FieldValidation::Warn,
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "the API version in the data (apps/v1beta2) does not match the expected API version (apps/v1)"
        );
        let err = decode(
            "deployments.apps",
            r#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"d"}}"#,
            FieldValidation::Warn,
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "Service in version \"v1\" cannot be handled as a Deployment: converting (v1.Service) to (apps.Deployment): unknown conversion"
        );
        let ok = decode(
            "pods",
            r#"{"metadata":{"name":"p"}}"#,
            FieldValidation::Strict,
        )
        .unwrap();
        assert_eq!(ok.object["kind"], "Pod");
    }

    #[test]
    fn malformed_bodies_are_bad_requests() {
        let err = decode("pods", "{not json", FieldValidation::Warn).unwrap_err();
        assert_eq!(err.code, 400);
        assert!(err.message.starts_with("the object provided is unrecognized (must be of type Pod): couldn't get version/kind; json parse error: "), "{}", err.message);
        assert!(err.message.ends_with("({not json)"));
        let err = decode(
            "pods",
            r#"{"metadata":{"name":"p"},"spec":{"containers":"x"}}"#,
            FieldValidation::Warn,
        )
        .unwrap_err();
        assert_eq!(err.code, 400);
        assert!(
            err.message.starts_with(
                "Pod in version \"v1\" cannot be handled as a Pod: invalid type: string"
            ),
            "{}",
            err.message
        );
    }

    /// One valid object per served resource.
    fn samples() -> Vec<(&'static str, serde_json::Value)> {
        let tmpl = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1",
            "resources": {"limits": {"cpu": "500m", "memory": "1Gi"}}, "ports": [{"containerPort": 80}]}]}});
        let mut job_tmpl = tmpl.clone();
        job_tmpl["spec"]["restartPolicy"] = json!("Never");
        let ns = |extra: serde_json::Value| {
            let mut v = json!({"metadata": {"name": "x", "namespace": "default", "uid": "u-1", "labels": {"a": "b"}}});
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            v
        };
        let cluster = |extra: serde_json::Value| {
            let mut v = json!({"metadata": {"name": "x", "uid": "u-1"}});
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            v
        };
        vec![
            ("namespaces", cluster(json!({}))),
            (
                "nodes",
                cluster(
                    json!({"status": {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}}}),
                ),
            ),
            ("pods", ns(json!({"spec": tmpl["spec"].clone()}))),
            (
                "services",
                ns(
                    json!({"spec": {"selector": {"app": "x"}, "ports": [{"port": 80, "targetPort": "http"}]}}),
                ),
            ),
            (
                "endpoints",
                ns(
                    json!({"subsets": [{"addresses": [{"ip": "10.1.0.1"}], "ports": [{"port": 80}]}]}),
                ),
            ),
            (
                "replicationcontrollers",
                ns(json!({"spec": {"template": tmpl.clone()}})),
            ),
            (
                "persistentvolumes",
                cluster(
                    json!({"spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}, "hostPath": {"path": "/d"}}}),
                ),
            ),
            (
                "persistentvolumeclaims",
                ns(
                    json!({"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}),
                ),
            ),
            ("configmaps", ns(json!({"data": {"k": "v"}}))),
            ("secrets", ns(json!({"stringData": {"k": "v"}}))),
            ("serviceaccounts", ns(json!({}))),
            (
                "events",
                ns(
                    json!({"involvedObject": {"kind": "Pod", "namespace": "default", "name": "p"}, "reason": "Started"}),
                ),
            ),
            (
                "resourcequotas",
                ns(json!({"spec": {"hard": {"pods": "10", "requests.cpu": "4000m"}}})),
            ),
            (
                "limitranges",
                ns(json!({"spec": {"limits": [{"type": "Container", "max": {"cpu": "2"}}]}})),
            ),
            (
                "deployments.apps",
                ns(
                    json!({"spec": {"selector": {"matchLabels": {"app": "x"}}, "template": tmpl.clone()}}),
                ),
            ),
            (
                "replicasets.apps",
                ns(
                    json!({"spec": {"selector": {"matchLabels": {"app": "x"}}, "template": tmpl.clone()}}),
                ),
            ),
            (
                "daemonsets.apps",
                ns(
                    json!({"spec": {"selector": {"matchLabels": {"app": "x"}}, "template": tmpl.clone()}}),
                ),
            ),
            (
                "controllerrevisions.apps",
                ns(json!({"data": {"spec": {"template": {"$patch": "replace"}}}, "revision": 1})),
            ),
            ("jobs.batch", ns(json!({"spec": {"template": job_tmpl}}))),
            (
                "leases.coordination.k8s.io",
                ns(json!({"spec": {"holderIdentity": "n1", "leaseDurationSeconds": 40}})),
            ),
            (
                "storageclasses.storage.k8s.io",
                cluster(json!({"provisioner": "example.com/fast"})),
            ),
            (
                "endpointslices.discovery.k8s.io",
                ns(json!({"addressType": "IPv4", "endpoints": [{"addresses": ["10.1.0.1"]}]})),
            ),
            (
                "priorityclasses.scheduling.k8s.io",
                cluster(json!({"value": 100})),
            ),
        ]
    }

    #[test]
    fn every_kind_has_a_sample_and_storing_it_again_changes_nothing() {
        let samples = samples();
        assert_eq!(samples.len(), RESOURCES.len());
        for (key, obj) in samples {
            let created = create(key, obj).unwrap_or_else(|e| panic!("{key}: {}", e.message));
            // what a client sends back after a GET is stored unchanged (a no-op write upstream)
            let again = update(key, created.clone(), &created)
                .unwrap_or_else(|e| panic!("{key}: {}", e.message));
            assert_eq!(again, created, "{key}");
            // and defaulting a stored object once more is idempotent
            let recreated =
                create(key, created.clone()).unwrap_or_else(|e| panic!("{key}: {}", e.message));
            assert_eq!(recreated["spec"], created["spec"], "{key}");
        }
    }

    #[test]
    fn every_kind_validates_names() {
        for info in RESOURCES {
            // events' names need only be path segments
            let name = if info.kind == "Event" {
                "a/b"
            } else {
                "Bad_Name"
            };
            let mut obj = json!({"metadata": {"name": name}});
            if info.namespaced {
                obj["metadata"]["namespace"] = json!("default");
            }
            let err = create(info.store_key, obj).unwrap_err();
            assert_eq!(err.code, 422, "{}", info.store_key);
            assert!(
                causes(&err)
                    .iter()
                    .any(|c| c.starts_with("metadata.name: Invalid value: \"Bad_Name\""))
                    || info.kind == "Event",
                "{}: {:?}",
                info.store_key,
                causes(&err)
            );
        }
    }
}
