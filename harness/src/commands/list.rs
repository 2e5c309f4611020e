//! `kubeproof list`: the tests a selection runs, and how much of upstream conformance the suites
//! cover.

use super::print_error;
use crate::ExitCodes;
use crate::cli::ListArgs;
use crate::coverage::{coverage, find_upstream, parse_upstream};
use crate::execute::tag_name;
use crate::select::Selection;

/// Print the selected tests and the coverage; returns the exit code.
pub fn list(args: ListArgs) -> i32 {
    let registry = suites::all();
    let selection = match Selection::new(&args.selection, &registry) {
        Ok(selection) => selection,
        Err(err) => {
            print_error(&err);
            return ExitCodes::USAGE;
        }
    };
    let selected = selection.select(registry.clone());
    for test in &selected {
        let tags: Vec<String> = test.tags.iter().map(tag_name).collect();
        println!("{}  [{}]", test.full_name(), tags.join(", "));
        for upstream in test.upstream {
            println!("    upstream: {upstream}");
        }
    }
    println!("{} of {} tests selected", selected.len(), registry.len());

    let path = match args.upstream.or_else(find_upstream) {
        Some(path) => path,
        None => {
            println!(
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
    println!(
        "\nupstream conformance covered (all tests, from {}):",
        path.display()
    );
    let (mut covered, mut total) = (0, 0);
    for area in &areas {
        println!(
            "  {:<28} {:>3} / {:>3}",
            area.area, area.covered, area.total
        );
        covered += area.covered;
        total += area.total;
    }
    println!("  {:<28} {covered:>3} / {total:>3}", "total");
    for name in unknown {
        println!("  warning: a test names upstream `{name}`, which the list does not have");
    }
    ExitCodes::OK
}
