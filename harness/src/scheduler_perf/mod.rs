//! `kubeproof bench scheduler`: upstream scheduler_perf's workloads, run from outside the
//! scheduler through the API, against the embedded control plane or any cluster.
//!
//! - [`workload`]: the YAML schema (test cases, ops, size tiers, thresholds) and its checks;
//! - [`executor`]: the ops run against a cluster (nodes, pods, churn, barriers, deletes);
//! - [`observer`]: the pod watch that counts binds and times create→bound;
//! - [`throughput`]: upstream's SchedulingThroughput collector and statistics;
//! - [`scrape`]: the scheduler's attempt-duration histogram from `/metrics`;
//! - [`report`]: verdicts against thresholds, results-schema measurements, the table;
//! - [`runner`]: one workload on a fresh target.
//!
//! The workloads of `bench/workloads/scheduler/` are compiled into the binary; `--file` adds
//! more.

pub mod executor;
pub mod observer;
pub mod report;
pub mod runner;
pub mod scrape;
pub mod throughput;
pub mod workload;

pub use report::WorkloadRun;
pub use workload::{Op, TestCase, Tier, WorkloadError};

/// The workload files compiled into the binary: (file name, YAML).
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "scheduling-basic.yaml",
        include_str!("../../../bench/workloads/scheduler/scheduling-basic.yaml"),
    ),
    (
        "node-affinity.yaml",
        include_str!("../../../bench/workloads/scheduler/node-affinity.yaml"),
    ),
    (
        "pod-anti-affinity.yaml",
        include_str!("../../../bench/workloads/scheduler/pod-anti-affinity.yaml"),
    ),
    (
        "pod-affinity.yaml",
        include_str!("../../../bench/workloads/scheduler/pod-affinity.yaml"),
    ),
    (
        "topology-spreading.yaml",
        include_str!("../../../bench/workloads/scheduler/topology-spreading.yaml"),
    ),
    (
        "preemption.yaml",
        include_str!("../../../bench/workloads/scheduler/preemption.yaml"),
    ),
    (
        "mixed-churn.yaml",
        include_str!("../../../bench/workloads/scheduler/mixed-churn.yaml"),
    ),
];

/// Short names accepted for the test cases whose upstream name is longer.
const ALIASES: &[(&str, &str)] = &[
    ("NodeAffinity", "SchedulingNodeAffinity"),
    ("PodAntiAffinity", "SchedulingPodAntiAffinity"),
    ("PodAffinity", "SchedulingPodAffinity"),
    ("Preemption", "PreemptionBasic"),
    ("MixedChurn", "SchedulingWithMixedChurn"),
];

/// Every test case known: the embedded files, then `extra` files (path, YAML) in order; a
/// later test case of the same name replaces an earlier one.
pub fn catalog(extra: &[(String, String)]) -> Result<Vec<TestCase>, WorkloadError> {
    let mut cases: Vec<TestCase> = Vec::new();
    let files = EMBEDDED
        .iter()
        .map(|(f, y)| (f.to_string(), y.to_string()))
        .chain(extra.iter().cloned());
    for (file, yaml) in files {
        for case in workload::parse(&file, &yaml)? {
            cases.retain(|c| c.name != case.name);
            cases.push(case);
        }
    }
    Ok(cases)
}

/// The test case and tier `spec` names: `Case` (its default tier) or `Case/Tier`, with the
/// short aliases (`PodAffinity`, `Preemption`, …) accepted.
pub fn select<'a>(cases: &'a [TestCase], spec: &str) -> Result<(&'a TestCase, &'a Tier), String> {
    let (case_name, tier_name) = match spec.split_once('/') {
        Some((c, t)) => (c, Some(t)),
        None => (spec, None),
    };
    let case_name = ALIASES
        .iter()
        .find(|(alias, _)| *alias == case_name)
        .map_or(case_name, |(_, full)| *full);
    let case = cases.iter().find(|c| c.name == case_name).ok_or_else(|| {
        let known: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
        format!(
            "no workload {case_name:?}; known: {} (see --list)",
            known.join(", ")
        )
    })?;
    let tier = match tier_name {
        None => case.default_tier(),
        Some(t) => case.tier(t).ok_or_else(|| {
            let known: Vec<&str> = case.workloads.iter().map(|t| t.name.as_str()).collect();
            format!(
                "{} has no tier {t:?}; its tiers: {}",
                case.name,
                known.join(", ")
            )
        })?,
    };
    Ok((case, tier))
}

