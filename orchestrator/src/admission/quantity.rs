//! Kubernetes resource quantities (`100m`, `1Gi`, `2`, `1e3`), parsed, compared, added and
//! printed exactly as upstream's `resource.Quantity` does for what quota and LimitRange need.
//!
//! A value is held in nano-units (upstream rounds every quantity up to nano precision), in an
//! `i128`, so the arithmetic is exact for every value upstream's `int64Amount` holds and far
//! beyond. The format (binary, decimal or exponent suffix) is kept because it decides how a
//! value prints: `1Gi + 512Mi` prints `1536Mi`, `1 + 500m` prints `1500m`.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

const NANO: i128 = 1_000_000_000;
/// Upstream caps binary quantities at `math.MaxInt64`.
const MAX_BINARY: i128 = (i64::MAX as i128) * NANO;

/// How a quantity prints, as upstream's `resource.Format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `Ki`, `Mi`, `Gi`, … (powers of 1024).
    BinarySI,
    /// `n`, `u`, `m`, ``, `k`, `M`, `G`, … (powers of 1000).
    DecimalSI,
    /// `1e3`, `12e-3`.
    DecimalExponent,
}

/// Why a string is not a quantity; the text is upstream's error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The string is not `[+-]digits[.digits][suffix]`.
    #[error(
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )]
    Format,
    /// The suffix is not one upstream knows.
    #[error("unable to parse quantity's suffix")]
    Suffix,
    /// The value does not fit 128-bit nano-units.
    #[error("quantity is too large")]
    Numeric,
}

impl QuantityError {
    /// The error's text (upstream's), for field errors.
    pub fn message(&self) -> &'static str {
        match self {
            QuantityError::Format => QUANTITY_FORMAT_ERROR,
            QuantityError::Suffix => QUANTITY_SUFFIX_ERROR,
            QuantityError::Numeric => "quantity is too large",
        }
    }
}

/// Upstream's message for a string that is not a quantity.
pub const QUANTITY_FORMAT_ERROR: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/// Upstream's message for a quantity whose suffix has the right characters but is not one.
pub const QUANTITY_SUFFIX_ERROR: &str = "unable to parse quantity's suffix";

/// A resource quantity.
#[derive(Clone, Copy, Debug)]
pub struct Quantity {
    nanos: i128,
    format: Format,
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}

impl Eq for Quantity {}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

impl Default for Quantity {
    /// Zero, in decimal format (upstream's `resource.Quantity{Format: DecimalSI}`).
    fn default() -> Self {
        Self {
            nanos: 0,
            format: Format::DecimalSI,
        }
    }
}

impl Quantity {
    /// A whole number of units, printed in decimal (upstream `NewQuantity(n, DecimalSI)`).
    pub fn from_units(n: i64) -> Self {
        Self {
            nanos: i128::from(n) * NANO,
            format: Format::DecimalSI,
        }
    }

    /// A number of milli-units, printed in decimal (upstream `NewMilliQuantity(n, DecimalSI)`).
    pub fn from_millis(n: i64) -> Self {
        Self {
            nanos: i128::from(n) * 1_000_000,
            format: Format::DecimalSI,
        }
    }

