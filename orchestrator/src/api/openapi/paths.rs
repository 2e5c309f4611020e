//! The `paths` of the OpenAPI documents: one operation per served verb, shaped like upstream's
//! (`operationId`, `x-kubernetes-action`, `x-kubernetes-group-version-kind`, query parameters),
//! rendered as OpenAPI v3 (`requestBody`, `content`) or Swagger 2.0 (`consumes`, body parameter).
//!
//! kubectl depends on two details: the PATCH operation of a kind must carry its GVK and list the
//! `fieldValidation` query parameter (else kubectl validates client-side against `/openapi/v2`),
//! and accept `application/strategic-merge-patch+json` (else `kubectl apply` falls back to other
//! patch computations).

use serde_json::{Map, Value, json};

use super::schemas::{BINDING, DELETE_OPTIONS, EVICTION, PATCH, SCALE, STATUS, V2_REF_PREFIX};
use crate::registry::{ResourceInfo, Subresource};

/// The patch content types we accept, in upstream's order.
const PATCH_TYPES: &[&str] = &[
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
];

/// One query or path parameter.
struct Param {
    name: &'static str,
    location: &'static str,
    ty: &'static str,
    description: &'static str,
    unique: bool,
}

const fn query(name: &'static str, ty: &'static str, description: &'static str) -> Param {
    Param {
        name,
        location: "query",
        ty,
        description,
        unique: true,
    }
}

const PRETTY: Param = query(
    "pretty",
    "string",
    "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget).",
);
const DRY_RUN: Param = query(
    "dryRun",
    "string",
    "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed",
);
const FIELD_MANAGER: Param = query(
    "fieldManager",
    "string",
    "fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.",
);
const FIELD_VALIDATION: Param = query(
    "fieldValidation",
    "string",
    "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. This is the default behavior prior to v1.23. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. The request will still succeed if there are no other errors, and will only persist the last of any duplicate fields. This is the default in v1.23+ - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered.",
);
const FORCE: Param = query(
    "force",
    "boolean",
    "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.",
);
const LIST_PARAMS: &[Param] = &[
    query(
        "allowWatchBookmarks",
        "boolean",
        "allowWatchBookmarks requests watch events with type \"BOOKMARK\". Servers that do not implement bookmarks may ignore this flag and bookmarks are sent at the server's discretion. Clients should not assume bookmarks are returned at any specific interval, nor may they assume the server will send any BOOKMARK event during a session. If this is not a watch, this field is ignored.",
    ),
    query(
        "continue",
        "string",
        "The continue option should be set when retrieving more results from the server. Since this value is server defined, clients may only use the continue value from a previous query result with identical query parameters (except for the value of continue) and the server may reject a continue value it does not recognize.",
    ),
    query(
        "fieldSelector",
        "string",
        "A selector to restrict the list of returned objects by their fields. Defaults to everything.",
    ),
    query(
        "labelSelector",
        "string",
        "A selector to restrict the list of returned objects by their labels. Defaults to everything.",
    ),
    query(
        "limit",
        "integer",
        "limit is a maximum number of responses to return for a list call. If more items exist, the server will set the `continue` field on the list metadata to a value that can be used with the same initial query to retrieve the next set of results.",
    ),
    query(
        "resourceVersion",
        "string",
        "resourceVersion sets a constraint on what resource versions a request may be served from. See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\nDefaults to unset",
    ),
    query(
        "resourceVersionMatch",
        "string",
        "resourceVersionMatch determines how resourceVersion is applied to list calls. It is highly recommended that resourceVersionMatch be set for list calls where resourceVersion is set See https://kubernetes.io/docs/reference/using-api/api-concepts/#resource-versions for details.\n\nDefaults to unset",
    ),
    query(
        "sendInitialEvents",
        "boolean",
        "`sendInitialEvents=true` may be set together with `watch=true`. In that case, the watch stream will begin with synthetic events to produce the current state of objects in the collection. Once all such events have been sent, a synthetic \"Bookmark\" event  will be sent.",
    ),
    query(
        "timeoutSeconds",
        "integer",
        "Timeout for the list/watch call. This limits the duration of the call, regardless of any activity or inactivity.",
    ),
    query(
        "watch",
        "boolean",
        "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications. Specify resourceVersion.",
    ),
];
const DELETE_PARAMS: &[Param] = &[
    DRY_RUN,
    query(
        "gracePeriodSeconds",
        "integer",
        "The duration in seconds before the object should be deleted. Value must be non-negative integer. The value zero indicates delete immediately. If this value is nil, the default grace period for the specified type will be used. Defaults to a per object value if not specified. zero means delete immediately.",
    ),
    query(
        "orphanDependents",
        "boolean",
        "Deprecated: please use the PropagationPolicy, this field will be deprecated in 1.7. Should the dependent objects be orphaned. If true/false, the \"orphan\" finalizer will be added to/removed from the object's finalizers list. Either this field or PropagationPolicy may be set, but not both.",
    ),
    query(
        "propagationPolicy",
        "string",
        "Whether and how garbage collection will be performed. Either this field or OrphanDependents may be set, but not both. The default policy is decided by the existing finalizer set in the metadata.finalizers and the resource-specific default policy. Acceptable values are: 'Orphan' - orphan the dependents; 'Background' - allow the garbage collector to delete the dependents in the background; 'Foreground' - a cascading policy that deletes all dependents in the foreground.",
    ),
];

