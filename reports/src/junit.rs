//! `junit.xml`: one `<testsuite>` per area, the shape Jenkins, GitLab and GitHub test reporters read.

use std::collections::BTreeMap;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::{Outcome, Results};

/// Render `results` as JUnit XML.
///
/// Areas are sorted so the file is stable between runs; within an area tests keep their order.
pub fn to_junit(results: &Results) -> Result<String, quick_junit::SerializeError> {
    let mut report = Report::new("kubeproof");
    let mut by_area: BTreeMap<&str, Vec<&crate::TestResult>> = BTreeMap::new();
    for test in &results.tests {
        by_area.entry(test.area.as_str()).or_default().push(test);
    }
    let mut total = Duration::ZERO;
    for (area, tests) in by_area {
        let mut suite = TestSuite::new(area);
        suite.add_property(Property::new("seed", results.run.seed.to_string()));
        suite.add_property(Property::new("target", results.run.target.name.as_str()));
        let mut suite_time = Duration::ZERO;
        for test in tests {
            suite_time += test.duration;
            suite.add_test_case(test_case(test));
        }
        suite.set_time(suite_time);
        total += suite_time;
        report.add_test_suite(suite);
    }
    report.set_time(total);
    report.to_string()
}

fn test_case(test: &crate::TestResult) -> TestCase {
    let status = match &test.outcome {
        Outcome::Passed => TestCaseStatus::success(),
        Outcome::Failed { message } => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            // The first line is the message attribute; the whole text is the element body, so
            // multi-line errors survive in reporters that show either.
            status
                .set_message(first_line(message))
                .set_description(message.as_str());
            status
        }
        Outcome::TimedOut => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_message(format!(
                    "timed out after {:.1}s",
                    test.duration.as_secs_f64()
                ))
                .set_type("timeout");
            status
        }
        Outcome::Skipped { reason } => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(reason.as_str());
            status
        }
    };
    // `classname` is the area with `::` so reporters group `namespaces::x` under `namespaces`.
    let (classname, name) = match test.name.rsplit_once("::") {
        Some((class, name)) => (class.to_owned(), name.to_owned()),
        None => (test.area.replace('-', "_"), test.name.clone()),
    };
    let mut case = TestCase::new(name, status);
    case.set_classname(classname).set_time(test.duration);
    if let Some(seed) = test.seed {
        case.add_property(Property::new("seed", seed.to_string()));
    }
    for upstream in &test.upstream {
        case.add_property(Property::new("upstream", upstream.as_str()));
    }
    case
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}
