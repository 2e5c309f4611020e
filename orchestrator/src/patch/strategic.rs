//! Strategic merge patch, as upstream's `strategicpatch.StrategicMergeMapPatch` applies it on the
//! server (`MergeParallelList` and `IgnoreUnmatchedNulls` both on): maps merge recursively, `null`
//! deletes, lists with a merge strategy merge element by element (by merge key for maps, as sets
//! for scalars), and the directives `$patch`, `$retainKeys`, `$setElementOrder/<field>` and
//! `$deleteFromPrimitiveList/<field>` steer the merge. The order of merged lists follows upstream:
//! `$setElementOrder` first, then the order in the patch, then the order in the live object.

use serde_json::{Map, Value};

use super::schema::{FieldMeta, Schema, Strategy};

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList";
const SET_ELEMENT_ORDER: &str = "$setElementOrder";

/// Why a strategic merge patch failed, grouped by the status upstream's
/// `interpretStrategicMergePatchError` gives each error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SmpError {
    /// 400: a malformed directive (`mergepatch.ErrBadPatchFormatFor…`).
    BadRequest(String),
    /// 422 (`ErrNoListOfLists`, `ErrPatchContentNotMatchRetainKeys`).
    Unprocessable(String),
    /// Every other error, which upstream passes on unconverted and so serves as a 500.
    Other(String),
}

type Result<T> = std::result::Result<T, SmpError>;

fn bad_primitive_list() -> SmpError {
    SmpError::BadRequest("invalid patch format of primitive list".into())
}

fn bad_retain_keys() -> SmpError {
    SmpError::BadRequest("invalid patch format of retainKeys".into())
}

fn bad_set_element_order() -> SmpError {
    SmpError::BadRequest("invalid patch format of setElementOrder list".into())
}

fn no_merge_key(m: &Value, key: &str) -> SmpError {
    SmpError::Other(format!(
        "map: {} does not contain declared merge key: {key}",
        go_fmt(m)
    ))
}

fn bad_arg_type(expected: &str, actual: &Value) -> SmpError {
    SmpError::Other(format!(
        "expected a {expected}, but received a {}",
        go_type(actual)
    ))
}

/// Go's `%v` rendering of a decoded JSON value, for error messages worded as upstream's.
pub(crate) fn go_fmt(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_fmt).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{k}:{}", go_fmt(&m[k.as_str()])))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// The kind of list elements, as upstream's `sliceElementType` tells maps from scalars.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ElemKind {
    Map,
    Scalar,
}

/// Apply `patch` to `original`, both objects of struct type `ty` in `schema`.
pub(crate) fn merge_map(
    schema: &Schema,
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    ty: Option<&str>,
) -> Result<Map<String, Value>> {
    if let Some(directive) = patch.get(DIRECTIVE) {
        return match directive.as_str() {
            Some("replace") => {
                patch.shift_remove(DIRECTIVE);
                Ok(patch)
            }
            Some("delete") => Ok(Map::new()),
            _ => Err(SmpError::Other(format!(
                "unknown patch type: {} in map: {}",
                go_fmt(directive),
                go_fmt(&Value::Object(patch.clone()))
            ))),
        };
    }
    apply_retain_keys(&mut original, &mut patch)?;
    merge_set_element_order(schema, &mut original, &mut patch, ty)?;

    for (key, patch_value) in patch {
        let (key, is_delete_list) = if key.starts_with(DELETE_FROM_PRIMITIVE_LIST) {
            (extract_key(&key, DELETE_FROM_PRIMITIVE_LIST)?, true)
        } else if key.starts_with('$') {
            // An unknown directive: upstream keeps it and typed decoding then drops it.
            continue;
        } else {
            (key, false)
        };
        if patch_value.is_null() {
            original.shift_remove(&key);
            continue;
        }
        let field = schema.lookup(ty, &key);
        let Some(current) = original.get_mut(&key) else {
            // Upstream stores a deletion list for an absent list as the list itself; deleting from
            // nothing leaves nothing, so we skip it.
            if !is_delete_list {
                let fresh = merge_value(schema, Value::Null, patch_value, field, false)?;
                original.insert(key, fresh);
            }
            continue;
        };
        let current = current.take();
        let merged = merge_value(schema, current, patch_value, field, is_delete_list)?;
        original.insert(key, merged);
    }
    Ok(original)
}

