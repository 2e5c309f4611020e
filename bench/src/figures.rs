//! What a benchmark scenario measured, printed as one line and written as JSON.
//!
//! Figures on a shared, loaded machine are noisy, so every goal is also recorded as a ratio
//! (measured / goal) and every report carries the load average before and after the run.

use std::path::PathBuf;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{Map, Value, json};

/// A latency histogram in microseconds, 1 µs to 10 min, 3 significant digits.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("static histogram bounds are valid")
}

/// Record `d` into a [`latency_histogram`], saturating at its upper bound.
pub fn record(h: &mut Histogram<u64>, d: Duration) {
    h.saturating_record((d.as_micros() as u64).max(1));
}

/// Percentiles of a latency histogram, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Summary {
    /// Summarise a histogram recorded in microseconds.
    pub fn of(h: &Histogram<u64>) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        Self {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
            mean_ms: h.mean() / 1000.0,
        }
    }

    /// Summarise a handful of durations (boots, lists) without a histogram.
    pub fn of_durations(ds: &[Duration]) -> Self {
        let mut h = latency_histogram();
        for d in ds {
            record(&mut h, *d);
        }
        Self::of(&h)
    }

    /// As a JSON object.
    pub fn to_json(&self) -> Value {
        json!({
            "count": self.count,
            "p50_ms": round3(self.p50_ms),
            "p90_ms": round3(self.p90_ms),
            "p99_ms": round3(self.p99_ms),
            "max_ms": round3(self.max_ms),
            "mean_ms": round3(self.mean_ms),
        })
    }

    /// `p50 1.234 ms, p99 5.678 ms` for a printed line.
    pub fn short(&self) -> String {
        format!(
            "p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms (n={})",
            self.p50_ms, self.p90_ms, self.p99_ms, self.max_ms, self.count
        )
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The figures of one scenario.
#[derive(Clone, Debug)]
pub struct Figures {
    name: String,
    values: Map<String, Value>,
    goals: Vec<Value>,
    notes: Vec<String>,
    line: Vec<String>,
}

impl Figures {
    /// Figures of scenario `name`.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            values: Map::new(),
            goals: Vec::new(),
            notes: Vec::new(),
            line: Vec::new(),
        }
    }

    /// Record a figure (also printed on the scenario's line).
    pub fn value(&mut self, key: &str, v: impl Into<Value>) -> &mut Self {
        let v = v.into();
        self.line.push(format!("{key}={}", compact(&v)));
        self.values.insert(key.to_string(), v);
        self
    }

    /// Record a latency summary under `key`.
    pub fn latency(&mut self, key: &str, s: &Summary) -> &mut Self {
        self.line.push(format!("{key}: {}", s.short()));
        self.values.insert(key.to_string(), s.to_json());
        self
    }

    /// Compare a measured figure with its goal; `at_most` goals are latencies and sizes,
    /// others are throughputs. The ratio is always measured / goal.
    pub fn goal(&mut self, figure: &str, measured: f64, goal: f64, at_most: bool) -> &mut Self {
        let met = if at_most {
            measured <= goal
        } else {
            measured >= goal
        };
        let ratio = if goal == 0.0 {
            f64::NAN
        } else {
            measured / goal
        };
        let relation = if at_most { "<=" } else { ">=" };
        self.line.push(format!(
            "goal {figure} {relation} {goal}: {measured:.3} (x{ratio:.2}) {}",
            if met { "MET" } else { "MISSED" }
        ));
        self.goals.push(json!({
            "figure": figure,
            "goal": goal,
            "relation": relation,
            "measured": round3(measured),
            "ratio_measured_to_goal": round3(ratio),
            "met": met,
        }));
        self
    }

    /// A note (a cap reached, a client detail, an error seen).
    pub fn note(&mut self, note: impl Into<String>) -> &mut Self {
        let note = note.into();
        self.line.push(format!("note: {note}"));
        self.notes.push(note);
        self
    }

    /// Print the scenario's line to stdout.
    pub fn print(&self) {
        println!("{:<10} {}", self.name, self.line.join("; "));
    }

    /// As a JSON object.
    pub fn to_json(&self) -> Value {
        json!({ "scenario": self.name, "figures": self.values, "goals": self.goals, "notes": self.notes })
    }
}

fn compact(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{f:.3}"),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// All scenarios of one benchmark binary, with the conditions they ran under.
#[derive(Debug)]
pub struct Report {
    bench: String,
    started: String,
    load_before: String,
    scenarios: Vec<Figures>,
}

impl Report {
    /// A report for benchmark `bench` (the JSON file is `<bench>.json`).
    pub fn new(bench: &str) -> Self {
        Self {
            bench: bench.to_string(),
            started: jiff::Timestamp::now().to_string(),
            load_before: loadavg(),
            scenarios: Vec::new(),
        }
    }

    /// Add a scenario's figures, printing its line at once.
    pub fn push(&mut self, f: Figures) {
        f.print();
        self.scenarios.push(f);
    }

    /// Write `target/kubeproof-bench/<bench>.json` and return its path. Scenarios not run this
    /// time keep their previous figures, so running one scenario alone does not erase the others.
    pub fn write(&self) -> std::io::Result<PathBuf> {
        let dir = target_dir().join("kubeproof-bench");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{}.json", self.bench));
        let mut scenarios: Map<String, Value> = std::fs::read_to_string(&path)
            .ok()
            .and_then(|s| serde_json::from_str::<Value>(&s).ok())
            .and_then(|v| v.get("scenarios").and_then(Value::as_object).cloned())
            .unwrap_or_default();
        for f in &self.scenarios {
            let mut entry = f.to_json();
            entry["run"] = json!({
                "started": self.started,
                "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
                "loadavg_before": self.load_before,
                "loadavg_after": loadavg(),
                "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
            });
            scenarios.insert(f.name.clone(), entry);
        }
        let doc = json!({ "bench": self.bench, "scenarios": scenarios });
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&doc).expect("figures serialise") + "\n",
        )?;
        Ok(path)
    }
}

/// `/proc/loadavg`'s three averages, or an empty string where it is missing.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The workspace's target directory: `CARGO_TARGET_DIR` when set, else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("target")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_reports_percentiles_in_milliseconds() {
        let ds: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let s = Summary::of_durations(&ds);
        assert_eq!(s.count, 100);
        assert!((s.p50_ms - 50.0).abs() < 0.1, "{s:?}");
        assert!((s.p99_ms - 99.0).abs() < 0.1, "{s:?}");
        assert!((s.max_ms - 100.0).abs() < 0.1, "{s:?}");
    }

    #[test]
    fn a_missed_latency_goal_is_recorded_with_its_ratio() {
        let mut f = Figures::new("x");
        f.goal("p99_ms", 20.0, 10.0, true)
            .goal("creates_per_s", 6000.0, 5000.0, false);
        let v = f.to_json();
        assert_eq!(v["goals"][0]["met"], false);
        assert_eq!(v["goals"][0]["ratio_measured_to_goal"], 2.0);
        assert_eq!(v["goals"][1]["met"], true);
    }
}
