//! Turning an HTTP request into what it asks for: upstream's `RequestInfo` (verb, resource,
//! namespace, name, subresource) and the query parameters of list, watch, write and delete.

use std::time::Duration;

use http::Method;

use crate::error::ApiError;
use crate::registry::{self, FieldValidation, ResourceInfo, Subresource};
use crate::store::{FieldSelector, Filter, LabelSelector, ReadAt};

/// The verb of a resource request, as upstream's RequestInfo names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verb {
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
    DeleteCollection,
}

impl Verb {
    /// The upper-case verb the metrics use (`GET`, `LIST`, `WATCH`, `POST`, …).
    pub(crate) fn metric_name(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::List => "LIST",
            Verb::Watch => "WATCH",
            Verb::Create => "POST",
            Verb::Update => "PUT",
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
            Verb::DeleteCollection => "DELETECOLLECTION",
        }
    }
}

/// A request for a served resource.
#[derive(Clone, Debug)]
pub(crate) struct ResourceRequest {
    pub verb: Verb,
    pub info: &'static ResourceInfo,
    /// Empty for cluster-scoped resources and for cross-namespace lists.
    pub namespace: String,
    pub name: Option<String>,
    pub subresource: Option<Subresource>,
}

/// What a path addresses before the method is taken into account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PathParts<'a> {
    pub group: &'a str,
    pub version: &'a str,
    pub namespace: Option<&'a str>,
    pub resource: &'a str,
    pub name: Option<&'a str>,
    pub subresource: Option<&'a str>,
}

/// Split `/api/v1/namespaces/ns/pods/name/status` (or `/apis/apps/v1/…`) into its parts, as
/// upstream's `RequestInfoFactory`. `None` when the path is not a resource path.
pub(crate) fn parse_path(path: &str) -> Option<PathParts<'_>> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match *segs.first()? {
        "api" if segs.len() >= 3 => ("", segs[1], &segs[2..]),
        "apis" if segs.len() >= 4 => (segs[1], segs[2], &segs[3..]),
        _ => return None,
    };
    if rest.iter().any(|s| s.is_empty()) {
        return None;
    }
    let (namespace, rest) = if rest[0] == "namespaces"
        && rest.len() >= 3
        && !(rest.len() == 3 && matches!(rest[2], "status" | "finalize"))
    {
        (Some(rest[1]), &rest[2..])
    } else {
        (None, rest)
    };
    if rest.len() > 3 {
        return None;
    }
    Some(PathParts {
        group,
        version,
        namespace,
        resource: rest[0],
        name: rest.get(1).copied(),
        subresource: rest.get(2).copied(),
    })
}

/// Resolve a path and method into a [`ResourceRequest`], or the error upstream gives.
pub(crate) fn resolve(
    method: &Method,
    parts: &PathParts<'_>,
    watch: bool,
) -> Result<ResourceRequest, ApiError> {
    let not_found = || {
        ApiError::new(
            404,
            crate::error::Reason::NotFound,
            "the server could not find the requested resource",
        )
    };
    let info = registry::find(parts.group, parts.version, parts.resource).ok_or_else(not_found)?;
    if parts.namespace.is_some() && !info.namespaced {
        return Err(not_found());
    }
    let subresource = match parts.subresource {
        None => None,
        Some(s) => Some(
            info.subresources
                .iter()
                .copied()
                .find(|sub| sub.as_str() == s)
                .ok_or_else(not_found)?,
        ),
    };
    let has_name = parts.name.is_some();
    let verb = match (method.as_str(), has_name) {
        ("GET", true) => Verb::Get,
        ("GET", false) if watch => Verb::Watch,
        ("GET", false) => Verb::List,
        ("POST", _) => Verb::Create,
        ("PUT", true) => Verb::Update,
        ("PATCH", true) => Verb::Patch,
        ("DELETE", true) => Verb::Delete,
        ("DELETE", false) => Verb::DeleteCollection,
        (m, _) => {
            return Err(ApiError::method_not_allowed(m, &info.list_kind()));
        }
    };
    if verb == Verb::Create
        && has_name
        && !matches!(
            subresource,
            Some(Subresource::Binding | Subresource::Eviction)
        )
    {
        return Err(ApiError::method_not_allowed("POST", info.kind));
    }
    let allowed = match subresource {
        Some(Subresource::Binding | Subresource::Eviction) => verb == Verb::Create,
        Some(Subresource::Finalize) => verb == Verb::Update,
        _ => true,
    };
    if !allowed {
        return Err(ApiError::method_not_allowed(method.as_str(), info.kind));
    }
    Ok(ResourceRequest {
        verb,
        info,
        namespace: parts.namespace.unwrap_or("").to_string(),
        name: parts.name.map(str::to_string),
        subresource,
    })
}

