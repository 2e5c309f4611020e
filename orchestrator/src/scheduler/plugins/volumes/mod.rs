//! The volume plugins of the default profile — VolumeBinding, VolumeZone, VolumeRestrictions,
//! NodeVolumeLimits — as hooks the volumes issue fills: each is in the profile under its
//! upstream name (so configurations enable, disable and weigh it as upstream's), and has no
//! extension point yet, so it passes every node and costs a cycle nothing.

use std::sync::Arc;

use crate::scheduler::framework::{ClusterEvent, Handle, Plugin};

pub mod binding;
pub mod limits;
pub mod restrictions;
pub mod zone;

/// A volume plugin waiting for the volumes issue.
#[derive(Debug)]
pub struct Hook(&'static str);

impl Plugin for Hook {
    fn name(&self) -> &'static str {
        self.0
    }
    /// It rejects nothing, so no event needs to requeue a pod for it.
    fn events_to_register(&self) -> Option<Vec<ClusterEvent>> {
        Some(Vec::new())
    }
}

/// The factory of the hook named `name`; it takes no arguments yet.
fn hook(
    name: &'static str,
    _args: &serde_json::Value,
    _handle: &Handle,
) -> Result<Arc<dyn Plugin>, String> {
    Ok(Arc::new(Hook(name)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::plugins::{
        NODE_VOLUME_LIMITS, VOLUME_BINDING, VOLUME_RESTRICTIONS, VOLUME_ZONE,
    };

    #[test]
    fn each_hook_is_its_upstream_plugin_with_no_extension_point_yet() {
        let handle = Handle::in_memory();
        let args = serde_json::Value::Null;
        for (name, new) in [
            (VOLUME_BINDING, binding::new as fn(&_, &_) -> _),
            (VOLUME_ZONE, zone::new),
            (VOLUME_RESTRICTIONS, restrictions::new),
            (NODE_VOLUME_LIMITS, limits::new),
        ] {
            let p = new(&args, &handle).unwrap();
            assert_eq!(p.name(), name);
            assert!(p.as_pre_filter().is_none() && p.as_filter().is_none());
            assert!(p.as_score().is_none() && p.as_reserve().is_none());
            assert_eq!(p.events_to_register(), Some(Vec::new()));
        }
    }
}
