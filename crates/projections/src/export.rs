//! The 360Giving export: one grant per allocation, as the 360Giving Data Standard 1.4
//! shapes it, with what was paid as of a day. Owns the mapping from the ledger's
//! determinations and payments to the standard's fields; the CLI only renders it (a JSON
//! data package or the flat CSV), and the server will serve the same [`GrantPackage`].

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use grant_ledger_domain::{
    region_slug, register_code, stream_for, Allocation, Determination, Money,
};
use grant_ledger_store::EventStore;
use serde::{Deserialize, Serialize};

use crate::balances::{AllocationBalance, Balances};
use crate::codec::decode_grant;
use crate::error::LedgerError;
use crate::ledger::Ledger;
use crate::money_ops::minus;

/// The version of the standard the package declares.
pub const STANDARD_VERSION: &str = "1.4";

/// The prefix used when the caller gives none. 360Giving assigns real prefixes to
/// publishers; this one only keeps ids well-formed until one is given.
pub const DEFAULT_PREFIX: &str = "grant-ledger";

/// What to export and how to name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRequest {
    /// One determination, or every one in the ledger.
    pub determination: Option<String>,
    /// Count only payments and recoveries effective on or before this day.
    pub as_of: Option<NaiveDate>,
    /// The publisher's 360Giving prefix: the `XXX` of `360G-XXX-...`.
    pub prefix: String,
    /// The URI the data comes from (`dataSource`); `urn:grant-ledger:<prefix>` if none.
    pub data_source: Option<String>,
}

/// A 360Giving data package: `{grants, version, publisher, ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrantPackage {
    pub grants: Vec<Grant>,
    pub version: String,
    pub title: String,
    pub publisher: Publisher,
}

/// Who publishes the package: the funder of the exported determinations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publisher {
    pub identifier: String,
    pub name: String,
}

/// One grant: one allocation of one determination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    pub id: String,
    pub title: String,
    pub description: String,
    pub currency: String,
    #[serde(with = "number")]
    pub amount_awarded: Money,
    /// What was paid, less what was recovered, as of the export's day.
    #[serde(with = "number")]
    pub amount_disbursed: Money,
    pub award_date: NaiveDate,
    pub planned_dates: Vec<PlannedDates>,
    pub recipient_organization: Vec<Organization>,
    pub funding_organization: Vec<Organization>,
    pub grant_programme: Vec<GrantProgramme>,
    pub beneficiary_location: Vec<Location>,
    pub disbursement_transaction: Vec<Transaction>,
    /// RFC 3339, when the ledger last recorded anything counted in this grant.
    pub date_modified: String,
    pub data_source: String,
}

/// The grant period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedDates {
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
}

/// A recipient or funder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    pub id: String,
    pub name: String,
}

/// The determination the grant was made under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantProgramme {
    pub code: String,
    pub title: String,
}

/// The region whose authorities benefit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub name: String,
    pub country_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geo_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geo_code_type: Option<String>,
}

/// One payment counted in `amountDisbursed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    /// The payment's event id.
    pub id: String,
    pub transaction_date: NaiveDate,
    #[serde(with = "number")]
    pub value: Money,
    pub currency: String,
}