/// The query parameters we understand. Unknown ones are ignored, as upstream.
#[derive(Clone, Debug, Default)]
pub(crate) struct Query {
    pub watch: bool,
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub resource_version: Option<String>,
    pub resource_version_match: Option<String>,
    pub limit: Option<String>,
    pub continue_token: Option<String>,
    pub timeout_seconds: Option<String>,
    pub allow_watch_bookmarks: bool,
    pub send_initial_events: bool,
    pub field_validation: Option<String>,
    pub dry_run: bool,
    pub grace_period_seconds: Option<String>,
    pub propagation_policy: Option<String>,
    pub orphan_dependents: Option<bool>,
    pub include_object: Option<String>,
    pub pretty: bool,
}

impl Query {
    /// Parse a raw query string; accepts empty pairs (`?&limit=500`, as kube-rs sends).
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        let mut q = Query::default();
        let Some(raw) = raw else { return q };
        for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
            let truthy = v == "true" || v == "1";
            match &*k {
                "watch" => q.watch = truthy,
                "labelSelector" => q.label_selector = Some(v.into_owned()),
                "fieldSelector" => q.field_selector = Some(v.into_owned()),
                "resourceVersion" => q.resource_version = Some(v.into_owned()),
                "resourceVersionMatch" => q.resource_version_match = Some(v.into_owned()),
                "limit" => q.limit = Some(v.into_owned()),
                "continue" => q.continue_token = Some(v.into_owned()),
                "timeoutSeconds" => q.timeout_seconds = Some(v.into_owned()),
                "allowWatchBookmarks" => q.allow_watch_bookmarks = truthy,
                "sendInitialEvents" => q.send_initial_events = truthy,
                "fieldValidation" => q.field_validation = Some(v.into_owned()),
                "dryRun" => q.dry_run = v == "All",
                "gracePeriodSeconds" => q.grace_period_seconds = Some(v.into_owned()),
                "propagationPolicy" => q.propagation_policy = Some(v.into_owned()),
                "orphanDependents" => q.orphan_dependents = Some(truthy),
                "includeObject" => q.include_object = Some(v.into_owned()),
                "pretty" => q.pretty = truthy,
                _ => {}
            }
        }
        q
    }

    /// The list/watch filter for a namespace (empty: all namespaces).
    pub(crate) fn filter(&self, namespace: &str) -> Result<Filter, ApiError> {
        let labels = match self.label_selector.as_deref() {
            None | Some("") => LabelSelector::default(),
            Some(s) => LabelSelector::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))?,
        };
        let fields = match self.field_selector.as_deref() {
            None | Some("") => FieldSelector::default(),
            Some(s) => FieldSelector::parse(s).map_err(|e| ApiError::bad_request(e.to_string()))?,
        };
        Ok(Filter {
            namespace: (!namespace.is_empty()).then(|| namespace.to_string()),
            labels,
            fields,
        })
    }

    /// `resourceVersion` as a revision; 400 if it is not a number, as upstream.
    pub(crate) fn revision(&self) -> Result<Option<u64>, ApiError> {
        match self.resource_version.as_deref() {
            None | Some("") => Ok(None),
            Some(s) => s
                .parse::<u64>()
                .map(Some)
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {s}"))),
        }
    }

    /// The list's read semantics from `resourceVersion` and `resourceVersionMatch`.
    pub(crate) fn read_at(&self) -> Result<ReadAt, ApiError> {
        let rv = self.revision()?;
        match (self.resource_version_match.as_deref(), rv) {
            (None | Some(""), None) => Ok(ReadAt::Latest),
            (None | Some("") | Some("NotOlderThan"), Some(rv)) => Ok(ReadAt::NotOlderThan(rv)),
            (Some("Exact"), Some(0)) | (Some("Exact"), None) => Err(ApiError::invalid_query(
                "resourceVersionMatch",
                "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
            )),
            (Some("Exact"), Some(rv)) => Ok(ReadAt::Exact(rv)),
            (Some("NotOlderThan"), None) => Err(ApiError::invalid_query(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden unless resourceVersion is provided",
            )),
            (Some(other), _) => Err(ApiError::invalid_query(
                "resourceVersionMatch",
                &format!(
                    "Unsupported value: {other:?}: supported values: \"Exact\", \"NotOlderThan\""
                ),
            )),
        }
    }

    /// `limit`; 400 for a non-number, as upstream.
    pub(crate) fn limit(&self) -> Result<usize, ApiError> {
        match self.limit.as_deref() {
            None | Some("") => Ok(0),
            Some(s) => s
                .parse::<i64>()
                .map(|n| usize::try_from(n.max(0)).unwrap_or(0))
                .map_err(|_| ApiError::bad_request(format!("invalid limit: {s}"))),
        }
    }

    /// `timeoutSeconds` for a watch.
    pub(crate) fn timeout(&self) -> Result<Option<Duration>, ApiError> {
        match self.timeout_seconds.as_deref() {
            None | Some("") => Ok(None),
            Some(s) => s
                .parse::<u64>()
                .map(|n| Some(Duration::from_secs(n)))
                .map_err(|_| ApiError::bad_request(format!("invalid timeoutSeconds: {s}"))),
        }
    }

    /// `fieldValidation`: `Ignore`, `Warn` (default) or `Strict`.
    pub(crate) fn field_validation(&self) -> Result<FieldValidation, ApiError> {
        match self.field_validation.as_deref() {
            None | Some("") | Some("Warn") => Ok(FieldValidation::Warn),
            Some("Ignore") => Ok(FieldValidation::Ignore),
            Some("Strict") => Ok(FieldValidation::Strict),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\", got {other:?}"
            ))),
        }
    }
}

