//! The merge semantics checked on a small test type shaped like upstream's `MergeItem` test
//! struct, with cases transcribed from upstream's `strategicpatch/patch_test.go`
//! (`customStrategicMergePatchTestCaseData`, `strategicMergePatchRawTestCases`): each applies a
//! patch to an object and expects upstream's result.

use rstest::rstest;
use serde_json::{Value, json};

use super::super::schema::{Field, Schema, Strategy, TypeDef};
use super::{SmpError, merge_map};

const fn field(name: &'static str, ty: Option<&'static str>, strategy: Strategy) -> Field {
    Field { name, ty, strategy }
}

const BY_NAME: Strategy = Strategy::Merge { key: Some("name") };
const AS_SET: Strategy = Strategy::Merge { key: None };

const TEST_SCHEMA: Schema = Schema {
    types: &[
        TypeDef {
            name: "MergeItem",
            fields: &[
                field("mergingList", Some("MergeItem"), BY_NAME),
                field("nonMergingList", Some("MergeItem"), Strategy::Default),
                field("mergingIntList", None, AS_SET),
                field("mergeItemPtr", Some("MergeItem"), BY_NAME),
                field("replacingItem", None, Strategy::Replace),
                field(
                    "retainKeysMap",
                    Some("RetainKeysMergeItem"),
                    Strategy::Default,
                ),
                field("retainKeysMergingList", Some("MergeItem"), BY_NAME),
            ],
        },
        TypeDef {
            name: "RetainKeysMergeItem",
            fields: &[
                field("mergingIntList", None, AS_SET),
                field("mergingList", Some("MergeItem"), BY_NAME),
            ],
        },
    ],
};

fn apply(original: Value, patch: Value) -> Result<Value, SmpError> {
    let (Value::Object(o), Value::Object(p)) = (original, patch) else {
        panic!("test documents must be objects")
    };
    merge_map(&TEST_SCHEMA, o, p, Some("MergeItem")).map(Value::Object)
}

