//! VolumeZone (upstream `plugins/volumezone`): a pod's volumes' zone labels against the node's.
//! A hook until the volumes issue (see `super`).

use std::sync::Arc;

use crate::scheduler::framework::{Handle, Plugin};
use crate::scheduler::plugins::VOLUME_ZONE;

/// Makes the plugin.
pub fn new(args: &serde_json::Value, handle: &Handle) -> Result<Arc<dyn Plugin>, String> {
    super::hook(VOLUME_ZONE, args, handle)
}
