//! The identifiers a determination may carry so its grants can be joined to other public
//! data: organisation ids in the org-id.guide scheme (`GB-LAE-WIL`) and ONS codes
//! (`E12000009`). Owns their shape and the validation of every identifier key of a
//! determination; what a register says about an identifier is [`crate::register`]'s.

use serde::{Deserialize, Serialize};

use crate::determination::Determination;
use crate::error::DomainError;

/// Who made the determination, as a 360Giving funding organisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Funder {
    pub name: String,
    /// org-id.guide identifier, e.g. `GB-GOVUK-department_for_education`.
    pub org_id: String,
}

/// The org-id.guide list prefixes the ledger accepts: the UK registers a body paid a
/// section 31 grant (or the department paying it) can be found in. A prefix outside
/// this list is far more likely a typo than a register we have not heard of.
pub const ORG_ID_PREFIXES: &[&str] = &[
    "GB-LAE",   // English local authorities (local-authority-eng register)
    "GB-LAS",   // Scottish local authorities
    "GB-PLA",   // Welsh principal local authorities
    "GB-LANI",  // Northern Ireland local councils
    "GB-GOVUK", // GOV.UK organisations (government departments)
    "GB-COH",   // Companies House
    "GB-CHC",   // Charity Commission for England and Wales
    "GB-SC",    // Scottish Charity Regulator
    "GB-NIC",   // Charity Commission for Northern Ireland
    "GB-EDU",   // Department for Education's register of schools
    "GB-UKPRN", // UK register of learning providers
    "GB-NHS",   // NHS organisations
    "GB-MPR",   // Mutuals public register
];

/// The prefix that marks an English local authority; its code is the register code.
pub const LOCAL_AUTHORITY_ENG: &str = "GB-LAE";

/// Splits an org id into its list prefix and the identifier within the list, if the
/// prefix is one of [`ORG_ID_PREFIXES`]. The longest prefix wins (`GB-LANI` before
/// `GB-LA...` could ever be confused).
pub fn split_org_id(org_id: &str) -> Option<(&'static str, &str)> {
    ORG_ID_PREFIXES
        .iter()
        .filter_map(|prefix| {
            let rest = org_id.strip_prefix(prefix)?.strip_prefix('-')?;
            Some((*prefix, rest))
        })
        .max_by_key(|(prefix, _)| prefix.len())
}

/// The register code of an English local authority's org id (`GB-LAE-WIL` -> `WIL`).
pub fn register_code(org_id: &str) -> Option<&str> {
    match split_org_id(org_id) {
        Some((LOCAL_AUTHORITY_ENG, code)) => Some(code),
        _ => None,
    }
}

/// Checks an org id: a known prefix, then an identifier of letters, digits, `_`, `-` or `.`.
pub fn check_org_id(key: &str, org_id: &str) -> Result<(), DomainError> {
    let Some((_, id)) = split_org_id(org_id) else {
        return Err(bad(
            key,
            format!(
                "\"{org_id}\" does not start with a known org-id.guide prefix ({})",
                ORG_ID_PREFIXES.join(", ")
            ),
        ));
    };
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-.".contains(c);
    if id.is_empty() || id.len() > 64 || !id.chars().all(plain) {
        return Err(bad(
            key,
            format!(
                "\"{org_id}\" needs an identifier of letters, digits, _ - or . after its prefix"
            ),
        ));
    }
    Ok(())
}

/// Checks an ONS (GSS) code: a country letter (E, W, S or N) and eight digits.
pub fn check_ons_code(key: &str, code: &str) -> Result<(), DomainError> {
    let mut chars = code.chars();
    let country = chars.next().is_some_and(|c| "EWSN".contains(c));
    let digits = chars.as_str();
    if !country || digits.len() != 8 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad(
            key,
            format!("\"{code}\" is not an ONS code such as E12000009 (E, W, S or N and 8 digits)"),
        ));
    }
    Ok(())
}

/// Validates every identifier a determination carries, naming keys as the file does.
pub(crate) fn validate_identifiers(d: &Determination) -> Result<(), DomainError> {
    if let Some(funder) = &d.funder {
        if funder.name.trim().is_empty() {
            return Err(bad("funder.name", "must not be empty"));
        }
        check_org_id("funder.org_id", &funder.org_id)?;
    }
    for (index, allocation) in d.allocations.iter().enumerate() {
        let key = format!("allocation[{}]", index + 1);
        if let Some(org_id) = &allocation.org_id {
            check_org_id(&format!("{key}.org_id"), org_id)?;
        }
        if let Some(code) = &allocation.region_ons_code {
            check_ons_code(&format!("{key}.region_ons_code"), code)?;
        }
        for (authority, code) in &allocation.authority_ons_codes {
            let code_key = format!("{key}.authority_ons_codes.\"{authority}\"");
            match allocation.authority(authority) {
                Some(canonical) if canonical == authority => {}
                // Keys are matched exactly so that one authority cannot carry two codes.
                Some(canonical) => {
                    return Err(bad(
                        &code_key,
                        format!("write the authority as in authorities: \"{canonical}\""),
                    ))
                }
                None => {
                    return Err(bad(
                        &code_key,
                        format!("\"{authority}\" is not one of this allocation's authorities"),
                    ))
                }
            }
            check_ons_code(&code_key, code)?;
        }
    }
    Ok(())
}

fn bad(key: &str, problem: impl std::fmt::Display) -> DomainError {
    DomainError::malformed(format!("{key}: {problem}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_authority_org_id_gives_its_register_code() {
        assert_eq!(register_code("GB-LAE-WIL"), Some("WIL"));
    }

    #[test]
    fn another_list_has_no_register_code() {
        assert_eq!(register_code("GB-GOVUK-department_for_education"), None);
    }

    #[test]
    fn the_longest_matching_prefix_wins() {
        assert_eq!(split_org_id("GB-LANI-BEL"), Some(("GB-LANI", "BEL")));
    }

    #[test]
    fn an_unknown_prefix_is_malformed_naming_the_key() {
        let error = check_org_id("allocation[3].org_id", "GB-XYZ-WIL").unwrap_err();
        assert!(error.is_malformed());
        assert!(error
            .message()
            .starts_with("allocation[3].org_id: \"GB-XYZ-WIL\""));
    }

    #[test]
    fn a_prefix_without_an_identifier_is_malformed() {
        assert!(check_org_id("k", "GB-LAE-").is_err());
    }

    #[test]
    fn an_identifier_with_spaces_is_malformed() {
        assert!(check_org_id("k", "GB-LAE-W IL").is_err());
    }

    #[test]
    fn a_department_org_id_is_accepted() {
        assert!(check_org_id("k", "GB-GOVUK-department_for_education").is_ok());
    }

    #[test]
    fn an_ons_code_is_a_country_letter_and_eight_digits() {
        assert!(check_ons_code("k", "E12000009").is_ok());
        assert!(check_ons_code("k", "W06000015").is_ok());
    }

    #[test]
    fn a_short_ons_code_is_malformed() {
        assert!(check_ons_code("k", "E1200009").is_err());
    }

    #[test]
    fn an_ons_code_of_another_letter_is_malformed() {
        assert!(check_ons_code("k", "X12000009").is_err());
    }

    #[test]
    fn a_lower_case_ons_code_is_malformed() {
        assert!(check_ons_code("k", "e12000009").is_err());
    }
}
