//! The Kubernetes API server: REST paths, watch streaming, discovery, tables, metrics, TLS and
//! bearer-token auth, over [`Objects`], which holds the generic write semantics (upstream's
//! generic registry store) that controllers share with HTTP clients.

pub mod discovery;
mod eviction;
mod handlers;
mod meta;
mod metrics;
mod objects;
pub mod openapi;
mod protobuf;
mod request;
mod response;
mod server;
mod service_alloc;
mod tls;
mod watch;

pub(crate) use metrics::Metrics;
pub use objects::{
    DeleteOutcome, DeleteParams, FINALIZER_FOREGROUND, FINALIZER_ORPHAN, Objects, WriteParams,
};
pub(crate) use server::AppState;
pub(crate) use server::{router, serve_tls};
pub(crate) use tls::{ServingCerts, generate as generate_certs, server_config};
