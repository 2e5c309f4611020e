//! Each test's own namespace: `kp-<short test name>-<4 hex>`, created before the test and deleted
//! after it without waiting for the namespace to finish terminating.

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{DeleteParams, PostParams};
use kube::core::ObjectMeta;
use kube::{Api, Client};

use crate::seed;

/// The label every test namespace carries, so leftovers after a crash are easy to find and delete
/// (`kubectl delete ns -l app.kubernetes.io/managed-by=kubeproof`).
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "kubeproof");

/// The label naming the run (its seed) a test namespace belongs to, so an interrupted run can
/// delete its own namespaces and no one else's.
pub const RUN_LABEL: &str = "kubeproof.io/run";

/// How many names to try when one is taken (a namespace of an earlier run with the same seed may
/// still be terminating).
const ATTEMPTS: u64 = 8;

/// The namespace name for the test named `test_name` (the name without its area) with `suffix`.
///
/// The result is a DNS label (RFC 1123: lower-case alphanumerics and `-`, starting and ending with
/// an alphanumeric, at most 63 characters), as upstream requires of namespace names.
pub fn namespace_name(test_name: &str, suffix: u16) -> String {
    const PREFIX: &str = "kp-";
    let tail = format!("-{suffix:04x}");
    let room = 63 - PREFIX.len() - tail.len();
    let mut short = String::with_capacity(room);
    for c in test_name.chars() {
        if short.len() == room {
            break;
        }
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        // Collapse runs of separators: `a__b` reads better as `a-b` than `a--b`.
        if c == '-' && (short.is_empty() || short.ends_with('-')) {
            continue;
        }
        short.push(c);
    }
    let short = short.trim_end_matches('-');
    if short.is_empty() {
        format!("kp{tail}")
    } else {
        format!("{PREFIX}{short}{tail}")
    }
}

/// The `attempt`-th suffix for a test with seed `test_seed`: derived, not drawn, so a replayed run
/// uses the same namespace names.
pub fn namespace_suffix(test_seed: u64, attempt: u64) -> u16 {
    (seed::mix(test_seed.wrapping_add(attempt)) & 0xffff) as u16
}

/// Create the namespace for a test, trying the next suffix when a name is taken.
pub async fn create_namespace(
    client: &Client,
    test_name: &str,
    run_seed: u64,
    test_seed: u64,
) -> Result<String, kube::Error> {
    let api: Api<Namespace> = Api::all(client.clone());
    let mut attempt = 0;
    loop {
        let name = namespace_name(test_name, namespace_suffix(test_seed, attempt));
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some(
                    [
                        (MANAGED_BY.0.to_owned(), MANAGED_BY.1.to_owned()),
                        (RUN_LABEL.to_owned(), run_seed.to_string()),
                    ]
                    .into(),
                ),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        match api.create(&PostParams::default(), &namespace).await {
            Ok(_) => return Ok(name),
            Err(kube::Error::Api(status)) if status.code == 409 && attempt + 1 < ATTEMPTS => {
                attempt += 1;
            }
            Err(err) => return Err(err),
        }
    }
}

/// Ask for the namespace's deletion and return at once: the server removes its objects in the
/// background, and the next test does not depend on it.
pub async fn delete_namespace(client: &Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    if let Err(err) = api.delete(name, &DeleteParams::background()).await {
        tracing::warn!(namespace = name, error = %err, "could not delete the test namespace");
    }
}

/// Delete every namespace of the run seeded `run_seed` (after an interrupted run). Namespaces
/// have no deletecollection upstream, so each is deleted by name, as `kubectl delete ns -l` does.
pub async fn delete_run_namespaces(client: &Client, run_seed: u64) -> Result<usize, kube::Error> {
    let api: Api<Namespace> = Api::all(client.clone());
    let selector = format!("{RUN_LABEL}={run_seed}");
    let list = api
        .list(&kube::api::ListParams::default().labels(&selector))
        .await?;
    let mut deleted = 0;
    for ns in list.items {
        if let Some(name) = ns.metadata.name {
            delete_namespace(client, &name).await;
            deleted += 1;
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn is_dns_label(s: &str) -> bool {
        !s.is_empty()
            && s.len() <= 63
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
    }

    #[rstest]
    #[case(
        "deleting_namespace_removes_its_objects",
        0xbeef,
        "kp-deleting-namespace-removes-its-objects-beef"
    )]
    #[case("Watch__Resumes_", 0x0001, "kp-watch-resumes-0001")]
    #[case("___", 0x00ab, "kp-00ab")]
    #[case("x", 0xffff, "kp-x-ffff")]
    fn names_are_readable_dns_labels(#[case] test: &str, #[case] suffix: u16, #[case] want: &str) {
        let name = namespace_name(test, suffix);
        assert_eq!(name, want);
        assert!(is_dns_label(&name), "{name}");
    }

    #[test]
    fn long_names_are_cut_to_63_characters_without_a_trailing_dash() {
        let long = "a_".repeat(50) + "end";
        let name = namespace_name(&long, 0x1234);
        assert_eq!(name.len(), 63, "{name}");
        assert!(is_dns_label(&name), "{name}");
        assert!(name.ends_with("-1234"));
        // A cut that lands on a separator must not leave `--` before the suffix.
        let name = namespace_name(&("b".repeat(54) + "_cc"), 7);
        assert!(is_dns_label(&name) && !name.contains("--"), "{name}");
    }

    #[test]
    fn suffixes_are_derived_from_the_test_seed_and_attempt() {
        assert_eq!(namespace_suffix(9, 0), namespace_suffix(9, 0));
        let suffixes: std::collections::BTreeSet<_> =
            (0..8).map(|a| namespace_suffix(9, a)).collect();
        assert_eq!(suffixes.len(), 8, "retries must try different names");
    }
}
