//! Controllers inside the control plane. Each is a task that watches the store and acts through
//! [`crate::api::Objects`], so its writes get the same admission and validation as a client's.
//! (Skeleton: namespace and quota controllers come with the admission helper.)

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::api::Objects;

/// Start every built-in controller on `tracker`; they stop when `shutdown` is cancelled.
pub fn spawn_all(objects: Arc<Objects>, shutdown: CancellationToken, tracker: &TaskTracker) {
    let _ = (objects, shutdown, tracker);
}
