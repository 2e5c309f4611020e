//! The protobuf wire format: varints, field keys and length-delimited values, read from a byte
//! slice without copying.

use super::Error;

/// A protobuf wire type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WireType {
    Varint,
    Fixed64,
    Len,
    Fixed32,
}

impl WireType {
    fn name(self) -> &'static str {
        match self {
            WireType::Varint => "varint",
            WireType::Fixed64 => "fixed64",
            WireType::Len => "length-delimited",
            WireType::Fixed32 => "fixed32",
        }
    }
}

/// One field's value as it is on the wire.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Raw<'a> {
    Varint(u64),
    Fixed64(u64),
    Len(&'a [u8]),
    /// No served kind has a fixed32 field; read so that one can be skipped.
    Fixed32(#[allow(dead_code, reason = "skipped, never read")] u32),
}

impl Raw<'_> {
    pub(crate) fn wire_type(&self) -> WireType {
        match self {
            Raw::Varint(_) => WireType::Varint,
            Raw::Fixed64(_) => WireType::Fixed64,
            Raw::Len(_) => WireType::Len,
            Raw::Fixed32(_) => WireType::Fixed32,
        }
    }

    /// The error for a value of this wire type where `expected` belongs.
    pub(crate) fn mismatch(&self, field: &str, expected: WireType) -> Error {
        Error::WireType {
            field: field.to_string(),
            expected: expected.name(),
            got: self.wire_type().name(),
        }
    }
}

/// Reads the fields of one message in order.
pub(crate) struct Fields<'a> {
    buf: &'a [u8],
}

impl<'a> Fields<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    fn varint(&mut self) -> Result<u64, Error> {
        let mut value = 0u64;
        for i in 0..10 {
            let (&byte, rest) = self.buf.split_first().ok_or(Error::Truncated)?;
            self.buf = rest;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(Error::VarintTooLong)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.buf.len() < n {
            return Err(Error::Truncated);
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Raw<'a>), Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty() {
            return None;
        }
        let field = (|| {
            let key = self.varint()?;
            let tag = u32::try_from(key >> 3).map_err(|_| Error::BadTag(key >> 3))?;
            if tag == 0 {
                return Err(Error::BadTag(0));
            }
            let raw = match key & 7 {
                0 => Raw::Varint(self.varint()?),
                1 => Raw::Fixed64(u64::from_le_bytes(
                    self.take(8)?.try_into().map_err(|_| Error::Truncated)?,
                )),
                2 => {
                    let len = usize::try_from(self.varint()?).map_err(|_| Error::Truncated)?;
                    Raw::Len(self.take(len)?)
                }
                5 => Raw::Fixed32(u32::from_le_bytes(
                    self.take(4)?.try_into().map_err(|_| Error::Truncated)?,
                )),
                other => return Err(Error::UnsupportedWireType(other as u8)),
            };
            Ok((tag, raw))
        })();
        if field.is_err() {
            // Stop after the first error: the rest of the buffer has no known framing.
            self.buf = &[];
        }
        Some(field)
    }
}

/// Read the varints of a packed repeated scalar field.
pub(crate) fn packed_varints(mut buf: &[u8]) -> Result<Vec<u64>, Error> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let mut fields = Fields { buf };
        out.push(fields.varint()?);
        buf = fields.buf;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_varints_lengths_and_fixed_values() {
        // field 1 varint 300, field 2 "hi", field 3 fixed64 1.5, field 4 fixed32 7
        let mut buf = vec![0x08, 0xac, 0x02, 0x12, 2, b'h', b'i', 0x19];
        buf.extend_from_slice(&1.5f64.to_le_bytes());
        buf.extend_from_slice(&[0x25, 7, 0, 0, 0]);
        let fields: Vec<_> = Fields::new(&buf).collect::<Result<_, _>>().unwrap();
        assert!(matches!(fields[0], (1, Raw::Varint(300))));
        assert!(matches!(fields[1], (2, Raw::Len(b"hi"))));
        assert!(matches!(fields[2], (3, Raw::Fixed64(v)) if f64::from_bits(v) == 1.5));
        assert!(matches!(fields[3], (4, Raw::Fixed32(7))));
    }

    #[test]
    fn truncated_and_malformed_input_is_an_error_not_a_panic() {
        for bad in [
            &[0x12, 5, b'a'][..],
            &[0x08][..],
            &[
                0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ][..],
            &[0x0b][..],
            &[0x00, 0x00][..],
            &[0x19, 1, 2][..],
        ] {
            let result: Result<Vec<_>, _> = Fields::new(bad).collect();
            assert!(result.is_err(), "{bad:?}");
        }
    }

    #[test]
    fn packed_varints_are_read_in_order() {
        assert_eq!(
            packed_varints(&[1, 0xac, 0x02, 3]).unwrap(),
            vec![1, 300, 3]
        );
        assert!(packed_varints(&[0x80]).is_err());
    }
}
