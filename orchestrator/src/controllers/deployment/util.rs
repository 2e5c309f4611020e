//! The deployment controller's arithmetic, as upstream's `pkg/controller/deployment/util`
//! (`deployment_util.go`) and the ReplicaSet helpers of `pkg/controller/controller_utils.go`:
//! surge and unavailability fenceposts, the new ReplicaSet's next size, proportional scaling,
//! the revision and replica annotations, which ReplicaSet is new and which are old, and the
//! orderings the controller scales them in. Everything here is pure.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// The revision of a Deployment's ReplicaSets, the order of its rollouts.
pub(crate) const REVISION: &str = "deployment.kubernetes.io/revision";
/// Older revisions a reused ReplicaSet served, comma-separated.
pub(crate) const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
/// `spec.replicas` of the Deployment when it last sized this ReplicaSet.
pub(crate) const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
/// `spec.replicas + maxSurge` of the Deployment when it last sized this ReplicaSet.
pub(crate) const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
/// The label (and selector term) that tells a Deployment's ReplicaSets apart.
pub(crate) const HASH_LABEL: &str = "pod-template-hash";
/// The rollback request of the apps/v1beta1 and extensions APIs, kept as an annotation on v1.
pub(crate) const ROLLBACK_TO: &str = "deprecated.deployment.rollback.to";
/// `kubectl apply`'s record of the last applied configuration.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// Upstream's cap on the length of the revision-history annotation.
pub(crate) const MAX_REVISION_HISTORY_CHARS: usize = 2000;

/// Progressing condition reasons.
pub(crate) const RS_UPDATED: &str = "ReplicaSetUpdated";
pub(crate) const FAILED_RS_CREATE: &str = "ReplicaSetCreateError";
pub(crate) const NEW_RS_CREATED: &str = "NewReplicaSetCreated";
pub(crate) const FOUND_NEW_RS: &str = "FoundNewReplicaSet";
pub(crate) const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
pub(crate) const TIMED_OUT: &str = "ProgressDeadlineExceeded";
pub(crate) const PAUSED: &str = "DeploymentPaused";
pub(crate) const RESUMED: &str = "DeploymentResumed";
/// Available condition reasons.
pub(crate) const MIN_AVAILABLE: &str = "MinimumReplicasAvailable";
pub(crate) const MIN_UNAVAILABLE: &str = "MinimumReplicasUnavailable";

/// Condition types.
pub(crate) const PROGRESSING: &str = "Progressing";
pub(crate) const AVAILABLE: &str = "Available";
pub(crate) const REPLICA_FAILURE: &str = "ReplicaFailure";

/// `spec.replicas` (defaulted to 1 by the API).
pub(crate) fn d_replicas(d: &Deployment) -> i32 {
    d.spec.replicas.unwrap_or(1)
}

/// A ReplicaSet's `spec.replicas` (defaulted to 1 by the API).
pub(crate) fn rs_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.replicas.unwrap_or(1)
}

/// Set a ReplicaSet's `spec.replicas`.
pub(crate) fn set_rs_replicas(rs: &mut ReplicaSet, n: i32) {
    rs.spec.replicas = Some(n);
}

/// `status.replicas` of a ReplicaSet.
pub(crate) fn rs_status_replicas(rs: &ReplicaSet) -> i32 {
    rs.status.as_ref().map_or(0, |s| s.replicas)
}

/// `status.availableReplicas` of a ReplicaSet.
pub(crate) fn rs_available(rs: &ReplicaSet) -> i32 {
    rs.status
        .as_ref()
        .and_then(|s| s.available_replicas)
        .unwrap_or(0)
}

fn rs_ready(rs: &ReplicaSet) -> i32 {
    rs.status
        .as_ref()
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0)
}

/// The strategy type (`RollingUpdate` by default).
pub(crate) fn strategy_type(d: &Deployment) -> &str {
    d.spec
        .strategy
        .as_ref()
        .and_then(|s| s.type_.as_deref())
        .unwrap_or("RollingUpdate")
}

/// `IsRollingUpdate`.
pub(crate) fn is_rolling_update(d: &Deployment) -> bool {
    strategy_type(d) == "RollingUpdate"
}

fn rolling_params(d: &Deployment) -> (Option<&IntOrString>, Option<&IntOrString>) {
    let ru = d
        .spec
        .strategy
        .as_ref()
        .and_then(|s| s.rolling_update.as_ref());
    (
        ru.and_then(|r| r.max_surge.as_ref()),
        ru.and_then(|r| r.max_unavailable.as_ref()),
    )
}