/// One operation of a path.
struct Op {
    method: &'static str,
    action: &'static str,
    id: String,
    description: String,
    gvk: (&'static str, &'static str, &'static str),
    params: Vec<&'static Param>,
    /// Request body definition; PATCH bodies are [`PATCH`] with the patch content types.
    body: Option<String>,
    /// `(code, description, response definition)`.
    responses: Vec<(&'static str, &'static str, String)>,
}

/// One path with its path-level parameters and operations.
struct PathItem {
    path: String,
    name_of: Option<String>,
    namespaced: bool,
    ops: Vec<Op>,
}

/// `Core`, `Apps`, `Coordination` (upstream's operation id spelling of a group).
fn group_id(group: &str) -> String {
    let first = if group.is_empty() {
        "core"
    } else {
        group.split('.').next().unwrap_or(group)
    };
    let mut c = first.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// `core_v1`, `apps_v1`, `coordination_v1`: upstream's operation tag.
fn tag(group: &str, version: &str) -> String {
    format!("{}_{version}", group_id(group).to_lowercase())
}

/// Every path item of one resource (collection, item, all-namespaces list, subresources).
fn path_items(r: &'static ResourceInfo) -> Vec<PathItem> {
    let prefix = if r.group.is_empty() {
        format!("/api/{}", r.version)
    } else {
        format!("/apis/{}/{}", r.group, r.version)
    };
    let scoped = if r.namespaced {
        format!("{prefix}/namespaces/{{namespace}}/{}", r.plural)
    } else {
        format!("{prefix}/{}", r.plural)
    };
    let gv = format!(
        "{}{}",
        group_id(r.group),
        r.version
            .to_uppercase()
            .chars()
            .take(1)
            .chain(r.version.chars().skip(1))
            .collect::<String>()
    );
    let ns = if r.namespaced { "Namespaced" } else { "" };
    let kind = r.kind;
    let this = format!("{}.{}", def_prefix(r), kind);
    let list = format!("{this}List");
    let gvk = (r.group, r.version, r.kind);
    let op = |method,
              action,
              id: String,
              description: String,
              params: Vec<&'static Param>,
              body,
              responses| Op {
        method,
        action,
        id,
        description,
        gvk,
        params,
        body,
        responses,
    };
    let write = || vec![&DRY_RUN, &FIELD_MANAGER, &FIELD_VALIDATION];
    let patch = || vec![&DRY_RUN, &FIELD_MANAGER, &FIELD_VALIDATION, &FORCE];
    let ok = |def: &str| {
        vec![
            ("200", "OK", def.to_string()),
            ("401", "Unauthorized", String::new()),
        ]
    };
    let created = |def: &str| {
        vec![
            ("200", "OK", def.to_string()),
            ("201", "Created", def.to_string()),
            ("202", "Accepted", def.to_string()),
            ("401", "Unauthorized", String::new()),
        ]
    };

    let mut collection_ops = vec![
        op(
            "get",
            "list",
            format!("list{gv}{ns}{kind}"),
            format!("list or watch objects of kind {kind}"),
            LIST_PARAMS.iter().collect(),
            None,
            ok(&list),
        ),
        op(
            "post",
            "post",
            format!("create{gv}{ns}{kind}"),
            format!("create a {kind}"),
            write(),
            Some(this.clone()),
            created(&this),
        ),
    ];
    if !(r.group.is_empty() && r.plural == "namespaces") {
        let mut params: Vec<&'static Param> = LIST_PARAMS.iter().collect();
        params.extend(DELETE_PARAMS.iter());
        collection_ops.push(op(
            "delete",
            "deletecollection",
            format!("delete{gv}Collection{ns}{kind}"),
            format!("delete collection of {kind}"),
            params,
            Some(DELETE_OPTIONS.to_string()),
            ok(STATUS),
        ));
    }
    let mut items = vec![
        PathItem {
            path: scoped.clone(),
            name_of: None,
            namespaced: r.namespaced,
            ops: collection_ops,
        },
        PathItem {
            path: format!("{scoped}/{{name}}"),
            name_of: Some(kind.to_string()),
            namespaced: r.namespaced,
            ops: vec![
                op(
                    "get",
                    "get",
                    format!("read{gv}{ns}{kind}"),
                    format!("read the specified {kind}"),
                    vec![],
                    None,
                    ok(&this),
                ),
                op(
                    "put",
                    "put",
                    format!("replace{gv}{ns}{kind}"),
                    format!("replace the specified {kind}"),
                    write(),
                    Some(this.clone()),
                    created(&this)[..2]
                        .iter()
                        .cloned()
                        .chain([("401", "Unauthorized", String::new())])
                        .collect(),
                ),
                op(
                    "delete",
                    "delete",
                    format!("delete{gv}{ns}{kind}"),
                    format!("delete a {kind}"),
                    DELETE_PARAMS.iter().collect(),
                    Some(DELETE_OPTIONS.to_string()),
                    vec![
                        ("200", "OK", this.clone()),
                        ("202", "Accepted", this.clone()),
                        ("401", "Unauthorized", String::new()),
                    ],
                ),
                op(
                    "patch",
                    "patch",
                    format!("patch{gv}{ns}{kind}"),
                    format!("partially update the specified {kind}"),
                    patch(),
                    Some(PATCH.to_string()),
                    created(&this)[..2]
                        .iter()
                        .cloned()
                        .chain([("401", "Unauthorized", String::new())])
                        .collect(),
                ),
            ],
        },
    ];
    if r.namespaced {
        items.push(PathItem {
            path: format!("{prefix}/{}", r.plural),
            name_of: None,
            namespaced: false,
            ops: vec![op(
                "get",
                "list",
                format!("list{gv}{kind}ForAllNamespaces"),
                format!("list or watch objects of kind {kind}"),
                LIST_PARAMS.iter().collect(),
                None,
                ok(&list),
            )],
        });
    }
    for sub in r.subresources {
        let path = format!("{scoped}/{{name}}/{}", sub.as_str());
        let name_of = Some(kind.to_string());
        let sub_name = sub.as_str();
        let sub_title: String = sub_name[..1].to_uppercase() + &sub_name[1..];
        let rw = |target: String, gvk: (&'static str, &'static str, &'static str), def: String| {
            let with = |o: Op| Op { gvk, ..o };
            vec![
                with(op(
                    "get",
                    "get",
                    format!("read{gv}{ns}{kind}{sub_title}"),
                    format!("read {sub_name} of the specified {kind}"),
                    vec![],
                    None,
                    ok(&def),
                )),
                with(op(
                    "put",
                    "put",
                    format!("replace{gv}{ns}{kind}{sub_title}"),
                    format!("replace {sub_name} of the specified {kind}"),
                    write(),
                    Some(target),
                    vec![
                        ("200", "OK", def.clone()),
                        ("201", "Created", def.clone()),
                        ("401", "Unauthorized", String::new()),
                    ],
                )),
                with(op(
                    "patch",
                    "patch",
                    format!("patch{gv}{ns}{kind}{sub_title}"),
                    format!("partially update {sub_name} of the specified {kind}"),
                    patch(),
                    Some(PATCH.to_string()),
                    vec![
                        ("200", "OK", def.clone()),
                        ("201", "Created", def),
                        ("401", "Unauthorized", String::new()),
                    ],
                )),
            ]
        };
        let create = |target: &'static str, gvk: (&'static str, &'static str, &'static str)| {
            let mut o = op(
                "post",
                "post",
                format!("create{gv}{ns}{kind}{sub_title}"),
                format!("create {sub_name} of a {kind}"),
                write(),
                Some(target.to_string()),
                created(target),
            );
            o.gvk = gvk;
            vec![o]
        };
        let ops = match sub {
            Subresource::Status => rw(this.clone(), gvk, this.clone()),
            Subresource::Scale => rw(
                SCALE.to_string(),
                ("autoscaling", "v1", "Scale"),
                SCALE.to_string(),
            ),
            Subresource::Binding => create(BINDING, ("", "v1", "Binding")),
            Subresource::Eviction => create(EVICTION, ("policy", "v1", "Eviction")),
            // `namespaces/{name}/finalize` is PUT only.
            Subresource::Finalize => rw(this.clone(), gvk, this.clone())
                .into_iter()
                .filter(|o| o.method == "put")
                .collect(),
        };
        items.push(PathItem {
            path,
            name_of,
            namespaced: r.namespaced,
            ops,
        });
    }
    items
}

/// `io.k8s.api.core.v1`, `io.k8s.api.apps.v1`: the definition name prefix of a resource's kind.
fn def_prefix(r: &ResourceInfo) -> String {
    let group = if r.group.is_empty() {
        "core"
    } else {
        r.group.split('.').next().unwrap_or(r.group)
    };
    format!("io.k8s.api.{group}.{}", r.version)
}

/// The path-level parameters: `name`, `namespace`, `pretty`.
fn path_params(item: &PathItem, v3: bool) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(kind) = &item.name_of {
        out.push(path_param("name", &format!("name of the {kind}"), v3));
    }
    if item.namespaced {
        out.push(path_param(
            "namespace",
            "object name and auth scope, such as for teams and projects",
            v3,
        ));
    }
    out.push(render_param(&PRETTY, v3));
    out
}

