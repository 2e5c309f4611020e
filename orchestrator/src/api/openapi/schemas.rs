//! Schema definitions for the OpenAPI documents, taken from k8s-openapi's `schemars` impls and
//! brought to upstream's shape: kinds carry `x-kubernetes-group-version-kind`, lists (which
//! k8s-openapi models as a generic `List<T>` without a schema) are written out, and the patch
//! metadata (`x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`) that k8s-openapi drops
//! is put back, because kubectl computes strategic merge patches from these documents: without a
//! merge key it treats a list as atomic and `kubectl apply` could no longer remove a container or
//! an env var.

use std::collections::BTreeMap;

use k8s_openapi::api::{
    apps, autoscaling, batch, coordination, core, discovery, policy, scheduling, storage,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use schemars::{SchemaGenerator, generate::SchemaSettings};
use serde_json::{Map, Value, json};

use crate::registry::{RESOURCES, ResourceInfo};

/// Prefix of definition references as the generator writes them (OpenAPI v2 style).
pub(super) const V2_REF_PREFIX: &str = "#/definitions/";
/// Prefix of schema references in OpenAPI v3 documents.
pub(super) const V3_REF_PREFIX: &str = "#/components/schemas/";

/// Meta definitions every group version's document carries, as upstream's do.
pub(super) const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
/// `DeleteOptions`, the body of DELETE.
pub(super) const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
/// `Patch`, the (opaque) body of PATCH.
pub(super) const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
/// `WatchEvent`, what watch streams carry.
pub(super) const WATCH_EVENT: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";
/// `autoscaling/v1` `Scale`, the `scale` subresource's kind.
pub(super) const SCALE: &str = "io.k8s.api.autoscaling.v1.Scale";
/// `v1` `Binding`, the `pods/binding` subresource's kind.
pub(super) const BINDING: &str = "io.k8s.api.core.v1.Binding";
/// `policy/v1` `Eviction`, the `pods/eviction` subresource's kind.
pub(super) const EVICTION: &str = "io.k8s.api.policy.v1.Eviction";

/// Definitions keyed by upstream's definition name, with `$ref`s in OpenAPI v2 form
/// (`#/definitions/…`); [`super`] rewrites them for v3.
pub(super) type Definitions = BTreeMap<String, Value>;

/// Register the schema of the kind `kind` in `group` with the generator; returns its definition
/// name, or `None` if k8s-openapi has no type for it (a bug in the resource table: tested).
fn register_kind(gen_: &mut SchemaGenerator, group: &str, kind: &str) -> Option<String> {
    macro_rules! kinds {
        ($(($g:literal, $k:literal) => $t:ty),* $(,)?) => {
            match (group, kind) {
                $(($g, $k) => Some(def_name(&gen_.subschema_for::<$t>())),)*
                _ => None,
            }
        };
    }
    kinds! {
        ("", "Namespace") => core::v1::Namespace,
        ("", "Node") => core::v1::Node,
        ("", "Pod") => core::v1::Pod,
        ("", "Service") => core::v1::Service,
        ("", "Endpoints") => core::v1::Endpoints,
        ("", "ReplicationController") => core::v1::ReplicationController,
        ("", "PersistentVolume") => core::v1::PersistentVolume,
        ("", "PersistentVolumeClaim") => core::v1::PersistentVolumeClaim,
        ("", "ConfigMap") => core::v1::ConfigMap,
        ("", "Secret") => core::v1::Secret,
        ("", "ServiceAccount") => core::v1::ServiceAccount,
        ("", "Event") => core::v1::Event,
        ("", "ResourceQuota") => core::v1::ResourceQuota,
        ("", "LimitRange") => core::v1::LimitRange,
        ("", "Binding") => core::v1::Binding,
        ("policy", "Eviction") => policy::v1::Eviction,
        ("autoscaling", "Scale") => autoscaling::v1::Scale,
        ("apps", "Deployment") => apps::v1::Deployment,
        ("apps", "ReplicaSet") => apps::v1::ReplicaSet,
        ("apps", "DaemonSet") => apps::v1::DaemonSet,
        ("apps", "ControllerRevision") => apps::v1::ControllerRevision,
        ("batch", "Job") => batch::v1::Job,
        ("coordination.k8s.io", "Lease") => coordination::v1::Lease,
        ("storage.k8s.io", "StorageClass") => storage::v1::StorageClass,
        ("discovery.k8s.io", "EndpointSlice") => discovery::v1::EndpointSlice,
        ("scheduling.k8s.io", "PriorityClass") => scheduling::v1::PriorityClass,
    }
}

/// The definition name a `$ref` schema points at.
fn def_name(schema: &schemars::Schema) -> String {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix(V2_REF_PREFIX))
        .unwrap_or_default()
        .to_string()
}

