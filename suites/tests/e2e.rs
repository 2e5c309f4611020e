//! Runs the registry under `cargo nextest run` and `cargo test`: every `suites::all()` test is one
//! trial named by `TestDef::full_name()` (`namespaces::deleting_namespace_removes_its_objects`),
//! and each trial boots its own embedded control plane, so trials share nothing and nextest can
//! run them in parallel processes.
//!
//! How skips show up (libtest-mimic has two kinds, nextest only the first):
//! - Known before running — tagged Slow or Disruptive, or needing what the embedded target lacks
//!   (`kubectl` not on the PATH, node control, real nodes) — the trial is marked *ignored* at
//!   list time. nextest and `cargo test` both count it as skipped/ignored, never passed; run
//!   them with `cargo nextest run --run-ignored all` (or the `slow` profile).
//! - Found at run time (the test returns `Skipped`, or an ignored trial was forced to run and its
//!   need is unmet): the trial prints `skipped: <reason>` and ends as libtest-mimic's runtime
//!   *ignored*. `cargo test` reports it `ignored, <reason>`; nextest, which knows only exit codes,
//!   reports it as passed with that line in its output. `kubeproof run` reports it skipped.
//!
//! Environment: `KUBEPROOF_SEED` pins the run seed (default: random, printed on failure);
//! `KUBEPROOF_TIMEOUT` sets each test's timeout in seconds (default 60).

use std::process::ExitCode;
use std::time::Duration;

use harness::{
    Capabilities, ExecSettings, Outcome, Target, TargetKind, TargetOptions, error_chain, execute,
    seed,
};
use libtest_mimic::{Arguments, Completion, Failed, Trial};
use suites::{Tag, TestDef};

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let seed = env_u64("KUBEPROOF_SEED").unwrap_or_else(seed::random_seed);
    let timeout = Duration::from_secs(env_u64("KUBEPROOF_TIMEOUT").unwrap_or(60));
    let capabilities = Capabilities::of(TargetKind::Embedded);
    let trials = suites::all()
        .into_iter()
        .map(|def| {
            let ignored = ignored_at_list_time(&def, &capabilities);
            Trial::ignorable_test(def.full_name(), move || run_trial(&def, seed, timeout))
                .with_ignored_flag(ignored)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}

/// Whether the trial is marked ignored when listed: slow or disruptive tests run only when asked
/// for, and tests the embedded target cannot serve would only be skipped.
fn ignored_at_list_time(def: &TestDef, capabilities: &Capabilities) -> bool {
    def.has(Tag::Slow) || def.has(Tag::Disruptive) || capabilities.first_unmet(def.needs).is_some()
}

fn run_trial(def: &TestDef, seed: u64, timeout: Duration) -> Result<Completion, Failed> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|err| format!("cannot start a tokio runtime: {err}"))?;
    let result = runtime.block_on(async {
        let target = Target::start(&TargetOptions::default())
            .await
            .map_err(|err| format!("the embedded target did not start: {}", error_chain(&err)))?;
        let result = execute(def, target.env(), ExecSettings { seed, timeout }).await;
        // A test that leaks a watch must not hang the trial after it has passed.
        let _ = tokio::time::timeout(Duration::from_secs(10), target.shutdown()).await;
        Ok::<_, String>(result)
    });
    // Do not wait for tasks a cancelled test left behind.
    runtime.shutdown_background();
    let result = result?;
    let replay = format!(
        "[run seed {seed}; replay: KUBEPROOF_SEED={seed} cargo nextest run -p suites --test e2e -E 'test(={})']",
        result.name
    );
    match result.outcome {
        Outcome::Passed => Ok(Completion::Completed),
        Outcome::Skipped { reason } => {
            println!("skipped: {reason}");
            Ok(Completion::ignored_with(reason))
        }
        Outcome::Failed { message } => Err(format!("{message}\n{replay}").into()),
        Outcome::TimedOut => Err(format!(
            "timed out after {:.1}s (KUBEPROOF_TIMEOUT={})\n{replay}",
            result.duration.as_secs_f64(),
            timeout.as_secs()
        )
        .into()),
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    match value.parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={value:?} is not a whole number"),
    }
}
