//! One registry test as a standalone trial, for test runners that run each test in its own
//! process with its own cluster (`suites/tests/e2e.rs` under nextest or `cargo test`).
//!
//! Kept here rather than in the test binary so the decisions — what is skipped before running,
//! how an outcome becomes a trial's end — have unit tests.

use std::time::Duration;

use reports::{Outcome, TestResult};
use suites::{Tag, TestDef};

use crate::commands::error_chain;
use crate::execute::{ExecSettings, execute};
use crate::target::{Capabilities, Target, TargetOptions};

/// How a trial ends, in the terms test runners know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrialEnd {
    /// It passed.
    Passed,
    /// It did not run; the reason.
    Skipped(String),
    /// It failed or timed out; the message, ending with how to replay it.
    Failed(String),
}

/// Why `def` is not run by default, known before running: tagged Slow or Disruptive (run when
/// asked for), or needing what the target cannot give (it would only be skipped).
pub fn ignored_at_list_time(def: &TestDef, capabilities: &Capabilities) -> Option<String> {
    if def.has(Tag::Slow) {
        return Some("tagged Slow".to_owned());
    }
    if def.has(Tag::Disruptive) {
        return Some("tagged Disruptive".to_owned());
    }
    capabilities.first_unmet(def.needs)
}

/// Boot a fresh embedded control plane, run `def` in a namespace of its own, shut down.
///
/// Blocking: builds its own runtime, so each trial is independent of the runner's threads.
pub fn run_trial(def: &TestDef, seed: u64, timeout: Duration) -> TrialEnd {
    crate::panics::install_panic_hook();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => return TrialEnd::Failed(format!("cannot start a tokio runtime: {err}")),
    };
    let result = runtime.block_on(async {
        let target = Target::start(&TargetOptions::default())
            .await
            .map_err(|err| format!("the embedded target did not start: {}", error_chain(&err)))?;
        let result = execute(def, target.env(), ExecSettings { seed, timeout }).await;
        // A test that leaks a watch must not hang the trial after it has ended.
        let _ = tokio::time::timeout(Duration::from_secs(10), target.shutdown()).await;
        Ok::<_, String>(result)
    });
    // Do not wait for tasks a cancelled test left behind.
    runtime.shutdown_background();
    match result {
        Ok(result) => trial_end(&result, seed, timeout),
        Err(message) => TrialEnd::Failed(message),
    }
}

/// How `result` ends its trial; failures name the seed and the command that replays them.
pub fn trial_end(result: &TestResult, seed: u64, timeout: Duration) -> TrialEnd {
    let replay = format!(
        "[run seed {seed}; replay: KUBEPROOF_SEED={seed} cargo nextest run -p suites --test e2e \
         -E 'test(={})']",
        result.name
    );
    match &result.outcome {
        Outcome::Passed => TrialEnd::Passed,
        Outcome::Skipped { reason } => TrialEnd::Skipped(reason.clone()),
        Outcome::Failed { message } => TrialEnd::Failed(format!("{message}\n{replay}")),
        Outcome::TimedOut => TrialEnd::Failed(format!(
            "timed out after {:.1}s (KUBEPROOF_TIMEOUT={})\n{replay}",
            result.duration.as_secs_f64(),
            timeout.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use suites::{Need, TestContext, TestFuture};

    use super::*;

    fn pass(_: TestContext) -> TestFuture {
        Box::pin(async { Ok(()) })
    }

    fn def(tags: &'static [Tag], needs: &'static [Need]) -> TestDef {
        TestDef {
            area: "fake",
            name: "fake_test",
            tags,
            upstream: &[],
            needs,
            run: pass,
        }
    }

    #[test]
    fn slow_disruptive_and_unservable_tests_are_ignored_when_listed() {
        let caps = Capabilities {
            kubectl: true,
            node_control: false,
            real_nodes: false,
        };
        assert_eq!(
            ignored_at_list_time(&def(&[Tag::Conformance], &[Need::Kubectl]), &caps),
            None
        );
        assert_eq!(
            ignored_at_list_time(&def(&[Tag::Slow], &[]), &caps).as_deref(),
            Some("tagged Slow")
        );
        assert_eq!(
            ignored_at_list_time(&def(&[Tag::Disruptive, Tag::Serial], &[]), &caps).as_deref(),
            Some("tagged Disruptive")
        );
        assert!(
            ignored_at_list_time(&def(&[], &[Need::NodeControl]), &caps)
                .unwrap()
                .contains("control over nodes")
        );
        // Serial alone is no reason: each trial has a cluster of its own.
        assert_eq!(ignored_at_list_time(&def(&[Tag::Serial], &[]), &caps), None);
    }

    #[test]
    fn outcomes_end_trials_and_failures_say_how_to_replay() {
        let mut result = crate::test_support::result_of(&def(&[], &[]));
        let timeout = Duration::from_secs(60);
        assert_eq!(trial_end(&result, 9, timeout), TrialEnd::Passed);

        result.outcome = Outcome::Skipped {
            reason: "no IPv6".into(),
        };
        assert_eq!(
            trial_end(&result, 9, timeout),
            TrialEnd::Skipped("no IPv6".into())
        );

        result.outcome = Outcome::Failed {
            message: "boom".into(),
        };
        let TrialEnd::Failed(message) = trial_end(&result, 9, timeout) else {
            panic!("a failure must fail the trial")
        };
        assert!(
            message.starts_with("boom\n[run seed 9; replay: KUBEPROOF_SEED=9 "),
            "{message}"
        );
        assert!(message.contains("-E 'test(=fake::fake_test)'"), "{message}");

        result.outcome = Outcome::TimedOut;
        result.duration = timeout;
        let TrialEnd::Failed(message) = trial_end(&result, 9, timeout) else {
            panic!("a timeout must fail the trial")
        };
        assert!(
            message.starts_with("timed out after 60.0s (KUBEPROOF_TIMEOUT=60)"),
            "{message}"
        );
    }
}
