//! kubeproof's harness: targets, the runner and the CLI. (Skeleton: the harness helper fills this
//! in.)