/// An int-or-percent that is neither an int nor a percentage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid value for IntOrString: invalid type: string is not a percentage")]
pub(crate) struct NotAPercentage;

/// `intstr.GetScaledValueFromIntOrPercent`: an int as is, a percentage of `total` rounded up or
/// down. Absent values count as 0 (upstream's `ValueOrDefault(..., 0)`).
pub(crate) fn scaled_value(
    v: Option<&IntOrString>,
    total: i32,
    round_up: bool,
) -> Result<i32, NotAPercentage> {
    match v {
        None => Ok(0),
        Some(IntOrString::Int(n)) => Ok(*n),
        Some(IntOrString::String(s)) => {
            let pct: i64 = s
                .strip_suffix('%')
                .and_then(|p| p.parse().ok())
                .ok_or(NotAPercentage)?;
            let exact = pct as f64 * f64::from(total) / 100.0;
            let rounded = if round_up {
                exact.ceil()
            } else {
                exact.floor()
            };
            Ok(rounded as i32)
        }
    }
}

/// `ResolveFenceposts`: surge rounds up, unavailability down; when both come to zero,
/// unavailability is 1 (surge might be blocked by quota).
pub(crate) fn resolve_fenceposts(
    max_surge: Option<&IntOrString>,
    max_unavailable: Option<&IntOrString>,
    desired: i32,
) -> Result<(i32, i32), NotAPercentage> {
    let surge = scaled_value(max_surge, desired, true)?;
    let mut unavailable = scaled_value(max_unavailable, desired, false)?;
    if surge == 0 && unavailable == 0 {
        unavailable = 1;
    }
    Ok((surge, unavailable))
}

/// `MaxUnavailable`: 0 unless rolling; never more than `spec.replicas`.
pub(crate) fn max_unavailable(d: &Deployment) -> i32 {
    let replicas = d_replicas(d);
    if !is_rolling_update(d) || replicas == 0 {
        return 0;
    }
    let (surge, unavailable) = rolling_params(d);
    // Validation rejects values that do not resolve.
    let (_, unavailable) = resolve_fenceposts(surge, unavailable, replicas).unwrap_or((0, 0));
    unavailable.min(replicas)
}

/// `MinAvailable`: 0 unless rolling (the controller computes it inline, as upstream's).
#[cfg(test)]
pub(crate) fn min_available(d: &Deployment) -> i32 {
    if !is_rolling_update(d) {
        return 0;
    }
    d_replicas(d) - max_unavailable(d)
}

/// `MaxSurge`: 0 unless rolling.
pub(crate) fn max_surge(d: &Deployment) -> i32 {
    if !is_rolling_update(d) {
        return 0;
    }
    let (surge, unavailable) = rolling_params(d);
    resolve_fenceposts(surge, unavailable, d_replicas(d))
        .map(|(s, _)| s)
        .unwrap_or(0)
}

/// `GetReplicaCountForReplicaSets`: the sum of `spec.replicas`.
pub(crate) fn replica_count<'a>(rss: impl IntoIterator<Item = &'a ReplicaSet>) -> i32 {
    rss.into_iter().map(rs_replicas).sum()
}

/// `GetActualReplicaCountForReplicaSets`: the sum of `status.replicas`.
pub(crate) fn actual_replica_count<'a>(rss: impl IntoIterator<Item = &'a ReplicaSet>) -> i32 {
    rss.into_iter().map(rs_status_replicas).sum()
}

/// `GetReadyReplicaCountForReplicaSets`.
pub(crate) fn ready_replica_count<'a>(rss: impl IntoIterator<Item = &'a ReplicaSet>) -> i32 {
    rss.into_iter().map(rs_ready).sum()
}

/// `GetAvailableReplicaCountForReplicaSets`.
pub(crate) fn available_replica_count<'a>(rss: impl IntoIterator<Item = &'a ReplicaSet>) -> i32 {
    rss.into_iter().map(rs_available).sum()
}

