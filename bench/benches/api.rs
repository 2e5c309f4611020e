//! The API benchmarks of issue 2: boot, creates (through kube-rs and server-side only), list,
//! watch fan-out (typed, and raw to split off the client's decoding). Run with
//! `cargo bench -p bench --bench api [-- SCENARIO…]`; each scenario prints one line and all are
//! written to `target/kubeproof-bench/api.json`.
//! These are measurements, not tests: nothing here asserts a time.

use bench::figures::Report;
use bench::scenarios::{boot, creates, list, watch};

const SCENARIOS: &[&str] = &[
    "boot",
    "creates",
    "creates-server",
    "list",
    "watch",
    "watch-raw",
];

/// The allocator the shipped binary uses (see the workspace Cargo.toml).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // `cargo bench` passes `--bench`; anything else not starting with `-` picks scenarios.
    let picked: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if let Some(unknown) = picked.iter().find(|p| !SCENARIOS.contains(&p.as_str())) {
        eprintln!("unknown scenario {unknown:?}; choose from {SCENARIOS:?}");
        std::process::exit(2);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    let mut report = Report::new("api");
    for name in SCENARIOS {
        if !picked.is_empty() && !picked.iter().any(|p| p == name) {
            continue;
        }
        let figures = runtime.block_on(async {
            match *name {
                "boot" => boot::run().await,
                "creates" => creates::run().await,
                "creates-server" => creates::run_server_only().await,
                "list" => list::run().await,
                "watch" => watch::run(watch::Decode::Typed).await,
                "watch-raw" => watch::run(watch::Decode::Raw).await,
                _ => unreachable!("names come from SCENARIOS"),
            }
        });
        report.push(figures);
    }
    match report.write() {
        Ok(path) => println!("figures written to {}", path.display()),
        Err(e) => eprintln!("cannot write the figures: {e}"),
    }
}
