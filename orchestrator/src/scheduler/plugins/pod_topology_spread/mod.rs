//! PodTopologySpread (upstream `pkg/scheduler/framework/plugins/podtopologyspread`): a pod's
//! `topologySpreadConstraints` — `DoNotSchedule` ones as a filter, `ScheduleAnyway` ones as a
//! score — and, for pods without constraints, default constraints whose selector comes from
//! the Services and controller selecting the pod (`defaultingType: System`: at most 3 replicas
//! more on one node, 5 in one zone, as preferences).
//!
//! - `common`: constraints compiled once per pod, node inclusion policies, counting;
//! - `filtering`: PreFilter counts matching pods per domain and keeps the two emptiest domains
//!   (critical paths), so Filter is a lookup per constraint; AddPod/RemovePod for preemption;
//! - `scoring`: PreScore counts per domain of the candidate nodes (hostname counted per node
//!   in Score); NormalizeScore favours the emptiest domains.

mod common;
mod filtering;
#[cfg(test)]
mod filtering_tests;
mod scoring;
#[cfg(test)]
mod scoring_tests;

use std::collections::HashSet;
use std::sync::Arc;

use k8s_openapi::api::core::v1::TopologySpreadConstraint;
use serde::Deserialize;

use parking_lot::Mutex;

use crate::scheduler::framework::{
    ActionType, ClusterEvent, EventResource, Filter, Handle, Memo, Plugin, PodInfo, PreFilter,
    PreScore, Score,
};
use crate::scheduler::plugins::POD_TOPOLOGY_SPREAD;
use common::{
    Constraint, DO_NOT_SCHEDULE, LABEL_HOSTNAME, LABEL_TOPOLOGY_ZONE, SCHEDULE_ANYWAY,
    compile_constraints,
};

use filtering::{CountKey, DomainCounts};
pub use filtering::{ERR_REASON_CONSTRAINTS_NOT_MATCH, ERR_REASON_NODE_LABEL_NOT_MATCH};

/// `System`: the built-in default constraints.
pub const SYSTEM_DEFAULTING: &str = "System";
/// `List`: the `defaultConstraints` given in the arguments.
pub const LIST_DEFAULTING: &str = "List";

/// The plugin's arguments (upstream `PodTopologySpreadArgs`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodTopologySpreadArgs {
    /// Constraints for pods that set none (only with `defaultingType: List`); they must not
    /// have a selector: it is computed per pod.
    #[serde(default)]
    pub default_constraints: Vec<TopologySpreadConstraint>,
    /// `System` (the default) or `List`.
    #[serde(default)]
    pub defaulting_type: String,
    #[serde(default, rename = "apiVersion")]
    #[doc(hidden)]
    pub api_version: Option<String>,
    #[serde(default)]
    #[doc(hidden)]
    pub kind: Option<String>,
}

impl PodTopologySpreadArgs {
    /// From the `pluginConfig` args (`Null`: the defaults), defaulted and validated as
    /// upstream's `SetDefaults_PodTopologySpreadArgs` and `ValidatePodTopologySpreadArgs`.
    pub fn parse(args: &serde_json::Value) -> Result<Self, String> {
        let mut a: Self = if args.is_null() {
            Self::default()
        } else {
            serde_json::from_value(args.clone())
                .map_err(|e| format!("decoding PodTopologySpreadArgs: {e}"))?
        };
        if a.defaulting_type.is_empty() {
            a.defaulting_type = SYSTEM_DEFAULTING.to_string();
        }
        a.validate()?;
        Ok(a)
    }

