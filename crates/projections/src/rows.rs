//! The values the facade hands to the binary: query rows, history entries, recording
//! results. Field names are the JSON contract of `docs/reference/cli.md`; renaming one breaks
//! finance teams' scripts.

use chrono::{DateTime, NaiveDate, Utc};
use grant_ledger_domain::{Determination, Money, State, Variation, Withdrawal};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Whether an allocation has been paid in full, and if so whether any payment was late.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BalanceStatus {
    Unpaid,
    Paid,
    PaidLate,
}

impl BalanceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BalanceStatus::Unpaid => "unpaid",
            BalanceStatus::Paid => "paid",
            BalanceStatus::PaidLate => "paid-late",
        }
    }
}

/// One allocation's money: `balances`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceRow {
    pub determination: String,
    pub region: String,
    pub lead_authority: String,
    pub determined: Money,
    pub paid: Money,
    pub recovered: Money,
    pub spent: Money,
    /// determined − paid; nothing once withdrawn (nothing is to be paid then).
    pub unpaid: Money,
    /// paid − recovered − spent
    pub unspent: Money,
    /// What is still to be paid: determined − paid, and nothing once withdrawn.
    #[serde(default)]
    pub outstanding: Money,
    /// Payments counted (not reversed), each one instalment.
    #[serde(default)]
    pub instalments_paid: u32,
    pub status: BalanceStatus,
    pub paid_on: Option<NaiveDate>,
    /// The day its determination was withdrawn (as of the day asked, with `--as-of`), when
    /// it was: nothing is then outstanding, whatever `status` says of what was paid (the
    /// contract fixes the status values, so the withdrawal is said here).
    #[serde(default)]
    pub withdrawn: Option<NaiveDate>,
}

/// Where an allocation stands against the payment deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeadlineStatus {
    Paid,
    PaidLate,
    Due,
    Overdue,
}

impl DeadlineStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeadlineStatus::Paid => "paid",
            DeadlineStatus::PaidLate => "paid-late",
            DeadlineStatus::Due => "due",
            DeadlineStatus::Overdue => "overdue",
        }
    }
}

/// One allocation against its deadline: `deadlines`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineRow {
    pub determination: String,
    pub region: String,
    pub deadline: NaiveDate,
    pub status: DeadlineStatus,
    /// deadline − today; negative when overdue, `None` once paid.
    pub days_left: Option<i64>,
    /// What is still to be paid on `today`: determined − paid, nothing once withdrawn.
    #[serde(default)]
    pub outstanding: Money,
    /// Payments dated by `today` and not reversed, each one instalment.
    #[serde(default)]
    pub instalments_paid: u32,
    /// Each instalment of the determination's schedule; empty without one.
    #[serde(default)]
    pub schedule: Vec<InstalmentRow>,
}

/// One instalment of a schedule, on `today`: payments are counted towards the
/// instalments in order, so an instalment is paid once everything before it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalmentRow {
    /// 1-based.
    pub instalment: u32,
    pub due: NaiveDate,
    pub amount: Money,
    pub outstanding: Money,
}

/// How `spend-report` divides a region's allocation into lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpendReportBy {
    /// One line per purpose (formula component).
    #[default]
    Purpose,
    /// One line per authority of the region.
    Authority,
}

impl SpendReportBy {
    pub fn as_str(self) -> &'static str {
        match self {
            SpendReportBy::Purpose => "purpose",
            SpendReportBy::Authority => "authority",
        }
    }

    /// `purpose` or `authority`, in any case; `what` names the flag or parameter.
    pub fn parse(what: &str, text: &str) -> Result<Self, crate::error::LedgerError> {
        [SpendReportBy::Purpose, SpendReportBy::Authority]
            .into_iter()
            .find(|by| by.as_str().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| {
                crate::error::LedgerError::malformed(format!(
                    "{what} \"{}\" is not a way to divide the report; use purpose or authority",
                    grant_ledger_domain::echo(text)
                ))
            })
    }
}

