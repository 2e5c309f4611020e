//! Which tests a run executes: areas, name regexes and tags.

use regex::Regex;
use suites::{Tag, TestDef};

/// The selection flags shared by `kubeproof run` and `kubeproof list`.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct SelectionArgs {
    /// Run only this area (repeatable), e.g. `--suite namespaces --suite api-machinery`.
    #[arg(long = "suite", value_name = "AREA")]
    pub suites: Vec<String>,
    /// Run only tests whose full name (`area::name`) matches this regex (repeatable: any).
    #[arg(long, value_name = "REGEX")]
    pub focus: Vec<String>,
    /// Leave out tests whose full name matches this regex (repeatable: any).
    #[arg(long, value_name = "REGEX")]
    pub skip: Vec<String>,
    /// Run only tests tagged Conformance.
    #[arg(long)]
    pub conformance: bool,
    /// Also run tests with this tag (Slow and Disruptive are left out unless included).
    #[arg(long, value_enum, value_name = "TAG")]
    pub include: Vec<TagFilter>,
    /// Leave out tests with this tag (Serial tests run by default, one at a time, at the end).
    #[arg(long, value_enum, value_name = "TAG")]
    pub exclude: Vec<TagFilter>,
}

/// The tags a selection can include or exclude.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum TagFilter {
    /// Long-running tests.
    Slow,
    /// Tests that must run alone.
    Serial,
    /// Tests that disturb the cluster.
    Disruptive,
}

impl TagFilter {
    fn tag(self) -> Tag {
        match self {
            TagFilter::Slow => Tag::Slow,
            TagFilter::Serial => Tag::Serial,
            TagFilter::Disruptive => Tag::Disruptive,
        }
    }
}

/// A selection the user got wrong; the message says how to put it right.
#[derive(Debug, thiserror::Error)]
pub enum SelectionError {
    /// `--suite` named an area no test has.
    #[error("unknown suite `{suite}`; known suites: {known} (see `kubeproof list`)")]
    UnknownSuite {
        /// The area asked for.
        suite: String,
        /// The areas that exist, comma-separated.
        known: String,
    },
    /// `--focus` or `--skip` is not a valid regex.
    #[error("invalid --{flag} regex `{pattern}`")]
    BadRegex {
        /// `focus` or `skip`.
        flag: &'static str,
        /// The pattern given.
        pattern: String,
        /// What is wrong with it.
        #[source]
        source: regex::Error,
    },
}

/// A compiled selection.
#[derive(Clone, Debug)]
pub struct Selection {
    suites: Vec<String>,
    focus: Vec<Regex>,
    skip: Vec<Regex>,
    conformance: bool,
    excluded: Vec<Tag>,
}

