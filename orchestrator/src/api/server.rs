//! The HTTP side: routing of non-resource paths (discovery, OpenAPI, health, metrics), bearer-token
//! authentication, the request body limit, per-request metrics, and the TLS accept loop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use http::{HeaderMap, HeaderValue, Method, header};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::metrics::{Metrics, RequestLabels};
use super::request::{self, Query};
use super::{Objects, discovery, handlers, openapi, response};
use crate::error::ApiError;

/// Upstream's limit on a request body (3 MiB).
pub(crate) const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// What every request handler shares.
pub(crate) struct AppState {
    pub objects: Arc<Objects>,
    pub token: String,
    pub metrics: Arc<Metrics>,
    pub bookmark_interval: Duration,
    pub shutdown: CancellationToken,
    /// `host:port` as advertised in `/api`'s `serverAddressByClientCIDRs`.
    pub server_addr: String,
}

/// The router: everything goes through [`dispatch`].
pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new().fallback(dispatch).with_state(state)
}

/// Paths anyone may read without a token (upstream's `system:public-info-viewer`).
fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/healthz" | "/livez" | "/readyz" | "/version" | "/version/"
    )
}

fn authorized(state: &AppState, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .is_some_and(|t| constant_time_eq(t.trim().as_bytes(), state.token.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn dispatch(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    if !is_public(&path) && !authorized(&state, &parts.headers) {
        return response::error(&ApiError::unauthorized());
    }
    let query = Query::parse(parts.uri.query());
    let path_parts = request::parse_path(&path);
    let Some(path_parts) = path_parts else {
        return non_resource(&state, &parts.method, &path, &parts.headers);
    };
    let resolved = match request::resolve(&parts.method, &path_parts, query.watch) {
        Ok(r) => r,
        Err(e) => {
            // A group/version path with nothing after it is discovery, not a resource; any other
            // verb on a resource we do not serve is upstream's 404, not a 405.
            let read = parts.method == Method::GET || parts.method == Method::HEAD;
            return if e.code == 404 && read {
                non_resource(&state, &parts.method, &path, &parts.headers)
            } else {
                response::error(&e)
            };
        }
    };
    let labels = RequestLabels {
        verb: resolved.verb.metric_name(),
        group: resolved.info.group,
        version: resolved.info.version,
        resource: resolved.info.plural,
        subresource: resolved.subresource.map(|s| s.as_str()).unwrap_or(""),
        scope: if resolved.name.is_some() {
            "resource"
        } else if resolved.namespace.is_empty() {
            "cluster"
        } else {
            "namespace"
        },
    };
    let body = match read_body(body).await {
        Ok(b) => b,
        Err(_) => {
            let resp = response::error(&ApiError::too_large(MAX_BODY_BYTES));
            state.metrics.observe(labels, 413, started.elapsed());
            return resp;
        }
    };
    let is_watch = resolved.verb == request::Verb::Watch;
    // A bug in a handler must never take the server down: a panic becomes a 500 for this request.
    let handled = std::panic::AssertUnwindSafe(handlers::handle(
        &state,
        resolved,
        query,
        &parts.headers,
        body,
    ));
    let resp = match futures::FutureExt::catch_unwind(handled).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => response::error(&e),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "handler panicked".into());
            tracing::error!("request {} {path} panicked: {msg}", parts.method);
            response::error(&ApiError::internal(msg))
        }
    };
    if !is_watch {
        state
            .metrics
            .observe(labels, resp.status().as_u16(), started.elapsed());
    }
    resp
}

/// How much of an oversized body is read (and dropped) before answering 413, so the client,
/// still sending, gets to read the answer instead of a reset connection.
const MAX_DRAINED_BYTES: usize = 64 * 1024 * 1024;

