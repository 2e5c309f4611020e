//! `apply` as the API serves it: the patch bodies kubectl and controllers send, and upstream's
//! status codes for patches that are malformed or do not apply.

use rstest::rstest;
use serde_json::{Value, json};

use super::{PatchType, apply};
use crate::error::Reason;

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web", "namespace": "default", "uid": "u-1", "resourceVersion": "7",
            "labels": {"app": "web"},
            "annotations": {"deployment.kubernetes.io/revision": "2"},
            "finalizers": ["example.com/a"],
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "app", "image": "app:1",
                            "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}],
                            "ports": [{"containerPort": 80, "protocol": "TCP"}],
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                            "terminationMessagePath": "/dev/termination-log",
                        },
                        {"name": "sidecar", "image": "side:1"},
                    ],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                    "tolerations": [{"key": "a", "operator": "Exists"}],
                    "restartPolicy": "Always",
                },
            },
        },
        "status": {
            "replicas": 2,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
            ],
        },
    })
}

fn smp(original: &Value, patch: Value) -> Value {
    apply(
        "Deployment",
        PatchType::StrategicMerge,
        original,
        patch.to_string().as_bytes(),
    )
    .expect("patch applies")
}

fn containers(v: &Value) -> &Vec<Value> {
    v["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers")
}

#[rstest]
#[case::without_order(json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:2"}]}}}}))]
#[case::with_order_as_kubectl_sends_it(json!({"spec": {"template": {"spec": {
    "$setElementOrder/containers": [{"name": "app"}, {"name": "sidecar"}],
    "containers": [{"image": "app:2", "name": "app"}],
}}}}))]
fn set_image_changes_one_container_and_keeps_the_rest(#[case] patch: Value) {
    let out = smp(&deployment(), patch);
    let cs = containers(&out);
    assert_eq!(cs.len(), 2);
    assert_eq!(cs[0]["name"], "app");
    assert_eq!(cs[0]["image"], "app:2");
    assert_eq!(
        cs[0]["env"].as_array().map(Vec::len),
        Some(2),
        "untouched fields of the container stay"
    );
    assert_eq!(cs[1], json!({"name": "sidecar", "image": "side:1"}));
}

#[test]
fn apply_removing_a_container_and_an_env_var_deletes_both() {
    // What `kubectl apply` computes when the new manifest drops `sidecar` and env `Y`.
    let patch = json!({
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}\n"}},
        "spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "app"}],
            "containers": [
                {"$setElementOrder/env": [{"name": "X"}], "env": [{"$patch": "delete", "name": "Y"}], "name": "app"},
                {"$patch": "delete", "name": "sidecar"},
            ],
        }}},
    });
    let out = smp(&deployment(), patch);
    let cs = containers(&out);
    assert_eq!(cs.len(), 1);
    assert_eq!(cs[0]["env"], json!([{"name": "X", "value": "1"}]));
    assert_eq!(
        cs[0]["ports"],
        json!([{"containerPort": 80, "protocol": "TCP"}])
    );
    assert_eq!(
        out["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "2"
    );
    assert_eq!(
        out["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"],
        "{}\n"
    );
}

#[test]
fn apply_adding_a_container_places_it_by_set_element_order() {
    let patch = json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "init"}, {"name": "app"}, {"name": "sidecar"}],
        "containers": [{"name": "init", "image": "init:1"}],
    }}}});
    let out = smp(&deployment(), patch);
    let names: Vec<&str> = containers(&out)
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["init", "app", "sidecar"]);
}

#[test]
fn edit_adding_an_env_var_merges_by_name() {
    let patch = json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "app"}, {"name": "sidecar"}],
        "containers": [{
            "$setElementOrder/env": [{"name": "X"}, {"name": "Z"}, {"name": "Y"}],
            "env": [{"name": "X", "value": "10"}, {"name": "Z", "value": "3"}],
            "name": "app",
        }],
    }}}});
    let out = smp(&deployment(), patch);
    assert_eq!(
        containers(&out)[0]["env"],
        json!([{"name": "X", "value": "10"}, {"name": "Z", "value": "3"}, {"name": "Y", "value": "2"}])
    );
}

#[test]
fn volume_source_switch_with_retain_keys_drops_the_old_source() {
    let patch = json!({"spec": {"template": {"spec": {
        "$setElementOrder/volumes": [{"name": "data"}],
        "volumes": [{"$retainKeys": ["configMap", "name"], "configMap": {"name": "cm"}, "name": "data"}],
    }}}});
    let out = smp(&deployment(), patch);
    assert_eq!(
        out["spec"]["template"]["spec"]["volumes"],
        json!([{"name": "data", "configMap": {"name": "cm"}}])
    );
}

#[test]
fn strategy_switch_with_retain_keys_drops_rolling_update() {
    let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": null}}});
    let out = smp(&deployment(), patch);
    assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
}

