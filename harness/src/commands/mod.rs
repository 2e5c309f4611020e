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
    let mut text = format!("kubeproof: error: {err}");
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    eprintln!("{text}");
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
