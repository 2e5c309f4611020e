//! Asserting on the `metav1.Status` the API server answers a failed request with.

use std::fmt::Debug;

use anyhow::{anyhow, bail, ensure};
use kube::core::Status;

/// The API error `result` failed with; fails if it succeeded or failed some other way (transport).
pub fn expect_api_error<T: Debug>(result: kube::Result<T>, what: &str) -> anyhow::Result<Status> {
    match result {
        Ok(value) => Err(anyhow!(
            "{what}: expected an API error, but it succeeded with {value:?}"
        )),
        Err(kube::Error::Api(status)) => Ok(*status),
        Err(other) => Err(anyhow!(
            "{what}: expected an API error, got a client error: {other}"
        )),
    }
}

/// The API error `result` failed with, checked to have HTTP `code` and `reason`.
pub fn expect_status<T: Debug>(
    result: kube::Result<T>,
    code: u16,
    reason: &str,
    what: &str,
) -> anyhow::Result<Status> {
    let status = expect_api_error(result, what)?;
    ensure!(
        status.code == code && status.reason == reason,
        "{what}: expected {code} {reason}, got {} {} ({:?})",
        status.code,
        status.reason,
        status.message
    );
    Ok(status)
}

/// Checks that `status.message` contains `needle`.
pub fn expect_message(status: &Status, needle: &str) -> anyhow::Result<()> {
    if !status.message.contains(needle) {
        bail!(
            "expected the error message to contain {needle:?}, got {:?}",
            status.message
        );
    }
    Ok(())
}

/// Checks that `status.details.causes` has a cause for `field` with `reason`; returns its message.
pub fn expect_cause(status: &Status, field: &str, reason: &str) -> anyhow::Result<String> {
    let causes = status
        .details
        .as_ref()
        .map(|d| d.causes.as_slice())
        .unwrap_or_default();
    causes
        .iter()
        .find(|c| c.field == field && c.reason == reason)
        .map(|c| c.message.clone())
        .ok_or_else(|| {
            let seen: Vec<String> = causes
                .iter()
                .map(|c| format!("{} {}: {}", c.field, c.reason, c.message))
                .collect();
            anyhow!(
                "expected a cause {reason} on field {field:?}; causes were {seen:?} (message {:?})",
                status.message
            )
        })
}
