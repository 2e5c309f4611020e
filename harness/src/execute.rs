//! Running one test: its needs, its namespace, its timeout, and how whatever happened becomes an
//! [`Outcome`]. A failing, panicking or hanging test is a value here, never a crash of the run.

use std::any::Any;
use std::time::Duration;

use reports::{Outcome, TestResult};
use suites::{Skipped, TestContext, TestDef};
use tokio::task::JoinError;

use crate::namespace;
use crate::panics;
use crate::seed;
use crate::target::TestEnv;

/// How every test of a run is executed.
#[derive(Clone, Copy, Debug)]
pub struct ExecSettings {
    /// The run's seed.
    pub seed: u64,
    /// How long each test may take.
    pub timeout: Duration,
}

/// Run `def` against `env`: skip it when a need is unmet, otherwise create its namespace, run it
/// with the timeout, and ask for the namespace's deletion.
pub async fn execute(def: &TestDef, env: &TestEnv, settings: ExecSettings) -> TestResult {
    let name = def.full_name();
    let test_seed = seed::test_seed(settings.seed, &name);
    let mut result = TestResult {
        name,
        area: def.area.to_owned(),
        tags: def.tags.iter().map(tag_name).collect(),
        upstream: def.upstream.iter().map(|s| (*s).to_owned()).collect(),
        outcome: Outcome::Passed,
        duration: Duration::ZERO,
        seed: Some(test_seed),
        namespace: None,
    };
    if let Some(reason) = env.capabilities.first_unmet(def.needs) {
        result.outcome = Outcome::Skipped { reason };
        return result;
    }
    let ns =
        match namespace::create_namespace(&env.client, def.name, settings.seed, test_seed).await {
            Ok(ns) => ns,
            Err(err) => {
                result.outcome = Outcome::Failed {
                    message: format!("could not create the test's namespace: {err}"),
                };
                return result;
            }
        };
    result.namespace = Some(ns.clone());
    let ctx = TestContext {
        client: env.client.clone(),
        namespace: ns.clone(),
        kubeconfig: env.kubeconfig.clone(),
        server: env.server.clone(),
        seed: test_seed,
        timeout: settings.timeout,
        nodes: env.nodes.clone(),
    };
    let (outcome, duration) = run_test(def, ctx, settings.timeout).await;
    result.outcome = outcome;
    result.duration = duration;
    namespace::delete_namespace(&env.client, &ns).await;
    result
}

/// Run the test body alone (no namespace handling) and map how it ended to an [`Outcome`].
///
/// The body runs in its own task so that a panic is caught by the task (and reported with its
/// message) and a timeout can abort it.
pub async fn run_test(def: &TestDef, ctx: TestContext, timeout: Duration) -> (Outcome, Duration) {
    let run = def.run;
    // tokio's clock, so tests with paused time see the timeout as elapsed time.
    let started = tokio::time::Instant::now();
    // Calling `run` inside the task, not here, so that a panic while building the future is
    // caught too.
    let mut task = tokio::spawn(async move {
        panics::enter_test_task();
        run(ctx).await
    });
    let joined = tokio::time::timeout(timeout, &mut task).await;
    let elapsed = started.elapsed();
    let outcome = match joined {
        Ok(joined) => {
            let location = panics::leave_test_task(task.id());
            outcome_of(joined, location.as_deref())
        }
        Err(_) => {
            task.abort();
            panics::leave_test_task(task.id());
            Outcome::TimedOut
        }
    };
    (outcome, elapsed)
}

/// Map a finished test task to its outcome; `panic_location` is where it panicked, when known.
pub fn outcome_of(
    joined: Result<anyhow::Result<()>, JoinError>,
    panic_location: Option<&str>,
) -> Outcome {
    match joined {
        Ok(Ok(())) => Outcome::Passed,
        Ok(Err(err)) => match err.chain().find_map(|e| e.downcast_ref::<Skipped>()) {
            Some(Skipped(reason)) => Outcome::Skipped {
                reason: reason.clone(),
            },
            // `{:#}` prints the whole context chain on one line: `waiting for X: timed out`.
            None => Outcome::Failed {
                message: format!("{err:#}"),
            },
        },
        Err(join) if join.is_panic() => {
            let message = panic_message(join.into_panic().as_ref()).to_owned();
            let message = match panic_location {
                Some(location) => format!("panicked at {location}: {message}"),
                None => format!("panicked: {message}"),
            };
            Outcome::Failed { message }
        }
        Err(_) => Outcome::Failed {
            message: "the test's task was cancelled".to_owned(),
        },
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(a panic payload that is not a string)"
    }
}