/// A GVK as upstream writes it in `x-kubernetes-group-version-kind`.
fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "kind": kind, "version": version})
}

/// All definitions a document for `resources` needs: each kind, its list, the subresource kinds
/// and the meta types, plus everything they reference. `DeleteOptions` and `WatchEvent` carry the
/// GVKs of every served group version, as upstream's do.
pub(super) fn definitions(resources: &[&'static ResourceInfo]) -> Definitions {
    let mut settings = SchemaSettings::draft07();
    settings.meta_schema = None;
    settings.transforms = Vec::new();
    let mut gen_ = settings.into_generator();

    let mut gvks: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut lists = Vec::new();
    for r in resources {
        let Some(name) = register_kind(&mut gen_, r.group, r.kind) else {
            // A kind added to RESOURCES without a row in `register_kind`: its document lacks
            // the schema (kubectl then validates nothing for it); a unit test catches this.
            debug_assert!(false, "no k8s-openapi type for {}", r.kind);
            continue;
        };
        gvks.entry(name.clone())
            .or_default()
            .push(gvk(r.group, r.version, r.kind));
        lists.push((name, *r));
        for sub in r.subresources {
            let (group, version, kind) = match sub {
                crate::registry::Subresource::Status | crate::registry::Subresource::Finalize => {
                    continue;
                }
                crate::registry::Subresource::Scale => ("autoscaling", "v1", "Scale"),
                crate::registry::Subresource::Binding => ("", "v1", "Binding"),
                crate::registry::Subresource::Eviction => ("policy", "v1", "Eviction"),
            };
            if let Some(name) = register_kind(&mut gen_, group, kind) {
                let entry = gvks.entry(name).or_default();
                let g = gvk(group, version, kind);
                if !entry.contains(&g) {
                    entry.push(g);
                }
            }
        }
    }
    gen_.subschema_for::<meta::Status>();
    gen_.subschema_for::<meta::DeleteOptions>();
    gen_.subschema_for::<meta::Patch>();
    gen_.subschema_for::<meta::WatchEvent<core::v1::Pod>>();
    gen_.subschema_for::<meta::APIResourceList>();
    gen_.subschema_for::<meta::ListMeta>();

    let mut defs: Definitions = gen_.take_definitions(false).into_iter().collect();
    for (name, r) in lists {
        let list_kind = r.list_kind();
        let list_name = format!("{}List", name);
        defs.insert(list_name.clone(), list_schema(&name, r));
        gvks.entry(list_name)
            .or_default()
            .push(gvk(r.group, r.version, &list_kind));
    }
    gvks.insert(STATUS.into(), vec![gvk("", "v1", "Status")]);
    let mut every_gv: Vec<(&str, &str)> = vec![("", "v1")];
    for r in RESOURCES {
        if !every_gv.contains(&(r.group, r.version)) {
            every_gv.push((r.group, r.version));
        }
    }
    for shared in [DELETE_OPTIONS, WATCH_EVENT] {
        let kind = shared.rsplit('.').next().unwrap_or_default();
        gvks.insert(
            shared.into(),
            every_gv.iter().map(|(g, v)| gvk(g, v, kind)).collect(),
        );
    }

    for (name, schema) in &mut defs {
        normalize(name, schema);
        if let (Some(list), Some(obj)) = (gvks.get(name), schema.as_object_mut()) {
            obj.insert(
                "x-kubernetes-group-version-kind".into(),
                Value::Array(list.clone()),
            );
        }
    }
    defs
}

/// The schema of `<Kind>List`, as upstream's generator writes it.
fn list_schema(item: &str, r: &ResourceInfo) -> Value {
    json!({
        "description": format!("{}List is a list of {}.", r.kind, r.kind),
        "type": "object",
        "properties": {
            "apiVersion": {
                "description": "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
                "type": "string",
            },
            "items": {
                "description": format!("List of {}.", r.plural),
                "type": "array",
                "items": {"$ref": format!("{V2_REF_PREFIX}{item}")},
            },
            "kind": {
                "description": "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
                "type": "string",
            },
            "metadata": {
                "$ref": format!("{V2_REF_PREFIX}io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"),
                "description": "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
            },
        },
        "required": ["items"],
    })
}

/// Upstream's patch metadata for the fields of the types we serve: `(definition, property,
/// strategy, merge key)`, from the `patchStrategy`/`patchMergeKey` tags of `k8s.io/api`.
const PATCH_META: &[(&str, &str, &str, &str)] = &[
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "finalizers",
        "merge",
        "",
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "ownerReferences",
        "merge",
        "uid",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "volumes",
        "merge,retainKeys",
        "name",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "initContainers",
        "merge",
        "name",
    ),
    ("io.k8s.api.core.v1.PodSpec", "containers", "merge", "name"),
    (
        "io.k8s.api.core.v1.PodSpec",
        "ephemeralContainers",
        "merge",
        "name",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "imagePullSecrets",
        "merge",
        "name",
    ),
    ("io.k8s.api.core.v1.PodSpec", "hostAliases", "merge", "ip"),
    (
        "io.k8s.api.core.v1.PodSpec",
        "topologySpreadConstraints",
        "merge",
        "topologyKey",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "schedulingGates",
        "merge",
        "name",
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "resourceClaims",
        "merge,retainKeys",
        "name",
    ),
    (
        "io.k8s.api.core.v1.Container",
        "ports",
        "merge",
        "containerPort",
    ),
    ("io.k8s.api.core.v1.Container", "env", "merge", "name"),
    (
        "io.k8s.api.core.v1.Container",
        "volumeMounts",
        "merge",
        "mountPath",
    ),
    (
        "io.k8s.api.core.v1.Container",
        "volumeDevices",
        "merge",
        "devicePath",
    ),
    (
        "io.k8s.api.core.v1.EphemeralContainer",
        "ports",
        "merge",
        "containerPort",
    ),
    (
        "io.k8s.api.core.v1.EphemeralContainer",
        "env",
        "merge",
        "name",
    ),
    (
        "io.k8s.api.core.v1.EphemeralContainer",
        "volumeMounts",
        "merge",
        "mountPath",
    ),
    (
        "io.k8s.api.core.v1.EphemeralContainer",
        "volumeDevices",
        "merge",
        "devicePath",
    ),
    (
        "io.k8s.api.core.v1.PodStatus",
        "conditions",
        "merge",
        "type",
    ),
    ("io.k8s.api.core.v1.PodStatus", "podIPs", "merge", "ip"),
    ("io.k8s.api.core.v1.PodStatus", "hostIPs", "merge", "ip"),
    (
        "io.k8s.api.core.v1.PodStatus",
        "resourceClaimStatuses",
        "merge,retainKeys",
        "name",
    ),
    ("io.k8s.api.core.v1.NodeSpec", "podCIDRs", "merge", ""),
    (
        "io.k8s.api.core.v1.NodeStatus",
        "conditions",
        "merge",
        "type",
    ),
    (
        "io.k8s.api.core.v1.NodeStatus",
        "addresses",
        "merge",
        "type",
    ),
    ("io.k8s.api.core.v1.ServiceSpec", "ports", "merge", "port"),
    (
        "io.k8s.api.core.v1.ServiceStatus",
        "conditions",
        "merge",
        "type",
    ),
    (
        "io.k8s.api.core.v1.NamespaceStatus",
        "conditions",
        "merge",
        "type",
    ),
    (
        "io.k8s.api.core.v1.PersistentVolumeClaimStatus",
        "conditions",
        "merge",
        "type",
    ),
    (
        "io.k8s.api.core.v1.ReplicationControllerStatus",
        "conditions",
        "merge",
        "type",
    ),
    (
        "io.k8s.api.core.v1.ServiceAccount",
        "secrets",
        "merge",
        "name",
    ),
    (
        "io.k8s.api.apps.v1.DeploymentSpec",
        "strategy",
        "retainKeys",
        "",
    ),
    (
        "io.k8s.api.apps.v1.DeploymentStatus",
        "conditions",
        "merge",
        "type",
    ),
    (
        "io.k8s.api.apps.v1.ReplicaSetStatus",
        "conditions",
        "merge",
        "type",
    ),
    (
        "io.k8s.api.apps.v1.DaemonSetStatus",
        "conditions",
        "merge",
        "type",
    ),
    (
        "io.k8s.api.batch.v1.JobStatus",
        "conditions",
        "merge",
        "type",
    ),
];

