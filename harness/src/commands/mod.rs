//! One module per subcommand; each returns the process exit code (see [`crate::ExitCodes`]).

pub mod bench;
mod cluster;
pub mod faults;
mod list;
mod nodes;
mod run;

pub use cluster::cluster_up;
pub use list::list;
pub use nodes::nodes;
pub use run::run;

use crate::cli::{ClusterCommand, Command};

/// Run `command` and return the exit code.
pub async fn dispatch(command: Command) -> i32 {
    match command {
        Command::Run(args) => run(args).await,
        Command::List(args) => list(args),
        Command::Cluster(ClusterCommand::Up(args)) => cluster_up(args).await,
        Command::Nodes(args) => nodes(args).await,
        Command::Bench(command) => bench::bench(command).await,
    }
}

/// Print an error with its whole chain of causes, the way every kubeproof error is shown.
pub(crate) fn print_error(err: &(dyn std::error::Error + 'static)) {
    eprintln!("kubeproof: error: {}", error_chain(err));
}

/// `err` and its causes on one line, `a: b: c`. Many errors (kube's, io's) already print their
/// cause in their own message; a cause whose text is already there is not repeated.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The profile at `path`, or `None` when no path is given; a message saying what to fix when
/// it cannot be used.
pub(crate) fn read_profile(
    path: Option<&std::path::Path>,
) -> Result<Option<simulator::Profile>, i32> {
    match path.map(simulator::Profile::read).transpose() {
        Ok(profile) => Ok(profile),
        Err(err) => {
            print_error(&err);
            Err(crate::ExitCodes::USAGE)
        }
    }
}

/// The scheduler configuration at `path`, or `None` when no path is given; a message saying
/// what to fix when it cannot be used.
pub(crate) fn read_scheduler_config(
    path: Option<&std::path::Path>,
) -> Result<Option<orchestrator::KubeSchedulerConfiguration>, i32> {
    let Some(path) = path else { return Ok(None) };
    let parsed = std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|text| {
            orchestrator::KubeSchedulerConfiguration::parse(&text).map_err(|e| e.to_string())
        });
    match parsed {
        Ok(config) => Ok(Some(config)),
        Err(err) => {
            eprintln!(
                "kubeproof: error: the scheduler configuration {}: {err}",
                path.display()
            );
            Err(crate::ExitCodes::USAGE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer: {0}")]
    struct Repeats(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Chains(#[source] std::io::Error);

    #[test]
    fn error_chains_name_each_cause_once() {
        let repeats = Repeats(std::io::Error::other("refused"));
        assert_eq!(error_chain(&repeats), "outer: refused");
        let chains = Chains(std::io::Error::other("refused"));
        assert_eq!(error_chain(&chains), "outer: refused");
    }
}
