//! `grant-ledger`: a thin command line over the ledger libraries. Parses
//! arguments, reads the clock and makes event ids, calls the `Ledger` facade,
//! renders the answer, and maps every failure to the contract's exit code in
//! one place ([`error::exit_code`]). The contract is `docs/reference/cli.md`.

mod args;
mod backend;
mod checkpoint;
mod commands;
mod completions;
mod demo;
mod error;
mod export;
mod files;
mod lifecycle;
mod migrate;
mod output;
mod register_names;
mod remote;
mod render;
mod serve;
mod served;
mod signing_key;
mod stream_json;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

use crate::args::{Cli, Command};
use crate::backend::{Place, Target};
use crate::commands::Context;
use crate::error::{exit_code, CliError, CliResult};

fn main() -> ExitCode {
    install_panic_hook();
    if empty_ledger_setting() {
        eprintln!(
            "error: GRANT_LEDGER_DIR is set but empty; give it a directory, or unset it to use the default"
        );
        return ExitCode::from(2);
    }
    let matches = match Cli::command().try_get_matches() {
        Ok(matches) => matches,
        Err(e) => return usage_error(e),
    };
    let ledger_on_command_line = matches.value_source("ledger") == Some(ValueSource::CommandLine);
    let actor_on_command_line = matches.value_source("actor") == Some(ValueSource::CommandLine);
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let outcome = match blank_actor(cli.global.actor.as_deref(), actor_on_command_line) {
        Some(e) => Err(e),
        None => {
            if actor_on_command_line && cli.command.only_reads() {
                eprintln!(
                    "note: --actor names who records a change, so this query ignores it; to see what someone recorded, use history --recorded-by NAME"
                );
            }
            run(cli, ledger_on_command_line)
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(u8::try_from(exit_code(&e)).unwrap_or(3))
        }
    }
}

/// Help and version go to stdout and exit 0, as clap prints them. A usage error exits 2
/// (the contract's malformed input) as one line on stderr, like every other error:
/// clap's first line, its tip if it has one, and where to look for more.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit()
    }
    let rendered = e.render().to_string();
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines
        .next()
        .unwrap_or("error: the command line does not parse");
    let details: Vec<&str> = lines
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(|l| {
            let l = l.strip_prefix("tip: ").unwrap_or(l);
            l.strip_prefix('[')
                .and_then(|l| l.strip_suffix(']'))
                .unwrap_or(l)
        })
        .collect();
    let sentence = match first.strip_suffix(':') {
        // "the following required arguments were not provided:" and its list.
        Some(lead) => format!("{lead}: {}", details.join(", ")),
        None => details.iter().fold(first.to_string(), |s, d| s + "; " + d),
    };
    eprintln!("{sentence} (see grant-ledger --help)");
    ExitCode::from(2)
}

fn run(cli: Cli, ledger_on_command_line: bool) -> CliResult {
    match &cli.command {
        Command::Completions(a) => return completions::completions(a),
        Command::Man => return completions::man(),
        Command::Checkpoint(args::CheckpointArgs {
            action: Some(args::CheckpointCommand::Verify(a)),
        }) => return checkpoint::verify_signature(a),
        _ => {}
    }
    let actor = actor(cli.global.actor);
    let format = cli.global.format;
    if let Command::Demo = cli.command {
        let dir = cli.global.ledger.filter(|_| ledger_on_command_line);
        return demo::run(dir, &actor, format);
    }
    let server = cli.global.server.filter(|s| !s.trim().is_empty());
    if let (Command::Serve(_), Some(_)) = (&cli.command, &server) {
        return Err(CliError::malformed(
            "serve opens a ledger directory itself; leave out --server (and GRANT_LEDGER_SERVER)",
        ));
    }
    if let (Some(_), true) = (&server, ledger_on_command_line) {
        return Err(CliError::malformed(
            "give --ledger (a directory this process opens) or --server (a server that opens it), not both; GRANT_LEDGER_SERVER counts as --server, so unset it to work on a directory",
        ));
    }
    let store = cli.global.store.filter(|s| !s.trim().is_empty());
    if let (Some(_), Some(_)) = (&store, &server) {
        return Err(CliError::malformed(
            "give --store (a database this process opens) or --server (a server that opens it), not both",
        ));
    }
    if let (Some(_), true) = (&store, ledger_on_command_line) {
        return Err(CliError::malformed(
            "give --ledger (a directory) or --store (a database), not both",
        ));
    }
    let place = || {
        match (&store, &cli.global.ledger) {
        (Some(url), _) => Place::database(url),
        (None, Some(dir)) if dir.as_os_str().is_empty() => Err(CliError::malformed(
            "the ledger directory is empty (--ledger or GRANT_LEDGER_DIR); give a directory, or unset GRANT_LEDGER_DIR to use the default",
        )),
        (None, Some(dir)) => Ok(Place::Dir(dir.clone())),
        (None, None) => default_ledger_dir().map(Place::Dir),
    }
    };
    let signing_key = cli
        .global
        .signing_key
        .clone()
        .filter(|f| !f.as_os_str().is_empty());
    if let Command::Serve(args) = &cli.command {
        return serve::run(&place()?, args, signing_key.as_deref());
    }
    if let Command::Migrate(args) = &cli.command {
        if server.is_some() {
            return Err(CliError::malformed(
                "migrate opens both ledgers itself; leave out --server (and GRANT_LEDGER_SERVER)",
            ));
        }
        return migrate::run(&place()?, args, format, signing_key.as_deref());
    }
    let target = match server {
        Some(url) => Target::Remote {
            url,
            token: cli.global.token,
        },
        None => Target::Local {
            place: place()?,
            actor,
            wait: std::time::Duration::from_secs(cli.global.wait),
            signing_key,
        },
    };
    let ctx = Context { target, format };
    commands::run(&ctx, cli.command)
}

