//! Protobuf request bodies (`application/vnd.kubernetes.protobuf`), which client-go's typed
//! clients send: `kubectl create deployment|namespace|configmap|secret|service|job …`,
//! `kubectl drain`'s evictions, and any controller built on client-go with protobuf enabled.
//!
//! # Architecture
//!
//! A body is the 4-byte magic `k8s\0` and a `runtime.Unknown` (upstream's
//! `runtime/serializer/protobuf`): `{1: TypeMeta {1: apiVersion, 2: kind}, 2: raw, 3:
//! contentEncoding, 4: contentType}`, where `raw` is the object as its `generated.proto` message.
//! We turn it into the JSON that Go's `encoding/json` would write for the decoded Go object, and
//! the request continues down the JSON path: one decoder, one validation, one defaulting.
//!
//! - [`wire`] reads the protobuf wire format;
//! - [`generated`] is the table of every message a served kind reaches (fields by tag, JSON names,
//!   types, which zero scalars are Go pointers), written by `generate.rs` from the k8s-pb crate's
//!   prost structs and our OpenAPI document;
//! - [`decode`] walks a message with the table: absent fields are left out, a zero scalar of a
//!   non-pointer Go field is left out (`omitempty`), present messages become objects (`{}` when
//!   empty, e.g. `emptyDir`), and the apimachinery types with their own JSON (`Time`,
//!   `MicroTime`, `Duration`, `Quantity`, `IntOrString`, `RawExtension`, `FieldsV1`) take it.
//!
//! Responses stay JSON: client-go's protobuf clients accept `application/json` as well and decode
//! by the response's `Content-Type`.

mod decode;
#[cfg(test)]
mod generate;
mod generated;
mod schema;
#[cfg(test)]
mod tests;
mod wire;

use serde_json::{Map, Value};

/// The media type of Kubernetes protobuf bodies.
pub(crate) const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The magic prefix of every Kubernetes protobuf body.
const MAGIC: &[u8; 4] = b"k8s\0";

/// Why a protobuf body could not be decoded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("empty body")]
    Empty,
    #[error("provided data does not appear to be a protobuf message, expected prefix {MAGIC:?}")]
    NoMagic,
    #[error("unexpected end of message")]
    Truncated,
    #[error("varint longer than 10 bytes")]
    VarintTooLong,
    #[error("invalid field number {0}")]
    BadTag(u64),
    #[error("unsupported wire type {0}")]
    UnsupportedWireType(u8),
    #[error("field {field}: expected a {expected} value, got {got}")]
    WireType {
        field: String,
        expected: &'static str,
        got: &'static str,
    },
    #[error("message nested too deeply")]
    TooDeep,
    #[error("time {seconds}s {nanos}ns is out of range")]
    TimeOutOfRange { seconds: i64, nanos: i32 },
    #[error("invalid JSON in {message}")]
    EmbeddedJson {
        message: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("Object 'Kind' is missing in the protobuf body")]
    MissingKind,
    #[error("Object 'apiVersion' is missing in the protobuf body")]
    MissingVersion,
    #[error("no kind {kind:?} is registered for version {api_version:?}")]
    UnknownKind { api_version: String, kind: String },
}

/// `e` and its sources, for a client to read.
pub(crate) fn describe(e: &Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

/// What a body is read as where its envelope leaves `apiVersion` or `kind` empty: the kind the
/// endpoint serves, as upstream's `copyKindDefaults` fills them in.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DefaultKind<'a> {
    pub group: &'a str,
    pub version: &'a str,
    pub kind: &'a str,
}

/// The object in a protobuf body as JSON, with `apiVersion` and `kind` from its envelope (or,
/// where it has none, from `default`).
pub(crate) fn to_json(body: &[u8], default: DefaultKind<'_>) -> Result<Value, Error> {
    let envelope = match body.strip_prefix(MAGIC) {
        _ if body.is_empty() => return Err(Error::Empty),
        None => return Err(Error::NoMagic),
        Some([]) => return Err(Error::Empty),
        Some(rest) => rest,
    };
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for field in wire::Fields::new(envelope) {
        match field? {
            (1, wire::Raw::Len(type_meta)) => {
                for f in wire::Fields::new(type_meta) {
                    match f? {
                        (1, wire::Raw::Len(v)) => api_version = String::from_utf8_lossy(v).into(),
                        (2, wire::Raw::Len(k)) => kind = String::from_utf8_lossy(k).into(),
                        _ => {}
                    }
                }
            }
            (2, wire::Raw::Len(r)) => raw = r,
            (tag @ (1 | 2), other) => {
                let name = if tag == 1 { "typeMeta" } else { "raw" };
                return Err(other.mismatch(name, wire::WireType::Len));
            }
            // contentEncoding and contentType: upstream reads and ignores them too.
            _ => {}
        }
    }
    if kind.is_empty() {
        kind = default.kind.to_string();
    }
    if api_version.is_empty() {
        api_version = match (default.group, default.version) {
            (_, "") => String::new(),
            ("", version) => version.to_string(),
            (group, version) => format!("{group}/{version}"),
        };
    }
    if kind.is_empty() {
        return Err(Error::MissingKind);
    }
    if api_version.is_empty() {
        return Err(Error::MissingVersion);
    }
    let index = message_for(&api_version, &kind).ok_or_else(|| Error::UnknownKind {
        api_version: api_version.clone(),
        kind: kind.clone(),
    })?;
    let fields = decode::object(index, raw)?;
    let mut out = Map::with_capacity(fields.len() + 2);
    out.insert("apiVersion".into(), Value::String(api_version));
    out.insert("kind".into(), Value::String(kind));
    out.extend(fields);
    Ok(Value::Object(out))
}

/// The message of a kind's body. `DeleteOptions` is registered in every group version upstream,
/// and client-go may stamp it with any of them.
fn message_for(api_version: &str, kind: &str) -> Option<u16> {
    let find = |av: &str, k: &str| {
        generated::KINDS
            .binary_search_by(|(a, kk, _)| (*a, *kk).cmp(&(av, k)))
            .ok()
            .map(|i| generated::KINDS[i].2)
    };
    find(api_version, kind).or_else(|| match kind {
        "DeleteOptions" => find("v1", kind),
        _ => None,
    })
}
