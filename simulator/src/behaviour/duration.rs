//! Durations as Go writes and prints them: the behaviour knobs are written `500ms`, `10s`,
//! `1m30s` (`time.ParseDuration`), and the kubelet's messages print back-offs as
//! `time.Duration.String()` does (`5m0s`).

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// A duration written as Go writes them (`500ms`, `10s`, `1m30s`), in model time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct GoDuration(pub Duration);

impl GoDuration {
    /// Parse Go's `time.ParseDuration` syntax without a sign: `0`, `1.5s`, `2m`, `1h10m`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let expected = "a duration such as 500ms, 10s or 2m";
        let s = text.trim();
        if s == "0" {
            return Ok(Self(Duration::ZERO));
        }
        if s.is_empty() {
            return Err(format!("empty, expected {expected}"));
        }
        let mut total = 0f64;
        let mut rest = s;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(|| format!("{text:?} lacks a unit, expected {expected}"))?;
            let number: f64 = rest[..digits]
                .parse()
                .map_err(|_| format!("{text:?} is not {expected}"))?;
            rest = &rest[digits..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let seconds = match &rest[..unit_len] {
                "ns" => 1e-9,
                "us" | "µs" | "μs" => 1e-6,
                "ms" => 1e-3,
                "s" => 1.0,
                "m" => 60.0,
                "h" => 3600.0,
                _ => return Err(format!("{text:?} is not {expected}")),
            };
            rest = &rest[unit_len..];
            total += number * seconds;
        }
        if !total.is_finite() || total > 1e9 {
            return Err(format!("{text:?} is too long"));
        }
        Ok(Self(Duration::from_secs_f64(total)))
    }
}

impl fmt::Display for GoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&go_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// `d` as Go's `time.Duration.String()` prints it (`10s`, `1m20s`, `5m0s`, `1.5s`, `500ms`),
/// the way the kubelet's back-off messages show it.
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000_000_000 {
        let (unit, scale) = if nanos < 1_000 {
            ("ns", 1u128)
        } else if nanos < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{}{unit}", trim_fraction(nanos, scale));
    }
    let hours = nanos / 3_600_000_000_000;
    let minutes = (nanos / 60_000_000_000) % 60;
    let seconds = trim_fraction(nanos % 60_000_000_000, 1_000_000_000);
    match (hours, minutes) {
        (0, 0) => format!("{seconds}s"),
        (0, m) => format!("{m}m{seconds}s"),
        (h, m) => format!("{h}h{m}m{seconds}s"),
    }
}

fn trim_fraction(value: u128, scale: u128) -> String {
    let whole = value / scale;
    let frac = value % scale;
    if frac == 0 {
        return whole.to_string();
    }
    let width = scale.ilog10() as usize;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case("0", Duration::ZERO)]
    #[case("500ms", Duration::from_millis(500))]
    #[case("10s", Duration::from_secs(10))]
    #[case("1.5s", Duration::from_millis(1500))]
    #[case("2m", Duration::from_secs(120))]
    #[case("1h10m5s", Duration::from_secs(4205))]
    #[case("250us", Duration::from_micros(250))]
    fn go_durations_parse(#[case] text: &str, #[case] want: Duration) {
        assert_eq!(GoDuration::parse(text).unwrap().0, want);
    }

    #[rstest]
    #[case("")]
    #[case("10")]
    #[case("ten seconds")]
    #[case("-5s")]
    #[case("5d")]
    fn bad_go_durations_say_what_is_expected(#[case] text: &str) {
        let e = GoDuration::parse(text).unwrap_err();
        assert!(
            e.contains("duration") || e.contains("empty") || e.contains("unit"),
            "{e}"
        );
    }

    #[rstest]
    #[case(Duration::from_secs(10), "10s")]
    #[case(Duration::from_secs(80), "1m20s")]
    #[case(Duration::from_secs(300), "5m0s")]
    #[case(Duration::from_secs(160), "2m40s")]
    #[case(Duration::from_millis(1500), "1.5s")]
    #[case(Duration::from_millis(250), "250ms")]
    #[case(Duration::from_secs(3600), "1h0m0s")]
    #[case(Duration::ZERO, "0s")]
    fn durations_print_as_go_does(#[case] d: Duration, #[case] want: &str) {
        assert_eq!(go_duration(d), want);
    }
}
