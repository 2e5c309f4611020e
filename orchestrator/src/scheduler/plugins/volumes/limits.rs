//! NodeVolumeLimits (upstream `plugins/nodevolumelimits`): a node's limit of attachable CSI volumes.
//! A hook until the volumes issue (see `super`).

use std::sync::Arc;

use crate::scheduler::framework::{Handle, Plugin};
use crate::scheduler::plugins::NODE_VOLUME_LIMITS;

/// Makes the plugin.
pub fn new(args: &serde_json::Value, handle: &Handle) -> Result<Arc<dyn Plugin>, String> {
    super::hook(NODE_VOLUME_LIMITS, args, handle)
}
