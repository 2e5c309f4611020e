//! SchedulingThroughput as upstream scheduler_perf's `throughputCollector` measures it: the
//! number of scheduled pods sampled every second; the first sample after the first scheduled pod
//! only starts the clock (it is an outlier: sampling and creating start independently); an
//! interval in which nothing was scheduled is not recorded as 0 pods/s but merged into the next
//! one, whose rate is then recorded once per interval it spans; statistics are taken over the
//! sorted samples with upstream's index `ceil(n·p/100) − 1`.

use std::time::{Duration, Instant};

/// Upstream's `throughputSampleInterval`.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// Samples of the scheduled-pod count turned into per-interval rates.
#[derive(Clone, Debug)]
pub struct Collector {
    interval: Duration,
    started: bool,
    last_count: u64,
    last_time: Option<Instant>,
    skipped: usize,
    samples: Vec<f64>,
    first_sample: Option<Instant>,
}

impl Collector {
    /// A collector expecting a sample every `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            started: false,
            last_count: 0,
            last_time: None,
            skipped: 0,
            samples: Vec::new(),
            first_sample: None,
        }
    }

    /// The sample interval.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// A tick at `now`, when `scheduled` measured pods are scheduled in total.
    pub fn tick(&mut self, now: Instant, scheduled: u64) {
        if scheduled == 0 {
            return;
        }
        if !self.started {
            self.started = true;
            self.last_count = scheduled;
            self.last_time = Some(now);
            self.first_sample = Some(now);
            return;
        }
        let new = scheduled.saturating_sub(self.last_count);
        if new == 0 {
            self.skipped += 1;
            return;
        }
        let since = self.last_time.expect("set when started");
        let secs = now.saturating_duration_since(since).as_secs_f64();
        if secs > 0.0 {
            let rate = new as f64 / secs;
            for _ in 0..=self.skipped {
                self.samples.push(rate);
            }
        }
        self.skipped = 0;
        self.last_count = scheduled;
        self.last_time = Some(now);
    }

    /// The recorded per-interval rates, in order.
    pub fn samples(&self) -> &[f64] {
        &self.samples
    }

    /// The statistics of the samples; `None` when the measured pods were all scheduled within
    /// two samples (upstream: "Increase pods and/or nodes to make scheduling take longer").
    pub fn stats(&self) -> Option<Stats> {
        Stats::of(&self.samples)
    }
}

/// Summary of throughput samples (pods/s), as upstream's `DataItem` plus the maximum.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Number of samples.
    pub samples: usize,
    /// Mean of the samples (what thresholds compare against).
    pub average: f64,
    /// Upstream `Perc50`.
    pub p50: f64,
    /// Upstream `Perc90`.
    pub p90: f64,
    /// Upstream `Perc95`.
    pub p95: f64,
    /// Upstream `Perc99`.
    pub p99: f64,
    /// The largest sample.
    pub max: f64,
}

impl Stats {
    /// Statistics of `samples`; `None` when there are none.
    pub fn of(samples: &[f64]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let at = |p: usize| sorted[(n * p).div_ceil(100) - 1];
        Some(Stats {
            samples: n,
            average: sorted.iter().sum::<f64>() / n as f64,
            p50: at(50),
            p90: at(90),
            p95: at(95),
            p99: at(99),
            max: sorted[n - 1],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    #[test]
    fn the_first_sample_starts_the_clock_and_idle_intervals_merge_into_the_next() {
        let t0 = Instant::now();
        let mut c = Collector::new(SAMPLE_INTERVAL);
        c.tick(at(t0, 1000), 0); // nothing yet: ignored
        c.tick(at(t0, 2000), 50); // first: starts the clock
        c.tick(at(t0, 3000), 150); // 100 pods in 1 s
        c.tick(at(t0, 4000), 150); // none: skipped
        c.tick(at(t0, 5000), 350); // 200 pods over 2 s: 100/s, recorded twice
        c.tick(at(t0, 6000), 650); // 300/s
        assert_eq!(c.samples(), [100.0, 100.0, 100.0, 300.0]);
        let s = c.stats().unwrap();
        assert_eq!(s.samples, 4);
        assert_eq!(s.average, 150.0);
        assert_eq!((s.p50, s.p90, s.max), (100.0, 300.0, 300.0));
    }

    #[test]
    fn a_late_tick_divides_by_the_real_elapsed_time() {
        let t0 = Instant::now();
        let mut c = Collector::new(SAMPLE_INTERVAL);
        c.tick(t0, 10);
        c.tick(at(t0, 1250), 510);
        assert_eq!(c.samples(), [400.0]);
    }

    #[test]
    fn too_short_a_run_has_no_statistics() {
        let mut c = Collector::new(SAMPLE_INTERVAL);
        c.tick(Instant::now(), 10_000);
        assert_eq!(c.stats(), None);
    }

    #[test]
    fn percentiles_use_upstreams_index() {
        // 1..=100: Perc50 is the 50th value, Perc99 the 99th.
        let samples: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let s = Stats::of(&samples).unwrap();
        assert_eq!(
            (s.p50, s.p90, s.p95, s.p99, s.max),
            (50.0, 90.0, 95.0, 99.0, 100.0)
        );
        assert_eq!(s.average, 50.5);
        // Three samples: ceil(3·50/100) − 1 = 1, ceil(3·99/100) − 1 = 2.
        let s = Stats::of(&[30.0, 10.0, 20.0]).unwrap();
        assert_eq!((s.p50, s.p90, s.p99), (20.0, 30.0, 30.0));
    }
}
