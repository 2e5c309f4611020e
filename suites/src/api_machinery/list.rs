//! List: paging with limit/continue (a consistent snapshot, remainingItemCount), every label
//! selector operator, field selectors (generic, pods, events) and the 400 for unsupported ones.

use anyhow::ensure;
use k8s_openapi::api::core::v1::{ConfigMap, Event, ObjectReference, Pod};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::TestContext;
use crate::support::errors::expect_message;
use crate::support::{configmap, expect_status, meta, ns_api, unscheduled_pod};

fn names<K: kube::Resource>(items: &[K]) -> Vec<String> {
    items
        .iter()
        .map(|o| o.meta().name.clone().unwrap_or_default())
        .collect()
}

/// `limit` cuts a list into pages joined by `continue`; each page of an unfiltered list says how
/// many items remain (upstream counts only for lists without selectors); the last page has
/// neither a continue token nor a count; pages come in name order and add up to the full list.
pub async fn list_pages_with_limit_and_continue(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    for i in 0..12 {
        api.create(
            &PostParams::default(),
            &configmap(&format!("page-{i:02}"), &[("paged", "yes")], &[]),
        )
        .await?;
    }
    // The namespace may hold configmaps of its own (kube-root-ca.crt on real clusters).
    let everything = names(&api.list(&ListParams::default()).await?.items);
    let total = everything.len();
    ensure!(total >= 12, "the full list has only {total} configmaps");
    let mut paged = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut lp = ListParams::default().limit(5);
        if let Some(t) = &token {
            lp = lp.continue_token(t);
        }
        let page = api.list(&lp).await?;
        let left_before = total - paged.len();
        ensure!(
            page.items.len() == left_before.min(5),
            "a page has {} items, want {}",
            page.items.len(),
            left_before.min(5)
        );
        paged.extend(names(&page.items));
        let left_after = (total - paged.len()) as i64;
        let want_remaining = (left_after > 0).then_some(left_after);
        ensure!(
            page.metadata.remaining_item_count == want_remaining,
            "after {} items, remainingItemCount is {:?}, want {want_remaining:?}",
            paged.len(),
            page.metadata.remaining_item_count
        );
        token = page.metadata.continue_.clone().filter(|t| !t.is_empty());
        ensure!(
            token.is_some() == want_remaining.is_some(),
            "after {} items, continue token is {token:?}",
            paged.len()
        );
        if token.is_none() {
            break;
        }
    }
    ensure!(
        paged == everything,
        "paged names {paged:?} differ from the full list {everything:?}"
    );
    let mut sorted = paged.clone();
    sorted.sort();
    ensure!(paged == sorted, "pages are not in name order: {paged:?}");

    let filtered = api
        .list(&ListParams::default().labels("paged=yes").limit(5))
        .await?;
    ensure!(
        filtered.items.len() == 5,
        "a filtered page has {} items, want 5",
        filtered.items.len()
    );
    ensure!(
        filtered
            .metadata
            .continue_
            .as_deref()
            .is_some_and(|t| !t.is_empty()),
        "a filtered first page has no continue token"
    );
    Ok(())
}

/// Later pages come from the snapshot of the first: writes made while paging are not seen,
/// and every page reports the same list resourceVersion.
pub async fn pages_are_a_consistent_snapshot_while_writes_happen(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    for i in 0..9 {
        api.create(
            &PostParams::default(),
            &configmap(&format!("snap-{i}"), &[("snap", "yes")], &[("v", "old")]),
        )
        .await?;
    }
    let first = api
        .list(&ListParams::default().labels("snap=yes").limit(3))
        .await?;
    let version = first.metadata.resource_version.clone();
    let mut token = first.metadata.continue_.clone().unwrap_or_default();
    let mut seen = names(&first.items);

    api.create(
        &PostParams::default(),
        &configmap("snap-9", &[("snap", "yes")], &[]),
    )
    .await?;
    api.delete("snap-7", &DeleteParams::default()).await?;
    api.patch(
        "snap-5",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"v": "new"}})),
    )
    .await?;

    let mut snap5 = None;
    while !token.is_empty() {
        let page = api
            .list(
                &ListParams::default()
                    .labels("snap=yes")
                    .limit(3)
                    .continue_token(&token),
            )
            .await?;
        ensure!(
            page.metadata.resource_version == version,
            "page resourceVersion {:?} differs from the first page's {version:?}",
            page.metadata.resource_version
        );
        if let Some(c) = page.items.iter().find(|c| c.name_any() == "snap-5") {
            snap5 = c.data.clone();
        }
        seen.extend(names(&page.items));
        token = page.metadata.continue_.clone().unwrap_or_default();
    }
    let want: Vec<String> = (0..9).map(|i| format!("snap-{i}")).collect();
    ensure!(
        seen == want,
        "paging during writes saw {seen:?}, want the snapshot {want:?}"
    );
    ensure!(
        snap5.as_ref().and_then(|d| d.get("v")).map(String::as_str) == Some("old"),
        "snap-5 on a later page shows {snap5:?}, want the snapshot's v=old"
    );
    let fresh = names(
        &api.list(&ListParams::default().labels("snap=yes"))
            .await?
            .items,
    );
    ensure!(
        fresh.contains(&"snap-9".to_string()) && !fresh.contains(&"snap-7".to_string()),
        "a fresh list {fresh:?} misses the writes"
    );
    Ok(())
}

