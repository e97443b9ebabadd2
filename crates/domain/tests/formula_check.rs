//! The formula check of 31/7421, against the source documents rather than
//! figures typed in here: Annex A is read from the letter, each region's
//! authorities from the CSV, and the expected formula is computed from the
//! letter's stated rates independently of the crate's own formula code.

use std::collections::BTreeMap;

use grant_ledger_domain::{builtin, check, Money};
use rust_decimal::Decimal;

const LETTER: &str = include_str!("fixtures/determination-31-7421.txt");
const AUTHORITIES_CSV: &str = include_str!("fixtures/local-authorities-by-region-2024.csv");

/// Annex A: region -> (lead authority, amount), from lines such as
/// "South West – Wiltshire County Council\t£260,600".
fn annex_a() -> BTreeMap<String, (String, Money)> {
    let annex = LETTER
        .split("ANNEX A")
        .nth(1)
        .expect("the letter has an Annex A");
    annex
        .lines()
        .filter_map(|line| {
            let (who, amount) = line.split_once('\t')?;
            let (region, lead) = who.split_once(" – ")?;
            let amount = Money::parse(amount.trim()).ok()?;
            Some((region.trim().to_string(), (lead.trim().to_string(), amount)))
        })
        .collect()
}

/// Region -> its authorities, from the CSV (CRLF line endings, quoted names).
fn authorities_by_region() -> BTreeMap<String, Vec<String>> {
    let mut regions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in AUTHORITIES_CSV.lines().skip(1) {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let (region, rest) = line.split_once(',').unwrap();
        let mut fields = rest.splitn(3, ',');
        let (_number, _ons, name) = (fields.next(), fields.next(), fields.next().unwrap());
        regions
            .entry(region.to_string())
            .or_default()
            .push(name.trim_matches('"').to_string());
    }
    regions
}

/// The allocation the letter's own words give a region: £80,000 data
/// coordinator (+14% London weighting), £94,000 sector-led improvement,
/// £3,200 per authority self-assessment, the whole £90,000 Data to Insight to
/// the South East, and £27,200 National Framework.
fn letter_formula(region: &str, authorities: usize) -> Decimal {
    let pounds = |n: i64| Decimal::from(n);
    let coordinator = if region == "London" {
        pounds(80_000) * Decimal::new(114, 2)
    } else {
        pounds(80_000)
    };
    let data_to_insight = if region == "South East" {
        pounds(90_000)
    } else {
        Decimal::ZERO
    };
    coordinator
        + pounds(94_000)
        + pounds(3_200) * Decimal::from(authorities as u64)
        + data_to_insight
        + pounds(27_200)
}

#[test]
fn the_builtin_file_matches_annex_a_and_the_authority_list() {
    let d = builtin("31/7421").unwrap().unwrap();
    let annex = annex_a();
    let csv = authorities_by_region();
    assert_eq!(annex.len(), 9, "Annex A lists nine regions");
    assert_eq!(d.allocations.len(), annex.len());
    for allocation in &d.allocations {
        let (lead, amount) = &annex[&allocation.region];
        assert_eq!(&allocation.lead_authority, lead, "{}", allocation.region);
        assert_eq!(&allocation.amount, amount, "{}", allocation.region);
        assert_eq!(
            &allocation.authorities, &csv[&allocation.region],
            "{}",
            allocation.region
        );
    }
    assert_eq!(csv.values().map(Vec::len).sum::<usize>(), 153);
}

#[test]
fn eight_regions_reconcile_to_the_pound_and_one_does_not() {
    let d = builtin("31/7421").unwrap().unwrap();
    let report = check(&d);
    let annex = annex_a();
    let csv = authorities_by_region();
    assert_eq!(report.regions.len(), 9);

    let mut mismatched = Vec::new();
    for row in &report.regions {
        let authorities = csv[&row.region].len();
        let expected_formula = letter_formula(&row.region, authorities);
        let (_, determined) = annex[&row.region];
        assert_eq!(row.authorities, authorities, "{}", row.region);
        assert_eq!(row.formula.amount(), expected_formula, "{}", row.region);
        assert_eq!(
            row.determined, determined,
            "{}: the check never changes the determined amount",
            row.region
        );
        assert_eq!(
            row.difference.amount(),
            determined.amount() - expected_formula,
            "{}",
            row.region
        );
        let component_sum: Decimal = row.components.values().map(|m| m.amount()).sum();
        assert_eq!(component_sum, row.formula.amount(), "{}", row.region);
        if !row.difference.is_zero() {
            mismatched.push((row.region.clone(), row.difference));
        }
    }

    // Computed from the sources above, then stated for the reader: the
    // South West's determined £260,600 is £11,400 above its formula £249,200.
    let reconciled = report.regions.len() - mismatched.len();
    assert_eq!(reconciled, 8);
    assert_eq!(mismatched.len(), 1);
    let (region, difference) = &mismatched[0];
    assert_eq!(region, "South West");
    let south_west = letter_formula("South West", csv["South West"].len());
    assert_eq!(
        difference.amount(),
        annex["South West"].1.amount() - south_west
    );
    assert_eq!(difference.plain(), "11400.00");
}

#[test]
fn two_stated_workings_do_not_multiply_out() {
    let d = builtin("31/7421").unwrap().unwrap();
    let report = check(&d);
    let workings: Vec<_> = report
        .workings
        .iter()
        .map(|w| {
            (
                w.purpose.as_str(),
                w.working.as_str(),
                w.working_amount.plain(),
                w.difference.plain(),
            )
        })
        .collect();
    // The letter: "four LAs receiving 39 days of support, costed at £600 per
    // day" (= 93,600, stated £94,000) and "£600 per day, for 11 additional
    // days of support for 4 LAs" (= 26,400, stated £27,200).
    let sector_led = Decimal::from(4 * 39 * 600);
    let framework = Decimal::from(11 * 4 * 600);
    assert_eq!(
        workings,
        vec![
            (
                "sector-led-improvement",
                "4 x 39 x £600.00",
                format!("{sector_led}.00"),
                format!("{}.00", Decimal::from(94_000) - sector_led)
            ),
            (
                "national-framework",
                "11 x 4 x £600.00",
                format!("{framework}.00"),
                format!("{}.00", Decimal::from(27_200) - framework)
            ),
        ]
    );
    assert!(!report.is_clean());
}

#[test]
fn the_report_serializes_money_as_plain_strings() {
    let report = check(&builtin("31/7421").unwrap().unwrap());
    let json = serde_json::to_value(&report).unwrap();
    let south_west = &json["regions"][6];
    assert_eq!(south_west["region"], "South West");
    assert_eq!(south_west["determined"], "260600.00");
    assert_eq!(south_west["components"]["self-assessment"], "48000.00");
}
