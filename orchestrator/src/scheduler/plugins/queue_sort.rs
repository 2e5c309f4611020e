//! PrioritySort (upstream `plugins/queuesort`): the active queue pops the pod with the highest
//! priority first, and among equals the one queued earliest.

use std::sync::Arc;

use crate::scheduler::framework::{ClusterEvent, Handle, Plugin, QueueSort, QueuedPodInfo};

/// The PrioritySort plugin.
#[derive(Debug, Default)]
pub struct PrioritySort;

/// Make the plugin (it takes no arguments).
pub fn new(_args: &serde_json::Value, _handle: &Handle) -> Result<Arc<dyn Plugin>, String> {
    Ok(Arc::new(PrioritySort))
}

impl Plugin for PrioritySort {
    fn name(&self) -> &'static str {
        super::PRIORITY_SORT
    }
    fn as_queue_sort(&self) -> Option<&dyn QueueSort> {
        Some(self)
    }
    fn events_to_register(&self) -> Option<Vec<ClusterEvent>> {
        // Sorting never rejects a pod, so no event needs to requeue one for it.
        Some(Vec::new())
    }
}

impl QueueSort for PrioritySort {
    fn less(&self, a: &QueuedPodInfo, b: &QueuedPodInfo) -> bool {
        let (p1, p2) = (a.pod.priority, b.pod.priority);
        p1 > p2 || (p1 == p2 && a.timestamp < b.timestamp)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::scheduler::framework::testing::{pod, simple_pod};

    fn queued(name: &str, priority: i32, after: Duration) -> QueuedPodInfo {
        let mut v = simple_pod(name, "", "");
        v["spec"]["priority"] = priority.into();
        QueuedPodInfo {
            pod: pod(v),
            initial_attempt: None,
            timestamp: tokio::time::Instant::now() + after,
            attempts: 0,
            unschedulable_plugins: Vec::new(),
            pending_plugins: Vec::new(),
        }
    }

    #[test]
    fn higher_priority_first_then_earlier_timestamp() {
        let s = PrioritySort;
        let high = queued("high", 100, Duration::from_secs(5));
        let low_early = queued("low-early", 0, Duration::ZERO);
        let low_late = queued("low-late", 0, Duration::from_secs(1));
        assert!(s.less(&high, &low_early));
        assert!(!s.less(&low_early, &high));
        assert!(s.less(&low_early, &low_late));
        assert!(!s.less(&low_late, &low_early));
        assert!(!s.less(&low_early, &low_early), "a pod is not before itself");
    }
}