/// Every label selector operator selects exactly the objects it should: `=`, `==`, `!=`, `in`,
/// `notin`, exists, `!key`, and conjunctions; a malformed selector is 400 BadRequest.
pub async fn label_selector_operators_select_exactly(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    let objects: [(&str, &[(&str, &str)]); 5] = [
        ("ls-1", &[("set", "ls"), ("env", "prod"), ("tier", "web")]),
        ("ls-2", &[("set", "ls"), ("env", "dev"), ("tier", "web")]),
        ("ls-3", &[("set", "ls"), ("env", "prod")]),
        ("ls-4", &[("set", "ls"), ("tier", "db")]),
        ("ls-5", &[("set", "ls")]),
    ];
    for (name, pairs) in objects {
        api.create(&PostParams::default(), &configmap(name, pairs, &[]))
            .await?;
    }
    let cases: [(&str, &[&str]); 11] = [
        ("env=prod", &["ls-1", "ls-3"]),
        ("env==prod", &["ls-1", "ls-3"]),
        ("env!=prod", &["ls-2", "ls-4", "ls-5"]),
        ("env in (prod,dev)", &["ls-1", "ls-2", "ls-3"]),
        ("env notin (prod)", &["ls-2", "ls-4", "ls-5"]),
        ("env", &["ls-1", "ls-2", "ls-3"]),
        ("!env", &["ls-4", "ls-5"]),
        ("env=prod,tier=web", &["ls-1"]),
        ("tier in (web),env notin (dev)", &["ls-1"]),
        ("tier!=web,env", &["ls-3"]),
        ("env in (staging)", &[]),
    ];
    let mut failures = Vec::new();
    for (selector, want) in cases {
        let full = format!("set=ls,{selector}");
        let mut got = names(&api.list(&ListParams::default().labels(&full)).await?.items);
        got.sort();
        if got != want {
            failures.push(format!("{selector:?}: got {got:?}, want {want:?}"));
        }
    }
    ensure!(
        failures.is_empty(),
        "label selectors selected wrongly:\n{}",
        failures.join("\n")
    );
    expect_status(
        api.list(&ListParams::default().labels("env in prod")).await,
        400,
        "BadRequest",
        "malformed selector",
    )?;
    Ok(())
}

/// `metadata.name` and `metadata.namespace` field selectors work on every resource, with `=`,
/// `==` and `!=`, namespaced and across namespaces.
pub async fn field_selectors_select_by_name_and_namespace(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    for name in ["fsel-a", "fsel-b", "fsel-c"] {
        api.create(
            &PostParams::default(),
            &configmap(name, &[("set", "fsel")], &[]),
        )
        .await?;
    }
    let list = |fields: String| {
        let api = api.clone();
        async move {
            let mut n = names(
                &api.list(&ListParams::default().labels("set=fsel").fields(&fields))
                    .await?
                    .items,
            );
            n.sort();
            anyhow::Ok(n)
        }
    };
    ensure!(
        list("metadata.name=fsel-b".into()).await? == ["fsel-b"],
        "metadata.name=fsel-b"
    );
    ensure!(
        list("metadata.name==fsel-b".into()).await? == ["fsel-b"],
        "metadata.name==fsel-b"
    );
    ensure!(
        list("metadata.name!=fsel-b".into()).await? == ["fsel-a", "fsel-c"],
        "metadata.name!=fsel-b"
    );
    ensure!(
        list("metadata.name=fsel-a,metadata.name=fsel-b".into())
            .await?
            .is_empty(),
        "a contradictory conjunction"
    );
    let everywhere: Api<ConfigMap> = Api::all(ctx.client.clone());
    let ours = everywhere
        .list(
            &ListParams::default()
                .labels("set=fsel")
                .fields(&format!("metadata.namespace={}", ctx.namespace)),
        )
        .await?;
    ensure!(
        ours.items.len() == 3,
        "metadata.namespace={} across namespaces found {:?}",
        ctx.namespace,
        names(&ours.items)
    );
    ensure!(
        ours.items
            .iter()
            .all(|c| c.namespace().as_deref() == Some(ctx.namespace.as_str())),
        "metadata.namespace selector returned objects of other namespaces"
    );
    let others = everywhere
        .list(
            &ListParams::default()
                .labels("set=fsel")
                .fields(&format!("metadata.namespace!={}", ctx.namespace)),
        )
        .await?;
    ensure!(
        others
            .items
            .iter()
            .all(|c| c.namespace().as_deref() != Some(ctx.namespace.as_str())),
        "metadata.namespace!= selector returned our objects"
    );
    Ok(())
}

