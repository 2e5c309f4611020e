//! Runs the registry under `cargo nextest` / `cargo test`. (Skeleton: the harness helper fills
//! this in.)
fn main() {}
