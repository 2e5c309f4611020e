//! Priority admission (upstream `plugin/pkg/admission/priority`): a pod's `spec.priority` and
//! `spec.preemptionPolicy` come from its PriorityClass, never from the client; at most one
//! PriorityClass is the global default.
//!
//! The built-in `system-cluster-critical` and `system-node-critical` classes resolve here even
//! when no such object is stored (upstream creates them at API server start; this control plane
//! resolves them virtually, so a pod naming them never depends on boot order). A stored object
//! of that name wins; validation keeps its value the built-in one anyway.

use serde_json::Value;

use crate::error::{ApiError, Reason};
use crate::store::{ListOptions, Storage};

/// The store key of PriorityClasses.
const PRIORITY_CLASSES: &str = "priorityclasses.scheduling.k8s.io";
/// Upstream `scheduling.DefaultPriorityWhenNoDefaultClassExists`.
const DEFAULT_PRIORITY: i64 = 0;
/// The default preemption policy (PriorityClass defaulting).
const PREEMPT_LOWER_PRIORITY: &str = "PreemptLowerPriority";
/// Upstream `scheduling.SystemPriorityClasses()`.
pub const SYSTEM_PRIORITY_CLASSES: &[(&str, i64)] = &[
    ("system-node-critical", 2_000_001_000),
    ("system-cluster-critical", 2_000_000_000),
];

/// What a pod's class resolves to.
#[derive(Debug, PartialEq)]
struct Resolved {
    /// The class name to record on the pod ("" when no class applies).
    name: String,
    priority: i64,
    preemption_policy: Option<String>,
}

fn forbidden(name: &str, detail: &str) -> ApiError {
    ApiError::forbidden("", "pods", name, detail)
}

fn class_of(name: &str, pc: &Value) -> Resolved {
    Resolved {
        name: name.to_string(),
        priority: pc.get("value").and_then(Value::as_i64).unwrap_or(0),
        preemption_policy: pc
            .get("preemptionPolicy")
            .and_then(Value::as_str)
            .map(str::to_string),
    }
}

/// The global default class: with several (a race upstream also allows), the lowest value.
fn default_class(store: &dyn Storage) -> Result<Option<(String, Value)>, ApiError> {
    let page = store.list(PRIORITY_CLASSES, &ListOptions::default())?;
    let mut best: Option<(String, Value)> = None;
    for item in &page.items {
        let v = item.value();
        if v.get("globalDefault").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        let value = v.get("value").and_then(Value::as_i64).unwrap_or(0);
        let lower = best
            .as_ref()
            .is_none_or(|(_, b)| b.get("value").and_then(Value::as_i64).unwrap_or(0) > value);
        if lower {
            best = Some((item.name.to_string(), v));
        }
    }
    Ok(best)
}

/// Upstream `establishPriority`: the named class, or the global default, or priority 0.
fn resolve(store: &dyn Storage, pod_name: &str, class: &str) -> Result<Resolved, ApiError> {
    if class.is_empty() {
        return Ok(match default_class(store)? {
            Some((name, pc)) => class_of(&name, &pc),
            None => Resolved {
                name: String::new(),
                priority: DEFAULT_PRIORITY,
                preemption_policy: Some(PREEMPT_LOWER_PRIORITY.to_string()),
            },
        });
    }
    match store.get(PRIORITY_CLASSES, "", class) {
        Ok(pc) => Ok(class_of(class, &pc.value())),
        Err(e) if e.reason == Reason::NotFound => {
            match SYSTEM_PRIORITY_CLASSES.iter().find(|(n, _)| *n == class) {
                Some((_, value)) => Ok(Resolved {
                    name: class.to_string(),
                    priority: *value,
                    preemption_policy: Some(PREEMPT_LOWER_PRIORITY.to_string()),
                }),
                None => Err(forbidden(
                    pod_name,
                    &format!("no PriorityClass with name {class} was found"),
                )),
            }
        }
        Err(e) => Err(ApiError::internal(format!(
            "failed to get PriorityClass with name {class}: {}",
            e.message
        ))),
    }
}

