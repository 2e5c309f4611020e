//! `kubeproof bench scheduler`: scheduler_perf-style workloads, measured from outside through
//! the API; a results folder, a table, and a non-zero exit when a workload fails or falls below
//! its threshold.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use reports::{Results, RunMetadata, SCHEMA_VERSION, TargetInfo};

use crate::scheduler_perf::executor::Settings;
use crate::scheduler_perf::runner::{RunOptions, TargetSpec, run_workload};
use crate::scheduler_perf::{self, report};
use crate::target::absolute;
use crate::workloads_perf::{self, Scenario, ScenarioRun};
use crate::{ExitCodes, metadata, seed};

/// `kubeproof bench …`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Scheduling throughput and latency on upstream scheduler_perf's workloads.
    Scheduler(BenchSchedulerArgs),
    /// The workload controllers at scale: a large rollout, many Deployments at once.
    Workloads(BenchWorkloadsArgs),
}

/// `kubeproof bench workloads`.
#[derive(Debug, Args)]
pub struct BenchWorkloadsArgs {
    /// A scenario; repeat to run several, each on a fresh cluster (default: both).
    #[arg(long = "scenario", value_enum, value_name = "NAME")]
    pub scenarios: Vec<Scenario>,
    /// Hollow nodes.
    #[arg(long, value_name = "N", default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..))]
    pub nodes: u64,
    /// Replicas of the `rollout` Deployment.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(i32).range(1..))]
    pub replicas: i32,
    /// Deployments the `deployments` scenario creates.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub deployments: u64,
    /// Replicas of each of those.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(i32).range(1..))]
    pub per_deployment: i32,
    /// Create requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..))]
    pub concurrency: u64,
    /// Seconds one phase may take.
    #[arg(long, value_name = "SECS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// The results folder (default: results/bench-workloads-<UTC timestamp>/).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run against this cluster, with the hollow nodes attached to it.
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Seed of the hollow nodes' jitter (default: random, printed).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
}

/// `kubeproof bench scheduler`.
#[derive(Debug, Args)]
pub struct BenchSchedulerArgs {
    /// A workload: `SchedulingBasic` (its `performance` tier) or `SchedulingBasic/5Nodes`;
    /// repeat to run several, one after another, each on a fresh embedded cluster.
    #[arg(long = "workload", value_name = "NAME[/TIER]")]
    pub workloads: Vec<String>,
    /// A workload file (YAML, in the shape of bench/workloads/scheduler/*.yaml) whose test
    /// cases add to (or replace) the built-in ones.
    #[arg(long = "file", value_name = "PATH")]
    pub files: Vec<PathBuf>,
    /// List the workloads, their tiers and thresholds, and exit.
    #[arg(long)]
    pub list: bool,
    /// Nodes to create: sets the tier's `initNodes` param.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub nodes: Option<u64>,
    /// Measured pods: sets the tier's `measurePods` param.
    #[arg(long, value_name = "M", value_parser = clap::value_parser!(u64).range(1..))]
    pub pods: Option<u64>,
    /// The results folder (default: results/bench-<UTC timestamp>/).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run against this cluster (hollow nodes are attached for createNodes) instead of an
    /// embedded control plane.
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// The embedded scheduler's configuration: a `KubeSchedulerConfiguration` file (YAML, upstream's
    /// kubescheduler.config.k8s.io/v1 shape: profiles, plugins, weights,
    /// `percentageOfNodesToScore`; see docs/scheduler.md).
    #[arg(long, value_name = "PATH")]
    pub scheduler_config: Option<PathBuf>,
    /// Create requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..))]
    pub concurrency: u64,
    /// Seconds an op may wait for its pods to be scheduled.
    #[arg(long, value_name = "SECS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
    /// Seed of the hollow nodes' jitter (default: random, printed).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
}

/// Run `kubeproof bench …`; returns the exit code.
pub async fn bench(command: BenchCommand) -> i32 {
    match command {
        BenchCommand::Scheduler(args) => scheduler(args).await,
        BenchCommand::Workloads(args) => workloads(args).await,
    }
}

