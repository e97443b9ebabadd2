//! Each subcommand: turn parsed arguments into one call of the `Ledger`
//! facade and render what it returns. No rules live here. One module per family of
//! commands; this one holds what they share: the [`Context`], the dispatch and the
//! small helpers of wording and counting.

mod access;
mod budget;
mod determination;
mod history;
mod integrity;
mod queries;
mod record;
mod spend_import;

pub use queries::{write_balances, write_deadlines, write_spend_report};
pub use record::{announced, print_recorded, unknown_determination};

use grant_ledger_projections::{input, Api};

use crate::args::{self, Format};
use crate::backend::{Key, Target, Use};
use crate::error::{CliError, CliResult};

/// What every command needs besides its own arguments.
pub struct Context {
    pub target: Target,
    pub format: Format,
}

impl Context {
    /// The ledger for a command that may create it (`determination import`, `access
    /// grant`): the contract's "created on first write".
    fn creating(&self) -> CliResult<Box<dyn Api>> {
        self.target.api(Use::Create, "")
    }

    /// The ledger for a command that adds to what it already holds; `unknown` is what it
    /// names, for the refusal when there is no ledger yet.
    pub fn adding(&self, unknown: &str) -> CliResult<Box<dyn Api>> {
        self.target.api(Use::Add, unknown)
    }

    /// [`Context::adding`] for a dated command, refusing dates after `today` (`--today`;
    /// `None`: the clock's date).
    pub fn adding_on(&self, unknown: &str, today: Option<&str>) -> CliResult<Box<dyn Api>> {
        let today = input::opt_date("--today", today)?;
        self.target.api_on(Use::Add, unknown, today)
    }

    /// The ledger for a query: an existing one only.
    pub fn reading(&self) -> CliResult<Box<dyn Api>> {
        self.target.api(Use::Read, "")
    }

    /// An existing ledger, with its signing key as `key` asks.
    pub fn keyed(&self, key: Key) -> CliResult<Box<dyn Api>> {
        self.target.api_with(Use::Read, "", None, key)
    }
}

pub fn run(ctx: &Context, command: args::Command) -> CliResult {
    match command {
        args::Command::Determination(sub) => determination::run(ctx, sub),
        args::Command::Pay(a) => record::pay(ctx, a),
        args::Command::Spend(a) => record::spend(ctx, a),
        args::Command::SpendImport(a) => spend_import::run(ctx, &a.file, a.today.as_deref()),
        args::Command::Recover(a) => record::recover(ctx, a),
        args::Command::Reverse(a) => record::reverse(ctx, a),
        args::Command::Balances(a) => queries::balances(ctx, a),
        args::Command::Deadlines(a) => queries::deadlines(ctx, a),
        args::Command::SpendReport(a) => queries::spend_report(ctx, a),
        args::Command::History(a) => history::run(ctx, a),
        args::Command::Verify(a) => integrity::verify(ctx, &a.against),
        args::Command::Checkpoint(_) => crate::checkpoint::take(ctx),
        args::Command::Rebuild(a) => integrity::rebuild(ctx, a.key, &a.reason),
        args::Command::Access(sub) => access::run(ctx, sub),
        args::Command::Export(a) => crate::export::run(ctx, a),
        // These choose their own ledger, or need none; see main.
        args::Command::Demo
        | args::Command::Migrate(_)
        | args::Command::Serve(_)
        | args::Command::Completions(_)
        | args::Command::Man => Err(CliError::unavailable(
            "this command must be started through main",
        )),
    }
}

pub fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

pub fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
