//! Patch metadata for the built-in kinds: which lists merge (and by which key) instead of being
//! replaced. Upstream reads this from the `patchStrategy` / `patchMergeKey` struct tags of the Go
//! types in `k8s.io/api`; we carry the same facts as a table of the struct types that lie on a path
//! to such a field. A field or type not in the table behaves as an untagged Go field: maps merge
//! recursively, lists are replaced.
//!
//! `retainKeys` strategies (`PodSpec.volumes`, `DeploymentSpec.strategy`, …) need no entry: on the
//! server side they only matter through the `$retainKeys` directive the client puts in the patch.

/// The patch strategy of one field, as its Go struct tag declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Strategy {
    /// No tag: maps merge, lists are replaced.
    Default,
    /// `patchStrategy:"merge"`: a list merges, element by element. Lists of maps name the key
    /// (`patchMergeKey`); lists of scalars merge as sets and have none.
    Merge { key: Option<&'static str> },
    /// `patchStrategy:"replace"`: a map is replaced as a whole.
    Replace,
}

/// One field of a struct type.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Field {
    /// The JSON field name.
    pub name: &'static str,
    /// The struct type of the value (for a list: of each element), when it is in the table.
    pub ty: Option<&'static str>,
    pub strategy: Strategy,
}

/// A struct type and those of its fields that matter for patching.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TypeDef {
    pub name: &'static str,
    pub fields: &'static [Field],
}

/// A set of struct types; the built-in one is [`BUILTIN`], tests bring their own.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Schema {
    pub types: &'static [TypeDef],
}

/// What a lookup of a field yields: its type (for recursion) and strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FieldMeta {
    pub ty: Option<&'static str>,
    pub strategy: Strategy,
}

impl FieldMeta {
    /// The merge key of a merging list of maps.
    pub fn merge_key(&self) -> Option<&'static str> {
        match self.strategy {
            Strategy::Merge { key } => key,
            _ => None,
        }
    }
}

impl Schema {
    /// The metadata of `field` in struct type `ty`; untyped when either is unknown.
    pub fn lookup(&self, ty: Option<&str>, field: &str) -> FieldMeta {
        let found = ty
            .and_then(|t| self.types.iter().find(|d| d.name == t))
            .and_then(|d| d.fields.iter().find(|f| f.name == field));
        match found {
            Some(f) => FieldMeta {
                ty: f.ty,
                strategy: f.strategy,
            },
            None => FieldMeta {
                ty: None,
                strategy: Strategy::Default,
            },
        }
    }
}

const fn typed(name: &'static str, ty: &'static str) -> Field {
    Field {
        name,
        ty: Some(ty),
        strategy: Strategy::Default,
    }
}

const fn merge_by(name: &'static str, ty: Option<&'static str>, key: &'static str) -> Field {
    Field {
        name,
        ty,
        strategy: Strategy::Merge { key: Some(key) },
    }
}

const fn merge_set(name: &'static str) -> Field {
    Field {
        name,
        ty: None,
        strategy: Strategy::Merge { key: None },
    }
}

const META: Field = typed("metadata", "ObjectMeta");

/// `conditions` merged by `type`, as on every built-in status that has them.
const CONDITIONS: Field = merge_by("conditions", None, "type");