    /// Parse a quantity as upstream's `resource.ParseQuantity`.
    pub fn parse(s: &str) -> Result<Self, QuantityError> {
        if s.is_empty() {
            return Err(QuantityError::Format);
        }
        let (positive, num, denom, suffix) = split(s)?;
        let (base, exponent, mut format) = interpret_suffix(suffix)?;
        // The decimal digits as an integer scaled by 10^-len(denom).
        let mut digits: i128 = 0;
        for c in num.bytes().chain(denom.bytes()) {
            digits = digits
                .checked_mul(10)
                .and_then(|d| d.checked_add(i128::from(c - b'0')))
                .ok_or(QuantityError::Numeric)?;
        }
        let denom_len = i32::try_from(denom.len()).map_err(|_| QuantityError::Numeric)?;
        // value = digits * 10^(-denom_len) * base^exponent, in nano-units, rounded up.
        let nanos = if base == 10 {
            scale_round_up(digits, exponent - denom_len + 9)?
        } else {
            let pow = 1i128
                .checked_shl(exponent as u32)
                .ok_or(QuantityError::Numeric)?;
            let scaled = digits.checked_mul(pow).ok_or(QuantityError::Numeric)?;
            scale_round_up(scaled, 9 - denom_len)?
        };
        let mut nanos = nanos;
        if format == Format::BinarySI && nanos > MAX_BINARY {
            nanos = MAX_BINARY;
        }
        if format == Format::BinarySI && nanos > 0 && nanos < NANO {
            format = Format::DecimalSI;
        }
        Ok(Self {
            nanos: if positive { nanos } else { -nanos },
            format,
        })
    }

    /// A quantity of `nanos` nano-units, printed in `format`.
    pub fn from_nanos(nanos: i128, format: Format) -> Self {
        Self { nanos, format }
    }

    /// The value in nano-units.
    pub fn nanos(&self) -> i128 {
        self.nanos
    }

    /// Whether the value is a whole number.
    pub fn is_integer(&self) -> bool {
        self.nanos % NANO == 0
    }

    /// The format this quantity prints in.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Whether the value is zero.
    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// Whether the value is negative.
    pub fn is_negative(&self) -> bool {
        self.nanos < 0
    }

    /// `ceil(q)`, as upstream's `Value()`.
    pub fn value(&self) -> i128 {
        div_ceil(self.nanos, NANO)
    }

    /// `ceil(q * 1000)`, as upstream's `MilliValue()`.
    pub fn milli_value(&self) -> i128 {
        div_ceil(self.nanos, 1_000_000)
    }

    /// `self + other`; a zero receiver takes `other`'s format, as upstream's `Add`.
    #[must_use]
    pub fn add(&self, other: &Quantity) -> Quantity {
        let format = if self.nanos == 0 {
            other.format
        } else {
            self.format
        };
        Quantity {
            nanos: self.nanos.saturating_add(other.nanos),
            format,
        }
    }

    /// `self - other`; a zero receiver takes `other`'s format, as upstream's `Sub`.
    #[must_use]
    pub fn sub(&self, other: &Quantity) -> Quantity {
        let format = if self.nanos == 0 {
            other.format
        } else {
            self.format
        };
        Quantity {
            nanos: self.nanos.saturating_sub(other.nanos),
            format,
        }
    }

    /// Round up to a whole unit, as upstream's `RoundUp(0)` (PVC storage requests).
    #[must_use]
    pub fn round_up_to_units(&self) -> Quantity {
        Quantity {
            nanos: div_ceil(self.nanos, NANO) * NANO,
            format: self.format,
        }
    }