#[rstest]
#[case::unique_scalars_when_merging_lists(
    json!({"mergingIntList": [1, 2]}),
    json!({"mergingIntList": [2, 3]}),
    json!({"mergingIntList": [1, 2, 3]}),
)]
#[case::delete_map_from_nested_map(
    json!({"simpleMap": {"key1": 1, "key2": 1}}),
    json!({"simpleMap": {"$patch": "delete"}}),
    json!({"simpleMap": {}}),
)]
#[case::delete_all_items_from_merging_list(
    json!({"mergingList": [{"name": 1}, {"name": 2}]}),
    json!({"mergingList": [{"$patch": "replace"}]}),
    json!({"mergingList": []}),
)]
#[case::merge_empty_merging_lists(json!({"mergingList": []}), json!({"mergingList": []}), json!({"mergingList": []}))]
#[case::delete_all_keys_from_map(json!({"name": 1, "value": 1}), json!({"$patch": "replace"}), json!({}))]
#[case::add_key_and_delete_all_keys_from_map(
    json!({"name": 1, "value": 1}),
    json!({"other": "a", "$patch": "replace"}),
    json!({"other": "a"}),
)]
#[case::delete_all_duplicate_entries(
    json!({"mergingList": [{"name": 1}, {"name": 1}, {"name": 2, "value": "a"}, {"name": 3}, {"name": 3}]}),
    json!({"mergingList": [{"name": 1, "$patch": "delete"}, {"name": 3, "$patch": "delete"}]}),
    json!({"mergingList": [{"name": 2, "value": "a"}]}),
)]
#[case::retain_keys_map_adds_a_field_without_directive(
    json!({"retainKeysMap": {"name": "foo"}}),
    json!({"retainKeysMap": {"value": "bar"}}),
    json!({"retainKeysMap": {"name": "foo", "value": "bar"}}),
)]
#[case::retain_keys_map_deletes_a_field_without_directive(
    json!({"retainKeysMap": {"name": "foo", "value": "a"}}),
    json!({"retainKeysMap": {"value": null}}),
    json!({"retainKeysMap": {"name": "foo"}}),
)]
#[case::retain_keys_list_changes_a_field_without_directive(
    json!({"retainKeysMergingList": [{"name": "bar"}, {"name": "foo", "value": "a"}]}),
    json!({"retainKeysMergingList": [{"name": "foo", "value": "b"}]}),
    json!({"retainKeysMergingList": [{"name": "bar"}, {"name": "foo", "value": "b"}]}),
)]
#[case::preserve_the_order_from_the_patch_in_a_merging_list(
    json!({"mergingList": [{"name": 1}, {"name": 2, "value": "b"}, {"name": 3}]}),
    json!({"mergingList": [{"name": 3, "value": "c"}, {"name": 1, "value": "a"}, {"name": 2, "other": "x"}]}),
    json!({"mergingList": [{"name": 3, "value": "c"}, {"name": 1, "value": "a"}, {"name": 2, "value": "b", "other": "x"}]}),
)]
#[case::server_only_items_keep_their_place_before_patched_ones(
    json!({"mergingList": [{"name": 1}, {"name": 2, "value": "b"}, {"name": 3}]}),
    json!({"mergingList": [{"name": 3, "value": "c"}, {"name": 1, "value": "a"}]}),
    json!({"mergingList": [{"name": 2, "value": "b"}, {"name": 3, "value": "c"}, {"name": 1, "value": "a"}]}),
)]
#[case::preserve_the_order_from_the_patch_in_a_merging_int_list(
    json!({"mergingIntList": [1, 2, 3]}),
    json!({"mergingIntList": [3, 1, 2]}),
    json!({"mergingIntList": [3, 1, 2]}),
)]
#[case::partial_int_list_patch_orders_after_server_items(
    json!({"mergingIntList": [1, 2, 3]}),
    json!({"mergingIntList": [3, 1]}),
    json!({"mergingIntList": [2, 3, 1]}),
)]
#[case::set_element_order_may_name_items_absent_from_the_list(
    json!({"mergingList": [{"name": 1}, {"name": 3}]}),
    json!({"$setElementOrder/mergingList": [{"name": 3}, {"name": 2}, {"name": 1}],
           "mergingList": [{"name": 3, "value": 3}, {"name": 1, "value": 1}]}),
    json!({"mergingList": [{"name": 3, "value": 3}, {"name": 1, "value": 1}]}),
)]
#[case::set_element_order_reorders_an_int_list(
    json!({"mergingIntList": [1, 3]}),
    json!({"$setElementOrder/mergingIntList": [3, 2, 1]}),
    json!({"mergingIntList": [3, 1]}),
)]
#[case::delete_items_in_lists_of_scalars(
    json!({"mergingIntList": [1, 2, 3, 4]}),
    json!({"$setElementOrder/mergingIntList": [1, 2], "$deleteFromPrimitiveList/mergingIntList": [3]}),
    json!({"mergingIntList": [1, 2, 4]}),
)]
#[case::delete_all_duplicate_items_in_lists_of_scalars(
    json!({"mergingIntList": [1, 2, 3, 3, 4]}),
    json!({"$setElementOrder/mergingIntList": [1, 2], "$deleteFromPrimitiveList/mergingIntList": [3]}),
    json!({"mergingIntList": [1, 2, 4]}),
)]
#[case::add_and_delete_items_in_lists_of_scalars(
    json!({"mergingIntList": [1, 2, 3, 4]}),
    json!({"$setElementOrder/mergingIntList": [1, 2, 4], "$deleteFromPrimitiveList/mergingIntList": [3],
           "mergingIntList": [4]}),
    json!({"mergingIntList": [1, 2, 4]}),
)]
#[case::merge_lists_of_maps(
    json!({"mergingList": [{"name": 1, "other": "a"}, {"name": 2, "value": 2, "other": "b"}]}),
    json!({"$setElementOrder/mergingList": [{"name": 4}, {"name": 1}, {"name": 2}, {"name": 3}],
           "mergingList": [{"name": 4, "value": 4}, {"name": 3, "value": 3}]}),
    json!({"mergingList": [{"name": 4, "value": 4}, {"name": 1, "other": "a"},
                           {"name": 2, "value": 2, "other": "b"}, {"name": 3, "value": 3}]}),
)]
#[case::merge_lists_of_maps_with_conflict(
    json!({"mergingList": [{"name": 1, "other": "a"}, {"name": 2, "value": 3, "other": "b"}]}),
    json!({"$setElementOrder/mergingList": [{"name": 1}, {"name": 2}, {"name": 3}],
           "mergingList": [{"name": 2, "value": 2}, {"name": 3, "value": 3}]}),
    json!({"mergingList": [{"name": 1, "other": "a"}, {"name": 2, "value": 2, "other": "b"}, {"name": 3, "value": 3}]}),
)]
#[case::add_field_and_delete_field_from_map(
    json!({"name": 1, "other": "a"}),
    json!({"name": null, "value": 1}),
    json!({"other": "a", "value": 1}),
)]
#[case::delete_field_from_nested_map(
    json!({"simpleMap": {"key1": 1, "key2": 1, "other": "a"}}),
    json!({"simpleMap": {"key2": null}}),
    json!({"simpleMap": {"key1": 1, "other": "a"}}),
)]
#[case::replace_list_of_scalars(
    json!({"nonMergingIntList": [1, 4]}),
    json!({"nonMergingIntList": [2, 3]}),
    json!({"nonMergingIntList": [2, 3]}),
)]
#[case::delete_all_maps_from_merging_list(
    json!({"mergingList": [{"name": 1, "other": "a"}, {"name": 2, "other": "b"}]}),
    json!({"mergingList": [{"name": 1, "$patch": "delete"}, {"name": 2, "$patch": "delete"}]}),
    json!({"mergingList": []}),
)]
#[case::delete_all_maps_from_empty_merging_list(
    json!({"mergingList": []}),
    json!({"mergingList": [{"name": 1, "$patch": "delete"}, {"name": 2, "$patch": "delete"}]}),
    json!({"mergingList": []}),
)]
#[case::unmatched_nulls_are_dropped(
    json!({"name": "a", "other": "a"}),
    json!({"name": 1, "value": 1, "other": null, "missing": null}),
    json!({"name": 1, "value": 1}),
)]
#[case::replace_strategy_replaces_a_map(
    json!({"replacingItem": {"a": 1, "b": 2}}),
    json!({"replacingItem": {"c": 3}}),
    json!({"replacingItem": {"c": 3}}),
)]
#[case::retain_keys_directive_clears_unlisted_fields(
    json!({"retainKeysMap": {"name": "foo", "value": "a", "other": "b"}}),
    json!({"retainKeysMap": {"$retainKeys": ["name", "simpleMap"], "simpleMap": {"k": "v"}}}),
    json!({"retainKeysMap": {"name": "foo", "simpleMap": {"k": "v"}}}),
)]
#[case::nested_merging_list_merges_inside_a_matched_element(
    json!({"mergingList": [{"name": 1, "mergingList": [{"name": "x", "value": 1}, {"name": "y"}]}]}),
    json!({"mergingList": [{"name": 1, "mergingList": [{"name": "x", "value": 2}]}]}),
    json!({"mergingList": [{"name": 1, "mergingList": [{"name": "x", "value": 2}, {"name": "y"}]}]}),
)]
#[case::non_merging_list_nested_in_a_merging_list_is_replaced(
    json!({"mergingList": [{"name": 1, "nonMergingList": [{"name": "x"}, {"name": "y"}]}]}),
    json!({"mergingList": [{"name": 1, "nonMergingList": [{"name": "z"}]}]}),
    json!({"mergingList": [{"name": 1, "nonMergingList": [{"name": "z"}]}]}),
)]
#[case::new_element_has_its_nulls_and_directives_resolved(
    json!({}),
    json!({"mergingList": [{"name": 1, "value": null, "mergingList": [{"name": 2, "$patch": "delete"}]}]}),
    json!({"mergingList": [{"name": 1, "mergingList": []}]}),
)]
fn applies_like_upstream(#[case] original: Value, #[case] patch: Value, #[case] expected: Value) {
    assert_eq!(apply(original, patch).expect("patch applies"), expected);
}

