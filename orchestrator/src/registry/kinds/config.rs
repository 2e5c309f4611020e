//! ConfigMaps and Secrets: key format, the 1 MiB size limit, and `immutable`
//! (upstream's `ValidateConfigMap`, `ValidateSecret` and their update rules).

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use serde_json::Value;

use super::Kind;
use crate::error::Cause;
use crate::registry::validation::names::config_map_key;
use crate::registry::validation::{FIELD_IMMUTABLE, too_long};

/// Upstream's `MaxSecretSize` (also the ConfigMap limit).
pub(crate) const MAX_SIZE: usize = 1024 * 1024;

const IMMUTABLE_SET: &str = "field is immutable when `immutable` is set";

/// ConfigMaps.
pub(crate) struct ConfigMapKind;

/// Secrets.
pub(crate) struct SecretKind;

fn check_keys<'a>(keys: impl Iterator<Item = &'a String>, field: &str, errs: &mut Vec<Cause>) {
    for key in keys {
        for msg in config_map_key(key) {
            errs.push(Cause::invalid(
                format!("{field}[{key}]"),
                &Value::from(key.as_str()),
                &msg,
            ));
        }
    }
}

/// The `immutable: true` rules shared by both kinds.
fn check_immutable(
    new_immutable: Option<bool>,
    old_immutable: Option<bool>,
    data_changed: bool,
    errs: &mut Vec<Cause>,
) {
    if old_immutable == Some(true) {
        if new_immutable != Some(true) {
            errs.push(Cause::forbidden("immutable", IMMUTABLE_SET));
        }
        if data_changed {
            errs.push(Cause::forbidden("data", IMMUTABLE_SET));
        }
    }
}

impl Kind for ConfigMapKind {
    type Object = ConfigMap;

    fn validate(cm: &ConfigMap, errs: &mut Vec<Cause>) {
        let data = cm.data.as_ref();
        let binary = cm.binary_data.as_ref();
        let mut size = 0;
        for (key, value) in data.into_iter().flatten() {
            check_keys(std::iter::once(key), "data", errs);
            if binary.is_some_and(|b| b.contains_key(key)) {
                errs.push(Cause::invalid(
                    format!("data[{key}]"),
                    &Value::from(key.as_str()),
                    "duplicate of key present in binaryData",
                ));
            }
            size += value.len();
        }
        for (key, value) in binary.into_iter().flatten() {
            check_keys(std::iter::once(key), "binaryData", errs);
            if data.is_some_and(|d| d.contains_key(key)) {
                errs.push(Cause::invalid(
                    format!("binaryData[{key}]"),
                    &Value::from(key.as_str()),
                    "duplicate of key present in data",
                ));
            }
            size += value.0.len();
        }
        if size > MAX_SIZE {
            errs.push(too_long("", MAX_SIZE));
        }
    }

    fn validate_update(new: &ConfigMap, old: &ConfigMap, errs: &mut Vec<Cause>) {
        check_immutable(new.immutable, old.immutable, new.data != old.data, errs);
        if old.immutable == Some(true) && new.binary_data != old.binary_data {
            errs.push(Cause::forbidden("binaryData", IMMUTABLE_SET));
        }
    }
}

impl Kind for SecretKind {
    type Object = Secret;

    /// `SetDefaults_Secret`, plus the v1→internal conversion that folds `stringData` into `data`.
    fn default(s: &mut Secret) {
        if s.type_.as_deref().is_none_or(str::is_empty) {
            s.type_ = Some("Opaque".into());
        }
        if let Some(string_data) = s.string_data.take() {
            let data = s.data.get_or_insert_with(BTreeMap::new);
            for (k, v) in string_data {
                data.insert(k, ByteString(v.into_bytes()));
            }
        }
    }

    fn validate(s: &Secret, errs: &mut Vec<Cause>) {
        let data = s.data.as_ref();
        check_keys(data.into_iter().flat_map(BTreeMap::keys), "data", errs);
        let size: usize = data.into_iter().flatten().map(|(_, v)| v.0.len()).sum();
        if size > MAX_SIZE {
            errs.push(too_long("data", MAX_SIZE));
        }
        let has = |k: &str| data.is_some_and(|d| d.contains_key(k));
        let required =
            |k: &str, errs: &mut Vec<Cause>| errs.push(Cause::required(format!("data[{k}]"), ""));
        match s.type_.as_deref().unwrap_or("") {
            "kubernetes.io/service-account-token" => {
                let name = s
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get("kubernetes.io/service-account.name"));
                if name.is_none_or(String::is_empty) {
                    errs.push(Cause::required(
                        "metadata.annotations[kubernetes.io/service-account.name]",
                        "",
                    ));
                }
            }
            "kubernetes.io/dockercfg" => json_key(data, ".dockercfg", errs),
            "kubernetes.io/dockerconfigjson" => json_key(data, ".dockerconfigjson", errs),
            "kubernetes.io/basic-auth" => {
                if !has("username") && !has("password") {
                    required("username", errs);
                    required("password", errs);
                }
            }
            "kubernetes.io/ssh-auth" => {
                if data
                    .and_then(|d| d.get("ssh-privatekey"))
                    .is_none_or(|v| v.0.is_empty())
                {
                    required("ssh-privatekey", errs);
                }
            }
            "kubernetes.io/tls" => {
                for k in ["tls.crt", "tls.key"] {
                    if !has(k) {
                        required(k, errs);
                    }
                }
            }
            _ => {}
        }
    }

    fn validate_update(new: &Secret, old: &Secret, errs: &mut Vec<Cause>) {
        if new.type_ != old.type_ {
            errs.push(Cause::invalid(
                "type",
                &Value::from(new.type_.clone().unwrap_or_default()),
                FIELD_IMMUTABLE,
            ));
        }
        check_immutable(new.immutable, old.immutable, new.data != old.data, errs);
    }
}

