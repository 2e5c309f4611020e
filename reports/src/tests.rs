//! Round-trip of the schema and what each writer must contain.

use std::time::Duration;

use jiff::Timestamp;

use super::*;

fn test(name: &str, outcome: Outcome, millis: u64) -> TestResult {
    let (area, _) = name.split_once("::").unwrap();
    TestResult {
        name: name.to_owned(),
        area: area.replace('_', "-"),
        tags: vec!["Conformance".to_owned()],
        upstream: vec!["Namespace, apply finalizer".to_owned()],
        outcome,
        duration: Duration::from_millis(millis),
        seed: Some(7),
        namespace: Some("kp-x-abcd".to_owned()),
    }
}

fn sample() -> Results {
    Results {
        schema_version: SCHEMA_VERSION,
        run: RunMetadata {
            tool: Tool {
                name: "kubeproof".to_owned(),
                version: "0.1.0".to_owned(),
            },
            target: TargetInfo {
                name: "embedded".to_owned(),
                server: Some("https://127.0.0.1:6443".to_owned()),
                server_version: Some("v1.37.0".to_owned()),
            },
            seed: 42,
            started_at: Timestamp::from_second(1_800_000_000).unwrap(),
            finished_at: Timestamp::from_second(1_800_000_003).unwrap(),
            machine: Machine {
                hostname: "ci".to_owned(),
                cores: 2,
                os: "linux x86_64".to_owned(),
            },
            replay: "kubeproof run --seed 42 --suite namespaces".to_owned(),
        },
        tests: vec![
            test("namespaces::deleting_removes_objects", Outcome::Passed, 120),
            test(
                "namespaces::status_is_active",
                Outcome::Failed {
                    message: "expected Active\ngot Terminating".to_owned(),
                },
                30,
            ),
            test(
                "api_machinery::watch_resumes",
                Outcome::Skipped {
                    reason: "needs kubectl on the PATH".to_owned(),
                },
                0,
            ),
            test("api_machinery::slow_list", Outcome::TimedOut, 60_000),
        ],
        measurements: vec![Measurement {
            name: "apiserver_request_duration_seconds".to_owned(),
            unit: "seconds".to_owned(),
            labels: [("verb".to_owned(), "GET".to_owned())].into(),
            count: 10,
            mean: Some(0.002),
            percentiles: vec![Percentile {
                quantile: 0.99,
                value: 0.004,
            }],
        }],
    }
}

#[test]
fn results_round_trip_through_json() {
    let results = sample();
    let json = serde_json::to_string_pretty(&results).unwrap();
    assert_eq!(Results::from_json(&json).unwrap(), results);
}

#[test]
fn json_uses_the_documented_field_names() {
    let value = serde_json::to_value(sample()).unwrap();
    assert_eq!(value["schema_version"], 1);
    assert_eq!(value["run"]["seed"], 42);
    assert_eq!(value["run"]["machine"]["cores"], 2);
    assert_eq!(value["tests"][0]["outcome"]["status"], "passed");
    assert_eq!(value["tests"][1]["outcome"]["status"], "failed");
    assert_eq!(
        value["tests"][1]["outcome"]["message"],
        "expected Active\ngot Terminating"
    );
    assert_eq!(
        value["tests"][2]["outcome"]["reason"],
        "needs kubectl on the PATH"
    );
    assert_eq!(value["tests"][3]["outcome"]["status"], "timed_out");
    assert_eq!(value["tests"][0]["duration"], 0.12);
    assert!(
        value["run"]["started_at"]
            .as_str()
            .unwrap()
            .starts_with("2027-01-15T")
    );
}

#[test]
fn totals_count_timeouts_as_failures_in_the_closing_line() {
    let totals = sample().totals();
    assert_eq!(
        totals,
        Totals {
            passed: 1,
            failed: 1,
            skipped: 1,
            timed_out: 1
        }
    );
    assert_eq!(totals.line(), "1 passed, 2 failed, 1 skipped");
    assert!(!totals.ok());
    assert!(Totals::of(&sample().tests[..1]).ok());
}

#[test]
fn junit_has_one_suite_per_area_with_skips_and_failures() {
    let xml = to_junit(&sample()).unwrap();
    let report = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    let names: Vec<_> = report.test_suites.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["api-machinery", "namespaces"]);
    assert!(
        xml.contains(r#"<skipped message="needs kubectl on the PATH""#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<failure message="expected Active""#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"message="timed out after 60.0s" type="timeout""#),
        "{xml}"
    );
    assert!(xml.contains(r#"classname="namespaces""#), "{xml}");
    assert_eq!(report.tests, 4);
    assert_eq!(report.failures, 2);
}

#[test]
fn summary_has_totals_areas_failures_seed_and_replay() {
    let md = to_markdown(&sample());
    assert!(md.contains("**1 passed, 2 failed, 1 skipped**"), "{md}");
    assert!(md.contains("1 of the failures timed out."), "{md}");
    assert!(md.contains("| namespaces | 1 | 1 | 0 | 0 |"), "{md}");
    assert!(md.contains("| api-machinery | 0 | 0 | 1 | 1 |"), "{md}");
    assert!(
        md.contains("### `namespaces::status_is_active` — FAIL"),
        "{md}"
    );
    assert!(md.contains("expected Active\ngot Terminating"), "{md}");
    assert!(
        md.contains("- `api_machinery::watch_resumes`: needs kubectl on the PATH"),
        "{md}"
    );
    assert!(md.contains("seed: `42`"), "{md}");
    assert!(
        md.contains("kubeproof run --seed 42 --suite namespaces"),
        "{md}"
    );
}

#[test]
fn write_dir_writes_all_three_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nested/run");
    sample().write_dir(&out).unwrap();
    let json = std::fs::read_to_string(out.join(Results::JSON)).unwrap();
    assert_eq!(Results::from_json(&json).unwrap(), sample());
    assert!(
        std::fs::read_to_string(out.join(Results::JUNIT))
            .unwrap()
            .contains("<testsuites")
    );
    assert!(
        std::fs::read_to_string(out.join(Results::SUMMARY))
            .unwrap()
            .starts_with("# kubeproof")
    );
}
