//! How regions are named on the command line: by name in any case
//! (`"south west"`) or by slug (`south-west`).

/// The slug of a region name: lower case, every run of other characters a
/// single hyphen. `"Yorkshire and Humber"` -> `"yorkshire-and-humber"`.
pub fn region_slug(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_alphanumeric() {
            slug.extend(c.to_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
    slug
}

/// Whether `query` names the region `name`: the name in any case, or its slug.
pub fn region_matches(name: &str, query: &str) -> bool {
    let query = query.trim();
    !query.is_empty()
        && (name.trim().to_lowercase() == query.to_lowercase()
            || region_slug(name) == query.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(region_slug("Yorkshire and Humber"), "yorkshire-and-humber");
        assert_eq!(region_slug("East of England"), "east-of-england");
        assert_eq!(region_slug("  South  West "), "south-west");
    }

    #[test]
    fn matches_name_any_case_or_slug() {
        assert!(region_matches("South West", "south west"));
        assert!(region_matches("South West", "SOUTH WEST"));
        assert!(region_matches("South West", "south-west"));
        assert!(region_matches("South West", "South-West"));
        assert!(!region_matches("South West", "south"));
        assert!(!region_matches("South West", ""));
        assert!(!region_matches("South West", "south_west"));
    }
}