/// What one `spend-report` row is a line of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpendLine {
    /// One purpose (a formula component) of a region: `--by purpose`, the default.
    #[default]
    Purpose,
    /// What a region was determined beyond the sum of its formula components, and the
    /// region's recoveries, which are clawed back from the allocation, not from a purpose.
    AboveFormula,
    /// The same line when the region is determined *below* its formula (a variation cut
    /// it): its budget is the negative gap, so it is not called "above".
    BelowFormula,
    /// One authority of a region, its budget the formula's per-authority components:
    /// `--by authority`.
    Authority,
    /// The rest of a region's allocation under `--by authority`: every budget that is not
    /// per authority, spend that names no authority, and the region's recoveries.
    RegionWide,
}

impl SpendLine {
    /// What a table shows for a line that is not of one purpose or authority.
    pub fn label(self) -> Option<&'static str> {
        match self {
            SpendLine::Purpose | SpendLine::Authority => None,
            SpendLine::AboveFormula => Some("determined above formula"),
            SpendLine::BelowFormula => Some("determined below formula"),
            SpendLine::RegionWide => Some("region-wide"),
        }
    }
}

/// One line of `spend-report`: a region's spend on one purpose (or through one authority)
/// against the formula. A region's lines add up to its allocation, so the sum of their
/// `remaining` is the region's `unspent` in `balances` plus what is still unpaid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendReportRow {
    pub determination: String,
    pub region: String,
    #[serde(default)]
    pub line: SpendLine,
    /// The purpose of a `purpose` line; null on every other line.
    #[serde(default)]
    pub purpose: Option<String>,
    /// The authority of an `authority` line; null on every other line.
    #[serde(default)]
    pub authority: Option<String>,
    pub budget: Money,
    pub spent: Money,
    /// Recovered (clawed back) from the region: only on its `above-formula` (or
    /// `below-formula`) or `region-wide` line, zero elsewhere.
    #[serde(default)]
    pub recovered: Money,
    /// budget − spent − recovered; negative when a line is overspent (allowed: the rule is
    /// per region).
    pub remaining: Money,
}

/// One event of the audit trail, as `history` and every recording command print it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub position: u64,
    pub event_id: Uuid,
    #[serde(rename = "type")]
    pub event_type: String,
    pub stream: String,
    pub version: u64,
    pub recorded_at: DateTime<Utc>,
    pub actor: String,
    pub key: Option<String>,
    pub effective_date: NaiveDate,
    /// The event's own fields, exactly as stored.
    pub data: serde_json::Value,
    /// The event's hash in the chain, lower-case hex.
    pub hash: String,
}

/// Which events `history` streams. Empty means all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    /// Region name in any case or slug; events without a region are left out when set.
    pub region: Option<String>,
    /// An event type name (`PaymentIssued`, `AccessGranted`...), as stored.
    pub event_type: Option<String>,
    /// Effective date on or after.
    pub since: Option<NaiveDate>,
    /// Effective date on or before.
    pub until: Option<NaiveDate>,
    /// At most this many entries (the first matching ones in the order asked for).
    pub limit: Option<usize>,
    /// Only events at positions after this one (for paging and for resuming a stream).
    pub after: Option<u64>,
    /// Only events recorded by this actor (any case).
    pub recorded_by: Option<String>,
    /// Only events of this determination (its id, exactly).
    pub determination: Option<String>,
    /// Only the events recorded under this idempotency key (exactly).
    pub key: Option<String>,
    /// Only spend on this purpose, named as `spend` names it (any case, spaces or hyphens).
    pub purpose: Option<String>,
    /// Only spend naming this authority and payments to it as lead authority (any case).
    pub authority: Option<String>,
    /// Newest first; `after` then keeps the positions below it (the next page down).
    pub newest_first: bool,
}

