#[tokio::main]
async fn main() {
    let cp = orchestrator::ControlPlane::start(orchestrator::ControlPlaneConfig {
        port: 16443,
        ..Default::default()
    })
    .await
    .unwrap();
    cp.write_kubeconfig(std::path::Path::new("/tmp/kp.kubeconfig"))
        .unwrap();
    println!("ready {}", cp.url());
    tokio::signal::ctrl_c().await.unwrap();
    cp.shutdown().await;
}