/// Merge one field's patch value into its current value (`Null` when absent).
fn merge_value(
    schema: &Schema,
    current: Value,
    patch: Value,
    field: FieldMeta,
    is_delete_list: bool,
) -> Result<Value> {
    match (current, patch) {
        (Value::Object(cur), Value::Object(p)) => {
            if field.strategy == Strategy::Replace {
                Ok(Value::Object(p))
            } else {
                Ok(Value::Object(merge_map(schema, cur, p, field.ty)?))
            }
        }
        (Value::Null, Value::Object(p)) if field.strategy != Strategy::Replace => {
            Ok(Value::Object(merge_map(schema, Map::new(), p, field.ty)?))
        }
        (Value::Array(cur), Value::Array(p)) => Ok(Value::Array(merge_list(
            schema,
            cur,
            p,
            field,
            is_delete_list,
        )?)),
        (Value::Null, Value::Array(p)) => Ok(Value::Array(merge_list(
            schema,
            Vec::new(),
            p,
            field,
            is_delete_list,
        )?)),
        // Different types, or scalars: the patch value wins.
        (_, p) => Ok(p),
    }
}

/// Upstream's `mergeSliceHandler`: merge lists with a merge strategy, replace the others.
fn merge_list(
    schema: &Schema,
    original: Vec<Value>,
    patch: Vec<Value>,
    field: FieldMeta,
    is_delete_list: bool,
) -> Result<Vec<Value>> {
    match field.strategy {
        Strategy::Merge { key } => {
            merge_slice(schema, original, patch, field.ty, key, is_delete_list)
        }
        _ => Ok(patch),
    }
}

/// Upstream's `sliceElementType`: all elements share one type, and none is a list.
fn element_kind(lists: &[&[Value]]) -> Result<Option<ElemKind>> {
    let mut kind: Option<(ElemKind, &'static str)> = None;
    for v in lists.iter().flat_map(|l| l.iter()) {
        if v.is_array() {
            return Err(SmpError::Unprocessable(
                "lists of lists are not supported".into(),
            ));
        }
        let this = (
            if v.is_object() {
                ElemKind::Map
            } else {
                ElemKind::Scalar
            },
            go_type(v),
        );
        match kind {
            None => kind = Some(this),
            Some(prev) if prev.1 != this.1 => {
                let shown: Vec<String> = lists
                    .iter()
                    .map(|l| go_fmt(&Value::Array(l.to_vec())))
                    .collect();
                return Err(SmpError::Other(format!(
                    "list element types are not identical: [{}]",
                    shown.join(" ")
                )));
            }
            Some(_) => {}
        }
    }
    Ok(kind.map(|k| k.0))
}

fn merge_slice(
    schema: &Schema,
    original: Vec<Value>,
    patch: Vec<Value>,
    elem_ty: Option<&str>,
    merge_key: Option<&str>,
    is_delete_list: bool,
) -> Result<Vec<Value>> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let Some(kind) = element_kind(&[&original, &patch])? else {
        return Ok(original);
    };
    let key = merge_key.unwrap_or("");
    let (original, patch, merged) = match kind {
        ElemKind::Scalar => {
            if is_delete_list {
                return Ok(original
                    .into_iter()
                    .filter(|v| !patch.contains(v))
                    .collect());
            }
            let mut merged: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
            for v in original.iter().chain(patch.iter()) {
                if !merged.contains(v) {
                    merged.push(v.clone());
                }
            }
            (original, patch, merged)
        }
        ElemKind::Map => {
            if key.is_empty() {
                return Err(SmpError::Other(
                    "cannot merge lists without merge key for type struct".into(),
                ));
            }
            let (original, patch) = split_special_elements(original, patch, key)?;
            let merged = merge_maps_by_key(schema, original.clone(), &patch, key, elem_ty)?;
            (original, patch, merged)
        }
    };
    let (patch_items, server_only) = partition(merged, &patch, key, kind)?;
    normalize_element_order(patch_items, server_only, &patch, &original, key, kind)
}

