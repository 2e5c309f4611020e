//! Upstream conformance coverage: which upstream conformance tests (from
//! `shared/conformance/upstream-v1.32.tsv`) our tests name in their `upstream` metadata.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use suites::TestDef;

/// The upstream list's file name.
pub const UPSTREAM_TSV: &str = "upstream-v1.32.tsv";

/// One upstream conformance test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamTest {
    /// Its area in the list (`api-machinery`, `node/pods`, …).
    pub area: String,
    /// Its conformance `testname`.
    pub testname: String,
}

/// Parse the TSV: a header line, then tab-separated area, testname, codename, behaviour, release.
pub fn parse_upstream(tsv: &str) -> Vec<UpstreamTest> {
    tsv.lines()
        .skip(1)
        .filter_map(|line| {
            let mut cols = line.split('\t');
            let area = cols.next()?.trim();
            let testname = cols.next()?.trim();
            (!area.is_empty() && !testname.is_empty()).then(|| UpstreamTest {
                area: area.to_owned(),
                testname: testname.to_owned(),
            })
        })
        .collect()
}

/// Where the list usually is: beside the repository (as CI lays it out), inside it, or beside
/// the source tree this binary was built from.
pub fn find_upstream() -> Option<PathBuf> {
    let rel = Path::new("conformance").join(UPSTREAM_TSV);
    [
        Path::new("../shared").join(&rel),
        Path::new("shared").join(&rel),
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared")
            .join(&rel),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

/// Coverage of one upstream area.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AreaCoverage {
    /// The upstream area.
    pub area: String,
    /// Upstream tests in it that at least one of ours names.
    pub covered: usize,
    /// Upstream tests in it.
    pub total: usize,
}

/// Coverage per upstream area, and the upstream names our tests give that the list lacks
/// (usually a typo).
pub fn coverage(upstream: &[UpstreamTest], tests: &[TestDef]) -> (Vec<AreaCoverage>, Vec<String>) {
    let named: BTreeSet<&str> = tests
        .iter()
        .flat_map(|t| t.upstream.iter().copied())
        .collect();
    let mut per_area: BTreeMap<&str, AreaCoverage> = BTreeMap::new();
    for test in upstream {
        let entry = per_area.entry(&test.area).or_insert_with(|| AreaCoverage {
            area: test.area.clone(),
            covered: 0,
            total: 0,
        });
        entry.total += 1;
        if named.contains(test.testname.as_str()) {
            entry.covered += 1;
        }
    }
    let known: BTreeSet<&str> = upstream.iter().map(|t| t.testname.as_str()).collect();
    let unknown = named
        .into_iter()
        .filter(|name| !known.contains(name))
        .map(str::to_owned)
        .collect();
    (per_area.into_values().collect(), unknown)
}

#[cfg(test)]
mod tests {
    use suites::{TestContext, TestFuture};

    use super::*;

    fn pass(_: TestContext) -> TestFuture {
        Box::pin(async { Ok(()) })
    }

    #[test]
    fn coverage_counts_named_upstream_tests_per_area_and_flags_unknown_names() {
        let tsv = "area\ttestname\tcodename\tbehaviour\trelease\n\
                   namespaces\tNamespace, apply update\tc\tb\tv1.26\n\
                   namespaces\tNamespace, apply changes\tc\tb\tv1.26\n\
                   api-machinery\tWatch, resume\tc\tb\tv1.9\n";
        let upstream = parse_upstream(tsv);
        assert_eq!(upstream.len(), 3);
        let tests = [TestDef {
            area: "namespaces",
            name: "update",
            tags: &[],
            upstream: &["Namespace, apply update", "Namespace, typo"],
            needs: &[],
            run: pass,
        }];
        let (areas, unknown) = coverage(&upstream, &tests);
        assert_eq!(
            areas,
            [
                AreaCoverage {
                    area: "api-machinery".into(),
                    covered: 0,
                    total: 1
                },
                AreaCoverage {
                    area: "namespaces".into(),
                    covered: 1,
                    total: 2
                },
            ]
        );
        assert_eq!(unknown, ["Namespace, typo"]);
    }

    #[test]
    fn the_shared_list_parses_when_present() {
        // Only where the shared folder sits beside the repository, as on developer machines and CI.
        let Some(path) = find_upstream() else { return };
        let upstream = parse_upstream(&std::fs::read_to_string(path).unwrap());
        assert!(upstream.len() > 400, "{} rows", upstream.len());
    }
}
