//! The documentation's commands exist as written: every `./target/release/BIN ...` command in a
//! `sh` block of README.md and docs/*.md names a binary, subcommands and flags that the binary's
//! own `--help` lists. A renamed flag or subcommand fails here, not in a user's terminal.
//! (adain-train's lines are checked when the "train" feature builds it.)

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use common::*;

/// The commands of the `sh`/`bash` blocks of `text`: continuation lines joined, comments cut.
fn commands(text: &str) -> Vec<String> {
    let (mut out, mut in_block, mut pending) = (Vec::new(), false, String::new());
    for line in text.lines() {
        let t = line.trim();
        if let Some(lang) = t.strip_prefix("```") {
            in_block = !in_block && matches!(lang, "sh" | "bash");
            continue;
        }
        if !in_block {
            continue;
        }
        let code = match t.find(" #") {
            Some(i) => &t[..i],
            None if t.starts_with('#') => "",
            None => t,
        };
        match code.strip_suffix('\\') {
            Some(head) => pending.push_str(head),
            None => {
                pending.push_str(code);
                out.push(std::mem::take(&mut pending));
            }
        }
    }
    out
}

fn help(binary: &std::path::Path, words: &[&str]) -> String {
    let o = Command::new(binary)
        .args(words)
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{} {} --help failed: {}",
        binary.display(),
        words.join(" "),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The subcommand names listed under `Commands:` in a clap help text.
fn subcommands(help: &str) -> BTreeSet<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
fn every_documented_command_parses() {
    // adain-train exists only with the "train" feature.
    let train: Option<(&str, std::path::PathBuf)> = if cfg!(feature = "train") {
        option_env!("CARGO_BIN_EXE_adain-train").map(|p| ("adain-train", p.into()))
    } else {
        None
    };
    let binaries: Vec<(&str, std::path::PathBuf)> =
        [("adain-batch", bin("adain-batch")), ("adain", bin("adain"))]
            .into_iter()
            .chain(train)
            .collect();
    let mut docs = vec![root().join("README.md")];
    let mut guides: Vec<_> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    guides.sort();
    docs.extend(guides);

    let (mut checked, mut problems) = (0, Vec::new());
    for doc in &docs {
        let text = std::fs::read_to_string(doc).unwrap();
        for cmd in commands(&text) {
            let words: Vec<&str> = cmd.split_whitespace().collect();
            let Some(at) = words
                .iter()
                .position(|w| w.starts_with("./target/release/"))
            else {
                continue;
            };
            let name = &words[at]["./target/release/".len()..];
            let Some((_, binary)) = binaries.iter().find(|(n, _)| *n == name) else {
                if name != "adain-train" {
                    problems.push(format!("{}: unknown binary in `{cmd}`", doc.display()));
                }
                continue;
            };
            // Descend through subcommands while the next word is one.
            let args = &words[at + 1..];
            let mut path: Vec<&str> = Vec::new();
            let mut text = help(binary, &path);
            for w in args {
                if subcommands(&text).contains(*w) {
                    path.push(w);
                    text = help(binary, &path);
                } else {
                    break;
                }
            }
            let wants_subcommand = !subcommands(&text).is_empty();
            if wants_subcommand {
                // `adain eval` exists only with the "train" feature.
                if cfg!(feature = "train") {
                    problems.push(format!("{}: unknown subcommand in `{cmd}`", doc.display()));
                }
                continue;
            }
            for w in args.iter().filter(|w| w.starts_with('-') && w.len() > 1) {
                let flag = w.split('=').next().unwrap();
                let listed = text
                    .split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']')
                    .any(|t| t == flag);
                if !listed {
                    problems.push(format!(
                        "{}: `{name} {}` has no flag {flag} (in `{cmd}`)",
                        doc.display(),
                        path.join(" ")
                    ));
                }
            }
            checked += 1;
        }
    }
    eprintln!("{checked} documented commands checked");
    assert!(checked >= 15, "only {checked} documented commands found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// One exit-code scheme for every binary (adain::console::parse_args): a usage error is 1
/// ("nothing could start"), never clap's 2, which the tools use for "some outputs failed";
/// `--help` is 0.
#[test]
fn usage_errors_exit_1_and_help_exits_0_in_every_binary() {
    for name in ["adain-batch", "adain"] {
        let run = |args: &[&str]| Command::new(bin(name)).args(args).output().unwrap();
        let bad = run(&["--no-such-flag"]);
        assert_eq!(bad.status.code(), Some(1), "{name} --no-such-flag");
        assert!(String::from_utf8_lossy(&bad.stderr).contains("--no-such-flag"));
        assert_eq!(run(&["--help"]).status.code(), Some(0), "{name} --help");
    }
}
