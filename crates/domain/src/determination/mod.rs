//! A section 31 grant determination as the ledger holds it: who is to be paid
//! how much, by when, and the formula the amounts were built from. Owns the
//! validation every determination passes before it can enter the ledger,
//! however it arrived (file, built-in, or a stored event).

mod formula;
mod validate;
mod varied;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::identifiers::Funder;
use crate::money::Money;
use crate::region::region_matches;

pub use formula::schedule_amounts;
pub(crate) use formula::{component_amount, component_amount_checked, working_amount};

/// One determination. `allocations` are what is legally determined;
/// `components` are how those amounts were built, used only to check them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Determination {
    pub id: String,
    pub title: String,
    pub financial_year: String,
    pub made_on: NaiveDate,
    /// The last day a payment is on time (inclusive).
    pub payment_deadline: NaiveDate,
    pub grant_period: GrantPeriod,
    pub instalments: u32,
    pub allocations: Vec<Allocation>,
    pub components: Vec<Component>,
    /// Who made it. Optional, and left out of the stored event when absent, so events
    /// written before identifiers existed read and re-encode byte for byte.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funder: Option<Funder>,
    /// When each instalment falls due and how much of the allocation it is. Empty for a
    /// determination of `instalments` with one `payment_deadline`, and then left out of
    /// the stored event, so determinations without a schedule encode as they always did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedule: Vec<Instalment>,
}

/// One instalment of a schedule: due by `due` (inclusive), either `share` per cent of
/// every allocation or the same `amount` of each. Exactly one of the two is given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instalment {
    pub due: NaiveDate,
    /// Per cent of the allocation (`50` is half), at most two decimal places.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
}

/// The period spend must fall in, both ends inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantPeriod {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl GrantPeriod {
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.start <= date && date <= self.end
    }
}

/// One region's share: paid to its lead authority, spendable by its authorities.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allocation {
    pub region: String,
    pub lead_authority: String,
    pub amount: Money,
    pub authorities: Vec<String>,
    /// The lead authority's org-id.guide identifier, e.g. `GB-LAE-WIL`. The identifiers
    /// are optional and skipped when absent, as [`Determination::funder`] is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_id: Option<String>,
    /// The region's ONS code, e.g. `E12000009`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_ons_code: Option<String>,
    /// Authority (canonical name) -> its ONS code.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub authority_ons_codes: BTreeMap<String, String>,
    /// This allocation's own amount for each instalment of the schedule, in place of the
    /// instalments' shares or amounts; empty (and left out of the stored event) otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instalment_amounts: Vec<Money>,
}

impl Allocation {
    /// The canonical name of one of this region's authorities, matched as a region is: its
    /// name in any case, or its slug (`bristol-city-of` for "Bristol, City of"). A name
    /// matched in full wins over another's slug.
    pub fn authority(&self, query: &str) -> Option<&str> {
        let lower = query.trim().to_lowercase();
        self.authorities
            .iter()
            .find(|a| a.trim().to_lowercase() == lower)
            .or_else(|| {
                self.authorities
                    .iter()
                    .find(|a| crate::region::region_matches(a, query))
            })
            .map(String::as_str)
    }
}

/// One purpose of the grant and how much of each allocation it accounts for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    pub purpose: String,
    pub basis: Basis,
    pub amount: Money,
    /// Region name -> fractional uplift (0.14 = +14%) applied to this
    /// component's amount for that region.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub uplift: BTreeMap<String, Decimal>,
    /// The one region a `fixed` component goes to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The letter's stated working, when it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working: Option<Working>,
}

/// How a component's amount is spread over regions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    /// The amount goes to every region.
    PerRegion,
    /// The amount goes to every region once per authority in it.
    PerAuthority,
    /// The whole amount goes to the one named region.
    Fixed,
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::PerRegion => "per-region",
            Basis::PerAuthority => "per-authority",
            Basis::Fixed => "fixed",
        }
    }
}

/// A stated working such as "4 authorities x 39 days at £600": the product of
/// `factors` times `rate` is what the amount should be.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Working {
    pub factors: Vec<u32>,
    pub rate: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The stream every event of one determination belongs to.
pub fn stream_for(determination_id: &str) -> String {
    format!("determination/{determination_id}")
}

impl Determination {
    /// The allocation for a region named in any case or by slug.
    pub fn allocation(&self, region_query: &str) -> Option<&Allocation> {
        self.allocations
            .iter()
            .find(|a| region_matches(&a.region, region_query))
    }

    /// The component for a purpose, matched in any case.
    /// The component of a purpose named in any case, with spaces or hyphens
    /// (`"self assessment"`, `Self-Assessment`), as regions are matched.
    pub fn purpose(&self, purpose: &str) -> Option<&Component> {
        let purpose = crate::region::region_slug(purpose);
        if purpose.is_empty() {
            return None;
        }
        self.components
            .iter()
            .find(|c| crate::region::region_slug(&c.purpose) == purpose)
    }

    /// This determination's stream.
    pub fn stream(&self) -> String {
        stream_for(&self.id)
    }

    /// Purpose -> the formula amount of that purpose for one region (zero for
    /// a fixed component that goes elsewhere). Empty for an unknown region.
    pub fn budget(&self, region: &str) -> BTreeMap<String, Money> {
        let Some(allocation) = self.allocation(region) else {
            return BTreeMap::new();
        };
        self.components
            .iter()
            .map(|component| {
                (
                    component.purpose.clone(),
                    component_amount(component, allocation),
                )
            })
            .collect()
    }

    /// The names of all regions, for messages listing what is valid.
    pub fn region_names(&self) -> String {
        self.allocations
            .iter()
            .map(|a| a.region.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The day instalment `number` (1-based) is due: its own due date in a schedule, else
    /// the payment deadline.
    pub fn due_date(&self, number: u32) -> NaiveDate {
        usize::try_from(number.saturating_sub(1))
            .ok()
            .and_then(|index| self.schedule.get(index))
            .map_or(self.payment_deadline, |instalment| instalment.due)
    }

    /// What each instalment of the schedule comes to for `region`'s allocation of
    /// `allocation` as determined: empty without a schedule. The last instalment takes what
    /// the earlier ones leave, so the amounts always add up to the allocation, even when
    /// shares round to the penny. Once the allocation is varied, what each instalment comes
    /// to is [`Determination::instalments_as_varied`].
    pub fn instalment_amounts(&self, region: &str, allocation: Money) -> Vec<Money> {
        let fixed = self
            .allocation(region)
            .map_or(&[][..], |a| a.instalment_amounts.as_slice());
        schedule_amounts(&self.schedule, allocation, fixed)
    }

    /// The names of all purposes, for messages listing what is valid.
    pub fn purpose_names(&self) -> String {
        self.components
            .iter()
            .map(|c| c.purpose.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}
