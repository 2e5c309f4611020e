//! Every error code the API answers, with upstream's reasons and wording: 400 (malformed body,
//! kind mismatch, strict field validation), 401, 404, 405, 413, 415. (403, 409, 410 and 422 are
//! shown where their causes live: quota and namespaces, crud, watch, validation.)

use anyhow::ensure;
use http::Method;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ListParams, PostParams};

use crate::TestContext;
use crate::support::errors::expect_message;
use crate::support::{configmap, expect_status, ns_api, raw_request, unauthenticated_client};

fn collection(ctx: &TestContext) -> String {
    format!("/api/v1/namespaces/{}/configmaps", ctx.namespace)
}

/// A body that is not valid JSON is 400 BadRequest: "the object provided is unrecognized".
pub async fn malformed_json_body_is_a_bad_request(ctx: TestContext) -> anyhow::Result<()> {
    let body = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"broken""#.to_vec();
    let response = raw_request(
        &ctx.client,
        Method::POST,
        &collection(&ctx),
        Some("application/json"),
        body,
    )
    .await?;
    let status = response.expect(400, "BadRequest")?;
    let message = status["message"].as_str().unwrap_or_default();
    ensure!(
        message.contains("the object provided is unrecognized (must be of type ConfigMap)"),
        "message {message:?} lacks upstream's wording"
    );
    Ok(())
}

/// Writing to a resource the server does not serve is 404 NotFound, "the server could not find
/// the requested resource" (not 405: the method is fine, the resource is not there).
pub async fn writing_an_unserved_resource_is_not_found(ctx: TestContext) -> anyhow::Result<()> {
    let path = format!("/apis/example.com/v1/namespaces/{}/widgets", ctx.namespace);
    let body =
        br#"{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"}}"#.to_vec();
    let response = raw_request(
        &ctx.client,
        Method::POST,
        &path,
        Some("application/json"),
        body,
    )
    .await?;
    let status = response.expect(404, "NotFound")?;
    let message = status["message"].as_str().unwrap_or_default();
    ensure!(
        message == "the server could not find the requested resource",
        "message {message:?}"
    );
    Ok(())
}

/// Posting a Secret to the configmaps collection is 400 BadRequest: the kind cannot be handled.
pub async fn body_of_another_kind_is_a_bad_request(ctx: TestContext) -> anyhow::Result<()> {
    let body = serde_json::to_vec(&serde_json::json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "wrong-kind"}, "stringData": {"k": "v"}
    }))?;
    let response = raw_request(
        &ctx.client,
        Method::POST,
        &collection(&ctx),
        Some("application/json"),
        body,
    )
    .await?;
    let status = response.expect(400, "BadRequest")?;
    let message = status["message"].as_str().unwrap_or_default();
    ensure!(
        message.contains("Secret in version \"v1\" cannot be handled as a ConfigMap"),
        "message {message:?} lacks upstream's wording"
    );
    expect_status(
        ns_api::<ConfigMap>(&ctx).get("wrong-kind").await,
        404,
        "NotFound",
        "the rejected object",
    )?;
    Ok(())
}

/// Unknown fields are dropped by default (the object is created without them) and rejected with
/// `fieldValidation=Strict` — at the top level, nested, in metadata, and duplicated fields.
pub async fn unknown_fields_are_dropped_by_default_and_rejected_when_strict(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let lenient = serde_json::to_vec(&serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "lenient"}, "data": {"k": "v"}, "foo": "bar"
    }))?;
    let response = raw_request(
        &ctx.client,
        Method::POST,
        &collection(&ctx),
        Some("application/json"),
        lenient,
    )
    .await?;
    ensure!(
        response.status.as_u16() == 201,
        "create with an unknown field answered {}: {}",
        response.status,
        response.body
    );
    let stored: serde_json::Value = ctx
        .client
        .request(http::Request::get(format!("{}/lenient", collection(&ctx))).body(Vec::new())?)
        .await?;
    ensure!(
        stored.get("foo").is_none(),
        "the unknown field was stored: {stored}"
    );

    let strict = format!("{}?fieldValidation=Strict", collection(&ctx));
    let cases: [(&str, serde_json::Value); 2] = [
        (
            "unknown field \"foo\"",
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "strict-1"}, "foo": "bar"}),
        ),
        (
            "unknown field \"metadata.foo\"",
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "strict-2", "foo": "bar"}}),
        ),
    ];
    for (needle, body) in cases {
        let response = raw_request(
            &ctx.client,
            Method::POST,
            &strict,
            Some("application/json"),
            serde_json::to_vec(&body)?,
        )
        .await?;
        let status = response.expect(400, "BadRequest")?;
        let message = status["message"].as_str().unwrap_or_default();
        ensure!(
            message.contains(&format!("strict decoding error: {needle}")),
            "strict create: message {message:?} lacks {needle:?}"
        );
    }
    let deployments = format!(
        "/apis/apps/v1/namespaces/{}/deployments?fieldValidation=Strict",
        ctx.namespace
    );
    let mut nested = serde_json::to_value(crate::support::deployment(
        "strict-3",
        0,
        &[("app", "strict")],
    ))?;
    nested["spec"]["foo"] = serde_json::json!("bar");
    let response = raw_request(
        &ctx.client,
        Method::POST,
        &deployments,
        Some("application/json"),
        serde_json::to_vec(&nested)?,
    )
    .await?;
    let status = response.expect(400, "BadRequest")?;
    let message = status["message"].as_str().unwrap_or_default();
    ensure!(
        message.contains("unknown field \"spec.foo\""),
        "nested unknown field: message {message:?}"
    );

    let duplicated = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"strict-4"},"data":{"a":"1"},"data":{"b":"2"}}"#.to_vec();
    let response = raw_request(
        &ctx.client,
        Method::POST,
        &strict,
        Some("application/json"),
        duplicated,
    )
    .await?;
    let status = response.expect(400, "BadRequest")?;
    let message = status["message"].as_str().unwrap_or_default();
    ensure!(
        message.contains("duplicate field \"data\""),
        "duplicate field: message {message:?}"
    );
    Ok(())
}

