//! Run metadata that is not about tests: the machine, the tool, and a command that replays a run.

use reports::{Machine, Tool};

/// This tool, as results name it.
pub fn tool() -> Tool {
    Tool {
        name: "kubeproof".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    }
}

/// The machine the harness runs on.
pub fn machine() -> Machine {
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".to_owned());
    let mut os = format!("{} {}", std::env::consts::OS, std::env::consts::ARCH);
    if let Some(pretty) = os_release_name() {
        os.push_str(&format!(" ({pretty})"));
    }
    Machine {
        hostname,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        os,
    }
}

fn os_release_name() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_owned())
}

/// The command line that replays a run given as `args` (program name first) with `seed`: the same
/// flags, the seed pinned, and no `--out` (a replay should not overwrite the original's results).
pub fn replay_command(args: &[String], seed: u64) -> String {
    let mut words = vec!["kubeproof".to_owned()];
    let mut rest = args.iter().skip(1);
    while let Some(arg) = rest.next() {
        if arg == "--seed" || arg == "--out" {
            rest.next();
            continue;
        }
        if arg.starts_with("--seed=") || arg.starts_with("--out=") {
            continue;
        }
        words.push(shell_quote(arg));
    }
    words.push("--seed".to_owned());
    words.push(seed.to_string());
    words.join(" ")
}

fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@%+".contains(&b));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn replay_pins_the_seed_and_drops_the_output_folder() {
        let given = args(&[
            "/x/target/release/kubeproof",
            "run",
            "--seed",
            "1",
            "--out",
            "r",
            "--focus",
            "^ns::a b$",
            "--out=q",
            "--seed=3",
            "--suite",
            "namespaces",
        ]);
        assert_eq!(
            replay_command(&given, 42),
            "kubeproof run --focus '^ns::a b$' --suite namespaces --seed 42"
        );
    }

    #[test]
    fn machine_reports_cores_and_os() {
        let machine = machine();
        assert!(machine.cores >= 1);
        assert!(machine.os.starts_with(std::env::consts::OS));
        assert!(!machine.hostname.is_empty());
    }
}
