//! Which fields each resource supports in field selectors, as upstream's `GetAttrs` /
//! `SelectableFields`. (Skeleton: the store helper fills this in.)

use serde_json::Value;

/// The selectable fields of an object of `resource`, or `None` if `field` is not supported there.
pub fn selectable_fields(resource: &str, obj: &Value) -> Vec<(&'static str, Box<str>)> {
    let _ = (resource, obj);
    Vec::new()
}

/// 400 unless every field of `sel` is selectable on `resource`.
pub fn check_field_selector(resource: &str, sel: &super::FieldSelector) -> Result<(), crate::error::ApiError> {
    let _ = (resource, sel);
    Ok(())
}
