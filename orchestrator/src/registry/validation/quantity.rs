//! Kubernetes resource quantities (`100m`, `1Gi`, `1e3`, `0.5`), as upstream's
//! `apimachinery/pkg/api/resource`: parsing, comparison and the canonical string upstream prints
//! in messages (`1000m` prints as `1`, `0.5` as `500m`, `1536Mi` stays `1536Mi`).
//!
//! Values are held as a count of nano-units in an `i128`: every quantity Kubernetes objects carry
//! (up to `Ei` and exponents in the tens) fits, and comparisons are exact. Fractions finer than a
//! nano-unit round up, as upstream's do.

use std::cmp::Ordering;

/// Upstream's message for a string that is not a quantity.
pub const QUANTITY_FORMAT_ERROR: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/// How a quantity was written, which decides how it is printed back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `Ki`, `Mi`, …
    BinarySI,
    /// `m`, `k`, `M`, … or no suffix.
    DecimalSI,
    /// `e3`, `E-2`.
    DecimalExponent,
}

/// A parsed quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity {
    nanos: i128,
    format: Format,
}

const NANO: i128 = 1_000_000_000;

impl Quantity {
    /// Parse as upstream's `resource.ParseQuantity`.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        if s.is_empty() {
            return Err(
                "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
            );
        }
        let bytes = s.as_bytes();
        let mut i = 0;
        let negative = match bytes[0] {
            b'-' => {
                i = 1;
                true
            }
            b'+' => {
                i = 1;
                false
            }
            _ => false,
        };
        let num_start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        let number = &s[num_start..i];
        let suffix = &s[i..];
        if number.is_empty() || number.matches('.').count() > 1 || number == "." {
            return Err(QUANTITY_FORMAT_ERROR);
        }
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        let (format, exp10, pow2) = parse_suffix(suffix).ok_or(QUANTITY_FORMAT_ERROR)?;

        // mantissa digits as an integer, with `scale` digits after the point
        let digits: String = format!("{int_part}{frac_part}");
        let scale = frac_part.len() as i32;
        let mut mantissa: i128 = 0;
        for d in digits.bytes() {
            mantissa = mantissa
                .saturating_mul(10)
                .saturating_add(i128::from(d - b'0'));
        }
        // value = mantissa * 10^(exp10 - scale) * 2^pow2, in nanos: * 10^9
        let mut nanos = mantissa;
        for _ in 0..pow2 {
            nanos = nanos.saturating_mul(2);
        }
        let e = exp10 - scale + 9;
        if e >= 0 {
            for _ in 0..e {
                nanos = nanos.saturating_mul(10);
            }
        } else {
            let div = 10i128.checked_pow((-e) as u32).unwrap_or(i128::MAX);
            let q = nanos / div;
            nanos = if nanos % div != 0 { q + 1 } else { q };
        }
        Ok(Self {
            nanos: if negative { -nanos } else { nanos },
            format,
        })
    }

    /// The value in milli-units, rounded up (upstream's `MilliValue`).
    pub fn milli_value(&self) -> i128 {
        let q = self.nanos / 1_000_000;
        if self.nanos % 1_000_000 > 0 { q + 1 } else { q }
    }

    /// The value in whole units, rounded up (upstream's `Value`).
    pub fn value(&self) -> i128 {
        let q = self.nanos / NANO;
        if self.nanos % NANO > 0 { q + 1 } else { q }
    }

    /// Whether the value is below zero.
    pub fn is_negative(&self) -> bool {
        self.nanos < 0
    }

    /// Whether the value is a whole number.
    pub fn is_integer(&self) -> bool {
        self.nanos % NANO == 0
    }

    /// A quantity of `nanos` nano-units, printed in `format`.
    pub fn from_nanos(nanos: i128, format: Format) -> Self {
        Self { nanos, format }
    }

    /// The value in nano-units.
    pub fn nanos(&self) -> i128 {
        self.nanos
    }

    /// The format it was written in.
    pub fn format(&self) -> Format {
        self.format
    }
}

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

/// `(format, power of ten, power of two)` for a suffix.
fn parse_suffix(s: &str) -> Option<(Format, i32, u32)> {
    Some(match s {
        "" => (Format::DecimalSI, 0, 0),
        "n" => (Format::DecimalSI, -9, 0),
        "u" => (Format::DecimalSI, -6, 0),
        "m" => (Format::DecimalSI, -3, 0),
        "k" => (Format::DecimalSI, 3, 0),
        "M" => (Format::DecimalSI, 6, 0),
        "G" => (Format::DecimalSI, 9, 0),
        "T" => (Format::DecimalSI, 12, 0),
        "P" => (Format::DecimalSI, 15, 0),
        "E" => (Format::DecimalSI, 18, 0),
        "Ki" => (Format::BinarySI, 0, 10),
        "Mi" => (Format::BinarySI, 0, 20),
        "Gi" => (Format::BinarySI, 0, 30),
        "Ti" => (Format::BinarySI, 0, 40),
        "Pi" => (Format::BinarySI, 0, 50),
        "Ei" => (Format::BinarySI, 0, 60),
        _ => {
            let rest = s.strip_prefix('e').or_else(|| s.strip_prefix('E'))?;
            let digits = rest.strip_prefix(['+', '-']).unwrap_or(rest);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let e: i32 = rest.parse().ok()?;
            if !(-40..=40).contains(&e) {
                return None;
            }
            (Format::DecimalExponent, e, 0)
        }
    })
}

impl std::fmt::Display for Quantity {
    /// Upstream's canonical form (`Quantity.String()`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = self.nanos;
        if v == 0 {
            return f.write_str("0");
        }
        if self.format == Format::BinarySI && v % NANO == 0 && (v / NANO).abs() >= 1024 {
            let mut n = v / NANO;
            let mut k = 0;
            while k < 6 && n % 1024 == 0 {
                n /= 1024;
                k += 1;
            }
            return write!(f, "{n}{}", ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][k]);
        }
        // largest exponent (a multiple of 3, from -9) leaving an integer mantissa
        let mut exp = -9i32;
        let mut mantissa = v;
        while exp < 18 && mantissa % 1000 == 0 {
            mantissa /= 1000;
            exp += 3;
        }
        if self.format == Format::DecimalExponent {
            return if exp == 0 {
                write!(f, "{mantissa}")
            } else {
                write!(f, "{mantissa}e{exp}")
            };
        }
        let suffix = match exp {
            -9 => "n",
            -6 => "u",
            -3 => "m",
            0 => "",
            3 => "k",
            6 => "M",
            9 => "G",
            12 => "T",
            15 => "P",
            _ => "E",
        };
        write!(f, "{mantissa}{suffix}")
    }
}

#[cfg(test)]
mod tests {
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
    #[case("1e")]
    #[case("m")]
    #[case(" 1")]
    fn rejects_non_quantities(#[case] s: &str) {
        assert_eq!(Quantity::parse(s), Err(QUANTITY_FORMAT_ERROR), "{s}");
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
    fn compares_across_formats() {
        let q = |s| Quantity::parse(s).unwrap();
        assert!(q("2") > q("1"));
        assert!(q("500m") < q("1"));
        assert_eq!(q("1Ki").cmp(&q("1024")), Ordering::Equal);
        assert_eq!(q("1500m").milli_value(), 1500);
        assert_eq!(q("1500m").value(), 2);
    }
}
