//! Nodes in tests: a hollow node of the test's own (so a test that disturbs a node disturbs
//! nobody else), readers of node conditions and taints, and waits on them.

use anyhow::Context;
use k8s_openapi::api::core::v1::{Node, Taint};
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use crate::TestContext;
use crate::support::{Condition, wait_budget, wait_for};

/// The taint the node lifecycle controller puts on a node whose heartbeats stopped.
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// The taint for a node that reports itself NotReady.
pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
/// The taint for a cordoned node.
pub const UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
/// The taint for a node under memory pressure.
pub const MEMORY_PRESSURE: &str = "node.kubernetes.io/memory-pressure";

/// All nodes of the target.
pub fn nodes_api(ctx: &TestContext) -> Api<Node> {
    Api::all(ctx.client.clone())
}

/// The prefix of the nodes a test adds with `tag`: the start of its namespace's name, a hash of
/// the whole of it (so two tests never share a prefix), and the tag — short enough that
/// `<prefix>-<i>` fits the 63 characters of the `kubernetes.io/hostname` label.
pub fn own_node_prefix(namespace: &str, tag: &str) -> String {
    let base: String = namespace
        .trim_start_matches("kp-")
        .chars()
        .take(24)
        .collect();
    let tag: String = tag.chars().take(10).collect();
    format!(
        "kp-{}-{}-{tag}",
        base.trim_end_matches('-'),
        super::short_hash(namespace)
    )
}

/// Registers `count` hollow nodes of this test's own, named [`own_node_prefix`]`-<i>`, and
/// waits until each is Ready. Needs `Need::NodeControl`.
pub async fn own_nodes(ctx: &TestContext, tag: &str, count: usize) -> anyhow::Result<Vec<String>> {
    let prefix = own_node_prefix(&ctx.namespace, tag);
    let names = ctx
        .node_control()?
        .add_nodes(&prefix, count, None)
        .await
        .with_context(|| format!("adding {count} hollow nodes {prefix}-*"))?;
    for name in &names {
        wait_node(ctx, name, "to be Ready", |n| {
            node_condition_status(n, "Ready") == Some("True")
        })
        .await?;
    }
    Ok(names)
}

/// One hollow node of this test's own, Ready (see [`own_nodes`]).
pub async fn own_node(ctx: &TestContext) -> anyhow::Result<String> {
    let mut names = own_nodes(ctx, "node", 1).await?;
    names.pop().context("add_nodes returned no node")
}

/// The status (`True`, `False`, `Unknown`) of the node condition `type_`.
pub fn node_condition_status<'a>(node: &'a Node, type_: &str) -> Option<&'a str> {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == type_))
        .map(|c| c.status.as_str())
}

/// The node's taints.
pub fn taints(node: &Node) -> &[Taint] {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or_default()
}

/// The node's taint with `key` and `effect`, if it has it.
pub fn taint<'a>(node: &'a Node, key: &str, effect: &str) -> Option<&'a Taint> {
    taints(node)
        .iter()
        .find(|t| t.key == key && t.effect == effect)
}

/// Whether the node has a taint with `key` and `effect`.
pub fn has_taint(node: &Node, key: &str, effect: &str) -> bool {
    taint(node, key, effect).is_some()
}

/// `key:effect` of every taint, for failure messages.
pub fn taint_labels(node: &Node) -> Vec<String> {
    taints(node)
        .iter()
        .map(|t| format!("{}:{}", t.key, t.effect))
        .collect()
}

/// Waits until node `name` exists and `test` holds of it; returns it.
pub async fn wait_node(
    ctx: &TestContext,
    name: &str,
    what: &str,
    test: impl Fn(&Node) -> bool + Send + Sync + 'static,
) -> anyhow::Result<Node> {
    let node = wait_for(
        &nodes_api(ctx),
        name,
        Condition::exists_and(what, test),
        wait_budget(ctx),
    )
    .await?;
    node.with_context(|| format!("node {name} vanished"))
}

/// Adds `taint` to node `name` (keeping its others), as `kubectl taint` does.
pub async fn add_taint(ctx: &TestContext, name: &str, taint: Taint) -> anyhow::Result<()> {
    let api = nodes_api(ctx);
    let node = api.get(name).await?;
    let mut all: Vec<Taint> = taints(&node).to_vec();
    all.push(taint);
    set_taints(ctx, name, &all, &node).await
}

/// Removes the taints with `key` from node `name`.
pub async fn remove_taint(ctx: &TestContext, name: &str, key: &str) -> anyhow::Result<()> {
    let api = nodes_api(ctx);
    let node = api.get(name).await?;
    let kept: Vec<Taint> = taints(&node)
        .iter()
        .filter(|t| t.key != key)
        .cloned()
        .collect();
    set_taints(ctx, name, &kept, &node).await
}

/// Writes `spec.taints`, guarded by the resourceVersion read (the node lifecycle controller
/// writes taints too; a conflict is retried by the caller's retry of the whole step).
async fn set_taints(
    ctx: &TestContext,
    name: &str,
    all: &[Taint],
    read: &Node,
) -> anyhow::Result<()> {
    let patch = json!({
        "metadata": {"resourceVersion": read.metadata.resource_version},
        "spec": {"taints": all},
    });
    nodes_api(ctx)
        .patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .with_context(|| format!("setting the taints of node {name}"))?;
    Ok(())
}

/// A NoExecute taint of the test's own key (`kubeproof.io/e2e-evict-taint-key`), as upstream's
/// taint-manager tests use.
pub fn evict_taint() -> Taint {
    Taint {
        key: EVICT_KEY.to_string(),
        value: Some("evictTaintVal".to_string()),
        effect: "NoExecute".to_string(),
        time_added: None,
    }
}

/// The key of [`evict_taint`].
pub const EVICT_KEY: &str = "kubeproof.io/e2e-evict-taint-key";

/// The value of a resource quantity (`8`, `7900m`, `32Gi`, `1e3`) as a number of units, for
/// comparing allocatable with capacity; `None` when it does not parse.
pub fn quantity_value(text: &str) -> Option<f64> {
    const SUFFIXES: [(&str, f64); 13] = [
        ("Ki", 1024.0),
        ("Mi", 1024.0 * 1024.0),
        ("Gi", 1024.0 * 1024.0 * 1024.0),
        ("Ti", 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("Pi", 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("Ei", 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
    ];
    let text = text.trim();
    for (suffix, scale) in SUFFIXES {
        if let Some(number) = text.strip_suffix(suffix) {
            return number.parse::<f64>().ok().map(|n| n * scale);
        }
    }
    text.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::{own_node_prefix, quantity_value};

    #[test]
    fn own_node_names_fit_the_hostname_label_and_differ_per_namespace() {
        let long = "kp-kubectl-cordon-taints-the-node-unschedulable-and-uncord-c4b1";
        let a = own_node_prefix(long, "removal");
        let b = own_node_prefix(&long.replace("c4b1", "c4b2"), "removal");
        assert_ne!(a, b);
        assert!(format!("{a}-12").len() <= 63, "{a}");
        assert!(a.starts_with("kp-kubectl-cordon-"), "{a}");
    }

    #[test]
    fn quantities_parse_with_binary_and_decimal_suffixes() {
        assert_eq!(quantity_value("8"), Some(8.0));
        assert_eq!(quantity_value("7900m"), Some(7.9));
        assert_eq!(
            quantity_value("32Gi"),
            Some(32.0 * 1024.0 * 1024.0 * 1024.0)
        );
        assert_eq!(quantity_value("2k"), Some(2000.0));
        assert_eq!(quantity_value("lots"), None);
    }
}