/// A pod create: resolve the class into `spec.priority`, `spec.preemptionPolicy` and (for the
/// default class) `spec.priorityClassName`. A client-set priority or policy that differs from
/// the class's is 403, word for word as upstream.
pub(super) fn admit_pod_create(store: &dyn Storage, pod: &mut Value) -> Result<(), ApiError> {
    let pod_name = pod
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return Ok(());
    };
    let class = spec
        .get("priorityClassName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let r = resolve(store, &pod_name, &class)?;
    if class.is_empty() && !r.name.is_empty() {
        spec.insert("priorityClassName".into(), Value::String(r.name.clone()));
    }
    if let Some(given) = spec.get("priority").and_then(Value::as_i64)
        && given != r.priority
    {
        return Err(forbidden(
            &pod_name,
            &format!(
                "the integer value of priority ({given}) must not be provided in pod spec; priority admission controller computed {} from the given PriorityClass name",
                r.priority
            ),
        ));
    }
    spec.insert("priority".into(), Value::from(r.priority));
    if let Some(policy) = r.preemption_policy {
        if let Some(given) = spec.get("preemptionPolicy").and_then(Value::as_str)
            && given != policy
        {
            return Err(forbidden(
                &pod_name,
                &format!(
                    "the string value of PreemptionPolicy ({given}) must not be provided in pod spec; priority admission controller computed {policy} from the given PriorityClass name"
                ),
            ));
        }
        spec.insert("preemptionPolicy".into(), Value::String(policy));
    }
    Ok(())
}

/// A pod update: the priority and policy set at create are kept when the new body omits them
/// (upstream restores them so that a PUT of the original manifest is not taken for a change of
/// an immutable field).
pub(super) fn mutate_pod_update(new: &mut Value, old: &Value) {
    let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    for key in ["priority", "preemptionPolicy"] {
        if spec.get(key).is_none_or(Value::is_null)
            && let Some(v) = old
                .pointer(&format!("/spec/{key}"))
                .filter(|v| !v.is_null())
        {
            spec.insert(key.to_string(), v.clone());
        }
    }
}

