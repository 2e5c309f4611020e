//! `spec.podFailurePolicy` (upstream `pod_failure_policy.go`): the first rule matching a failed
//! pod — a container's non-zero exit code `In`/`NotIn` a set, or a pod condition — decides
//! whether the failure fails the Job at once (`FailJob`), is not counted against
//! `backoffLimit` (`Ignore`) or is counted as usual (`Count`). `FailIndex` needs
//! `backoffLimitPerIndex`, which is not modelled, so such rules are skipped.

use k8s_openapi::api::batch::v1::{PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement};
use k8s_openapi::api::core::v1::{ContainerStatus, PodStatus};

/// What a policy says about one failed pod.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// Set when a `FailJob` rule matched: the Job's failure message.
    pub fail_job: Option<String>,
    /// Whether the failure counts against `backoffLimit`.
    pub count: bool,
}

const NO_MATCH: Verdict = Verdict {
    fail_job: None,
    count: true,
};

/// Upstream `matchPodFailurePolicy`.
pub(crate) fn evaluate(
    policy: &PodFailurePolicy,
    namespace: &str,
    name: &str,
    status: &PodStatus,
) -> Verdict {
    for (index, rule) in policy.rules.iter().enumerate() {
        let matched = if let Some(req) = &rule.on_exit_codes {
            matching_container(status, req).map(|c| {
                let code = c
                    .state
                    .as_ref()
                    .and_then(|s| s.terminated.as_ref())
                    .map_or(0, |t| t.exit_code);
                format!(
                    "Container {} for pod {namespace}/{name} failed with exit code {code} matching {} rule at index {index}",
                    c.name, rule.action
                )
            })
        } else if let Some(patterns) = &rule.on_pod_conditions {
            status.conditions.iter().flatten().find_map(|c| {
                patterns
                    .iter()
                    .any(|p| p.type_ == c.type_ && p.status.as_deref().unwrap_or("True") == c.status)
                    .then(|| {
                        format!(
                            "Pod {namespace}/{name} has condition {} matching {} rule at index {index}",
                            c.type_, rule.action
                        )
                    })
            })
        } else {
            None
        };
        let Some(message) = matched else { continue };
        match rule.action.as_str() {
            "Ignore" => {
                return Verdict {
                    fail_job: None,
                    count: false,
                };
            }
            "Count" => return NO_MATCH,
            "FailJob" => {
                return Verdict {
                    fail_job: Some(message),
                    count: true,
                };
            }
            _ => {}
        }
    }
    NO_MATCH
}

/// The first terminated container (regular, then init) whose non-zero exit code the
/// requirement matches (upstream `matchOnExitCodes`).
fn matching_container<'a>(
    status: &'a PodStatus,
    req: &PodFailurePolicyOnExitCodesRequirement,
) -> Option<&'a ContainerStatus> {
    let matches = |c: &&ContainerStatus| {
        let Some(t) = c.state.as_ref().and_then(|s| s.terminated.as_ref()) else {
            return false;
        };
        if req.container_name.as_ref().is_some_and(|n| *n != c.name) || t.exit_code == 0 {
            return false;
        }
        match req.operator.as_str() {
            "In" => req.values.contains(&t.exit_code),
            "NotIn" => !req.values.contains(&t.exit_code),
            _ => false,
        }
    };
    let regular = status.container_statuses.iter().flatten().find(matches);
    regular.or_else(|| {
        status
            .init_container_statuses
            .iter()
            .flatten()
            .find(matches)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::{Value, json};

    fn policy(rules: Value) -> PodFailurePolicy {
        serde_json::from_value(json!({"rules": rules})).unwrap()
    }

    fn failed(exit: i32, conditions: Value) -> PodStatus {
        serde_json::from_value(json!({"phase": "Failed", "conditions": conditions,
            "containerStatuses": [{"name": "main", "image": "i", "imageID": "", "ready": false,
                "restartCount": 0, "state": {"terminated": {"exitCode": exit}}}]}))
        .unwrap()
    }

    // cases of upstream TestMatchPodFailurePolicy
    #[rstest]
    #[case::fail_job_on_exit_code(json!([{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [1, 2]}}]),
        failed(2, json!([])), Some("Container main for pod ns/p failed with exit code 2 matching FailJob rule at index 0"), true)]
    #[case::exit_code_not_in_set(json!([{"action": "FailJob", "onExitCodes": {"operator": "In", "values": [1]}}]),
        failed(2, json!([])), None, true)]
    #[case::not_in(json!([{"action": "FailJob", "onExitCodes": {"operator": "NotIn", "values": [1]}}]),
        failed(2, json!([])), Some("Container main for pod ns/p failed with exit code 2 matching FailJob rule at index 0"), true)]
    #[case::other_container(json!([{"action": "FailJob", "onExitCodes": {"containerName": "side", "operator": "In", "values": [2]}}]),
        failed(2, json!([])), None, true)]
    #[case::ignore_disruption(json!([{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]),
        failed(137, json!([{"type": "DisruptionTarget", "status": "True"}])), None, false)]
    #[case::count_stops_the_search(json!([
        {"action": "Count", "onExitCodes": {"operator": "In", "values": [3]}},
        {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [3]}}]),
        failed(3, json!([])), None, true)]
    #[case::condition_fails_job(json!([{"action": "FailJob", "onPodConditions": [{"type": "ConfigIssue", "status": "True"}]}]),
        failed(1, json!([{"type": "ConfigIssue", "status": "True"}])),
        Some("Pod ns/p has condition ConfigIssue matching FailJob rule at index 0"), true)]
    fn rules_match_in_order(
        #[case] rules: Value,
        #[case] status: PodStatus,
        #[case] fail_job: Option<&str>,
        #[case] count: bool,
    ) {
        assert_eq!(
            evaluate(&policy(rules), "ns", "p", &status),
            Verdict {
                fail_job: fail_job.map(str::to_string),
                count
            }
        );
    }
}