/// Pods support `spec.nodeName`, `status.phase` and `spec.schedulerName` field selectors.
pub async fn pod_field_selectors_select_by_node_and_phase(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<Pod>(&ctx);
    let node = "kubeproof-fsel-node";
    api.create(&PostParams::default(), &unscheduled_pod("on-node", &[]))
        .await?;
    api.create(&PostParams::default(), &unscheduled_pod("no-node", &[]))
        .await?;
    let binding = json!({
        "apiVersion": "v1", "kind": "Binding", "metadata": {"name": "on-node"},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node},
    });
    let _: serde_json::Value = api
        .create_subresource("binding", "on-node", &PostParams::default(), &binding)
        .await?;
    let cases: [(String, &[&str]); 6] = [
        (format!("spec.nodeName={node}"), &["on-node"]),
        ("spec.nodeName=".to_string(), &["no-node"]),
        ("status.phase=Pending".to_string(), &["no-node", "on-node"]),
        ("status.phase!=Pending".to_string(), &[]),
        (
            format!("spec.schedulerName={}", crate::support::NO_SCHEDULER),
            &["no-node", "on-node"],
        ),
        (
            format!("spec.nodeName={node},status.phase=Pending"),
            &["on-node"],
        ),
    ];
    let mut failures = Vec::new();
    for (fields, want) in cases {
        let mut got = names(
            &api.list(&ListParams::default().fields(&fields))
                .await?
                .items,
        );
        got.sort();
        if got != want {
            failures.push(format!("{fields:?}: got {got:?}, want {want:?}"));
        }
    }
    ensure!(
        failures.is_empty(),
        "pod field selectors selected wrongly:\n{}",
        failures.join("\n")
    );
    for name in ["on-node", "no-node"] {
        api.delete(name, &DeleteParams::default().grace_period(0))
            .await?;
    }
    Ok(())
}

fn event(ctx: &TestContext, name: &str, kind: &str, object: &str, reason: &str) -> Event {
    Event {
        metadata: meta(name, &[("set", "events")]),
        involved_object: ObjectReference {
            api_version: Some("v1".to_string()),
            kind: Some(kind.to_string()),
            name: Some(object.to_string()),
            namespace: Some(ctx.namespace.clone()),
            ..ObjectReference::default()
        },
        reason: Some(reason.to_string()),
        message: Some(format!("{reason} happened to {kind} {object}")),
        type_: Some("Normal".to_string()),
        count: Some(1),
        first_timestamp: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            jiff_now(),
        )),
        last_timestamp: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            jiff_now(),
        )),
        source: Some(k8s_openapi::api::core::v1::EventSource {
            component: Some("kubeproof".into()),
            host: None,
        }),
        ..Event::default()
    }
}

fn jiff_now() -> k8s_openapi::jiff::Timestamp {
    k8s_openapi::jiff::Timestamp::now()
}

/// Core events support `involvedObject.*`, `reason` and `type` field selectors.
pub async fn event_field_selectors_select_by_involved_object(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<Event>(&ctx);
    for (name, kind, object, reason) in [
        ("ev-1", "Pod", "pod-a", "Started"),
        ("ev-2", "Pod", "pod-b", "Started"),
        ("ev-3", "ConfigMap", "pod-a", "Synced"),
    ] {
        api.create(
            &PostParams::default(),
            &event(&ctx, name, kind, object, reason),
        )
        .await?;
    }
    let cases: [(&str, &[&str]); 6] = [
        ("involvedObject.name=pod-a", &["ev-1", "ev-3"]),
        ("involvedObject.kind=Pod", &["ev-1", "ev-2"]),
        (
            "involvedObject.kind=Pod,involvedObject.name=pod-b",
            &["ev-2"],
        ),
        ("involvedObject.kind!=Pod", &["ev-3"]),
        ("reason=Synced", &["ev-3"]),
        (
            "involvedObject.apiVersion=v1,type=Normal",
            &["ev-1", "ev-2", "ev-3"],
        ),
    ];
    let mut failures = Vec::new();
    for (fields, want) in cases {
        let mut got = names(
            &api.list(&ListParams::default().labels("set=events").fields(fields))
                .await?
                .items,
        );
        got.sort();
        if got != want {
            failures.push(format!("{fields:?}: got {got:?}, want {want:?}"));
        }
    }
    ensure!(
        failures.is_empty(),
        "event field selectors selected wrongly:\n{}",
        failures.join("\n")
    );
    Ok(())
}

/// A field selector on a field the resource does not index is 400 BadRequest, with upstream's
/// wording for generic resources and for pods.
pub async fn unsupported_field_selector_is_a_bad_request(ctx: TestContext) -> anyhow::Result<()> {
    let configmaps = ns_api::<ConfigMap>(&ctx);
    let status = expect_status(
        configmaps
            .list(&ListParams::default().fields("spec.foo=bar"))
            .await,
        400,
        "BadRequest",
        "configmaps with fieldSelector spec.foo",
    )?;
    expect_message(
        &status,
        "\"spec.foo\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
    )?;
    let pods = ns_api::<Pod>(&ctx);
    let status = expect_status(
        pods.list(&ListParams::default().fields("spec.foo=bar"))
            .await,
        400,
        "BadRequest",
        "pods with fieldSelector spec.foo",
    )?;
    expect_message(&status, "field label not supported: spec.foo")?;
    Ok(())
}
