//! Finds a document's reference list and parses each entry into a citation.
//!
//! Works on plain text as published (RFCs, OCR'd theses): a reference section starts at a
//! heading line such as "23.2.  Informative References", "REFERENCES" or "Bibliography" and runs
//! to the next top-level heading. Page furniture ("[Page 12]" footers and running headers after
//! a form feed) is skipped. Entries are split on `[label]` starts when the section uses labels,
//! on numbered starts ("1. ", "(1)") or blank lines otherwise. The original Hamlet kept
//! references of 30-500 characters; we keep 20-2,000 (modern RFC entries carry long URLs).

use std::sync::LazyLock;

use regex::Regex;

use crate::store::NewCitation;

static HEADING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^ {0,3}(?:(?:\d+(?:\.\d+)*\.?|[A-Z](?:\.\d+)*\.|Appendix [A-Z0-9]+\.?)\s+)?(?:(?:Normative|Informative|Non-[Nn]ormative|Other|Additional)\s+)?(?:References|REFERENCES|Bibliography|BIBLIOGRAPHY|Works Cited|Literature Cited)(?:\s*(?:and|&)\s+\w+)?\s*:?\s*$",
    )
    .expect("static regex")
});
static SECTION_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:(?:\d+(?:\.\d+)*\.?|[A-Z](?:\.\d+)*\.|Appendix\s+[A-Z0-9]+[.:]?)\s+[A-Z][^,]{0,70}$|(?:Acknowledg|Author|AUTHOR|Contributors|Index|INDEX|Full Copyright|Intellectual Property|Appendix|APPENDIX|Security Considerations|IANA Considerations|Editor|Change [Ll]og|Copyright|Glossary|Biographical)\S*)",
    )
    .expect("static regex")
});
static LABEL_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^ {0,8}\[[^\]\s][^\]]{0,40}\]").expect("static regex"));
static NUMBER_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^ {0,8}(?:\d{1,3}\.|\(\d{1,3}\))\s+\S").expect("static regex"));
static PAGE_FOOTER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[Page \d+\]\s*$").expect("static regex"));
static RUNNING_HEADER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^RFC \d+\s{2,}.*\s{2,}\S+( \d{4})?\s*$").expect("static regex"));
static DOI: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b10\.\d{4,9}/[^\s,;<>\x22]+").expect("static regex"));
static URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"https?://[^\s,<>\x22]+").expect("static regex"));
static QUOTED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"["“]([^"”]{3,300})["”]"#).expect("static regex"));
static MONTH_YEAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?,?\s+(1[89]\d\d|20\d\d)\b")
        .expect("static regex")
});
static YEAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^\w/.-])(1[89]\d\d|20\d\d)(?:$|[^\w/-])").expect("static regex")
});
static ISBN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"ISBN(?:-1[03])?:?\s*((?:97[89][-\s]?)?\d[\d\s-]{8,14}[\dXx])")
        .expect("static regex")
});
static JOURNAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:journal|transactions|proceedings|communications of the|magazine|review|letters|conference|symposium|workshop)\b")
        .expect("static regex")
});
static SEGMENT_BREAK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:,|\.|;)\s+").expect("static regex"));
static PUBLISHER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:Press|Publishing|Publishers|Addison-Wesley|Wiley|Springer|Prentice[- ]Hall|O'Reilly|McGraw-Hill|Elsevier|Morgan Kaufmann)\b")
        .expect("static regex")
});

/// Shortest and longest entry kept, in characters after collapsing whitespace.
const MIN_ENTRY: usize = 20;
const MAX_ENTRY: usize = 2_000;

/// Extracts the citations of `text`. `cited` maps an entry (its `[label]` if any, and its
/// whitespace-collapsed text) to the collection identifier it names, if the collection has a
/// way to tell (RFC numbers do; free-form thesis references do not).
pub(crate) fn extract(
    text: &str,
    cited: &dyn Fn(Option<&str>, &str) -> Option<i64>,
) -> Vec<NewCitation> {
    let lines = clean_lines(text);
    let mut out = Vec::new();
    for (start, end) in sections(&lines) {
        for (label, entry) in split_entries(&lines[start..end]) {
            let n = entry.chars().count();
            if (MIN_ENTRY..=MAX_ENTRY).contains(&n) && entry.chars().any(char::is_alphabetic) {
                out.push(parse_entry(label.as_deref(), &entry, cited));
            }
        }
    }
    out
}