    fn validate(&self) -> Result<(), String> {
        let mut errs = Vec::new();
        match self.defaulting_type.as_str() {
            SYSTEM_DEFAULTING if !self.default_constraints.is_empty() => errs.push(format!(
                "defaultingType: Invalid value: \"{SYSTEM_DEFAULTING}\": when .defaultConstraints are not empty"
            )),
            SYSTEM_DEFAULTING | LIST_DEFAULTING => {}
            other => errs.push(format!(
                "defaultingType: Unsupported value: \"{other}\": supported values: \"System\", \"List\""
            )),
        }
        let mut seen = HashSet::new();
        for (i, c) in self.default_constraints.iter().enumerate() {
            let p = format!("defaultConstraints[{i}]");
            if c.max_skew <= 0 {
                errs.push(format!(
                    "{p}.maxSkew: Invalid value: {}: not in valid range (0, inf)",
                    c.max_skew
                ));
            }
            if c.topology_key.is_empty() {
                errs.push(format!("{p}.topologyKey: Required value: can not be empty"));
            }
            if c.when_unsatisfiable != DO_NOT_SCHEDULE && c.when_unsatisfiable != SCHEDULE_ANYWAY {
                errs.push(format!(
                    "{p}.whenUnsatisfiable: Unsupported value: \"{}\": supported values: \"DoNotSchedule\", \"ScheduleAnyway\"",
                    c.when_unsatisfiable
                ));
            }
            if c.label_selector.is_some() {
                errs.push(format!(
                    "{p}.labelSelector: Forbidden: constraint must not define a selector, as they deduced for each pod"
                ));
            }
            if !seen.insert((c.topology_key.as_str(), c.when_unsatisfiable.as_str())) {
                errs.push(format!(
                    "{p}: Duplicate value: \"{{{}, {}}}\"",
                    c.topology_key, c.when_unsatisfiable
                ));
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs.join(", "))
        }
    }
}

/// Upstream `systemDefaultConstraints`.
fn system_default_constraints() -> Vec<TopologySpreadConstraint> {
    [(LABEL_HOSTNAME, 3), (LABEL_TOPOLOGY_ZONE, 5)]
        .into_iter()
        .map(|(key, skew)| TopologySpreadConstraint {
            topology_key: key.to_string(),
            when_unsatisfiable: SCHEDULE_ANYWAY.to_string(),
            max_skew: skew,
            ..TopologySpreadConstraint::default()
        })
        .collect()
}

/// How many constraints' domain counts the plugin keeps across cycles (a workload schedules
/// pods of a few templates at a time).
const KEPT_COUNTS: usize = 16;

/// The PodTopologySpread plugin.
#[derive(Debug)]
pub struct PodTopologySpread {
    default_constraints: Vec<TopologySpreadConstraint>,
    /// Whether the defaults are the system's (then nodes without a zone label still get
    /// hostname spreading).
    system_defaulted: bool,
    handle: Handle,
    /// PreFilter's counts per domain, per constraint, kept across cycles and brought up to
    /// date with each snapshot by recounting only the nodes that changed.
    filter_counts: Mutex<Memo<CountKey, DomainCounts>>,
}

/// Makes the plugin (the registry's factory).
pub fn new(args: &serde_json::Value, handle: &Handle) -> Result<Arc<dyn Plugin>, String> {
    Ok(Arc::new(PodTopologySpread::new(
        PodTopologySpreadArgs::parse(args)?,
        handle.clone(),
    )))
}

impl PodTopologySpread {
    /// A plugin with these (parsed) arguments.
    pub fn new(args: PodTopologySpreadArgs, handle: Handle) -> Self {
        let system = args.defaulting_type != LIST_DEFAULTING;
        Self {
            default_constraints: if system {
                system_default_constraints()
            } else {
                args.default_constraints
            },
            system_defaulted: system,
            handle,
            filter_counts: Mutex::new(Memo::new(KEPT_COUNTS)),
        }
    }

