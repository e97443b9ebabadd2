//! The typed request/response API of the ledger: every command and query of the contract
//! as one method of [`Api`], taking typed, already-parsed requests and returning the values
//! whose JSON is the contract's. The command line renders these values; the server
//! serialises them; a client of the server implements the same trait over HTTP, so the
//! command line runs unchanged against either.
//!
//! [`Session`] is the implementation over a [`Ledger`]: one caller (with its role) bound to
//! one ledger, so every method is authorised the same way whichever front end called it.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use grant_ledger_domain::{Command, Determination, FormulaCheck, Money, Role};
use grant_ledger_store::{EventStore, Idempotency};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::access::{AccessRow, Caller, GrantedAccess};
use crate::checkpoint::Receipt;
use crate::error::LedgerError;
use crate::export::{ExportRequest, GrantPackage};
use crate::input::non_empty;
use crate::ledger::Ledger;
use crate::rows::{
    BalanceRow, DeadlineRow, DeterminationRecord, DeterminationSummary, HistoryEntry,
    HistoryFilter, ImportSummary, Recorded, SpendReportBy, SpendReportRow, SpendRow, VerifySummary,
};
use crate::writer::permit;

/// Where a determination to import came from: the server is sent the source, so that it
/// parses exactly what the client parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeterminationSource {
    /// One that ships with the program, by id.
    Builtin(String),
    /// The text of a determination file (TOML).
    Toml(String),
}

/// `pay`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayRequest {
    pub determination: String,
    pub region: String,
    pub amount: Money,
    pub date: NaiveDate,
    pub reference: Option<String>,
    pub late_reason: Option<String>,
}

/// `spend`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendRequest {
    pub determination: String,
    pub region: String,
    pub amount: Money,
    pub date: NaiveDate,
    pub purpose: String,
    pub authority: Option<String>,
    pub description: Option<String>,
    pub reference: Option<String>,
}

/// `recover`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoverRequest {
    pub determination: String,
    pub region: String,
    pub amount: Money,
    pub date: NaiveDate,
    pub reason: String,
}

/// `reverse`: `event` is an event id or a position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReverseRequest {
    pub event: String,
    pub reason: String,
    pub date: Option<NaiveDate>,
}

/// `determination withdraw`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawRequest {
    pub reason: String,
    pub date: NaiveDate,
}

/// `determination vary`: the new allocation table (regions left out keep theirs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaryRequest {
    pub allocations: Vec<VariedAmount>,
    pub reason: String,
    pub date: NaiveDate,
}

/// One region's new allocation in a [`VaryRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariedAmount {
    pub region: String,
    pub amount: Money,
}

/// `balances`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BalancesQuery {
    pub determination: Option<String>,
    pub region: Option<String>,
    pub as_of: Option<NaiveDate>,
}

/// `deadlines`, on `today`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlinesQuery {
    pub determination: Option<String>,
    pub today: NaiveDate,
}

/// `spend-report`: of one determination or (`None`) every one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpendReportQuery {
    pub determination: Option<String>,
    pub region: Option<String>,
    pub by: SpendReportBy,
    pub as_of: Option<NaiveDate>,
}

impl SpendReportQuery {
    /// By purpose and as of now: one determination's report, optionally of one region.
    pub fn of(determination: &str, region: Option<&str>) -> Self {
        SpendReportQuery {
            determination: Some(determination.to_string()),
            region: region.map(str::to_string),
            ..SpendReportQuery::default()
        }
    }
}

