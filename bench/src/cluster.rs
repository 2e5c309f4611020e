//! Talking to an embedded control plane from a benchmark: kube-rs clients built from its
//! kubeconfig, namespaces to work in, and what the process costs (RSS, open connections).

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use orchestrator::ControlPlane;

/// A kube-rs client for `cp`, trusting its CA and authenticating with its admin token — the way
/// any external client (kubectl, an operator) would reach it.
pub async fn client_for(cp: &ControlPlane) -> kube::Client {
    // kube-rs needs a process-wide rustls provider; installing it twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kubeconfig =
        Kubeconfig::from_yaml(&cp.kubeconfig()).expect("the control plane's kubeconfig parses");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("the control plane's kubeconfig is usable");
    kube::Client::try_from(config).expect("a kube client builds from the kubeconfig")
}

/// Create namespace `name` and its `default` ServiceAccount through the API, tolerating either
/// existing already (the ServiceAccount controller may have been first).
pub async fn ensure_namespace(client: &kube::Client, name: &str) -> Result<(), kube::Error> {
    let ns: Namespace = serde_json::from_value(serde_json::json!({ "metadata": { "name": name } }))
        .expect("a namespace with a name is valid");
    ignore_conflict(
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await,
    )?;
    let sa: ServiceAccount =
        serde_json::from_value(serde_json::json!({ "metadata": { "name": "default" } }))
            .expect("a service account with a name is valid");
    ignore_conflict(
        Api::<ServiceAccount>::namespaced(client.clone(), name)
            .create(&PostParams::default(), &sa)
            .await,
    )?;
    Ok(())
}

fn ignore_conflict<T>(r: Result<T, kube::Error>) -> Result<(), kube::Error> {
    match r {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(e),
    }
}

/// The HTTP version kube-rs negotiated with the server (`HTTP/1.1` or `HTTP/2.0`), from one
/// `GET /version`.
pub async fn negotiated_http_version(client: &kube::Client) -> Result<String, kube::Error> {
    let request = http::Request::get("/version")
        .body(kube::client::Body::from(Vec::new()))
        .expect("a static request builds");
    let response = client.send(request).await?;
    Ok(format!("{:?}", response.version()))
}

/// This process's resident set size and its peak (`VmRSS`, `VmHWM` of `/proc/self/status`), in
/// bytes; `None` where `/proc` is not available.
pub fn rss_bytes() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |key: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// How many TCP connections in this network namespace are established towards local port
/// `port` (the client ends of connections to the control plane), from `/proc/self/net/tcp`.
/// This is how a benchmark shows how many connections kube-rs opened.
pub fn established_connections(port: u16) -> usize {
    let want = format!(":{port:04X}");
    ["/proc/self/net/tcp", "/proc/self/net/tcp6"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|table| {
            table
                .lines()
                .skip(1)
                .filter(|line| {
                    let cols: Vec<&str> = line.split_whitespace().collect();
                    // sl local_address rem_address st …; state 01 is ESTABLISHED.
                    cols.len() > 3 && cols[2].ends_with(&want) && cols[3] == "01"
                })
                .count()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_is_read_from_proc() {
        let (rss, peak) = rss_bytes().expect("/proc/self/status is readable on Linux");
        assert!(rss > 0);
        assert!(peak >= rss);
    }

    #[test]
    fn a_loopback_connection_is_counted_once_from_the_client_end() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(established_connections(port), 0);
        let _client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let _server = listener.accept().unwrap();
        assert_eq!(established_connections(port), 1);
    }
}
