//! What to say of a name that matches nothing: the closest one, if any is close.

/// The first few names and how many there are in all.
/// What to say of a name that is not one of `names`: the closest of them, if any is close,
/// and where the whole list is (a list in a sentence is unreadable once names hold commas,
/// as "Bristol, City of" does).
pub(super) fn suggestion(query: &str, names: &[String], id: &str) -> String {
    let query = query.trim().to_lowercase();
    let closest = names
        .iter()
        .map(|name| (edit_distance(&query, &name.to_lowercase()), name))
        .min_by_key(|(distance, _)| *distance)
        .filter(|(distance, name)| *distance <= (name.chars().count() / 3).max(2));
    let list = format!("grant-ledger determination show {id} --authorities lists them");
    match closest {
        Some((_, name)) => format!("did you mean \"{name}\"? ({list})"),
        None => list,
    }
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
    fn a_close_name_is_suggested_and_a_far_one_is_not() {
        let names = vec!["Camden".to_string(), "Bristol, City of".to_string()];
        assert!(suggestion("Camdem", &names, "31/7421").starts_with("did you mean \"Camden\"?"));
        assert_eq!(
            suggestion("Narnia", &names, "31/7421"),
            "grant-ledger determination show 31/7421 --authorities lists them"
        );
    }
}