/// A PriorityClass create or update (`old_name` set for an update): only one global default.
pub(super) fn validate_class(
    store: &dyn Storage,
    pc: &Value,
    is_update: bool,
) -> Result<(), ApiError> {
    if pc.get("globalDefault").and_then(Value::as_bool) != Some(true) {
        return Ok(());
    }
    let name = pc
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if let Some((existing, _)) = default_class(store)?
        && (!is_update || existing != name)
    {
        return Err(ApiError::forbidden(
            "scheduling.k8s.io",
            "priorityclasses",
            name,
            &format!(
                "PriorityClass {existing} is already marked as default. Only one default can exist"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rstest::rstest;
    use serde_json::json;

    use super::*;
    use crate::store::MemoryStore;

    fn store_with(classes: &[(&str, i64, bool, Option<&str>)]) -> Arc<dyn Storage> {
        let store: Arc<dyn Storage> = Arc::new(MemoryStore::new(Default::default()));
        for (name, value, global, policy) in classes {
            let mut pc = json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                "metadata": {"name": name}, "value": value, "globalDefault": global});
            // As the API's defaulting stores it.
            pc["preemptionPolicy"] = policy.unwrap_or(PREEMPT_LOWER_PRIORITY).into();
            store.create(PRIORITY_CLASSES, "", name, pc).unwrap();
        }
        store
    }

    fn pod(spec_extra: Value) -> Value {
        let mut spec = json!({"containers": [{"name": "c", "image": "x"}]});
        for (k, v) in spec_extra.as_object().unwrap() {
            spec[k] = v.clone();
        }
        json!({"metadata": {"name": "p", "namespace": "default"}, "spec": spec})
    }

    /// Upstream `TestPodAdmission`'s cases: (classes, pod spec, want priority, want class
    /// name, want policy) or the error message.
    #[rstest]
    #[case::no_class_no_default(&[], json!({}), Ok((0, "", "PreemptLowerPriority")))]
    #[case::global_default(
        &[("default1", 1000, true, None), ("other", 5, false, None)],
        json!({}), Ok((1000, "default1", "PreemptLowerPriority")))]
    #[case::lowest_of_two_defaults(
        &[("a", 1000, true, None), ("b", 10, true, Some("Never"))],
        json!({}), Ok((10, "b", "Never")))]
    #[case::named_class(
        &[("default1", 1000, true, None), ("high", 2000, false, Some("Never"))],
        json!({"priorityClassName": "high"}), Ok((2000, "high", "Never")))]
    #[case::system_class_resolved_without_an_object(
        &[], json!({"priorityClassName": "system-node-critical"}),
        Ok((2_000_001_000, "system-node-critical", "PreemptLowerPriority")))]
    #[case::missing_class(
        &[], json!({"priorityClassName": "foo"}),
        Err("pods \"p\" is forbidden: no PriorityClass with name foo was found"))]
    #[case::priority_matching_the_class(
        &[("high", 2000, false, None)], json!({"priorityClassName": "high", "priority": 2000}),
        Ok((2000, "high", "PreemptLowerPriority")))]
    #[case::priority_differing_from_the_class(
        &[("high", 2000, false, None)], json!({"priorityClassName": "high", "priority": 5}),
        Err("pods \"p\" is forbidden: the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 2000 from the given PriorityClass name"))]
    #[case::policy_differing_from_the_class(
        &[("high", 2000, false, Some("PreemptLowerPriority"))],
        json!({"priorityClassName": "high", "preemptionPolicy": "Never"}),
        Err("pods \"p\" is forbidden: the string value of PreemptionPolicy (Never) must not be provided in pod spec; priority admission controller computed PreemptLowerPriority from the given PriorityClass name"))]
    fn pod_create(
        #[case] classes: &[(&str, i64, bool, Option<&str>)],
        #[case] spec: Value,
        #[case] want: Result<(i64, &str, &str), &str>,
    ) {
        let store = store_with(classes);
        let mut p = pod(spec);
        match (admit_pod_create(&*store, &mut p), want) {
            (Ok(()), Ok((priority, class, policy))) => {
                assert_eq!(p["spec"]["priority"], priority);
                assert_eq!(p["spec"]["priorityClassName"].as_str().unwrap_or(""), class);
                assert_eq!(p["spec"]["preemptionPolicy"], policy);
            }
            (Err(e), Err(msg)) => {
                assert_eq!(e.code, 403);
                assert_eq!(e.message, msg);
            }
            (got, want) => panic!("got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn an_update_keeps_the_priority_set_at_create() {
        let old = pod(json!({"priority": 7, "preemptionPolicy": "Never"}));
        let mut new = pod(json!({}));
        mutate_pod_update(&mut new, &old);
        assert_eq!(new["spec"]["priority"], 7);
        assert_eq!(new["spec"]["preemptionPolicy"], "Never");
    }

    /// Upstream `TestPriorityClassAdmission`.
    #[test]
    fn only_one_global_default() {
        let store = store_with(&[("default1", 1000, true, None)]);
        let second = json!({"metadata": {"name": "default2"}, "value": 5, "globalDefault": true});
        let err = validate_class(&*store, &second, false).unwrap_err();
        assert_eq!(err.code, 403);
        assert_eq!(
            err.message,
            "priorityclasses.scheduling.k8s.io \"default2\" is forbidden: PriorityClass default1 is already marked as default. Only one default can exist"
        );
        // Marking another existing class default is refused too; updating the default itself
        // is fine, and so is any non-default class.
        assert!(validate_class(&*store, &second, true).is_err());
        let same = json!({"metadata": {"name": "default1"}, "value": 1000, "globalDefault": true});
        assert!(validate_class(&*store, &same, true).is_ok());
        let plain = json!({"metadata": {"name": "x"}, "value": 5});
        assert!(validate_class(&*store, &plain, false).is_ok());
    }
}
