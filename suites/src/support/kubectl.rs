//! Running the real `kubectl` against the target: always with the target's kubeconfig and a
//! discovery cache of its own, so no test sees another target's (or another test's) stale cache.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::AsyncWriteExt;

use crate::TestContext;

/// What one `kubectl` invocation did.
#[derive(Debug, Clone)]
pub struct KubectlOutput {
    /// The arguments it ran with (after the kubeconfig and cache flags).
    pub args: Vec<String>,
    /// Whether it exited with status 0.
    pub success: bool,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
}

impl KubectlOutput {
    /// Its standard output, or an error with everything it printed if it failed.
    pub fn ok(self) -> anyhow::Result<String> {
        if !self.success {
            bail!(
                "kubectl {} failed:\nstdout: {}\nstderr: {}",
                self.args.join(" "),
                self.stdout,
                self.stderr
            );
        }
        Ok(self.stdout)
    }

    /// Its standard error, or an error if it unexpectedly succeeded.
    pub fn failed(self) -> anyhow::Result<String> {
        if self.success {
            bail!(
                "kubectl {} succeeded but was expected to fail; stdout: {}",
                self.args.join(" "),
                self.stdout
            );
        }
        Ok(self.stderr)
    }

    /// Its standard output parsed as JSON (for `-o json`), or an error if it failed.
    pub fn json(self) -> anyhow::Result<serde_json::Value> {
        let args = self.args.join(" ");
        let out = self.ok()?;
        serde_json::from_str(&out)
            .with_context(|| format!("kubectl {args} did not print JSON: {out}"))
    }
}

/// Runs `kubectl ARGS` against the target, waiting at most a minute.
pub async fn kubectl(ctx: &TestContext, args: &[&str]) -> anyhow::Result<KubectlOutput> {
    run(ctx, args, None).await
}

/// Runs `kubectl -n <the test's namespace> ARGS`; its standard output, or an error with
/// everything it printed if it failed.
pub async fn kubectl_ns(ctx: &TestContext, args: &[&str]) -> anyhow::Result<String> {
    let mut all = vec!["-n", ctx.namespace.as_str()];
    all.extend_from_slice(args);
    kubectl(ctx, &all).await?.ok()
}

/// Runs `kubectl ARGS` with `stdin` fed to it (for `apply -f -`).
pub async fn kubectl_with_stdin(
    ctx: &TestContext,
    args: &[&str],
    stdin: &str,
) -> anyhow::Result<KubectlOutput> {
    run(ctx, args, Some(stdin)).await
}

async fn run(
    ctx: &TestContext,
    args: &[&str],
    stdin: Option<&str>,
) -> anyhow::Result<KubectlOutput> {
    let cache = tempfile::tempdir().context("creating kubectl's cache directory")?;
    let mut command = tokio::process::Command::new("kubectl");
    command
        .arg("--kubeconfig")
        .arg(&ctx.kubeconfig)
        .arg("--cache-dir")
        .arg(cache.path())
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command
        .spawn()
        .context("starting kubectl (is it on the PATH?)")?;
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().context("kubectl's stdin")?;
        pipe.write_all(input.as_bytes())
            .await
            .context("writing kubectl's stdin")?;
        drop(pipe);
    }
    let limit = Duration::from_secs(60);
    let output = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .with_context(|| format!("kubectl {} did not finish within {limit:?}", args.join(" ")))??;
    Ok(KubectlOutput {
        args: args.iter().map(|a| a.to_string()).collect(),
        success: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}
