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
/// `namespaces/finalize`.
const UPDATE: &[&str] = &["update"];
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
        Subresource::Finalize => ("", "", r.kind, UPDATE),
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
        main.insert(
            "storageVersionHash".into(),
            storage_version_hash(r.group, r.version, r.kind).into(),
        );
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

/// Upstream's `storageVersionHash`: base64 of the first 8 bytes of SHA-256 over
/// `group/version/kind` of the storage version (ours is the served version). Clients such as the
/// storage version migrator compare it across discovery runs; it only has to be stable and equal
/// to upstream's.
fn storage_version_hash(group: &str, version: &str, kind: &str) -> String {
    use base64::Engine as _;
    let digest = sha256(format!("{group}/{version}/{kind}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(&digest[..8])
}

/// SHA-256 (FIPS 180-4), enough for the short inputs of [`storage_version_hash`]; the workspace
/// has no hashing crate and this is its only use.
fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
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

    #[rstest]
    #[case("", "v1", "Pod", "xPOwRZ+Yhw8=")]
    #[case("apps", "v1", "Deployment", "8aSe+NMegvE=")]
    #[case("", "v1", "ConfigMap", "qFsyl6wFWjQ=")]
    #[case("", "v1", "Namespace", "Q3oi5N2YM8M=")]
    fn storage_version_hash_matches_upstream(
        #[case] group: &str,
        #[case] version: &str,
        #[case] kind: &str,
        #[case] want: &str,
    ) {
        assert_eq!(storage_version_hash(group, version, kind), want);
    }

    #[test]
    fn sha256_matches_the_standard_vectors() {
        let hex = |d: [u8; 32]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(sha256(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
        assert_eq!(
            hex(sha256(long)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
    }

    #[test]
    fn only_main_resources_carry_a_storage_version_hash() {
        let doc = core_resources();
        assert_eq!(find(&doc, "pods")["storageVersionHash"], "xPOwRZ+Yhw8=");
        assert!(
            find(&doc, "pods/status")
                .get("storageVersionHash")
                .is_none()
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
