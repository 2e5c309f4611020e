//! The `api-machinery` area: CRUD, conflicts, the status subresource, deletion and finalizers,
//! watch, list paging and selectors, patch types, validation and defaulting, every error code,
//! authentication, discovery and metrics — all through the Kubernetes API only.

mod crud;
mod defaulting;
mod deletion;
mod discovery;
mod errors;
mod list;
mod patch;
mod status;
mod validation;
mod watch;

use crate::TestDef;

const AREA: &str = "api-machinery";

/// Every `api-machinery` test.
pub fn tests() -> Vec<TestDef> {
    vec![
        test!(AREA, crud::create_then_get_returns_the_object),
        test!(
            AREA,
            crud::generate_name_gives_distinct_names_with_the_prefix
        ),
        test!(
            AREA,
            crud::update_with_a_stale_resource_version_is_a_conflict
        ),
        test!(AREA, crud::creating_an_existing_name_is_already_exists),
        test!(AREA, crud::deleted_object_is_not_found_afterwards),
        test!(AREA, crud::delete_collection_removes_only_selected_objects),
        test!(
            AREA,
            crud::replace_keeps_identity_and_changes_resource_version
        ),
        test!(AREA, crud::dry_run_writes_persist_nothing),
        test!(AREA, status::writing_the_main_resource_ignores_status),
        test!(AREA, status::writing_the_status_subresource_ignores_spec),
        test!(AREA, status::generation_moves_on_spec_changes_only),
        test!(
            AREA,
            deletion::object_with_a_finalizer_stays_until_the_finalizer_is_removed
        ),
        test!(
            AREA,
            deletion::unbound_pod_deleted_with_a_grace_period_is_removed_at_once
        ),
        test!(
            AREA,
            deletion::bound_pod_stays_terminating_until_a_zero_grace_delete
        ),
        test!(AREA, deletion::every_propagation_policy_is_accepted),
        test!(AREA, watch::watch_from_a_resource_version_delivers_only_later_events,
            tags: [Conformance], upstream: ["watch-configmaps-from-resource-version"]),
        test!(AREA, watch::watch_restarted_from_the_last_seen_version_misses_nothing,
            tags: [Conformance], upstream: ["watch-configmaps-closed-and-restarted"]),
        test!(AREA, watch::watchers_see_only_objects_matching_their_selectors,
            tags: [Conformance], upstream: ["watch-configmaps-with-multiple-watchers"]),
        test!(AREA, watch::object_relabelled_out_of_a_selector_is_seen_as_deleted,
            tags: [Conformance], upstream: ["watch-configmaps-label-changed"]),
        test!(AREA, watch::field_selector_watch_sees_only_the_named_object),
        test!(AREA, watch::watch_with_bookmarks_receives_a_bookmark),
        test!(AREA, watch::concurrent_watches_see_events_in_the_same_order,
            tags: [Conformance], upstream: ["watch-consistency"]),
        // Serial: compacting the history on purpose would expire other tests' watches.
        test!(AREA, watch::watch_from_a_compacted_version_is_gone_and_a_relist_recovers,
            tags: [Serial]),
        test!(AREA, list::list_pages_with_limit_and_continue,
            tags: [Conformance], upstream: ["API Chunking, server should return chunks of results for list calls"]),
        test!(
            AREA,
            list::pages_are_a_consistent_snapshot_while_writes_happen
        ),
        test!(AREA, list::label_selector_operators_select_exactly),
        test!(AREA, list::field_selectors_select_by_name_and_namespace),
        test!(AREA, list::pod_field_selectors_select_by_node_and_phase),
        test!(AREA, list::event_field_selectors_select_by_involved_object),
        test!(AREA, list::unsupported_field_selector_is_a_bad_request),
        test!(AREA, patch::json_patch_applies_operations_in_order),
        test!(AREA, patch::merge_patch_sets_removes_and_replaces_lists),
        test!(AREA, patch::strategic_merge_patch_merges_containers_by_name),
        test!(AREA, patch::strategic_merge_patch_merges_env_by_name),
        test!(
            AREA,
            patch::strategic_merge_patch_delete_directive_removes_an_item
        ),
        test!(
            AREA,
            patch::patch_with_a_stale_resource_version_is_a_conflict
        ),
        test!(
            AREA,
            validation::invalid_names_are_rejected_with_a_field_cause
        ),
        test!(
            AREA,
            validation::invalid_labels_are_rejected_with_field_causes
        ),
        test!(AREA, validation::pod_without_containers_is_rejected),
        test!(
            AREA,
            validation::deployment_selector_must_match_template_labels
        ),
        test!(AREA, validation::pod_spec_is_immutable_except_images),
        test!(AREA, validation::service_cluster_ip_is_immutable),
        test!(AREA, validation::deployment_selector_is_immutable),
        test!(AREA, defaulting::pod_defaults_are_applied),
        test!(AREA, defaulting::service_defaults_are_applied),
        test!(AREA, defaulting::deployment_defaults_are_applied),
        test!(
            AREA,
            defaulting::replication_controller_defaults_selector_and_labels_from_its_template
        ),
        test!(AREA, errors::malformed_json_body_is_a_bad_request),
        test!(AREA, errors::body_of_another_kind_is_a_bad_request),
        test!(AREA, errors::writing_an_unserved_resource_is_not_found),
        test!(AREA, errors::unknown_fields_are_dropped_by_default_and_rejected_when_strict,
            tags: [Conformance], upstream: ["Server side field validation, typed object", "Server side field validation, typed unknown metadata"]),
        test!(AREA, errors::request_without_credentials_is_unauthorized),
        test!(AREA, errors::request_with_a_wrong_token_is_unauthorized),
        test!(AREA, errors::unknown_resource_path_is_not_found),
        test!(AREA, errors::unsupported_verbs_are_method_not_allowed),
        test!(AREA, errors::oversized_body_is_request_entity_too_large),
        test!(
            AREA,
            errors::patch_with_an_unknown_content_type_is_unsupported_media_type
        ),
        test!(AREA, discovery::server_version_has_integer_major_and_minor,
            tags: [Conformance], upstream: ["Confirm a server version"]),
        test!(AREA, discovery::core_discovery_lists_v1_resources),
        test!(AREA, discovery::api_groups_have_preferred_versions_and_resources,
        tags: [Conformance], upstream: [
            "Discovery, confirm the PreferredVersion for each api group",
            "Discovery, confirm the groupVersion and a resource from each apiGroup",
        ]),
        test!(
            AREA,
            discovery::metrics_endpoint_exposes_apiserver_request_total
        ),
    ]
}
