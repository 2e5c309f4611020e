//! `kubeproof list`: the tests a selection runs, and how much of upstream conformance the suites
//! cover.

use super::print_error;
use crate::ExitCodes;
use crate::cli::ListArgs;
use crate::coverage::{coverage, find_upstream, parse_upstream};
use crate::execute::tag_name;
use crate::select::Selection;

/// `writeln!` into a String, which cannot fail.
macro_rules! outln {
    ($out:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($out, $($arg)*);
    }};
}

/// Print the selected tests and the coverage; returns the exit code.
pub fn list(args: ListArgs) -> i32 {
    let mut out = String::new();
    let code = render(args, &mut out);
    // Written at once, and a closed pipe (`kubeproof list | head`) is not an error.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), out.as_bytes());
    code
}

fn render(args: ListArgs, out: &mut String) -> i32 {
    let registry = suites::all();
    let selection = match Selection::new(&args.selection, &registry) {
        Ok(selection) => selection,
        Err(err) => {
            print_error(&err);
            return ExitCodes::USAGE;
        }
    };
    let selected = selection.select(registry.clone());
    let mut area = "";
    for test in &selected {
        if test.area != area {
            area = test.area;
            let count = selected.iter().filter(|t| t.area == area).count();
            outln!(out, "{area} ({count}):");
        }
        let tags: Vec<String> = test.tags.iter().map(tag_name).collect();
        let needs: Vec<String> = test.needs.iter().map(|n| format!("needs {n:?}")).collect();
        let labels = [tags, needs].concat();
        if labels.is_empty() {
            outln!(out, "  {}", test.full_name());
        } else {
            outln!(out, "  {}  [{}]", test.full_name(), labels.join(", "));
        }
        for upstream in test.upstream {
            outln!(out, "      upstream: {upstream}");
        }
    }
    outln!(
        out,
        "{} of {} tests selected",
        selected.len(),
        registry.len()
    );

    let path = match args.upstream.or_else(find_upstream) {
        Some(path) => path,
        None => {
            outln!(
                out,
                "upstream coverage: ../shared/conformance/upstream-v1.32.tsv not found; \
                 pass --upstream PATH to count it"
            );
            return ExitCodes::OK;
        }
    };
    let tsv = match std::fs::read_to_string(&path) {
        Ok(tsv) => tsv,
        Err(err) => {
            eprintln!("kubeproof: error: cannot read {}: {err}", path.display());
            return ExitCodes::USAGE;
        }
    };
    let upstream = parse_upstream(&tsv);
    // Coverage is a property of the suites, not of this selection: count every test.
    let (areas, unknown) = coverage(&upstream, &registry);
    outln!(
        out,
        "\nupstream conformance covered (all tests, from {}):",
        path.display()
    );
    let (mut covered, mut total) = (0, 0);
    for area in &areas {
        outln!(
            out,
            "  {:<28} {:>3} / {:>3}",
            area.area,
            area.covered,
            area.total
        );
        covered += area.covered;
        total += area.total;
    }
    outln!(out, "  {:<28} {covered:>3} / {total:>3}", "total");
    for name in unknown {
        outln!(
            out,
            "  warning: a test names upstream `{name}`, which the list does not have"
        );
    }
    ExitCodes::OK
}
