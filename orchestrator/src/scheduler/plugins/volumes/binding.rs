//! VolumeBinding (upstream `plugins/volumebinding`): binds a pod's PersistentVolumeClaims to volumes on the chosen node.
//! A hook until the volumes issue (see `super`).

use std::sync::Arc;

use crate::scheduler::framework::{Handle, Plugin};
use crate::scheduler::plugins::VOLUME_BINDING;

/// Makes the plugin.
pub fn new(args: &serde_json::Value, handle: &Handle) -> Result<Arc<dyn Plugin>, String> {
    super::hook(VOLUME_BINDING, args, handle)
}