/// What a recording command did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    /// True when nothing new was written: a repeated key, or an identical re-import.
    pub duplicate: bool,
    /// The events appended now, or for a repeated key the ones appended originally.
    pub events: Vec<HistoryEntry>,
}

/// One row of a spend import file, with the 1-based line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendRow {
    pub line: u64,
    pub determination: String,
    pub region: String,
    pub amount: Money,
    pub date: NaiveDate,
    pub purpose: String,
    pub authority: Option<String>,
    pub description: Option<String>,
    pub reference: Option<String>,
    pub key: Option<String>,
}

/// What `import_spends` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ImportSummary {
    /// A repeat of an import already recorded under the same key (then `imported` counts
    /// what the first import recorded). Not part of the JSON: the server says it with
    /// `Idempotency-Hit`.
    #[serde(skip)]
    pub duplicate: bool,
    /// Rows recorded now (the HTTP contract's name).
    pub imported: u64,
    /// The same count, under the name the CLI's JSON has always used.
    pub recorded: u64,
    /// Rows whose key was already recorded for an identical row.
    pub skipped: u64,
    pub first_position: Option<u64>,
    pub last_position: Option<u64>,
}

/// What `verify` checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifySummary {
    /// Always true: a failed verify is an error, not a summary.
    pub ok: bool,
    pub events: u64,
    pub head_position: u64,
    pub head_hash: String,
    /// Stored read models compared with a fresh replay.
    pub models: usize,
}

/// One determination as `determination list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeterminationSummary {
    pub id: String,
    pub title: String,
    pub financial_year: String,
    pub made_on: NaiveDate,
    pub payment_deadline: NaiveDate,
    pub grant_period_start: NaiveDate,
    pub grant_period_end: NaiveDate,
    pub instalments: u32,
    pub allocations: usize,
    /// The allocations as last varied.
    pub total: Money,
    /// When and why it was withdrawn; null while it stands.
    #[serde(default)]
    pub withdrawn: Option<Withdrawal>,
}

impl DeterminationSummary {
    /// The summary of a stream's state; `None` before its determination is made.
    pub fn of(state: &State) -> Option<Self> {
        let d = state.determination.as_ref()?;
        Some(DeterminationSummary {
            id: d.id.clone(),
            title: d.title.clone(),
            financial_year: d.financial_year.clone(),
            made_on: d.made_on,
            payment_deadline: d.payment_deadline,
            grant_period_start: d.grant_period.start,
            grant_period_end: d.grant_period.end,
            instalments: d.instalments,
            allocations: d.allocations.len(),
            total: d.allocations.iter().fold(Money::ZERO, |sum, a| {
                crate::money_ops::plus(sum, state.allocated(&a.region))
            }),
            withdrawn: state.withdrawn.clone(),
        })
    }
}

/// One determination as `determination show` gives it: the determination as made, and
/// (only when there are any, so an untouched determination reads as it always did)
/// its withdrawal and its variations, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeterminationRecord {
    #[serde(flatten)]
    pub determination: Determination,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<Withdrawal>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub variations: Vec<Variation>,
}

/// Read back from the JSON a server sends: the determination refuses unknown keys, so
/// the two additions are taken off first.
impl<'de> Deserialize<'de> for DeterminationRecord {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut value = serde_json::Value::deserialize(deserializer)?;
        let object = value
            .as_object_mut()
            .ok_or_else(|| D::Error::custom("a determination must be a JSON object"))?;
        let withdrawn = object.remove("withdrawn").unwrap_or_default();
        let variations = object.remove("variations").unwrap_or_default();
        Ok(DeterminationRecord {
            withdrawn: serde_json::from_value(withdrawn).map_err(D::Error::custom)?,
            variations: if variations.is_null() {
                Vec::new()
            } else {
                serde_json::from_value(variations).map_err(D::Error::custom)?
            },
            determination: serde_json::from_value(value).map_err(D::Error::custom)?,
        })
    }
}
