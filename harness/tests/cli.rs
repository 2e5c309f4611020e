//! The `kubeproof` binary as a user meets it: exit codes, the results folder, `cluster up`.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

const KUBEPROOF: &str = env!("CARGO_BIN_EXE_kubeproof");

/// Run `kubeproof` with `args`, check that it is a usage error (exit 2), and return its stderr.
fn usage_error(args: &[&std::ffi::OsStr]) -> String {
    let output = Command::new(KUBEPROOF).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    stderr
}

/// Stop a `kubeproof` child with SIGTERM and check that it exits 0. Through kill(1): the crate
/// forbids unsafe code, so no libc call here.
fn terminate(child: &mut std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn run_with_nothing_selected_writes_results_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results");
    let output = Command::new(KUBEPROOF)
        .args([
            "run",
            "--focus",
            "^no test has this name$",
            "--seed",
            "5",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("kubeproof: seed 5"), "{stdout}");
    assert!(
        stdout.trim_end().ends_with("0 passed, 0 failed, 0 skipped"),
        "{stdout}"
    );
    let json = std::fs::read_to_string(out.join("results.json")).unwrap();
    let results = reports::Results::from_json(&json).unwrap();
    assert_eq!(results.schema_version, 1);
    assert_eq!(results.run.seed, 5);
    assert_eq!(results.run.target.name, "embedded");
    assert!(out.join("junit.xml").is_file() && out.join("summary.md").is_file());
}

#[test]
fn k3s_is_a_usage_error_that_says_what_to_use() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let stderr = usage_error(&[
        "run".as_ref(),
        "--target".as_ref(),
        "k3s".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert!(
        stderr.contains("the k3s target arrives with issue 9; use embedded or kubeconfig"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("r").exists(),
        "an empty results folder was left behind"
    );
}

#[test]
fn an_unknown_suite_is_a_usage_error() {
    let stderr = usage_error(&["run".as_ref(), "--suite".as_ref(), "no-such-area".as_ref()]);
    assert!(stderr.contains("unknown suite `no-such-area`"), "{stderr}");
}

#[test]
fn cluster_up_prints_one_ready_line_writes_the_kubeconfig_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kp.kubeconfig");
    let mut child = Command::new(KUBEPROOF)
        .args(["cluster", "up", "--nodes", "4", "--kubeconfig"])
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let expected_tail = format!(
        " with 4 hollow nodes — export KUBECONFIG={}; kubectl get nodes\n",
        kubeconfig.display()
    );
    assert!(
        line.starts_with("kubeproof: cluster ready at https://127.0.0.1:"),
        "{line}"
    );
    assert!(line.ends_with(&expected_tail), "{line}");
    let yaml = std::fs::read_to_string(&kubeconfig).unwrap();
    assert!(yaml.contains("kubeproof"), "{yaml}");
    terminate(&mut child);
}

#[test]
fn cluster_up_takes_fault_commands_on_standard_input() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(KUBEPROOF)
        .args(["cluster", "up", "--nodes", "2", "--kubeconfig"])
        .arg(dir.path().join("kp.kubeconfig"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(line.contains("with 2 hollow nodes"), "{line}");
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"nodes\nstop hollow-node-0\nresume hollow-node-0\n")
        .unwrap();
    stdin.flush().unwrap();
    let mut answers = Vec::new();
    for _ in 0..3 {
        let mut l = String::new();
        out.read_line(&mut l).unwrap();
        answers.push(l.trim_end().to_owned());
    }
    assert_eq!(
        answers,
        [
            "kubeproof: hollow-node-0 hollow-node-1",
            "kubeproof: ok",
            "kubeproof: ok"
        ]
    );
    terminate(&mut child);
}

#[test]
fn a_scheduler_config_that_does_not_validate_is_a_usage_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("scheduler.yaml");
    std::fs::write(
        &config,
        "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n\
         percentageOfNodesToScore: 120\n",
    )
    .unwrap();
    let kubeconfig = dir.path().join("kp.kubeconfig");
    let stderr = usage_error(&[
        "cluster".as_ref(),
        "up".as_ref(),
        "--kubeconfig".as_ref(),
        kubeconfig.as_os_str(),
        "--scheduler-config".as_ref(),
        config.as_os_str(),
    ]);
    assert!(
        stderr.contains(&format!("the scheduler configuration {}", config.display()))
            && stderr.contains("percentageOfNodesToScore"),
        "{stderr}"
    );
    assert!(!kubeconfig.exists(), "it booted anyway");
}

/// `--scheduler-config` gives the embedded scheduler upstream's profiles: a pod naming the
/// second profile's `schedulerName` is scheduled, one naming no profile is left alone.
#[test]
fn cluster_up_schedules_with_the_profiles_of_its_scheduler_config() {
    if Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_err()
    {
        println!("skipped: kubectl is not on the PATH");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("scheduler.yaml");
    std::fs::write(
        &config,
        "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n\
         profiles:\n- schedulerName: default-scheduler\n- schedulerName: no-scoring\n  \
         plugins:\n    score:\n      disabled:\n      - name: '*'\n",
    )
    .unwrap();
    let kubeconfig = dir.path().join("kp.kubeconfig");
    let mut child = Command::new(KUBEPROOF)
        .args(["cluster", "up", "--nodes", "2", "--kubeconfig"])
        .arg(&kubeconfig)
        .arg("--scheduler-config")
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("cluster ready"), "{line}");
    let kubectl = |args: &[&str]| {
        let out = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    for (name, scheduler) in [("routed", "no-scoring"), ("orphan", "nobody")] {
        let overrides = format!(r#"{{"spec":{{"schedulerName":"{scheduler}"}}}}"#);
        let (ok, out) = kubectl(&[
            "run",
            name,
            "--image=registry.k8s.io/pause:3.10",
            &format!("--overrides={overrides}"),
        ]);
        assert!(ok, "{out}");
    }
    let (ok, out) = kubectl(&[
        "wait",
        "--for=condition=PodScheduled",
        "pod/routed",
        "--timeout=30s",
    ]);
    assert!(ok, "the no-scoring profile did not schedule its pod: {out}");
    let (ok, out) = kubectl(&[
        "get",
        "pod",
        "orphan",
        "-o",
        "jsonpath={.spec.nodeName}|{.status.conditions}",
    ]);
    assert!(ok, "{out}");
    assert_eq!(out, "|", "a pod for no profile was touched");
    terminate(&mut child);
}