/// The types of `k8s.io/api` (core/v1, apps/v1, batch/v1, …) that lead to a tagged field.
pub(crate) const BUILTIN: Schema = Schema {
    types: &[
        TypeDef {
            name: "ObjectMeta",
            fields: &[
                merge_set("finalizers"),
                merge_by("ownerReferences", None, "uid"),
            ],
        },
        TypeDef {
            name: "Object",
            fields: &[META],
        },
        TypeDef {
            name: "Pod",
            fields: &[META, typed("spec", "PodSpec"), typed("status", "PodStatus")],
        },
        TypeDef {
            name: "PodTemplate",
            fields: &[META, typed("template", "PodTemplateSpec")],
        },
        TypeDef {
            name: "PodTemplateSpec",
            fields: &[META, typed("spec", "PodSpec")],
        },
        TypeDef {
            name: "PodSpec",
            fields: &[
                merge_by("volumes", None, "name"),
                merge_by("initContainers", Some("Container"), "name"),
                merge_by("containers", Some("Container"), "name"),
                merge_by("ephemeralContainers", Some("Container"), "name"),
                merge_by("imagePullSecrets", None, "name"),
                merge_by("hostAliases", None, "ip"),
                merge_by("topologySpreadConstraints", None, "topologyKey"),
                merge_by("schedulingGates", None, "name"),
                merge_by("resourceClaims", None, "name"),
            ],
        },
        TypeDef {
            name: "Container",
            fields: &[
                merge_by("ports", None, "containerPort"),
                merge_by("env", None, "name"),
                merge_by("volumeMounts", None, "mountPath"),
                merge_by("volumeDevices", None, "devicePath"),
            ],
        },
        TypeDef {
            name: "PodStatus",
            fields: &[
                CONDITIONS,
                merge_by("podIPs", None, "ip"),
                merge_by("hostIPs", None, "ip"),
                merge_by("resourceClaimStatuses", None, "name"),
            ],
        },
        TypeDef {
            name: "Service",
            fields: &[
                META,
                typed("spec", "ServiceSpec"),
                typed("status", "ConditionsStatus"),
            ],
        },
        TypeDef {
            name: "ServiceSpec",
            fields: &[merge_by("ports", None, "port")],
        },
        TypeDef {
            name: "ConditionsStatus",
            fields: &[CONDITIONS],
        },
        TypeDef {
            name: "Workload",
            fields: &[
                META,
                typed("spec", "WorkloadSpec"),
                typed("status", "ConditionsStatus"),
            ],
        },
        TypeDef {
            name: "WorkloadSpec",
            fields: &[typed("template", "PodTemplateSpec")],
        },
        TypeDef {
            name: "CronJob",
            fields: &[META, typed("spec", "CronJobSpec")],
        },
        TypeDef {
            name: "CronJobSpec",
            fields: &[typed("jobTemplate", "JobTemplateSpec")],
        },
        TypeDef {
            name: "JobTemplateSpec",
            fields: &[META, typed("spec", "WorkloadSpec")],
        },
        TypeDef {
            name: "Node",
            fields: &[
                META,
                typed("spec", "NodeSpec"),
                typed("status", "NodeStatus"),
            ],
        },
        TypeDef {
            name: "NodeSpec",
            fields: &[merge_set("podCIDRs")],
        },
        TypeDef {
            name: "NodeStatus",
            fields: &[CONDITIONS, merge_by("addresses", None, "type")],
        },
        TypeDef {
            name: "WithConditions",
            fields: &[META, typed("status", "ConditionsStatus")],
        },
        TypeDef {
            name: "ServiceAccount",
            fields: &[META, merge_by("secrets", None, "name")],
        },
    ],
};

/// The root struct type of an object of `kind` in [`BUILTIN`].
pub(crate) fn root_type(kind: &str) -> &'static str {
    match kind {
        "Pod" => "Pod",
        "PodTemplate" => "PodTemplate",
        "Service" => "Service",
        // Their specs hold a pod template at `spec.template` and their statuses conditions by type.
        "Deployment"
        | "ReplicaSet"
        | "ReplicationController"
        | "DaemonSet"
        | "StatefulSet"
        | "Job" => "Workload",
        "CronJob" => "CronJob",
        "Node" => "Node",
        "Namespace" | "PersistentVolumeClaim" => "WithConditions",
        "ServiceAccount" => "ServiceAccount",
        _ => "Object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_containers_merge_by_name_through_the_template() {
        let s = BUILTIN;
        let spec = s.lookup(Some(root_type("Deployment")), "spec");
        let template = s.lookup(spec.ty, "template");
        let pod_spec = s.lookup(template.ty, "spec");
        let containers = s.lookup(pod_spec.ty, "containers");
        assert_eq!(containers.merge_key(), Some("name"));
        let ports = s.lookup(containers.ty, "ports");
        assert_eq!(ports.merge_key(), Some("containerPort"));
    }

    #[test]
    fn untagged_and_unknown_fields_have_the_default_strategy() {
        let s = BUILTIN;
        let spec = s.lookup(Some("Pod"), "spec");
        assert_eq!(s.lookup(spec.ty, "tolerations").strategy, Strategy::Default);
        assert_eq!(s.lookup(None, "anything").strategy, Strategy::Default);
        let finalizers = s.lookup(s.lookup(Some("Object"), "metadata").ty, "finalizers");
        assert_eq!(finalizers.strategy, Strategy::Merge { key: None });
    }
}
