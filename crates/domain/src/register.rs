//! What the local-authority-eng register says: the official name of each English local
//! authority by its register code. The facts ship inside the program as a compact table
//! (`registers/local-authority-eng.tsv`, generated from the 2024 identifiers list, which
//! the tests compare it with), so a lookup needs no file and no network.

use crate::identifiers::register_code;

/// `CODE<TAB>official name`, one authority a line, sorted by code.
const LOCAL_AUTHORITY_ENG_TSV: &str = include_str!("../registers/local-authority-eng.tsv");

/// Every (register code, official name) pair the program knows, in code order.
pub fn local_authorities() -> impl Iterator<Item = (&'static str, &'static str)> {
    LOCAL_AUTHORITY_ENG_TSV
        .lines()
        .filter_map(|line| line.split_once('\t'))
}

/// The official name of the English local authority with this org id (`GB-LAE-WIL`),
/// if the register knows it.
pub fn official_name(org_id: &str) -> Option<&'static str> {
    let code = register_code(org_id)?;
    local_authorities()
        .find(|(known, _)| *known == code)
        .map(|(_, name)| name)
}

/// Whether `name` is the register's `official` name of a council, allowing for case,
/// spacing and the two word orders one council's name is written in: the register's
/// "London Borough of Camden" is Annex A's "Camden London Borough Council". A different
/// kind of council ("Wiltshire County Council" for "Wiltshire Council") is not the same.
pub fn same_council(name: &str, official: &str) -> bool {
    let name = normalise(name);
    let official = normalise(official);
    name == official || reordered(&official).is_some_and(|o| o == name)
}

/// Lower case, with runs of spaces made one.
fn normalise(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// "london borough of camden" -> "camden london borough council", for the styles the
/// register writes as "<kind> of <place>".
fn reordered(official: &str) -> Option<String> {
    const KINDS: &[&str] = &["london borough", "royal borough", "borough", "city"];
    KINDS.iter().find_map(|kind| {
        let place = official.strip_prefix(kind)?.strip_prefix(" of ")?;
        Some(format!("{place} {kind} council"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_register_code_gives_the_official_name() {
        assert_eq!(official_name("GB-LAE-WIL"), Some("Wiltshire Council"));
    }

    #[test]
    fn an_unknown_code_has_no_official_name() {
        assert_eq!(official_name("GB-LAE-ZZZ"), None);
    }

    #[test]
    fn another_register_is_not_looked_up() {
        assert_eq!(official_name("GB-GOVUK-WIL"), None);
    }

    #[test]
    fn the_table_is_sorted_by_code_without_repeats() {
        let codes: Vec<_> = local_authorities().map(|(code, _)| code).collect();
        assert!(codes.windows(2).all(|w| w[0] < w[1]), "{codes:?}");
    }

    #[test]
    fn every_line_of_the_table_is_a_code_and_a_name() {
        assert_eq!(
            local_authorities().count(),
            LOCAL_AUTHORITY_ENG_TSV.lines().count()
        );
    }

    #[test]
    fn case_and_spacing_do_not_make_another_council() {
        assert!(same_council("wiltshire  council", "Wiltshire Council"));
    }

    #[test]
    fn a_london_borough_may_be_named_in_either_order() {
        assert!(same_council(
            "Camden London Borough Council",
            "London Borough of Camden"
        ));
    }

    #[test]
    fn a_county_council_is_not_the_unitary_that_replaced_it() {
        assert!(!same_council(
            "Wiltshire County Council",
            "Wiltshire Council"
        ));
    }
}
