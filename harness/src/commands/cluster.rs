//! `kubeproof cluster up`: a cluster with hollow nodes for kubectl, until interrupted.

use tokio::signal::unix::{SignalKind, signal};

use super::{print_error, read_profile, read_scheduler_config};
use crate::ExitCodes;
use crate::cli::ClusterUpArgs;
use crate::target::{Target, TargetKind, TargetOptions, absolute};

/// Boot the embedded control plane and its hollow nodes, print how to use it, serve until
/// SIGINT or SIGTERM.
pub async fn cluster_up(args: ClusterUpArgs) -> i32 {
    let profile = match read_profile(args.profile.as_deref()) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let scheduler = match read_scheduler_config(args.scheduler_config.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let kubeconfig = absolute(&args.kubeconfig);
    // Listen for signals before announcing readiness, so a script that stops us right after the
    // ready line is never killed by the default handler.
    let (mut sigint, mut sigterm) = match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(int), Ok(term)) => (int, term),
        (Err(err), _) | (_, Err(err)) => {
            print_error(&err);
            return ExitCodes::TARGET_BOOT;
        }
    };
    let options = TargetOptions {
        kind: TargetKind::Embedded,
        kubeconfig: None,
        port: args.port,
        kubeconfig_out: Some(kubeconfig.clone()),
        nodes: args.nodes.map(|n| n as usize),
        profile,
        seed: crate::seed::random_seed(),
        scheduler,
    };
    let target = match Target::start(&options).await {
        Ok(target) => target,
        Err(err) => {
            let code = err.exit_code();
            print_error(&err);
            return code;
        }
    };
    let nodes = target.simulator().map_or(0, |s| s.stats().nodes);
    println!(
        "kubeproof: cluster ready at {} with {nodes} hollow nodes — export KUBECONFIG={}; kubectl get nodes",
        target.env().server,
        kubeconfig.display()
    );
    let control = target.env().nodes.clone();
    let commands = async {
        match &control {
            Some(control) => super::faults::serve_stdin(control.as_ref()).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = sigint.recv() => {}
        _ = sigterm.recv() => {}
        _ = commands => {}
    }
    eprintln!("kubeproof: shutting down");
    target.shutdown().await;
    eprintln!("kubeproof: cluster stopped");
    ExitCodes::OK
}
