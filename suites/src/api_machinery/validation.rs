//! Validation: invalid objects are 422 Invalid with a `details.causes` entry naming the field,
//! and immutable fields stay immutable.

use std::net::Ipv4Addr;

use anyhow::ensure;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Service};
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

use crate::TestContext;
use crate::support::errors::{expect_cause, expect_message};
use crate::support::{configmap, deployment, expect_status, ns_api, pod, service, unscheduled_pod};

/// Names that are not DNS subdomains are rejected on `metadata.name`, with upstream's message.
pub async fn invalid_names_are_rejected_with_a_field_cause(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    let status = expect_status(
        api.create(&PostParams::default(), &configmap("Bad_Name", &[], &[]))
            .await,
        422,
        "Invalid",
        "configmap named Bad_Name",
    )?;
    expect_message(
        &status,
        "ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
    )?;
    expect_cause(&status, "metadata.name", "FieldValueInvalid")?;
    let details = status.details.as_ref();
    ensure!(
        details.is_some_and(|d| d.kind == "ConfigMap" && d.name == "Bad_Name"),
        "details should name ConfigMap Bad_Name: {details:?}"
    );

    let long = "a".repeat(254);
    let status = expect_status(
        api.create(&PostParams::default(), &configmap(&long, &[], &[]))
            .await,
        422,
        "Invalid",
        "a 254-character name",
    )?;
    let message = expect_cause(&status, "metadata.name", "FieldValueInvalid")?;
    ensure!(
        message.contains("must be no more than 253 characters"),
        "cause for a long name says {message:?}"
    );
    Ok(())
}

/// Label keys and values are validated: a bad key and an over-long value are both reported.
pub async fn invalid_labels_are_rejected_with_field_causes(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    let status = expect_status(
        api.create(
            &PostParams::default(),
            &configmap("bad-label-key", &[("bad key!", "v")], &[]),
        )
        .await,
        422,
        "Invalid",
        "label key `bad key!`",
    )?;
    let message = expect_cause(&status, "metadata.labels", "FieldValueInvalid")?;
    ensure!(
        message.contains("name part must consist of alphanumeric characters, '-', '_' or '.'"),
        "cause for a bad label key says {message:?}"
    );
    let long = "v".repeat(64);
    let status = expect_status(
        api.create(
            &PostParams::default(),
            &configmap("bad-label-value", &[("ok", &long)], &[]),
        )
        .await,
        422,
        "Invalid",
        "a 64-character label value",
    )?;
    let message = expect_cause(&status, "metadata.labels", "FieldValueInvalid")?;
    ensure!(
        message.contains("must be no more than 63 characters"),
        "cause for a long label value says {message:?}"
    );
    Ok(())
}

/// A pod needs containers: `spec.containers` Required; every problem is reported at once.
pub async fn pod_without_containers_is_rejected(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<Pod>(&ctx);
    let mut empty = pod("no-containers", &[]);
    empty
        .spec
        .as_mut()
        .expect("fixture pod has a spec")
        .containers
        .clear();
    let status = expect_status(
        api.create(&PostParams::default(), &empty).await,
        422,
        "Invalid",
        "pod with no containers",
    )?;
    expect_cause(&status, "spec.containers", "FieldValueRequired")?;
    expect_message(
        &status,
        "Pod \"no-containers\" is invalid: spec.containers: Required value",
    )?;

    let mut twice = pod("Bad_Pod", &[]);
    twice
        .spec
        .as_mut()
        .expect("fixture pod has a spec")
        .containers
        .clear();
    let status = expect_status(
        api.create(&PostParams::default(), &twice).await,
        422,
        "Invalid",
        "badly named pod with no containers",
    )?;
    expect_cause(&status, "metadata.name", "FieldValueInvalid")?;
    expect_cause(&status, "spec.containers", "FieldValueRequired")?;
    Ok(())
}