    /// The pod's constraints for `action`, or the default ones when it has none (upstream
    /// `getConstraints`/`buildDefaultConstraints`): the defaults select the pods the Services
    /// and controller of this pod select, and apply only when something selects it.
    fn constraints(&self, pod: &PodInfo, action: &str) -> Result<Vec<Constraint>, String> {
        if !pod.topology_spread_constraints.is_empty() {
            return compile_constraints(&pod.topology_spread_constraints, &pod.labels, action)
                .map_err(|e| format!("obtaining pod's topology spread constraints: {e}"));
        }
        let mut constraints =
            compile_constraints(&self.default_constraints, &pod.labels, action)
                .map_err(|e| format!("setting default topology spread constraints: {e}"))?;
        if constraints.is_empty() {
            return Ok(constraints);
        }
        let selector = self.handle.default_selector(pod);
        if selector.is_empty() {
            return Ok(Vec::new());
        }
        for c in &mut constraints {
            c.selector = Some(selector.clone());
        }
        Ok(constraints)
    }
}

impl Plugin for PodTopologySpread {
    fn name(&self) -> &'static str {
        POD_TOPOLOGY_SPREAD
    }
    fn as_pre_filter(&self) -> Option<&dyn PreFilter> {
        Some(self)
    }
    fn as_filter(&self) -> Option<&dyn Filter> {
        Some(self)
    }
    fn as_pre_score(&self) -> Option<&dyn PreScore> {
        Some(self)
    }
    fn as_score(&self) -> Option<&dyn Score> {
        Some(self)
    }
    /// Upstream: a pod added, deleted or relabelled changes the counts; a node added,
    /// deleted, relabelled or with new taints changes the domains.
    fn events_to_register(&self) -> Option<Vec<ClusterEvent>> {
        Some(vec![
            ClusterEvent {
                resource: EventResource::Pod,
                action: ActionType::ADD | ActionType::UPDATE_POD_LABEL | ActionType::DELETE,
            },
            ClusterEvent {
                resource: EventResource::Node,
                action: ActionType::ADD
                    | ActionType::DELETE
                    | ActionType::UPDATE_NODE_LABEL
                    | ActionType::UPDATE_NODE_TAINT,
            },
        ])
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn args_default_to_system_constraints() {
        let a = PodTopologySpreadArgs::parse(&serde_json::Value::Null).unwrap();
        assert_eq!(a.defaulting_type, "System");
        let pl = PodTopologySpread::new(a, Handle::in_memory());
        assert!(pl.system_defaulted);
        let got: Vec<_> = pl
            .default_constraints
            .iter()
            .map(|c| {
                (
                    c.topology_key.as_str(),
                    c.max_skew,
                    c.when_unsatisfiable.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("kubernetes.io/hostname", 3, "ScheduleAnyway"),
                ("topology.kubernetes.io/zone", 5, "ScheduleAnyway")
            ]
        );
    }

    #[test]
    fn list_defaulting_uses_the_given_constraints() {
        let a = PodTopologySpreadArgs::parse(&json!({
            "defaultingType": "List",
            "defaultConstraints": [
                { "maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule" } ]
        }))
        .unwrap();
        let pl = PodTopologySpread::new(a, Handle::in_memory());
        assert!(!pl.system_defaulted);
        assert_eq!(pl.default_constraints.len(), 1);
        assert_eq!(pl.default_constraints[0].topology_key, "zone");
    }

    #[test]
    fn invalid_args_are_rejected_with_upstreams_words() {
        let err = |v| PodTopologySpreadArgs::parse(&v).unwrap_err();
        assert_eq!(
            err(json!({ "defaultConstraints": [
                { "maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule" } ] })),
            "defaultingType: Invalid value: \"System\": when .defaultConstraints are not empty"
        );
        assert_eq!(
            err(json!({ "defaultingType": "List", "defaultConstraints": [
                { "maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
                  "labelSelector": {} } ] })),
            "defaultConstraints[0].maxSkew: Invalid value: 0: not in valid range (0, inf), \
             defaultConstraints[0].labelSelector: Forbidden: constraint must not define a selector, as they deduced for each pod"
        );
        assert!(err(json!({ "defaultingType": "Other" })).contains("Unsupported value"));
        assert!(
            err(json!({ "defaultingType": "List", "defaultConstraints": [
                { "maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule" },
                { "maxSkew": 2, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule" } ] }))
            .contains("Duplicate value")
        );
    }
}