/// Bring one k8s-openapi definition to upstream's shape.
fn normalize(name: &str, schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    // k8s-openapi marks `metadata` required because its Rust field is not optional; upstream
    // never requires it, and a client validating against our schema must not either.
    if let Some(Value::Array(required)) = obj.get_mut("required") {
        required.retain(|f| f != "metadata");
        if required.is_empty() {
            obj.remove("required");
        }
    }
    for (def, prop, strategy, key) in PATCH_META.iter().filter(|(def, ..)| *def == name) {
        let Some(Value::Object(p)) = obj.get_mut("properties").and_then(|p| p.get_mut(*prop))
        else {
            // The table names fields of the compiled k8s-openapi types; the unit tests build
            // every document, so a stale entry fails there rather than in a serving process.
            debug_assert!(false, "patch metadata for missing field {def}.{prop}");
            continue;
        };
        p.insert("x-kubernetes-patch-strategy".into(), (*strategy).into());
        if !key.is_empty() {
            p.insert("x-kubernetes-patch-merge-key".into(), (*key).into());
        }
    }
}

/// Upstream's v2 and v3 shapes of the two int-or-string types, which k8s-openapi writes as
/// CRD-style `x-kubernetes-int-or-string` without a type (kubectl's v2 parser would treat that as
/// an arbitrary value, and `kubectl explain` would print no type).
pub(super) fn int_or_string(name: &str, v3: bool, schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    let (format, one_of) = match name {
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString" => {
            (Some("int-or-string"), ["integer", "string"])
        }
        "io.k8s.apimachinery.pkg.api.resource.Quantity" => (None, ["string", "number"]),
        _ => return,
    };
    obj.remove("x-kubernetes-int-or-string");
    if let Some(format) = format {
        obj.insert("format".into(), format.into());
    }
    if v3 {
        obj.insert(
            "oneOf".into(),
            one_of.iter().map(|t| json!({"type": t})).collect(),
        );
    } else {
        obj.insert("type".into(), "string".into());
    }
}

