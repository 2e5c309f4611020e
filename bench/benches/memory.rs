//! Memory of a full-scale cluster's pods: 150,000 realistic pods created in-process, then the
//! RSS of this (fresh) process. Run with `cargo bench -p bench --bench memory`; writes
//! `target/kubeproof-bench/memory.json`. A measurement, not a test.

use bench::figures::Report;

/// The allocator the shipped binary uses (see the workspace Cargo.toml).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    let mut report = Report::new("memory");
    report.push(runtime.block_on(bench::scenarios::memory::run()));
    match report.write() {
        Ok(path) => println!("figures written to {}", path.display()),
        Err(e) => eprintln!("cannot write the figures: {e}"),
    }
}