/// The text without its reference sections (heading and entries) or page furniture: what a
/// draft says in its own words. `hamlet evaluate --no-references` queries with it.
pub fn without_references(text: &str) -> String {
    let lines = clean_lines(text);
    let mut keep = vec![true; lines.len()];
    for (start, end) in sections(&lines) {
        keep[start - 1..end].iter_mut().for_each(|k| *k = false);
    }
    let mut out = String::with_capacity(text.len());
    for (line, _) in lines.iter().zip(&keep).filter(|(_, k)| **k) {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The reference sections of `lines`: (first entry line, end) of each, the heading on the
/// line before the first.
fn sections(lines: &[&str]) -> Vec<(usize, usize)> {
    // Section headings sit at column 0; indented matches are usually the table of contents
    // (RFCs since 2019 list "   11. References" without page numbers). A few documents
    // indent their real headings, so indented ones count only when no column-0 one exists.
    let is_heading = |l: &str| HEADING.is_match(l) && !l.contains("...");
    let col0_only = lines.iter().any(|l| !l.starts_with(' ') && is_heading(l));
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if is_heading(lines[i]) && !(col0_only && lines[i].starts_with(' ')) {
            let start = i + 1;
            let mut end = start;
            while end < lines.len() {
                let l = lines[end];
                let top_level = !l.is_empty() && !l.starts_with(' ') && !l.starts_with('[');
                if top_level && !HEADING.is_match(l) && SECTION_END.is_match(l) {
                    break;
                }
                end += 1;
            }
            out.push((start, end));
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

/// Lines with page furniture removed: footers ending "[Page N]", form feeds, and the running
/// header that follows a form feed.
fn clean_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    for raw in text.lines() {
        let line = raw.trim_end_matches(['\r', ' ', '\t']);
        let line = line.trim_start_matches('\x0c');
        if PAGE_FOOTER.is_match(line) || RUNNING_HEADER.is_match(line) {
            continue;
        }
        lines.push(line);
    }
    lines
}

/// Splits a reference section into (label, collapsed text) entries.
fn split_entries(lines: &[&str]) -> Vec<(Option<String>, String)> {
    entry_spans(lines)
        .into_iter()
        .map(|(label, text, _)| (label, text))
        .collect()
}

/// `split_entries` with each entry's lines: (label, collapsed text, first line..end).
fn entry_spans(lines: &[&str]) -> Vec<(Option<String>, String, std::ops::Range<usize>)> {
    type Span = (Option<String>, String, std::ops::Range<usize>);
    let labelled = lines.iter().filter(|l| LABEL_START.is_match(l)).count();
    let numbered = lines.iter().filter(|l| NUMBER_START.is_match(l)).count();
    let mut entries: Vec<Span> = Vec::new();
    let mut current: Option<Span> = None;
    let flush = |cur: &mut Option<Span>, out: &mut Vec<Span>| {
        if let Some((label, text, span)) = cur.take() {
            let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
            if !collapsed.is_empty() {
                out.push((label, collapsed, span));
            }
        }
    };
    for (i, line) in lines.iter().enumerate() {
        if HEADING.is_match(line) {
            flush(&mut current, &mut entries);
            continue;
        }
        let starts = if labelled >= 2 {
            LABEL_START.is_match(line)
        } else if numbered >= 2 {
            NUMBER_START.is_match(line)
        } else {
            false
        };
        if starts {
            flush(&mut current, &mut entries);
            let label = LABEL_START
                .find(line)
                .map(|m| m.as_str().trim().trim_matches(['[', ']']).to_string());
            let rest = match LABEL_START.find(line) {
                Some(m) => &line[m.end()..],
                None => line,
            };
            current = Some((label, rest.to_string(), i..i + 1));
        } else if line.trim().is_empty() {
            // Blank lines separate entries only when nothing else does.
            if labelled < 2 && numbered < 2 {
                flush(&mut current, &mut entries);
            }
        } else {
            match current.as_mut() {
                Some((_, text, span)) => {
                    text.push(' ');
                    text.push_str(line.trim());
                    span.end = i + 1;
                }
                None => current = Some((None, line.trim().to_string(), i..i + 1)),
            }
        }
    }
    flush(&mut current, &mut entries);
    entries
}

/// The text without the reference entries `drop` picks (given each entry's label and
/// whitespace-collapsed text), page furniture removed: the "missing" protocol's query
/// (`model::eval`) hides part of what a document cites this way.
pub fn without_entries(text: &str, drop: &dyn Fn(Option<&str>, &str) -> bool) -> String {
    let lines = clean_lines(text);
    let mut keep = vec![true; lines.len()];
    for (start, end) in sections(&lines) {
        for (label, entry, span) in entry_spans(&lines[start..end]) {
            if drop(label.as_deref(), &entry) {
                keep[start + span.start..start + span.end]
                    .iter_mut()
                    .for_each(|k| *k = false);
            }
        }
    }
    let mut out = String::with_capacity(text.len());
    for (line, _) in lines.iter().zip(&keep).filter(|(_, k)| **k) {
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn parse_entry(
    label: Option<&str>,
    entry: &str,
    cited: &dyn Fn(Option<&str>, &str) -> Option<i64>,
) -> NewCitation {
    let trim_end = |s: &str| s.trim_end_matches(['.', ')', ']', '>']).to_string();
    let doi = DOI.find(entry).map(|m| trim_end(m.as_str()));
    let url = URL.find(entry).map(|m| trim_end(m.as_str()));
    let title = QUOTED
        .captures(entry)
        .map(|c| c[1].trim().trim_end_matches(',').to_string());
    let author = entry
        .find([',', '.'])
        .and_then(|_| {
            QUOTED.find(entry).map(|m| {
                entry[..m.start()]
                    .trim()
                    .trim_end_matches(',')
                    .trim()
                    .to_string()
            })
        })
        .filter(|a| !a.is_empty() && a.len() <= 300);
    let year = MONTH_YEAR
        .captures_iter(entry)
        .last()
        .or_else(|| {
            YEAR.captures_iter(entry)
                .filter(|c| !preceded_by_rfc(entry, c.get(1).map_or(0, |m| m.start())))
                .last()
        })
        .and_then(|c| c[1].parse().ok());
    let isbn = ISBN.captures(entry).map(|c| c[1].trim().to_string());
    let segments = || SEGMENT_BREAK.split(entry).map(str::trim);
    let journal = segments()
        .filter(|s| Some(*s) != title.as_deref())
        .find(|s| JOURNAL.is_match(s) && s.len() <= 200 && !s.contains("://"))
        .map(|s| s.trim_end_matches('.').to_string());
    let publisher = segments()
        .find(|s| PUBLISHER.is_match(s) && s.len() <= 120)
        .map(|s| s.trim_end_matches('.').to_string());
    NewCitation {
        raw_ref: match label {
            Some(l) => format!("[{l}] {entry}"),
            None => entry.to_string(),
        },
        doi,
        journal,
        url,
        author,
        title,
        isbn,
        publisher,
        year,
        cited_identifier: cited(label, entry).map(crate::store::DocId),
    }
}

fn preceded_by_rfc(entry: &str, at: usize) -> bool {
    entry[..at].trim_end().ends_with("RFC")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: Option<&str>, _: &str) -> Option<i64> {
        None
    }

    #[test]
    fn without_entries_drops_only_the_chosen_ones() {
        let text = "1.  Intro\n\n   We use [RFC793] and [RFC768].\n\n2.  References\n\n   [RFC768]  Postel, J., \"User Datagram Protocol\", STD 6,\n             RFC 768, August 1980.\n\n   [RFC793]  Postel, J., \"Transmission Control Protocol\",\n             RFC 793, September 1981.\n\nAuthor's Address\n\n   J. Doe\n";
        let out = without_entries(text, &|label, entry| {
            label == Some("RFC793") && entry.contains("Transmission")
        });
        assert!(!out.contains("Transmission"), "{out}");
        assert!(!out.contains("September 1981"), "{out}");
        assert!(out.contains("User Datagram Protocol"), "{out}");
        assert!(out.contains("RFC 768, August 1980."), "{out}");
        assert!(out.contains("We use [RFC793]"), "prose is kept: {out}");
        assert!(out.contains("J. Doe"), "{out}");
    }

    #[test]
    fn without_references_keeps_the_prose_only() {
        let text = "1.  Introduction\n\n   Text citing [RFC2119].\n\n2.  References\n\n2.1.  Normative References\n\n   [RFC2119]  Bradner, S., \"Key words for use in RFCs to Indicate\n              Requirement Levels\", BCP 14, RFC 2119.\n\nAuthor's Address\n\n   J. Doe\n";
        let prose = without_references(text);
        assert!(
            prose.contains("Text citing [RFC2119]") && prose.contains("J. Doe"),
            "{prose}"
        );
        assert!(
            !prose.contains("Key words") && !prose.contains("Normative"),
            "{prose}"
        );
        assert_eq!(without_references("no sections here"), "no sections here\n");
    }

    #[test]
    fn labelled_sections_across_a_page_break() {
        let text = "1.  Introduction\n\n   Text citing [RFC2119].\n\n2.  References\n\n2.1.  Normative References\n\n   [RFC2119]  Bradner, S., \"Key words for use in RFCs to Indicate\n              Requirement Levels\", BCP 14, RFC 2119,\n              DOI 10.17487/RFC2119, March 1997,\n              <https://www.rfc-editor.org/info/rfc2119>.\n\nDoe                      Informational                      [Page 3]\n\x0cRFC 9999                 Example                          May 2026\n\n   [KNUTH]    Knuth, D., \"The Art of Computer Programming\", Addison-Wesley,\n              ISBN 0-201-03801-3, 1968.\n\nAuthor's Address\n\n   J. Doe\n";
        let refs = extract(text, &|label, _| {
            label
                .and_then(|l| l.strip_prefix("RFC"))
                .and_then(|n| n.parse().ok())
        });
        assert_eq!(refs.len(), 2, "{refs:#?}");
        let r = &refs[0];
        assert_eq!(r.cited_identifier, Some(crate::store::DocId(2119)));
        assert_eq!(
            r.title.as_deref(),
            Some("Key words for use in RFCs to Indicate Requirement Levels")
        );
        assert_eq!(r.author.as_deref(), Some("Bradner, S."));
        assert_eq!(r.doi.as_deref(), Some("10.17487/RFC2119"));
        assert_eq!(
            r.url.as_deref(),
            Some("https://www.rfc-editor.org/info/rfc2119")
        );
        assert_eq!(r.year, Some(1997));
        assert!(r.raw_ref.starts_with("[RFC2119] Bradner"));
        let k = &refs[1];
        assert_eq!(k.publisher.as_deref(), Some("Addison-Wesley"));
        assert_eq!(k.isbn.as_deref(), Some("0-201-03801-3"));
        assert_eq!(k.year, Some(1968));
        assert_eq!(k.cited_identifier, None);
    }

    #[test]
    fn unlabelled_paragraph_references() {
        let text = "Chapter 5\n\nBibliography\n\nSmith, J. Learning to rank theses. Journal of Library Science, 12(3), 2004.\n\nJones, K. and Lee, M. Paragraph vectors revisited. In Proceedings of the Workshop on Text, 2015.\n\nAppendix A. Code\n\nnot a reference at all, but long enough to be one\n";
        let refs = extract(text, &none);
        assert_eq!(refs.len(), 2, "{refs:#?}");
        assert_eq!(
            refs[0].journal.as_deref(),
            Some("Journal of Library Science")
        );
        assert_eq!(refs[0].year, Some(2004));
        assert_eq!(refs[1].year, Some(2015));
    }

    #[test]
    fn indented_table_of_contents_is_not_the_reference_list() {
        let text = "Table of Contents\n\n   1.  Introduction\n   2. References\n     2.1.  Normative References\n\n1.  Introduction\n\n   Some text.\n\n2.  References\n\n2.1.  Normative References\n\n   [RFC2119]  Bradner, S., \"Key words for use in RFCs\", RFC 2119, March 1997.\n";
        let refs = extract(text, &none);
        assert_eq!(refs.len(), 1, "{refs:#?}");
        assert!(refs[0].raw_ref.starts_with("[RFC2119] Bradner"));
    }

    #[test]
    fn table_of_contents_lines_are_not_headings() {
        let text = "   7. References ..................................... 12\n\nBody text that is long enough to matter.\n";
        assert!(extract(text, &none).is_empty());
    }

    #[test]
    fn rfc_numbers_are_not_years() {
        let c = parse_entry(
            None,
            "Postel, J., \"Transmission Control Protocol\", STD 7, RFC 1999, September 1981.",
            &none,
        );
        assert_eq!(c.year, Some(1981));
        let c = parse_entry(None, "Postel, J., \"Something\", RFC 1999.", &none);
        assert_eq!(c.year, None);
    }
}
