//! The exit codes of `kubeproof`, stable so CI scripts can tell "tests failed" from "the harness
//! could not start" (as nextest's `exit_codes.rs` does).

/// Documented exit codes.
#[derive(Debug)]
pub enum ExitCodes {}

impl ExitCodes {
    /// Everything selected passed or was skipped (also: nothing was selected).
    pub const OK: i32 = 0;
    /// At least one test failed or timed out.
    pub const TEST_FAILURES: i32 = 1;
    /// Bad flags or configuration: an unknown suite, an invalid regex, an unreadable kubeconfig,
    /// a target that does not exist yet. Clap's own usage errors use this code too.
    pub const USAGE: i32 = 2;
    /// The target could not be booted or reached.
    pub const TARGET_BOOT: i32 = 3;
    /// The run was interrupted (SIGINT/SIGTERM), as shells report a process ended by SIGINT;
    /// the results folder holds the tests that finished.
    pub const INTERRUPTED: i32 = 130;

    /// The code for a run whose outcome totals are `totals`.
    pub fn for_totals(totals: &reports::Totals) -> i32 {
        if totals.ok() {
            Self::OK
        } else {
            Self::TEST_FAILURES
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_match_the_documentation() {
        assert_eq!(
            [
                ExitCodes::OK,
                ExitCodes::TEST_FAILURES,
                ExitCodes::USAGE,
                ExitCodes::TARGET_BOOT,
                ExitCodes::INTERRUPTED
            ],
            [0, 1, 2, 3, 130]
        );
    }

    #[test]
    fn clap_usage_errors_share_the_usage_code() {
        use clap::Parser as _;
        let err = crate::cli::Cli::try_parse_from(["kubeproof", "run", "--no-such-flag"])
            .expect_err("unknown flag must be rejected");
        assert_eq!(err.exit_code(), ExitCodes::USAGE);
    }

    #[test]
    fn failures_and_timeouts_fail_the_run_and_skips_do_not() {
        let skipped = reports::Totals {
            passed: 3,
            skipped: 2,
            ..Default::default()
        };
        assert_eq!(ExitCodes::for_totals(&skipped), ExitCodes::OK);
        let timed_out = reports::Totals {
            timed_out: 1,
            ..skipped
        };
        assert_eq!(ExitCodes::for_totals(&timed_out), ExitCodes::TEST_FAILURES);
        let failed = reports::Totals {
            failed: 1,
            ..skipped
        };
        assert_eq!(ExitCodes::for_totals(&failed), ExitCodes::TEST_FAILURES);
    }
}