    /// The canonical string, as upstream's `String()`: `100m`, `1Gi`, `1536Mi`, `2`, `1k`.
    pub fn canonical(&self) -> String {
        if self.nanos == 0 {
            return "0".to_string();
        }
        let mut format = self.format;
        if format == Format::BinarySI && (self.nanos.abs() < 1024 * NANO || self.nanos % NANO != 0)
        {
            // Small or fractional binary values print in decimal, to avoid rounding.
            format = Format::DecimalSI;
        }
        match format {
            Format::BinarySI => {
                let mut units = self.nanos / NANO;
                let mut exp = 0;
                while exp < 6 && units % 1024 == 0 {
                    units /= 1024;
                    exp += 1;
                }
                let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][exp];
                format!("{units}{suffix}")
            }
            Format::DecimalSI | Format::DecimalExponent => {
                let mut mantissa = self.nanos;
                let mut exp: i32 = -9;
                while mantissa % 10 == 0 {
                    mantissa /= 10;
                    exp += 1;
                }
                // Make the exponent a multiple of 3 by moving digits back into the mantissa.
                match exp.rem_euclid(3) {
                    1 => {
                        mantissa *= 10;
                        exp -= 1;
                    }
                    2 => {
                        mantissa *= 100;
                        exp -= 2;
                    }
                    _ => {}
                }
                let suffix = if format == Format::DecimalExponent {
                    if exp == 0 {
                        String::new()
                    } else {
                        format!("e{exp}")
                    }
                } else {
                    match exp {
                        -9 => "n".into(),
                        -6 => "u".into(),
                        -3 => "m".into(),
                        0 => String::new(),
                        3 => "k".into(),
                        6 => "M".into(),
                        9 => "G".into(),
                        12 => "T".into(),
                        15 => "P".into(),
                        18 => "E".into(),
                        other => format!("e{other}"),
                    }
                };
                format!("{mantissa}{suffix}")
            }
        }
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

impl std::str::FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

/// `ceil(a / b)` for a positive `b`.
fn div_ceil(a: i128, b: i128) -> i128 {
    let q = a / b;
    if a % b > 0 { q + 1 } else { q }
}

/// `digits * 10^shift`, rounding a fractional result up (away from zero; `digits` is
/// non-negative here), as upstream rounds to nano precision.
fn scale_round_up(digits: i128, shift: i32) -> Result<i128, QuantityError> {
    if shift >= 0 {
        let pow = 10i128
            .checked_pow(shift as u32)
            .ok_or(QuantityError::Numeric)?;
        digits.checked_mul(pow).ok_or(QuantityError::Numeric)
    } else {
        let Some(pow) = 10i128.checked_pow(shift.unsigned_abs()) else {
            // More than 38 fractional digits below nano: any non-zero value rounds up to 1n.
            return Ok(i128::from(digits != 0));
        };
        Ok(div_ceil(digits, pow))
    }
}

/// Split `[+-]digits[.digits]suffix` as upstream's `parseQuantityString`.
fn split(s: &str) -> Result<(bool, &str, &str, &str), QuantityError> {
    let bytes = s.as_bytes();
    let mut pos = 0;
    let mut positive = true;
    match bytes.first() {
        Some(b'-') => {
            positive = false;
            pos = 1;
        }
        Some(b'+') => pos = 1,
        _ => {}
    }
    let digits_end = |from: usize| {
        from + bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let num_end = digits_end(pos);
    let num = &s[pos..num_end];
    pos = num_end;
    let mut denom = "";
    if bytes.get(pos) == Some(&b'.') {
        let end = digits_end(pos + 1);
        denom = &s[pos + 1..end];
        pos = end;
    }
    if num.is_empty() && denom.is_empty() && (pos == 0 || bytes[pos - 1] != b'.') {
        // No digits at all (upstream's regular expression needs at least one of [0-9.]).
        return Err(QuantityError::Format);
    }
    let suffix_start = pos;
    while pos < bytes.len() && b"eEinumkKMGTP".contains(&bytes[pos]) {
        pos += 1;
    }
    if pos < bytes.len() && (bytes[pos] == b'-' || bytes[pos] == b'+') {
        pos += 1;
    }
    pos = digits_end(pos);
    if pos != bytes.len() {
        return Err(QuantityError::Format);
    }
    Ok((positive, num, denom, &s[suffix_start..]))
}

/// `(base, exponent, format)` of a suffix, as upstream's `quantitySuffixer.interpret`.
fn interpret_suffix(suffix: &str) -> Result<(u32, i32, Format), QuantityError> {
    let decimal = |e| Ok((10, e, Format::DecimalSI));
    let binary = |e| Ok((2, e, Format::BinarySI));
    match suffix {
        "" => decimal(0),
        "n" => decimal(-9),
        "u" => decimal(-6),
        "m" => decimal(-3),
        "k" => decimal(3),
        "M" => decimal(6),
        "G" => decimal(9),
        "T" => decimal(12),
        "P" => decimal(15),
        "E" => decimal(18),
        "Ki" => binary(10),
        "Mi" => binary(20),
        "Gi" => binary(30),
        "Ti" => binary(40),
        "Pi" => binary(50),
        "Ei" => binary(60),
        s if s.len() > 1 && (s.starts_with('e') || s.starts_with('E')) => {
            let exp: i32 = s[1..].parse().map_err(|_| QuantityError::Suffix)?;
            Ok((10, exp, Format::DecimalExponent))
        }
        _ => Err(QuantityError::Suffix),
    }
}

/// A resource list (`requests`, `limits`, `hard`, `used`), sorted by resource name so every
/// message and status is deterministic.
pub type ResourceList = BTreeMap<String, Quantity>;

/// Read a resource list from JSON (`{"cpu": "100m", "pods": 2}`); entries that do not parse are
/// skipped (validation rejected them before admission).
pub fn parse_list(v: Option<&Value>) -> ResourceList {
    let mut out = ResourceList::new();
    if let Some(Value::Object(map)) = v {
        for (k, v) in map {
            let parsed = match v {
                Value::String(s) => Quantity::parse(s).ok(),
                Value::Number(n) => Quantity::parse(&n.to_string()).ok(),
                _ => None,
            };
            if let Some(q) = parsed {
                out.insert(k.clone(), q);
            }
        }
    }
    out
}

/// A resource list as JSON, with canonical quantity strings.
pub fn list_to_json(list: &ResourceList) -> Value {
    Value::Object(
        list.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.canonical())))
            .collect(),
    )
}

