//! The arguments of the queries: `balances`, `deadlines`, `spend-report` and `history`.

use clap::builder::NonEmptyStringValueParser;
use clap::Args;

#[derive(Debug, Args)]
pub struct BalancesArgs {
    /// Only this determination
    #[arg(value_name = "ID", value_parser = NonEmptyStringValueParser::new())]
    pub id: Option<String>,
    /// Only this region, by name in any case or slug
    #[arg(long, value_name = "R")]
    pub region: Option<String>,
    /// Count only events whose effective date is on or before this date, YYYY-MM-DD
    #[arg(long = "as-of", value_name = "D")]
    pub as_of: Option<String>,
}

#[derive(Debug, Args)]
pub struct DeadlinesArgs {
    /// Only this determination
    #[arg(value_name = "ID", value_parser = NonEmptyStringValueParser::new())]
    pub id: Option<String>,
    /// The date to count days from, YYYY-MM-DD [default: today's local date]
    #[arg(long, value_name = "D")]
    pub today: Option<String>,
}

#[derive(Debug, Args)]
pub struct SpendReportArgs {
    /// The determination id, e.g. 31/7421 [default: every determination]
    #[arg(value_name = "ID", value_parser = NonEmptyStringValueParser::new())]
    pub id: Option<String>,
    /// Only this region, by name in any case or slug
    #[arg(long, value_name = "R")]
    pub region: Option<String>,
    /// One line per purpose, or per authority of each region [default: purpose]
    #[arg(long, value_name = "purpose|authority")]
    pub by: Option<String>,
    /// Count only events effective on or before this date, YYYY-MM-DD
    #[arg(long = "as-of", value_name = "D")]
    pub as_of: Option<String>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only events of this region, by name in any case or slug
    #[arg(long, value_name = "R")]
    pub region: Option<String>,
    /// Only events of this type: DeterminationMade, PaymentIssued, FundsSpent, GrantRecovered, EventReversed, DeterminationWithdrawn, DeterminationVaried, AccessGranted, AccessRevoked, ModelsRebuilt
    #[arg(long = "type", value_name = "T")]
    pub event_type: Option<String>,
    /// Only events effective on or after this date, YYYY-MM-DD
    #[arg(long, value_name = "D")]
    pub since: Option<String>,
    /// Only events effective on or before this date, YYYY-MM-DD
    #[arg(long, value_name = "D")]
    pub until: Option<String>,
    /// At most this many events (the first matching, in the order listed)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub limit: Option<usize>,
    /// Only events listed after this position (for paging): later positions, or with --newest-first earlier ones
    #[arg(long, value_name = "POSITION", allow_negative_numbers = true)]
    pub after: Option<u64>,
    /// Only events recorded by this actor (the token's name through a server), any case
    #[arg(long = "recorded-by", value_name = "NAME")]
    pub recorded_by: Option<String>,
    /// Only events of this determination
    #[arg(long, value_name = "ID")]
    pub determination: Option<String>,
    /// Only the events recorded with this idempotency key
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// Only spend on this purpose, in any case, with spaces or hyphens
    #[arg(long, value_name = "P")]
    pub purpose: Option<String>,
    /// Only spend naming this authority, and payments to it as lead authority (any case)
    #[arg(long, value_name = "A")]
    pub authority: Option<String>,
    /// Newest first (then --after POSITION keeps the events before that position)
    #[arg(long = "newest-first")]
    pub newest_first: bool,
}
