//! The harness against a real embedded control plane: namespaces are created, labelled, handed
//! to the test and deleted; outcomes come back through `execute`.

use std::time::Duration;

use harness::namespace::{MANAGED_BY, RUN_LABEL};
use harness::{ExecSettings, Outcome, Target, TargetOptions, execute};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::Api;
use kube::api::PostParams;
use suites::{TestContext, TestDef, TestFuture};

fn writes_a_config_map(ctx: TestContext) -> TestFuture {
    Box::pin(async move {
        let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
        let cm = ConfigMap {
            metadata: kube::core::ObjectMeta {
                name: Some("probe".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        api.create(&PostParams::default(), &cm).await?;
        // The namespace must carry the run's labels while the test runs.
        let ns = Api::<Namespace>::all(ctx.client.clone())
            .get(&ctx.namespace)
            .await?;
        let labels = ns.metadata.labels.unwrap_or_default();
        anyhow::ensure!(
            labels.get(MANAGED_BY.0).map(String::as_str) == Some(MANAGED_BY.1),
            "labels: {labels:?}"
        );
        anyhow::ensure!(
            labels.get(RUN_LABEL) == Some(&"77".to_owned()),
            "labels: {labels:?}"
        );
        Ok(())
    })
}

fn fails(_: TestContext) -> TestFuture {
    Box::pin(async { anyhow::bail!("expected 3 replicas, saw 2") })
}

fn def(name: &'static str, run: fn(TestContext) -> TestFuture) -> TestDef {
    TestDef {
        area: "harness",
        name,
        tags: &[],
        upstream: &[],
        needs: &[],
        run,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tests_get_a_labelled_namespace_that_is_deleted_afterwards() {
    let target = Target::start(&TargetOptions::default()).await.unwrap();
    let env = target.env().clone();
    assert!(env.kubeconfig.is_file(), "{env:?}");
    assert!(env.server.starts_with("https://127.0.0.1:"), "{env:?}");
    let settings = ExecSettings {
        seed: 77,
        timeout: Duration::from_secs(30),
    };

    let result = execute(
        &def("writes_a_config_map", writes_a_config_map),
        &env,
        settings,
    )
    .await;
    assert_eq!(result.outcome, Outcome::Passed, "{result:?}");
    let ns = result.namespace.clone().unwrap();
    assert!(ns.starts_with("kp-writes-a-config-map-"), "{ns}");
    // Deletion was asked for: the namespace is gone or terminating.
    let api: Api<Namespace> = Api::all(env.client.clone());
    if let Some(left) = api.get_opt(&ns).await.unwrap() {
        assert!(left.metadata.deletion_timestamp.is_some(), "{left:?}");
    }

    let result = execute(&def("fails", fails), &env, settings).await;
    assert_eq!(
        result.outcome,
        Outcome::Failed {
            message: "expected 3 replicas, saw 2".into()
        }
    );
    target.shutdown().await;
}