impl<S: EventStore> Ledger<S> {
    /// The 360Giving data package of one determination (or all), as of a day. A
    /// determination withdrawn by then is left out: it awarded nothing. Refused when a
    /// determination lacks what the standard requires (a funder, a lead authority's org
    /// id) or when nothing is left to export.
    pub fn export_360giving(&self, request: &ExportRequest) -> Result<GrantPackage, LedgerError> {
        check_prefix(&request.prefix)?;
        if let Some(uri) = &request.data_source {
            check_uri(uri)?;
        }
        let determinations = match &request.determination {
            Some(id) => vec![self.determination(id)?],
            None => self.determinations()?,
        };
        let data_source = request
            .data_source
            .clone()
            .unwrap_or_else(|| format!("urn:grant-ledger:{}", request.prefix));
        let mut grants = Vec::new();
        let mut publisher = None;
        let mut withdrawn = Vec::new();
        let snapshot = self.snapshot();
        for d in determinations {
            if request.as_of.is_some_and(|day| d.made_on > day) {
                continue;
            }
            // A withdrawn determination awarded nothing (it is withdrawn only while nothing
            // is paid), so open data lists no grant of it; as of a day before the
            // withdrawal it is exported as it stood then.
            if let Some(w) = snapshot
                .states
                .get(&d.id)
                .and_then(|s| s.withdrawn.as_ref())
                .filter(|w| request.as_of.map_or(true, |day| w.date <= day))
            {
                withdrawn.push(format!("{} withdrawn on {}", d.id, w.date));
                continue;
            }
            let funder = d.funder.clone().ok_or_else(|| {
                LedgerError::refused(format!(
                    "determination {} names no funder, which 360Giving requires (a funder is \
                     given only in the file a determination is imported from); export the \
                     determinations that name one, each by its id",
                    d.id
                ))
            })?;
            let funder = Organization {
                id: funder.org_id,
                name: funder.name,
            };
            let (balances, modified) = self.paid_as_of(&d.id, request.as_of)?;
            for (allocation, balance) in d.allocations.iter().zip(balances) {
                let context = GrantContext {
                    determination: &d,
                    funder: &funder,
                    prefix: &request.prefix,
                    data_source: &data_source,
                    modified,
                };
                grants.push(grant(&context, allocation, &balance)?);
            }
            publisher.get_or_insert(Publisher {
                identifier: funder.id.clone(),
                name: funder.name.clone(),
            });
        }
        let Some(publisher) = publisher else {
            if !withdrawn.is_empty() {
                return Err(LedgerError::refused(format!(
                    "there is no grant to export: a withdrawn determination awarded nothing ({}); \
                     --as-of a day before its withdrawal exports what it awarded then",
                    withdrawn.join(", ")
                )));
            }
            return Err(LedgerError::refused(match request.as_of {
                Some(day) => format!(
                    "no determination had been made by {day}, so there is no grant to export"
                ),
                None => {
                    "the ledger holds no determination, so there is no grant to export".to_string()
                }
            }));
        };
        let title = match &request.determination {
            Some(id) => format!("Section 31 grant determination {id}"),
            None => "Section 31 grant determinations".to_string(),
        };
        Ok(GrantPackage {
            grants,
            version: STANDARD_VERSION.to_string(),
            title,
            publisher,
        })
    }

    /// Each allocation's payments and recoveries as of `as_of`, in allocation order, and
    /// when the last event counted was recorded. Reads the determination's stream only.
    fn paid_as_of(
        &self,
        id: &str,
        as_of: Option<NaiveDate>,
    ) -> Result<(Vec<AllocationBalance>, DateTime<Utc>), LedgerError> {
        let mut balances = Balances::default();
        let mut modified = None;
        for rec in self.store().read_stream(&stream_for(id), 1) {
            let rec = rec?;
            let event = decode_grant(&rec)?;
            if as_of.is_some_and(|day| event.data.effective_date() > day) {
                continue;
            }
            balances.apply(&event);
            modified = Some(rec.recorded_at);
        }
        let allocations = balances.determinations.remove(id).unwrap_or_default();
        let modified = modified.ok_or_else(|| {
            LedgerError::corrupt(format!("the stream of determination {id} holds no event"))
        })?;
        Ok((allocations, modified))
    }
}

/// What every grant of one determination shares.
struct GrantContext<'a> {
    determination: &'a Determination,
    funder: &'a Organization,
    prefix: &'a str,
    data_source: &'a str,
    modified: DateTime<Utc>,
}

fn grant(
    context: &GrantContext<'_>,
    allocation: &Allocation,
    balance: &AllocationBalance,
) -> Result<Grant, LedgerError> {
    let d = context.determination;
    let org_id = allocation.org_id.clone().ok_or_else(|| {
        LedgerError::refused(format!(
            "the lead authority of {} in determination {} has no org_id, which 360Giving requires",
            allocation.region, d.id
        ))
    })?;
    // The register code keeps ids short and stable; another register's id is used whole.
    // A lead authority for two regions would give two grants one id, which the standard
    // forbids, so then the region's slug tells them apart.
    let mut local_id = register_code(&org_id).unwrap_or(&org_id).to_string();
    let leads = d
        .allocations
        .iter()
        .filter(|a| a.org_id.as_deref() == Some(org_id.as_str()))
        .count();
    if leads > 1 {
        local_id = format!("{local_id}-{}", region_slug(&allocation.region));
    }
    let paid = balance.paid();
    Ok(Grant {
        id: format!(
            "360G-{}-{}-{local_id}",
            context.prefix,
            d.id.replace('/', "_")
        ),
        title: format!("{}: {}", d.title, allocation.region),
        description: format!(
            "Section 31 grant determination {} ({}), paid to {} as lead authority for the \
             {} region and its {} local authorities.",
            d.id,
            d.financial_year,
            allocation.lead_authority,
            allocation.region,
            allocation.authorities.len()
        ),
        currency: "GBP".to_string(),
        // As last varied by `as_of`: a variation changes what was awarded.
        amount_awarded: balance.determined,
        amount_disbursed: minus(paid, balance.recovered),
        award_date: d.made_on,
        planned_dates: vec![PlannedDates {
            start_date: d.grant_period.start,
            end_date: d.grant_period.end,
        }],
        recipient_organization: vec![Organization {
            id: org_id,
            name: allocation.lead_authority.clone(),
        }],
        funding_organization: vec![context.funder.clone()],
        grant_programme: vec![GrantProgramme {
            code: d.id.clone(),
            title: d.title.clone(),
        }],
        beneficiary_location: vec![Location {
            name: allocation.region.clone(),
            country_code: "GB".to_string(),
            geo_code: allocation.region_ons_code.clone(),
            geo_code_type: allocation
                .region_ons_code
                .as_ref()
                .map(|_| "RGN".to_string()),
        }],
        disbursement_transaction: balance
            .payments
            .iter()
            .map(|p| Transaction {
                id: p.id.to_string(),
                transaction_date: p.date,
                value: p.amount,
                currency: "GBP".to_string(),
            })
            .collect(),
        date_modified: context.modified.to_rfc3339_opts(SecondsFormat::Secs, true),
        data_source: context.data_source.to_string(),
    })
}

