//! How a message echoes back the text a user gave: every refusal that quotes its input
//! quotes it through [`echo`], so no message runs on for pages or over several lines.

/// Most characters of an input a message quotes.
const SHOWN: usize = 40;

/// The input echoed back in messages, cut short so a pasted novel does not
/// become a novel-length error, with control characters (a newline, a NUL)
/// escaped so the message stays one line of text.
pub fn echo(input: &str) -> String {
    let trimmed = input.trim();
    let mut shown = String::with_capacity(trimmed.len().min(4 * SHOWN));
    for c in trimmed.chars().take(SHOWN) {
        if c.is_control() {
            shown.extend(c.escape_debug());
        } else {
            shown.push(c);
        }
    }
    if trimmed.chars().nth(SHOWN).is_some() {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_refused_input_is_echoed_cut_short() {
        let shown = echo(&"9".repeat(41));
        assert_eq!(shown, format!("{}…", "9".repeat(40)));
        assert_eq!(echo(&"9".repeat(40)), "9".repeat(40));
    }

    #[test]
    fn control_characters_are_echoed_escaped() {
        assert_eq!(echo("a\nb\0"), r"a\nb\0");
    }
}