/// `--list`: every test case with its tiers, params, labels and thresholds.
pub fn listing(cases: &[TestCase]) -> String {
    let mut out = String::new();
    for case in cases {
        out.push_str(&format!("{}  ({})\n", case.name, case.file));
        let default = &case.default_tier().name;
        for tier in &case.workloads {
            let params: Vec<String> = tier
                .params
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            out.push_str(&format!(
                "  {}/{}{}  [{}]  {}{}\n",
                case.name,
                tier.name,
                if tier.name == *default {
                    " (default)"
                } else {
                    ""
                },
                tier.labels.join(","),
                params.join(" "),
                tier.threshold
                    .map_or_else(String::new, |t| format!("  threshold {t} pods/s")),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn every_embedded_workload_parses_and_the_issue_s_goals_are_its_thresholds() {
        let cases = catalog(&[]).unwrap();
        for name in [
            "SchedulingBasic",
            "SchedulingNodeAffinity",
            "SchedulingPodAntiAffinity",
            "SchedulingPodAffinity",
            "TopologySpreading",
            "PreemptionBasic",
            "PreemptionAsync",
            "SchedulingWithMixedChurn",
        ] {
            let case = cases.iter().find(|c| c.name == name).expect(name);
            assert!(
                case.workloads
                    .iter()
                    .any(|t| t.labels.iter().any(|l| l == "integration-test")),
                "{name} has a small tier for quick runs"
            );
        }
        let goal = |spec: &str| select(&cases, spec).unwrap().1.threshold;
        assert_eq!(goal("SchedulingBasic"), Some(10_000.0));
        assert_eq!(goal("PodAntiAffinity"), Some(2_000.0));
        assert_eq!(goal("PodAffinity"), Some(1_000.0));
        assert_eq!(goal("TopologySpreading"), Some(3_000.0));
        let (_, basic) = select(&cases, "SchedulingBasic").unwrap();
        assert_eq!(
            (basic.params["initNodes"], basic.params["measurePods"]),
            (5000, 10_000)
        );
    }

    #[test]
    fn yaml_anchors_share_templates_between_ops() {
        let cases = catalog(&[]).unwrap();
        let (case, tier) = select(&cases, "PreemptionAsync/5Nodes").unwrap();
        let ops = case.resolve(tier, &BTreeMap::new()).unwrap();
        let Op::Churn { templates, .. } = &ops[3] else {
            panic!("{ops:?}")
        };
        assert_eq!(
            templates[0]["spec"]["priorityClassName"],
            "kubeproof-bench-high"
        );
        assert_eq!(
            templates[0]["spec"]["containers"][0]["resources"]["requests"]["cpu"],
            "3000m"
        );
    }

    #[test]
    fn selection_accepts_tiers_and_aliases_and_says_what_exists() {
        let cases = catalog(&[]).unwrap();
        let (case, tier) = select(&cases, "Preemption/5Nodes").unwrap();
        assert_eq!(
            (case.name.as_str(), tier.name.as_str()),
            ("PreemptionBasic", "5Nodes")
        );
        let err = select(&cases, "SchedulingBasic/6Nodes").unwrap_err();
        assert!(err.contains("its tiers: 5Nodes, 500Nodes"), "{err}");
        let err = select(&cases, "Nope").unwrap_err();
        assert!(err.contains("known: SchedulingBasic"), "{err}");
    }

    #[test]
    fn a_file_can_replace_an_embedded_test_case() {
        let extra = (
            "mine.yaml".to_owned(),
            "- name: SchedulingBasic\n  workloadTemplate: []\n  workloads:\n  - name: none\n"
                .to_owned(),
        );
        let cases = catalog(&[extra]).unwrap();
        let (case, tier) = select(&cases, "SchedulingBasic").unwrap();
        assert_eq!(
            (case.file.as_str(), tier.name.as_str()),
            ("mine.yaml", "none")
        );
        assert!(listing(&cases).contains("SchedulingBasic/none (default)"));
    }
}
