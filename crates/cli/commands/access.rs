//! `access grant | list | revoke`: tokens and their roles.

use std::io::Write;

use grant_ledger_domain::Role;
use grant_ledger_projections::input;

use super::{announced, Context};
use crate::args::{self, Format};
use crate::error::{CliError, CliResult};
use crate::output::{self, Cell, Report};
use crate::render;

pub(super) fn run(ctx: &Context, command: args::AccessCommand) -> CliResult {
    match command {
        args::AccessCommand::Grant(a) => {
            let role: Role = a
                .role
                .parse()
                .map_err(|e: grant_ledger_domain::DomainError| {
                    CliError::malformed(format!("--role: {}", e.message()))
                })?;
            let key = input::key(a.key)?;
            let granted = ctx
                .creating()?
                .grant_access(key.as_deref(), &a.name, role)?;
            let mut out = output::stdout();
            match ctx.format {
                Format::Json => output::write_json(&mut out, &granted)?,
                Format::Csv => {
                    let mut report = Report::new(["name", "role", "token"]);
                    report.push(vec![
                        Cell::text(&granted.name),
                        Cell::text(granted.role.to_string()),
                        Cell::text(&granted.token),
                    ]);
                    report.write(&mut out, true)?;
                }
                Format::Table => {
                    writeln!(
                        out,
                        "Granted {} to {}. Their token, shown only this once:",
                        granted.role, granted.name
                    )?;
                    writeln!(out, "  {}", granted.token)?;
                }
            }
            Ok(out.finish()?)
        }
        args::AccessCommand::List => {
            let rows = ctx.reading()?.list_access()?;
            let mut out = output::stdout();
            match ctx.format {
                Format::Json => output::write_json(&mut out, &rows)?,
                format => {
                    let mut report =
                        Report::new(["name", "role", "granted_at", "granted_by", "revoked_at"]);
                    for r in &rows {
                        report.push(vec![
                            Cell::text(&r.name),
                            Cell::text(r.role.to_string()),
                            Cell::text(render::timestamp(r.granted_at)),
                            Cell::text(&r.granted_by),
                            r.revoked_at
                                .map_or(Cell::Null, |t| Cell::text(render::timestamp(t))),
                        ]);
                    }
                    report.write(&mut out, format == Format::Csv)?;
                }
            }
            Ok(out.finish()?)
        }
        args::AccessCommand::Revoke(a) => {
            let key = input::key(a.key)?;
            let api = ctx.adding(&format!("no access named \"{}\" to revoke", a.name.trim()))?;
            announced(
                ctx,
                key.as_deref(),
                api.revoke_access(key.as_deref(), &a.name)?,
            )
        }
    }
}