/// Every command and query of the contract. Writes take an optional idempotency key.
pub trait Api {
    fn import_determination(
        &self,
        key: Option<&str>,
        source: &DeterminationSource,
        determination: Determination,
    ) -> Result<Recorded, LedgerError>;
    fn pay(&self, key: Option<&str>, request: PayRequest) -> Result<Recorded, LedgerError>;
    fn spend(&self, key: Option<&str>, request: SpendRequest) -> Result<Recorded, LedgerError>;
    fn recover(&self, key: Option<&str>, request: RecoverRequest) -> Result<Recorded, LedgerError>;
    fn reverse(&self, key: Option<&str>, request: ReverseRequest) -> Result<Recorded, LedgerError>;
    fn withdraw(
        &self,
        key: Option<&str>,
        determination: &str,
        request: WithdrawRequest,
    ) -> Result<Recorded, LedgerError>;
    fn vary(
        &self,
        key: Option<&str>,
        determination: &str,
        request: VaryRequest,
    ) -> Result<Recorded, LedgerError>;
    /// Records every row of `csv` (the spend import format) or none; `progress` is called
    /// with the bytes of `csv` parsed so far.
    /// With `key`, the whole import is idempotent: the same key and the same bytes again
    /// append nothing.
    fn import_spends(
        &self,
        key: Option<&str>,
        csv: Box<dyn std::io::Read + '_>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<ImportSummary, LedgerError>;
    fn determinations(&self) -> Result<Vec<DeterminationSummary>, LedgerError>;
    fn determination(&self, id: &str) -> Result<DeterminationRecord, LedgerError>;
    fn check(&self, id: &str) -> Result<FormulaCheck, LedgerError>;
    fn balances(&self, query: &BalancesQuery) -> Result<Vec<BalanceRow>, LedgerError>;
    fn deadlines(&self, query: &DeadlinesQuery) -> Result<Vec<DeadlineRow>, LedgerError>;
    fn spend_report(&self, query: &SpendReportQuery) -> Result<Vec<SpendReportRow>, LedgerError>;
    /// Streams the audit trail to `each`, oldest first.
    fn history(
        &self,
        filter: &HistoryFilter,
        each: &mut dyn FnMut(HistoryEntry) -> Result<(), LedgerError>,
    ) -> Result<(), LedgerError>;
    fn verify(&self) -> Result<VerifySummary, LedgerError>;
    /// A signed receipt for the ledger's head, as it is now (nothing is recorded).
    fn checkpoint(&self) -> Result<Receipt, LedgerError>;
    fn grant_access(
        &self,
        key: Option<&str>,
        name: &str,
        role: Role,
    ) -> Result<GrantedAccess, LedgerError>;
    fn list_access(&self) -> Result<Vec<AccessRow>, LedgerError>;
    fn revoke_access(&self, key: Option<&str>, name: &str) -> Result<Recorded, LedgerError>;
    /// Every read model rebuilt from the log (admin): the `ModelsRebuilt` event. With
    /// `key`, the same key and reason again answer the original event and rebuild nothing.
    fn rebuild(&self, key: Option<&str>, reason: &str) -> Result<Recorded, LedgerError>;
    /// The grants as a 360Giving data package.
    fn export_360giving(&self, request: &ExportRequest) -> Result<GrantPackage, LedgerError>;
}

/// One caller bound to one ledger: the [`Api`] over a local or served ledger.
pub struct Session<S: EventStore> {
    pub ledger: Arc<Ledger<S>>,
    pub caller: Caller,
    /// The clock for grant and revocation times (the domain reads none).
    pub now: fn() -> DateTime<Utc>,
    /// The day nothing may be recorded after (`--today`); `None`: the clock's local date.
    pub today: Option<NaiveDate>,
}

impl<S: EventStore> Session<S> {
    pub fn new(ledger: Arc<Ledger<S>>, caller: Caller) -> Self {
        Session {
            ledger,
            caller,
            now: Utc::now,
            today: None,
        }
    }

    /// The same session on `today` instead of the clock's date.
    pub fn on(self, today: Option<NaiveDate>) -> Self {
        Session { today, ..self }
    }

    fn today(&self) -> NaiveDate {
        self.today
            .unwrap_or_else(|| (self.now)().with_timezone(&chrono::Local).date_naive())
    }

    /// Records `command` once the domain agrees it has happened by today.
    fn record(&self, key: Option<&str>, command: Command) -> Result<Recorded, LedgerError> {
        grant_ledger_domain::happened_by(&command, self.today())?;
        self.ledger.record(&self.caller, key, command)
    }

