//! The checks every determination passes before it can enter the ledger,
//! however it arrived (file, built-in, or a stored event). Each refusal names
//! the offending key in the file's terms (`allocation[3].amount`).

use std::collections::BTreeSet;

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