impl ApiError {
    /// 400 for an invalid query parameter, worded as upstream's option validation.
    pub(crate) fn invalid_query(field: &str, detail: &str) -> Self {
        let _ = field;
        ApiError::bad_request(detail.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaced_paths_split_into_their_parts() {
        let p = parse_path("/api/v1/namespaces/ns1/pods/web/status").unwrap();
        assert_eq!(
            p,
            PathParts {
                group: "",
                version: "v1",
                namespace: Some("ns1"),
                resource: "pods",
                name: Some("web"),
                subresource: Some("status")
            }
        );
        let p = parse_path("/apis/apps/v1/namespaces/ns1/deployments").unwrap();
        assert_eq!(
            (p.group, p.resource, p.namespace, p.name),
            ("apps", "deployments", Some("ns1"), None)
        );
    }

    #[test]
    fn namespace_objects_are_the_namespaces_resource() {
        let p = parse_path("/api/v1/namespaces/ns1").unwrap();
        assert_eq!(
            (p.resource, p.name, p.namespace),
            ("namespaces", Some("ns1"), None)
        );
        let p = parse_path("/api/v1/namespaces/ns1/status").unwrap();
        assert_eq!(
            (p.resource, p.name, p.subresource),
            ("namespaces", Some("ns1"), Some("status"))
        );
        let p = parse_path("/api/v1/namespaces").unwrap();
        assert_eq!((p.resource, p.name), ("namespaces", None));
    }

    #[test]
    fn verbs_follow_method_and_name() {
        let p = parse_path("/api/v1/pods").unwrap();
        assert_eq!(resolve(&Method::GET, &p, true).unwrap().verb, Verb::Watch);
        assert_eq!(resolve(&Method::GET, &p, false).unwrap().verb, Verb::List);
        let p = parse_path("/api/v1/namespaces/a/pods").unwrap();
        assert_eq!(resolve(&Method::PUT, &p, false).unwrap_err().code, 405);
        let p = parse_path("/api/v1/namespaces/a/pods/x").unwrap();
        assert_eq!(resolve(&Method::POST, &p, false).unwrap_err().code, 405);
        let p = parse_path("/api/v1/namespaces/a/pods/x/binding").unwrap();
        assert_eq!(
            resolve(&Method::POST, &p, false).unwrap().verb,
            Verb::Create
        );
        let p = parse_path("/api/v1/namespaces/a/nodes").unwrap();
        assert_eq!(resolve(&Method::GET, &p, false).unwrap_err().code, 404);
        let p = parse_path("/api/v1/namespaces/a/configmaps/x/status").unwrap();
        assert_eq!(resolve(&Method::GET, &p, false).unwrap_err().code, 404);
    }

    #[test]
    fn query_accepts_empty_pairs_and_kube_rs_shapes() {
        let q = Query::parse(Some(
            "&limit=500&watch=true&allowWatchBookmarks=true&resourceVersion=12",
        ));
        assert!(q.watch && q.allow_watch_bookmarks);
        assert_eq!(q.limit().unwrap(), 500);
        assert_eq!(q.read_at().unwrap(), ReadAt::NotOlderThan(12));
        assert_eq!(Query::parse(Some("limit=x")).limit().unwrap_err().code, 400);
    }
}
