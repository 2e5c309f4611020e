//! `kubeproof run`: the main job.

use std::path::PathBuf;
use std::time::Duration;

use reports::{Results, RunMetadata, SCHEMA_VERSION, TargetInfo};

use super::print_error;
use crate::cli::RunArgs;
use crate::execute::ExecSettings;
use crate::namespace::delete_run_namespaces;
use crate::runner::{RunSettings, default_parallelism, progress_line, run_all};
use crate::select::Selection;
use crate::target::{Target, TargetKind, TargetOptions, absolute};
use crate::{ExitCodes, metadata, seed};

/// Run the selected tests and write the results folder; returns the exit code.
pub async fn run(args: RunArgs) -> i32 {
    let registry = suites::all();
    let selection = match Selection::new(&args.selection, &registry) {
        Ok(selection) => selection,
        Err(err) => {
            print_error(&err);
            return ExitCodes::USAGE;
        }
    };
    let tests = selection.select(registry);
    let seed = args.seed.unwrap_or_else(seed::random_seed);
    let started_at = jiff::Timestamp::now();
    let out = absolute(
        &args
            .out
            .clone()
            .unwrap_or_else(|| default_out_dir(started_at)),
    );
    // Fail before booting anything when the results cannot be written.
    if let Err(err) = std::fs::create_dir_all(&out) {
        eprintln!(
            "kubeproof: error: cannot create the results folder {}: {err}; pass --out DIR",
            out.display()
        );
        return ExitCodes::USAGE;
    }
    println!("kubeproof: seed {seed}");
    let profile = match super::read_profile(args.profile.as_deref()) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let scheduler = match super::read_scheduler_config(args.scheduler_config.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if scheduler.is_some() && args.target != TargetKind::Embedded {
        eprintln!(
            "kubeproof: error: --scheduler-config configures the embedded scheduler; the \
             scheduler of a --target {} cluster is configured on that cluster",
            args.target.name()
        );
        return ExitCodes::USAGE;
    }

    let options = TargetOptions {
        kind: args.target,
        kubeconfig: args
            .kubeconfig
            .clone()
            .filter(|_| args.target != TargetKind::Embedded),
        port: 0,
        kubeconfig_out: args
            .kubeconfig
            .clone()
            .filter(|_| args.target == TargetKind::Embedded),
        nodes: args.nodes.map(|n| n as usize),
        profile,
        scheduler,
        seed,
    };
    let target = match Target::start(&options).await {
        Ok(target) => target,
        Err(err) => {
            let code = err.exit_code();
            print_error(&err);
            // Leave no empty results folder behind; one with files in it stays.
            let _ = std::fs::remove_dir(&out);
            return code;
        }
    };
    let env = target.env().clone();
    println!(
        "kubeproof: target {} at {} ({})",
        target.kind().name(),
        env.server,
        target.server_version().unwrap_or("version unknown")
    );
    let parallel = args.parallel.map_or_else(default_parallelism, usize::from);
    let timeout = Duration::from_secs(args.timeout);
    if tests.is_empty() {
        println!("kubeproof: no test matches the selection (see `kubeproof list`)");
    } else {
        let plural = if tests.len() == 1 { "" } else { "s" };
        println!(
            "kubeproof: running {} test{plural}, {parallel} at a time, {}s timeout each",
            tests.len(),
            args.timeout
        );
    }

    let settings = RunSettings {
        parallel,
        exec: ExecSettings { seed, timeout },
    };
    // Results are collected as they arrive so that an interrupted run still reports the tests
    // that finished.
    let mut finished = Vec::new();
    let interrupted = {
        let run = run_all(tests, &env, settings, |result| {
            println!("{}", progress_line(result));
            finished.push(result.clone());
        });
        tokio::select! {
            _ = run => false,
            _ = interrupt() => true,
        }
    };
    if interrupted {
        println!(
            "kubeproof: interrupted; cancelled the tests in flight, deleting their namespaces"
        );
        // Bounded: a second Ctrl-C no longer ends the process once our handler is installed.
        let cleanup = delete_run_namespaces(&env.client, seed);
        match tokio::time::timeout(Duration::from_secs(10), cleanup).await {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => print_error(&err),
            Err(_) => eprintln!("kubeproof: gave up deleting the namespaces after 10s"),
        }
    }
    let mut tests = finished;
    let target_info = TargetInfo {
        name: target.kind().name().to_owned(),
        server: Some(env.server.clone()),
        server_version: target.server_version().map(str::to_owned),
    };
    if tokio::time::timeout(Duration::from_secs(10), target.shutdown())
        .await
        .is_err()
    {
        eprintln!("kubeproof: the target did not shut down within 10s; exiting anyway");
    }

    // Files list tests by name so two runs diff cleanly; the terminal showed finishing order.
    tests.sort_by(|a, b| a.name.cmp(&b.name));
    let argv: Vec<String> = std::env::args().collect();
    let results = Results {
        schema_version: SCHEMA_VERSION,
        run: RunMetadata {
            tool: metadata::tool(),
            target: target_info,
            seed,
            started_at,
            finished_at: jiff::Timestamp::now(),
            machine: metadata::machine(),
            replay: metadata::replay_command(&argv, seed),
        },
        tests,
        measurements: Vec::new(),
    };
    let totals = results.totals();
    if let Err(err) = results.write_dir(&out) {
        print_error(&err);
        return ExitCodes::USAGE;
    }
    println!();
    if totals.timed_out > 0 {
        println!("kubeproof: {} tests timed out", totals.timed_out);
    }
    if !totals.ok() {
        println!("kubeproof: replay with: {}", results.run.replay);
    }
    println!("kubeproof: results in {}", out.display());
    println!("{}", totals.line());
    if interrupted {
        ExitCodes::INTERRUPTED
    } else {
        ExitCodes::for_totals(&totals)
    }
}

/// Resolves on the first SIGINT or SIGTERM; never, when the handlers cannot be installed (the
/// default handlers then end the process, as before).
async fn interrupt() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
        _ => std::future::pending().await,
    }
}

/// `results/<UTC timestamp>/`, sortable by name.
fn default_out_dir(now: jiff::Timestamp) -> PathBuf {
    PathBuf::from("results").join(now.strftime("%Y%m%dT%H%M%SZ").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_results_folder_is_a_utc_timestamp_under_results() {
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        assert_eq!(
            default_out_dir(now),
            PathBuf::from("results/20270115T080000Z")
        );
    }
}
