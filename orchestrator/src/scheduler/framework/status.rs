//! The outcome of running a plugin, as upstream's `framework.Status`: a code, the reasons a user
//! reads in `FailedScheduling`, and the plugin that gave it. Outcomes are values; no plugin
//! panics or returns early through an error type to say "does not fit".

use std::borrow::Cow;

/// Upstream's `framework.Code`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Code {
    /// The plugin ran and the pod may go on (fits, scored, reserved, …).
    #[default]
    Success,
    /// Something went wrong that is not about the pod fitting (a lister failed, bad state).
    Error,
    /// The pod does not fit now; preemption may help.
    Unschedulable,
    /// The pod does not fit, and evicting pods on this node would not change that.
    UnschedulableAndUnresolvable,
    /// Permit: hold the pod until allowed or timed out.
    Wait,
    /// PreFilter/PreScore: this plugin has nothing to do for this pod; its Filter/Score is
    /// skipped for the rest of the cycle.
    Skip,
    /// PreEnqueue and the queue: the pod waits for something outside the scheduler.
    Pending,
}

impl Code {
    /// Upstream's `Code.String()`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Success => "Success",
            Code::Error => "Error",
            Code::Unschedulable => "Unschedulable",
            Code::UnschedulableAndUnresolvable => "UnschedulableAndUnresolvable",
            Code::Wait => "Wait",
            Code::Skip => "Skip",
            Code::Pending => "Pending",
        }
    }
}

/// A plugin's outcome. `Status::success()` allocates nothing, so the hot path pays only for
/// failures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    code: Code,
    reasons: Vec<Cow<'static, str>>,
    plugin: &'static str,
}

impl Status {
    /// Success, no reasons.
    pub fn success() -> Self {
        Self::default()
    }

    /// A status with a code and one reason.
    pub fn new(code: Code, reason: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            reasons: vec![reason.into()],
            plugin: "",
        }
    }

    /// A status with a code and several reasons.
    pub fn with_reasons(code: Code, reasons: Vec<Cow<'static, str>>) -> Self {
        Self {
            code,
            reasons,
            plugin: "",
        }
    }

    /// `Unschedulable` with one reason.
    pub fn unschedulable(reason: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Code::Unschedulable, reason)
    }

    /// `UnschedulableAndUnresolvable` with one reason.
    pub fn unresolvable(reason: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Code::UnschedulableAndUnresolvable, reason)
    }

    /// `Error` with the error's text as reason.
    pub fn error(reason: impl Into<Cow<'static, str>>) -> Self {
        Self::new(Code::Error, reason)
    }

    /// `Skip`.
    pub fn skip() -> Self {
        Self {
            code: Code::Skip,
            ..Self::default()
        }
    }

    /// The same status, attributed to `plugin` (the runtime does this for every non-success).
    pub fn with_plugin(mut self, plugin: &'static str) -> Self {
        self.plugin = plugin;
        self
    }

    /// The code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The reasons, in the order given.
    pub fn reasons(&self) -> &[Cow<'static, str>] {
        &self.reasons
    }

    /// The plugin that gave this status ("" until the runtime attributes it).
    pub fn plugin(&self) -> &'static str {
        self.plugin
    }

    /// Whether the code is `Success`.
    pub fn is_success(&self) -> bool {
        self.code == Code::Success
    }

    /// Whether the code is `Skip`.
    pub fn is_skip(&self) -> bool {
        self.code == Code::Skip
    }

    /// Whether the pod was rejected (`Unschedulable` or `UnschedulableAndUnresolvable`).
    pub fn is_rejected(&self) -> bool {
        matches!(
            self.code,
            Code::Unschedulable | Code::UnschedulableAndUnresolvable
        )
    }

    /// The reasons joined by ", " (upstream `Status.Message()`).
    pub fn message(&self) -> String {
        self.reasons.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_is_the_default_and_carries_no_reasons() {
        let s = Status::success();
        assert!(s.is_success());
        assert!(s.reasons().is_empty());
        assert_eq!(s, Status::default());
    }

    #[test]
    fn a_rejection_joins_its_reasons_like_upstream() {
        let s = Status::with_reasons(
            Code::Unschedulable,
            vec!["Insufficient cpu".into(), "Insufficient memory".into()],
        )
        .with_plugin("NodeResourcesFit");
        assert!(s.is_rejected());
        assert_eq!(s.message(), "Insufficient cpu, Insufficient memory");
        assert_eq!(s.plugin(), "NodeResourcesFit");
        assert!(Status::unresolvable("x").is_rejected());
        assert!(!Status::error("x").is_rejected());
    }
}