/// Read a request body of at most [`MAX_BODY_BYTES`]; a larger one is drained and refused.
async fn read_body(body: Body) -> Result<bytes::Bytes, ApiError> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut buf = bytes::BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| ApiError::bad_request(format!("reading the request body: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len();
        if seen <= MAX_BODY_BYTES {
            buf.extend_from_slice(&data);
        } else if seen > MAX_DRAINED_BYTES {
            break;
        }
    }
    if seen > MAX_BODY_BYTES {
        return Err(ApiError::too_large(MAX_BODY_BYTES));
    }
    Ok(buf.freeze())
}

/// Discovery, OpenAPI, health and metrics.
fn non_resource(state: &AppState, method: &Method, path: &str, headers: &HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return response::error(&ApiError::method_not_allowed(method.as_str(), path));
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let trimmed = path.trim_end_matches('/');
    match trimmed {
        "/healthz" | "/livez" | "/readyz" => text(200, "ok"),
        "/version" => response::value(200, &discovery::version()),
        "/metrics" => text(200, &state.metrics.render(state.objects.store().as_ref())),
        "/api" if discovery::wants_aggregated(accept) => aggregated(discovery::aggregated(true)),
        "/api" => vary(response::value(
            200,
            &discovery::api_versions(&state.server_addr),
        )),
        "/apis" if discovery::wants_aggregated(accept) => aggregated(discovery::aggregated(false)),
        "/apis" => vary(response::value(200, &discovery::api_groups())),
        "/api/v1" => response::value(200, &discovery::core_resources()),
        "/openapi/v2" => match openapi::negotiate_v2(accept) {
            Some((content_type, doc)) => {
                let mut resp = response::json(200, doc);
                if let Ok(ct) = HeaderValue::from_str(content_type) {
                    resp.headers_mut().insert(header::CONTENT_TYPE, ct);
                }
                resp.headers_mut()
                    .insert(header::VARY, HeaderValue::from_static("Accept"));
                resp
            }
            None => response::error(&ApiError::new(
                406,
                crate::error::Reason::NotAcceptable,
                "only the following media types are accepted: application/json, application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
            )),
        },
        "/openapi/v3" => response::value(200, &openapi::v3_index()),
        _ => {
            if let Some(rest) = trimmed.strip_prefix("/openapi/v3/")
                && let Some(doc) = openapi::v3_document(rest)
            {
                return response::json(200, doc);
            }
            if let Some(rest) = trimmed.strip_prefix("/apis/") {
                let mut it = rest.splitn(2, '/');
                if let (Some(group), Some(version)) = (it.next(), it.next())
                    && let Some(doc) = discovery::group_resources(group, version)
                {
                    return response::value(200, &doc);
                }
                if !rest.contains('/')
                    && let Some(doc) = discovery::api_group(rest)
                {
                    return response::value(200, &doc);
                }
            }
            response::error(&ApiError::new(
                404,
                crate::error::Reason::NotFound,
                "the server could not find the requested resource",
            ))
        }
    }
}

fn aggregated(doc: serde_json::Value) -> Response {
    let mut resp = response::value(200, &doc);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(discovery::AGGREGATED_CONTENT_TYPE),
    );
    resp.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    resp
}

fn vary(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    resp
}

fn text(code: u16, body: &str) -> Response {
    let mut resp = response::json(code, body.to_string());
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// Accept TLS connections on `listener` and serve `router` on each (HTTP/1.1 and HTTP/2) until
/// `shutdown` is cancelled; then stop accepting and let open connections finish gracefully.
pub(crate) async fn serve_tls(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    router: Router,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let (tcp, _peer): (tokio::net::TcpStream, SocketAddr) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let router = router.clone();
        let shutdown = shutdown.clone();
        tracker.spawn(async move {
            let Ok(stream) = acceptor.accept(tcp).await else {
                return;
            };
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let router = router.clone();
                    async move {
                        let req = req.map(Body::new);
                        tower::ServiceExt::oneshot(router, req).await
                    }
                });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = shutdown.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
                }
            }
        });
    }
}
