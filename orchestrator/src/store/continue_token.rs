//! List `continue` tokens in upstream's format (`k8s.io/apiserver/pkg/storage.EncodeContinue`):
//! unpadded URL-safe base64 of `{"v":"meta.k8s.io/v1","rv":N,"start":"<key>\u0000"}`, so a token
//! carries the revision every page is read at and the key just after the previous page.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// The 410 message for a token whose revision left the history, as upstream's
/// `inconsistentContinue`.
pub(super) const EXPIRED: &str = "The provided continue parameter is too old to display a consistent list result. \
You can start a new list without the continue parameter, or use the continue token in this response to retrieve \
the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that \
were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

const API_VERSION: &str = "meta.k8s.io/v1";

#[derive(Serialize, Deserialize)]
struct Token {
    #[serde(rename = "v")]
    api_version: String,
    #[serde(rename = "rv", default)]
    revision: i64,
    #[serde(rename = "start", default)]
    start: String,
}

/// The token for the page after the one ending at `last_key`, read at `revision`.
pub(super) fn encode(revision: u64, last_key: &str) -> String {
    let token = Token {
        api_version: API_VERSION.into(),
        revision: i64::try_from(revision).unwrap_or(i64::MAX),
        start: format!("{last_key}\u{0}"),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).unwrap_or_default())
}

fn invalid(detail: &str) -> ApiError {
    ApiError::bad_request(format!("invalid continue token: {detail}"))
}

/// `(revision, first key)` of a token, or upstream's 400 for a malformed one.
pub(super) fn decode(token: &str) -> Result<(u64, String), ApiError> {
    let generic = "continue key is not valid";
    let data = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|e| invalid(&format!("{generic}: {e}")))?;
    let t: Token =
        serde_json::from_slice(&data).map_err(|e| invalid(&format!("{generic}: {e}")))?;
    if t.api_version != API_VERSION {
        return Err(invalid(&format!(
            "{generic}: server does not recognize this encoded version {}",
            t.api_version
        )));
    }
    if t.revision <= 0 {
        return Err(invalid(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        ));
    }
    if t.start.is_empty() {
        return Err(invalid(
            "continue key is not valid: encoded start key empty (version meta.k8s.io/v1)",
        ));
    }
    // Upstream rejects keys that `path.Clean` would change, so a token cannot climb out of the
    // resource's key range.
    if t.start.split('/').any(|seg| seg == ".." || seg == ".")
        || t.start.contains("//")
        || t.start.starts_with('/')
    {
        return Err(invalid(&format!("{generic}: {}", t.start)));
    }
    Ok((t.revision as u64, t.start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_upstream_format() {
        let t = encode(42, "default/web-1");
        let raw = URL_SAFE_NO_PAD.decode(&t).unwrap();
        assert_eq!(
            String::from_utf8(raw).unwrap(),
            r#"{"v":"meta.k8s.io/v1","rv":42,"start":"default/web-1\u0000"}"#
        );
        assert_eq!(decode(&t).unwrap(), (42, "default/web-1\u{0}".to_string()));
    }

    #[test]
    fn rejects_malformed_tokens_with_400() {
        for bad in [
            "!!!".to_string(),
            URL_SAFE_NO_PAD.encode("not json"),
            URL_SAFE_NO_PAD.encode(r#"{"v":"x","rv":1,"start":"a"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"v":"meta.k8s.io/v1","rv":0,"start":"a"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"v":"meta.k8s.io/v1","rv":1,"start":""}"#),
            URL_SAFE_NO_PAD.encode(r#"{"v":"meta.k8s.io/v1","rv":1,"start":"../x"}"#),
        ] {
            let e = decode(&bad).unwrap_err();
            assert_eq!(e.code, 400, "{bad}");
            assert!(
                e.message
                    .starts_with("invalid continue token: continue key is not valid"),
                "{}",
                e.message
            );
        }
    }
}
