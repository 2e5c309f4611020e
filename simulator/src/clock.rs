//! Simulated time. Every duration of the node model (lease renewal, status reports, image pulls,
//! probe periods, back-offs, behaviour delays) is model time; [`SimClock::real`] turns it into
//! the wall-clock duration the simulator actually waits. A factor above 1 runs the model faster
//! than real time, so that tests see a 10 s CrashLoopBackOff in a second. Timestamps written to
//! the API are always real (`jiff::Timestamp::now()`).

use std::time::Duration;

/// Model-time to real-time conversion.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimClock {
    factor: f64,
}

impl Default for SimClock {
    /// Real time, as a kubelet.
    fn default() -> Self {
        Self { factor: 1.0 }
    }
}

impl SimClock {
    /// A clock running `factor` times faster than real time. Factors below 1 slow it down.
    ///
    /// # Panics
    /// When `factor` is not a positive finite number (a configuration error caught earlier by
    /// [`crate::Profile::validate`]).
    pub fn new(factor: f64) -> Self {
        assert!(
            factor.is_finite() && factor > 0.0,
            "clock factor must be a positive number, got {factor}"
        );
        Self { factor }
    }

    /// How many times faster than real time the model runs.
    pub fn factor(&self) -> f64 {
        self.factor
    }

    /// The real duration of `model` time.
    pub fn real(&self, model: Duration) -> Duration {
        if self.factor == 1.0 {
            return model;
        }
        model.div_f64(self.factor)
    }

    /// The real duration of `seconds` of model time.
    pub fn real_secs(&self, seconds: f64) -> Duration {
        self.real(Duration::from_secs_f64(seconds.max(0.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_faster_clock_divides_model_time() {
        let clock = SimClock::new(10.0);
        assert_eq!(clock.real(Duration::from_secs(10)), Duration::from_secs(1));
        assert_eq!(clock.real_secs(300.0), Duration::from_secs(30));
        assert_eq!(
            SimClock::default().real(Duration::from_millis(7)),
            Duration::from_millis(7)
        );
    }

    #[test]
    #[should_panic(expected = "positive")]
    fn a_zero_factor_is_refused() {
        SimClock::new(0.0);
    }
}