/// `a + b` key by key; keys of either side are kept (upstream `quota.Add`).
pub fn add_lists(a: &ResourceList, b: &ResourceList) -> ResourceList {
    let mut out = a.clone();
    for (k, v) in b {
        out.entry(k.clone())
            .and_modify(|q| *q = q.add(v))
            .or_insert(*v);
    }
    out
}

/// `a - b` key by key, never below zero; keys only in `b` become zero (upstream
/// `quota.SubtractWithNonNegativeResult`).
pub fn sub_lists_non_negative(a: &ResourceList, b: &ResourceList) -> ResourceList {
    let zero = Quantity::default();
    let mut out = ResourceList::new();
    for (k, v) in a {
        let d = b.get(k).map_or(*v, |o| v.sub(o));
        out.insert(k.clone(), if d > zero { d } else { zero });
    }
    for k in b.keys() {
        out.entry(k.clone()).or_insert(zero);
    }
    out
}

/// Only the entries of `list` whose names are in `names` (upstream `quota.Mask`).
pub fn mask<'a>(list: &ResourceList, names: impl IntoIterator<Item = &'a String>) -> ResourceList {
    names
        .into_iter()
        .filter_map(|n| list.get(n).map(|q| (n.clone(), *q)))
        .collect()
}

/// Whether every entry of `a` that `b` also has is `<=` it, and the names that are not
/// (upstream `quota.LessThanOrEqual`).
pub fn less_than_or_equal(a: &ResourceList, b: &ResourceList) -> (bool, Vec<String>) {
    let exceeded: Vec<String> = b
        .iter()
        .filter(|(k, limit)| a.get(*k).is_some_and(|v| v > limit))
        .map(|(k, _)| k.clone())
        .collect();
    (exceeded.is_empty(), exceeded)
}

/// The list without zero entries (upstream `quota.RemoveZeros`).
pub fn remove_zeros(list: &ResourceList) -> ResourceList {
    list.iter()
        .filter(|(_, q)| !q.is_zero())
        .map(|(k, q)| (k.clone(), *q))
        .collect()
}

/// Whether two lists have the same names with equal values (upstream `quota.Equals`).
pub fn lists_equal(a: &ResourceList, b: &ResourceList) -> bool {
    a.len() == b.len() && a.iter().all(|(k, v)| b.get(k) == Some(v))
}