/// Whether `GRANT_LEDGER_DIR` is set to nothing and `--ledger` does not override it (clap
/// would call that a missing value, which a user who set the variable cannot act on).
fn empty_ledger_setting() -> bool {
    let empty = std::env::var_os("GRANT_LEDGER_DIR").is_some_and(|v| v.is_empty());
    empty
        && !std::env::args_os()
            .any(|a| a == "--ledger" || a.to_string_lossy().starts_with("--ledger="))
}

/// An actor given but blank: `--actor ""` (or spaces), or `GRANT_LEDGER_ACTOR` set to
/// nothing (clap reads an empty variable as unset). Recorded as is, it would name no one;
/// quietly replaced by `$USER`, it would name someone the user did not.
fn blank_actor(given: Option<&str>, on_command_line: bool) -> Option<CliError> {
    let variable = std::env::var_os("GRANT_LEDGER_ACTOR");
    let blank = |a: &str| a.trim().is_empty();
    if on_command_line {
        return given.filter(|a| blank(a)).map(|_| {
            CliError::malformed(
                "--actor is empty; give the name to record, or leave --actor out to record $USER",
            )
        });
    }
    variable
        .is_some_and(|v| blank(&v.to_string_lossy()))
        .then(|| {
            CliError::malformed(
                "GRANT_LEDGER_ACTOR is set but empty; give it the name to record, or unset it to record $USER",
            )
        })
}

/// `--actor`, else `$GRANT_LEDGER_ACTOR` (via clap), else `$USER`, else "unknown".
fn actor(given: Option<String>) -> String {
    // A blank --actor or GRANT_LEDGER_ACTOR was refused before; a blank $USER says nothing.
    let named = |a: String| Some(a.trim().to_string()).filter(|a| !a.is_empty());
    given
        .and_then(named)
        .or_else(|| std::env::var("USER").ok().and_then(named))
        .unwrap_or_else(|| "unknown".to_string())
}

/// The platform data directory, e.g. `~/.local/share/grant-ledger`.
fn default_ledger_dir() -> CliResult<PathBuf> {
    directories::ProjectDirs::from("", "", "grant-ledger")
        .map(|dirs| dirs.data_dir().to_path_buf())
        .ok_or_else(|| {
            CliError::unavailable(
                "cannot find a data directory for the ledger (no home directory); give --ledger DIR",
            )
        })
}

/// A last resort: no code path should panic, but if one does the user sees
/// one sentence and exit code 3, not a backtrace.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        // A store catching a panic of its database's own code (sled's, on a damaged file)
        // turns it into the damage sentence itself: the process goes on to say that.
        if grant_ledger_store::caught::is_catching() {
            return;
        }
        let at = info.location().map(|l| (l.file(), l.line()));
        eprintln!("error: {}", panic_sentence(at));
        std::process::exit(3);
    }));
}

/// What a panic nothing caught says. sled 0.34 panics on some damaged files instead of
/// returning an error, and not only while opening (which the store catches): a panic in
/// its code is said as the damage it is, in the store's one sentence, never as sled's
/// source path; any other is ours to fix.
fn panic_sentence(at: Option<(&str, u32)>) -> String {
    let in_sled = at.is_some_and(|(file, _)| file.replace('\\', "/").contains("/sled-"));
    if in_sled {
        return grant_ledger_store::StoreError::Damaged {
            position: None,
            reason: "its database file stopped sled while it was being read".to_string(),
        }
        .to_string();
    }
    let location = at
        .map(|(file, line)| format!(" at {file}:{line}"))
        .unwrap_or_default();
    format!(
        "grant-ledger stopped on an internal error{location}; nothing more was written, please report this"
    )
}

#[cfg(test)]
mod tests {
    use super::panic_sentence;

    #[test]
    fn a_panic_in_sleds_code_is_said_as_damage_without_its_source_path() {
        let said = panic_sentence(Some((
            "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/sled-0.34.7/src/pagecache/segment.rs",
            556,
        )));
        assert!(said.starts_with("the ledger is damaged: "), "{said}");
        assert!(
            said.ends_with("it answers nothing until it is restored from a backup"),
            "{said}"
        );
        assert!(
            !said.contains("segment.rs") && !said.contains("sled-0.34"),
            "{said}"
        );
    }

    #[test]
    fn a_panic_in_our_own_code_is_an_internal_error_to_report() {
        let said = panic_sentence(Some(("crates/cli/main.rs", 9)));
        assert!(
            said.contains("internal error at crates/cli/main.rs:9"),
            "{said}"
        );
    }
}