/// `NewRSNewReplicas`: how big the new ReplicaSet may be now. Rolling: grow by what the surge
/// leaves room for, never beyond `spec.replicas`; Recreate: all of `spec.replicas`.
pub(crate) fn new_rs_new_replicas(
    d: &Deployment,
    all: &[&ReplicaSet],
    new_rs: &ReplicaSet,
) -> Result<i32, String> {
    let replicas = d_replicas(d);
    match strategy_type(d) {
        "RollingUpdate" => {
            let surge =
                scaled_value(rolling_params(d).0, replicas, true).map_err(|e| e.to_string())?;
            // Upstream sums `spec.replicas`; we count a ReplicaSet being scaled down at the pods
            // it still has (`status.replicas`, when higher), so the new one grows only once the
            // old one's surplus is gone and pods, not just sizes, stay within the surge
            // (docs/fidelity.md).
            let current: i32 = all
                .iter()
                .map(|rs| rs_replicas(rs).max(rs_status_replicas(rs)))
                .sum();
            let max_total = replicas + surge;
            if current >= max_total {
                return Ok(rs_replicas(new_rs));
            }
            let scale_up = (max_total - current).min(replicas - rs_replicas(new_rs));
            Ok(rs_replicas(new_rs) + scale_up)
        }
        "Recreate" => Ok(replicas),
        other => Err(format!("deployment type {other} isn't supported")),
    }
}

fn annotation<'a>(rs: &'a ReplicaSet, key: &str) -> Option<&'a str> {
    rs.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
}

/// `getNonNegativeInt32FromAnnotation`: a decimal int32 ≥ 0, else nothing.
fn nonnegative_annotation(rs: &ReplicaSet, key: &str) -> Option<i32> {
    let v = annotation(rs, key)?;
    if !v.bytes().all(|b| b.is_ascii_digit()) || v.is_empty() {
        return None;
    }
    v.parse::<i32>().ok()
}

/// The desired-replicas annotation.
pub(crate) fn desired_replicas_annotation(rs: &ReplicaSet) -> Option<i32> {
    nonnegative_annotation(rs, DESIRED_REPLICAS)
}

/// `IsSaturated`: the ReplicaSet has all of `spec.replicas`, both sides agree on it, and they
/// are all available (a saturated but broken new ReplicaSet must not scale old pods away).
pub(crate) fn is_saturated(d: &Deployment, rs: Option<&ReplicaSet>) -> bool {
    let Some(rs) = rs else { return false };
    let Some(desired) = annotation(rs, DESIRED_REPLICAS).and_then(|v| v.parse::<i32>().ok()) else {
        return false;
    };
    rs_replicas(rs) == d_replicas(d)
        && desired == d_replicas(d)
        && rs_available(rs) == d_replicas(d)
}

/// `GetProportion`: how many of `to_add` (negative: to remove) this ReplicaSet takes, given
/// `added` already handed out.
pub(crate) fn get_proportion(
    rs: Option<&ReplicaSet>,
    d: &Deployment,
    to_add: i32,
    added: i32,
) -> i32 {
    let Some(rs) = rs else { return 0 };
    if rs_replicas(rs) == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let fraction = replica_set_fraction(rs, d);
    let allowed = to_add - added;
    if to_add > 0 {
        // Never more than what may still be added...
        fraction.min(allowed)
    } else {
        // ...nor removed.
        fraction.max(allowed)
    }
}

/// `getReplicaSetFraction`: the ReplicaSet's share of a scaling event, from the
/// max-replicas annotation the Deployment left on it when it last sized it.
pub(crate) fn replica_set_fraction(rs: &ReplicaSet, d: &Deployment) -> i32 {
    let replicas = d_replicas(d);
    if replicas == 0 {
        return -rs_replicas(rs);
    }
    let max_now = replicas + max_surge(d);
    let max_before = match nonnegative_annotation(rs, MAX_REPLICAS) {
        Some(n) if n != 0 => n,
        // Missing or tampered with: fall back to the current size.
        _ => {
            let current = d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0);
            if current == 0 {
                return 0;
            }
            current
        }
    };
    let new_size = f64::from(rs_replicas(rs)) * f64::from(max_now) / f64::from(max_before);
    round_to_i32(new_size) - rs_replicas(rs)
}

/// `integer.RoundToInt32`: halves away from zero.
fn round_to_i32(a: f64) -> i32 {
    if a < 0.0 {
        (a - 0.5) as i32
    } else {
        (a + 0.5) as i32
    }
}

/// `SetReplicasAnnotations`; whether anything changed.
pub(crate) fn set_replicas_annotations(rs: &mut ReplicaSet, desired: i32, max: i32) -> bool {
    let annotations = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let mut updated = false;
    for (key, value) in [(DESIRED_REPLICAS, desired), (MAX_REPLICAS, max)] {
        let value = value.to_string();
        if annotations.get(key) != Some(&value) {
            annotations.insert(key.to_string(), value);
            updated = true;
        }
    }
    updated
}

