//! Discovery documents: `/api`, `/api/v1`, `/apis`, `/apis/<group>/<version>`, aggregated
//! discovery (`apidiscovery.k8s.io/v2`) and `/version`, all generated from
//! [`RESOURCES`](crate::registry::RESOURCES) so that discovery can never disagree with
//! what the router serves.
//!
//! The shapes follow kube-apiserver's where clients can tell: `/api` has no `apiVersion`
//! (upstream's `APIVersions` handler writes only `kind`), `/api/v1` has no `apiVersion` either,
//! while `/apis/<group>/<version>` has `apiVersion: v1`; resources are sorted by name with
//! subresources following their parent, as upstream's installer does.

use serde_json::{Map, Value, json};

use crate::registry::{RESOURCES, ResourceInfo, Subresource};

/// The Kubernetes version we report: the k8s-openapi feature the workspace compiles against.
pub const KUBE_MAJOR: &str = "1";
/// Minor version matching the `v1_37` k8s-openapi feature.
pub const KUBE_MINOR: &str = "37";
/// The oldest minor a 1.37 apiserver stays compatible with (upstream: one minor back).
pub const KUBE_MIN_COMPATIBILITY_MINOR: &str = "36";
/// `gitVersion` in `/version`; the suffix tells a human this is not a real kube-apiserver.
pub const GIT_VERSION: &str = "v1.37.0-kubeproof";

/// Content type of aggregated discovery v2 responses. Clients (kubectl ≥ 1.26, client-go) ask for
/// it in `Accept` and decide by the response's `Content-Type` whether they got it.
pub const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Every verb of a full REST resource, in upstream's (alphabetical) order.
const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
/// Namespaces cannot be deleted as a collection (upstream's namespace storage has no
/// `DeleteCollection`).
const NAMESPACE_VERBS: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];
/// `status` and `scale` subresources.
const GET_PATCH_UPDATE: &[&str] = &["get", "patch", "update"];
/// `binding` and `eviction` subresources.
const CREATE: &[&str] = &["create"];

/// Whether an `Accept` header asks for aggregated discovery v2. Upstream serves it only when the
/// client lists `g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList` (v2beta1 was removed in
/// 1.33, so we offer only v2), otherwise the legacy documents.
pub fn wants_aggregated(accept: &str) -> bool {
    accept.split(',').any(|media| {
        let params: Vec<&str> = media.split(';').map(str::trim).collect();
        params
            .first()
            .is_some_and(|t| *t == "application/json" || *t == "*/*")
            && params.contains(&"g=apidiscovery.k8s.io")
            && params.contains(&"v=v2")
            && params.contains(&"as=APIGroupDiscoveryList")
    })
}

/// `/api`: the legacy core group's versions.
pub fn api_versions(server_addr: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_addr}],
    })
}

/// `/api/v1`: the core group's resources. Upstream omits `apiVersion` here.
pub fn core_resources() -> Value {
    json!({
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": api_resources("", "v1"),
    })
}