#[test]
fn lists_without_a_merge_strategy_are_replaced() {
    let patch = json!({"spec": {"template": {"spec": {"tolerations": [{"key": "b", "operator": "Exists"}]}}}});
    let out = smp(&deployment(), patch);
    assert_eq!(
        out["spec"]["template"]["spec"]["tolerations"],
        json!([{"key": "b", "operator": "Exists"}])
    );
}

#[test]
fn finalizers_merge_as_a_set_and_delete_from_the_parallel_list() {
    let added = smp(
        &deployment(),
        json!({"metadata": {"finalizers": ["example.com/b", "example.com/a"]}}),
    );
    assert_eq!(
        added["metadata"]["finalizers"],
        json!(["example.com/b", "example.com/a"])
    );
    let removed = smp(
        &added,
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["example.com/a"]}}),
    );
    assert_eq!(removed["metadata"]["finalizers"], json!(["example.com/b"]));
}

#[test]
fn status_conditions_merge_by_type() {
    let patch = json!({"status": {"conditions": [{"type": "Progressing", "status": "False", "reason": "Stuck"}]}});
    let out = smp(&deployment(), patch);
    assert_eq!(
        out["status"]["conditions"],
        json!([
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "False", "reason": "Stuck"},
        ])
    );
}

#[test]
fn template_replace_directive_replaces_the_whole_template() {
    let patch = json!({"spec": {"template": {"$patch": "replace", "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "app", "image": "app:0"}]}}}});
    let out = smp(&deployment(), patch);
    assert_eq!(
        out["spec"]["template"],
        json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "app:0"}]}})
    );
}

#[test]
fn pod_owner_references_merge_by_uid_and_container_ports_by_number() {
    let pod = json!({
        "metadata": {"name": "p", "ownerReferences": [{"uid": "1", "name": "rs-a", "kind": "ReplicaSet"}]},
        "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}, {"containerPort": 443}]}]},
    });
    let patch = json!({
        "metadata": {"ownerReferences": [{"uid": "2", "name": "rs-b", "kind": "ReplicaSet"}]},
        "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 443, "name": "https"}]}]},
    });
    let out = apply(
        "Pod",
        PatchType::StrategicMerge,
        &pod,
        patch.to_string().as_bytes(),
    )
    .expect("applies");
    let uids: Vec<&str> = out["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["uid"].as_str())
        .collect();
    assert_eq!(uids.len(), 2);
    assert!(uids.contains(&"1") && uids.contains(&"2"));
    assert_eq!(
        out["spec"]["containers"][0]["ports"],
        json!([{"containerPort": 80}, {"containerPort": 443, "name": "https"}])
    );
}

#[test]
fn service_ports_merge_by_port_and_node_taints_are_replaced() {
    let svc = json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}});
    let patch = json!({"spec": {"ports": [{"port": 80, "targetPort": 9090}]}});
    let out = apply(
        "Service",
        PatchType::StrategicMerge,
        &svc,
        patch.to_string().as_bytes(),
    )
    .expect("applies");
    assert_eq!(
        out["spec"]["ports"],
        json!([{"port": 80, "targetPort": 9090}, {"port": 443}])
    );

    let node = json!({"spec": {"taints": [{"key": "a", "effect": "NoSchedule"}]},
        "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}, {"type": "Hostname", "address": "n"}]}});
    let patch = json!({"spec": {"taints": [{"key": "b", "effect": "NoExecute"}]},
        "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.2"}]}});
    let out = apply(
        "Node",
        PatchType::StrategicMerge,
        &node,
        patch.to_string().as_bytes(),
    )
    .expect("applies");
    assert_eq!(
        out["spec"]["taints"],
        json!([{"key": "b", "effect": "NoExecute"}])
    );
    assert_eq!(
        out["status"]["addresses"],
        json!([{"type": "InternalIP", "address": "10.0.0.2"}, {"type": "Hostname", "address": "n"}])
    );
}

#[rstest]
#[case::label_added(json!({"metadata": {"labels": {"tier": "front"}}}), json!({"app": "web", "tier": "front"}))]
#[case::label_removed(json!({"metadata": {"labels": {"app": null}}}), json!({}))]
#[case::label_overwritten(json!({"metadata": {"labels": {"app": "api"}}}), json!({"app": "api"}))]
fn label_merge_patches_as_kubectl_label_sends_them(#[case] patch: Value, #[case] labels: Value) {
    let out = apply(
        "Deployment",
        PatchType::Merge,
        &deployment(),
        patch.to_string().as_bytes(),
    )
    .expect("applies");
    assert_eq!(out["metadata"]["labels"], labels);
    assert_eq!(out["spec"], deployment()["spec"]);
}

