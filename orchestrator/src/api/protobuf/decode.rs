//! One message of the table to the JSON that Go's `encoding/json` writes for the same object, as
//! upstream decodes a protobuf body into its Go type and every later step sees that type.

use base64::Engine as _;
use serde_json::{Map, Number, Value};

use super::Error;
use super::generated::MESSAGES;
use super::schema::{Card, Field, Kind, Message, Shape};
use super::wire::{Fields, Raw, WireType, packed_varints};

/// Deeper than any served kind nests; bounds the recursion on hostile input.
const MAX_DEPTH: usize = 64;

/// Seconds from 0001-01-01 to 1970-01-01: Go's zero `time.Time` on the wire.
const GO_ZERO_TIME_SECONDS: i64 = -62_135_596_800;

/// Decode `bytes` as message `index` of the table into a JSON object.
pub(crate) fn object(index: u16, bytes: &[u8]) -> Result<Map<String, Value>, Error> {
    let mut out = Map::new();
    fields_into(&MESSAGES[usize::from(index)], bytes, 0, &mut out)?;
    Ok(out)
}

/// Decode a message value; `None` where Go writes nothing (the zero `Time`, an empty raw value).
fn message(index: u16, bytes: &[u8], depth: usize) -> Result<Option<Value>, Error> {
    if depth > MAX_DEPTH {
        return Err(Error::TooDeep);
    }
    let msg = &MESSAGES[usize::from(index)];
    match msg.shape {
        Shape::Object => {
            let mut out = Map::new();
            fields_into(msg, bytes, depth, &mut out)?;
            Ok(Some(Value::Object(out)))
        }
        Shape::Time | Shape::MicroTime => time(msg, bytes),
        Shape::Duration => {
            let nanos = scalar_fields(msg, bytes)?.int(1)?;
            Ok(Some(Value::String(go_duration(nanos))))
        }
        Shape::Quantity => {
            let s = scalar_fields(msg, bytes)?.string(1)?;
            // Go's zero Quantity marshals as "0".
            Ok(Some(Value::String(if s.is_empty() {
                "0".into()
            } else {
                s
            })))
        }
        Shape::IntOrString => {
            let f = scalar_fields(msg, bytes)?;
            Ok(Some(match f.int(1)? {
                0 => Value::from(f.int(2)? as i32),
                _ => Value::String(f.string(3)?),
            }))
        }
        Shape::RawJson => {
            let raw = scalar_fields(msg, bytes)?.bytes(1);
            if raw.is_empty() {
                return Ok(None);
            }
            serde_json::from_slice(raw)
                .map(Some)
                .map_err(|e| Error::EmbeddedJson {
                    message: msg.name,
                    source: e,
                })
        }
    }
}

/// The fields of `msg` in `bytes`, written into `out` under their JSON names.
fn fields_into(
    msg: &'static Message,
    bytes: &[u8],
    depth: usize,
    out: &mut Map<String, Value>,
) -> Result<(), Error> {
    for field in Fields::new(bytes) {
        let (tag, raw) = field?;
        // Fields we do not know (newer than the table) are skipped, as protobuf readers do.
        let Some(f) = msg.field(tag) else { continue };
        match f.card {
            Card::Single => match value(f, raw, depth)? {
                Some(v) => {
                    out.insert(f.json.to_string(), v);
                }
                None => {
                    out.remove(f.json);
                }
            },
            Card::Repeated => {
                let items = out
                    .entry(f.json)
                    .or_insert_with(|| Value::Array(Vec::new()));
                let Value::Array(items) = items else {
                    unreachable!("repeated fields hold arrays")
                };
                match (raw, f.kind) {
                    (Raw::Len(packed), Kind::Bool | Kind::Int32 | Kind::Int64) => {
                        for v in packed_varints(packed)? {
                            items.push(varint(f.kind, v));
                        }
                    }
                    (Raw::Len(packed), Kind::Double) => {
                        for chunk in packed.chunks(8) {
                            let bits =
                                u64::from_le_bytes(chunk.try_into().map_err(|_| Error::Truncated)?);
                            items.push(double(f64::from_bits(bits)));
                        }
                    }
                    _ => items.push(element(f, f.kind, raw, depth)?),
                }
            }
            Card::Map => {
                let Raw::Len(entry) = raw else {
                    return Err(raw.mismatch(f.json, WireType::Len));
                };
                let (key, val) = map_entry(f, entry, depth)?;
                let map = out
                    .entry(f.json)
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(map) = map {
                    map.insert(key, val);
                }
            }
            Card::Inline => {
                let Raw::Len(inner) = raw else {
                    return Err(raw.mismatch(f.json, WireType::Len));
                };
                let Kind::Message(index) = f.kind else {
                    unreachable!("inline fields are messages")
                };
                if depth >= MAX_DEPTH {
                    return Err(Error::TooDeep);
                }
                fields_into(&MESSAGES[usize::from(index)], inner, depth + 1, out)?;
            }
        }
    }
    Ok(())
}

