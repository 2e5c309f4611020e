//! kubectl-driven tests: the real `kubectl` binary against the target, checking what users see
//! (output lines, tables, error text) and reading the results back through the API.

mod apply;
mod create;
mod delete;
mod edit;
mod inspect;
mod manifests;

use crate::TestDef;

const AREA: &str = "kubectl";

/// Every kubectl test.
pub fn tests() -> Vec<TestDef> {
    vec![
        test!(AREA, apply::apply_multi_document_manifest_creates_every_object, needs: [Kubectl]),
        test!(AREA, apply::apply_twice_is_unchanged_and_a_change_is_configured, needs: [Kubectl]),
        test!(AREA, apply::broken_manifests_fail_with_kubectls_error_text, needs: [Kubectl]),
        test!(AREA, edit::kubectl_label_adds_and_removes_a_label,
            tags: [Conformance], upstream: ["Kubectl, label update"], needs: [Kubectl]),
        test!(AREA, edit::kubectl_annotate_sets_an_annotation, needs: [Kubectl]),
        test!(AREA, edit::kubectl_scale_sets_replicas_and_checks_the_precondition, needs: [Kubectl]),
        test!(AREA, edit::kubectl_set_image_updates_the_container_image, needs: [Kubectl]),
        test!(AREA, edit::kubectl_patch_adds_an_annotation,
            tags: [Conformance], upstream: ["Kubectl, patch to annotate"], needs: [Kubectl]),
        test!(AREA, edit::kubectl_server_side_dry_run_leaves_the_pod_unchanged,
            tags: [Conformance], upstream: ["Kubectl, server-side dry-run Pod"], needs: [Kubectl]),
        test!(AREA, edit::kubectl_replace_updates_the_container_image,
            tags: [Conformance], upstream: ["Kubectl, replace"], needs: [Kubectl]),
        test!(AREA, inspect::kubectl_get_with_a_label_selector_prints_json, needs: [Kubectl]),
        test!(AREA, inspect::kubectl_get_pods_prints_the_table_header, needs: [Kubectl]),
        test!(AREA, inspect::kubectl_describe_prints_name_namespace_and_labels,
            tags: [Conformance], upstream: ["Kubectl, describe pod or rc"], needs: [Kubectl]),
        test!(AREA, inspect::kubectl_api_versions_lists_v1,
            tags: [Conformance], upstream: ["Kubectl, check version v1"], needs: [Kubectl]),
        test!(AREA, inspect::kubectl_version_reports_client_and_server,
            tags: [Conformance], upstream: ["Kubectl, version"], needs: [Kubectl]),
        test!(AREA, inspect::kubectl_cluster_info_reports_the_control_plane,
            tags: [Conformance], upstream: ["Kubectl, cluster info"], needs: [Kubectl]),
        test!(AREA, delete::kubectl_delete_with_a_label_selector_deletes_only_matches, needs: [Kubectl]),
        test!(AREA, delete::kubectl_delete_namespace_then_wait_for_delete, needs: [Kubectl]),
        test!(AREA, create::kubectl_create_deployment_stores_the_typed_deployment, needs: [Kubectl]),
        test!(AREA, create::kubectl_create_namespace_stores_an_active_namespace, needs: [Kubectl]),
        test!(AREA, create::kubectl_create_configmap_stores_the_literals, needs: [Kubectl]),
        test!(AREA, create::kubectl_create_secret_generic_stores_the_bytes, needs: [Kubectl]),
        test!(AREA, create::kubectl_create_service_clusterip_stores_the_port_mapping, needs: [Kubectl]),
        test!(AREA, create::kubectl_create_job_stores_the_command_and_defaults, needs: [Kubectl]),
    ]
}
