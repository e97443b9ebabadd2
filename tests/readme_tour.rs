//! The README's tour, run as a newcomer would paste it: every `$ grant-ledger` line of its
//! console blocks between "A short tour" and "Share the ledger", in order, on one fresh
//! ledger; every line the README shows as output must be what the binary printed (event
//! ids, hashes and key ids masked, since they differ on every run). So the figures the
//! README quotes come from this test, not from memory.

use std::path::Path;
use std::process::Command;

const README: &str = include_str!("../README.md");

/// One command of the tour and the output the README shows under it.
struct Step {
    command: String,
    shown: Vec<String>,
}

/// The console blocks of the tour, as steps. A `$ cat FILE` step's output is the file's
/// content, which the tour expects to exist; continuation lines (`\`) are joined.
fn steps() -> Vec<Step> {
    let start = README
        .find("## A short tour")
        .expect("the README has a tour");
    let end = README
        .find("## Share the ledger")
        .expect("and a sharing section");
    let mut steps: Vec<Step> = Vec::new();
    let mut in_console = false;
    let mut continuing = false;
    for line in README[start..end].lines() {
        if line.starts_with("```") {
            in_console = line == "```console";
            continuing = false;
            continue;
        }
        if !in_console {
            continue;
        }
        if continuing {
            if let Some(step) = steps.last_mut() {
                step.command.push(' ');
                step.command.push_str(line.trim().trim_end_matches('\\'));
            }
            continuing = line.ends_with('\\');
        } else if let Some(command) = line.strip_prefix("$ ") {
            continuing = command.ends_with('\\');
            steps.push(Step {
                command: command.trim_end_matches('\\').trim().to_string(),
                shown: Vec::new(),
            });
        } else if let Some(step) = steps.last_mut() {
            step.shown.push(line.to_string());
        }
    }
    steps
}

/// `line` with every run of hexadecimal that holds both a digit and a letter (event ids,
/// hashes, key ids), and any abbreviation of one (`2e8869d1…`), replaced by `#`.
fn mask(line: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let hexish = run.len() >= 7
            && run.chars().any(|c| c.is_ascii_digit())
            && run.chars().any(|c| matches!(c, 'a'..='f'));
        out.push_str(if hexish { "#" } else { run.as_str() });
        run.clear();
    };
    for c in line.chars() {
        if c.is_ascii_digit() || matches!(c, 'a'..='f' | '-') {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            if c == '…' && out.ends_with('#') {
                continue;
            }
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out.replace("##", "#").trim_end().to_string()
}

fn run_in(dir: &Path, command: &str) -> (i32, String) {
    let bin = assert_cmd::cargo::cargo_bin("grant-ledger");
    let bin_dir = bin.parent().expect("the binary is in a directory");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .args(["-c", command])
        .current_dir(dir)
        .env("PATH", path)
        .env("GRANT_LEDGER_DIR", dir.join("ledger"))
        .env("USER", "finance")
        .env("NO_COLOR", "1")
        .env_remove("GRANT_LEDGER_ACTOR")
        .env_remove("GRANT_LEDGER_SERVER")
        .env_remove("GRANT_LEDGER_TOKEN")
        .env_remove("GRANT_LEDGER_SIGNING_KEY")
        .output()
        .expect("sh runs");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), printed)
}

#[test]
fn the_readme_tour_prints_what_the_readme_shows() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut last_code = 0;
    let mut ran = 0;
    for step in steps() {
        if let Some(file) = step.command.strip_prefix("cat ") {
            let content = step.shown.join("\n") + "\n";
            std::fs::write(dir.path().join(file.trim()), content).expect("the tour's file");
            continue;
        }
        if step.command == "echo $?" {
            let shown = step.shown.first().map(String::as_str).unwrap_or_default();
            assert_eq!(
                shown,
                last_code.to_string(),
                "the exit code the README shows"
            );
            continue;
        }
        // An abbreviated value (a public key shown as `34f5…c4f5`) cannot be pasted as it
        // is; the tour says where to take it from.
        if step.command.contains('…') {
            continue;
        }
        let (code, printed) = run_in(dir.path(), &step.command);
        last_code = code;
        ran += 1;
        let printed: Vec<String> = printed.lines().map(mask).collect();
        for shown in &step.shown {
            if shown.trim().is_empty() || shown.trim() == "..." {
                continue;
            }
            let shown = mask(shown);
            assert!(
                printed.contains(&shown),
                "`$ {}` did not print the README's line\n  {shown}\nit printed:\n{}",
                step.command,
                printed.join("\n")
            );
        }
    }
    assert!(ran >= 10, "the tour ran only {ran} commands");
}

#[test]
fn masking_hides_ids_and_hashes_but_not_dates_or_figures() {
    assert_eq!(
        mask("head 2e8869d1…), 9 stored"),
        "head #), 9 stored",
        "an abbreviated hash"
    );
    assert_eq!(
        mask("  event id        01a2246d-7a31-771c-af22-e2a4e8192e32"),
        "  event id        #"
    );
    assert_eq!(mask("2024-08-23 £233,200.00"), "2024-08-23 £233,200.00");
}
