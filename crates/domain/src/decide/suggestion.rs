//! What to say of a name that matches nothing: the closest one, if any is close.

/// What to say of a name that is not one of `names`: the closest of them, if any is close,
/// and where the whole list is (a list in a sentence is unreadable once names hold commas,
/// as "Bristol, City of" does).
pub fn suggestion(query: &str, names: &[String], id: &str) -> String {
    let query = query.trim().to_lowercase();
    let closest = names
        .iter()
        .map(|name| (edit_distance(&query, &name.to_lowercase()), name))
        .min_by_key(|(distance, _)| *distance)
        .filter(|(distance, name)| *distance <= (name.chars().count() / 3).max(2))
        .map(|(_, name)| name)
        .or_else(|| only_one_with_word(&query, names));
    let list = format!("grant-ledger determination show {id} --authorities lists them");
    match closest {
        Some(name) => format!("did you mean \"{name}\"? ({list})"),
        None => list,
    }
}

/// The one name that holds `query` as whole words ("Bristol" in "Bristol, City of"), if
/// exactly one does: a short form far from the full name by edits, but not in doubt.
fn only_one_with_word<'a>(query: &str, names: &'a [String]) -> Option<&'a String> {
    if query.chars().count() < 3 {
        return None;
    }
    let words = |text: &str| -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let wanted = words(query);
    if wanted.is_empty() {
        return None;
    }
    let mut holding = names.iter().filter(|name| {
        let have = words(name);
        have.windows(wanted.len())
            .any(|run| run == wanted.as_slice())
    });
    let first = holding.next()?;
    holding.next().is_none().then_some(first)
}

/// Levenshtein distance by characters: the fewest insertions, deletions and substitutions
/// that turn one name into the other.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            let delete = previous[j + 1] + 1;
            let insert = current[j] + 1;
            current.push(substitute.min(delete).min(insert));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_changes() {
        assert_eq!(edit_distance("camden", "camden"), 0);
        assert_eq!(edit_distance("camdem", "camden"), 1);
        assert_eq!(edit_distance("bristol", "bristol, city of"), 9);
    }

    #[test]
    fn a_name_held_as_whole_words_by_one_name_only_is_suggested() {
        let names = vec![
            "Bristol, City of".to_string(),
            "Kingston upon Hull, City of".to_string(),
            "North Somerset".to_string(),
            "Somerset".to_string(),
        ];
        assert_eq!(only_one_with_word("hull", &names), Some(&names[1]));
        assert_eq!(only_one_with_word("somerset", &names), None, "two hold it");
        assert_eq!(only_one_with_word("city", &names), None, "two hold it");
        assert_eq!(only_one_with_word("bris", &names), None, "not a whole word");
    }

    #[test]
    fn a_close_name_is_suggested_and_a_far_one_is_not() {
        let names = vec!["Camden".to_string(), "Bristol, City of".to_string()];
        assert!(suggestion("Camdem", &names, "31/7421").starts_with("did you mean \"Camden\"?"));
        assert!(suggestion("bristol", &names, "31/7421")
            .starts_with("did you mean \"Bristol, City of\"?"));
        assert_eq!(
            suggestion("Narnia", &names, "31/7421"),
            "grant-ledger determination show 31/7421 --authorities lists them"
        );
    }
}
