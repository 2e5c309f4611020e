//! Many machines of mixed behaviour, driven at irregular times: every one settles, wakes only
//! in the future, and confirms its deletion within the grace period.

use super::probes::{http_probe, probed};
use super::stopping::delete;
use super::*;
use crate::seed;

fn pick<'a>(s: u64, key: &str, options: &[&'a str]) -> &'a str {
    options[(seed::draw(s, key, 0) % options.len() as u64) as usize]
}

#[test]
fn mixed_pods_settle_wake_in_the_future_and_finish_deleting() {
    for s in 0..150u64 {
        let policy = pick(s, "policy", &["Always", "OnFailure", "Never"]);
        let mut spec = probed(
            (pick(s, "readiness", &["y", "n"]) == "y").then(|| http_probe(2, 1, 1, 2)),
            (pick(s, "liveness", &["y", "n"]) == "y").then(|| http_probe(3, 0, 1, 2)),
            (pick(s, "startup", &["y", "n"]) == "y").then(|| http_probe(1, 0, 1, 5)),
        );
        spec.restart_policy = Some(policy.into());
        spec.termination_grace_period_seconds = Some(10);
        if pick(s, "init", &["y", "n"]) == "y" {
            spec.init_containers = Some(vec![container("init", "busybox:1.36")]);
        }
        let annotations = [
            ("exit-after", pick(s, "exit", &["never", "2s", "30s"])),
            ("exit-code", pick(s, "code", &["0", "1"])),
            (
                "liveness-fail-after",
                pick(s, "lfa", &["never", "5s", "40s"]),
            ),
            ("ready-after", pick(s, "ra", &["0s", "3s"])),
            ("startup-after", pick(s, "sa", &["0s", "4s", "1h"])),
            ("image-pull", pick(s, "pull", &["ok", "ok", "fail"])),
            ("ignore-sigterm", pick(s, "sigterm", &["true", "false"])),
        ];
        let p = pod(&annotations, spec);
        let mut h = Harness::new(&p);
        let mut at = 0.0;
        let delete_at = 1.0 + (seed::draw(s, "delete", 0) % 600) as f64;
        let mut deleted = false;
        while at < 900.0 && !h.confirmed {
            let out = h.step(at);
            if let Some(n) = out.next_wake {
                assert!(n > h.now(at).at, "seed {s}: a wake-up in the past");
            }
            if !deleted && at >= delete_at {
                delete(&mut h, at, 10);
                deleted = true;
            }
            if deleted {
                assert!(
                    at - delete_at < 15.0,
                    "seed {s}: deletion not confirmed after {at}"
                );
            }
            let jitter = (seed::draw(s, "step", at as u64) % 2000) as f64 / 1000.0;
            at += 0.25 + jitter;
        }
        assert!(h.confirmed || !deleted, "seed {s}");
    }
}
