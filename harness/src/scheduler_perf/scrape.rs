//! The scheduler's own view: `scheduler_scheduling_attempt_duration_seconds` read from
//! Prometheus text at `/metrics`, before and after the measured pods, and the difference turned
//! into quantiles the way PromQL's `histogram_quantile` does (linear within a bucket).
//!
//! Our control plane serves the scheduler's metrics on the API server's `/metrics`; a real
//! cluster's API server does not (kube-scheduler serves its own), so there the histogram is
//! reported absent rather than guessed.

use std::collections::BTreeMap;

/// The histogram scraped.
pub const ATTEMPT_DURATION: &str = "scheduler_scheduling_attempt_duration_seconds";

/// One histogram series: cumulative bucket counts by upper bound, with sum and count.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Histogram {
    /// `(le, cumulative count)`, ascending by `le`; the last is `+Inf`.
    pub buckets: Vec<(f64, f64)>,
    /// `_sum`.
    pub sum: f64,
    /// `_count`.
    pub count: f64,
}

impl Histogram {
    /// What was observed after `earlier` (same buckets): `self − earlier`.
    pub fn since(&self, earlier: &Histogram) -> Histogram {
        let before = |le: f64| {
            earlier
                .buckets
                .iter()
                .find(|(b, _)| *b == le)
                .map_or(0.0, |(_, c)| *c)
        };
        Histogram {
            buckets: self
                .buckets
                .iter()
                .map(|(le, c)| (*le, (c - before(*le)).max(0.0)))
                .collect(),
            sum: (self.sum - earlier.sum).max(0.0),
            count: (self.count - earlier.count).max(0.0),
        }
    }

    /// The `q` quantile (`histogram_quantile`); `None` when empty. A quantile in the `+Inf`
    /// bucket is the largest finite bound, as Prometheus does.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.buckets.last()?.1;
        if total <= 0.0 {
            return None;
        }
        let rank = q * total;
        let mut prev_bound = 0.0;
        let mut prev_count = 0.0;
        for (le, count) in &self.buckets {
            if *count >= rank {
                if le.is_infinite() {
                    return Some(prev_bound);
                }
                let in_bucket = count - prev_count;
                if in_bucket <= 0.0 {
                    return Some(*le);
                }
                return Some(prev_bound + (le - prev_bound) * (rank - prev_count) / in_bucket);
            }
            prev_bound = *le;
            prev_count = *count;
        }
        Some(prev_bound)
    }

    /// The mean observation; `None` when empty.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0.0).then(|| self.sum / self.count)
    }
}

/// The series of histogram `name` in Prometheus text, keyed by their labels other than `le`
/// (as `k="v",…`, sorted).
pub fn histograms(text: &str, name: &str) -> BTreeMap<String, Histogram> {
    let mut out: BTreeMap<String, Histogram> = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let (suffix, rest) = match rest.find(['{', ' ']) {
            Some(i) => rest.split_at(i),
            None => continue,
        };
        let (labels, value) = match rest.strip_prefix('{') {
            Some(r) => match r.rsplit_once('}') {
                Some((labels, value)) => (labels, value),
                None => continue,
            },
            None => ("", rest),
        };
        let Some(value) = value.split_whitespace().next().and_then(parse_value) else {
            continue;
        };
        let mut le = None;
        let mut key: Vec<(String, String)> = Vec::new();
        for (k, v) in parse_labels(labels) {
            if k == "le" {
                le = parse_value(&v);
            } else {
                key.push((k, v));
            }
        }
        key.sort();
        let key = key
            .iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect::<Vec<_>>()
            .join(",");
        let h = out.entry(key).or_default();
        match (suffix, le) {
            ("_bucket", Some(le)) => h.buckets.push((le, value)),
            ("_sum", _) => h.sum = value,
            ("_count", _) => h.count = value,
            _ => {}
        }
    }
    for h in out.values_mut() {
        h.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    out.retain(|_, h| !h.buckets.is_empty());
    out
}

