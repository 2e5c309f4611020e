//! The TTL-after-finished controller (upstream `pkg/controller/ttlafterfinished`): a Job with
//! `ttlSecondsAfterFinished` is deleted that long after its `Complete` or `Failed` condition
//! turned True, with foreground propagation (its pods go first) and a uid precondition so a
//! recreated Job of the same name is not touched.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::api::{DeleteParams, Objects};
use crate::controllers::Sink;
use crate::controllers::runtime::queue::{KeyQueue, run_workers};
use crate::error::{ApiError, Reason};
use crate::registry::ResourceInfo;
use crate::store::{Event, EventType, ListOptions, Preconditions};

const JOBS: &str = "jobs.batch";

/// When a finished Job with a TTL expires (`None`: it has no TTL, is not finished, or is
/// being deleted). Upstream `needsCleanup` and `getFinishAndExpireTime`.
pub(crate) fn expires_at(job: &Value) -> Option<jiff::Timestamp> {
    if !job["metadata"]["deletionTimestamp"].is_null() {
        return None;
    }
    let ttl = job["spec"]["ttlSecondsAfterFinished"].as_i64()?;
    let finished = job["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True")?;
    let at: jiff::Timestamp = finished["lastTransitionTime"].as_str()?.parse().ok()?;
    Some(at + jiff::SignedDuration::from_secs(ttl))
}

/// The TTL-after-finished controller.
#[derive(Debug)]
pub(crate) struct TtlAfterFinishedController {
    objects: Arc<Objects>,
    queue: Arc<KeyQueue>,
}

impl TtlAfterFinishedController {
    pub(crate) fn new(objects: Arc<Objects>) -> Self {
        Self {
            objects,
            queue: Arc::default(),
        }
    }

    /// Clean up Jobs until `shutdown` (upstream runs five workers).
    pub(crate) async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let queue = self.queue.clone();
        run_workers("ttl-after-finished", queue, 5, shutdown, move |key, _| {
            let this = self.clone();
            async move { this.process(&key) }
        })
        .await;
    }

    /// Upstream `processJob`: check the TTL on the cached Job, then again on a fresh read, then
    /// delete.
    fn process(&self, key: &str) -> Result<(), ApiError> {
        let (ns, name) = key.split_once('/').unwrap_or(("", key));
        let stored = match self.objects.store().get(JOBS, ns, name) {
            Ok(s) => s,
            Err(e) if e.reason == Reason::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let job = stored.value();
        let Some(expires) = expires_at(&job) else {
            return Ok(());
        };
        let now = jiff::Timestamp::now();
        if expires > now {
            let left = Duration::try_from(expires.duration_since(now)).unwrap_or_default();
            self.queue.add_after(key, left);
            return Ok(());
        }
        let info = crate::registry::find("batch", "v1", "jobs").expect("served");
        let params = DeleteParams {
            propagation_policy: Some("Foreground".into()),
            preconditions: Preconditions {
                revision: None,
                uid: job["metadata"]["uid"].as_str().map(str::to_string),
            },
            ..Default::default()
        };
        match self.objects.delete(info, ns, name, &params) {
            Err(e) if e.reason != Reason::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

impl Sink for TtlAfterFinishedController {
    fn on_event(&self, info: &'static ResourceInfo, event: &Event) {
        if info.store_key != JOBS || matches!(event.kind, EventType::Deleted | EventType::Bookmark)
        {
            return;
        }
        if expires_at(&event.object.value()).is_some() {
            self.queue
                .add(&format!("{}/{}", event.object.namespace, event.object.name));
        }
    }

    fn resync(&self) {
        let Ok(listed) = self.objects.store().list(JOBS, &ListOptions::default()) else {
            return;
        };
        for s in &listed.items {
            if expires_at(&s.value()).is_some() {
                self.queue.add(&format!("{}/{}", s.namespace, s.name));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(ttl: Option<i64>, condition: Option<(&str, &str)>) -> Value {
        let mut j = json!({"metadata": {"name": "j"}, "spec": {}, "status": {}});
        if let Some(t) = ttl {
            j["spec"]["ttlSecondsAfterFinished"] = json!(t);
        }
        if let Some((t, s)) = condition {
            j["status"]["conditions"] = json!([{"type": t, "status": s,
                "lastTransitionTime": "2026-01-01T00:00:00Z"}]);
        }
        j
    }

    // upstream TestTimeLeft / needsCleanup
    #[test]
    fn only_finished_jobs_with_a_ttl_expire() {
        let at: jiff::Timestamp = "2026-01-01T00:01:40Z".parse().unwrap();
        assert_eq!(
            expires_at(&job(Some(100), Some(("Complete", "True")))),
            Some(at)
        );
        assert_eq!(
            expires_at(&job(Some(100), Some(("Failed", "True")))),
            Some(at)
        );
        assert_eq!(
            expires_at(&job(Some(100), Some(("Complete", "False")))),
            None
        );
        assert_eq!(expires_at(&job(None, Some(("Complete", "True")))), None);
        assert_eq!(expires_at(&job(Some(0), Some(("Suspended", "True")))), None);
        let mut deleting = job(Some(0), Some(("Complete", "True")));
        deleting["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        assert_eq!(expires_at(&deleting), None);
    }
}
