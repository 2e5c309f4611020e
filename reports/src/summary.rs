//! `summary.md`: what a person reads first — totals, a per-area table, each failure with its
//! message, and how to replay the run.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::{Outcome, Results, Totals};

/// Render `results` as Markdown.
pub fn to_markdown(results: &Results) -> String {
    let run = &results.run;
    let totals = results.totals();
    let elapsed = run.finished_at.duration_since(run.started_at);
    let mut md = String::new();

    // `writeln!` into a String cannot fail; the `let _` keeps that obvious without unwraps.
    let _ = writeln!(md, "# kubeproof results\n");
    let _ = writeln!(md, "**{}**\n", totals.line());
    if totals.timed_out > 0 {
        let _ = writeln!(md, "{} of the failures timed out.\n", totals.timed_out);
    }
    let server_version = run
        .target
        .server_version
        .as_deref()
        .unwrap_or("unknown version");
    let _ = writeln!(md, "- target: `{}` ({server_version})", run.target.name);
    let _ = writeln!(md, "- seed: `{}`", run.seed);
    let _ = writeln!(
        md,
        "- started {}, took {:.1}s",
        run.started_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        elapsed.as_secs_f64()
    );
    let _ = writeln!(md, "- {} {}", run.tool.name, run.tool.version);
    let _ = writeln!(
        md,
        "- machine: {} ({} cores, {})\n",
        run.machine.hostname, run.machine.cores, run.machine.os
    );

    area_table(&mut md, results);

    let failures: Vec<_> = results
        .tests
        .iter()
        .filter(|t| t.outcome.is_failure())
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(md, "## Failures\n");
        for test in failures {
            let _ = writeln!(
                md,
                "### `{}` — {} after {:.2}s\n",
                test.name,
                test.outcome.label(),
                test.duration.as_secs_f64()
            );
            let message = match &test.outcome {
                Outcome::Failed { message } => message.clone(),
                _ => format!("did not finish within {:.1}s", test.duration.as_secs_f64()),
            };
            let _ = writeln!(md, "```text\n{}\n```\n", message.trim_end());
        }
    }

    let skipped: Vec<_> = results
        .tests
        .iter()
        .filter_map(|t| match &t.outcome {
            Outcome::Skipped { reason } => Some((t, reason)),
            _ => None,
        })
        .collect();
    if !skipped.is_empty() {
        let _ = writeln!(md, "## Skipped\n");
        for (test, reason) in skipped {
            let _ = writeln!(md, "- `{}`: {}", test.name, reason);
        }
        let _ = writeln!(md);
    }

    let _ = writeln!(md, "## Replay\n");
    let _ = writeln!(
        md,
        "The same selection with the same seed (per-test seeds derive from it):\n"
    );
    let replay = if run.replay.is_empty() {
        format!("kubeproof run --seed {}", run.seed)
    } else {
        run.replay.clone()
    };
    let _ = writeln!(md, "```sh\n{replay}\n```");
    md
}

fn area_table(md: &mut String, results: &Results) {
    if results.tests.is_empty() {
        let _ = writeln!(md, "No test was selected.\n");
        return;
    }
    let mut by_area: BTreeMap<&str, Totals> = BTreeMap::new();
    for test in &results.tests {
        let totals = by_area.entry(test.area.as_str()).or_default();
        match test.outcome {
            Outcome::Passed => totals.passed += 1,
            Outcome::Failed { .. } => totals.failed += 1,
            Outcome::Skipped { .. } => totals.skipped += 1,
            Outcome::TimedOut => totals.timed_out += 1,
        }
    }
    let _ = writeln!(md, "| area | passed | failed | timed out | skipped |");
    let _ = writeln!(md, "|---|---:|---:|---:|---:|");
    for (area, t) in by_area {
        let _ = writeln!(
            md,
            "| {area} | {} | {} | {} | {} |",
            t.passed, t.failed, t.timed_out, t.skipped
        );
    }
    let _ = writeln!(md);
}