/// `ReplicasAnnotationsNeedUpdate`.
pub(crate) fn replicas_annotations_need_update(rs: &ReplicaSet, desired: i32, max: i32) -> bool {
    annotation(rs, DESIRED_REPLICAS) != Some(desired.to_string().as_str())
        || annotation(rs, MAX_REPLICAS) != Some(max.to_string().as_str())
}

/// Annotations a Deployment does not hand down to its ReplicaSets (`annotationsToSkip`).
fn skip_copy_annotation(key: &str) -> bool {
    matches!(
        key,
        LAST_APPLIED | REVISION | REVISION_HISTORY | DESIRED_REPLICAS | MAX_REPLICAS | ROLLBACK_TO
    )
}

/// `copyDeploymentAnnotationsToReplicaSet`; whether anything changed.
fn copy_annotations_to_rs(d: &Deployment, rs: &mut ReplicaSet) -> bool {
    let annotations = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let mut changed = false;
    for (k, v) in d.metadata.annotations.iter().flatten() {
        if skip_copy_annotation(k) || annotations.get(k) == Some(v) {
            continue;
        }
        annotations.insert(k.clone(), v.clone());
        changed = true;
    }
    changed
}

/// `SetDeploymentAnnotationsTo`: a rollback takes the ReplicaSet's annotations back.
pub(crate) fn set_deployment_annotations_to(d: &mut Deployment, rs: &ReplicaSet) {
    let mut kept: BTreeMap<String, String> = d
        .metadata
        .annotations
        .take()
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| skip_copy_annotation(k))
        .collect();
    for (k, v) in rs.metadata.annotations.iter().flatten() {
        if !skip_copy_annotation(k) {
            kept.insert(k.clone(), v.clone());
        }
    }
    d.metadata.annotations = Some(kept);
}

/// `SetNewReplicaSetAnnotations`: copy the Deployment's annotations, raise the revision to
/// `new_revision` (recording a reused ReplicaSet's old revision in revision-history, at most
/// `history_limit` characters of it), and on creation the replica annotations. Whether anything
/// changed.
pub(crate) fn set_new_rs_annotations(
    d: &Deployment,
    rs: &mut ReplicaSet,
    new_revision: i64,
    exists: bool,
    history_limit: usize,
) -> bool {
    let mut changed = copy_annotations_to_rs(d, rs);
    let annotations = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let old_revision = annotations.get(REVISION).cloned();
    let old_int = match old_revision.as_deref() {
        None | Some("") => 0,
        Some(v) => match v.parse::<i64>() {
            Ok(n) => n,
            Err(_) => return false,
        },
    };
    if old_int < new_revision {
        annotations.insert(REVISION.into(), new_revision.to_string());
        changed = true;
    }
    if let Some(old) = old_revision.filter(|_| old_int < new_revision) {
        let history = annotations
            .get(REVISION_HISTORY)
            .cloned()
            .unwrap_or_default();
        if history.is_empty() {
            annotations.insert(REVISION_HISTORY.into(), old);
        } else {
            let mut revisions: Vec<&str> = history.split(',').collect();
            let mut total = history.len() + old.len() + 1;
            let mut start = 0;
            while total > history_limit && start < revisions.len() {
                total -= revisions[start].len() + 1;
                start += 1;
            }
            if total <= history_limit {
                revisions.drain(..start);
                revisions.push(&old);
                let joined = revisions.join(",");
                annotations.insert(REVISION_HISTORY.into(), joined);
            }
        }
    }
    if !exists {
        let replicas = d_replicas(d);
        if set_replicas_annotations(rs, replicas, replicas + max_surge(d)) {
            changed = true;
        }
    }
    changed
}

/// `SetDeploymentRevision`; whether it changed.
pub(crate) fn set_deployment_revision(d: &mut Deployment, revision: &str) -> bool {
    let annotations = d.metadata.annotations.get_or_insert_with(BTreeMap::new);
    if annotations.get(REVISION).map(String::as_str) == Some(revision) {
        return false;
    }
    annotations.insert(REVISION.into(), revision.into());
    true
}

/// `Revision`: the revision annotation (0 when absent, an error when not a number).
pub(crate) fn revision(rs: &ReplicaSet) -> Result<i64, std::num::ParseIntError> {
    match annotation(rs, REVISION) {
        None => Ok(0),
        Some(v) => v.parse(),
    }
}