fn parse_value(s: &str) -> Option<f64> {
    match s {
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

/// `a="x",b="y\"z"` into pairs, with `\"`, `\\` and `\n` unescaped.
fn parse_labels(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while matches!(chars.peek(), Some(',' | ' ')) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() || chars.next() != Some('"') {
            return out;
        }
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => break,
                },
                c => value.push(c),
            }
        }
        out.push((key.trim().to_owned(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP scheduler_scheduling_attempt_duration_seconds Scheduling attempt latency in seconds
# TYPE scheduler_scheduling_attempt_duration_seconds histogram
scheduler_scheduling_attempt_duration_seconds_bucket{profile="default-scheduler",result="scheduled",le="0.001"} 60
scheduler_scheduling_attempt_duration_seconds_bucket{profile="default-scheduler",result="scheduled",le="0.002"} 90
scheduler_scheduling_attempt_duration_seconds_bucket{profile="default-scheduler",result="scheduled",le="+Inf"} 100
scheduler_scheduling_attempt_duration_seconds_sum{profile="default-scheduler",result="scheduled"} 0.12
scheduler_scheduling_attempt_duration_seconds_count{profile="default-scheduler",result="scheduled"} 100
scheduler_scheduling_attempt_duration_seconds_bucket{profile="default-scheduler",result="unschedulable",le="0.001"} 1
scheduler_scheduling_attempt_duration_seconds_bucket{profile="default-scheduler",result="unschedulable",le="0.002"} 1
scheduler_scheduling_attempt_duration_seconds_bucket{profile="default-scheduler",result="unschedulable",le="+Inf"} 1
scheduler_scheduling_attempt_duration_seconds_sum{profile="default-scheduler",result="unschedulable"} 0.0005
scheduler_scheduling_attempt_duration_seconds_count{profile="default-scheduler",result="unschedulable"} 1
scheduler_schedule_attempts_total{profile="default-scheduler",result="scheduled"} 100
"#;

    #[test]
    fn series_are_read_by_labels() {
        let h = histograms(TEXT, ATTEMPT_DURATION);
        assert_eq!(h.len(), 2);
        let s = &h[r#"profile="default-scheduler",result="scheduled""#];
        assert_eq!(
            s.buckets,
            [(0.001, 60.0), (0.002, 90.0), (f64::INFINITY, 100.0)]
        );
        assert_eq!((s.sum, s.count), (0.12, 100.0));
        assert!(histograms(TEXT, "apiserver_request_duration_seconds").is_empty());
    }

    #[test]
    fn quantiles_interpolate_within_a_bucket_as_histogram_quantile() {
        let h = histograms(TEXT, ATTEMPT_DURATION);
        let s = &h[r#"profile="default-scheduler",result="scheduled""#];
        // rank 50 of 60 in [0, 1 ms]: 0.8333 ms.
        assert!((s.quantile(0.5).unwrap() - 0.0005 / 0.6).abs() < 1e-12);
        // rank 75: halfway through (1, 2] ms.
        assert!((s.quantile(0.75).unwrap() - 0.0015).abs() < 1e-12);
        // rank 99 lies in +Inf: the largest finite bound.
        assert_eq!(s.quantile(0.99), Some(0.002));
        assert!((s.mean().unwrap() - 0.0012).abs() < 1e-12);
        assert_eq!(Histogram::default().quantile(0.5), None);
    }

    #[test]
    fn the_difference_is_what_happened_in_between() {
        let before = Histogram {
            buckets: vec![(0.001, 50.0), (f64::INFINITY, 50.0)],
            sum: 0.01,
            count: 50.0,
        };
        let after = Histogram {
            buckets: vec![(0.001, 60.0), (f64::INFINITY, 70.0)],
            sum: 0.05,
            count: 70.0,
        };
        let d = after.since(&before);
        assert_eq!(d.buckets, [(0.001, 10.0), (f64::INFINITY, 20.0)]);
        assert_eq!(d.count, 20.0);
        assert!((d.sum - 0.04).abs() < 1e-12);
    }

    #[test]
    fn escaped_label_values_are_unescaped() {
        assert_eq!(
            parse_labels(r#"a="x\"y",b="1""#),
            [("a".into(), "x\"y".into()), ("b".into(), "1".into())]
        );
    }
}
