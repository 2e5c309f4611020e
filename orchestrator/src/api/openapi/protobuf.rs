//! The protobuf form of the OpenAPI v2 document (gnostic's `openapi.v2.Document`, from
//! `openapiv2/OpenAPIv2.proto`), which is what client-go's `OpenAPISchema()` downloads: it sends
//! `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf` and `proto.Unmarshal`s
//! the body with no JSON fallback, and kubectl calls it before every validated `create`/`apply`.
//!
//! A hand-written encoder over the JSON document: the messages are few, and a protobuf code
//! generator would be a build dependency for one response.

use serde_json::Value;

/// A protobuf message under construction.
#[derive(Default)]
struct Msg(Vec<u8>);

impl Msg {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u32, wire: u8) {
        self.varint((u64::from(field) << 3) | u64::from(wire));
    }

    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    fn string(&mut self, field: u32, s: &str) {
        if !s.is_empty() {
            self.bytes(field, s.as_bytes());
        }
    }

    fn msg(&mut self, field: u32, m: Msg) {
        self.bytes(field, &m.0);
    }

    fn bool(&mut self, field: u32, b: bool) {
        if b {
            self.key(field, 0);
            self.varint(1);
        }
    }

    fn int64(&mut self, field: u32, v: i64) {
        self.key(field, 0);
        self.varint(v as u64);
    }

    fn double(&mut self, field: u32, v: f64) {
        self.key(field, 1);
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    /// A string field taken from a JSON object, if present.
    fn str_of(&mut self, field: u32, obj: &Value, key: &str) {
        if let Some(s) = obj.get(key).and_then(Value::as_str) {
            self.string(field, s);
        }
    }

    /// A repeated string field taken from a JSON array.
    fn strings_of(&mut self, field: u32, obj: &Value, key: &str) {
        for s in obj
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            self.string(field, s);
        }
    }
}

/// `Any { yaml = 2 }`: gnostic keeps arbitrary values as YAML text; JSON is YAML.
fn any(v: &Value) -> Msg {
    let mut m = Msg::default();
    m.string(2, &v.to_string());
    m
}

/// `NamedAny { name = 1; value = 2 }` entries for every `x-` key of an object.
fn vendor_extensions(m: &mut Msg, field: u32, obj: &Value) {
    for (k, v) in obj
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.starts_with("x-"))
    {
        let mut named = Msg::default();
        named.string(1, k);
        named.msg(2, any(v));
        m.msg(field, named);
    }
}

/// `openapi.v2.Schema`.
fn schema(s: &Value) -> Msg {
    let mut m = Msg::default();
    m.str_of(1, s, "$ref");
    m.str_of(2, s, "format");
    m.str_of(3, s, "title");
    m.str_of(4, s, "description");
    if let Some(d) = s.get("default") {
        m.msg(5, any(d));
    }
    for (field, key) in [(6, "multipleOf"), (7, "maximum"), (9, "minimum")] {
        if let Some(v) = s.get(key).and_then(Value::as_f64) {
            m.double(field, v);
        }
    }
    for (field, key) in [
        (8, "exclusiveMaximum"),
        (10, "exclusiveMinimum"),
        (16, "uniqueItems"),
        (27, "readOnly"),
    ] {
        m.bool(field, s.get(key).and_then(Value::as_bool).unwrap_or(false));
    }
    for (field, key) in [
        (11, "maxLength"),
        (12, "minLength"),
        (14, "maxItems"),
        (15, "minItems"),
        (17, "maxProperties"),
        (18, "minProperties"),
    ] {
        if let Some(v) = s.get(key).and_then(Value::as_i64) {
            m.int64(field, v);
        }
    }
    m.str_of(13, s, "pattern");
    m.strings_of(19, s, "required");
    for e in s
        .get("enum")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        m.msg(20, any(e));
    }
    match s.get("additionalProperties") {
        Some(Value::Bool(b)) => {
            let mut item = Msg::default();
            item.key(2, 0);
            item.varint(u64::from(*b));
            m.msg(21, item);
        }
        Some(v @ Value::Object(_)) => {
            let mut item = Msg::default();
            item.msg(1, schema(v));
            m.msg(21, item);
        }
        _ => {}
    }
    match s.get("type") {
        Some(Value::String(t)) => {
            let mut item = Msg::default();
            item.string(1, t);
            m.msg(22, item);
        }
        Some(Value::Array(ts)) => {
            let mut item = Msg::default();
            ts.iter()
                .filter_map(Value::as_str)
                .for_each(|t| item.string(1, t));
            m.msg(22, item);
        }
        _ => {}
    }
    if let Some(items) = s.get("items") {
        let mut item = Msg::default();
        match items {
            Value::Array(list) => list.iter().for_each(|i| item.msg(1, schema(i))),
            other => item.msg(1, schema(other)),
        }
        m.msg(23, item);
    }
    for a in s
        .get("allOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        m.msg(24, schema(a));
    }
    if let Some(Value::Object(props)) = s.get("properties") {
        let mut p = Msg::default();
        for (name, v) in props {
            p.msg(1, named(name, schema(v)));
        }
        m.msg(25, p);
    }
    if let Some(ex) = s.get("example") {
        m.msg(30, any(ex));
    }
    vendor_extensions(&mut m, 31, s);
    m
}

/// A `Named…` pair message: `name = 1; value = 2`.
fn named(name: &str, value: Msg) -> Msg {
    let mut m = Msg::default();
    m.string(1, name);
    m.msg(2, value);
    m
}