/// `MaxRevision`: the highest parseable revision.
pub(crate) fn max_revision<'a>(rss: impl IntoIterator<Item = &'a ReplicaSet>) -> i64 {
    rss.into_iter()
        .filter_map(|rs| revision(rs).ok())
        .fold(0, i64::max)
}

/// `LastRevision`: the second-highest revision (the one before the current).
pub(crate) fn last_revision<'a>(rss: impl IntoIterator<Item = &'a ReplicaSet>) -> i64 {
    let (mut max, mut second) = (0, 0);
    for v in rss.into_iter().filter_map(|rs| revision(rs).ok()) {
        if v >= max {
            second = max;
            max = v;
        } else if v > second {
            second = v;
        }
    }
    second
}

/// `ReplicaSetsByCreationTimestamp`: oldest first, then by name.
pub(crate) fn by_creation(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    let ts = |rs: &ReplicaSet| rs.metadata.creation_timestamp.as_ref().map(|t| t.0);
    ts(a)
        .cmp(&ts(b))
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

/// `ReplicaSetsBySizeOlder`: largest first, then oldest.
pub(crate) fn by_size_older(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    rs_replicas(b)
        .cmp(&rs_replicas(a))
        .then_with(|| by_creation(a, b))
}

/// `ReplicaSetsBySizeNewer`: largest first, then newest.
pub(crate) fn by_size_newer(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    rs_replicas(b)
        .cmp(&rs_replicas(a))
        .then_with(|| by_creation(b, a))
}

/// `ReplicaSetsByRevision`: lowest revision first; equal or unparseable ones by creation.
pub(crate) fn by_revision(a: &ReplicaSet, b: &ReplicaSet) -> Ordering {
    match (revision(a), revision(b)) {
        (Ok(x), Ok(y)) if x != y => x.cmp(&y),
        _ => by_creation(a, b),
    }
}

/// `EqualIgnoreHash`: the templates are the same but for the pod-template-hash label.
/// Compared as JSON with empty values dropped, as `Semantic.DeepEqual` treats nil and empty alike.
pub(crate) fn equal_ignore_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    let strip = |t: &PodTemplateSpec| {
        let mut t = t.clone();
        if let Some(labels) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
            labels.remove(HASH_LABEL);
        }
        let mut v = serde_json::to_value(&t).unwrap_or_default();
        prune_empty(&mut v);
        v
    };
    strip(a) == strip(b)
}

/// Drop nulls, empty objects and empty arrays, recursively.
fn prune_empty(v: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::Null => true,
        Value::Object(m) => {
            m.retain(|_, x| !prune_empty(x));
            m.is_empty()
        }
        Value::Array(a) => {
            for x in a.iter_mut() {
                prune_empty(x);
            }
            a.is_empty()
        }
        _ => false,
    }
}

/// The ReplicaSet's template (empty when absent).
pub(crate) fn rs_template(rs: &ReplicaSet) -> PodTemplateSpec {
    rs.spec.template.clone().unwrap_or_default()
}

/// `FindNewReplicaSet`: the oldest ReplicaSet whose template is the Deployment's.
pub(crate) fn find_new_rs(d: &Deployment, rss: &[ReplicaSet]) -> Option<usize> {
    let template = &d.spec.template;
    let mut order: Vec<usize> = (0..rss.len()).collect();
    order.sort_by(|&a, &b| by_creation(&rss[a], &rss[b]));
    order
        .into_iter()
        .find(|&i| equal_ignore_hash(&rs_template(&rss[i]), template))
}

/// `FilterActiveReplicaSets`: those with `spec.replicas > 0`.
pub(crate) fn is_active(rs: &ReplicaSet) -> bool {
    rs_replicas(rs) > 0
}

/// A condition of a Deployment's status.
pub(crate) fn get_condition<'a>(
    status: &'a DeploymentStatus,
    type_: &str,
) -> Option<&'a k8s_openapi::api::apps::v1::DeploymentCondition> {
    status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_.as_deref() == Some(type_))
}

/// `NewDeploymentCondition`, stamped `now`.
pub(crate) fn new_condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: jiff::Timestamp,
) -> k8s_openapi::api::apps::v1::DeploymentCondition {
    let now = seconds(now);
    k8s_openapi::api::apps::v1::DeploymentCondition {
        type_: Some(type_.into()),
        status: Some(status.into()),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_update_time: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now)),
        last_transition_time: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now)),
    }
}

/// A time as `metav1.Time` keeps it on the wire: whole seconds.
pub(crate) fn seconds(t: jiff::Timestamp) -> jiff::Timestamp {
    jiff::Timestamp::from_second(t.as_second()).unwrap_or(t)
}