/// `/apis`: every named group with its (single, preferred) version.
pub fn api_groups() -> Value {
    let groups: Vec<Value> = named_group_versions()
        .into_iter()
        .map(|(group, version)| {
            let gv = json!({"groupVersion": format!("{group}/{version}"), "version": version});
            json!({"name": group, "versions": [gv.clone()], "preferredVersion": gv})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/<group>`: one named group (APIGroup), or `None` for an unknown group.
pub fn api_group(group: &str) -> Option<Value> {
    let (_, version) = named_group_versions()
        .into_iter()
        .find(|(g, _)| *g == group)?;
    let gv = json!({"groupVersion": format!("{group}/{version}"), "version": version});
    Some(
        json!({"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": [gv.clone()], "preferredVersion": gv}),
    )
}

/// `/apis/<group>/<version>`: that group version's resources, or `None` if we do not serve it.
pub fn group_resources(group: &str, version: &str) -> Option<Value> {
    if group.is_empty()
        || !RESOURCES
            .iter()
            .any(|r| r.group == group && r.version == version)
    {
        return None;
    }
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": format!("{group}/{version}"),
        "resources": api_resources(group, version),
    }))
}

/// Aggregated discovery (`APIGroupDiscoveryList`, `apidiscovery.k8s.io/v2`): for `/api` when
/// `core`, else for `/apis`. Serve it with [`AGGREGATED_CONTENT_TYPE`].
pub fn aggregated(core: bool) -> Value {
    let group_versions: Vec<(&str, &str)> = if core {
        vec![("", "v1")]
    } else {
        named_group_versions()
    };
    let items: Vec<Value> = group_versions
        .into_iter()
        .map(|(group, version)| {
            let mut metadata = Map::new();
            if !group.is_empty() {
                metadata.insert("name".into(), group.into());
            }
            metadata.insert("creationTimestamp".into(), Value::Null);
            json!({
                "metadata": metadata,
                "versions": [{
                    "version": version,
                    "resources": sorted(group, version).into_iter().map(aggregated_resource).collect::<Vec<_>>(),
                    "freshness": "Current",
                }],
            })
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
}

/// `/version`: the version.Info upstream serves.
pub fn version() -> Value {
    json!({
        "major": KUBE_MAJOR,
        "minor": KUBE_MINOR,
        "emulationMajor": KUBE_MAJOR,
        "emulationMinor": KUBE_MINOR,
        "minCompatibilityMajor": KUBE_MAJOR,
        "minCompatibilityMinor": KUBE_MIN_COMPATIBILITY_MINOR,
        "gitVersion": GIT_VERSION,
        "gitCommit": "",
        "gitTreeState": "",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": "",
        "compiler": "rustc",
        "platform": platform(),
    })
}

/// `GOOS/GOARCH` spelling of the platform, as clients print it.
fn platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{}/{}", std::env::consts::OS, arch)
}

/// Upstream's `GroupPriorityMinimum` of the built-in groups (kube-aggregator's
/// `apiVersionPriorities`): `/apis` lists groups by descending priority, then by name, and
/// kubectl's RESTMapper prefers the earlier group when a short name is ambiguous.
const GROUP_PRIORITY: &[(&str, u32)] = &[
    ("apiregistration.k8s.io", 17800),
    ("apps", 17800),
    ("events.k8s.io", 17750),
    ("authentication.k8s.io", 17700),
    ("authorization.k8s.io", 17600),
    ("autoscaling", 17500),
    ("batch", 17400),
    ("certificates.k8s.io", 17300),
    ("networking.k8s.io", 17200),
    ("policy", 17100),
    ("rbac.authorization.k8s.io", 17000),
    ("storage.k8s.io", 16800),
    ("apiextensions.k8s.io", 16700),
    ("admissionregistration.k8s.io", 16700),
    ("scheduling.k8s.io", 16600),
    ("coordination.k8s.io", 16500),
    ("node.k8s.io", 16300),
    ("discovery.k8s.io", 16200),
    ("flowcontrol.apiserver.k8s.io", 16100),
    ("internal.apiserver.k8s.io", 16000),
    ("resource.k8s.io", 15900),
];

/// Named groups with their version, in upstream's `/apis` order.
fn named_group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for r in RESOURCES.iter().filter(|r| !r.group.is_empty()) {
        if !out.contains(&(r.group, r.version)) {
            out.push((r.group, r.version));
        }
    }
    let priority = |g: &str| {
        GROUP_PRIORITY
            .iter()
            .find(|(name, _)| *name == g)
            .map_or(0, |(_, p)| *p)
    };
    out.sort_by(|a, b| priority(b.0).cmp(&priority(a.0)).then(a.0.cmp(b.0)));
    out
}

/// The resources of one group version, sorted by plural.
fn sorted(group: &str, version: &str) -> Vec<&'static ResourceInfo> {
    let mut list: Vec<&'static ResourceInfo> = RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .collect();
    list.sort_by_key(|r| r.plural);
    list
}

/// The main resource's verbs.
fn verbs(r: &ResourceInfo) -> &'static [&'static str] {
    if r.group.is_empty() && r.plural == "namespaces" {
        NAMESPACE_VERBS
    } else {
        ALL_VERBS
    }
}

/// What a subresource answers with: `(group, version, kind, verbs)`, where empty group and
/// version mean "the parent's".
fn subresource_shape(
    r: &ResourceInfo,
    sub: Subresource,
) -> (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
) {
    match sub {
        Subresource::Status => ("", "", r.kind, GET_PATCH_UPDATE),
        Subresource::Scale => ("autoscaling", "v1", "Scale", GET_PATCH_UPDATE),
        Subresource::Binding => ("", "", "Binding", CREATE),
        Subresource::Eviction => ("policy", "v1", "Eviction", CREATE),
    }
}

/// The APIResource entries of one group version: each resource followed by its subresources,
/// all sorted by name as upstream's discovery is.
fn api_resources(group: &str, version: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for r in sorted(group, version) {
        let mut main = Map::new();
        main.insert("name".into(), r.plural.into());
        main.insert("singularName".into(), r.singular.into());
        main.insert("namespaced".into(), r.namespaced.into());
        main.insert("kind".into(), r.kind.into());
        main.insert("verbs".into(), json!(verbs(r)));
        if !r.short_names.is_empty() {
            main.insert("shortNames".into(), json!(r.short_names));
        }
        if !r.categories.is_empty() {
            main.insert("categories".into(), json!(r.categories));
        }
        out.push(Value::Object(main));

        let mut subs: Vec<Subresource> = r.subresources.to_vec();
        subs.sort_by_key(|s| s.as_str());
        for sub in subs {
            let (g, v, kind, verbs) = subresource_shape(r, sub);
            let mut entry = Map::new();
            entry.insert(
                "name".into(),
                format!("{}/{}", r.plural, sub.as_str()).into(),
            );
            entry.insert("singularName".into(), "".into());
            entry.insert("namespaced".into(), r.namespaced.into());
            if !g.is_empty() {
                entry.insert("group".into(), g.into());
                entry.insert("version".into(), v.into());
            }
            entry.insert("kind".into(), kind.into());
            entry.insert("verbs".into(), json!(verbs));
            out.push(Value::Object(entry));
        }
    }
    out
}

/// One APIResourceDiscovery of aggregated discovery.
fn aggregated_resource(r: &ResourceInfo) -> Value {
    let mut entry = Map::new();
    entry.insert("resource".into(), r.plural.into());
    entry.insert(
        "responseKind".into(),
        json!({"group": "", "version": "", "kind": r.kind}),
    );
    entry.insert(
        "scope".into(),
        if r.namespaced {
            "Namespaced"
        } else {
            "Cluster"
        }
        .into(),
    );
    entry.insert("singularResource".into(), r.singular.into());
    entry.insert("verbs".into(), json!(verbs(r)));
    if !r.short_names.is_empty() {
        entry.insert("shortNames".into(), json!(r.short_names));
    }
    if !r.categories.is_empty() {
        entry.insert("categories".into(), json!(r.categories));
    }
    let mut subs: Vec<Subresource> = r.subresources.to_vec();
    subs.sort_by_key(|s| s.as_str());
    if !subs.is_empty() {
        let subs: Vec<Value> = subs
            .into_iter()
            .map(|sub| {
                let (g, v, kind, verbs) = subresource_shape(r, sub);
                json!({
                    "subresource": sub.as_str(),
                    "responseKind": {"group": g, "version": v, "kind": kind},
                    "verbs": verbs,
                })
            })
            .collect();
        entry.insert("subresources".into(), subs.into());
    }
    Value::Object(entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn find<'a>(list: &'a Value, name: &str) -> &'a Value {
        list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    }

    #[test]
    fn core_list_has_no_api_version_and_lists_pods_with_subresources() {
        let doc = core_resources();
        assert_eq!(doc["kind"], "APIResourceList");
        assert_eq!(doc["groupVersion"], "v1");
        assert!(doc.get("apiVersion").is_none());
        let pods = find(&doc, "pods");
        assert_eq!(pods["singularName"], "pod");
        assert_eq!(pods["namespaced"], true);
        assert_eq!(pods["shortNames"], json!(["po"]));
        assert_eq!(pods["categories"], json!(["all"]));
        assert_eq!(pods["verbs"], json!(ALL_VERBS));
        assert_eq!(
            find(&doc, "pods/status")["verbs"],
            json!(["get", "patch", "update"])
        );
        assert_eq!(find(&doc, "pods/status")["kind"], "Pod");
        assert_eq!(find(&doc, "pods/binding")["verbs"], json!(["create"]));
        let eviction = find(&doc, "pods/eviction");
        assert_eq!(
            (&eviction["group"], &eviction["version"], &eviction["kind"]),
            (&json!("policy"), &json!("v1"), &json!("Eviction"))
        );
        assert_eq!(find(&doc, "namespaces")["verbs"], json!(NAMESPACE_VERBS));
        assert!(find(&doc, "configmaps").get("categories").is_none());
    }

    #[test]
    fn resources_are_sorted_by_name() {
        for doc in [core_resources(), group_resources("apps", "v1").unwrap()] {
            let names: Vec<String> = doc["resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["name"].as_str().unwrap().to_string())
                .collect();
            let mut want = names.clone();
            want.sort();
            assert_eq!(names, want);
        }
    }

    #[rstest]
    #[case("apps", "v1", "deployments/scale")]
    #[case("apps", "v1", "replicasets/scale")]
    #[case("", "v1", "replicationcontrollers/scale")]
    fn scale_is_autoscaling_v1(#[case] group: &str, #[case] version: &str, #[case] name: &str) {
        let doc = if group.is_empty() {
            core_resources()
        } else {
            group_resources(group, version).unwrap()
        };
        let scale = find(&doc, name);
        assert_eq!(scale["group"], "autoscaling");
        assert_eq!(scale["version"], "v1");
        assert_eq!(scale["kind"], "Scale");
        assert_eq!(scale["verbs"], json!(["get", "patch", "update"]));
    }

    #[rstest]
    #[case("apps", "v1", true)]
    #[case("batch", "v1", true)]
    #[case("coordination.k8s.io", "v1", true)]
    #[case("apps", "v2", false)]
    #[case("nope", "v1", false)]
    #[case("", "v1", false)]
    fn group_resources_only_for_served_group_versions(
        #[case] group: &str,
        #[case] version: &str,
        #[case] served: bool,
    ) {
        let doc = group_resources(group, version);
        assert_eq!(doc.is_some(), served);
        if let Some(doc) = doc {
            assert_eq!(doc["apiVersion"], "v1");
            assert_eq!(doc["groupVersion"], format!("{group}/{version}"));
        }
    }

    #[test]
    fn every_served_resource_is_discoverable() {
        let groups = api_groups();
        for r in RESOURCES {
            let doc = if r.group.is_empty() {
                core_resources()
            } else {
                group_resources(r.group, r.version).unwrap()
            };
            let entry = find(&doc, r.plural);
            assert_eq!(entry["kind"], r.kind);
            for sub in r.subresources {
                find(&doc, &format!("{}/{}", r.plural, sub.as_str()));
            }
            if !r.group.is_empty() {
                let group = groups["groups"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|g| g["name"] == r.group)
                    .unwrap();
                assert_eq!(group["preferredVersion"]["groupVersion"], r.api_version());
                assert!(api_group(r.group).is_some());
            }
        }
        assert!(
            groups["groups"]
                .as_array()
                .unwrap()
                .iter()
                .all(|g| g["name"] != "")
        );
    }

    #[test]
    fn groups_are_listed_by_upstream_priority() {
        let names: Vec<String> = api_groups()["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "apps",
                "batch",
                "storage.k8s.io",
                "scheduling.k8s.io",
                "coordination.k8s.io",
                "discovery.k8s.io"
            ]
        );
    }

    #[test]
    fn api_versions_carries_the_server_address() {
        let doc = api_versions("127.0.0.1:6443");
        assert_eq!(
            doc,
            json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]})
        );
    }

    #[test]
    fn aggregated_core_is_one_unnamed_group_with_subresources() {
        let doc = aggregated(true);
        assert_eq!(doc["apiVersion"], "apidiscovery.k8s.io/v2");
        let items = doc["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert!(items[0]["metadata"].get("name").is_none());
        let resources = items[0]["versions"][0]["resources"].as_array().unwrap();
        let pods = resources.iter().find(|r| r["resource"] == "pods").unwrap();
        assert_eq!(pods["scope"], "Namespaced");
        let subs: Vec<&str> = pods["subresources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["subresource"].as_str().unwrap())
            .collect();
        assert_eq!(subs, ["binding", "eviction", "status"]);
        let nodes = resources.iter().find(|r| r["resource"] == "nodes").unwrap();
        assert_eq!(nodes["scope"], "Cluster");
    }

    #[test]
    fn aggregated_groups_match_the_legacy_group_list() {
        let names: Vec<Value> = aggregated(false)["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].clone())
            .collect();
        let legacy: Vec<Value> = api_groups()["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].clone())
            .collect();
        assert_eq!(names, legacy);
        let apps = &aggregated(false)["items"][0];
        assert_eq!(apps["metadata"]["name"], "apps");
        let deploy = apps["versions"][0]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "deployments")
            .unwrap();
        let scale = deploy["subresources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["subresource"] == "scale")
            .unwrap();
        assert_eq!(
            scale["responseKind"],
            json!({"group": "autoscaling", "version": "v1", "kind": "Scale"})
        );
    }

    #[rstest]
    #[case(
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json",
        true
    )]
    #[case(
        "application/json; g=apidiscovery.k8s.io; v=v2; as=APIGroupDiscoveryList",
        true
    )]
    #[case(
        "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json",
        false
    )]
    #[case("application/json", false)]
    #[case("", false)]
    fn aggregated_is_negotiated_by_accept(#[case] accept: &str, #[case] want: bool) {
        assert_eq!(wants_aggregated(accept), want);
    }

    #[test]
    fn version_reports_the_compiled_kubernetes_version() {
        let v = version();
        assert_eq!(v["major"], "1");
        assert_eq!(v["minor"], "37");
        assert_eq!(v["gitVersion"], "v1.37.0-kubeproof");
        assert!(v["platform"].as_str().unwrap().contains('/'));
    }
}
