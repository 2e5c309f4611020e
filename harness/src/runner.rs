//! The runner: parallel tests first, then Serial tests one at a time, reporting each as it ends.

use std::time::Duration;

use futures::StreamExt as _;
use reports::{Outcome, TestResult};
use suites::{Tag, TestDef};

use crate::execute::{ExecSettings, execute, tag_name};
use crate::target::TestEnv;

/// How a run executes its tests.
#[derive(Clone, Copy, Debug)]
pub struct RunSettings {
    /// Tests in flight at once (Serial tests excepted).
    pub parallel: usize,
    /// How every test is executed.
    pub exec: ExecSettings,
}

/// The default `--parallel`: the machine's parallelism, but at least 2 since tests mostly wait on
/// the API server.
pub fn default_parallelism() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(2)
}

/// Run `tests` against `env`, calling `on_result` as each finishes; returns every result in the
/// order they finished.
pub async fn run_all(
    tests: Vec<TestDef>,
    env: &TestEnv,
    settings: RunSettings,
    on_result: impl FnMut(&TestResult),
) -> Vec<TestResult> {
    let exec = settings.exec;
    let run = |def: TestDef| {
        let env = env.clone();
        async move { execute(&def, &env, exec).await }
    };
    run_with(tests, settings.parallel, run, on_result).await
}

/// The scheduling of [`run_all`], apart from how one test is executed (so it can be tested
/// without a cluster).
async fn run_with<F, Fut>(
    tests: Vec<TestDef>,
    parallel: usize,
    run: F,
    mut on_result: impl FnMut(&TestResult),
) -> Vec<TestResult>
where
    F: Fn(TestDef) -> Fut,
    Fut: Future<Output = TestResult> + Send + 'static,
{
    let (serial, parallel_tests): (Vec<_>, Vec<_>) =
        tests.into_iter().partition(|t| t.has(Tag::Serial));
    let mut results = Vec::with_capacity(serial.len() + parallel_tests.len());

    // Each test in its own task, so tests really run on the runtime's threads in parallel and a
    // test that blocks its thread cannot stall the reporting of the others.
    let spawn = |def: TestDef| {
        let fallback = def.clone();
        // Aborted when dropped: a run that is itself dropped (Ctrl-C) leaves no test running.
        let task = AbortOnDrop(tokio::spawn(run(def)));
        async move { task.await.unwrap_or_else(|err| crashed(&fallback, err)) }
    };
    let mut in_flight = futures::stream::iter(parallel_tests)
        .map(&spawn)
        .buffer_unordered(parallel.max(1));
    while let Some(result) = in_flight.next().await {
        on_result(&result);
        results.push(result);
    }
    drop(in_flight);

    for def in serial {
        let result = spawn(def).await;
        on_result(&result);
        results.push(result);
    }
    results
}

/// A task handle that aborts its task when dropped (tokio's only detaches it).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The harness itself failed around a test (a bug of ours, not of the test): still a result.
fn crashed(def: &TestDef, err: tokio::task::JoinError) -> TestResult {
    TestResult {
        name: def.full_name(),
        area: def.area.to_owned(),
        tags: def.tags.iter().map(tag_name).collect(),
        upstream: def.upstream.iter().map(|s| (*s).to_owned()).collect(),
        outcome: Outcome::Failed {
            message: format!("the harness failed while running this test: {err}"),
        },
        duration: Duration::ZERO,
        seed: None,
        namespace: None,
    }
}

/// The progress line for a finished test: `PASS namespaces::x (0.12s)`, with the failure
/// message and the test's seed on the following lines.
pub fn progress_line(result: &TestResult) -> String {
    let secs = result.duration.as_secs_f64();
    let label = result.outcome.label();
    match &result.outcome {
        Outcome::Passed => format!("{label:<7} {} ({secs:.2}s)", result.name),
        Outcome::Skipped { reason } => format!("{label:<7} {}: {reason}", result.name),
        Outcome::TimedOut => format!(
            "{label:<7} {} ({secs:.2}s){}",
            result.name,
            seed_note(result)
        ),
        Outcome::Failed { message } => {
            let mut line = format!(
                "{label:<7} {} ({secs:.2}s){}",
                result.name,
                seed_note(result)
            );
            for text in message.lines() {
                line.push_str("\n        ");
                line.push_str(text);
            }
            line
        }
    }
}

