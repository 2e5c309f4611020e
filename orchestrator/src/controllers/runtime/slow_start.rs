//! Slow-start batches (upstream `slowStartBatch` in `replica_set.go`): create in batches of 1, 2,
//! 4, … and stop at the first batch with a failure, so a controller whose creates all fail (a
//! quota, an admission webhook) makes one failing call, not hundreds.

/// The first batch's size (upstream `SlowStartInitialBatchSize`).
pub(crate) const INITIAL_BATCH: usize = 1;

/// Run `f` up to `count` times in doubling batches; a batch with an error ends the run after it
/// completes. Returns how many calls succeeded and the first error.
pub(crate) fn slow_start_batch<E>(
    count: usize,
    mut f: impl FnMut(usize) -> Result<(), E>,
) -> (usize, Option<E>) {
    let mut remaining = count;
    let mut batch = INITIAL_BATCH.min(remaining);
    let mut succeeded = 0;
    let mut index = 0;
    while batch > 0 {
        let mut first_error = None;
        for _ in 0..batch {
            match f(index) {
                Ok(()) => succeeded += 1,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
            index += 1;
        }
        if first_error.is_some() {
            return (succeeded, first_error);
        }
        remaining -= batch;
        batch = (2 * batch).min(remaining);
    }
    (succeeded, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_succeeding_runs_every_call_in_doubling_batches() {
        let mut calls = 0;
        let (ok, err) = slow_start_batch::<()>(10, |_| {
            calls += 1;
            Ok(())
        });
        assert_eq!((ok, err, calls), (10, None, 10));
    }

    #[test]
    fn a_failure_stops_after_the_batch_it_happened_in() {
        // Batches 1, 2, 4: the call with index 3 (the first of the third batch) fails, the rest of
        // that batch still runs, and no fourth batch starts.
        let mut calls = Vec::new();
        let (ok, err) = slow_start_batch(20, |i| {
            calls.push(i);
            if i == 3 { Err("quota") } else { Ok(()) }
        });
        assert_eq!(calls, vec![0, 1, 2, 3, 4, 5, 6]);
        assert_eq!((ok, err), (6, Some("quota")));
    }

    #[test]
    fn every_call_failing_makes_one_call() {
        let mut calls = 0;
        let (ok, err) = slow_start_batch(500, |_| {
            calls += 1;
            Err(())
        });
        assert_eq!((ok, err, calls), (0, Some(()), 1));
    }

    #[test]
    fn zero_calls_do_nothing() {
        let (ok, err) = slow_start_batch::<()>(0, |_| panic!("no call"));
        assert_eq!((ok, err), (0, None));
    }
}
