//! The real `kubectl` (the one on PATH and every `kubectl.1.*` beside it) and kube-rs against our
//! discovery and OpenAPI documents, served by a small fake server ([`fake`]), so that `version`,
//! `api-versions`, `api-resources`, `explain` (v3 and v2), `create -f`, `apply -f` (with the
//! default `--validate=strict`), `get`, `edit`, `describe`, `label`, `annotate`, `scale` and
//! `delete` are shown to work without `--validate=false`.
//!
//! Every request kubectl makes is recorded (method, URI, `Accept`, `Content-Type`) and printed,
//! so the API router's needs can be read off the test output (`cargo test -p orchestrator --test
//! kubectl_discovery -- --nocapture`). Without kubectl the kubectl tests print
//! `skipped: kubectl not found` and return.

#[path = "kubectl_discovery/fake.rs"]
mod fake;

use std::path::{Path, PathBuf};
use std::process::Command;

use fake::{Fake, PrintSeen, Seen, scale_of, serve};
use orchestrator::api::discovery;
use serde_json::{Value, json};

/// The kubectl to run: `KUBECTL` if set, else the one on PATH.
fn kubectl_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("KUBECTL") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("kubectl"))
            .find(|p| p.is_file())
    })
}

struct Kubectl {
    bin: PathBuf,
    server: String,
    dir: tempfile::TempDir,
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Kubectl {
    /// Run kubectl off the async runtime (it blocks for a while) against our server only: an
    /// empty kubeconfig and HOME, and a fresh discovery/OpenAPI cache.
    async fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[]).await
    }

    /// Run with extra environment variables.
    async fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(&self.bin);
        let kubeconfig = self.dir.path().join("kubeconfig");
        cmd.env_clear()
            .env("HOME", self.dir.path())
            .env("KUBECONFIG", &kubeconfig)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .args([
                "--server",
                &self.server,
                "--cache-dir",
                &self.dir.path().join("cache").to_string_lossy(),
                "--request-timeout",
                "20s",
            ])
            .args(args)
            .envs(env.iter().copied())
            .current_dir(self.dir.path());
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .unwrap()
            .expect("run kubectl");
        let out = Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        println!(
            "$ kubectl {}\n  exit {}\n  stdout: {}\n  stderr: {}",
            args.join(" "),
            out.code,
            out.stdout.trim_end(),
            out.stderr.trim_end()
        );
        out
    }

    /// Run and require success.
    async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert_eq!(
            out.code,
            0,
            "kubectl {} failed: {}{}",
            args.join(" "),
            out.stdout,
            out.stderr
        );
        out.stdout
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path: &Path = &self.dir.path().join(name);
        std::fs::write(path, text).unwrap();
        path.to_string_lossy().into_owned()
    }
}

/// Start our server and a kubectl pointed at it.
async fn setup(bin: PathBuf, aggregated: bool) -> (Kubectl, Fake, PrintSeen) {
    let (addr, fake) = serve(aggregated).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kubeconfig"), "").unwrap();
    let k = Kubectl {
        bin,
        server: format!("http://{addr}"),
        dir,
    };
    let guard = PrintSeen(fake.clone());
    (k, fake, guard)
}