/// A single field's JSON value; `None` for a zero scalar of a non-pointer Go field, which
/// `omitempty` leaves out.
fn value(f: &'static Field, raw: Raw<'_>, depth: usize) -> Result<Option<Value>, Error> {
    if let Kind::Message(index) = f.kind {
        let Raw::Len(inner) = raw else {
            return Err(raw.mismatch(f.json, WireType::Len));
        };
        return message(index, inner, depth + 1);
    }
    let v = element(f, f.kind, raw, depth)?;
    let zero = match &v {
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        _ => false,
    };
    Ok((!zero || f.keep_zero).then_some(v))
}

/// One value of kind `kind` (a single field, a list element or a map value).
fn element(f: &Field, kind: Kind, raw: Raw<'_>, depth: usize) -> Result<Value, Error> {
    Ok(match (kind, raw) {
        (Kind::Bool | Kind::Int32 | Kind::Int64, Raw::Varint(v)) => varint(kind, v),
        (Kind::Double, Raw::Fixed64(bits)) => double(f64::from_bits(bits)),
        (Kind::String, Raw::Len(b)) => Value::String(String::from_utf8_lossy(b).into_owned()),
        (Kind::Bytes, Raw::Len(b)) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        (Kind::Message(index), Raw::Len(b)) => message(index, b, depth + 1)?.unwrap_or(Value::Null),
        (Kind::Bool | Kind::Int32 | Kind::Int64, raw) => {
            return Err(raw.mismatch(f.json, WireType::Varint));
        }
        (Kind::Double, raw) => return Err(raw.mismatch(f.json, WireType::Fixed64)),
        (_, raw) => return Err(raw.mismatch(f.json, WireType::Len)),
    })
}

fn varint(kind: Kind, v: u64) -> Value {
    match kind {
        Kind::Bool => Value::Bool(v != 0),
        // int32 is sign-extended to 64 bits on the wire; the low 32 bits are the value.
        Kind::Int32 => Value::from(v as i32),
        _ => Value::from(v as i64),
    }
}

