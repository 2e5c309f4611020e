//! Raw HTTP against the API server, for what typed clients cannot send: malformed bodies, odd
//! methods and content types, and requests with no (or wrong) credentials.

use anyhow::Context;
use http::{Method, Request, StatusCode, header};
use kube::client::Body;
use kube::config::{AuthInfo, KubeConfigOptions, Kubeconfig};

use crate::TestContext;

/// A raw response: the HTTP status and the body as text.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The HTTP status code.
    pub status: StatusCode,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body, lossily decoded.
    pub body: String,
}

impl RawResponse {
    /// The body parsed as JSON (a `metav1.Status` for errors).
    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        serde_json::from_str(&self.body).with_context(|| {
            format!(
                "{} response body is not JSON: {:.500}",
                self.status, self.body
            )
        })
    }

    /// Checks the status code and, for a `metav1.Status` body, its `reason`; returns the body.
    pub fn expect(&self, code: u16, reason: &str) -> anyhow::Result<serde_json::Value> {
        anyhow::ensure!(
            self.status.as_u16() == code,
            "expected HTTP {code} {reason}, got {} with body {:.800}",
            self.status,
            self.body
        );
        let body = self.json()?;
        anyhow::ensure!(
            body["kind"] == "Status" && body["reason"] == reason && body["code"] == code,
            "expected a Status with reason {reason} and code {code}, got {body}"
        );
        Ok(body)
    }
}

/// Sends `method path` with `body` (and `content_type`, when given) through `client`.
pub async fn raw_request(
    client: &kube::Client,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> anyhow::Result<RawResponse> {
    let mut request = Request::builder()
        .method(method.clone())
        .uri(path)
        .header(header::ACCEPT, "application/json");
    if let Some(ct) = content_type {
        request = request.header(header::CONTENT_TYPE, ct);
    }
    let request = request
        .body(Body::from(body))
        .context("building a raw request")?;
    let response = client
        .send(request)
        .await
        .with_context(|| format!("sending {method} {path}"))?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = response
        .into_body()
        .collect_bytes()
        .await
        .context("reading a raw response body")?;
    Ok(RawResponse {
        status,
        content_type,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// A client for the target built from its kubeconfig but with no credentials at all, or (with
/// `token`) with that bearer token and nothing else.
pub async fn unauthenticated_client(
    ctx: &TestContext,
    token: Option<&str>,
) -> anyhow::Result<kube::Client> {
    let kubeconfig = Kubeconfig::read_from(&ctx.kubeconfig)
        .with_context(|| format!("reading kubeconfig {}", ctx.kubeconfig.display()))?;
    let mut config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .context("building a client config from the kubeconfig")?;
    config.auth_info = AuthInfo::default();
    if let Some(token) = token {
        config.auth_info.token = Some(token.to_string().into());
    }
    // Retrying is for transient failures; a 401 is the answer we are after.
    config.default_retry = false;
    kube::Client::try_from(config).context("building an unauthenticated client")
}