/// `name=value` pairs sorted by name, joined by commas (upstream's quota `prettyPrint`).
pub fn pretty_print(list: &ResourceList) -> String {
    list.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap()
    }

    #[rstest]
    #[case("0", "0")]
    #[case("100m", "100m")]
    #[case("0.1", "100m")]
    #[case(".5", "500m")]
    #[case("1000m", "1")]
    #[case("1500m", "1500m")]
    #[case("1.5", "1500m")]
    #[case("2", "2")]
    #[case("1000", "1k")]
    #[case("1200", "1200")]
    #[case("1Gi", "1Gi")]
    #[case("1024Mi", "1Gi")]
    #[case("1536Mi", "1536Mi")]
    #[case("0.5Gi", "512Mi")]
    #[case("1.5Ki", "1536")]
    #[case("512", "512")]
    #[case("100Mi", "100Mi")]
    #[case("1e3", "1e3")]
    #[case("1E3", "1e3")]
    #[case("12e-3", "12e-3")]
    #[case("1.", "1")]
    #[case("-100m", "-100m")]
    #[case("+2", "2")]
    #[case("1n", "1n")]
    #[case("0.0000000001", "1n")]
    #[case("10M", "10M")]
    #[case("128974848", "128974848")]
    #[case("129e6", "129e6")]
    #[case("123Mi", "123Mi")]
    #[case("5G", "5G")]
    #[case("0.5Ki", "512")]
    fn parses_and_prints_canonically_like_upstream(#[case] input: &str, #[case] canonical: &str) {
        assert_eq!(q(input).canonical(), canonical, "{input}");
    }

    #[rstest]
    #[case("")]
    #[case("abc")]
    #[case("1Gb")]
    #[case("1K")]
    #[case("1e")]
    #[case("1.2.3")]
    #[case("1 Gi")]
    fn rejects_malformed_quantities(#[case] input: &str) {
        assert!(Quantity::parse(input).is_err(), "{input}");
    }

    #[test]
    fn compares_across_suffixes() {
        assert_eq!(q("1"), q("1000m"));
        assert!(q("1Gi") > q("1G"));
        assert!(q("500m") < q("1"));
        assert_eq!(q("1k"), q("1e3"));
    }

    #[test]
    fn addition_keeps_the_receivers_format_unless_it_is_zero() {
        assert_eq!(q("1Gi").add(&q("512Mi")).canonical(), "1536Mi");
        assert_eq!(q("1").add(&q("500m")).canonical(), "1500m");
        assert_eq!(Quantity::default().add(&q("1Gi")).canonical(), "1Gi");
        assert_eq!(q("0").add(&q("2Gi")).canonical(), "2Gi");
        assert_eq!(q("2Gi").sub(&q("1Gi")).canonical(), "1Gi");
        assert_eq!(q("1").sub(&q("1")).canonical(), "0");
    }

    #[test]
    fn value_and_milli_value_round_up() {
        assert_eq!(q("1500m").value(), 2);
        assert_eq!(q("1500m").milli_value(), 1500);
        assert_eq!(q("1n").milli_value(), 1);
        assert_eq!(q("1Ki").value(), 1024);
        assert_eq!(q("-1500m").value(), -1);
    }

    #[test]
    fn rounds_storage_up_to_whole_bytes() {
        assert_eq!(q("1500m").round_up_to_units().canonical(), "2");
        assert_eq!(q("1Gi").round_up_to_units().canonical(), "1Gi");
    }

    #[test]
    fn constructors_print_in_decimal() {
        assert_eq!(Quantity::from_units(3).canonical(), "3");
        assert_eq!(Quantity::from_millis(2500).canonical(), "2500m");
        assert_eq!(Quantity::from_millis(2000).canonical(), "2");
    }

    #[test]
    fn resource_lists_add_subtract_and_compare_like_upstream() {
        let a = parse_list(Some(
            &serde_json::json!({"cpu": "1", "memory": "1Gi", "pods": 2}),
        ));
        let b = parse_list(Some(&serde_json::json!({"cpu": "500m", "services": "1"})));
        assert_eq!(
            pretty_print(&add_lists(&a, &b)),
            "cpu=1500m,memory=1Gi,pods=2,services=1"
        );
        assert_eq!(
            pretty_print(&sub_lists_non_negative(&b, &a)),
            "cpu=0,memory=0,pods=0,services=1"
        );
        let hard = parse_list(Some(&serde_json::json!({"cpu": "1", "pods": "2"})));
        assert_eq!(less_than_or_equal(&a, &hard), (true, vec![]));
        let (ok, exceeded) = less_than_or_equal(&add_lists(&a, &b), &hard);
        assert!(!ok);
        assert_eq!(exceeded, vec!["cpu".to_string()]);
        assert_eq!(
            pretty_print(&mask(&a, &["cpu".to_string(), "nope".to_string()])),
            "cpu=1"
        );
        assert_eq!(
            pretty_print(&remove_zeros(&parse_list(Some(
                &serde_json::json!({"a": "0", "b": "1m"})
            )))),
            "b=1m"
        );
        assert!(lists_equal(
            &a,
            &parse_list(Some(
                &serde_json::json!({"cpu": "1000m", "memory": "1024Mi", "pods": "2"})
            ))
        ));
        assert_eq!(
            list_to_json(&b),
            serde_json::json!({"cpu": "500m", "services": "1"})
        );
    }
}