/// A request without credentials is refused: 401 Unauthorized, or — where the target lets
/// anonymous requests in, as upstream does by default — 403 Forbidden for `system:anonymous`.
pub async fn request_without_credentials_is_unauthorized(ctx: TestContext) -> anyhow::Result<()> {
    let anonymous = unauthenticated_client(&ctx, None).await?;
    let namespaces: Api<Namespace> = Api::all(anonymous);
    let status = crate::support::expect_api_error(
        namespaces.list(&ListParams::default()).await,
        "list namespaces without credentials",
    )?;
    match status.code {
        401 => {
            ensure!(
                status.reason == "Unauthorized" && status.message == "Unauthorized",
                "401 with {status:?}"
            );
        }
        403 => {
            ensure!(
                status.reason == "Forbidden"
                    && status.message.contains("User \"system:anonymous\""),
                "403 that is not about system:anonymous: {status:?}"
            );
        }
        other => anyhow::bail!("a request without credentials answered {other}: {status:?}"),
    }
    Ok(())
}

/// A request with a bearer token the server does not know is 401 Unauthorized.
pub async fn request_with_a_wrong_token_is_unauthorized(ctx: TestContext) -> anyhow::Result<()> {
    let impostor = unauthenticated_client(&ctx, Some("kubeproof-not-a-real-token")).await?;
    let configmaps: Api<ConfigMap> = Api::namespaced(impostor, &ctx.namespace);
    let status = expect_status(
        configmaps.list(&ListParams::default()).await,
        401,
        "Unauthorized",
        "list with a wrong token",
    )?;
    ensure!(
        status.message == "Unauthorized",
        "401 message is {:?}, want \"Unauthorized\"",
        status.message
    );
    Ok(())
}

/// A path naming no resource is 404. (Upstream answers such paths from its router, not with a
/// `metav1.Status`; where a target does answer a Status, it must say NotFound.)
pub async fn unknown_resource_path_is_not_found(ctx: TestContext) -> anyhow::Result<()> {
    let path = format!("/api/v1/namespaces/{}/kubeprooffrobs", ctx.namespace);
    let response = raw_request(&ctx.client, Method::GET, &path, None, Vec::new()).await?;
    ensure!(
        response.status.as_u16() == 404,
        "GET {path} answered {}, want 404: {}",
        response.status,
        response.body
    );
    if let Ok(status) = response.json()
        && status["kind"] == "Status"
    {
        ensure!(
            status["reason"] == "NotFound" && status["code"] == 404,
            "404 Status body is {status}"
        );
    }
    Ok(())
}

/// Verbs a path does not serve are 405: PUT on a collection, POST to a named object.
pub async fn unsupported_verbs_are_method_not_allowed(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    api.create(&PostParams::default(), &configmap("verbs", &[], &[]))
        .await?;
    let body = serde_json::to_vec(&configmap("verbs", &[], &[]))?;
    for (method, path) in [
        (Method::PUT, collection(&ctx)),
        (Method::POST, format!("{}/verbs", collection(&ctx))),
    ] {
        let response = raw_request(
            &ctx.client,
            method.clone(),
            &path,
            Some("application/json"),
            body.clone(),
        )
        .await?;
        ensure!(
            response.status.as_u16() == 405,
            "{method} {path} answered {}, want 405: {}",
            response.status,
            response.body
        );
        if let Ok(status) = response.json()
            && status["kind"] == "Status"
        {
            ensure!(
                status["reason"] == "MethodNotAllowed",
                "{method} {path}: Status reason {}",
                status["reason"]
            );
        }
    }
    Ok(())
}

/// A body over the 3 MiB request limit is 413 RequestEntityTooLarge.
pub async fn oversized_body_is_request_entity_too_large(ctx: TestContext) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    let big = "x".repeat(3 * 1024 * 1024 + 512 * 1024);
    let status = expect_status(
        api.create(
            &PostParams::default(),
            &configmap("huge", &[], &[("blob", &big)]),
        )
        .await,
        413,
        "RequestEntityTooLarge",
        "a 3.5 MiB configmap",
    )?;
    expect_message(&status, "Request entity too large: limit is 3145728")?;
    Ok(())
}

/// A PATCH whose content type is no patch type is 415 UnsupportedMediaType, listing the
/// accepted patch types.
pub async fn patch_with_an_unknown_content_type_is_unsupported_media_type(
    ctx: TestContext,
) -> anyhow::Result<()> {
    let api = ns_api::<ConfigMap>(&ctx);
    api.create(&PostParams::default(), &configmap("media", &[], &[]))
        .await?;
    let response = raw_request(
        &ctx.client,
        Method::PATCH,
        &format!("{}/media", collection(&ctx)),
        Some("application/xml"),
        b"<data/>".to_vec(),
    )
    .await?;
    let status = response.expect(415, "UnsupportedMediaType")?;
    let message = status["message"].as_str().unwrap_or_default();
    ensure!(
        message.starts_with(
            "the body of the request was in an unknown format - accepted media types include: "
        ) && [
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/strategic-merge-patch+json"
        ]
        .iter()
        .all(|t| message.contains(t)),
        "415 message {message:?} lacks upstream's wording"
    );
    Ok(())
}
