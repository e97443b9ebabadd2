//! The arguments of the recording commands: `pay`, `spend`, `spend-import`, `recover`
//! and `reverse`.

use std::path::PathBuf;

use clap::builder::NonEmptyStringValueParser;
use clap::Args;

/// What every recording of money names: which allocation, how much, and when. Shared by
/// `pay`, `spend` and `recover`, so the three read alike and cannot drift apart.
#[derive(Debug, Args)]
pub struct Entry {
    /// The determination id, e.g. 31/7421
    #[arg(value_name = "ID", value_parser = NonEmptyStringValueParser::new())]
    pub id: String,
    /// The region, by name in any case or slug (south-west)
    #[arg(long, value_name = "R")]
    pub region: String,
    /// Pounds: 318000, 318000.00, 318,000, £318,000.50
    #[arg(long, value_name = "A", allow_hyphen_values = true)]
    pub amount: String,
    /// The date it happened (its effective date), YYYY-MM-DD
    #[arg(long, value_name = "D")]
    pub date: String,
    /// Idempotency key: repeating the same command with it appends nothing
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
}

#[derive(Debug, Args)]
pub struct PayArgs {
    #[command(flatten)]
    pub entry: Entry,
    /// Free text such as a BACS reference
    #[arg(long, value_name = "TEXT")]
    pub reference: Option<String>,
    /// Why a payment after the deadline is made; records it flagged late
    #[arg(long = "late-reason", value_name = "TEXT")]
    pub late_reason: Option<String>,
    /// Refuse dates after this day, YYYY-MM-DD [default: today's local date; not with --server]
    #[arg(long, value_name = "D")]
    pub today: Option<String>,
}

#[derive(Debug, Args)]
pub struct SpendArgs {
    #[command(flatten)]
    pub entry: Entry,
    /// One of the determination's purposes, e.g. data-coordinator
    #[arg(long, value_name = "P")]
    pub purpose: String,
    /// The spending authority; must be one of the region's
    #[arg(long, value_name = "NAME")]
    pub authority: Option<String>,
    /// What the money was spent on
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// Free text such as an invoice number
    #[arg(long, value_name = "TEXT")]
    pub reference: Option<String>,
    /// Refuse dates after this day, YYYY-MM-DD [default: today's local date; not with --server]
    #[arg(long, value_name = "D")]
    pub today: Option<String>,
}

#[derive(Debug, Args)]
pub struct SpendImportArgs {
    /// The CSV file of spends, or - for standard input
    #[arg(value_name = "FILE.csv")]
    pub file: PathBuf,
    /// Refuse dates after this day, YYYY-MM-DD [default: today's local date; not with --server]
    #[arg(long, value_name = "D")]
    pub today: Option<String>,
}

#[derive(Debug, Args)]
pub struct RecoverArgs {
    #[command(flatten)]
    pub entry: Entry,
    /// Why the grant is recovered
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// Refuse dates after this day, YYYY-MM-DD [default: today's local date; not with --server]
    #[arg(long, value_name = "D")]
    pub today: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReverseArgs {
    /// The event to reverse: its event id or its position
    #[arg(value_name = "EVENT", value_parser = NonEmptyStringValueParser::new())]
    pub event: String,
    /// Why the event is reversed
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// When the reversal takes effect, YYYY-MM-DD [default: the reversed event's date]
    #[arg(long, value_name = "D")]
    pub date: Option<String>,
    /// Idempotency key: repeating the same command with it appends nothing
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// Refuse dates after this day, YYYY-MM-DD [default: today's local date; not with --server]
    #[arg(long, value_name = "D")]
    pub today: Option<String>,
}