async fn workloads(args: BenchWorkloadsArgs) -> i32 {
    let seed = args.seed.unwrap_or_else(seed::random_seed);
    let started_at = jiff::Timestamp::now();
    let out = absolute(&args.out.clone().unwrap_or_else(|| {
        PathBuf::from("results").join(format!(
            "bench-workloads-{}",
            started_at.strftime("%Y%m%dT%H%M%SZ")
        ))
    }));
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!(
            "kubeproof: error: cannot create the results folder {}: {e}; pass --out DIR",
            out.display()
        );
        return ExitCodes::USAGE;
    }
    let scenarios = if args.scenarios.is_empty() {
        vec![Scenario::Rollout, Scenario::Deployments]
    } else {
        args.scenarios.clone()
    };
    let options = workloads_perf::Options {
        nodes: args.nodes as usize,
        replicas: args.replicas,
        deployments: args.deployments as usize,
        per_deployment: args.per_deployment,
        concurrency: args.concurrency as usize,
        timeout: Duration::from_secs(args.timeout),
        seed,
        kubeconfig: args.kubeconfig.clone(),
    };
    eprintln!("kubeproof bench: seed {seed}");
    let mut runs = Vec::new();
    for scenario in scenarios {
        eprintln!("kubeproof bench: workloads {}", scenario.name());
        runs.push(workloads_perf::run(scenario, &options).await);
    }
    let target = match &args.kubeconfig {
        Some(_) => "kubeconfig",
        None => "embedded",
    };
    let results = Results {
        schema_version: SCHEMA_VERSION,
        run: RunMetadata {
            tool: metadata::tool(),
            target: TargetInfo {
                name: target.into(),
                server: None,
                server_version: None,
            },
            seed,
            started_at,
            finished_at: jiff::Timestamp::now(),
            machine: metadata::machine(),
            replay: metadata::replay_command(&std::env::args().collect::<Vec<_>>(), seed),
        },
        tests: runs.iter().map(ScenarioRun::test_result).collect(),
        measurements: runs.iter().flat_map(ScenarioRun::measurements).collect(),
    };
    println!();
    print!("{}", workloads_perf::table(&runs));
    if let Err(e) = results.write_dir(&out) {
        crate::commands::print_error(&e);
        return ExitCodes::USAGE;
    }
    println!("kubeproof: results in {}", out.display());
    let totals = results.totals();
    println!("{}", totals.line());
    ExitCodes::for_totals(&totals)
}

