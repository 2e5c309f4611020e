//! Names the container runtime would make up: container IDs, image digests and sizes, and the
//! registry's error for an image that does not exist — all derived deterministically, so that a
//! run replays to the same strings.

use crate::seed;

/// 64 hex digits for `key` under `seed`.
fn hex64(seed: u64, key: &str) -> String {
    (0..4).fold(String::with_capacity(64), |mut s, n| {
        use std::fmt::Write;
        let _ = write!(s, "{:016x}", seed::draw(seed, key, n));
        s
    })
}

/// `containerd://<64 hex>` for one instance of a container.
pub(crate) fn container_id(seed: u64, pod_uid: &str, container: &str, instance: u32) -> String {
    format!(
        "containerd://{}",
        hex64(seed, &format!("{pod_uid}/{container}/{instance}"))
    )
}

/// The fully qualified reference containerd resolves `image` to: `nginx` →
/// `docker.io/library/nginx:latest`.
pub(crate) fn qualified(image: &str) -> String {
    let (name, suffix) = split_reference(image);
    let first = name.split('/').next().unwrap_or_default();
    let has_registry =
        name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let name = if has_registry {
        name.to_owned()
    } else if name.contains('/') {
        format!("docker.io/{name}")
    } else {
        format!("docker.io/library/{name}")
    };
    match suffix {
        Some(s) => format!("{name}{s}"),
        None => format!("{name}:latest"),
    }
}

/// `(repository, ":tag" or "@digest")`.
fn split_reference(image: &str) -> (&str, Option<&str>) {
    if let Some(at) = image.find('@') {
        return (&image[..at], Some(&image[at..]));
    }
    // A colon after the last slash starts the tag; one before it is a registry's port.
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].find(':') {
        Some(c) => (&image[..last_slash + c], Some(&image[last_slash + c..])),
        None => (image, None),
    }
}

/// `status.containerStatuses[].imageID`: `<repository>@sha256:<64 hex>`, the same for every
/// pod using `image`.
pub(crate) fn image_id(image: &str) -> String {
    let full = qualified(image);
    let repo = split_reference(&full).0.to_owned();
    if let Some(at) = full.find('@') {
        return format!("{repo}{}", &full[at..]);
    }
    format!("{repo}@sha256:{}", hex64(0, &full))
}

/// A plausible image size in bytes (5–200 MB), for the `Pulled` event.
pub(crate) fn image_size(image: &str) -> u64 {
    5_000_000 + seed::draw(0, &qualified(image), 99) % 195_000_000
}

/// containerd's error for an image the registry does not have, as the kubelet reports it (the
/// gRPC status's message, without its `rpc error: code = …` wrapper).
pub(crate) fn pull_error(image: &str) -> String {
    let full = qualified(image);
    format!(
        "failed to pull and unpack image \"{full}\": failed to resolve reference \"{full}\": {full}: not found"
    )
}

/// `format.Pod`: `name_namespace(uid)`, as the kubelet names a pod in messages.
pub(crate) fn pod_label(name: &str, namespace: &str, uid: &str) -> String {
    format!("{name}_{namespace}({uid})")
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case("nginx", "docker.io/library/nginx:latest")]
    #[case("nginx:1.27", "docker.io/library/nginx:1.27")]
    #[case("bitnami/redis:7", "docker.io/bitnami/redis:7")]
    #[case("registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10")]
    #[case("localhost:5000/app", "localhost:5000/app:latest")]
    fn images_qualify_as_containerd_does(#[case] image: &str, #[case] want: &str) {
        assert_eq!(qualified(image), want);
    }

    #[test]
    fn ids_are_stable_and_shaped_like_the_runtime_s() {
        let id = container_id(1, "uid", "web", 0);
        assert_eq!(id, container_id(1, "uid", "web", 0));
        assert_ne!(id, container_id(1, "uid", "web", 1));
        let hex = id.strip_prefix("containerd://").unwrap();
        assert_eq!(hex.len(), 64);
        assert!(hex.chars().all(|c| c.is_ascii_hexdigit()));
        let image = image_id("nginx:1.27");
        assert!(
            image.starts_with("docker.io/library/nginx@sha256:"),
            "{image}"
        );
        assert_eq!(image.len(), "docker.io/library/nginx@sha256:".len() + 64);
        assert_eq!(image, image_id("docker.io/library/nginx:1.27"));
    }
}
