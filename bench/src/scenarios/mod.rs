//! The API benchmark scenarios of issue 2 (boot, creates, list, watch fan-out, memory) and the
//! hollow-node scenarios of issue 3 ([`nodes`]), each an async function that boots its own control
//! plane, measures, and returns its [`Figures`].
//!
//! Every loop is bounded twice: by a count and by [`CAP`] of wall-clock time; a scenario that
//! reaches its cap stops early and says so in a note rather than running on.

use std::time::Duration;

use crate::figures::Figures;

pub mod boot;
pub mod creates;
pub mod list;
pub mod memory;
pub mod nodes;
pub mod watch;

/// The wall-clock budget of one scenario's measured loop.
pub const CAP: Duration = Duration::from_secs(60);

/// Record a scenario that could not run (setup failed) as figures with the reason as a note, so
/// that one failure neither aborts the other scenarios nor goes unreported.
pub fn failed(name: &str, why: impl std::fmt::Display) -> Figures {
    let mut f = Figures::new(name);
    f.note(format!("scenario failed: {why}"));
    f
}
