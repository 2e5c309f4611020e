//! DefaultBinder (upstream `plugins/defaultbinder`): binds the pod with the `binding`
//! subresource's semantics ([`crate::api::Objects::bind`]): a pod is bound once; binding a
//! bound or terminating pod is a conflict.

use std::sync::Arc;

use crate::api::Objects;
use crate::scheduler::framework::{Bind, CycleState, Handle, Plugin, PodInfo, Status};

/// The DefaultBinder plugin.
pub struct DefaultBinder {
    objects: Arc<Objects>,
}

impl std::fmt::Debug for DefaultBinder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DefaultBinder").finish_non_exhaustive()
    }
}

/// Make the plugin (it takes no arguments).
pub fn new(_args: &serde_json::Value, handle: &Handle) -> Result<Arc<dyn Plugin>, String> {
    Ok(Arc::new(DefaultBinder {
        objects: handle.objects().clone(),
    }))
}

impl Plugin for DefaultBinder {
    fn name(&self) -> &'static str {
        super::DEFAULT_BINDER
    }
    fn as_bind(&self) -> Option<&dyn Bind> {
        Some(self)
    }
    fn events_to_register(&self) -> Option<Vec<crate::scheduler::framework::ClusterEvent>> {
        // Binding failures go to backoff, not to the unschedulable pods: no event to wait for.
        Some(Vec::new())
    }
}

impl Bind for DefaultBinder {
    fn bind(&self, _state: &CycleState, pod: &PodInfo, node: &str) -> Status {
        match self.objects.bind(&pod.namespace, &pod.name, node, None) {
            Ok(_) => Status::success(),
            Err(e) => Status::error(e.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::WriteParams;
    use crate::scheduler::framework::testing::simple_pod;
    use crate::store::{MemoryStore, Storage};

    #[test]
    fn binds_once_and_a_second_binding_is_an_error() {
        let store: Arc<dyn Storage> = Arc::new(MemoryStore::new(Default::default()));
        let objects = Objects::new(store);
        let info = crate::registry::find("", "v1", "pods").unwrap();
        let created = objects
            .create(info, "default", simple_pod("p", "100m", ""), &WriteParams::default())
            .unwrap();
        let pod = PodInfo::from_stored(created).unwrap();
        let binder = new(&serde_json::Value::Null, &Handle::new(objects.clone())).unwrap();
        let b = binder.as_bind().unwrap();
        assert!(b.bind(&CycleState::new(), &pod, "n1").is_success());
        let bound = objects.store().get("pods", "default", "p").unwrap().value();
        assert_eq!(bound["spec"]["nodeName"], "n1");
        let again = b.bind(&CycleState::new(), &pod, "n2");
        assert_eq!(again.code(), crate::scheduler::framework::Code::Error);
        assert!(again.message().contains("already assigned"), "{}", again.message());
    }
}
