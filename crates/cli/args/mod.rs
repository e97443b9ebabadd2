//! The command line as clap sees it. Names, flags and help here are the public
//! contract of `docs/reference/cli.md`: add freely, rename nothing.
//!
//! Amounts and dates are taken as text and parsed by the binary (not by clap
//! value parsers) so a bad one is reported as one sentence naming the flag.
//!
//! This module holds the program, its global options and the list of commands; each
//! family of commands keeps its arguments in a module of its own.

mod access;
mod determination;
mod operations;
mod queries;
mod record;

pub use access::*;
pub use determination::*;
pub use operations::*;
pub use queries::*;
pub use record::*;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const ABOUT: &str = "An event-sourced ledger for UK section 31 grant determinations";

const LONG_ABOUT: &str = "\
An event-sourced ledger for UK section 31 grant determinations.

Every change (a determination made, a payment issued, funds spent, grant \
recovered, an earlier entry reversed) is appended to an audit trail that is \
never rewritten. Balances, deadlines and spend reports are derived from it.

Exit codes: 0 done (or an idempotent repeat), 1 refused by a ledger rule, \
2 malformed input, 3 ledger unavailable (in use, corrupt, unreadable, newer format, \
server unreachable), 4 not allowed (with --server: no token, an unknown or revoked token, \
or a role that does not permit the command).";

const TOP_AFTER_HELP: &str = "\
Example:
  grant-ledger demo
  grant-ledger --ledger ./ledger determination import --builtin 31/7421
  grant-ledger --ledger ./ledger pay 31/7421 --region london --amount 318000 --date 2024-08-23
  grant-ledger --ledger ./ledger balances 31/7421 --format json";

