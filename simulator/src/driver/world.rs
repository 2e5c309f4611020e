//! What pods need from the cluster besides themselves: whether their configMaps, secrets and
//! claims exist (shared watch caches, one per resource for the whole simulator; whole objects,
//! since the embedded API server does not serve metadata-only lists) and which images
//! a node holds. [`NodeWorld`] answers [`crate::pod::World`] for one node.

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Secret, Volume};
use kube::api::Api;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use tokio_util::sync::CancellationToken;

use crate::node::NodeState;

/// Watch caches of what volumes refer to.
#[derive(Clone)]
pub struct Caches {
    config_maps: Store<ConfigMap>,
    secrets: Store<Secret>,
    claims: Store<PersistentVolumeClaim>,
}

impl Caches {
    /// Start the three watches; they stop with `shutdown`.
    pub fn start(
        client: &kube::Client,
        shutdown: CancellationToken,
        tracker: &tokio_util::task::TaskTracker,
    ) -> Self {
        let (config_maps, w1) = reflector::store();
        let (secrets, w2) = reflector::store();
        let (claims, w3) = reflector::store();
        let cm = reflector::reflector(
            w1,
            watcher(
                Api::<ConfigMap>::all(client.clone()),
                watcher::Config::default(),
            )
            .default_backoff(),
        );
        let sec = reflector::reflector(
            w2,
            watcher(
                Api::<Secret>::all(client.clone()),
                watcher::Config::default(),
            )
            .default_backoff(),
        );
        let pvc = reflector::reflector(
            w3,
            watcher(
                Api::<PersistentVolumeClaim>::all(client.clone()),
                watcher::Config::default(),
            )
            .default_backoff(),
        );
        for stream in [
            cm.map(|_| ()).boxed(),
            sec.map(|_| ()).boxed(),
            pvc.map(|_| ()).boxed(),
        ] {
            let shutdown = shutdown.clone();
            tracker.spawn(async move {
                let mut stream = stream;
                loop {
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        item = stream.next() => if item.is_none() { return },
                    }
                }
            });
        }
        Self {
            config_maps,
            secrets,
            claims,
        }
    }

    /// Wait until every cache holds its first full list.
    pub async fn ready(&self) {
        let _ = tokio::join!(
            self.config_maps.wait_until_ready(),
            self.secrets.wait_until_ready(),
            self.claims.wait_until_ready()
        );
    }

    /// Why `volume` cannot be mounted in `namespace` now, as the kubelet's FailedMount message.
    pub fn mount_error(&self, namespace: &str, volume: &Volume) -> Option<String> {
        if let Some(cm) = &volume.config_map {
            let missing = self
                .config_maps
                .get(&ObjectRef::new(&cm.name).within(namespace))
                .is_none();
            if missing && cm.optional != Some(true) {
                return Some(format!(
                    "MountVolume.SetUp failed for volume \"{}\" : configmap \"{}\" not found",
                    volume.name, cm.name
                ));
            }
        }
        if let Some(secret) = &volume.secret {
            let name = secret.secret_name.clone().unwrap_or_default();
            let missing = self
                .secrets
                .get(&ObjectRef::new(&name).within(namespace))
                .is_none();
            if missing && secret.optional != Some(true) {
                return Some(format!(
                    "MountVolume.SetUp failed for volume \"{}\" : secret \"{}\" not found",
                    volume.name, name
                ));
            }
        }
        if let Some(projected) = &volume.projected {
            for source in projected.sources.iter().flatten() {
                if let Some(cm) = &source.config_map
                    && cm.optional != Some(true)
                    && self
                        .config_maps
                        .get(&ObjectRef::new(&cm.name).within(namespace))
                        .is_none()
                {
                    return Some(format!(
                        "MountVolume.SetUp failed for volume \"{}\" : configmap \"{}\" not found",
                        volume.name, cm.name
                    ));
                }
                if let Some(secret) = &source.secret
                    && secret.optional != Some(true)
                    && self
                        .secrets
                        .get(&ObjectRef::new(&secret.name).within(namespace))
                        .is_none()
                {
                    return Some(format!(
                        "MountVolume.SetUp failed for volume \"{}\" : secret \"{}\" not found",
                        volume.name, secret.name
                    ));
                }
            }
        }
        if let Some(claim) = &volume.persistent_volume_claim {
            let name = &claim.claim_name;
            match self.claims.get(&ObjectRef::new(name).within(namespace)) {
                None => {
                    return Some(format!(
                        "Unable to attach or mount volumes: unmounted volumes=[{}]: error processing PVC {namespace}/{name}: PVC {namespace}/{name} was not found",
                        volume.name
                    ));
                }
                Some(pvc)
                    if pvc.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Bound") =>
                {
                    return Some(format!(
                        "Unable to attach or mount volumes: unmounted volumes=[{}]: error processing PVC {namespace}/{name}: PVC is not bound",
                        volume.name
                    ));
                }
                Some(_) => {}
            }
        }
        None
    }
}

/// The world one node's pods see.
pub struct NodeWorld<'a> {
    /// The node.
    pub node: &'a NodeState,
    /// The shared caches.
    pub caches: &'a Caches,
}

impl crate::pod::World for NodeWorld<'_> {
    fn mount_error(&self, namespace: &str, volume: &Volume) -> Option<String> {
        self.caches.mount_error(namespace, volume)
    }

    fn image_present(&self, image: &str) -> bool {
        self.node.inner.lock().images.contains(image)
    }

    fn image_pulled(&self, image: &str) {
        self.node.inner.lock().images.insert(image.to_owned());
    }
}
