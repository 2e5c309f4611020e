//! Watch streaming: newline-delimited JSON events from the store's event stream, with periodic
//! BOOKMARK events when asked for, the initial-events-end bookmark of `sendInitialEvents`, and
//! `timeoutSeconds`.
//!
//! The stream is a small state machine run by one task per watch: send the backlog, then forward
//! live events, interleaving bookmarks, until the timeout, the server's shutdown, the client
//! going away, or the store dropping a watcher that fell behind (the client then re-watches).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderValue, header};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::AppState;
use super::handlers::table_of;
use super::request::{Query, ResourceRequest};
use crate::error::ApiError;
use crate::registry::ResourceInfo;
use crate::store::{Event, WatchFrom};

/// Upstream's default watch length when the client gives no `timeoutSeconds` is
/// `--min-request-timeout` (1800 s) scaled by a random factor; we use the base value.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

/// Start a watch and return the streaming response.
pub(crate) fn serve(
    state: &Arc<AppState>,
    req: &ResourceRequest,
    query: &Query,
    table: bool,
) -> Result<Response, ApiError> {
    let filter = query.filter(&req.namespace)?;
    let rv = query.revision()?;
    // Unset or "0": start with the current state as ADDED events; otherwise resume after rv.
    let from = match rv {
        None | Some(0) => WatchFrom::Now,
        Some(rv) if query.send_initial_events => {
            let _ = rv;
            WatchFrom::Now
        }
        Some(rv) => WatchFrom::After(rv),
    };
    let watch = match state
        .objects
        .store()
        .watch(req.info.store_key, filter, from)
    {
        Ok(w) => w,
        // Upstream's watch cache answers a too-old resourceVersion with 200 and one ERROR event
        // carrying the 410 Status (`newErrWatcher`), not with an HTTP error.
        Err(e) if e.code == 410 => return Ok(error_event_response(&e)),
        Err(e) => return Err(e),
    };
    let timeout = query.timeout()?.unwrap_or(DEFAULT_TIMEOUT);
    let bookmarks = query.allow_watch_bookmarks;
    let initial_events_end = query.send_initial_events && bookmarks;
    let info = req.info;
    let (tx, rx) = mpsc::channel::<Result<Bytes, Infallible>>(256);
    let state = state.clone();
    let query = query.clone();
    let guard = state.metrics.watch_opened(info.store_key);

    tokio::spawn(async move {
        let _guard = guard;
        let encode = |ev: &Event| encode_event(info, ev, table, &query);
        let mut last_sent = watch.revision;
        for ev in &watch.backlog {
            last_sent = last_sent.max(ev.revision());
            if tx.send(Ok(encode(ev))).await.is_err() {
                return;
            }
        }
        if initial_events_end {
            let b = bookmark(info, watch.revision.max(last_sent), true);
            if tx.send(Ok(b)).await.is_err() {
                return;
            }
        }
        let mut rx_events = watch.rx;
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut ticker =
            tokio::time::interval(state.bookmark_interval.max(Duration::from_millis(10)));
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = &mut deadline => break,
                _ = state.shutdown.cancelled() => break,
                _ = tx.closed() => break,
                ev = rx_events.recv() => match ev {
                    Some(ev) => {
                        last_sent = last_sent.max(ev.revision());
                        if tx.send(Ok(encode(&ev))).await.is_err() {
                            break;
                        }
                    }
                    None => break,
                },
                _ = ticker.tick(), if bookmarks => {
                    // Every event up to `now` is already queued for us (the store enqueues
                    // under its write lock), so drain before announcing `now`.
                    let now = state.objects.store().revision();
                    let (queued, dropped) = drain(&mut rx_events);
                    let mut closed = false;
                    for ev in queued {
                        last_sent = last_sent.max(ev.revision());
                        if tx.send(Ok(encode(&ev))).await.is_err() {
                            closed = true;
                            break;
                        }
                    }
                    // A watcher the store dropped as too slow missed the events after its
                    // buffer filled: announcing `now` would make the client resume past them.
                    // End the stream instead; the client resumes from the last event sent.
                    if closed || dropped {
                        break;
                    }
                    last_sent = last_sent.max(now);
                    if tx.send(Ok(bookmark(info, last_sent, false))).await.is_err() {
                        break;
                    }
                }
            }
        }
    });

    let mut resp = Response::new(Body::from_stream(ReceiverStream::new(rx)));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp.headers_mut().insert(
        header::TRANSFER_ENCODING,
        HeaderValue::from_static("chunked"),
    );
    Ok(resp)
}

