//! Helpers for the kinds' tests: run a strategy by store key and read causes back.

use serde_json::Value;

use crate::error::ApiError;
use crate::registry::{FieldValidation, RESOURCES, UpdateTarget};

fn strategy(key: &str) -> &'static dyn crate::registry::Strategy {
    let info = RESOURCES
        .iter()
        .find(|r| r.store_key == key)
        .expect("a served resource");
    super::strategy_for(info)
}

/// Decode (warn mode) then prepare for create.
pub(crate) fn create(key: &str, obj: Value) -> Result<Value, ApiError> {
    let s = strategy(key);
    let decoded = s.decode(obj.to_string().as_bytes(), FieldValidation::Warn)?;
    s.prepare_create(decoded.object)
}

/// Decode with a directive.
pub(crate) fn decode(
    key: &str,
    body: &str,
    v: FieldValidation,
) -> Result<crate::registry::Decoded, ApiError> {
    strategy(key).decode(body.as_bytes(), v)
}

/// A main-resource update.
pub(crate) fn update(key: &str, new: Value, old: &Value) -> Result<Value, ApiError> {
    update_target(key, new, old, UpdateTarget::Main)
}

/// An update of `target`.
pub(crate) fn update_target(
    key: &str,
    new: Value,
    old: &Value,
    target: UpdateTarget,
) -> Result<Value, ApiError> {
    let s = strategy(key);
    let decoded = s.decode(new.to_string().as_bytes(), FieldValidation::Warn)?;
    s.prepare_update(decoded.object, old, target)
}

/// The rendered causes of an error.
pub(crate) fn causes(err: &ApiError) -> Vec<String> {
    err.causes.iter().map(crate::error::Cause::render).collect()
}