impl Selection {
    /// Compile `args`, checking suites against the areas of `registry`.
    pub fn new(args: &SelectionArgs, registry: &[TestDef]) -> Result<Self, SelectionError> {
        let mut areas: Vec<&str> = registry.iter().map(|t| t.area).collect();
        areas.sort_unstable();
        areas.dedup();
        for suite in &args.suites {
            if !areas.contains(&suite.as_str()) {
                let known = if areas.is_empty() {
                    "none yet".to_owned()
                } else {
                    areas.join(", ")
                };
                return Err(SelectionError::UnknownSuite {
                    suite: suite.clone(),
                    known,
                });
            }
        }
        let compile = |flag: &'static str, patterns: &[String]| {
            patterns
                .iter()
                .map(|pattern| {
                    Regex::new(pattern).map_err(|source| SelectionError::BadRegex {
                        flag,
                        pattern: pattern.clone(),
                        source,
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let mut excluded: Vec<Tag> = args.exclude.iter().map(|t| t.tag()).collect();
        for default_out in [TagFilter::Slow, TagFilter::Disruptive] {
            if !args.include.contains(&default_out) {
                excluded.push(default_out.tag());
            }
        }
        Ok(Selection {
            suites: args.suites.clone(),
            focus: compile("focus", &args.focus)?,
            skip: compile("skip", &args.skip)?,
            conformance: args.conformance,
            excluded,
        })
    }

    /// Whether `test` is selected.
    pub fn matches(&self, test: &TestDef) -> bool {
        if !self.suites.is_empty() && !self.suites.iter().any(|s| s == test.area) {
            return false;
        }
        if self.conformance && !test.has(Tag::Conformance) {
            return false;
        }
        if self.excluded.iter().any(|tag| test.has(*tag)) {
            return false;
        }
        let name = test.full_name();
        if !self.focus.is_empty() && !self.focus.iter().any(|re| re.is_match(&name)) {
            return false;
        }
        !self.skip.iter().any(|re| re.is_match(&name))
    }

    /// The selected tests of `registry`, in registry order.
    pub fn select(&self, registry: Vec<TestDef>) -> Vec<TestDef> {
        registry.into_iter().filter(|t| self.matches(t)).collect()
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use suites::{TestContext, TestFuture};

    use super::*;

    fn pass(_: TestContext) -> TestFuture {
        Box::pin(async { Ok(()) })
    }

    fn def(area: &'static str, name: &'static str, tags: &'static [Tag]) -> TestDef {
        TestDef {
            area,
            name,
            tags,
            upstream: &[],
            needs: &[],
            run: pass,
        }
    }

    fn registry() -> Vec<TestDef> {
        vec![
            def(
                "namespaces",
                "deleting_removes_objects",
                &[Tag::Conformance],
            ),
            def("namespaces", "finalizers_block_deletion", &[Tag::Serial]),
            def("api-machinery", "watch_resumes", &[Tag::Conformance]),
            def("api-machinery", "list_100k_objects", &[Tag::Slow]),
            def(
                "api-machinery",
                "restart_keeps_objects",
                &[Tag::Disruptive, Tag::Serial],
            ),
        ]
    }

    fn selected(args: SelectionArgs) -> Vec<String> {
        let selection = Selection::new(&args, &registry()).unwrap();
        selection
            .select(registry())
            .iter()
            .map(|t| t.full_name())
            .collect()
    }

    #[rstest]
    #[case::defaults_leave_out_slow_and_disruptive(SelectionArgs::default(), &[
        "namespaces::deleting_removes_objects",
        "namespaces::finalizers_block_deletion",
        "api_machinery::watch_resumes",
    ])]
    #[case::suite(SelectionArgs { suites: vec!["api-machinery".into()], ..Default::default() }, &[
        "api_machinery::watch_resumes",
    ])]
    #[case::focus_is_a_regex_on_full_names(SelectionArgs { focus: vec!["^namespaces::.*_removes_".into()], ..Default::default() }, &[
        "namespaces::deleting_removes_objects",
    ])]
    #[case::focus_repeated_matches_any(SelectionArgs { focus: vec!["watch".into(), "finalizers".into()], ..Default::default() }, &[
        "namespaces::finalizers_block_deletion",
        "api_machinery::watch_resumes",
    ])]
    #[case::skip_wins_over_focus(SelectionArgs { focus: vec!["namespaces".into()], skip: vec!["finalizers".into()], ..Default::default() }, &[
        "namespaces::deleting_removes_objects",
    ])]
    #[case::conformance_only(SelectionArgs { conformance: true, ..Default::default() }, &[
        "namespaces::deleting_removes_objects",
        "api_machinery::watch_resumes",
    ])]
    #[case::include_slow(SelectionArgs { include: vec![TagFilter::Slow], suites: vec!["api-machinery".into()], ..Default::default() }, &[
        "api_machinery::watch_resumes",
        "api_machinery::list_100k_objects",
    ])]
    #[case::include_disruptive_still_honours_exclude_serial(SelectionArgs {
        include: vec![TagFilter::Disruptive], exclude: vec![TagFilter::Serial], ..Default::default()
    }, &[
        "namespaces::deleting_removes_objects",
        "api_machinery::watch_resumes",
    ])]
    #[case::include_disruptive(SelectionArgs { include: vec![TagFilter::Disruptive], suites: vec!["api-machinery".into()], ..Default::default() }, &[
        "api_machinery::watch_resumes",
        "api_machinery::restart_keeps_objects",
    ])]
    fn selection(#[case] args: SelectionArgs, #[case] want: &[&str]) {
        assert_eq!(selected(args), want);
    }

    #[test]
    fn unknown_suite_names_the_known_ones() {
        let args = SelectionArgs {
            suites: vec!["volume".into()],
            ..Default::default()
        };
        let err = Selection::new(&args, &registry()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown suite `volume`; known suites: api-machinery, namespaces (see `kubeproof list`)"
        );
    }

    #[test]
    fn invalid_regex_is_a_usage_error() {
        let args = SelectionArgs {
            skip: vec!["(".into()],
            ..Default::default()
        };
        let err = Selection::new(&args, &registry()).unwrap_err();
        assert!(
            matches!(err, SelectionError::BadRegex { flag: "skip", .. }),
            "{err}"
        );
    }
}
