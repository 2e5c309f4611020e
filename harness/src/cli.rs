//! The command line: `kubeproof run`, `kubeproof list`, `kubeproof cluster up`,
//! `kubeproof nodes`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::select::SelectionArgs;
use crate::target::TargetKind;

/// kubeproof: conformance, performance and soak tests for Kubernetes-style orchestrators.
#[derive(Debug, Parser)]
#[command(name = "kubeproof", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Boot (or attach to) a cluster, run the selected tests, write a results folder.
    Run(RunArgs),
    /// List the tests a selection would run, with tags and upstream conformance coverage.
    List(ListArgs),
    /// Run a cluster for kubectl and friends.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Attach hollow nodes to any cluster (from a kubeconfig) until interrupted.
    Nodes(NodesArgs),
    /// Scenario benchmarks: scheduler throughput on scheduler_perf's workloads.
    #[command(subcommand)]
    Bench(crate::commands::bench::BenchCommand),
}

/// `kubeproof nodes`.
#[derive(Debug, Args)]
pub struct NodesArgs {
    /// How many hollow nodes to attach.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub count: u32,
    /// The cluster's kubeconfig (default: KUBECONFIG, then ~/.kube/config).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// The hollow nodes' profile (YAML; see docs/hollow-nodes.md). Default: real time, one pool.
    #[arg(long, value_name = "PATH")]
    pub profile: Option<PathBuf>,
    /// Node names are `<prefix>-<i>`.
    #[arg(long, value_name = "NAME", default_value = "hollow-node")]
    pub prefix: String,
    /// Seed of the nodes' jitter (default: random, printed).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
}

/// `kubeproof run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Which tests.
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// The cluster to test.
    #[arg(long, value_enum, default_value_t = TargetKind::Embedded)]
    pub target: TargetKind,
    /// With `--target kubeconfig`: the cluster's kubeconfig (default: KUBECONFIG, then
    /// ~/.kube/config). With `--target embedded`: where to write the embedded cluster's
    /// kubeconfig, to look at it with kubectl while the tests run.
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Hollow nodes to run (embedded default: 3; with --target kubeconfig: none, or N hollow
    /// nodes attached to the cluster).
    #[arg(long, value_name = "N")]
    pub nodes: Option<u32>,
    /// The hollow nodes' profile (YAML; see docs/hollow-nodes.md).
    #[arg(long, value_name = "PATH")]
    pub profile: Option<PathBuf>,
    /// The embedded scheduler's configuration: a `KubeSchedulerConfiguration` file (YAML, upstream's
    /// kubescheduler.config.k8s.io/v1 shape: profiles, plugins, weights,
    /// `percentageOfNodesToScore`; see docs/scheduler.md).
    #[arg(long, value_name = "PATH")]
    pub scheduler_config: Option<PathBuf>,
    /// The results folder (default: results/<UTC timestamp>/).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The run's seed (default: random; printed at the start and in the results).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Tests in flight at once (default: the machine's cores, at least 2).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: Option<u16>,
    /// Seconds each test may take before it is cancelled and reported timed out.
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
}

/// `kubeproof list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Which tests.
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// The upstream conformance list (TSV) to count coverage against (default:
    /// ../shared/conformance/upstream-v1.32.tsv when present).
    #[arg(long, value_name = "PATH")]
    pub upstream: Option<PathBuf>,
}

/// `kubeproof cluster …`.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Boot the embedded control plane, write its kubeconfig, and serve until Ctrl-C.
    Up(ClusterUpArgs),
}

/// `kubeproof cluster up`.
#[derive(Debug, Args)]
pub struct ClusterUpArgs {
    /// Hollow nodes to run (default: 3).
    #[arg(long, value_name = "N")]
    pub nodes: Option<u32>,
    /// The hollow nodes' profile (YAML; see docs/hollow-nodes.md).
    #[arg(long, value_name = "PATH")]
    pub profile: Option<PathBuf>,
    /// The embedded scheduler's configuration: a `KubeSchedulerConfiguration` file (YAML, upstream's
    /// kubescheduler.config.k8s.io/v1 shape: profiles, plugins, weights,
    /// `percentageOfNodesToScore`; see docs/scheduler.md).
    #[arg(long, value_name = "PATH")]
    pub scheduler_config: Option<PathBuf>,
    /// Where to write the kubeconfig.
    #[arg(long, value_name = "PATH", default_value = "kubeproof.kubeconfig")]
    pub kubeconfig: PathBuf,
    /// Port on 127.0.0.1 (default: one the OS picks).
    #[arg(long, value_name = "PORT", default_value_t = 0)]
    pub port: u16,
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::select::TagFilter;

    #[test]
    fn the_command_definition_is_consistent() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }

    #[test]
    fn run_flags_parse() {
        let cli = Cli::try_parse_from([
            "kubeproof",
            "run",
            "--suite",
            "namespaces",
            "--suite",
            "api-machinery",
            "--focus",
            "watch",
            "--skip",
            "slow",
            "--conformance",
            "--include",
            "slow",
            "--exclude",
            "serial",
            "--target",
            "kubeconfig",
            "--kubeconfig",
            "/k",
            "--nodes",
            "3",
            "--out",
            "/o",
            "--seed",
            "7",
            "--parallel",
            "4",
            "--timeout",
            "30",
        ])
        .unwrap();
        let Command::Run(run) = cli.command else {
            panic!("not a run: {cli:?}")
        };
        assert_eq!(run.selection.suites, ["namespaces", "api-machinery"]);
        assert_eq!(run.selection.include, [TagFilter::Slow]);
        assert_eq!(run.selection.exclude, [TagFilter::Serial]);
        assert!(run.selection.conformance);
        assert_eq!(run.target, TargetKind::Kubeconfig);
        assert_eq!(
            (run.seed, run.parallel, run.timeout),
            (Some(7), Some(4), 30)
        );
    }

    #[test]
    fn run_defaults() {
        let Command::Run(run) = Cli::try_parse_from(["kubeproof", "run"]).unwrap().command else {
            panic!("not a run")
        };
        assert_eq!(run.target, TargetKind::Embedded);
        assert_eq!((run.seed, run.parallel, run.timeout), (None, None, 60));
    }

    #[test]
    fn cluster_up_defaults_to_a_kubeconfig_in_the_current_folder() {
        let cli = Cli::try_parse_from(["kubeproof", "cluster", "up"]).unwrap();
        let Command::Cluster(ClusterCommand::Up(up)) = cli.command else {
            panic!("not cluster up")
        };
        assert_eq!(up.kubeconfig, PathBuf::from("kubeproof.kubeconfig"));
        assert_eq!(up.port, 0);
    }

    #[test]
    fn nodes_needs_a_positive_count() {
        let cli = Cli::try_parse_from(["kubeproof", "nodes", "--count", "5", "--kubeconfig", "/k"])
            .unwrap();
        let Command::Nodes(nodes) = cli.command else {
            panic!("not nodes")
        };
        assert_eq!((nodes.count, nodes.prefix.as_str()), (5, "hollow-node"));
        assert!(Cli::try_parse_from(["kubeproof", "nodes"]).is_err());
        assert!(Cli::try_parse_from(["kubeproof", "nodes", "--count", "0"]).is_err());
    }

    #[test]
    fn zero_parallelism_and_unknown_targets_are_rejected() {
        assert!(Cli::try_parse_from(["kubeproof", "run", "--parallel", "0"]).is_err());
        assert!(Cli::try_parse_from(["kubeproof", "run", "--target", "kind"]).is_err());
    }
}
