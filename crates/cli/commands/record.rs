//! The recording commands that name one entry on the command line (`pay`, `spend`,
//! `recover`, `reverse`), and how any recording command prints what it appended.

use grant_ledger_projections::{
    input, PayRequest, Recorded, RecoverRequest, ReverseRequest, SpendRequest,
};

use super::{budget, Context};
use crate::args::{self, Format};
use crate::error::CliResult;
use crate::output;
use crate::render;

pub(super) fn pay(ctx: &Context, a: args::PayArgs) -> CliResult {
    let e = a.entry;
    let request = PayRequest {
        amount: input::money("--amount", &e.amount)?,
        date: input::date("--date", &e.date)?,
        determination: e.id,
        region: e.region,
        reference: a.reference,
        late_reason: a.late_reason,
    };
    let key = input::key(e.key)?;
    let api = ctx.adding_on(
        &unknown_determination(&request.determination),
        a.today.as_deref(),
    )?;
    announced(ctx, key.as_deref(), api.pay(key.as_deref(), request)?)
}

pub(super) fn spend(ctx: &Context, a: args::SpendArgs) -> CliResult {
    let e = a.entry;
    let request = SpendRequest {
        amount: input::money("--amount", &e.amount)?,
        date: input::date("--date", &e.date)?,
        determination: e.id,
        region: e.region,
        purpose: a.purpose,
        authority: a.authority,
        description: a.description,
        reference: a.reference,
    };
    let key = input::key(e.key)?;
    let api = ctx.adding_on(
        &unknown_determination(&request.determination),
        a.today.as_deref(),
    )?;
    let recorded = api.spend(key.as_deref(), request)?;
    if !recorded.duplicate {
        budget::warn_after_spend(api.as_ref(), &recorded);
    }
    announced(ctx, key.as_deref(), recorded)
}

pub(super) fn recover(ctx: &Context, a: args::RecoverArgs) -> CliResult {
    let e = a.entry;
    let request = RecoverRequest {
        amount: input::money("--amount", &e.amount)?,
        date: input::date("--date", &e.date)?,
        determination: e.id,
        region: e.region,
        reason: a.reason,
    };
    let key = input::key(e.key)?;
    let api = ctx.adding_on(
        &unknown_determination(&request.determination),
        a.today.as_deref(),
    )?;
    announced(ctx, key.as_deref(), api.recover(key.as_deref(), request)?)
}

pub fn unknown_determination(id: &str) -> String {
    format!("unknown determination {}", id.trim())
}

pub(super) fn reverse(ctx: &Context, a: args::ReverseArgs) -> CliResult {
    let request = ReverseRequest {
        date: input::opt_date("--date", a.date.as_deref())?,
        event: a.event,
        reason: a.reason,
    };
    let key = input::key(a.key)?;
    let api = ctx.adding_on(
        &format!("unknown event {}", request.event.trim()),
        a.today.as_deref(),
    )?;
    announced(ctx, key.as_deref(), api.reverse(key.as_deref(), request)?)
}

/// Prints what a recording command appended, saying so first if it was a repeat.
pub fn announced(ctx: &Context, key: Option<&str>, recorded: Recorded) -> CliResult {
    announce_duplicate(key, &recorded);
    print_recorded(ctx.format, &recorded)
}

fn announce_duplicate(key: Option<&str>, recorded: &Recorded) {
    if recorded.duplicate {
        let position = recorded
            .events
            .first()
            .map(|e| format!(" at position {}", e.position))
            .unwrap_or_default();
        eprintln!(
            "already recorded with key {}{position}; nothing was appended",
            key.unwrap_or("(none)")
        );
    }
}

/// A recording command's output: the appended (or, for a repeat, the
/// original) event. JSON: the history object (an array if there were several).
pub fn print_recorded(format: Format, recorded: &Recorded) -> CliResult {
    let mut out = output::stdout();
    match format {
        Format::Json => match recorded.events.as_slice() {
            [one] => output::write_json(&mut out, one)?,
            many => output::write_json(&mut out, many)?,
        },
        Format::Csv => {
            let mut writer = render::history_csv_writer(&mut out)?;
            for entry in &recorded.events {
                render::history_csv_row(&mut writer, entry)?;
            }
            writer.flush()?;
        }
        Format::Table => {
            for entry in &recorded.events {
                render::write_event_summary(&mut out, entry, recorded.duplicate)?;
            }
        }
    }
    Ok(out.finish()?)
}
