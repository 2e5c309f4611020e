//! The shape of the message table in [`super::generated`]: for every message a served kind can
//! reach, its fields by tag with their JSON names and wire kinds.

/// A protobuf message of the Kubernetes API (upstream's `generated.proto`).
#[derive(Debug)]
pub(crate) struct Message {
    /// The OpenAPI definition name, e.g. `io.k8s.api.apps.v1.Deployment`.
    pub name: &'static str,
    /// How the message appears in JSON.
    pub shape: Shape,
    /// Fields ordered by tag.
    pub fields: &'static [Field],
}

impl Message {
    /// The field with protobuf tag `tag`, if the message has one.
    pub(crate) fn field(&self, tag: u32) -> Option<&'static Field> {
        self.fields
            .binary_search_by_key(&tag, |f| f.tag)
            .ok()
            .map(|i| &self.fields[i])
    }
}

/// How a message is written in JSON: most are objects; a few apimachinery types have their own
/// JSON form (their Go types implement `MarshalJSON`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A JSON object with one member per present field.
    Object,
    /// `metav1.Time` `{1: seconds, 2: nanos}`: RFC 3339 in whole seconds; the zero time is null.
    Time,
    /// `metav1.MicroTime`: RFC 3339 with six fractional digits; the zero time is null.
    MicroTime,
    /// `metav1.Duration` `{1: nanoseconds}`: Go's `time.Duration.String()`.
    #[allow(
        dead_code,
        reason = "no served kind has a Duration yet; the table grows with them"
    )]
    Duration,
    /// `resource.Quantity` `{1: string}`: the string.
    Quantity,
    /// `intstr.IntOrString` `{1: type, 2: intVal, 3: strVal}`: a number or a string.
    IntOrString,
    /// `runtime.RawExtension` and `metav1.FieldsV1` `{1: raw}`: the raw bytes are JSON.
    RawJson,
}

/// One field of a [`Message`].
#[derive(Debug)]
pub(crate) struct Field {
    /// The protobuf field number.
    pub tag: u32,
    /// The JSON member name (upstream's `json` struct tag).
    pub json: &'static str,
    /// The type of one value (of a map: of one map value; keys are always strings).
    pub kind: Kind,
    /// Whether the field holds one value, a list or a map.
    pub card: Card,
    /// Whether a zero scalar (`""`, `0`, `false`) present on the wire is kept: true for the Go
    /// pointer fields (`*int32`, `*bool`, `*string`), whose zero differs from unset. Go writes
    /// every non-pointer scalar, zero or not, and omits its zero from JSON (`omitempty`).
    pub keep_zero: bool,
}

/// The type of a field's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Bool,
    Int32,
    Int64,
    #[allow(
        dead_code,
        reason = "no served kind has a double yet; the table grows with them"
    )]
    Double,
    String,
    /// Bytes; base64 in JSON, as Go's `encoding/json` writes `[]byte`.
    Bytes,
    /// A message, by index into [`super::generated::MESSAGES`].
    Message(u16),
}

/// A field's cardinality.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Card {
    Single,
    Repeated,
    /// `map<string, kind>`: entries `{1: key, 2: value}`.
    Map,
    /// A Go struct embedded with `json:",inline"`: its members are written into the parent.
    Inline,
}
