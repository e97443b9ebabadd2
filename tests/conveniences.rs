//! `completions` and `man` end to end: the real binary writes a script each shell accepts
//! and a roff manual naming the commands, without a ledger or a home directory.

mod common;

use std::io::Write;
use std::process::{Command as Process, Stdio};

use common::*;

/// Runs the binary with no ledger, no home and no user: these commands need none.
fn run(args: &[&str]) -> (i32, String, String) {
    let output = bin()
        .env_remove("HOME")
        .env_remove("USER")
        .args(args)
        .output()
        .expect("binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn script(shell: &str) -> String {
    let (code, stdout, stderr) = run(&["completions", shell]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    stdout
}

#[test]
fn bash_completions_are_a_script_bash_can_read() {
    let text = script("bash");
    assert!(text.contains("complete -F _grant__ledger"), "{text}");
    assert!(text.contains("spend-import"));
    let mut bash = Process::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .spawn()
        .expect("bash runs");
    bash.stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    assert!(bash.wait().unwrap().success(), "bash -n refused the script");
}

#[test]
fn zsh_completions_declare_the_command() {
    let text = script("zsh");
    assert!(text.starts_with("#compdef grant-ledger"), "{text}");
    assert!(text.contains("360giving"));
}

#[test]
fn fish_completions_complete_the_subcommands() {
    let text = script("fish");
    assert!(text.contains("complete -c grant-ledger"), "{text}");
    assert!(text.contains("determination"));
}

#[test]
fn powershell_completions_register_a_completer() {
    let text = script("powershell");
    assert!(text.contains("Register-ArgumentCompleter"), "{text}");
    assert!(text.contains("'grant-ledger'"));
}

#[test]
fn an_unknown_shell_is_malformed() {
    let (code, stdout, stderr) = run(&["completions", "tcsh"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("tcsh"), "{stderr}");
}

#[test]
fn the_man_page_is_roff_naming_every_command() {
    let (code, page, stderr) = run(&["man"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(page.contains(".TH grant-ledger 1"), "{page}");
    for command in [
        "determination",
        "pay",
        "spend\\-import",
        "export",
        "completions",
    ] {
        assert!(page.contains(command), "the man page lacks {command}");
    }
    assert!(
        page.contains("GRANT_LEDGER_DIR"),
        "the man page lacks the environment"
    );
}