/// A tag as results and `kubeproof list` show it: `Conformance`, `Feature:X`.
pub fn tag_name(tag: &suites::Tag) -> String {
    match tag {
        suites::Tag::Feature(name) => format!("Feature:{name}"),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use anyhow::Context as _;
    use suites::{Tag, TestFuture};

    use super::*;

    use crate::test_support::offline_context;

    fn def(run: fn(TestContext) -> TestFuture) -> TestDef {
        TestDef {
            area: "fake",
            name: "fake_test",
            tags: &[Tag::Conformance, Tag::Feature("Hollow")],
            upstream: &[],
            needs: &[],
            run,
        }
    }

    fn passes(_: TestContext) -> TestFuture {
        Box::pin(async { Ok(()) })
    }
    fn fails(ctx: TestContext) -> TestFuture {
        Box::pin(async move {
            Err(anyhow::anyhow!("pod never became ready"))
                .with_context(|| format!("waiting in {}", ctx.namespace))
        })
    }
    fn skips(_: TestContext) -> TestFuture {
        Box::pin(async { Err(Skipped("server lacks Feature:X".to_owned()).into()) })
    }
    fn skips_under_context(_: TestContext) -> TestFuture {
        Box::pin(async {
            Err(anyhow::Error::new(Skipped("no IPv6".to_owned())).context("checking the stack"))
        })
    }
    fn panics_in_future(_: TestContext) -> TestFuture {
        Box::pin(async { panic!("assertion failed: boom {}", 42) })
    }
    fn panics_before_future(_: TestContext) -> TestFuture {
        panic!("static panic")
    }
    fn hangs(_: TestContext) -> TestFuture {
        Box::pin(std::future::pending())
    }

    async fn outcome(run: fn(TestContext) -> TestFuture, timeout: Duration) -> Outcome {
        run_test(&def(run), offline_context(), timeout).await.0
    }

    #[tokio::test]
    async fn outcomes_map_passes_failures_and_skips() {
        let t = Duration::from_secs(5);
        assert_eq!(outcome(passes, t).await, Outcome::Passed);
        assert_eq!(
            outcome(fails, t).await,
            Outcome::Failed {
                message: "waiting in kp-fake-0000: pod never became ready".to_owned()
            }
        );
        assert_eq!(
            outcome(skips, t).await,
            Outcome::Skipped {
                reason: "server lacks Feature:X".to_owned()
            }
        );
        assert_eq!(
            outcome(skips_under_context, t).await,
            Outcome::Skipped {
                reason: "no IPv6".to_owned()
            }
        );
    }

    fn failure_message(outcome: Outcome) -> String {
        match outcome {
            Outcome::Failed { message } => message,
            other => panic!("not a failure: {other:?}"),
        }
    }

    #[tokio::test]
    async fn panics_are_failures_with_the_panic_message_and_location() {
        crate::panics::install_panic_hook();
        let t = Duration::from_secs(5);
        let message = failure_message(outcome(panics_in_future, t).await);
        assert!(
            message.starts_with("panicked at harness/src/execute.rs:"),
            "{message}"
        );
        assert!(
            message.ends_with(": assertion failed: boom 42"),
            "{message}"
        );
        let message = failure_message(outcome(panics_before_future, t).await);
        assert!(
            message.starts_with("panicked at harness/src/execute.rs:"),
            "{message}"
        );
        assert!(message.ends_with(": static panic"), "{message}");
    }

    #[tokio::test]
    async fn a_panic_without_a_known_location_still_names_its_message() {
        let joined =
            tokio::spawn(async { std::panic::panic_any::<String>("owned message".into()) })
                .await
                .map(|()| Ok(()));
        assert_eq!(
            outcome_of(joined, None),
            Outcome::Failed {
                message: "panicked: owned message".to_owned()
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_test_times_out() {
        // Paused time: the timeout elapses without the test waiting a real second.
        let (outcome, duration) =
            run_test(&def(hangs), offline_context(), Duration::from_secs(60)).await;
        assert_eq!(outcome, Outcome::TimedOut);
        assert!(duration >= Duration::from_secs(60), "{duration:?}");
    }

    #[tokio::test]
    async fn unmet_needs_skip_without_touching_the_cluster() {
        let mut def = def(passes);
        def.needs = &[suites::Need::RealNodes];
        let ctx = offline_context();
        let env = TestEnv {
            client: ctx.client,
            kubeconfig: ctx.kubeconfig,
            server: ctx.server,
            capabilities: crate::Capabilities {
                kubectl: true,
                node_control: false,
                real_nodes: false,
            },
            nodes: None,
        };
        let settings = ExecSettings {
            seed: 3,
            timeout: Duration::from_secs(5),
        };
        let result = execute(&def, &env, settings).await;
        assert!(
            matches!(&result.outcome, Outcome::Skipped { reason } if reason.contains("real nodes")),
            "{result:?}"
        );
        assert_eq!(result.tags, ["Conformance", "Feature:Hollow"]);
        assert_eq!(result.seed, Some(seed::test_seed(3, "fake::fake_test")));
        assert_eq!(result.namespace, None);
    }

    #[tokio::test]
    async fn an_unreachable_cluster_fails_the_test_at_its_namespace() {
        let ctx = offline_context();
        let env = TestEnv {
            client: ctx.client,
            kubeconfig: ctx.kubeconfig,
            server: ctx.server,
            capabilities: crate::Capabilities::of(crate::TargetKind::Embedded),
            nodes: None,
        };
        let settings = ExecSettings {
            seed: 3,
            timeout: Duration::from_secs(5),
        };
        let result = execute(&def(passes), &env, settings).await;
        assert!(
            matches!(&result.outcome, Outcome::Failed { message } if message.starts_with("could not create the test's namespace")),
            "{result:?}"
        );
    }
}
