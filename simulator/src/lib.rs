//! kubeproof's hollow nodes: many simulated nodes in one process, joined to any cluster through
//! the Kubernetes API. Empty until the hollow-nodes issue lands; nothing here pretends to work.
