//! The checks every determination passes before it can enter the ledger,
//! however it arrived (file, built-in, or a stored event). Each refusal names
//! the offending key in the file's terms (`allocation[3].amount`).

use std::collections::BTreeSet;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{component_amount_checked, working_amount, Basis, Component, Determination};
use crate::error::DomainError;
use crate::identifiers::validate_identifiers;
use crate::limits::{
    MAX_ALLOCATIONS, MAX_AUTHORITIES_PER_ALLOCATION, MAX_COMPONENTS, MAX_INSTALMENTS, MAX_NAME_LEN,
    MAX_TEXT_LEN, MAX_UPLIFT, MAX_UPLIFT_SCALE, MAX_WORKING_FACTOR, MAX_WORKING_FACTORS,
};
use crate::money::Money;
use crate::region::region_slug;

impl Determination {
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
        self.validate_schedule()?;
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
        self.validate_schedule_sums()?;
        validate_identifiers(self)
    }

    /// The schedule's own shape: one table per instalment, each with a share or an
    /// amount, due dates ascending from `made_on` to `payment_deadline`.
    fn validate_schedule(&self) -> Result<(), DomainError> {
        let Some(last) = self.schedule.last() else {
            return Ok(());
        };
        if usize::try_from(self.instalments).ok() != Some(self.schedule.len()) {
            return Err(bad(
                "instalments",
                format!(
                    "{} is not the number of [[instalment]] tables ({})",
                    self.instalments,
                    self.schedule.len()
                ),
            ));
        }
        let by_share = self.schedule[0].share.is_some();
        // Where every allocation gives its own amount for each instalment, the
        // instalments need only their due dates.
        let all_fixed = self
            .allocations
            .iter()
            .all(|a| !a.instalment_amounts.is_empty());
        let mut previous: Option<NaiveDate> = None;
        for (index, instalment) in self.schedule.iter().enumerate() {
            let key = format!("instalment[{}]", index + 1);
            match (instalment.share, instalment.amount) {
                (Some(_), Some(_)) => {
                    return Err(bad(&key, "gives both a share and an amount; give one"))
                }
                (None, None) if all_fixed => {}
                (None, None) => return Err(bad(
                    &key,
                    "needs a share or an amount, unless every allocation gives its instalment_amounts",
                )),
                (Some(share), None) => {
                    if !by_share {
                        return Err(bad(
                            &format!("{key}.share"),
                            "every instalment gives an amount, as instalment[1] does, or every one a share",
                        ));
                    }
                    if share <= Decimal::ZERO || share > Decimal::ONE_HUNDRED {
                        return Err(bad(
                            &format!("{key}.share"),
                            format!("{share}% must be more than 0% and at most 100%"),
                        ));
                    }
                    if share.normalize().scale() > 2 {
                        return Err(bad(
                            &format!("{key}.share"),
                            format!("{share}% has more than 2 decimal places"),
                        ));
                    }
                }
                (None, Some(amount)) => {
                    if by_share {
                        return Err(bad(
                            &format!("{key}.amount"),
                            "every instalment gives a share, as instalment[1] does, or every one an amount",
                        ));
                    }
                    if !amount.is_positive() {
                        return Err(bad(&format!("{key}.amount"), "must be greater than zero"));
                    }
                }
            }
            let due_key = format!("{key}.due");
            if instalment.due < self.made_on {
                return Err(bad(
                    &due_key,
                    format!("{} is before made_on {}", instalment.due, self.made_on),
                ));
            }
            if let Some(previous) = previous.filter(|p| instalment.due <= *p) {
                return Err(bad(
                    &due_key,
                    format!(
                        "{} is not after instalment[{index}].due {previous}; due dates must ascend",
                        instalment.due
                    ),
                ));
            }
            previous = Some(instalment.due);
        }
        if self.payment_deadline != last.due {
            return Err(bad(
                "payment_deadline",
                format!(
                    "{} is not the last instalment's due date {}",
                    self.payment_deadline, last.due
                ),
            ));
        }
        Ok(())
    }

    /// Shares must make 100%, and amounts every allocation (but those that give their own
    /// instalment amounts, which must make it themselves).
    fn validate_schedule_sums(&self) -> Result<(), DomainError> {
        for (index, allocation) in self.allocations.iter().enumerate() {
            let fixed = &allocation.instalment_amounts;
            if fixed.is_empty() {
                continue;
            }
            let key = format!("allocation[{}].instalment_amounts", index + 1);
            if self.schedule.is_empty() {
                return Err(bad(
                    &key,
                    "gives instalment amounts, but the determination has no [[instalment]] due dates",
                ));
            }
            if fixed.len() != self.schedule.len() {
                return Err(bad(
                    &key,
                    format!(
                        "has {} amounts, not one for each of the {} instalments",
                        fixed.len(),
                        self.schedule.len()
                    ),
                ));
            }
            if fixed.iter().any(|a| !a.is_positive()) {
                return Err(bad(&key, "every amount must be greater than zero"));
            }
            let total = fixed
                .iter()
                .try_fold(Money::ZERO, |sum, a| sum.checked_add(*a))
                .unwrap_or(Money::MAX);
            if total != allocation.amount {
                return Err(bad(
                    &key,
                    format!(
                        "adds up to {total}, not the allocation's amount of {}",
                        allocation.amount
                    ),
                ));
            }
        }
        if self.schedule.is_empty()
            || self.schedule[0].amount.is_none() && self.schedule[0].share.is_none()
        {
            return Ok(());
        }
        if self.schedule[0].share.is_some() {
            let total = self
                .schedule
                .iter()
                .filter_map(|i| i.share)
                .fold(Decimal::ZERO, |sum, share| sum.saturating_add(share));
            if total != Decimal::ONE_HUNDRED {
                return Err(bad(
                    "instalment",
                    format!("the shares add up to {}%, not 100%", total.normalize()),
                ));
            }
            return Ok(());
        }
        let mut total = Money::ZERO;
        for amount in self.schedule.iter().filter_map(|i| i.amount) {
            total = total.checked_add(amount).unwrap_or(Money::MAX);
        }
        for (index, allocation) in self.allocations.iter().enumerate() {
            if allocation.instalment_amounts.is_empty() && allocation.amount != total {
                return Err(bad(
                    "instalment",
                    format!(
                        "the amounts add up to {total}, not allocation[{}]'s ({}) amount of {}",
                        index + 1,
                        allocation.region,
                        allocation.amount
                    ),
                ));
            }
        }
        Ok(())
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
