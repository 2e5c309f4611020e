//! Store micro-benchmarks. (Skeleton: the store helper fills this in.)
fn main() {}
