//! Request bodies to typed objects, as upstream's create/update handlers decode them: one pass
//! of `serde_json` straight into the k8s-openapi type, with `serde_ignored` collecting the
//! unknown fields, and upstream's 400 messages when that fails.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::super::{ResourceInfo, find_by_kind};
use crate::error::ApiError;

/// What decoding produced: the object and the unknown fields' paths (`spec.containers[0].foo`).
pub(crate) struct Typed<T> {
    pub object: T,
    pub unknown: Vec<String>,
}

/// Upstream's path notation for a field serde ignored: `.field` for struct fields, `[i]` for
/// list items.
fn render_path(path: &serde_ignored::Path<'_>, out: &mut String) {
    use serde_ignored::Path;
    match path {
        Path::Root => {}
        Path::Seq { parent, index } => {
            render_path(parent, out);
            out.push_str(&format!("[{index}]"));
        }
        Path::Map { parent, key } => {
            render_path(parent, out);
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(key);
        }
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => {
            render_path(parent, out);
        }
    }
}

/// The `apiVersion` and `kind` a body claims, read only when typed decoding failed, to tell a
/// wrong kind from a malformed body.
#[derive(Deserialize)]
struct TypeMeta {
    #[serde(rename = "apiVersion", default)]
    api_version: Option<String>,
    #[serde(default)]
    kind: Option<String>,
}

/// Upstream's `summarizeData(body, 30)`, quoted at the end of "unrecognized object" errors.
fn summarize(body: &[u8]) -> String {
    const MAX: usize = 30;
    let cut = &body[..body.len().min(MAX)];
    let more = if body.len() > MAX { " ..." } else { "" };
    match body.first() {
        None => "<empty>".to_string(),
        Some(b'{') => format!("{}{more}", String::from_utf8_lossy(cut)),
        Some(_) => {
            let hex: String = cut.iter().map(|b| format!("{b:02x}")).collect();
            format!("{hex}{more}")
        }
    }
}

/// The internal Go package upstream names in conversion errors (`core.Pod`).
fn internal_package(group: &str) -> &str {
    match group {
        "" => "core",
        g => g.split('.').next().unwrap_or(g),
    }
}

/// The 400 for a body whose `apiVersion`/`kind` is not this resource's, worded as upstream's
/// decoder and create handler word it.
fn mismatch_error(info: &ResourceInfo, api_version: &str, kind: &str) -> ApiError {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let not_registered = || {
        ApiError::bad_request(format!(
            "{kind} in version {version:?} cannot be handled as a {}: no kind {kind:?} is registered for version {api_version:?} in scheme \"pkg/api/legacyscheme/scheme.go:30\"",
            info.kind
        ))
    };
    // The same type in another version of its group (upstream's scheme keeps older versions)
    // or its one alias group converts; the create handler then refuses the version.
    let same_type = kind == info.kind
        && (group == info.group
            || (kind == "Event" && group == "events.k8s.io" && info.group.is_empty()));
    if same_type {
        return ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            info.api_version()
        ));
    }
    if kind == info.kind {
        return not_registered();
    }
    // Another served kind decodes, then fails to convert to this one.
    match find_by_kind(group, kind).filter(|r| r.version == version) {
        Some(_) => ApiError::bad_request(format!(
            "{kind} in version {version:?} cannot be handled as a {}: converting ({version}.{kind}) to ({}.{}): unknown conversion",
            info.kind,
            internal_package(info.group),
            info.kind
        )),
        None => not_registered(),
    }
}

/// Decode `body` as `T`, collecting unknown fields. Errors are upstream's 400s; the strict-mode
/// unknown-field error is left to the caller, which knows the field validation directive.
pub(crate) fn decode<T: DeserializeOwned>(
    info: &ResourceInfo,
    body: &[u8],
) -> Result<Typed<T>, ApiError> {
    let mut unknown = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(body);
    let result = serde_ignored::deserialize(&mut de, |path| {
        let mut s = String::new();
        render_path(&path, &mut s);
        unknown.push(s);
    })
    .and_then(|obj: T| de.end().map(|()| obj));
    match result {
        Ok(object) => Ok(Typed { object, unknown }),
        Err(err) => Err(decode_error(info, body, &err)),
    }
}

/// Turn a serde error into upstream's message: a kind/version mismatch if the body names another
/// type, "cannot be handled as" for a body of the right type with a bad field, "unrecognized" for
/// a body that is not a JSON object at all.
fn decode_error(info: &ResourceInfo, body: &[u8], err: &serde_json::Error) -> ApiError {
    match serde_json::from_slice::<TypeMeta>(body) {
        Ok(tm) => {
            let api_version = tm
                .api_version
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| info.api_version());
            let kind = tm
                .kind
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| info.kind.to_string());
            if kind != info.kind || api_version != info.api_version() {
                return mismatch_error(info, &api_version, &kind);
            }
            let version = api_version.rsplit('/').next().unwrap_or_default();
            ApiError::bad_request(format!(
                "{kind} in version {version:?} cannot be handled as a {kind}: {}",
                go_like(err)
            ))
        }
        Err(scan) => ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: {} ({})",
            info.kind,
            go_like(&scan),
            summarize(body)
        )),
    }
}

/// serde_json's message without its position suffix when the position adds nothing upstream
/// would print; kept otherwise (a deviation in wording only).
fn go_like(err: &serde_json::Error) -> String {
    err.to_string()
}

/// Upstream's strict-mode error: each problem (`unknown field "spec.foo"`,
/// `duplicate field "spec.replicas"`) joined into one 400.
pub(crate) fn strict_error(info: &ResourceInfo, problems: &[String]) -> ApiError {
    ApiError::bad_request(format!(
        "{kind} in version {v:?} cannot be handled as a {kind}: strict decoding error: {}",
        problems.join(", "),
        kind = info.kind,
        v = info.version
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_cut_at_thirty_bytes() {
        assert_eq!(summarize(b""), "<empty>");
        assert_eq!(summarize(b"{\"a\":1}"), "{\"a\":1}");
        assert_eq!(summarize(b"xy"), "7879");
        assert_eq!(summarize(&[b'{'; 40]), format!("{} ...", "{".repeat(30)));
    }
}
