//! The Kubernetes API server: REST paths, watch streaming, discovery, tables, metrics, TLS and
//! bearer-token auth, over [`Objects`], which holds the generic write semantics (upstream's
//! generic registry store) that controllers share with HTTP clients.

pub mod discovery;
mod objects;
pub mod openapi;

pub use objects::{DeleteOutcome, DeleteParams, Objects, WriteParams};
