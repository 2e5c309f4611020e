//! Boot: from the `ControlPlane::start` call to the first successful authenticated request
//! (`GET /api/v1/namespaces` through kube-rs). Goal ≤ 50 ms.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};
use orchestrator::{ControlPlane, ControlPlaneConfig};

use super::CAP;
use crate::cluster::client_for;
use crate::figures::{Figures, Summary};

/// How many boots are measured.
pub const BOOTS: usize = 20;

/// Boot [`BOOTS`] control planes one after another and time each to its first answered request,
/// split into `start` (listener, certificates, store, namespaces), client construction
/// (kubeconfig parsing, rustls config) and the first request (TCP + TLS handshake + handler).
pub async fn run() -> Figures {
    let mut f = Figures::new("boot");
    let began = Instant::now();
    let (mut total, mut start, mut client_build, mut first_request) =
        (vec![], vec![], vec![], vec![]);
    for _ in 0..BOOTS {
        if began.elapsed() > CAP {
            f.note(format!(
                "stopped after {} boots: {CAP:?} cap reached",
                total.len()
            ));
            break;
        }
        let t0 = Instant::now();
        let cp = match ControlPlane::start(ControlPlaneConfig::default()).await {
            Ok(cp) => cp,
            Err(e) => return super::failed("boot", e),
        };
        let t1 = Instant::now();
        let client = client_for(&cp).await;
        let t2 = Instant::now();
        if let Err(e) = Api::<Namespace>::all(client.clone())
            .list(&ListParams::default())
            .await
        {
            return super::failed("boot", format!("first request failed: {e}"));
        }
        let t3 = Instant::now();
        total.push(t3 - t0);
        start.push(t1 - t0);
        client_build.push(t2 - t1);
        first_request.push(t3 - t2);
        drop(client);
        cp.shutdown().await;
    }
    if total.is_empty() {
        return f;
    }
    let all = Summary::of_durations(&total);
    f.latency("boot_to_first_request", &all)
        .latency("start", &Summary::of_durations(&start))
        .latency("client_build", &Summary::of_durations(&client_build))
        .latency("first_request", &Summary::of_durations(&first_request))
        .value("first_boot_ms", ms(total[0]));
    f.goal("boot_p50_ms", all.p50_ms, 50.0, true)
        .goal("boot_p99_ms", all.p99_ms, 50.0, true);
    f.note("each boot generates a fresh CA and serving certificate; the first boot also pays one-time process costs");
    f
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