#[test]
fn merge_patch_replaces_lists_whole() {
    let patch =
        json!({"spec": {"replicas": 5, "template": {"spec": {"containers": [{"name": "only"}]}}}});
    let out = apply(
        "Deployment",
        PatchType::Merge,
        &deployment(),
        patch.to_string().as_bytes(),
    )
    .expect("applies");
    assert_eq!(out["spec"]["replicas"], 5);
    assert_eq!(containers(&out), &vec![json!({"name": "only"})]);
}

#[test]
fn rollout_undo_json_patch_replaces_template_and_annotations() {
    let template = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "app:0"}]}});
    let patch = json!([
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": {"deployment.kubernetes.io/revision": "1"}},
    ]);
    let out = apply(
        "Deployment",
        PatchType::Json,
        &deployment(),
        patch.to_string().as_bytes(),
    )
    .expect("applies");
    assert_eq!(out["spec"]["template"], template);
    assert_eq!(
        out["metadata"]["annotations"],
        json!({"deployment.kubernetes.io/revision": "1"})
    );
}

#[rstest]
#[case::test_op_fails(json!([{"op": "test", "path": "/spec/replicas", "value": 3}]))]
#[case::remove_missing_path(json!([{"op": "remove", "path": "/spec/nothing"}]))]
#[case::replace_missing_path(json!([{"op": "replace", "path": "/metadata/nothing/x", "value": 1}]))]
#[case::unknown_op(json!([{"op": "frobnicate", "path": "/spec"}]))]
fn json_patch_that_does_not_apply_is_a_generic_422(#[case] patch: Value) {
    let err = apply(
        "Deployment",
        PatchType::Json,
        &deployment(),
        patch.to_string().as_bytes(),
    )
    .expect_err("fails");
    assert_eq!((err.code, err.reason), (422, Reason::Invalid));
    assert_eq!(
        err.message,
        "the server rejected our request due to an error in our request"
    );
}

#[test]
fn json_patch_test_op_that_matches_lets_the_rest_apply() {
    let patch = json!([
        {"op": "test", "path": "/spec/replicas", "value": 2},
        {"op": "add", "path": "/metadata/labels/x", "value": "y"},
    ]);
    let out = apply(
        "Deployment",
        PatchType::Json,
        &deployment(),
        patch.to_string().as_bytes(),
    )
    .expect("applies");
    assert_eq!(out["metadata"]["labels"]["x"], "y");
}

#[rstest]
#[case::json_not_json(PatchType::Json, "{not json", None)]
#[case::json_not_a_list(
    PatchType::Json,
    r#"{"op": "add"}"#,
    Some("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
)]
#[case::merge_not_json(PatchType::Merge, "[1,", Some("Invalid JSON Patch"))]
#[case::merge_null(PatchType::Merge, "null", Some("Invalid JSON Patch"))]
#[case::smp_not_json(PatchType::StrategicMerge, "{", None)]
#[case::smp_not_an_object(
    PatchType::StrategicMerge,
    "[]",
    Some("json: cannot unmarshal array into Go value of type map[string]interface {}")
)]
#[case::smp_bad_directive(
    PatchType::StrategicMerge,
    r#"{"$setElementOrder": []}"#,
    Some("invalid patch format of setElementOrder list")
)]
fn malformed_patches_are_bad_requests(
    #[case] kind: PatchType,
    #[case] body: &str,
    #[case] message: Option<&str>,
) {
    let err = apply("Deployment", kind, &deployment(), body.as_bytes()).expect_err("fails");
    assert_eq!((err.code, err.reason), (400, Reason::BadRequest));
    if let Some(m) = message {
        assert_eq!(err.message, m);
    }
}

#[test]
fn too_many_json_patch_operations_are_rejected() {
    let ops: Vec<Value> = (0..10_001)
        .map(|_| json!({"op": "test", "path": "/spec/replicas", "value": 2}))
        .collect();
    let err = apply(
        "Deployment",
        PatchType::Json,
        &deployment(),
        Value::Array(ops).to_string().as_bytes(),
    )
    .expect_err("fails");
    assert_eq!(err.code, 413);
    assert!(
        err.message.ends_with("is 10000, got 10001"),
        "{}",
        err.message
    );
}

#[test]
fn server_side_apply_is_unsupported_media_type() {
    let err = apply("Deployment", PatchType::Apply, &deployment(), b"{}").expect_err("unsupported");
    assert_eq!((err.code, err.reason), (415, Reason::UnsupportedMediaType));
    assert!(
        err.message
            .contains("application/strategic-merge-patch+json"),
        "{}",
        err.message
    );
}

#[test]
fn content_types_map_to_patch_types() {
    assert_eq!(
        PatchType::from_content_type("application/json-patch+json; charset=utf-8"),
        Some(PatchType::Json)
    );
    assert_eq!(
        PatchType::from_content_type("application/strategic-merge-patch+json"),
        Some(PatchType::StrategicMerge)
    );
    assert_eq!(PatchType::from_content_type("application/json"), None);
}