fn seed_note(result: &TestResult) -> String {
    result
        .seed
        .map(|seed| format!(" [test seed {seed}]"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use suites::{Need, TestContext, TestFuture};

    use super::*;

    fn passed(millis: u64) -> TestResult {
        TestResult {
            name: "namespaces::x".to_owned(),
            area: "namespaces".to_owned(),
            tags: vec![],
            upstream: vec![],
            outcome: Outcome::Passed,
            duration: Duration::from_millis(millis),
            seed: Some(5),
            namespace: None,
        }
    }

    #[test]
    fn progress_lines_read_like_nextest() {
        assert_eq!(progress_line(&passed(120)), "PASS    namespaces::x (0.12s)");
        let failed = TestResult {
            outcome: Outcome::Failed {
                message: "a\nb".to_owned(),
            },
            ..passed(5)
        };
        assert_eq!(
            progress_line(&failed),
            "FAIL    namespaces::x (0.01s) [test seed 5]\n        a\n        b"
        );
        let skipped = TestResult {
            outcome: Outcome::Skipped {
                reason: "needs kubectl".to_owned(),
            },
            ..passed(0)
        };
        assert_eq!(
            progress_line(&skipped),
            "SKIP    namespaces::x: needs kubectl"
        );
        let timed_out = TestResult {
            outcome: Outcome::TimedOut,
            ..passed(60_000)
        };
        assert_eq!(
            progress_line(&timed_out),
            "TIMEOUT namespaces::x (60.00s) [test seed 5]"
        );
    }

    #[test]
    fn default_parallelism_is_at_least_two() {
        assert!(default_parallelism() >= 2);
    }

    static RUNNING: AtomicUsize = AtomicUsize::new(0);
    static MAX_RUNNING: AtomicUsize = AtomicUsize::new(0);
    static SERIAL_OVERLAPPED: AtomicUsize = AtomicUsize::new(0);

    /// Counts how many bodies run at once; a Serial body records any overlap.
    fn body(serial: bool) -> TestFuture {
        Box::pin(async move {
            let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
            MAX_RUNNING.fetch_max(now, Ordering::SeqCst);
            if serial && now > 1 {
                SERIAL_OVERLAPPED.fetch_add(1, Ordering::SeqCst);
            }
            // Let the other tasks in: parallel bodies get the chance to overlap.
            for _ in 0..20 {
                tokio::task::yield_now().await;
            }
            RUNNING.fetch_sub(1, Ordering::SeqCst);
            Ok(())
        })
    }
    fn parallel_body(_: TestContext) -> TestFuture {
        body(false)
    }
    fn serial_body(_: TestContext) -> TestFuture {
        body(true)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn parallel_tests_overlap_and_serial_tests_run_last_one_at_a_time() {
        let def = |name, serial: bool| TestDef {
            area: "fake",
            name,
            tags: if serial { &[Tag::Serial] } else { &[] },
            needs: &[],
            upstream: &[],
            run: if serial { serial_body } else { parallel_body },
        };
        let tests = vec![
            def("s1", true),
            def("p1", false),
            def("p2", false),
            def("s2", true),
            def("p3", false),
        ];
        let run = |def: TestDef| async move {
            let ctx = crate::test_support::offline_context();
            let (outcome, duration) =
                crate::execute::run_test(&def, ctx, Duration::from_secs(5)).await;
            TestResult {
                outcome,
                duration,
                ..crate::test_support::result_of(&def)
            }
        };
        let mut seen = Vec::new();
        let results = run_with(tests, 3, run, |r| seen.push(r.name.clone())).await;
        assert_eq!(
            &seen[3..],
            ["fake::s1", "fake::s2"],
            "Serial tests come last, in order"
        );
        assert!(
            results.iter().all(|r| r.outcome == Outcome::Passed),
            "{results:?}"
        );
        assert_eq!(SERIAL_OVERLAPPED.load(Ordering::SeqCst), 0);
        assert!(
            MAX_RUNNING.load(Ordering::SeqCst) >= 2,
            "parallel tests never overlapped"
        );
    }

    #[tokio::test]
    async fn unmet_needs_are_reported_skipped_without_a_cluster() {
        let ctx = crate::test_support::offline_context();
        let env = TestEnv {
            client: ctx.client,
            kubeconfig: ctx.kubeconfig,
            server: ctx.server,
            capabilities: crate::Capabilities {
                kubectl: false,
                node_control: false,
                real_nodes: false,
            },
            nodes: None,
        };
        let tests = vec![TestDef {
            area: "fake",
            name: "needs_kubectl",
            tags: &[],
            needs: &[Need::Kubectl],
            upstream: &[],
            run: parallel_body,
        }];
        let settings = RunSettings {
            parallel: 2,
            exec: ExecSettings {
                seed: 1,
                timeout: Duration::from_secs(5),
            },
        };
        let results = run_all(tests, &env, settings, |_| {}).await;
        assert!(
            matches!(&results[0].outcome, Outcome::Skipped { reason } if reason.contains("kubectl")),
            "{results:?}"
        );
    }
}
