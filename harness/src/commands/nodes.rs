//! `kubeproof nodes`: hollow nodes attached to any cluster, as kubemark's and KWOK's are, until
//! interrupted. Prints what they do every 10 seconds; fault commands are read from standard
//! input (`help` lists them).

use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

use super::{print_error, read_profile};
use crate::ExitCodes;
use crate::cli::NodesArgs;
use crate::target::{Target, TargetKind, TargetOptions};

/// Attach `args.count` hollow nodes to the kubeconfig's cluster and run them until SIGINT or
/// SIGTERM.
pub async fn nodes(args: NodesArgs) -> i32 {
    let profile = match read_profile(args.profile.as_deref()) {
        Ok(p) => p.unwrap_or_default(),
        Err(code) => return code,
    };
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
    let seed = args.seed.unwrap_or_else(crate::seed::random_seed);
    println!("kubeproof: seed {seed}");
    // Attach without nodes, then register ours under the requested prefix.
    let options = TargetOptions {
        kind: TargetKind::Kubeconfig,
        kubeconfig: args.kubeconfig.clone(),
        nodes: Some(0),
        seed,
        ..TargetOptions::default()
    };
    let target = match Target::start(&options).await {
        Ok(target) => target,
        Err(err) => {
            let code = err.exit_code();
            print_error(&err);
            return code;
        }
    };
    let client = target.env().client.clone();
    let started = std::time::Instant::now();
    let simulator =
        match simulator::Simulator::start(client, simulator::SimConfig { profile, seed }).await {
            Ok(s) => s,
            Err(err) => {
                print_error(&err);
                return ExitCodes::USAGE;
            }
        };
    if let Err(err) = simulator
        .register(&args.prefix, args.count as usize, None)
        .await
    {
        print_error(&err);
        simulator.shutdown().await;
        return ExitCodes::TARGET_BOOT;
    }
    println!(
        "kubeproof: {} hollow nodes registered with {} in {:.2}s; Ctrl-C to stop",
        args.count,
        target.env().server,
        started.elapsed().as_secs_f64()
    );
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    tick.tick().await;
    let commands = super::faults::serve_stdin(&simulator);
    tokio::pin!(commands);
    loop {
        tokio::select! {
            _ = sigint.recv() => break,
            _ = sigterm.recv() => break,
            _ = &mut commands => {}
            _ = tick.tick() => {
                let s = simulator.stats();
                println!(
                    "kubeproof: nodes {} pods {} lease renewals {} (late {}) pod status writes {} events {}",
                    s.nodes, s.pods, s.heartbeats.renewals, s.heartbeats.late,
                    s.pod_status_writes, s.events_created + s.events_updated
                );
            }
        }
    }
    eprintln!("kubeproof: stopping the hollow nodes (they stay registered and will go NotReady)");
    simulator.shutdown().await;
    target.shutdown().await;
    ExitCodes::OK
}
