//! The recording commands as the application layer offers them: each checks its caller's
//! permission, then queues one job for the writer.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use grant_ledger_domain::{authorize, AccessCommand, Action, Command, EventData, EventType, Role};
use grant_ledger_store::EventStore;
use uuid::Uuid;

use super::{Job, Op};
use crate::access::{new_token, token_sha256, AccessRow, Caller, GrantedAccess};
use crate::codec::decode_grant;
use crate::error::LedgerError;
use crate::ledger::Ledger;
use crate::rows::Recorded;

impl<S: EventStore> Ledger<S> {
    /// Records one command (import, pay, spend, recover) made by `caller`.
    ///
    /// With a key: the same key and the same command again returns the originally appended
    /// events with `duplicate: true`; the same key with a different command is refused.
    /// Importing an identical determination again returns `duplicate: true` and no events.
    pub fn record(
        &self,
        caller: &Caller,
        key: Option<&str>,
        command: Command,
    ) -> Result<Recorded, LedgerError> {
        self.submit(job(caller, key, command)?)
    }

    /// [`Ledger::record`] without waiting: `done` is called with the same answer once the
    /// command's group is committed (and fsynced), on the writer's thread, so a caller on an
    /// async runtime needs no thread of its own per command.
    pub fn record_then(
        self: &Arc<Self>,
        caller: &Caller,
        key: Option<&str>,
        command: Command,
        done: impl FnOnce(Result<Recorded, LedgerError>) + Send + 'static,
    ) where
        S: 'static,
    {
        match job(caller, key, command) {
            Ok(job) => self.submit_then(job, Box::new(done)),
            Err(e) => done(Err(e)),
        }
    }

    /// Reverses the event named by `target` (an event id, or a log position), then records
    /// the reversal like any other command.
    pub fn reverse(
        &self,
        caller: &Caller,
        key: Option<&str>,
        target: &str,
        reason: &str,
        date: Option<NaiveDate>,
    ) -> Result<Recorded, LedgerError> {
        let rec = self.find_event(target)?;
        let event = decode_grant(&rec).map_err(|_| {
            LedgerError::refused(format!(
                "the event at position {} is an access event; only a payment, spend or recovery can be reversed",
                rec.position
            ))
        })?;
        let command = Command::ReverseEvent {
            id: Uuid::now_v7(),
            determination: event.data.determination_id().to_string(),
            target: event,
            reason: reason.to_string(),
            date,
        };
        self.record(caller, key, command)
    }

    /// Creates an access token for `name` with `role`, shown only in the answer.
    pub fn grant_access(
        &self,
        caller: &Caller,
        key: Option<&str>,
        name: &str,
        role: Role,
        at: DateTime<Utc>,
    ) -> Result<GrantedAccess, LedgerError> {
        permit(caller, Action::ManageAccess)?;
        if let Role::Region(slug) = &role {
            self.known_region_slug(slug)?;
        }
        let token = new_token()?;
        let recorded = self.submit(Job {
            actor: caller.name.clone(),
            key: key.map(str::to_string),
            op: Op::Access(AccessCommand::Grant {
                id: Uuid::now_v7(),
                name: name.to_string(),
                role: role.clone(),
                token_sha256: token_sha256(&token),
                at,
            }),
        })?;
        if recorded.duplicate {
            return Err(LedgerError::conflict(format!(
                "access \"{}\" was already granted under this key; its token was shown only then, so revoke it and grant it again",
                name.trim()
            )));
        }
        Ok(GrantedAccess {
            name: name.trim().to_string(),
            role,
            token,
        })
    }

    /// Revokes the grant named `name`: its token is refused from the next request on.
    pub fn revoke_access(
        &self,
        caller: &Caller,
        key: Option<&str>,
        name: &str,
        at: DateTime<Utc>,
    ) -> Result<Recorded, LedgerError> {
        permit(caller, Action::ManageAccess)?;
        self.submit(Job {
            actor: caller.name.clone(),
            key: key.map(str::to_string),
            op: Op::Access(AccessCommand::Revoke {
                id: Uuid::now_v7(),
                name: name.to_string(),
                at,
            }),
        })
    }

    /// Every grant ever made, oldest first (never a token).
    pub fn access_list(&self, caller: &Caller) -> Result<Vec<AccessRow>, LedgerError> {
        permit(caller, Action::ManageAccess)?;
        Ok(self.snapshot().access.grants.clone())
    }
}

/// The job recording `command` for `caller`, once the caller may make it.
fn job(caller: &Caller, key: Option<&str>, command: Command) -> Result<Job, LedgerError> {
    let action = match &command {
        // Varying or withdrawing a determination is the department's act, as making it is.
        Command::MakeDetermination { .. }
        | Command::WithdrawDetermination { .. }
        | Command::VaryDetermination { .. } => Action::ImportDetermination,
        Command::IssuePayment { .. } => Action::Pay,
        Command::RecoverGrant { .. } => Action::Recover,
        Command::SpendFunds { region, .. } => Action::Spend { region },
        Command::ReverseEvent { target, .. } => reversal_action(&target.data),
    };
    permit(caller, action)?;
    Ok(Job {
        actor: caller.name.clone(),
        key: key.map(str::to_string),
        op: Op::Grant(command),
    })
}

/// What reversing an event of this kind needs permission for.
fn reversal_action(target: &EventData) -> Action<'_> {
    match target {
        EventData::FundsSpent(spent) => Action::ReverseSpend {
            region: &spent.region,
        },
        // Reversing a reversal or a determination is refused by the rules; finance may ask.
        _ => Action::ReverseMoney,
    }
}

/// `Ok` when `caller` may do `action`; the owner of a local ledger may do everything.
pub(crate) fn permit(caller: &Caller, action: Action<'_>) -> Result<(), LedgerError> {
    match &caller.role {
        None => Ok(()),
        Some(role) => Ok(authorize(&caller.name, role, action)?),
    }
}

/// The event type names of both families, for `history --type`.
pub fn event_type_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    names.extend([
        grant_ledger_domain::ACCESS_GRANTED,
        grant_ledger_domain::ACCESS_REVOKED,
        grant_ledger_domain::MODELS_REBUILT,
    ]);
    names
}
