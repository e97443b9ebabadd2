//! A section 31 grant determination as the ledger holds it: who is to be paid
//! how much, by when, and the formula the amounts were built from. Owns the
//! validation every determination passes before it can enter the ledger,
//! however it arrived (file, built-in, or a stored event).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::identifiers::{validate_identifiers, Funder};
use crate::limits::{
    MAX_ALLOCATIONS, MAX_AUTHORITIES_PER_ALLOCATION, MAX_COMPONENTS, MAX_INSTALMENTS, MAX_NAME_LEN,
    MAX_TEXT_LEN, MAX_UPLIFT, MAX_UPLIFT_SCALE, MAX_WORKING_FACTOR, MAX_WORKING_FACTORS,
};
use crate::money::Money;
use crate::region::{region_matches, region_slug};

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
}

impl Allocation {
    /// The canonical name of one of this region's authorities, matched in any case.
    pub fn authority(&self, query: &str) -> Option<&str> {
        let query = query.trim().to_lowercase();
        self.authorities
            .iter()
            .find(|a| a.to_lowercase() == query)
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

    /// The names of all purposes, for messages listing what is valid.
    pub fn purpose_names(&self) -> String {
        self.components
            .iter()
            .map(|c| c.purpose.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Checks everything a determination must satisfy to enter the ledger.
    /// Errors are malformed-input errors naming the offending key in the
    /// file's terms (`allocation[3].amount`, counting from 1).
    pub fn validate(&self) -> Result<(), DomainError> {
        check_name("id", &self.id)?;
        if !self
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-._".contains(c))
        {
            return Err(bad(
                "id",
                format!(
                    "\"{}\" may contain only letters, digits and / - . _",
                    self.id
                ),
            ));
        }
        check_text("title", &self.title)?;
        check_name("financial_year", &self.financial_year)?;
        if self.payment_deadline < self.made_on {
            return Err(bad(
                "payment_deadline",
                format!(
                    "{} is before made_on {}",
                    self.payment_deadline, self.made_on
                ),
            ));
        }
        if self.grant_period.end < self.grant_period.start {
            return Err(bad(
                "grant_period.end",
                format!(
                    "{} is before grant_period.start {}",
                    self.grant_period.end, self.grant_period.start
                ),
            ));
        }
        if self.instalments == 0 || self.instalments > MAX_INSTALMENTS {
            return Err(bad(
                "instalments",
                format!(
                    "{} must be between 1 and {MAX_INSTALMENTS}",
                    self.instalments
                ),
            ));
        }
        if self.allocations.is_empty() {
            return Err(bad(
                "allocation",
                "a determination needs at least one [[allocation]]",
            ));
        }
        if self.allocations.len() > MAX_ALLOCATIONS {
            return Err(bad(
                "allocation",
                format!("more than {MAX_ALLOCATIONS} allocations"),
            ));
        }
        let mut slugs = BTreeSet::new();
        for (index, allocation) in self.allocations.iter().enumerate() {
            let key = format!("allocation[{}]", index + 1);
            check_name(&format!("{key}.region"), &allocation.region)?;
            let slug = region_slug(&allocation.region);
            if slug.is_empty() {
                return Err(bad(
                    &format!("{key}.region"),
                    "a region name needs at least one letter or digit",
                ));
            }
            if !slugs.insert(slug) {
                return Err(bad(
                    &format!("{key}.region"),
                    format!("\"{}\" appears more than once", allocation.region),
                ));
            }
            check_name(&format!("{key}.lead_authority"), &allocation.lead_authority)?;
            if !allocation.amount.is_positive() {
                return Err(bad(&format!("{key}.amount"), "must be greater than zero"));
            }
            if allocation.authorities.len() > MAX_AUTHORITIES_PER_ALLOCATION {
                return Err(bad(
                    &format!("{key}.authorities"),
                    format!("more than {MAX_AUTHORITIES_PER_ALLOCATION} authorities"),
                ));
            }
            let mut seen = BTreeSet::new();
            for (i, authority) in allocation.authorities.iter().enumerate() {
                check_name(&format!("{key}.authorities[{}]", i + 1), authority)?;
                if !seen.insert(authority.to_lowercase()) {
                    return Err(bad(
                        &format!("{key}.authorities[{}]", i + 1),
                        format!("\"{authority}\" appears more than once"),
                    ));
                }
            }
        }
        if self.components.len() > MAX_COMPONENTS {
            return Err(bad(
                "component",
                format!("more than {MAX_COMPONENTS} components"),
            ));
        }
        let mut purposes = BTreeSet::new();
        for (index, component) in self.components.iter().enumerate() {
            self.validate_component(index, component, &mut purposes)?;
        }
        // Every formula figure must be representable, so the check can never
        // overflow on a determination that entered the ledger.
        for allocation in &self.allocations {
            let mut total = Money::ZERO;
            for (index, component) in self.components.iter().enumerate() {
                let amount = component_amount_checked(component, allocation);
                match amount.and_then(|a| total.checked_add(a)) {
                    Some(sum) => total = sum,
                    None => {
                        return Err(bad(
                            &format!("component[{}].amount", index + 1),
                            format!("makes the formula for {} too large", allocation.region),
                        ))
                    }
                }
            }
        }
        validate_identifiers(self)
    }

    fn validate_component(
        &self,
        index: usize,
        component: &Component,
        purposes: &mut BTreeSet<String>,
    ) -> Result<(), DomainError> {
        let key = format!("component[{}]", index + 1);
        check_name(&format!("{key}.purpose"), &component.purpose)?;
        if component.purpose.chars().any(char::is_whitespace) || component.purpose.contains(',') {
            return Err(bad(
                &format!("{key}.purpose"),
                format!(
                    "\"{}\" must be one word such as data-coordinator",
                    component.purpose
                ),
            ));
        }
        if !purposes.insert(component.purpose.to_lowercase()) {
            return Err(bad(
                &format!("{key}.purpose"),
                format!("\"{}\" appears more than once", component.purpose),
            ));
        }
        if !component.amount.is_positive() {
            return Err(bad(&format!("{key}.amount"), "must be greater than zero"));
        }
        match (&component.basis, &component.region) {
            (Basis::Fixed, None) => {
                return Err(bad(
                    &format!("{key}.region"),
                    "is missing; a fixed component must name the region it goes to",
                ))
            }
            (Basis::Fixed, Some(region)) => {
                if self.allocation(region).is_none() {
                    return Err(bad(
                        &format!("{key}.region"),
                        format!(
                            "\"{region}\" is not a region of this determination ({})",
                            self.region_names()
                        ),
                    ));
                }
            }
            (basis, Some(_)) => {
                return Err(bad(
                    &format!("{key}.region"),
                    format!(
                        "only a fixed component names a region, and this one is {}",
                        basis.as_str()
                    ),
                ))
            }
            (_, None) => {}
        }
        for (region, fraction) in &component.uplift {
            let uplift_key = format!("{key}.uplift.\"{region}\"");
            if self.allocation(region).is_none() {
                return Err(bad(
                    &uplift_key,
                    format!(
                        "\"{region}\" is not a region of this determination ({})",
                        self.region_names()
                    ),
                ));
            }
            if fraction.is_sign_negative() && !fraction.is_zero()
                || *fraction > Decimal::from(MAX_UPLIFT)
            {
                return Err(bad(
                    &uplift_key,
                    format!("{fraction} must be a fraction between 0 and {MAX_UPLIFT}"),
                ));
            }
            if fraction.normalize().scale() > MAX_UPLIFT_SCALE {
                return Err(bad(
                    &uplift_key,
                    format!("{fraction} has more than {MAX_UPLIFT_SCALE} decimal places"),
                ));
            }
        }
        if let Some(working) = &component.working {
            let working_key = format!("{key}.working");
            if working.factors.is_empty() || working.factors.len() > MAX_WORKING_FACTORS {
                return Err(bad(
                    &format!("{working_key}.factors"),
                    format!("needs between 1 and {MAX_WORKING_FACTORS} factors"),
                ));
            }
            if let Some(f) = working
                .factors
                .iter()
                .find(|f| **f == 0 || **f > MAX_WORKING_FACTOR)
            {
                return Err(bad(
                    &format!("{working_key}.factors"),
                    format!("{f} must be between 1 and {MAX_WORKING_FACTOR}"),
                ));
            }
            if !working.rate.is_positive() {
                return Err(bad(
                    &format!("{working_key}.rate"),
                    "must be greater than zero",
                ));
            }
            if let Some(note) = &working.note {
                check_text(&format!("{working_key}.note"), note)?;
            }
            if working_amount(working).is_none() {
                return Err(bad(
                    &working_key,
                    "multiplies out to an amount too large to represent",
                ));
            }
        }
        Ok(())
    }
}

/// One component's formula amount for one region, before nothing else: the
/// amount per region, times the region's authorities for per-authority, only
/// for its own region if fixed; times (1 + uplift) for an uplifted region,
/// rounded to the penny (half away from zero) because an uplift fraction can
/// yield fractions of a penny.
pub(crate) fn component_amount_checked(
    component: &Component,
    allocation: &Allocation,
) -> Option<Money> {
    let base = match component.basis {
        Basis::PerRegion => component.amount.amount(),
        Basis::PerAuthority => {
            let count = u32::try_from(allocation.authorities.len()).ok()?;
            component
                .amount
                .amount()
                .checked_mul(Decimal::from(count))?
        }
        Basis::Fixed => match &component.region {
            Some(region) if region_matches(&allocation.region, region) => component.amount.amount(),
            _ => Decimal::ZERO,
        },
    };
    let uplift = component
        .uplift
        .iter()
        .find(|(region, _)| region_matches(&allocation.region, region))
        .map(|(_, fraction)| *fraction)
        .unwrap_or(Decimal::ZERO);
    let factor = Decimal::ONE.checked_add(uplift)?;
    let amount = base
        .checked_mul(factor)?
        .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    Money::from_decimal(amount).ok()
}

/// As [`component_amount_checked`], clamped for determinations built by hand
/// that skipped [`Determination::validate`].
pub(crate) fn component_amount(component: &Component, allocation: &Allocation) -> Money {
    component_amount_checked(component, allocation).unwrap_or(Money::MAX)
}

/// The product of a working's factors times its rate, if representable.
pub(crate) fn working_amount(working: &Working) -> Option<Money> {
    let mut total = working.rate.amount();
    for factor in &working.factors {
        total = total.checked_mul(Decimal::from(*factor))?;
    }
    Money::from_decimal(total).ok()
}

fn bad(key: &str, problem: impl std::fmt::Display) -> DomainError {
    DomainError::malformed(format!("{key}: {problem}"))
}

fn check_name(key: &str, value: &str) -> Result<(), DomainError> {
    if value.trim().is_empty() {
        return Err(bad(key, "must not be empty"));
    }
    if value.chars().count() > MAX_NAME_LEN {
        return Err(bad(
            key,
            format!("is longer than {MAX_NAME_LEN} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(bad(key, "must not contain control characters"));
    }
    Ok(())
}

fn check_text(key: &str, value: &str) -> Result<(), DomainError> {
    if value.trim().is_empty() {
        return Err(bad(key, "must not be empty"));
    }
    if value.chars().count() > MAX_TEXT_LEN {
        return Err(bad(
            key,
            format!("is longer than {MAX_TEXT_LEN} characters"),
        ));
    }
    Ok(())
}