fn double(v: f64) -> Value {
    Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// A map entry `{1: key, 2: value}`; a missing value is its kind's zero, as Go reads it.
fn map_entry(f: &Field, entry: &[u8], depth: usize) -> Result<(String, Value), Error> {
    let mut key = String::new();
    let mut val = None;
    for field in Fields::new(entry) {
        match field? {
            (1, Raw::Len(k)) => key = String::from_utf8_lossy(k).into_owned(),
            (1, raw) => return Err(raw.mismatch(f.json, WireType::Len)),
            (2, raw) => val = Some(element(f, f.kind, raw, depth)?),
            _ => {}
        }
    }
    let val = match val {
        Some(v) => v,
        None => match f.kind {
            Kind::Bool => Value::Bool(false),
            Kind::Int32 | Kind::Int64 | Kind::Double => Value::from(0),
            Kind::String | Kind::Bytes => Value::String(String::new()),
            Kind::Message(index) => message(index, &[], depth + 1)?.unwrap_or(Value::Null),
        },
    };
    Ok((key, val))
}

/// The scalar fields of a special message by tag.
struct Scalars<'a> {
    msg: &'static Message,
    fields: Vec<(u32, Raw<'a>)>,
}

fn scalar_fields<'a>(msg: &'static Message, bytes: &'a [u8]) -> Result<Scalars<'a>, Error> {
    Ok(Scalars {
        msg,
        fields: Fields::new(bytes).collect::<Result<_, _>>()?,
    })
}

impl<'a> Scalars<'a> {
    fn last(&self, tag: u32) -> Option<Raw<'a>> {
        self.fields
            .iter()
            .rev()
            .find(|(t, _)| *t == tag)
            .map(|(_, r)| *r)
    }

    fn name(&self, tag: u32) -> &'static str {
        self.msg.field(tag).map_or(self.msg.name, |f| f.json)
    }

    fn int(&self, tag: u32) -> Result<i64, Error> {
        match self.last(tag) {
            None => Ok(0),
            Some(Raw::Varint(v)) => Ok(v as i64),
            Some(raw) => Err(raw.mismatch(self.name(tag), WireType::Varint)),
        }
    }

    fn string(&self, tag: u32) -> Result<String, Error> {
        match self.last(tag) {
            None => Ok(String::new()),
            Some(Raw::Len(b)) => Ok(String::from_utf8_lossy(b).into_owned()),
            Some(raw) => Err(raw.mismatch(self.name(tag), WireType::Len)),
        }
    }

    fn bytes(&self, tag: u32) -> &'a [u8] {
        match self.last(tag) {
            Some(Raw::Len(b)) => b,
            _ => &[],
        }
    }
}

/// `metav1.Time` / `metav1.MicroTime`: RFC 3339 in UTC, as their `MarshalJSON`; the zero time (an
/// empty message, or Go's year 1) is left out.
fn time(msg: &'static Message, bytes: &[u8]) -> Result<Option<Value>, Error> {
    let f = scalar_fields(msg, bytes)?;
    if f.fields.is_empty() {
        return Ok(None);
    }
    let (seconds, nanos) = (f.int(1)?, f.int(2)? as i32);
    if seconds == GO_ZERO_TIME_SECONDS && nanos == 0 {
        return Ok(None);
    }
    let ts = jiff::Timestamp::new(seconds, nanos)
        .map_err(|_| Error::TimeOutOfRange { seconds, nanos })?;
    let format = if msg.shape == Shape::MicroTime {
        "%Y-%m-%dT%H:%M:%S%.6fZ"
    } else {
        "%Y-%m-%dT%H:%M:%SZ"
    };
    Ok(Some(Value::String(ts.strftime(format).to_string())))
}

/// Go's `time.Duration.String()`: `1h2m3.5s`, `1.5ms`, `0s`.
pub(crate) fn go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let neg = nanos < 0;
    let u = nanos.unsigned_abs();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if u < 1_000_000_000 {
        // Below a second Go picks the largest unit that keeps an integer part.
        let (unit, scale) = match u {
            0..1_000 => ("ns", 1),
            1_000..1_000_000 => ("µs", 1_000),
            _ => ("ms", 1_000_000),
        };
        out.push_str(&fraction(u, scale));
        out.push_str(unit);
        return out;
    }
    let hours = u / 3_600_000_000_000;
    let minutes = u / 60_000_000_000 % 60;
    let rest = u % 60_000_000_000;
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    out.push_str(&fraction(rest, 1_000_000_000));
    out.push('s');
    out
}

/// `value / scale` with the fraction's trailing zeros trimmed, as Go's `fmtFrac`.
fn fraction(value: u64, scale: u64) -> String {
    let whole = value / scale;
    let frac = value % scale;
    if frac == 0 {
        return whole.to_string();
    }
    let digits = scale.ilog10() as usize;
    let frac = format!("{frac:0digits$}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_go_does() {
        for (nanos, want) in [
            (0, "0s"),
            (1, "1ns"),
            (1_500, "1.5µs"),
            (1_500_000, "1.5ms"),
            (1_000_000_000, "1s"),
            (90_000_000_000, "1m30s"),
            (3_600_000_000_000, "1h0m0s"),
            (3_723_500_000_000, "1h2m3.5s"),
            (-2_000_000_000, "-2s"),
        ] {
            assert_eq!(go_duration(nanos), want, "{nanos}");
        }
    }
}
