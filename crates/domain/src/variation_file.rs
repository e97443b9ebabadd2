//! Reading a variation file: the new allocation table of a determination, as a
//! department issues it by letter. It is the `[[allocation]]` part of a
//! determination file with only `region` and `amount`; regions it leaves out
//! keep their allocation.

use toml::Table;

use crate::determination_file::{bad, Fields};
use crate::error::DomainError;
use crate::limits::{MAX_ALLOCATIONS, MAX_DETERMINATION_FILE_BYTES};
use crate::money::Money;

/// Parses a variation file into `(region as written, new amount)` pairs, in file order.
pub fn parse_variation(toml_text: &str) -> Result<Vec<(String, Money)>, DomainError> {
    if toml_text.len() > MAX_DETERMINATION_FILE_BYTES {
        return Err(DomainError::malformed(format!(
            "variation file is {} bytes, above the limit of {MAX_DETERMINATION_FILE_BYTES}",
            toml_text.len()
        )));
    }
    let root: Table = toml::from_str(toml_text).map_err(|error| {
        let message = error
            .message()
            .trim()
            .trim_end_matches('.')
            .replace('\n', "; ");
        DomainError::malformed(format!("variation file is not valid TOML: {message}"))
    })?;
    let top = Fields::new("", &root, &["allocation"])?;
    if top.optional("allocation").is_none() {
        return Err(bad(
            "allocation",
            "a variation needs at least one [[allocation]] with region and amount",
        ));
    }
    top.tables("allocation", MAX_ALLOCATIONS)?
        .into_iter()
        .map(|fields| {
            fields.only(&["region", "amount"])?;
            Ok((fields.string("region")?, fields.money("amount")?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_variation_file_is_regions_and_amounts() {
        let table =
            parse_variation("[[allocation]]\nregion = \"South West\"\namount = \"250,000\"\n")
                .unwrap();
        assert_eq!(
            table,
            vec![("South West".to_string(), Money::parse("250000").unwrap())]
        );
    }

    #[test]
    fn a_variation_file_names_the_key_it_cannot_read() {
        let error =
            parse_variation("[[allocation]]\nregion = \"London\"\nlead_authority = \"x\"\n")
                .unwrap_err()
                .to_string();
        assert!(
            error.starts_with("allocation[1].lead_authority: is not a known key"),
            "{error}"
        );
        let error = parse_variation("[[allocation]]\nregion = \"London\"\n")
            .unwrap_err()
            .to_string();
        assert_eq!(error, "allocation[1].amount: is missing");
    }
}