fn path_param(name: &str, description: &str, v3: bool) -> Value {
    if v3 {
        json!({"name": name, "in": "path", "description": description, "required": true, "schema": {"type": "string", "uniqueItems": true}})
    } else {
        json!({"uniqueItems": true, "type": "string", "description": description, "name": name, "in": "path", "required": true})
    }
}

fn render_param(p: &Param, v3: bool) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), p.name.into());
    out.insert("in".into(), p.location.into());
    out.insert("description".into(), p.description.into());
    if v3 {
        let mut schema = Map::new();
        schema.insert("type".into(), p.ty.into());
        if p.unique {
            schema.insert("uniqueItems".into(), true.into());
        }
        out.insert("schema".into(), Value::Object(schema));
    } else {
        out.insert("type".into(), p.ty.into());
        if p.unique {
            out.insert("uniqueItems".into(), true.into());
        }
    }
    Value::Object(out)
}

fn reference(def: &str) -> Value {
    json!({"$ref": format!("{V2_REF_PREFIX}{def}")})
}

/// Response media types of an operation: lists also stream watches.
fn produces(op: &Op) -> Vec<&'static str> {
    if op.action == "list" {
        vec!["application/json", "application/json;stream=watch"]
    } else {
        vec!["application/json"]
    }
}

fn render_op(op: &Op, tag_: &str, v3: bool) -> Value {
    let mut out = Map::new();
    out.insert("tags".into(), json!([tag_]));
    out.insert("description".into(), op.description.clone().into());
    out.insert("operationId".into(), op.id.clone().into());
    let mut params: Vec<Value> = op.params.iter().map(|p| render_param(p, v3)).collect();
    let consumes: Vec<&str> = if op.method == "patch" {
        PATCH_TYPES.to_vec()
    } else {
        vec!["*/*"]
    };
    if let Some(body) = &op.body {
        if v3 {
            let content: Map<String, Value> = consumes
                .iter()
                .map(|c| ((*c).to_string(), json!({"schema": reference(body)})))
                .collect();
            out.insert(
                "requestBody".into(),
                json!({"content": content, "required": op.method != "delete"}),
            );
        } else {
            params.insert(0, json!({"name": "body", "in": "body", "required": op.method != "delete", "schema": reference(body)}));
        }
    }
    if !params.is_empty() {
        out.insert("parameters".into(), params.into());
    }
    let produces = produces(op);
    let responses: Map<String, Value> = op
        .responses
        .iter()
        .map(|(code, description, def)| {
            let mut resp = Map::new();
            resp.insert("description".into(), (*description).into());
            if !def.is_empty() {
                if v3 {
                    let content: Map<String, Value> = produces
                        .iter()
                        .map(|c| ((*c).to_string(), json!({"schema": reference(def)})))
                        .collect();
                    resp.insert("content".into(), content.into());
                } else {
                    resp.insert("schema".into(), reference(def));
                }
            }
            ((*code).to_string(), Value::Object(resp))
        })
        .collect();
    out.insert("responses".into(), responses.into());
    if !v3 {
        out.insert("consumes".into(), json!(consumes));
        out.insert("produces".into(), json!(produces));
        out.insert("schemes".into(), json!(["https"]));
    }
    out.insert("x-kubernetes-action".into(), op.action.into());
    let (g, v, k) = op.gvk;
    out.insert(
        "x-kubernetes-group-version-kind".into(),
        json!({"group": g, "kind": k, "version": v}),
    );
    Value::Object(out)
}