/// A docker config key must be present and hold a JSON object.
fn json_key(data: Option<&BTreeMap<String, ByteString>>, key: &str, errs: &mut Vec<Cause>) {
    match data.and_then(|d| d.get(key)) {
        None => errs.push(Cause::required(format!("data[{key}]"), "")),
        Some(v) => {
            if let Err(e) = serde_json::from_slice::<serde_json::Map<String, Value>>(&v.0) {
                errs.push(Cause::invalid(
                    format!("data[{key}]"),
                    &Value::from("<secret contents redacted>"),
                    &e.to_string(),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{causes, create, update};
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    fn cm(extra: Value) -> Value {
        let mut v = json!({"metadata": {"name": "c", "namespace": "default"}});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    }

    #[rstest]
    #[case(json!({"data": {"a/b": "x"}}), "data[a/b]: Invalid value: \"a/b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')")]
    #[case(json!({"data": {"k": "x"}, "binaryData": {"k": "eA=="}}), "data[k]: Invalid value: \"k\": duplicate of key present in binaryData")]
    #[case(json!({"data": {"k": "x".repeat(MAX_SIZE + 1)}}), ": Too long: must have at most 1048576 bytes")]
    fn invalid_config_maps(#[case] extra: Value, #[case] want: &str) {
        let err = create("configmaps", cm(extra)).unwrap_err();
        assert!(
            causes(&err).contains(&want.to_string()),
            "{:?}",
            causes(&err)
        );
    }

    #[test]
    fn immutable_config_maps_keep_their_data() {
        let old = create(
            "configmaps",
            cm(json!({"data": {"k": "v"}, "immutable": true})),
        )
        .unwrap();
        let mut new = old.clone();
        new["data"]["k"] = json!("w");
        new["immutable"] = json!(false);
        let err = update("configmaps", new, &old).unwrap_err();
        assert_eq!(
            causes(&err),
            vec![
                "immutable: Forbidden: field is immutable when `immutable` is set",
                "data: Forbidden: field is immutable when `immutable` is set"
            ]
        );
        let mut labels_only = old.clone();
        labels_only["metadata"]["labels"] = json!({"a": "b"});
        assert!(update("configmaps", labels_only, &old).is_ok());
    }

    #[test]
    fn secrets_default_to_opaque_and_fold_string_data() {
        let out = create("secrets", cm(json!({"stringData": {"user": "admin"}}))).unwrap();
        assert_eq!(out["type"], "Opaque");
        assert_eq!(out["data"]["user"], "YWRtaW4=");
        assert!(out.get("stringData").is_none());
    }

    #[rstest]
    #[case("kubernetes.io/tls", json!({}), vec!["data[tls.crt]: Required value", "data[tls.key]: Required value"])]
    #[case("kubernetes.io/basic-auth", json!({}), vec!["data[username]: Required value", "data[password]: Required value"])]
    #[case("kubernetes.io/dockerconfigjson", json!({}), vec!["data[.dockerconfigjson]: Required value"])]
    #[case("kubernetes.io/service-account-token", json!({}), vec!["metadata.annotations[kubernetes.io/service-account.name]: Required value"])]
    fn typed_secrets_need_their_keys(
        #[case] ty: &str,
        #[case] data: Value,
        #[case] want: Vec<&str>,
    ) {
        let err = create("secrets", cm(json!({"type": ty, "data": data}))).unwrap_err();
        assert_eq!(causes(&err), want);
    }

    #[test]
    fn secret_type_is_immutable() {
        let old = create("secrets", cm(json!({}))).unwrap();
        let mut new = old.clone();
        new["type"] = json!("custom");
        let err = update("secrets", new, &old).unwrap_err();
        assert_eq!(
            causes(&err),
            vec!["type: Invalid value: \"custom\": field is immutable"]
        );
    }
}