    /// Records a payment, spend or recovery as [`Api`] does, without waiting: `done` gets
    /// the same answer once it is committed and fsynced (see [`Ledger::record_then`]).
    pub fn record_then(
        &self,
        key: Option<&str>,
        request: Recording,
        done: impl FnOnce(Result<Recorded, LedgerError>) + Send + 'static,
    ) where
        S: 'static,
    {
        let command = request.command();
        match grant_ledger_domain::happened_by(&command, self.today()) {
            Ok(()) => self.ledger.record_then(&self.caller, key, command, done),
            Err(e) => done(Err(e.into())),
        }
    }
}

/// A recording request that [`Session::record_then`] takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recording {
    Pay(PayRequest),
    Spend(SpendRequest),
    Recover(RecoverRequest),
}

impl Recording {
    /// The domain command it asks for, with a fresh event id.
    fn command(self) -> Command {
        match self {
            Recording::Pay(r) => Command::IssuePayment {
                id: Uuid::now_v7(),
                determination: r.determination,
                region: r.region,
                amount: r.amount,
                date: r.date,
                reference: non_empty(r.reference),
                late_reason: r.late_reason,
            },
            Recording::Spend(r) => Command::SpendFunds {
                id: Uuid::now_v7(),
                determination: r.determination,
                region: r.region,
                amount: r.amount,
                date: r.date,
                purpose: r.purpose,
                authority: non_empty(r.authority),
                description: non_empty(r.description),
                reference: non_empty(r.reference),
            },
            Recording::Recover(r) => Command::RecoverGrant {
                id: Uuid::now_v7(),
                determination: r.determination,
                region: r.region,
                amount: r.amount,
                date: r.date,
                reason: r.reason,
            },
        }
    }
}

impl<S: EventStore> Api for Session<S> {
    fn import_determination(
        &self,
        key: Option<&str>,
        _source: &DeterminationSource,
        determination: Determination,
    ) -> Result<Recorded, LedgerError> {
        let (recorded, _) = self
            .ledger
            .import_determination(&self.caller, key, determination)?;
        Ok(recorded)
    }

    fn pay(&self, key: Option<&str>, r: PayRequest) -> Result<Recorded, LedgerError> {
        self.record(key, Recording::Pay(r).command())
    }

    fn spend(&self, key: Option<&str>, r: SpendRequest) -> Result<Recorded, LedgerError> {
        self.record(key, Recording::Spend(r).command())
    }

    fn recover(&self, key: Option<&str>, r: RecoverRequest) -> Result<Recorded, LedgerError> {
        self.record(key, Recording::Recover(r).command())
    }

    fn reverse(&self, key: Option<&str>, r: ReverseRequest) -> Result<Recorded, LedgerError> {
        if let Some(date) = r.date {
            grant_ledger_domain::dated_by("reversal", date, self.today())?;
        }
        self.ledger
            .reverse(&self.caller, key, &r.event, &r.reason, r.date)
    }

    fn withdraw(
        &self,
        key: Option<&str>,
        determination: &str,
        r: WithdrawRequest,
    ) -> Result<Recorded, LedgerError> {
        let command = Command::WithdrawDetermination {
            id: Uuid::now_v7(),
            determination: determination.trim().to_string(),
            date: r.date,
            reason: r.reason,
        };
        self.record(key, command)
    }

    fn vary(
        &self,
        key: Option<&str>,
        determination: &str,
        r: VaryRequest,
    ) -> Result<Recorded, LedgerError> {
        let command = Command::VaryDetermination {
            id: Uuid::now_v7(),
            determination: determination.trim().to_string(),
            date: r.date,
            reason: r.reason,
            allocations: r
                .allocations
                .into_iter()
                .map(|a| (a.region, a.amount))
                .collect(),
        };
        self.record(key, command)
    }