/// Upstream's `mergeSliceWithSpecialElements`: apply `$patch: delete` and `$patch: replace`
/// elements, returning the new original and the patch without them.
fn split_special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    key: &str,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for v in patch {
        let Some(directive) = v.get(DIRECTIVE) else {
            plain.push(v);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let Some(wanted) = v.get(key) else {
                    return Err(no_merge_key(&v, key));
                };
                for item in &original {
                    if !item.is_object() {
                        return Err(SmpError::Other("value for key 0 is not a map.".into()));
                    }
                }
                original.retain(|item| item.get(key) != Some(wanted));
            }
            Some("replace") => replace = true,
            Some("merge") => {
                return Err(SmpError::Other(
                    "merging lists cannot yet be specified in the patch".into(),
                ));
            }
            _ => {
                return Err(SmpError::Other(format!(
                    "unknown patch type: {} in map: {}",
                    go_fmt(directive),
                    go_fmt(&v)
                )));
            }
        }
    }
    if replace {
        Ok((plain, Vec::new()))
    } else {
        Ok((original, plain))
    }
}

fn find_by_key(list: &[Value], key: &str, wanted: &Value) -> Result<Option<usize>> {
    for (i, item) in list.iter().enumerate() {
        let Some(m) = item.as_object() else {
            return Err(SmpError::Other(format!("value for key {i} is not a map.")));
        };
        if m.get(key) == Some(wanted) {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// Upstream's `mergeSliceWithoutSpecialElements`: merge each patch element into the original
/// element with the same key, or append it.
fn merge_maps_by_key(
    schema: &Schema,
    mut original: Vec<Value>,
    patch: &[Value],
    key: &str,
    elem_ty: Option<&str>,
) -> Result<Vec<Value>> {
    for v in patch {
        let Some(wanted) = v.get(key) else {
            return Err(no_merge_key(v, key));
        };
        let Value::Object(p) = v.clone() else {
            return Err(bad_arg_type("map[string]interface {}", v));
        };
        match find_by_key(&original, key, wanted)? {
            Some(i) => {
                // `find_by_key` has checked that every element is a map.
                let cur = match original[i].take() {
                    Value::Object(m) => m,
                    _ => Map::new(),
                };
                original[i] = Value::Object(merge_map(schema, cur, p, elem_ty)?);
            }
            None => original.push(Value::Object(merge_map(schema, Map::new(), p, elem_ty)?)),
        }
    }
    Ok(original)
}

/// The value an element is ordered and matched by: its merge key for maps, itself for scalars.
fn order_value<'a>(item: &'a Value, key: &str, kind: ElemKind) -> Option<&'a Value> {
    match kind {
        ElemKind::Map => item.as_object().and_then(|m| m.get(key)),
        ElemKind::Scalar => Some(item),
    }
}

fn index_in(list: &[Value], item: &Value, key: &str, kind: ElemKind) -> Option<usize> {
    let wanted = order_value(item, key, kind);
    list.iter()
        .position(|v| order_value(v, key, kind) == wanted)
}

/// Split `merged` into the items present in `by` and the rest (upstream's
/// `partitionPrimitivesByPresentInList` / `partitionMapsByPresentInList`).
fn partition(
    merged: Vec<Value>,
    by: &[Value],
    key: &str,
    kind: ElemKind,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut present = Vec::with_capacity(merged.len());
    let mut rest = Vec::with_capacity(merged.len());
    for v in merged {
        if kind == ElemKind::Map {
            let Some(m) = v.as_object() else {
                return Err(bad_arg_type("map[string]interface {}", &v));
            };
            let Some(wanted) = m.get(key) else {
                return Err(no_merge_key(&v, key));
            };
            if find_by_key(by, key, wanted)?.is_some() {
                present.push(v)
            } else {
                rest.push(v)
            }
        } else if by.contains(&v) {
            present.push(v);
        } else {
            rest.push(v);
        }
    }
    Ok((present, rest))
}

/// Upstream's `normalizeElementOrder`: sort the patch items by `patch_order` and the server-only
/// items by `server_order`, then interleave them keeping both relative orders.
fn normalize_element_order(
    patch_items: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    key: &str,
    kind: ElemKind,
) -> Result<Vec<Value>> {
    let patch_items = normalize_slice_order(patch_items, patch_order, key, kind)?;
    let server_only = normalize_slice_order(server_only, server_order, key, kind)?;
    Ok(merge_sorted(
        server_only,
        patch_items,
        server_order,
        key,
        kind,
    ))
}

fn normalize_slice_order(
    to_sort: Vec<Value>,
    order: &[Value],
    key: &str,
    kind: ElemKind,
) -> Result<Vec<Value>> {
    let mut to_sort = to_sort;
    let mut to_delete = Vec::new();
    if kind == ElemKind::Map {
        for v in to_sort.iter().chain(order.iter()) {
            let Some(m) = v.as_object() else {
                return Err(bad_arg_type("map[string]interface {}", v));
            };
            if !m.contains_key(key) {
                return Err(no_merge_key(v, key));
            }
        }
        let (keep, delete): (Vec<Value>, Vec<Value>) = to_sort
            .into_iter()
            .partition(|v| v.get(DIRECTIVE).and_then(Value::as_str) != Some("delete"));
        to_sort = keep;
        to_delete = delete;
    }
    // Items missing from `order` cannot occur on the paths upstream sorts; they go last.
    to_sort.sort_by_key(|v| index_in(order, v, key, kind).unwrap_or(usize::MAX));
    to_sort.extend(to_delete);
    Ok(to_sort)
}

/// Upstream's `mergeSortedSlice`: insert `left` (server-only) items among `right` (patch) items;
/// a left item goes first only when both are in `server_order` and it comes earlier there.
fn merge_sorted(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    key: &str,
    kind: ElemKind,
) -> Vec<Value> {
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => {
                matches!(
                    (index_in(server_order, l, key, kind), index_in(server_order, r, key, kind)),
                    (Some(li), Some(ri)) if li < ri
                )
            }
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    out
}

/// Upstream's `extractKey`: `$prefix/field` → `field`.
fn extract_key(s: &str, prefix: &str) -> Result<String> {
    match s.split_once('/') {
        Some((p, rest)) if p == prefix => Ok(rest.to_string()),
        _ if prefix == DELETE_FROM_PRIMITIVE_LIST => Err(bad_primitive_list()),
        _ => Err(bad_set_element_order()),
    }
}

/// Upstream's `applyRetainKeysDirective`: drop keys of `original` not listed, after checking the
/// patch sets no key outside the list.
fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<()> {
    let Some(list) = patch.shift_remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(list) = list else {
        return Err(bad_retain_keys());
    };
    let retained = |k: &str| list.iter().any(|v| v.as_str() == Some(k));
    for (k, v) in patch.iter() {
        if v.is_null()
            || k.starts_with(DELETE_FROM_PRIMITIVE_LIST)
            || k.starts_with(SET_ELEMENT_ORDER)
        {
            continue;
        }
        if !retained(k) {
            return Err(bad_retain_keys());
        }
    }
    original.retain(|k, _| retained(k));
    Ok(())
}

/// Upstream's `mergePatchIntoOriginal`: merge each list that has a `$setElementOrder/<field>`
/// together with its order list, and remove both from the patch.
fn merge_set_element_order(
    schema: &Schema,
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    ty: Option<&str>,
) -> Result<()> {
    let keys: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
        .cloned()
        .collect();
    for directive_key in keys {
        let Some(order) = patch.shift_remove(&directive_key) else {
            continue;
        };
        let Value::Array(order) = order else {
            return Err(bad_arg_type("[]interface {}", &order));
        };
        let field_key = extract_key(&directive_key, SET_ELEMENT_ORDER)?;
        let original_list = match original.get(&field_key) {
            None => None,
            Some(Value::Array(l)) => Some(l.clone()),
            Some(other) => return Err(bad_arg_type("[]interface {}", other)),
        };
        let patch_list = match patch.get(&field_key) {
            None => None,
            Some(Value::Array(l)) => Some(l.clone()),
            Some(other) => return Err(bad_arg_type("[]interface {}", other)),
        };
        let field = schema.lookup(ty, &field_key);
        let key = field.merge_key().unwrap_or("");
        validate_against_order(patch_list.as_deref().unwrap_or(&[]), &order, key)?;
        let merged = match (&original_list, &patch_list) {
            (Some(o), None) => o.clone(),
            (None, Some(p)) => merge_list(schema, Vec::new(), p.clone(), field, false)?,
            (Some(o), Some(p)) => merge_list(schema, o.clone(), p.clone(), field, false)?,
            (None, None) => continue,
        };
        let original_list = original_list.unwrap_or_default();
        let Some(kind) = element_kind(&[&original_list, patch_list.as_deref().unwrap_or(&[])])?
        else {
            original.insert(field_key.clone(), Value::Array(merged));
            patch.shift_remove(&field_key);
            continue;
        };
        let (patch_items, server_only) = partition(merged, &order, key, kind)?;
        let both =
            normalize_element_order(patch_items, server_only, &order, &original_list, key, kind)?;
        original.insert(field_key.clone(), Value::Array(both));
        patch.shift_remove(&field_key);
    }
    Ok(())
}

/// Upstream's `validatePatchWithSetOrderList`: the patch list's items (deletions aside) appear in
/// the order list, in the same relative order.
fn validate_against_order(patch_list: &[Value], order: &[Value], key: &str) -> Result<()> {
    if patch_list.is_empty() || order.is_empty() {
        return Ok(());
    }
    let non_delete: Vec<&Value> = if key.is_empty() {
        patch_list.iter().collect()
    } else {
        let mut keep = Vec::new();
        for v in patch_list {
            if !v.is_object() {
                return Err(bad_arg_type("map[string]interface {}", v));
            }
            if v.get(DIRECTIVE).and_then(Value::as_str) != Some("delete") {
                keep.push(v);
            }
        }
        keep
    };
    let (mut pi, mut oi) = (0, 0);
    while pi < non_delete.len() && oi < order.len() {
        if non_delete[pi].get(DIRECTIVE).is_some() {
            pi += 1;
            continue;
        }
        let equal = if key.is_empty() {
            non_delete[pi] == &order[oi]
        } else {
            let left = non_delete[pi]
                .get(key)
                .ok_or_else(|| no_merge_key(non_delete[pi], key))?;
            let right = order[oi]
                .get(key)
                .ok_or_else(|| no_merge_key(&order[oi], key))?;
            left == right
        };
        if equal {
            pi += 1;
        }
        oi += 1;
    }
    if pi < non_delete.len() && oi >= order.len() {
        return Err(SmpError::Other(format!(
            "The order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER} list:\n{}\n",
            go_fmt(&Value::Array(patch_list.to_vec())),
            go_fmt(&Value::Array(order.to_vec()))
        )));
    }
    Ok(())
}

#[cfg(test)]
#[path = "strategic_tests.rs"]
mod tests;
