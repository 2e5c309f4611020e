//! One module per subcommand; each returns the process exit code (see [`crate::ExitCodes`]).

mod cluster;
mod list;
mod run;

pub use cluster::cluster_up;
pub use list::list;
pub use run::run;

use crate::cli::{ClusterCommand, Command};

/// Run `command` and return the exit code.
pub async fn dispatch(command: Command) -> i32 {
    match command {
        Command::Run(args) => run(args).await,
        Command::List(args) => list(args),
        Command::Cluster(ClusterCommand::Up(args)) => cluster_up(args).await,
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

/// The note `--nodes` prints until hollow nodes exist: accepted, and honest that nothing runs.
pub(crate) fn nodes_note(nodes: Option<u32>) {
    if let Some(n) = nodes {
        eprintln!(
            "kubeproof: note: --nodes {n} is accepted, but hollow nodes arrive with issue 3; \
             the cluster has no nodes yet"
        );
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