#[derive(Debug, Parser)]
#[command(
    name = "grant-ledger",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = TOP_AFTER_HELP,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The ledger's directory; created on first write [default: the platform data dir, e.g. ~/.local/share/grant-ledger]
    #[arg(long, global = true, env = "GRANT_LEDGER_DIR", value_name = "DIR")]
    pub ledger: Option<PathBuf>,

    /// Who is recorded as making each change [default: $USER, else "unknown"]
    #[arg(long, global = true, env = "GRANT_LEDGER_ACTOR", value_name = "NAME")]
    pub actor: Option<String>,

    /// Output format; json is one JSON document on stdout
    #[arg(long, global = true, value_enum, ignore_case = true, default_value_t = Format::Table)]
    pub format: Format,

    /// Keep the ledger in a PostgreSQL database (postgres://USER@HOST:PORT/DATABASE) instead of a ledger directory; several servers may share it
    #[arg(
        long,
        global = true,
        env = "GRANT_LEDGER_STORE",
        value_name = "URL",
        hide_env_values = true
    )]
    pub store: Option<String>,

    /// Send the command to a running grant-ledger serve at this URL instead of opening a ledger directory
    #[arg(long, global = true, env = "GRANT_LEDGER_SERVER", value_name = "URL")]
    pub server: Option<String>,

    /// The ledger's checkpoint signing key file, made (mode 0600) on first need [default: DIR/signing.key in a ledger directory; none for --store]
    #[arg(
        long = "signing-key",
        global = true,
        env = "GRANT_LEDGER_SIGNING_KEY",
        value_name = "FILE"
    )]
    pub signing_key: Option<PathBuf>,

    /// The access token used with --server
    #[arg(
        long,
        global = true,
        env = "GRANT_LEDGER_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// How long to wait for a ledger directory another process is using (0: fail at once), up to 86400
    #[arg(
        long,
        global = true,
        value_name = "SECONDS",
        default_value_t = 5,
        allow_negative_numbers = true,
        value_parser = clap::value_parser!(u64).range(0..=86_400)
    )]
    pub wait: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned tables for people
    Table,
    /// One JSON document; money as "318000.00" strings
    Json,
    /// Comma-separated values with a header row; money as 318000.00
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import, list, show and check grant determinations
    #[command(
        subcommand,
        after_help = "Example:\n  grant-ledger determination import --builtin 31/7421\n  grant-ledger determination check 31/7421 --workings"
    )]
    Determination(DeterminationCommand),

    /// Record a payment of a region's allocation to its lead authority
    #[command(
        long_about = "Record a payment of a region's allocation to its lead authority.\n\n\
Refused: a date after the payment deadline (unless --late-reason is given, when the \
payment is recorded and flagged late), a date before the determination was made, more \
instalments than allowed, a total over the allocation, and for a single-instalment \
determination any amount other than the allocation.",
        after_help = "Example:\n  grant-ledger pay 31/7421 --region \"East Midlands\" --amount £233,200 --date 2024-08-23 --reference BACS-0001 --key pay-em"
    )]
    Pay(PayArgs),

    /// Record funds spent by a region on one of the determination's purposes
    #[command(
        long_about = "Record funds spent by a region on one of the determination's purposes.\n\n\
Refused: spend taking the region's total spent above its net amount received \
(paid - recovered), a date outside the grant period, an unknown purpose, or an \
authority that is not one of the region's.",
        after_help = "Example:\n  grant-ledger spend 31/7421 --region london --amount 12500 --date 2024-10-01 --purpose data-coordinator --authority Camden --description \"Data coordinator Q3\""
    )]
    Spend(SpendArgs),

    /// Record many spends from a CSV file, atomically (all rows or none)
    #[command(
        name = "spend-import",
        long_about = "Record many spends from a CSV file, atomically: all rows or none.\n\n\
Header: determination,region,amount,date,purpose,authority,description,reference,key \
(the last four may be empty). An error names the line number. A progress bar goes to \
stderr when it is a terminal.",
        after_help = "Example:\n  grant-ledger spend-import q3-spend.csv\n\n  where q3-spend.csv holds\n  determination,region,amount,date,purpose,authority,description,reference,key\n  31/7421,London,12500,2024-10-01,data-coordinator,Camden,Coordinator Q3,INV-1,q3-1"
    )]
    SpendImport(SpendImportArgs),

    /// Record grant recovered (clawed back) from a region
    #[command(
        long_about = "Record grant recovered (clawed back) from a region. Refused above the region's unspent balance.",
        after_help = "Example:\n  grant-ledger recover 31/7421 --region london --amount 5000 --date 2025-04-30 --reason \"Underspend returned\""
    )]
    Recover(RecoverArgs),

    /// Reverse an earlier payment, spend or recovery
    #[command(
        long_about = "Reverse an earlier payment, spend or recovery, named by its event id or position.\n\n\
Without --date the reversal takes the reversed event's effective date (a correction: as \
of any date it is as if the event never happened); with --date it takes effect on that \
date (money really returned), which may not be before the reversed event's date. \
Refused for a payment with spend against it, an event already reversed, or a reversal.",
        after_help = "Example:\n  grant-ledger reverse 12 --reason \"Mis-keyed amount\"\n  grant-ledger reverse 0190f2c4-7d3a-7c1e-9a7b-2f4d5e6a7b8c --reason \"Refund received\" --date 2024-12-01"
    )]
    Reverse(ReverseArgs),

    /// One row per allocation: determined, paid, recovered, spent, unpaid, unspent
    #[command(
        long_about = "One row per allocation: determination, region, lead_authority, determined, paid, \
recovered, spent, unpaid (determined - paid), unspent (paid - recovered - spent), status \
(unpaid, paid, paid-late) and paid_on. --as-of D counts only events whose effective date \
is on or before D. Table output ends with a totals row; JSON is an array of rows.",
        after_help = "Example:\n  grant-ledger balances 31/7421 --as-of 2024-12-31\n  grant-ledger balances --region south-west --format json"
    )]
    Balances(BalancesArgs),

    /// Each allocation against its payment deadline
    #[command(
        long_about = "Each allocation against its payment deadline: region, deadline, status (paid, \
paid-late, due, overdue) and days_left (negative when overdue, empty once paid). \
--today defaults to today's local date.",
        after_help = "Example:\n  grant-ledger deadlines 31/7421 --today 2024-08-28"
    )]
    Deadlines(DeadlinesArgs),

    /// Spend per region and purpose against the formula budget
    #[command(
        name = "spend-report",
        long_about = "Spend per region and purpose: region, purpose, budget (the formula component), spent, recovered, remaining. Each region's lines add up to its allocation: a 'determined above formula' line holds what it was determined beyond its formula components, and its recoveries, so that the region's remaining is its unspent in balances plus what is still unpaid. With --by authority, one line per authority (the budget is the formula's per-authority components) and a 'region-wide' line for the rest. Without ID, every determination.",
        after_help = "Example:\n  grant-ledger spend-report 31/7421 --region \"north east\"\n  grant-ledger spend-report 31/7421 --by authority --as-of 2024-12-31"
    )]
    SpendReport(SpendReportArgs),

    /// The audit trail, oldest first
    #[command(
        long_about = "The audit trail, oldest first. JSON: an array of {position, event_id, type, stream, \
version, recorded_at, actor, key, effective_date, data, hash}.",
        after_help = "Example:\n  grant-ledger history --type PaymentIssued --since 2024-08-01 --limit 20 --format json"
    )]
    History(HistoryArgs),

    /// Re-read every event, check the hash chain and the stored projections
    #[command(
        long_about = "Re-read every event, check each one's hash chain link, and check that the stored \
projections equal a fresh replay. Prints one summary line; on any mismatch names the first \
bad position and exits 3.\n\n\
With --against RECEIPT..., then proves that the ledger still holds each receipt's position \
with its hash and that the receipt is signed by this ledger's key; a receipt the ledger no \
longer extends (truncated, rolled back, rewritten) or one that was edited is named in one \
sentence each, and the exit code is 3.",
        after_help = "Example:\n  grant-ledger verify\n  grant-ledger verify --against receipts/*.json"
    )]
    Verify(VerifyArgs),

    /// Print a signed receipt of the ledger's head (JSON) to keep outside the ledger
    #[command(
        args_conflicts_with_subcommands = true,
        long_about = "Print a signed receipt of the ledger's head as JSON, whatever --format says: \
{format, position, head_hash, time, public_key_id, public_key, signature}. Keep it outside the \
ledger; `verify --against` later proves the ledger still extends it, and `checkpoint verify` \
checks its signature with no ledger at all. It records nothing. The signing key is made on \
first need (see --signing-key).",
        after_help = "Example:\n  grant-ledger checkpoint > receipts/2024-08-23.json\n  grant-ledger checkpoint verify receipts/2024-08-23.json --public-key 3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"
    )]
    Checkpoint(CheckpointArgs),

    /// Rebuild every read model from the log (admin), recorded as an event
    #[command(
        long_about = "Fold every read model afresh from the log and store it again, sealed, in one \
commit with a ModelsRebuilt event naming who did it and why. The remedy when a stored model \
no longer matches its seal (it was changed outside the ledger): every other command refuses \
until then. Refused, like everything but verify, when the log itself is damaged.",
        after_help = "Example:\n  grant-ledger rebuild --reason \"balances model edited outside the ledger\""
    )]
    Rebuild(RebuildArgs),

    /// Serve the ledger over HTTP to everyone who works on the grant
    #[command(
        long_about = "Serve the ledger directory over HTTP (the server contract is docs/reference/http.md): \
every command and query as a JSON endpoint, for tokens made with `access grant`. Prints \
`listening on http://ADDR` once it accepts connections, and serves until SIGTERM or SIGINT, \
when it finishes every request in flight and exits 0. While it runs it holds the ledger.",
        after_help = "Example:\n  grant-ledger --ledger ./ledger serve --listen 127.0.0.1:7421\n  grant-ledger serve --listen 0.0.0.0:7421 --tls-cert cert.pem --tls-key key.pem"
    )]
    Serve(ServeArgs),

    /// Grant, list and revoke access tokens
    #[command(
        subcommand,
        after_help = "Example:\n  grant-ledger --ledger ./ledger access grant --name ann --role admin\n  grant-ledger --server http://127.0.0.1:7421 --token $ADMIN access grant --name sw-lead --role region:south-west"
    )]
    Access(AccessCommand),

    /// Export the ledger's grants as open data (360Giving)
    #[command(subcommand)]
    Export(crate::export::ExportCommand),

    /// Print a completion script for bash, zsh, fish or powershell
    #[command(
        after_help = "Example:\n  grant-ledger completions bash > ~/.local/share/bash-completion/completions/grant-ledger\n  grant-ledger completions zsh > ~/.zfunc/_grant-ledger"
    )]
    Completions(crate::completions::CompletionsArgs),

    /// Copy the whole ledger, hashes unchanged, into an empty ledger directory or database
    #[command(
        long_about = "Copy the whole ledger (the one --ledger or --store names) into an empty one: \
every event byte for byte, so every hash and the head are unchanged, with its idempotency keys \
and read models. Then checks that both heads agree and verifies the copy. The source is only read.",
        after_help = "Example:\n  grant-ledger --ledger ./ledger migrate --to postgres://ledger@db.internal:5432/grants\n  grant-ledger --store postgres://ledger@db.internal:5432/grants migrate --to ./ledger-copy"
    )]
    Migrate(MigrateArgs),

    /// Print the manual page (roff), e.g. for man -l -
    #[command(
        after_help = "Example:\n  grant-ledger man > ~/.local/share/man/man1/grant-ledger.1"
    )]
    Man,

    /// Build a demonstration ledger for 31/7421 and print its reports
    #[command(
        long_about = "Build a fresh demonstration ledger in a new temporary directory (or --ledger DIR, \
which must not hold a ledger yet), import 31/7421, record the nine payments on time and a \
realistic set of spends, then print balances, deadlines, the spend report and the \
determination check. GRANT_LEDGER_DIR is ignored here, so the demo never writes into your \
real ledger; the directory used is printed so you can explore it with --ledger.",
        after_help = "Example:\n  grant-ledger demo\n  grant-ledger --ledger ./demo-ledger demo"
    )]
    Demo,
}

impl Command {
    /// Whether the command only reads, so that `--actor` means nothing to it.
    pub fn only_reads(&self) -> bool {
        match self {
            Command::Balances(_)
            | Command::Deadlines(_)
            | Command::SpendReport(_)
            | Command::History(_)
            | Command::Verify(_)
            | Command::Checkpoint(_)
            | Command::Export(_) => true,
            Command::Determination(d) => !matches!(
                d,
                DeterminationCommand::Import(_)
                    | DeterminationCommand::Withdraw(_)
                    | DeterminationCommand::Vary(_)
            ),
            Command::Access(a) => matches!(a, AccessCommand::List),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definitions_are_consistent() {
        Cli::command().debug_assert();
    }
}