/// Discovery and OpenAPI as kubectl's resource builder, `explain` and validated writes use them.
async fn core_scenario(k: &Kubectl, fake: &Fake) {
    let resources = k.ok(&["api-resources"]).await;
    let deploy = resources
        .lines()
        .find(|l| l.starts_with("deployments "))
        .expect("deployments listed");
    assert!(
        deploy.contains("deploy")
            && deploy.contains("apps/v1")
            && deploy.contains("true")
            && deploy.contains("Deployment"),
        "{deploy}"
    );
    assert!(
        resources
            .lines()
            .any(|l| l.starts_with("nodes ") && l.contains("false"))
    );

    let explained = k.ok(&["explain", "pods.spec.containers"]).await;
    assert!(
        explained.contains("KIND:") && explained.contains("Pod"),
        "{explained}"
    );
    assert!(
        explained.contains("containers") && explained.contains("<[]Container>"),
        "{explained}"
    );
    assert!(
        explained.contains("image") && explained.contains("<string>"),
        "{explained}"
    );

    // The OpenAPI v2 (protobuf) path: parsed by kubectl's gnostic/proto model, refs resolved.
    let v2 = k
        .ok(&[
            "explain",
            "deployments.spec.strategy",
            "--output=plaintext-openapiv2",
        ])
        .await;
    assert!(
        v2.contains("RESOURCE: strategy <Object>") || v2.contains("strategy"),
        "{v2}"
    );
    assert!(
        v2.contains("rollingUpdate") && v2.contains("<Object>"),
        "{v2}"
    );

    let cm = k.write(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: made\ndata:\n  a: \"1\"\n",
    );
    let created = k.ok(&["create", "-f", &cm]).await;
    assert_eq!(created.trim(), "configmap/made created");

    // Unknown fields are the server's to reject: kubectl must have decided server-side
    // validation is supported (fieldValidation=Strict), not validated against /openapi/v2.
    let bad = k.write(
        "bad.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\nbogus: 1\n",
    );
    k.ok(&["create", "-f", &bad]).await;
    let posts: Vec<Seen> = fake
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.method == "POST")
        .cloned()
        .collect();
    assert!(
        posts
            .iter()
            .all(|s| s.uri.contains("fieldValidation=Strict")),
        "{posts:?}"
    );

    let applied = k.write("applied.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\n  labels:\n    app: x\ndata:\n  a: \"1\"\n");
    assert_eq!(
        k.ok(&["apply", "-f", &applied]).await.trim(),
        "configmap/applied created"
    );
    k.write("applied.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\n  labels:\n    app: x\ndata:\n  a: \"2\"\n");
    assert_eq!(
        k.ok(&["apply", "-f", &applied]).await.trim(),
        "configmap/applied configured"
    );
    let patch = fake
        .seen
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|s| s.method == "PATCH")
        .cloned()
        .expect("apply patched");
    assert_eq!(patch.content_type, "application/strategic-merge-patch+json");
    assert!(
        patch.uri.contains("fieldValidation=Strict"),
        "{}",
        patch.uri
    );
    let body: Value = serde_json::from_str(&patch.body).unwrap();
    assert_eq!(body["data"], json!({"a": "2"}), "{body}");

    // apply on a Deployment: kubectl computes the strategic merge patch from our v3 schema, so
    // removing an env var must come out as a merge-key directive, not a replaced list.
    let d = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  selector:\n    matchLabels:\n      app: api\n  template:\n    metadata:\n      labels:\n        app: api\n    spec:\n      containers:\n      - name: c\n        image: nginx\n        env:\n        - name: A\n          value: a\n        - name: B\n          value: b\n";
    let file = k.write("deploy.yaml", d);
    assert_eq!(
        k.ok(&["apply", "-f", &file]).await.trim(),
        "deployment.apps/api created"
    );
    k.write(
        "deploy.yaml",
        &d.replace("        - name: B\n          value: b\n", ""),
    );
    assert_eq!(
        k.ok(&["apply", "-f", &file]).await.trim(),
        "deployment.apps/api configured"
    );
    let patch = fake
        .seen
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|s| s.method == "PATCH")
        .cloned()
        .unwrap();
    let body: Value = serde_json::from_str(&patch.body).unwrap();
    let container = &body["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        body["spec"]["template"]["spec"]["$setElementOrder/containers"],
        json!([{"name": "c"}]),
        "{body}"
    );
    assert_eq!(
        container["$setElementOrder/env"],
        json!([{"name": "A"}]),
        "{body}"
    );
    assert_eq!(
        container["env"],
        json!([{"$patch": "delete", "name": "B"}]),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_works_against_our_discovery_and_openapi() {
    let Some(bin) = kubectl_binary() else {
        println!("skipped: kubectl not found");
        return;
    };
    let (k, fake, _print) = setup(bin, true).await;

    let version = k.ok(&["version", "-o", "json"]).await;
    let version: Value = serde_json::from_str(&version).unwrap();
    assert_eq!(version["serverVersion"]["gitVersion"], "v1.37.0-kubeproof");
    assert_eq!(version["serverVersion"]["minor"], "37");

    let versions = k.ok(&["api-versions"]).await;
    for gv in [
        "v1",
        "apps/v1",
        "batch/v1",
        "coordination.k8s.io/v1",
        "discovery.k8s.io/v1",
    ] {
        assert!(
            versions.lines().any(|l| l == gv),
            "{gv} missing from api-versions:\n{versions}"
        );
    }

    core_scenario(&k, &fake).await;

    // Every served kind explains from its v3 document, with its group version.
    for r in orchestrator::registry::RESOURCES {
        let qualified = if r.group.is_empty() {
            r.plural.to_string()
        } else {
            format!("{}.{}", r.plural, r.group)
        };
        let out = k.ok(&["explain", &qualified]).await;
        assert!(
            out.contains(&format!("KIND:       {}", r.kind))
                && out.contains(&format!("VERSION:    {}", r.version)),
            "{out}"
        );
        if r.group.is_empty() {
            assert!(!out.contains("GROUP:"), "{out}");
        } else {
            assert!(out.contains(&format!("GROUP:      {}", r.group)), "{out}");
        }
    }
    let recursive = k.ok(&["explain", "deployments", "--recursive"]).await;
    assert!(
        recursive.contains("maxUnavailable") && recursive.contains("<IntOrString>"),
        "{recursive}"
    );

    let got = k.ok(&["get", "configmaps"]).await;
    assert!(got.contains("made") && got.contains("applied"), "{got}");
    let got = k
        .ok(&["get", "cm", "applied", "-o", "jsonpath={.data.a}"])
        .await;
    assert_eq!(got, "2");

    // kubectl ≤ 1.27 prints "annotate" for "annotated".
    assert_eq!(
        k.ok(&["label", "configmap", "made", "tier=web"])
            .await
            .trim(),
        "configmap/made labeled"
    );
    assert!(
        k.ok(&["annotate", "configmap", "made", "note=hi"])
            .await
            .trim()
            .starts_with("configmap/made annotate")
    );
    let made =
        fake.objects.lock().unwrap()[&("configmaps".to_string(), "made".to_string())].clone();
    assert_eq!(made["metadata"]["labels"]["tier"], "web");
    assert_eq!(made["metadata"]["annotations"]["note"], "hi");

    assert_eq!(
        k.ok(&["scale", "deployment", "web", "--replicas=3"])
            .await
            .trim(),
        "deployment.apps/web scaled"
    );
    assert_eq!(scale_of(&fake, "web").unwrap()["spec"]["replicas"], 3);

    let edited = k
        .run_env(
            &["edit", "configmap", "applied"],
            &[("KUBE_EDITOR", "sed -i 's/app: x/app: edited/'")],
        )
        .await;
    assert_eq!(edited.code, 0, "{}{}", edited.stdout, edited.stderr);
    assert_eq!(edited.stdout.trim(), "configmap/applied edited");
    let applied =
        fake.objects.lock().unwrap()[&("configmaps".to_string(), "applied".to_string())].clone();
    assert_eq!(applied["metadata"]["labels"]["app"], "edited");

    let described = k.ok(&["describe", "configmap", "applied"]).await;
    assert!(
        described.contains("Name:")
            && described.contains("applied")
            && described.contains("Namespace:"),
        "{described}"
    );

    assert_eq!(
        k.ok(&["delete", "configmap", "made"]).await.trim(),
        "configmap \"made\" deleted"
    );
    assert!(
        !fake
            .objects
            .lock()
            .unwrap()
            .contains_key(&("configmaps".to_string(), "made".to_string()))
    );
}

/// Without aggregated discovery kubectl walks `/api`, `/api/v1`, `/apis` and every
/// `/apis/<group>/<version>`; the legacy documents must be enough on their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_works_with_legacy_discovery() {
    let Some(bin) = kubectl_binary() else {
        println!("skipped: kubectl not found");
        return;
    };
    let (k, fake, _print) = setup(bin, false).await;
    core_scenario(&k, &fake).await;
    let seen = fake.seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|s| s.uri.starts_with("/apis/apps/v1?") || s.uri == "/apis/apps/v1"),
        "legacy group documents not fetched"
    );
}

