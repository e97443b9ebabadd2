//! How `determination check` shows lead authorities that the determination names otherwise
//! than the register does: a table under the formula check, and a part of the `--strict`
//! refusal. What counts as renamed is the domain's; this only words it.

use std::io::Write;

use grant_ledger_domain::FormulaCheck;

use crate::error::CliResult;
use crate::output::{Cell, Report};

/// The table of renamed lead authorities, or one line saying there are none.
pub fn write_renamed(out: &mut dyn Write, check: &FormulaCheck) -> CliResult {
    let mut report = Report::new(["region", "lead_authority", "official_name", "org_id"]);
    for (region, name) in check.renamed() {
        report.push(vec![
            Cell::text(region),
            Cell::text(&name.lead_authority),
            Cell::text(&name.official_name),
            Cell::text(&name.org_id),
        ]);
    }
    if report.rows.is_empty() {
        writeln!(
            out,
            "Every lead authority with an org id is named as the register names it."
        )?;
        return Ok(());
    }
    writeln!(out, "Lead authorities the register knows by another name:")?;
    report.write(out, false)
}

/// The `--strict` sentence's part for renamed lead authorities, if there are any.
pub fn strict_part(check: &FormulaCheck) -> Option<String> {
    let renamed: Vec<String> = check
        .renamed()
        .map(|(_, n)| format!("{} is {} ({})", n.lead_authority, n.official_name, n.org_id))
        .collect();
    (!renamed.is_empty()).then(|| {
        format!(
            "lead authorities are named otherwise than in the register ({})",
            renamed.join(", ")
        )
    })
}
