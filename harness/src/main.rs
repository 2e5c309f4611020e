//! `kubeproof`: see `kubeproof --help`.

use clap::Parser as _;
use harness::cli::Cli;
use harness::{ExitCodes, commands};

/// The allocator the shipped binary uses (see the workspace Cargo.toml).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // Clap exits with code 2 on bad flags, which is ExitCodes::USAGE.
    let cli = Cli::parse();
    // Test panics become failures with their location instead of stderr noise between progress
    // lines.
    harness::install_panic_hook();
    // kube-client logs every failed connection at ERROR; kubeproof reports those itself, with
    // what to do, so its log stays quiet unless RUST_LOG asks for it.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,kube_client=off")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("kubeproof: error: cannot start the async runtime: {err}");
            std::process::exit(ExitCodes::TARGET_BOOT);
        }
    };
    let code = runtime.block_on(commands::dispatch(cli.command));
    // Dropping the runtime here would wait for stray tasks (a hung test's client); exit instead.
    runtime.shutdown_background();
    std::process::exit(code);
}
