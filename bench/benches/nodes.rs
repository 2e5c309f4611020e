//! The hollow-node benchmarks of issue 3: register, leases, idle-memory, pods, remote. Run with
//! `cargo bench -p bench --bench nodes [-- SCENARIO…]`; each scenario prints one line and all are
//! written to `target/kubeproof-bench/nodes.json`. `idle-memory` and `remote` run the
//! `kubeproof` binary: build it first with `cargo build --release -p harness --bin kubeproof`.
//! These are measurements, not tests: nothing here asserts a time.
//!
//! Every scenario runs in a fresh process (this binary re-runs itself with one scenario name),
//! so that memory figures are not inflated by an earlier scenario's heap.

use bench::figures::Report;
use bench::scenarios::nodes;

const SCENARIOS: &[&str] = &["register", "leases", "idle-memory", "pods", "remote"];

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
    let chosen: Vec<&str> = SCENARIOS
        .iter()
        .copied()
        .filter(|name| picked.is_empty() || picked.iter().any(|p| p == name))
        .collect();
    if let [one] = chosen.as_slice() {
        run_one(one);
        return;
    }
    let exe = std::env::current_exe().expect("the benchmark knows its own path");
    for name in chosen {
        match std::process::Command::new(&exe).arg(name).status() {
            Ok(s) if s.success() => {}
            Ok(s) => eprintln!("scenario {name} exited with {s}"),
            Err(e) => eprintln!("cannot run scenario {name}: {e}"),
        }
    }
}

fn run_one(name: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    let mut report = Report::new("nodes");
    let figures = runtime.block_on(async {
        match name {
            "register" => nodes::register::run().await,
            "leases" => nodes::leases::run().await,
            "idle-memory" => nodes::idle_memory::run().await,
            "pods" => nodes::pods::run().await,
            "remote" => nodes::remote::run().await,
            _ => unreachable!("names come from SCENARIOS"),
        }
    });
    report.push(figures);
    match report.write() {
        Ok(path) => println!("figures written to {}", path.display()),
        Err(e) => eprintln!("cannot write the figures: {e}"),
    }
    // Background tasks of the scenario (a simulator's writers) need not be waited for.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
}
