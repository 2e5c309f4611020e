//! The "realistic pod" every API benchmark writes: what a Deployment's pod template typically
//! carries (one container with resources, labels, env, a volume and probes), so that per-object
//! costs (JSON size, validation, defaulting, storage) are those of real clusters, not of
//! `metadata.name` alone.

use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

/// The realistic pod `name` as canonical JSON (no namespace: the caller's API path gives it).
///
/// `index` varies a label and an env value so that objects are not byte-identical, as in a
/// real cluster.
pub fn realistic_pod_json(name: &str, index: usize) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "labels": {
                "app": "bench-web",
                "tier": "frontend",
                "pod-template-hash": format!("{:010x}", index % 7919),
                "kubeproof.io/bench": "api"
            },
            "annotations": {
                "bench.kubeproof.io/index": index.to_string()
            }
        },
        "spec": {
            "containers": [{
                "name": "web",
                "image": "registry.k8s.io/nginx-slim:0.27",
                "imagePullPolicy": "IfNotPresent",
                "ports": [{ "name": "http", "containerPort": 8080, "protocol": "TCP" }],
                "env": [
                    { "name": "LOG_LEVEL", "value": "info" },
                    { "name": "SHARD", "value": (index % 16).to_string() },
                    { "name": "POD_NAME", "valueFrom": { "fieldRef": { "fieldPath": "metadata.name" } } }
                ],
                "resources": {
                    "requests": { "cpu": "100m", "memory": "128Mi" },
                    "limits": { "cpu": "500m", "memory": "256Mi" }
                },
                "volumeMounts": [{ "name": "config", "mountPath": "/etc/web", "readOnly": true }],
                "livenessProbe": {
                    "httpGet": { "path": "/healthz", "port": 8080 },
                    "initialDelaySeconds": 5,
                    "periodSeconds": 10
                },
                "readinessProbe": {
                    "httpGet": { "path": "/ready", "port": "http" },
                    "periodSeconds": 5,
                    "failureThreshold": 3
                }
            }],
            "volumes": [{ "name": "config", "configMap": { "name": "bench-web-config" } }],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30
        }
    })
}

/// [`realistic_pod_json`] as a typed k8s-openapi object, for kube-rs clients.
pub fn realistic_pod(name: &str, index: usize) -> Pod {
    serde_json::from_value(realistic_pod_json(name, index))
        .expect("the realistic pod is a valid Pod")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realistic_pod_round_trips_through_the_typed_pod() {
        let pod = realistic_pod("p-1", 1);
        let back = serde_json::to_value(&pod).unwrap();
        let original = realistic_pod_json("p-1", 1);
        assert_eq!(
            back["spec"]["containers"][0]["env"],
            original["spec"]["containers"][0]["env"]
        );
        assert_eq!(back["metadata"]["labels"], original["metadata"]["labels"]);
        assert_eq!(back["spec"]["volumes"], original["spec"]["volumes"]);
    }
}