/// `ParametersItem { parameter = 1 }` for a body, query or path parameter.
fn parameter(p: &Value) -> Msg {
    let location = p.get("in").and_then(Value::as_str).unwrap_or_default();
    let mut param = Msg::default();
    if location == "body" {
        let mut body = Msg::default();
        body.str_of(1, p, "description");
        body.str_of(2, p, "name");
        body.string(3, "body");
        body.bool(
            4,
            p.get("required").and_then(Value::as_bool).unwrap_or(false),
        );
        if let Some(s) = p.get("schema") {
            body.msg(5, schema(s));
        }
        param.msg(1, body);
    } else {
        // QueryParameterSubSchema (3) and PathParameterSubSchema (4) number their common fields
        // alike up to `name`; after it, query has `allow_empty_value` (5) and so shifts by one.
        let (which, shift) = if location == "path" { (4, 0) } else { (3, 1) };
        let mut sub = Msg::default();
        sub.bool(
            1,
            p.get("required").and_then(Value::as_bool).unwrap_or(false),
        );
        sub.string(2, location);
        sub.str_of(3, p, "description");
        sub.str_of(4, p, "name");
        sub.str_of(5 + shift, p, "type");
        sub.bool(
            19 + shift,
            p.get("uniqueItems")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        );
        let mut non_body = Msg::default();
        non_body.msg(which, sub);
        param.msg(2, non_body);
    }
    let mut item = Msg::default();
    item.msg(1, param);
    item
}

/// `openapi.v2.Operation`.
fn operation(op: &Value) -> Msg {
    let mut m = Msg::default();
    m.strings_of(1, op, "tags");
    m.str_of(3, op, "description");
    m.str_of(5, op, "operationId");
    m.strings_of(6, op, "produces");
    m.strings_of(7, op, "consumes");
    for p in op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        m.msg(8, parameter(p));
    }
    if let Some(Value::Object(responses)) = op.get("responses") {
        let mut rs = Msg::default();
        for (code, r) in responses {
            let mut resp = Msg::default();
            resp.str_of(1, r, "description");
            if let Some(s) = r.get("schema") {
                let mut item = Msg::default();
                item.msg(1, schema(s));
                resp.msg(2, item);
            }
            let mut value = Msg::default();
            value.msg(1, resp);
            rs.msg(1, named(code, value));
        }
        m.msg(9, rs);
    }
    m.strings_of(10, op, "schemes");
    vendor_extensions(&mut m, 13, op);
    m
}

/// `openapi.v2.PathItem`.
fn path_item(item: &Value) -> Msg {
    let mut m = Msg::default();
    for (field, method) in [
        (2, "get"),
        (3, "put"),
        (4, "post"),
        (5, "delete"),
        (8, "patch"),
    ] {
        if let Some(op) = item.get(method) {
            m.msg(field, operation(op));
        }
    }
    for p in item
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        m.msg(9, parameter(p));
    }
    m
}

/// Encode a Swagger 2.0 JSON document as `openapi.v2.Document`.
pub(super) fn encode_document(doc: &Value) -> Vec<u8> {
    let mut m = Msg::default();
    m.str_of(1, doc, "swagger");
    if let Some(info) = doc.get("info") {
        let mut i = Msg::default();
        i.str_of(1, info, "title");
        i.str_of(2, info, "version");
        m.msg(2, i);
    }
    if let Some(Value::Object(paths)) = doc.get("paths") {
        let mut p = Msg::default();
        for (path, item) in paths {
            p.msg(2, named(path, path_item(item)));
        }
        m.msg(8, p);
    }
    if let Some(Value::Object(defs)) = doc.get("definitions") {
        let mut d = Msg::default();
        for (name, s) in defs {
            d.msg(1, named(name, schema(s)));
        }
        m.msg(9, d);
    }
    for req in doc
        .get("security")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut r = Msg::default();
        for (name, scopes) in req.as_object().into_iter().flatten() {
            let mut arr = Msg::default();
            scopes
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .for_each(|s| arr.string(1, s));
            r.msg(1, named(name, arr));
        }
        m.msg(12, r);
    }
    if let Some(Value::Object(defs)) = doc.get("securityDefinitions") {
        let mut sd = Msg::default();
        for (name, d) in defs {
            let mut api_key = Msg::default();
            api_key.str_of(1, d, "type");
            api_key.str_of(2, d, "name");
            api_key.str_of(3, d, "in");
            api_key.str_of(4, d, "description");
            let mut item = Msg::default();
            item.msg(2, api_key);
            sd.msg(1, named(name, item));
        }
        m.msg(13, sd);
    }
    m.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn encodes_varints_and_nested_messages_as_protobuf() {
        let doc = json!({"swagger": "2.0", "definitions": {"A": {"type": "string"}}});
        // Document{swagger=1:"2.0", definitions=9:{1:{1:"A", 2:{22:{1:"string"}}}}}
        let schema = [
            0xb2, 0x01, 0x08, 0x0a, 0x06, b's', b't', b'r', b'i', b'n', b'g',
        ];
        let mut named = vec![0x0a, 0x01, b'A', 0x12, schema.len() as u8];
        named.extend_from_slice(&schema);
        let mut defs = vec![0x0a, named.len() as u8];
        defs.extend_from_slice(&named);
        let mut want = vec![0x0a, 0x03, b'2', b'.', b'0', 0x4a, defs.len() as u8];
        want.extend_from_slice(&defs);
        assert_eq!(encode_document(&doc), want);
    }

    #[test]
    fn vendor_extensions_are_yaml_any_values() {
        let m = schema(&json!({"x-k": [1]}));
        // vendor_extension = 31 (wire 2): key 0xfa 0x01.
        assert_eq!(&m.0[..2], &[0xfa, 0x01]);
        assert!(m.0.windows(3).any(|w| w == b"[1]"));
    }
}
