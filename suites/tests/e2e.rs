//! Runs the registry under `cargo nextest run` and `cargo test`: every `suites::all()` test is one
//! trial named by `TestDef::full_name()` (`namespaces::deleting_namespace_removes_its_objects`),
//! and each trial boots its own embedded control plane, so trials share nothing and nextest can
//! run them in parallel processes. The decisions live in `harness::trial`, where they are tested.
//!
//! How skips show up (libtest-mimic has two kinds of "ignored"; nextest knows only the first):
//! - Known before running — tagged Slow or Disruptive, or needing what the embedded target lacks
//!   (`kubectl` not on the PATH, node control, real nodes) — the trial is marked *ignored* when
//!   listed. nextest and `cargo test` both count it as skipped/ignored, never passed; run them
//!   with `cargo nextest run --run-ignored only` (the `slow` profile allows for their length).
//! - Found at run time (the test returns `Skipped`, or an ignored trial was forced to run and its
//!   need is unmet): the trial prints `skipped: <reason>` and ends as libtest-mimic's runtime
//!   *ignored*. `cargo test` reports it `ignored, <reason>`; nextest, which judges a test process
//!   by its exit code alone, reports it as passed, with that line in its captured output.
//!   `kubeproof run` reports it skipped.
//!
//! Environment: `KUBEPROOF_SEED` pins the run seed (default: random, printed with each failure);
//! `KUBEPROOF_TIMEOUT` sets each test's timeout in seconds (default 60).

use std::process::ExitCode;
use std::time::Duration;

use harness::trial::{TrialEnd, ignored_at_list_time, run_trial};
use harness::{Capabilities, TargetKind, seed};
use libtest_mimic::{Arguments, Completion, Trial};

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let seed = env_u64("KUBEPROOF_SEED").unwrap_or_else(seed::random_seed);
    let timeout = Duration::from_secs(env_u64("KUBEPROOF_TIMEOUT").unwrap_or(60));
    let capabilities = Capabilities::of(TargetKind::Embedded);
    let trials = suites::all()
        .into_iter()
        .map(|def| {
            let ignored = ignored_at_list_time(&def, &capabilities).is_some();
            Trial::ignorable_test(def.full_name(), move || {
                match run_trial(&def, seed, timeout) {
                    TrialEnd::Passed => Ok(Completion::Completed),
                    TrialEnd::Skipped(reason) => {
                        println!("skipped: {reason}");
                        Ok(Completion::ignored_with(reason))
                    }
                    TrialEnd::Failed(message) => Err(message.into()),
                }
            })
            .with_ignored_flag(ignored)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    match value.parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={value:?} is not a whole number of seconds or a seed"),
    }
}