/// Every event queued for a watcher now, and whether the store has dropped the watcher (its
/// channel is closed: events after these were never queued).
fn drain(rx: &mut mpsc::Receiver<Arc<Event>>) -> (Vec<Arc<Event>>, bool) {
    let mut queued = Vec::new();
    loop {
        match rx.try_recv() {
            Ok(ev) => queued.push(ev),
            Err(mpsc::error::TryRecvError::Empty) => return (queued, false),
            Err(mpsc::error::TryRecvError::Disconnected) => return (queued, true),
        }
    }
}

/// A watch response holding just one ERROR event.
fn error_event_response(e: &ApiError) -> Response {
    let ev = json!({ "type": "ERROR", "object": e.to_json() });
    let mut body = serde_json::to_vec(&ev).unwrap_or_default();
    body.push(b'\n');
    let mut resp = Response::new(Body::from(body));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// `{"type":"ADDED","object":{…}}\n`, reusing the stored bytes.
fn encode_event(info: &ResourceInfo, ev: &Event, table: bool, query: &Query) -> Bytes {
    let mut out = BytesMut::with_capacity(ev.object.bytes.len() + 32);
    out.put_slice(b"{\"type\":\"");
    out.put_slice(ev.kind.as_str().as_bytes());
    out.put_slice(b"\",\"object\":");
    if table {
        let t = table_of(
            info,
            std::slice::from_ref(&ev.object),
            query,
            ev.revision(),
            None,
        );
        out.put_slice(&serde_json::to_vec(&t).unwrap_or_default());
    } else {
        out.put_slice(&ev.object.bytes);
    }
    out.put_slice(b"}\n");
    out.freeze()
}

/// A BOOKMARK: an object of the watched kind carrying only the revision (and, at the end of the
/// initial events of `sendInitialEvents`, upstream's `k8s.io/initial-events-end` annotation).
fn bookmark(info: &ResourceInfo, revision: u64, initial_events_end: bool) -> Bytes {
    let mut metadata = json!({ "resourceVersion": revision.to_string() });
    if initial_events_end {
        metadata["annotations"] = json!({ "k8s.io/initial-events-end": "true" });
    }
    let ev = json!({
        "type": "BOOKMARK",
        "object": { "kind": info.kind, "apiVersion": info.api_version(), "metadata": metadata },
    });
    let mut v = serde_json::to_vec(&ev).unwrap_or_default();
    v.push(b'\n');
    v.into()
}

#[cfg(test)]
mod drain_tests {
    use super::*;
    use crate::store::{Filter, MemoryStore, MemoryStoreConfig, Storage};

    fn store(watch_buffer: usize) -> MemoryStore {
        MemoryStore::new(MemoryStoreConfig {
            history: 100,
            watch_buffer,
            history_max_age: None,
        })
    }

    fn create(s: &MemoryStore, name: &str) {
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "ns"}});
        s.create("configmaps", "ns", name, obj).unwrap();
    }

    #[test]
    fn a_watcher_the_store_dropped_is_told_apart_from_an_idle_one() {
        // Buffer of 2, three writes: the third overflows and the store drops the watcher.
        let s = store(2);
        let mut slow = s
            .watch("configmaps", Filter::default(), WatchFrom::Now)
            .unwrap();
        for name in ["a", "b", "c"] {
            create(&s, name);
        }
        let (queued, dropped) = drain(&mut slow.rx);
        assert_eq!(queued.len(), 2);
        assert!(
            dropped,
            "the missed third event must stop a bookmark past it"
        );

        let s = store(16);
        let mut idle = s
            .watch("configmaps", Filter::default(), WatchFrom::Now)
            .unwrap();
        create(&s, "a");
        let (queued, dropped) = drain(&mut idle.rx);
        assert_eq!((queued.len(), dropped), (1, false));
    }
}
