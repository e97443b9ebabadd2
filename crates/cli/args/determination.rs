//! The arguments of `determination import | list | show | check | withdraw | vary`.

use std::path::PathBuf;

use clap::builder::NonEmptyStringValueParser;
use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum DeterminationCommand {
    /// Import a determination from a TOML file, or a built-in one
    #[command(
        long_about = "Import a determination from a TOML file (format in docs/reference/cli.md), or one that \
ships with the program. Importing the same determination again is refused unless the \
content is identical, in which case nothing is appended and the exit code is 0.",
        after_help = "Example:\n  grant-ledger determination import --builtin 31/7421\n  grant-ledger determination import ./31-7421.toml"
    )]
    Import(ImportArgs),

    /// List the imported determinations
    #[command(after_help = "Example:\n  grant-ledger determination list --format json")]
    List,

    /// Show one determination: dates, allocations and formula components
    #[command(
        after_help = "Example:\n  grant-ledger determination show 31/7421\n  grant-ledger determination show 31/7421 --authorities --region london"
    )]
    Show(ShowArgs),

    /// Recompute every allocation from the determination's formula
    #[command(
        long_about = "Recompute every allocation from the determination's formula and print, per region: \
region, authorities (count), formula, determined, difference, and each component. Also \
lists each component whose stated working does not equal its amount (with --workings, \
only those). --strict exits 1 when any difference is non-zero.",
        after_help = "Example:\n  grant-ledger determination check 31/7421\n  grant-ledger determination check 31/7421 --workings --format json\n  grant-ledger determination check 31/7421 --strict"
    )]
    Check(CheckArgs),

    /// Withdraw a determination nothing is paid on
    #[command(
        long_about = "Withdraw a determination while nothing is paid on it. It is recorded as an event (DeterminationWithdrawn); afterwards every payment and spend on it is refused, and determination list and show say it was withdrawn.",
        after_help = "Example:\n  grant-ledger determination withdraw 31/7421 --reason \"superseded by 31/7422\""
    )]
    Withdraw(WithdrawArgs),

    /// Vary a determination's allocations from a file of new amounts
    #[command(
        long_about = "Record a variation: a new allocation table, as a department issues by letter. FILE is TOML with one [[allocation]] per region that changes (region and amount); regions left out keep their allocation. Refused where a region's paid would be above its new amount. Recorded as an event (DeterminationVaried) effective on --date, so --as-of an earlier day shows the figures before it; determination show lists every variation.",
        after_help = "Example:\n  grant-ledger determination vary 31/7421 ./variation.toml --reason \"letter of 1 November\" --date 2024-11-01"
    )]
    Vary(VaryArgs),
}

#[derive(Debug, Args)]
pub struct WithdrawArgs {
    /// The determination id, e.g. 31/7421
    #[arg(value_name = "ID", value_parser = NonEmptyStringValueParser::new())]
    pub id: String,
    /// Why it is withdrawn
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// When it is withdrawn, YYYY-MM-DD [default: --today, else today's local date]
    #[arg(long, value_name = "D")]
    pub date: Option<String>,
    /// Idempotency key: repeating the same command with it appends nothing
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// Refuse dates after this day, YYYY-MM-DD [default: today's local date; not with --server]
    #[arg(long, value_name = "D")]
    pub today: Option<String>,
}

#[derive(Debug, Args)]
pub struct VaryArgs {
    /// The determination id, e.g. 31/7421
    #[arg(value_name = "ID", value_parser = NonEmptyStringValueParser::new())]
    pub id: String,
    /// The variation file (TOML): [[allocation]] tables of region and amount
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Why it is varied (e.g. the letter it comes from)
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// When the variation takes effect, YYYY-MM-DD [default: --today, else today's local date]
    #[arg(long, value_name = "D")]
    pub date: Option<String>,
    /// Idempotency key: repeating the same command with it appends nothing
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// Refuse dates after this day, YYYY-MM-DD [default: today's local date; not with --server]
    #[arg(long, value_name = "D")]
    pub today: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The determination file (TOML)
    #[arg(
        value_name = "FILE",
        required_unless_present = "builtin",
        conflicts_with = "builtin"
    )]
    pub file: Option<PathBuf>,

    /// Import a determination that ships with the program (31/7421)
    #[arg(long, value_name = "ID", value_parser = NonEmptyStringValueParser::new())]
    pub builtin: Option<String>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The determination id, e.g. 31/7421
    #[arg(value_name = "ID", value_parser = NonEmptyStringValueParser::new())]
    pub id: String,
    /// List every region's authorities instead: region, authority, ONS code
    #[arg(long)]
    pub authorities: bool,
    /// With --authorities, only this region's, by name in any case or slug
    #[arg(long, value_name = "R", requires = "authorities")]
    pub region: Option<String>,
}

#[derive(Debug, Args)]
pub struct IdArg {
    /// The determination id, e.g. 31/7421
    #[arg(value_name = "ID", value_parser = NonEmptyStringValueParser::new())]
    pub id: String,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The determination id, e.g. 31/7421
    #[arg(value_name = "ID", value_parser = NonEmptyStringValueParser::new())]
    pub id: String,

    /// Exit 1 when any difference is non-zero
    #[arg(long)]
    pub strict: bool,

    /// Print only the components whose stated working does not equal their amount
    #[arg(long)]
    pub workings: bool,
}