/// The parsing and printing cases of the field validation that used to keep its own parser.
#[cfg(test)]
mod parse_cases {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("100m", 100_000_000)]
    #[case("1", NANO)]
    #[case("0.5", 500_000_000)]
    #[case("1e3", 1000 * NANO)]
    #[case("1E-3", 1_000_000)]
    #[case("1Ki", 1024 * NANO)]
    #[case("1.5Gi", 1_610_612_736 * NANO)]
    #[case("2k", 2000 * NANO)]
    #[case("-1", -NANO)]
    #[case("+3", 3 * NANO)]
    #[case("1n", 1)]
    #[case("0.1n", 1)]
    fn parses_quantities(#[case] s: &str, #[case] nanos: i128) {
        assert_eq!(Quantity::parse(s).unwrap().nanos(), nanos, "{s}");
    }

    #[rstest]
    #[case("")]
    #[case("abc")]
    #[case("1Qi")]
    #[case("1.2.3")]
    #[case("m")]
    #[case(" 1")]
    fn rejects_non_quantities(#[case] s: &str) {
        assert_eq!(
            Quantity::parse(s).map_err(|e| e.message()),
            Err(QUANTITY_FORMAT_ERROR),
            "{s}"
        );
    }

    #[rstest]
    #[case("1000m", "1")]
    #[case("0.5", "500m")]
    #[case("100m", "100m")]
    #[case("1Gi", "1Gi")]
    #[case("1.5Gi", "1536Mi")]
    #[case("512", "512")]
    #[case("1e3", "1e3")]
    #[case("2000", "2k")]
    #[case("0", "0")]
    #[case("10Mi", "10Mi")]
    #[case("1024", "1024")]
    fn prints_canonically(#[case] s: &str, #[case] want: &str) {
        assert_eq!(Quantity::parse(s).unwrap().to_string(), want);
    }

    #[test]
    fn odd_suffixes_are_suffix_errors() {
        assert_eq!(
            Quantity::parse("1iK").map_err(|e| e.message()),
            Err(QUANTITY_SUFFIX_ERROR)
        );
        assert_eq!(
            Quantity::parse("1mm").map_err(|e| e.message()),
            Err(QUANTITY_SUFFIX_ERROR)
        );
        assert_eq!(
            Quantity::parse("1e").map_err(|e| e.message()),
            Err(QUANTITY_SUFFIX_ERROR)
        );
    }

    #[test]
    fn compares_across_formats() {
        let q = |s| Quantity::parse(s).unwrap();
        assert!(q("2") > q("1"));
        assert!(q("500m") < q("1"));
        assert_eq!(q("1Ki").cmp(&q("1024")), Ordering::Equal);
        assert_eq!(q("1500m").milli_value(), 1500);
        assert_eq!(q("1500m").value(), 2);
    }
}
