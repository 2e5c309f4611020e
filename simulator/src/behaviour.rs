//! PLACEHOLDER until the pod-lifecycle helper lands: the behaviour model (what a hollow
//! container does), as data — defaults from the profile, overridden per pod by annotations under
//! [`ANNOTATION_PREFIX`], jitter drawn from the run's seed ([`crate::seed`]).

use k8s_openapi::api::core::v1::Pod;
use serde::Deserialize;

/// Every behaviour annotation starts with this.
pub const ANNOTATION_PREFIX: &str = "kubeproof.io/";

/// Defaults for every pod: the profile's `behaviour:` section.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BehaviourDefaults {}

/// What one pod's containers do, resolved for that pod.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Behaviour {}

/// An annotation that does not parse.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("annotation {annotation}: {message}")]
pub struct BehaviourError {
    /// The annotation's key.
    pub annotation: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl Behaviour {
    /// `pod`'s behaviour: `defaults`, overridden by its annotations, jitter drawn from `seed`.
    pub fn resolve(
        _defaults: &BehaviourDefaults,
        _pod: &Pod,
        _seed: u64,
    ) -> Result<Behaviour, BehaviourError> {
        Ok(Behaviour {})
    }
}