async fn scheduler(args: BenchSchedulerArgs) -> i32 {
    let mut extra = Vec::new();
    for path in &args.files {
        match std::fs::read_to_string(path) {
            Ok(yaml) => extra.push((path.display().to_string(), yaml)),
            Err(e) => {
                eprintln!(
                    "kubeproof: error: cannot read the workload file {}: {e}",
                    path.display()
                );
                return ExitCodes::USAGE;
            }
        }
    }
    let cases = match scheduler_perf::catalog(&extra) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kubeproof: error: {e}");
            return ExitCodes::USAGE;
        }
    };
    if args.list {
        print!("{}", scheduler_perf::listing(&cases));
        return ExitCodes::OK;
    }
    if args.workloads.is_empty() {
        eprintln!(
            "kubeproof: error: name a workload with --workload NAME[/TIER] (see \
             `kubeproof bench scheduler --list`)"
        );
        return ExitCodes::USAGE;
    }
    let overrides = overrides(&args);
    let mut selected = Vec::new();
    for spec in &args.workloads {
        let (case, tier) = match scheduler_perf::select(&cases, spec) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("kubeproof: error: {e}");
                return ExitCodes::USAGE;
            }
        };
        for (param, flag) in [("initNodes", "--nodes"), ("measurePods", "--pods")] {
            if overrides.contains_key(param) && !tier.params.contains_key(param) {
                eprintln!(
                    "kubeproof: error: {flag} sets the param {param}, which {}/{} does not have",
                    case.name, tier.name
                );
                return ExitCodes::USAGE;
            }
        }
        selected.push((case, tier));
    }
    let scheduler = match super::read_scheduler_config(args.scheduler_config.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if scheduler.is_some() && args.kubeconfig.is_some() {
        eprintln!(
            "kubeproof: error: --scheduler-config configures the embedded scheduler; a \
             --kubeconfig cluster's scheduler is configured on that cluster"
        );
        return ExitCodes::USAGE;
    }
    let seed = args.seed.unwrap_or_else(seed::random_seed);
    let started_at = jiff::Timestamp::now();
    let out = absolute(&args.out.clone().unwrap_or_else(|| {
        PathBuf::from("results").join(format!("bench-{}", started_at.strftime("%Y%m%dT%H%M%SZ")))
    }));
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!(
            "kubeproof: error: cannot create the results folder {}: {e}; pass --out DIR",
            out.display()
        );
        return ExitCodes::USAGE;
    }
    let options = RunOptions {
        target: match &args.kubeconfig {
            Some(p) => TargetSpec::Kubeconfig(Some(p.clone())),
            None => TargetSpec::Embedded,
        },
        settings: Settings {
            concurrency: args.concurrency as usize,
            wait_timeout: Duration::from_secs(args.timeout),
            ..Settings::default()
        },
        overrides,
        seed,
        scheduler,
    };
    eprintln!("kubeproof bench: seed {seed}");
    let mut runs = Vec::new();
    let mut target = None;
    for (case, tier) in selected {
        eprintln!("kubeproof bench: {}/{}", case.name, tier.name);
        match run_workload(case, tier, &options).await {
            Ok((run, info)) => {
                runs.push(run);
                target = Some(info);
            }
            Err(e) => {
                eprintln!("kubeproof: error: {e}");
                return e.exit_code();
            }
        }
    }
    let results = Results {
        schema_version: SCHEMA_VERSION,
        run: RunMetadata {
            tool: metadata::tool(),
            target: target.unwrap_or_else(|| TargetInfo {
                name: "embedded".into(),
                server: None,
                server_version: None,
            }),
            seed,
            started_at,
            finished_at: jiff::Timestamp::now(),
            machine: metadata::machine(),
            replay: metadata::replay_command(&std::env::args().collect::<Vec<_>>(), seed),
        },
        tests: runs.iter().map(report::WorkloadRun::test_result).collect(),
        measurements: runs
            .iter()
            .flat_map(report::WorkloadRun::measurements)
            .collect(),
    };
    println!();
    print!("{}", report::table(&runs));
    if let Err(e) = results.write_dir(&out) {
        crate::commands::print_error(&e);
        return ExitCodes::USAGE;
    }
    println!("kubeproof: results in {}", out.display());
    let totals = results.totals();
    println!("{}", totals.line());
    ExitCodes::for_totals(&totals)
}

/// The params the flags set.
fn overrides(args: &BenchSchedulerArgs) -> BTreeMap<String, u64> {
    let mut o = BTreeMap::new();
    if let Some(n) = args.nodes {
        o.insert("initNodes".to_owned(), n);
    }
    if let Some(m) = args.pods {
        o.insert("measurePods".to_owned(), m);
    }
    o
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use crate::cli::{Cli, Command};

    use super::*;

    fn parse(args: &[&str]) -> BenchSchedulerArgs {
        let cli = Cli::try_parse_from(args).unwrap();
        let Command::Bench(BenchCommand::Scheduler(a)) = cli.command else {
            panic!("not bench scheduler")
        };
        a
    }

    #[test]
    fn flags_parse_and_set_the_params() {
        let a = parse(&[
            "kubeproof",
            "bench",
            "scheduler",
            "--workload",
            "SchedulingBasic/5Nodes",
            "--workload",
            "PodAffinity",
            "--nodes",
            "50",
            "--pods",
            "100",
            "--out",
            "/o",
            "--kubeconfig",
            "/k",
        ]);
        assert_eq!(a.workloads, ["SchedulingBasic/5Nodes", "PodAffinity"]);
        assert_eq!((a.concurrency, a.timeout), (64, 600));
        assert_eq!(
            overrides(&a),
            BTreeMap::from([("initNodes".into(), 50), ("measurePods".into(), 100)])
        );
        assert!(Cli::try_parse_from(["kubeproof", "bench", "scheduler", "--pods", "0"]).is_err());
    }

    #[tokio::test]
    async fn usage_errors_say_what_to_do() {
        let none = parse(&["kubeproof", "bench", "scheduler"]);
        assert_eq!(scheduler(none).await, ExitCodes::USAGE);
        let unknown = parse(&["kubeproof", "bench", "scheduler", "--workload", "Nope"]);
        assert_eq!(scheduler(unknown).await, ExitCodes::USAGE);
        let list = parse(&["kubeproof", "bench", "scheduler", "--list"]);
        assert_eq!(scheduler(list).await, ExitCodes::OK);
    }
}
