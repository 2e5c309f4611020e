//! Helpers every area shares: declaring tests, waiting on conditions through watches, running
//! `kubectl`, raw HTTP requests, asserting API errors, and building fixture objects.

#[macro_use]
mod macros;
pub mod daemon_rollout;
pub mod errors;
pub mod events;
pub mod fixtures;
pub mod kubectl;
pub mod nodes;
pub mod object_events;
pub mod pods;
pub mod raw;
pub mod rollout;
pub mod scheduling;
pub mod wait;
pub mod workloads;

pub use errors::{expect_api_error, expect_status};
pub use events::{
    Change, Events, change_where, changes_until, labels_of, next_changes, open_watch,
};
pub use fixtures::*;
pub use kubectl::{KubectlOutput, kubectl, kubectl_ns, kubectl_with_stdin};
pub use pods::{ready_node, ready_node_name};
pub use raw::{RawResponse, raw_request, unauthenticated_client};
pub use wait::{Condition, wait_for};

/// How long a wait inside a test may take: a quarter of the test's budget, at least 10 s and at
/// most 60 s, so one stuck wait still leaves time for the test's own failure message.
pub fn wait_budget(ctx: &crate::TestContext) -> std::time::Duration {
    (ctx.timeout / 4).clamp(
        std::time::Duration::from_secs(10),
        std::time::Duration::from_secs(60),
    )
}

/// Eight hex digits of FNV-1a over `text`: stable across runs and platforms, unlike the std
/// hasher, for names derived from a test's namespace or a template.
pub fn short_hash(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{:08x}", hash as u32)
}
