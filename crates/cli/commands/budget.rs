//! Spend beyond a purpose's formula budget: allowed (the rule is the region's net received),
//! but said on stderr after `spend` and `spend-import`, so that it is a choice and not a slip.

use grant_ledger_projections::{Api, Recorded, SpendLine, SpendReportQuery, SpendReportRow};

/// After one spend: the warning for its purpose line, if that line is now overspent.
pub(super) fn warn_after_spend(api: &dyn Api, recorded: &Recorded) {
    let Some(event) = recorded.events.first() else {
        return;
    };
    let field = |name: &str| event.data.get(name).and_then(serde_json::Value::as_str);
    let (Some(id), Some(region), Some(purpose)) =
        (field("determination"), field("region"), field("purpose"))
    else {
        return;
    };
    let query = SpendReportQuery::of(id, Some(region));
    if let Some(row) = overspent(api, &query)
        .into_iter()
        .find(|r| r.purpose.as_deref() == Some(purpose))
    {
        warn(&row);
    }
}

/// The purpose lines overspent before an import, to compare with after it.
pub(super) fn before_import(api: &dyn Api) -> Vec<SpendReportRow> {
    overspent(api, &SpendReportQuery::default())
}

/// After an import: a warning for every purpose line it took beyond its budget or further
/// beyond it.
pub(super) fn warn_after_import(api: &dyn Api, before: &[SpendReportRow]) {
    for row in overspent(api, &SpendReportQuery::default()) {
        let unchanged = before.iter().any(|b| {
            b.determination == row.determination
                && b.region == row.region
                && b.purpose == row.purpose
                && b.spent == row.spent
        });
        if !unchanged {
            warn(&row);
        }
    }
}

/// Purpose lines whose spend is beyond their budget. Only a warning depends on this, so a
/// report that cannot be read now leaves what was recorded as it is and says nothing.
fn overspent(api: &dyn Api, query: &SpendReportQuery) -> Vec<SpendReportRow> {
    api.spend_report(query)
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.line == SpendLine::Purpose && r.remaining.is_negative())
        .collect()
}

fn warn(row: &SpendReportRow) {
    let purpose = row.purpose.as_deref().unwrap_or_default();
    eprintln!(
        "warning: {} has now spent {} on {purpose}, above its formula budget of {} (see spend-report)",
        row.region, row.spent, row.budget
    );
}
