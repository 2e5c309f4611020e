//! Fixture objects and names: small builders for the objects tests create, and namespaces a test
//! creates beside its own (named after it, so leftovers are attributable).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, Namespace, Pod, PodSpec, PodTemplateSpec, ReplicationController,
    ReplicationControllerSpec, Service, ServicePort, ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::Resource;
use kube::api::{Api, DeleteParams, PostParams};

use crate::TestContext;

/// The image fixture pods run; never pulled by hollow nodes, small on real ones.
pub const PAUSE_IMAGE: &str = "registry.k8s.io/pause:3.10";

/// A scheduler name no scheduler answers to: pods using it stay unbound on any cluster.
pub const NO_SCHEDULER: &str = "kubeproof-no-scheduler";

/// A typed API for `K` in the test's namespace.
pub fn ns_api<K>(ctx: &TestContext) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    Api::namespaced(ctx.client.clone(), &ctx.namespace)
}

/// Labels from pairs.
pub fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Object metadata with a name and labels.
pub fn meta(name: &str, label_pairs: &[(&str, &str)]) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        labels: if label_pairs.is_empty() {
            None
        } else {
            Some(labels(label_pairs))
        },
        ..ObjectMeta::default()
    }
}

/// A ConfigMap with `data`.
pub fn configmap(name: &str, label_pairs: &[(&str, &str)], data: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: meta(name, label_pairs),
        data: Some(labels(data)),
        ..ConfigMap::default()
    }
}

/// A container running [`PAUSE_IMAGE`].
pub fn container(name: &str) -> Container {
    Container {
        name: name.to_string(),
        image: Some(PAUSE_IMAGE.to_string()),
        ..Container::default()
    }
}

/// A one-container pod spec.
pub fn pod_spec() -> PodSpec {
    PodSpec {
        containers: vec![container("app")],
        ..PodSpec::default()
    }
}

/// A one-container pod.
pub fn pod(name: &str, label_pairs: &[(&str, &str)]) -> Pod {
    Pod {
        metadata: meta(name, label_pairs),
        spec: Some(pod_spec()),
        ..Pod::default()
    }
}

/// A pod no scheduler will bind (see [`NO_SCHEDULER`]).
pub fn unscheduled_pod(name: &str, label_pairs: &[(&str, &str)]) -> Pod {
    let mut p = pod(name, label_pairs);
    if let Some(spec) = p.spec.as_mut() {
        spec.scheduler_name = Some(NO_SCHEDULER.to_string());
    }
    p
}

/// A pod template carrying `label_pairs`.
pub fn pod_template(label_pairs: &[(&str, &str)]) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels(label_pairs)),
            ..ObjectMeta::default()
        }),
        spec: Some(pod_spec()),
    }
}

/// A ClusterIP service on port 80 selecting `selector`.
pub fn service(name: &str, selector: &[(&str, &str)]) -> Service {
    Service {
        metadata: meta(name, &[]),
        spec: Some(ServiceSpec {
            selector: Some(labels(selector)),
            ports: Some(vec![ServicePort {
                port: 80,
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// A replication controller of `replicas` pods labelled `label_pairs`.
pub fn replication_controller(
    name: &str,
    replicas: i32,
    label_pairs: &[(&str, &str)],
) -> ReplicationController {
    ReplicationController {
        metadata: meta(name, label_pairs),
        spec: Some(ReplicationControllerSpec {
            replicas: Some(replicas),
            selector: Some(labels(label_pairs)),
            template: Some(pod_template(label_pairs)),
            ..ReplicationControllerSpec::default()
        }),
        ..ReplicationController::default()
    }
}

/// A deployment of `replicas` pods labelled `label_pairs`.
pub fn deployment(name: &str, replicas: i32, label_pairs: &[(&str, &str)]) -> Deployment {
    Deployment {
        metadata: meta(name, label_pairs),
        spec: DeploymentSpec {
            replicas: Some(replicas),
            selector: LabelSelector {
                match_labels: Some(labels(label_pairs)),
                ..LabelSelector::default()
            },
            template: pod_template(label_pairs),
            ..DeploymentSpec::default()
        },
        ..Deployment::default()
    }
}

/// A name for a namespace this test creates beside its own: the test's namespace plus `suffix`,
/// cut to the 63 characters a namespace name may have.
pub fn child_namespace_name(ctx: &TestContext, suffix: &str) -> String {
    let keep = 63usize.saturating_sub(suffix.len() + 1);
    let base: String = ctx.namespace.chars().take(keep).collect();
    format!("{}-{suffix}", base.trim_end_matches('-'))
}

/// Creates the namespace [`child_namespace_name`]`(ctx, suffix)` and returns its name. The
/// caller deletes it (see [`delete_namespace`]); a failing test leaves it for the runner's
/// sweep of names prefixed by its namespace.
pub async fn create_child_namespace(ctx: &TestContext, suffix: &str) -> anyhow::Result<String> {
    let name = child_namespace_name(ctx, suffix);
    let namespaces: Api<Namespace> = Api::all(ctx.client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &Namespace {
                metadata: meta(&name, &[]),
                ..Namespace::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("creating namespace {name}: {e}"))?;
    Ok(name)
}

/// Deletes namespace `name`, ignoring that it may already be gone.
pub async fn delete_namespace(ctx: &TestContext, name: &str) -> anyhow::Result<()> {
    let namespaces: Api<Namespace> = Api::all(ctx.client.clone());
    match namespaces.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(anyhow::anyhow!("deleting namespace {name}: {e}")),
    }
}