/// Every versioned kubectl installed beside the one on PATH (`kubectl.1.27` …), to cover the
/// skew of clients users actually run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_and_newer_kubectls_work_too() {
    let Some(bin) = kubectl_binary() else {
        println!("skipped: kubectl not found");
        return;
    };
    let dir = std::fs::canonicalize(&bin)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf));
    let mut versioned: Vec<PathBuf> = dir
        .and_then(|d| std::fs::read_dir(d).ok())
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("kubectl.1."))
        })
        .collect();
    versioned.sort();
    if versioned.is_empty() {
        println!(
            "skipped: no versioned kubectl (kubectl.1.*) beside {}",
            bin.display()
        );
        return;
    }
    for bin in versioned {
        println!("=== {}", bin.display());
        let (k, fake, _print) = setup(bin, true).await;
        core_scenario(&k, &fake).await;
    }
}

/// kube-rs discovers the same resources through both the legacy walk and aggregated discovery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_discovers_every_resource() {
    use kube::discovery::{Discovery, Scope};
    let (addr, fake) = serve(true).await;
    let _print = PrintSeen(fake.clone());
    let client =
        kube::Client::try_from(kube::Config::new(format!("http://{addr}").parse().unwrap()))
            .unwrap();

    let info = client.apiserver_version().await.unwrap();
    assert_eq!((info.major.as_str(), info.minor.as_str()), ("1", "37"));

    let legacy = Discovery::new(client.clone()).run().await.unwrap();
    let aggregated = Discovery::new(client).run_aggregated().await.unwrap();
    for discovery in [&legacy, &aggregated] {
        for r in orchestrator::registry::RESOURCES {
            let gvk = kube::api::GroupVersionKind::gvk(r.group, r.version, r.kind);
            let (ar, caps) = discovery
                .resolve_gvk(&gvk)
                .unwrap_or_else(|| panic!("{gvk:?} not discovered"));
            assert_eq!(ar.plural, r.plural);
            assert_eq!(
                caps.scope,
                if r.namespaced {
                    Scope::Namespaced
                } else {
                    Scope::Cluster
                }
            );
            let mut subs: Vec<String> = caps
                .subresources
                .iter()
                .map(|(s, _)| s.plural.clone())
                .collect();
            subs.sort();
            let mut want: Vec<String> = r
                .subresources
                .iter()
                .map(|s| s.as_str().to_string())
                .collect();
            want.sort();
            assert_eq!(subs, want, "{}", r.plural);
        }
        let (_, deploy) = discovery
            .resolve_gvk(&kube::api::GroupVersionKind::gvk(
                "apps",
                "v1",
                "Deployment",
            ))
            .unwrap();
        assert!(deploy.supports_operation("patch") && deploy.supports_operation("watch"));
    }
    let seen = fake.seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|s| s.uri == "/apis" && discovery::wants_aggregated(&s.accept)),
        "aggregated discovery not requested"
    );
}
