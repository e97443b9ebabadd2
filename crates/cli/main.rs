//! `grant-ledger`: a thin command line over the ledger libraries. Parses
//! arguments, reads the clock and makes event ids, calls the `Ledger` facade,
//! renders the answer, and maps every failure to the contract's exit code in
//! one place ([`error::exit_code`]). The contract is `shared/spec/cli.md`.

mod args;
mod commands;
mod demo;
mod error;
mod import;
mod lines;
mod output;
mod parse;
mod render;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

use crate::args::{Cli, Command};
use crate::commands::Context;
use crate::error::{exit_code, CliError, CliResult};

fn main() -> ExitCode {
    install_panic_hook();
    let matches = match Cli::command().try_get_matches() {
        Ok(matches) => matches,
        // Help and version exit 0; usage errors exit 2, as the contract says.
        Err(e) => e.exit(),
    };
    let ledger_on_command_line = matches.value_source("ledger") == Some(ValueSource::CommandLine);
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match run(cli, ledger_on_command_line) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(u8::try_from(exit_code(&e)).unwrap_or(3))
        }
    }
}

fn run(cli: Cli, ledger_on_command_line: bool) -> CliResult {
    let actor = actor(cli.global.actor);
    let format = cli.global.format;
    if let Command::Demo = cli.command {
        let dir = cli.global.ledger.filter(|_| ledger_on_command_line);
        return demo::run(dir, &actor, format);
    }
    let ledger_dir = match cli.global.ledger {
        Some(dir) => dir,
        None => default_ledger_dir()?,
    };
    let ctx = Context {
        ledger_dir,
        actor,
        format,
    };
    commands::run(&ctx, cli.command)
}

/// `--actor`, else `$GRANT_LEDGER_ACTOR` (via clap), else `$USER`, else "unknown".
fn actor(given: Option<String>) -> String {
    // An empty --actor or GRANT_LEDGER_ACTOR says nothing, so the next source is asked.
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
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "error: grant-ledger stopped on an internal error{location}; nothing more was written, please report this"
        );
        std::process::exit(3);
    }));
}