/// Rewrite every `$ref` (and, for v3, wrap a `$ref` that has siblings in `allOf`, as upstream's
/// v3 generator does) in place.
pub(super) fn rewrite_refs(value: &mut Value, v3: bool) {
    match value {
        Value::Object(obj) => {
            if let Some(Value::String(r)) = obj.get_mut("$ref") {
                if v3 && let Some(rest) = r.strip_prefix(V2_REF_PREFIX) {
                    *r = format!("{V3_REF_PREFIX}{rest}");
                }
                if v3 && obj.len() > 1 {
                    let reference = obj.remove("$ref").unwrap_or_default();
                    let mut inner = Map::new();
                    inner.insert("$ref".into(), reference);
                    obj.insert("allOf".into(), Value::Array(vec![Value::Object(inner)]));
                }
                return;
            }
            for v in obj.values_mut() {
                rewrite_refs(v, v3);
            }
        }
        Value::Array(list) => list.iter_mut().for_each(|v| rewrite_refs(v, v3)),
        _ => {}
    }
}

/// Whether a definition name is a kind's (has a JSON schema type registered with us); used by
/// tests to check the table covers [`RESOURCES`].
#[cfg(test)]
pub(super) fn knows_kind(group: &str, kind: &str) -> bool {
    let mut gen_ = SchemaSettings::draft07().into_generator();
    register_kind(&mut gen_, group, kind).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Definitions {
        definitions(&RESOURCES.iter().collect::<Vec<_>>())
    }

    #[test]
    fn every_served_kind_has_a_schema_with_its_gvk() {
        let defs = all();
        for r in RESOURCES {
            assert!(knows_kind(r.group, r.kind), "{}", r.kind);
            let (name, schema) = defs
                .iter()
                .find(|(_, s)| {
                    s["x-kubernetes-group-version-kind"]
                        .as_array()
                        .is_some_and(|l| l.contains(&gvk(r.group, r.version, r.kind)))
                })
                .unwrap_or_else(|| panic!("no definition for {}", r.kind));
            assert!(name.ends_with(&format!(".{}", r.kind)));
            assert!(schema["properties"]["metadata"].is_object());
            let list = &defs[&format!("{name}List")];
            assert_eq!(
                list["x-kubernetes-group-version-kind"][0],
                gvk(r.group, r.version, &r.list_kind())
            );
        }
    }

    #[test]
    fn metadata_is_not_required_and_patch_metadata_is_restored() {
        let defs = all();
        assert!(
            defs["io.k8s.api.core.v1.ConfigMap"]
                .get("required")
                .is_none()
        );
        let containers = &defs["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
        let finalizers =
            &defs["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]["properties"]["finalizers"];
        assert_eq!(finalizers["x-kubernetes-patch-strategy"], "merge");
        assert!(finalizers.get("x-kubernetes-patch-merge-key").is_none());
        assert_eq!(
            defs["io.k8s.api.core.v1.Container"]["required"],
            json!(["name"])
        );
    }

    #[test]
    fn every_reference_resolves() {
        fn refs(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(o) => {
                    if let Some(Value::String(r)) = o.get("$ref") {
                        out.push(r.trim_start_matches(V2_REF_PREFIX).to_string());
                    }
                    o.values().for_each(|v| refs(v, out));
                }
                Value::Array(l) => l.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let defs = all();
        let mut out = Vec::new();
        defs.values().for_each(|v| refs(v, &mut out));
        assert!(!out.is_empty());
        for r in out {
            assert!(defs.contains_key(&r), "dangling $ref {r}");
        }
    }

    #[test]
    fn v3_wraps_refs_with_siblings_in_all_of() {
        let mut v = json!({"a": {"$ref": "#/definitions/X", "description": "d"}, "b": {"$ref": "#/definitions/Y"}});
        rewrite_refs(&mut v, true);
        assert_eq!(
            v,
            json!({"a": {"description": "d", "allOf": [{"$ref": "#/components/schemas/X"}]}, "b": {"$ref": "#/components/schemas/Y"}})
        );
    }

    #[test]
    fn int_or_string_gets_upstream_types() {
        let mut v2 = json!({"description": "d", "x-kubernetes-int-or-string": true});
        int_or_string(
            "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
            false,
            &mut v2,
        );
        assert_eq!(
            v2,
            json!({"description": "d", "format": "int-or-string", "type": "string"})
        );
        let mut v3 = json!({"description": "d", "x-kubernetes-int-or-string": true});
        int_or_string(
            "io.k8s.apimachinery.pkg.api.resource.Quantity",
            true,
            &mut v3,
        );
        assert_eq!(
            v3,
            json!({"description": "d", "oneOf": [{"type": "string"}, {"type": "number"}]})
        );
    }
}