/// A Deployment whose selector does not match its template's labels is rejected.
pub async fn deployment_selector_must_match_template_labels(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<Deployment>(&ctx);
    let mut d = deployment("mismatch", 1, &[("app", "a")]);
    d.spec
        .template
        .metadata
        .as_mut()
        .expect("fixture template has metadata")
        .labels = Some(crate::support::labels(&[("app", "b")]));
    let status = expect_status(
        api.create(&PostParams::default(), &d).await,
        422,
        "Invalid",
        "deployment selector/template mismatch",
    )?;
    let message = expect_cause(
        &status,
        "spec.template.metadata.labels",
        "FieldValueInvalid",
    )?;
    ensure!(
        message.contains("`selector` does not match template `labels`"),
        "cause says {message:?}"
    );
    Ok(())
}

/// A pod's spec is immutable but for a few fields: the image may change, restartPolicy may not.
pub async fn pod_spec_is_immutable_except_images(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<Pod>(&ctx);
    api.create(&PostParams::default(), &unscheduled_pod("immutable", &[]))
        .await?;
    let image =
        json!({"spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.9"}]}});
    let patched = api
        .patch(
            "immutable",
            &PatchParams::default(),
            &Patch::Strategic(image),
        )
        .await?;
    let now = patched
        .spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone());
    ensure!(
        now.as_deref() == Some("registry.k8s.io/pause:3.9"),
        "image update not applied: {now:?}"
    );

    let policy = json!({"spec": {"restartPolicy": "Never"}});
    let status = expect_status(
        api.patch(
            "immutable",
            &PatchParams::default(),
            &Patch::Strategic(policy),
        )
        .await,
        422,
        "Invalid",
        "changing restartPolicy",
    )?;
    let message = expect_cause(&status, "spec", "FieldValueForbidden")?;
    ensure!(
        message.contains("pod updates may not change fields other than"),
        "cause says {message:?}"
    );
    Ok(())
}

/// A service's cluster IP cannot change once allocated.
pub async fn service_cluster_ip_is_immutable(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<Service>(&ctx);
    let created = api
        .create(
            &PostParams::default(),
            &service("fixed-ip", &[("app", "x")]),
        )
        .await?;
    let ip = created
        .spec
        .as_ref()
        .and_then(|s| s.cluster_ip.clone())
        .unwrap_or_default();
    let other = match ip.parse::<Ipv4Addr>() {
        Ok(v4) => {
            let [a, b, c, d] = v4.octets();
            Ipv4Addr::new(a, b, c, if d == 200 { 201 } else { 200 }).to_string()
        }
        Err(_) => "fd00::abcd".to_string(),
    };
    let change = json!({"spec": {"clusterIP": other, "clusterIPs": [other]}});
    let status = expect_status(
        api.patch("fixed-ip", &PatchParams::default(), &Patch::Merge(change))
            .await,
        422,
        "Invalid",
        "changing clusterIP",
    )?;
    let message = expect_cause(&status, "spec.clusterIPs[0]", "FieldValueInvalid")?;
    ensure!(
        message.contains("may not change once set"),
        "cause says {message:?}"
    );
    let still = api
        .get("fixed-ip")
        .await?
        .spec
        .and_then(|s| s.cluster_ip)
        .unwrap_or_default();
    ensure!(still == ip, "clusterIP changed from {ip} to {still}");
    Ok(())
}

/// An apps/v1 Deployment's selector is immutable.
pub async fn deployment_selector_is_immutable(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<Deployment>(&ctx);
    api.create(
        &PostParams::default(),
        &deployment("fixed-selector", 0, &[("app", "one")]),
    )
    .await?;
    let change = json!({"spec": {
        "selector": {"matchLabels": {"app": "two"}},
        "template": {"metadata": {"labels": {"app": "two"}}}
    }});
    let status = expect_status(
        api.patch(
            "fixed-selector",
            &PatchParams::default(),
            &Patch::Merge(change),
        )
        .await,
        422,
        "Invalid",
        "changing a deployment's selector",
    )?;
    let message = expect_cause(&status, "spec.selector", "FieldValueInvalid")?;
    ensure!(
        message.contains("field is immutable"),
        "cause says {message:?}"
    );
    Ok(())
}
