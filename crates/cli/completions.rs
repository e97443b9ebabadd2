//! `grant-ledger completions SHELL` and `grant-ledger man`: the command line describing
//! itself, from the same clap definitions that parse it, so completions and the manual
//! can never name a flag the program does not have. Neither touches a ledger.

use clap::{Args, CommandFactory, ValueEnum};

use crate::args::Cli;
use crate::error::CliResult;
use crate::output;

/// The shells a completion script is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the completion script for
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

/// Writes the completion script for `shell` to stdout.
pub fn completions(a: &CompletionsArgs) -> CliResult {
    let shell = match a.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
        Shell::Powershell => clap_complete::Shell::PowerShell,
    };
    let mut out = output::stdout();
    clap_complete::generate(shell, &mut Cli::command(), "grant-ledger", &mut out);
    Ok(out.finish()?)
}

/// Writes the manual page, in roff, to stdout.
pub fn man() -> CliResult {
    let mut out = output::stdout();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    Ok(out.finish()?)
}