fn render(resources: &[&'static ResourceInfo], v3: bool) -> Value {
    let mut paths = Map::new();
    for r in resources {
        let tag_ = tag(r.group, r.version);
        for item in path_items(r) {
            let mut out = Map::new();
            for op in &item.ops {
                out.insert(op.method.into(), render_op(op, &tag_, v3));
            }
            out.insert("parameters".into(), path_params(&item, v3).into());
            paths.insert(item.path, Value::Object(out));
        }
    }
    let mut sorted: Vec<(String, Value)> = paths.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    Value::Object(sorted.into_iter().collect())
}

/// The v3 `paths` of `resources` (with v2-style `$ref`s; the caller rewrites them).
pub(super) fn v3_paths(resources: &[&'static ResourceInfo]) -> Value {
    render(resources, true)
}

/// The Swagger 2.0 `paths` of `resources`.
pub(super) fn v2_paths(resources: &[&'static ResourceInfo]) -> Value {
    render(resources, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::RESOURCES;

    #[test]
    fn operation_ids_follow_upstream() {
        let pods = RESOURCES.iter().find(|r| r.plural == "pods").unwrap();
        let ids: Vec<String> = path_items(pods)
            .iter()
            .flat_map(|i| i.ops.iter().map(|o| o.id.clone()))
            .collect();
        for want in [
            "listCoreV1NamespacedPod",
            "createCoreV1NamespacedPod",
            "deleteCoreV1CollectionNamespacedPod",
            "readCoreV1NamespacedPod",
            "patchCoreV1NamespacedPodStatus",
            "createCoreV1NamespacedPodEviction",
            "listCoreV1PodForAllNamespaces",
        ] {
            assert!(ids.contains(&want.to_string()), "{want} not in {ids:?}");
        }
        let lease = RESOURCES.iter().find(|r| r.plural == "leases").unwrap();
        assert!(path_items(lease).iter().any(|i| {
            i.ops
                .iter()
                .any(|o| o.id == "readCoordinationV1NamespacedLease")
        }));
        assert_eq!(tag("coordination.k8s.io", "v1"), "coordination_v1");
    }

    #[test]
    fn namespaces_have_no_deletecollection_and_cluster_scoped_paths_have_no_namespace() {
        let v3 = v3_paths(&RESOURCES.iter().collect::<Vec<_>>());
        assert!(v3["/api/v1/namespaces"].get("delete").is_none());
        assert!(v3["/api/v1/nodes"]["delete"].is_object());
        let params = v3["/api/v1/nodes/{name}"]["parameters"].as_array().unwrap();
        assert!(params.iter().all(|p| p["name"] != "namespace"));
    }
}
