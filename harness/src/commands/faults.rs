//! The CLI's fault control: `kubeproof cluster up` and `kubeproof nodes` read one command per
//! line on standard input and apply it to their hollow nodes through [`NodeControl`], the same
//! trait the suites use. `help` lists the commands.

use simulator::NodeControl;
use simulator::pod::ProbeKind;
use tokio::io::{AsyncBufReadExt, BufReader};

/// One command typed on standard input.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultCommand {
    /// `add PREFIX COUNT`
    Add(String, usize),
    /// `stop NODE`: stop heartbeats.
    Stop(String),
    /// `resume NODE`: resume heartbeats.
    Resume(String),
    /// `condition NODE TYPE true|false`
    Condition(String, String, bool),
    /// `delete NODE`
    Delete(String),
    /// `kill NAMESPACE/POD CONTAINER`
    Kill(String, String, String),
    /// `probe NAMESPACE/POD CONTAINER startup|readiness|liveness fail|pass`
    Probe(String, String, String, ProbeKind, bool),
    /// `partition NODE on|off`
    Partition(String, bool),
    /// `slow NODE FACTOR`
    Slow(String, f64),
    /// `nodes`: list them.
    Nodes,
    /// `help`
    Help,
}

/// What `help` prints.
pub const HELP: &str = "commands: add PREFIX COUNT | stop NODE | resume NODE | \
condition NODE TYPE true|false | delete NODE | kill NS/POD CONTAINER | \
probe NS/POD CONTAINER startup|readiness|liveness fail|pass | partition NODE on|off | \
slow NODE FACTOR | nodes | help";

/// Parse one line; the error says what was expected.
pub fn parse(line: &str) -> Result<FaultCommand, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let usage = |form: &str| format!("usage: {form}");
    let pod = |s: &str| -> Result<(String, String), String> {
        s.split_once('/')
            .map(|(ns, p)| (ns.to_owned(), p.to_owned()))
            .ok_or_else(|| format!("{s:?} is not NAMESPACE/POD"))
    };
    let on_off = |s: &str, yes: &str, no: &str| -> Result<bool, String> {
        match s {
            x if x == yes => Ok(true),
            x if x == no => Ok(false),
            _ => Err(format!("{s:?}: expected {yes} or {no}")),
        }
    };
    match words.as_slice() {
        ["add", prefix, count] => count
            .parse()
            .map(|n| FaultCommand::Add((*prefix).to_owned(), n))
            .map_err(|_| format!("{count:?} is not a number of nodes")),
        ["stop", node] => Ok(FaultCommand::Stop((*node).to_owned())),
        ["resume", node] => Ok(FaultCommand::Resume((*node).to_owned())),
        ["condition", node, kind, status] => Ok(FaultCommand::Condition(
            (*node).to_owned(),
            (*kind).to_owned(),
            on_off(status, "true", "false")?,
        )),
        ["delete", node] => Ok(FaultCommand::Delete((*node).to_owned())),
        ["kill", p, container] => {
            let (ns, name) = pod(p)?;
            Ok(FaultCommand::Kill(ns, name, (*container).to_owned()))
        }
        ["probe", p, container, kind, outcome] => {
            let (ns, name) = pod(p)?;
            let kind = match *kind {
                "startup" => ProbeKind::Startup,
                "readiness" => ProbeKind::Readiness,
                "liveness" => ProbeKind::Liveness,
                other => {
                    return Err(format!(
                        "{other:?}: expected startup, readiness or liveness"
                    ));
                }
            };
            Ok(FaultCommand::Probe(
                ns,
                name,
                (*container).to_owned(),
                kind,
                on_off(outcome, "fail", "pass")?,
            ))
        }
        ["partition", node, state] => Ok(FaultCommand::Partition(
            (*node).to_owned(),
            on_off(state, "on", "off")?,
        )),
        ["slow", node, factor] => factor
            .parse()
            .map(|f| FaultCommand::Slow((*node).to_owned(), f))
            .map_err(|_| format!("{factor:?} is not a number")),
        ["nodes"] => Ok(FaultCommand::Nodes),
        ["help"] => Ok(FaultCommand::Help),
        [] => Err(usage("a command; try help")),
        [other, ..] => Err(format!("unknown command {other:?}; {HELP}")),
    }
}

/// Apply `command`; the text to print.
pub async fn apply(control: &dyn NodeControl, command: FaultCommand) -> Result<String, String> {
    let done = |r: Result<(), simulator::FaultError>| r.map(|()| "ok".to_owned());
    let result = match command {
        FaultCommand::Add(prefix, n) => control
            .add_nodes(&prefix, n, None)
            .await
            .map(|names| format!("added {}", names.join(" "))),
        FaultCommand::Stop(node) => done(control.stop_heartbeats(&node)),
        FaultCommand::Resume(node) => done(control.resume_heartbeats(&node)),
        FaultCommand::Condition(node, kind, status) => {
            done(control.set_condition(&node, &kind, status))
        }
        FaultCommand::Delete(node) => done(control.delete_node(&node).await),
        FaultCommand::Kill(ns, pod, c) => done(control.kill_container(&ns, &pod, &c).await),
        FaultCommand::Probe(ns, pod, c, kind, fail) => {
            done(control.fail_probes(&ns, &pod, &c, kind, fail).await)
        }
        FaultCommand::Partition(node, on) => done(control.partition(&node, on)),
        FaultCommand::Slow(node, factor) => done(control.slow_down(&node, factor)),
        FaultCommand::Nodes => Ok(control.node_names().join(" ")),
        FaultCommand::Help => Ok(HELP.to_owned()),
    };
    result.map_err(|e| e.to_string())
}

/// Read commands from standard input until it closes, applying each to `control`.
pub async fn serve_stdin(control: &dyn NodeControl) {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim().is_empty() {
            continue;
        }
        match parse(&line) {
            Ok(command) => match apply(control, command).await {
                Ok(text) => println!("kubeproof: {text}"),
                Err(e) => eprintln!("kubeproof: error: {e}"),
            },
            Err(e) => eprintln!("kubeproof: error: {e}"),
        }
    }
    // Standard input closed (or is not a terminal): keep running without commands.
    std::future::pending::<()>().await
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case("stop hollow-node-1", FaultCommand::Stop("hollow-node-1".into()))]
    #[case("add extra 3", FaultCommand::Add("extra".into(), 3))]
    #[case("condition n1 MemoryPressure true", FaultCommand::Condition("n1".into(), "MemoryPressure".into(), true))]
    #[case("kill default/web web", FaultCommand::Kill("default".into(), "web".into(), "web".into()))]
    #[case("probe ns/p c liveness fail", FaultCommand::Probe("ns".into(), "p".into(), "c".into(), ProbeKind::Liveness, true))]
    #[case("partition n1 off", FaultCommand::Partition("n1".into(), false))]
    #[case("  slow n1 2.5 ", FaultCommand::Slow("n1".into(), 2.5))]
    fn commands_parse(#[case] line: &str, #[case] want: FaultCommand) {
        assert_eq!(parse(line), Ok(want));
    }

    #[rstest]
    #[case("fly n1", "unknown command \"fly\"")]
    #[case("kill web c", "is not NAMESPACE/POD")]
    #[case("add x many", "is not a number of nodes")]
    #[case("partition n1 maybe", "expected on or off")]
    #[case(
        "probe ns/p c sideways fail",
        "expected startup, readiness or liveness"
    )]
    fn bad_commands_say_what_was_expected(#[case] line: &str, #[case] want: &str) {
        let err = parse(line).unwrap_err();
        assert!(err.contains(want), "{err}");
    }
}