    fn import_spends(
        &self,
        key: Option<&str>,
        csv: Box<dyn std::io::Read + '_>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<ImportSummary, LedgerError> {
        let (csv, guard): (Box<dyn std::io::Read + '_>, _) = match key {
            None => (csv, None),
            Some(key) => {
                // The key guards these exact bytes, so they are read (and hashed) first.
                let bytes = read_whole(csv)?;
                let guard = Idempotency {
                    key: key.to_string(),
                    fingerprint: crate::fingerprint::import_fingerprint(&bytes),
                };
                (Box::new(std::io::Cursor::new(bytes)), Some(guard))
            }
        };
        let mut rows = crate::spend_csv::SpendRows::new(csv)?;
        let parsed = rows.bytes_parsed();
        let today = self.today();
        let mut rows = rows.by_ref().map(|row: Result<SpendRow, LedgerError>| {
            let row = row?;
            grant_ledger_domain::dated_by("spend", row.date, today)
                .map_err(|e| LedgerError::from(e).at_line(row.line))?;
            Ok(row)
        });
        self.ledger
            .import_spends_keyed(&self.caller, guard, &mut rows, &mut |_| {
                progress(parsed.get())
            })
    }

    fn determinations(&self) -> Result<Vec<DeterminationSummary>, LedgerError> {
        Ok(self.ledger.summaries())
    }

    fn determination(&self, id: &str) -> Result<DeterminationRecord, LedgerError> {
        self.ledger.determination_record(id)
    }

    fn check(&self, id: &str) -> Result<FormulaCheck, LedgerError> {
        self.ledger.check(id)
    }

    fn balances(&self, q: &BalancesQuery) -> Result<Vec<BalanceRow>, LedgerError> {
        self.ledger
            .balances(q.determination.as_deref(), q.region.as_deref(), q.as_of)
    }

    fn deadlines(&self, q: &DeadlinesQuery) -> Result<Vec<DeadlineRow>, LedgerError> {
        self.ledger.deadlines(q.determination.as_deref(), q.today)
    }

    fn spend_report(&self, q: &SpendReportQuery) -> Result<Vec<SpendReportRow>, LedgerError> {
        self.ledger.spend_report(q)
    }

    fn history(
        &self,
        filter: &HistoryFilter,
        each: &mut dyn FnMut(HistoryEntry) -> Result<(), LedgerError>,
    ) -> Result<(), LedgerError> {
        self.ledger.history(filter, each)
    }

    fn verify(&self) -> Result<VerifySummary, LedgerError> {
        self.ledger.verify()
    }

    fn checkpoint(&self) -> Result<Receipt, LedgerError> {
        may_read(&self.caller)?;
        self.ledger.checkpoint((self.now)())
    }

    fn grant_access(
        &self,
        key: Option<&str>,
        name: &str,
        role: Role,
    ) -> Result<GrantedAccess, LedgerError> {
        self.ledger
            .grant_access(&self.caller, key, name, role, (self.now)())
    }

    fn list_access(&self) -> Result<Vec<AccessRow>, LedgerError> {
        self.ledger.access_list(&self.caller)
    }

    fn revoke_access(&self, key: Option<&str>, name: &str) -> Result<Recorded, LedgerError> {
        self.ledger
            .revoke_access(&self.caller, key, name, (self.now)())
    }

    fn rebuild(&self, key: Option<&str>, reason: &str) -> Result<Recorded, LedgerError> {
        self.ledger.rebuild(&self.caller, key, reason, (self.now)())
    }

    fn export_360giving(&self, request: &ExportRequest) -> Result<GrantPackage, LedgerError> {
        may_read(&self.caller)?;
        self.ledger.export_360giving(request)
    }
}

/// Whether `caller` may use the ledger at all (every role may read).
pub fn may_read(caller: &Caller) -> Result<(), LedgerError> {
    permit(caller, grant_ledger_domain::Action::Read)
}

/// The whole of an input, for hashing.
fn read_whole(mut input: Box<dyn std::io::Read + '_>) -> Result<Vec<u8>, LedgerError> {
    let mut bytes = Vec::new();
    input
        .read_to_end(&mut bytes)
        .map_err(|e| LedgerError::malformed(format!("the spend file cannot be read: {e}")))?;
    Ok(bytes)
}
