//! kubeproof's result schema and writers. (Skeleton: the harness helper fills this in.)
