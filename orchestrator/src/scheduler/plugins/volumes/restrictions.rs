//! VolumeRestrictions (upstream `plugins/volumerestrictions`): volumes that cannot be shared (ReadWriteOncePod, disks mounted by one pod).
//! A hook until the volumes issue (see `super`).

use std::sync::Arc;

use crate::scheduler::framework::{Handle, Plugin};
use crate::scheduler::plugins::VOLUME_RESTRICTIONS;

/// Makes the plugin.
pub fn new(args: &serde_json::Value, handle: &Handle) -> Result<Arc<dyn Plugin>, String> {
    super::hook(VOLUME_RESTRICTIONS, args, handle)
}