/// A prefix goes into every grant id between `360G-` and the determination, so it may
/// hold only what the standard's ids are made of.
fn check_prefix(prefix: &str) -> Result<(), LedgerError> {
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if prefix.is_empty() || prefix.len() > 64 || !prefix.chars().all(plain) {
        return Err(LedgerError::malformed(format!(
            "360Giving prefix \"{prefix}\" must be 1 to 64 letters, digits, - or _"
        )));
    }
    Ok(())
}

/// `dataSource` must be a URI (the standard checks its format): a scheme, a colon, and
/// the rest without spaces or control characters. The scheme is what readers rely on.
fn check_uri(uri: &str) -> Result<(), LedgerError> {
    let scheme_ok = uri.split_once(':').is_some_and(|(scheme, rest)| {
        let mut chars = scheme.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            && !rest.is_empty()
    });
    if !scheme_ok || uri.len() > 2000 || uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(LedgerError::malformed(format!(
            "data source \"{}\" is not a URI such as https://example.org/grants.json",
            grant_ledger_domain::echo(uri)
        )));
    }
    Ok(())
}

/// Money as a JSON number, as 360Giving requires. Exact: a sum of pence below the money
/// limit (£1 trillion, 14 significant digits) is the shortest decimal that reads back to
/// its f64, so serde_json prints it digit for digit and reading it back gives it again.
mod number {
    use grant_ledger_domain::Money;
    use rust_decimal::prelude::ToPrimitive;
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(money: &Money, serializer: S) -> Result<S::Ok, S::Error> {
        match money.amount().to_f64() {
            Some(value) => serializer.serialize_f64(value),
            None => Err(serde::ser::Error::custom(format!(
                "{money} cannot be written as a number"
            ))),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
        let value = f64::deserialize(deserializer)?;
        let exact = Decimal::try_from(value)
            .map_err(|_| serde::de::Error::custom(format!("{value} is not an amount")))?
            .round_dp(2);
        Money::from_decimal(exact).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_written_as_a_json_number_to_the_penny() {
        let t = Transaction {
            id: "x".into(),
            transaction_date: NaiveDate::from_ymd_opt(2024, 8, 23).unwrap_or_default(),
            value: Money::parse("233200.05").unwrap(),
            currency: "GBP".into(),
        };
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(json["value"].to_string(), "233200.05");
    }

    #[test]
    fn money_read_back_from_a_number_is_the_same_money() {
        let json =
            r#"{"id":"x","transactionDate":"2024-08-23","value":999999999999.99,"currency":"GBP"}"#;
        let t: Transaction = serde_json::from_str(json).unwrap();
        assert_eq!(t.value, Money::parse("999999999999.99").unwrap());
    }

    #[test]
    fn a_prefix_with_a_slash_is_malformed() {
        assert_eq!(
            check_prefix("dfe/x").unwrap_err().kind(),
            crate::ErrorKind::Malformed
        );
    }

    #[test]
    fn an_empty_prefix_is_malformed() {
        assert!(check_prefix("").is_err());
    }

    #[test]
    fn a_web_address_is_a_data_source() {
        assert!(check_uri("https://example.org/grants.json").is_ok());
    }

    #[test]
    fn a_data_source_without_a_scheme_is_malformed() {
        assert_eq!(
            check_uri("grants.json").unwrap_err().kind(),
            crate::ErrorKind::Malformed
        );
    }

    #[test]
    fn a_data_source_with_a_space_is_malformed() {
        assert!(check_uri("https://example.org/my grants.json").is_err());
    }
}