/// `SetDeploymentCondition`: nothing when status and reason are unchanged; the transition time
/// kept when only the reason changes; the condition moved to the end.
pub(crate) fn set_condition(
    status: &mut DeploymentStatus,
    mut cond: k8s_openapi::api::apps::v1::DeploymentCondition,
) {
    let type_ = cond.type_.clone().unwrap_or_default();
    if let Some(current) = get_condition(status, &type_) {
        if current.status == cond.status && current.reason == cond.reason {
            return;
        }
        if current.status == cond.status {
            cond.last_transition_time = current.last_transition_time.clone();
        }
    }
    remove_condition(status, &type_);
    status.conditions.get_or_insert_with(Vec::new).push(cond);
}

/// `RemoveDeploymentCondition`.
pub(crate) fn remove_condition(status: &mut DeploymentStatus, type_: &str) {
    if let Some(conds) = status.conditions.as_mut() {
        conds.retain(|c| c.type_.as_deref() != Some(type_));
        if conds.is_empty() {
            status.conditions = None;
        }
    }
}

fn st(v: Option<i32>) -> i32 {
    v.unwrap_or(0)
}

/// `HasProgressDeadline`: set and not `MaxInt32`.
pub(crate) fn has_progress_deadline(d: &Deployment) -> bool {
    d.spec
        .progress_deadline_seconds
        .is_some_and(|s| s != i32::MAX)
}

/// `DeploymentComplete`: every replica updated and available, no old ones, and the current
/// generation observed.
pub(crate) fn deployment_complete(d: &Deployment, new: &DeploymentStatus) -> bool {
    let replicas = d_replicas(d);
    st(new.updated_replicas) == replicas
        && st(new.replicas) == replicas
        && st(new.available_replicas) == replicas
        && new.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0)
}

/// `DeploymentProgressing`: more updated, ready or available replicas, or fewer old ones, than
/// the current status says.
pub(crate) fn deployment_progressing(d: &Deployment, new: &DeploymentStatus) -> bool {
    let old = d.status.clone().unwrap_or_default();
    let old_old = st(old.replicas) - st(old.updated_replicas);
    let new_old = st(new.replicas) - st(new.updated_replicas);
    st(new.updated_replicas) > st(old.updated_replicas)
        || new_old < old_old
        || st(new.ready_replicas) > st(old.ready_replicas)
        || st(new.available_replicas) > st(old.available_replicas)
}

/// `DeploymentTimedOut`: the Progressing condition was last updated more than
/// `progressDeadlineSeconds` before `now`, or already says so.
pub(crate) fn deployment_timed_out(
    d: &Deployment,
    new: &DeploymentStatus,
    now: jiff::Timestamp,
) -> bool {
    if !has_progress_deadline(d) {
        return false;
    }
    let Some(cond) = get_condition(new, PROGRESSING) else {
        return false;
    };
    if cond.reason.as_deref() == Some(TIMED_OUT) {
        return true;
    }
    let deadline = d.spec.progress_deadline_seconds.unwrap_or(0);
    let from = cond
        .last_update_time
        .as_ref()
        .map_or(jiff::Timestamp::UNIX_EPOCH, |t| t.0);
    from + jiff::SignedDuration::from_secs(i64::from(deadline)) < now
}

/// The pod-template-hash of a template (upstream `controller.ComputeHash`): FNV-32a over the
/// template, then the collision count as 8 little-endian bytes when set, the decimal sum encoded
/// with `rand.SafeEncodeString`. Upstream hashes Go's spew dump of the struct; we hash its
/// canonical JSON, so names differ from a real cluster's (but are as stable).
pub(crate) fn compute_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let json = serde_json::to_vec(template).unwrap_or_default();
    let mut h = Fnv32a::default();
    h.write(&json);
    if let Some(c) = collision_count {
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&(c as u32).to_le_bytes());
        h.write(&bytes);
    }
    safe_encode(&h.0.to_string())
}

/// 32-bit FNV-1a.
struct Fnv32a(u32);

impl Default for Fnv32a {
    fn default() -> Self {
        Self(0x811c_9dc5)
    }
}

impl Fnv32a {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u32::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0193);
        }
    }
}

/// `rand.SafeEncodeString`: each byte mapped onto an alphabet without vowels or look-alikes.
fn safe_encode(s: &str) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    s.bytes()
        .map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char)
        .collect()
}

#[cfg(test)]
#[path = "util_tests.rs"]
mod tests;
