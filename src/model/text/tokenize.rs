//! Tokens as the original model saw them: lower-cased runs of word characters (`\w+`:
//! letters, digits, marks and connector punctuation such as `_`), everything else a separator.
//! (gensim's original pipeline used WordPunct tokens and dropped the pure-punctuation ones,
//! which leaves exactly these runs.)

/// Calls `f` with each token of `text`, lower-cased, without allocating per token.
pub fn for_each_token(text: &str, mut f: impl FnMut(&str)) {
    let mut buf = String::with_capacity(32);
    for c in text.chars() {
        if is_word_char(c) {
            if c.is_ascii() {
                buf.push(c.to_ascii_lowercase());
            } else {
                buf.extend(c.to_lowercase());
            }
        } else if !buf.is_empty() {
            f(&buf);
            buf.clear();
        }
    }
    if !buf.is_empty() {
        f(&buf);
    }
}

/// The tokens of `text`, lower-cased.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for_each_token(text, |t| out.push(t.to_string()));
    out
}

/// Regex's `\w` in Unicode mode: alphanumerics, combining marks, connector punctuation.
fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || c == '_';
    }
    c.is_alphanumeric()
        || is_mark(c)
        || matches!(
            c,
            '\u{203F}' | '\u{2040}' | '\u{2054}' | '\u{FE33}' | '\u{FE34}' | '\u{FE4D}'
                ..='\u{FE4F}' | '\u{FF3F}'
        )
}

/// Combining marks (general category M) in the common blocks.
fn is_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{0483}'..='\u{0489}' | '\u{0591}'..='\u{05BD}' | '\u{0610}'..='\u{061A}' | '\u{064B}'..='\u{065F}' | '\u{0900}'..='\u{0903}' | '\u{093A}'..='\u{094F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_cased_word_runs() {
        assert_eq!(
            tokenize("QUIC: A UDP-Based Multiplexed, Secure_Transport (RFC 9000)."),
            [
                "quic",
                "a",
                "udp",
                "based",
                "multiplexed",
                "secure_transport",
                "rfc",
                "9000"
            ]
        );
        assert_eq!(tokenize("Café ÉTÉ naïve"), ["café", "été", "naïve"]);
        assert_eq!(tokenize("  ... -- !!! "), Vec::<String>::new());
        assert_eq!(
            tokenize("e\u{301}t\u{301}e"),
            ["e\u{301}t\u{301}e"],
            "combining accents stay inside the word"
        );
    }

    #[test]
    fn matches_the_regex_definition_on_a_real_mix() {
        let text = "Über 3.5 MB/s — naïve_cost ≥ 2×; ΣΩ.αβ 東京 tab\tsep\u{00a0}nbsp";
        let re = regex::Regex::new(r"\w+").unwrap();
        let expected: Vec<String> = re
            .find_iter(text)
            .map(|m| m.as_str().to_lowercase())
            .collect();
        assert_eq!(tokenize(text), expected);
    }
}