#[rstest]
#[case::set_element_order_disagrees_with_the_patch_list(
    json!({"mergingList": [{"name": 1}, {"name": 3}, {"name": 2}]}),
    json!({"$setElementOrder/mergingList": [{"name": 1}, {"name": 2}, {"name": 3}],
           "mergingList": [{"name": 3, "value": 3}, {"name": 1, "value": 1}]}),
    "doesn't match",
)]
#[case::set_element_order_disagrees_with_the_int_patch_list(
    json!({"mergingIntList": [1, 3, 2]}),
    json!({"$setElementOrder/mergingIntList": [1, 2, 3], "mergingIntList": [3, 1]}),
    "doesn't match",
)]
#[case::missing_merge_key(
    json!({"mergingList": [{"name": 1, "value": "a"}]}),
    json!({"mergingList": [{"value": "b"}]}),
    "map: map[value:b] does not contain declared merge key: name",
)]
#[case::merge_directive_in_a_list(
    json!({"mergingList": [{"name": 1}]}),
    json!({"mergingList": [{"$patch": "merge"}]}),
    "merging lists cannot yet be specified in the patch",
)]
#[case::unknown_directive_in_a_map(json!({"simpleMap": {}}), json!({"simpleMap": {"$patch": "explode"}}), "unknown patch type: explode in map: map[$patch:explode]")]
fn fails_like_upstream(#[case] original: Value, #[case] patch: Value, #[case] wanted: &str) {
    match apply(original, patch) {
        Err(SmpError::Other(message)) => {
            assert!(message.contains(wanted), "{message:?} lacks {wanted:?}")
        }
        other => panic!("expected an error containing {wanted:?}, got {other:?}"),
    }
}

#[rstest]
#[case::retain_keys_not_a_list(json!({"retainKeysMap": {"$retainKeys": "name"}}), "invalid patch format of retainKeys")]
#[case::patch_sets_a_key_outside_retain_keys(
    json!({"retainKeysMap": {"$retainKeys": ["name"], "value": "x"}}),
    "invalid patch format of retainKeys"
)]
#[case::deletion_list_without_field(json!({"$deleteFromPrimitiveList": [1]}), "invalid patch format of primitive list")]
#[case::set_element_order_without_field(json!({"$setElementOrder": [1]}), "invalid patch format of setElementOrder list")]
fn malformed_directives_are_bad_requests(#[case] patch: Value, #[case] wanted: &str) {
    let original = json!({"retainKeysMap": {"name": "foo"}, "mergingIntList": [1]});
    assert_eq!(
        apply(original, patch),
        Err(SmpError::BadRequest(wanted.to_string()))
    );
}

#[test]
fn lists_of_lists_are_unprocessable() {
    let got = apply(
        json!({"mergingIntList": [[1]]}),
        json!({"mergingIntList": [[2]]}),
    );
    assert_eq!(
        got,
        Err(SmpError::Unprocessable(
            "lists of lists are not supported".into()
        ))
    );
}
