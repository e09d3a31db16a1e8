//! The IETF RFC series as a stand-in thesis collection (`../shared/corpora/rfc/README.md`):
//! `rfc-index.txt` gives each number's title, authors, date and status; `rfc-text.tar.zst`
//! holds `./rfcN.txt`, read straight from the compressed archive.
//!
//! Mapping: identifier = RFC number; url = the RFC Editor's page; year from the index date;
//! degree = the index status ("Proposed Standard", ...); department = the stream named in the
//! document's first header line ("Internet Engineering Task Force (IETF)", ...); citations =
//! the entries of its References sections, "[RFC9001]" / "RFC 9001" linking to RFC 9001;
//! unextractable = issued in the index but no text file. "Not Issued" numbers are skipped.
//!
//! Texts are UTF-8, except a few dozen 1970s RFCs in ISO-8859-1: those are decoded as
//! ISO-8859-1 rather than refused, because the RFC Editor publishes them that way.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use super::{Error, Result};
use crate::store::{DocId, NewDepartment, NewDocument};

pub(crate) const INDEX_FILE: &str = "rfc-index.txt";
pub(crate) const ARCHIVE_FILE: &str = "rfc-text.tar.zst";

static ENTRY_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\d{1,5}) (\S.*)$").expect("static regex"));
static TAIL_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\s\((?:Format:|Obsoletes|Obsoleted by|Updates|Updated by|Also|Status:|DOI:|Stream:)",
    )
    .expect("static regex")
});
static DATE_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\s(?:\d{1,2} )?(?:January|February|March|April|May|June|July|August|September|October|November|December) (\d{4})\.$")
        .expect("static regex")
});
static OBSOLETES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\(Obsoletes ([^)]+)\)").expect("static regex"));
static RFC_NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bRFC ?0*(\d{1,5})\b").expect("static regex"));
static STATUS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\(Status: ([^)]+)\)").expect("static regex"));
static AUTHOR: LazyLock<Regex> = LazyLock::new(|| {
    // "J. Iyengar", "S.D. Crocker", "A.-Y. Lee", "D. Eastlake 3rd", "IAB", "RFC Editor", and
    // initials written without a dot between them: "JM. Valin", "IJ. Wijnands" (issue 26).
    // Also hyphenated, accented and bracketed initials ("M-K. Shin", "É. Vyncke", "Y(J). Stein",
    // "Y(J) Stein", "S P. Romano").
    Regex::new(r"^(?:(?:\p{Lu}{1,3}(?:-\p{Lu}{1,2})?(?:\(\p{Lu}\))?\.-?|\p{Lu}[a-z]{1,2}\.-?|\p{Lu}\(\p{Lu}\)|\p{Lu} \p{Lu}\.)+ ?\S.*|[A-Z][A-Za-z&-]+(?: (?:and|of|for|\d+|[A-Z][A-Za-z&-]+)){0,5})$")
        .expect("static regex")
});
static RFC_LABEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^RFC ?(\d{1,5})$").expect("static regex"));
static RFC_MENTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bRFC ?(\d{1,5})\b").expect("static regex"));
static FILE_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|/)rfc(\d{1,5})\.txt$").expect("static regex"));

/// One issued entry of the index.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IndexEntry {
    pub number: i64,
    pub title: String,
    pub authors: Vec<String>,
    pub year: Option<i64>,
    pub status: Option<String>,
    /// The RFCs this one obsoletes (replaces with a new version): `hamlet evaluate`'s
    /// successor view reads them as truth; nothing that ranks or trains does.
    pub obsoletes: Vec<i64>,
}

/// The two input files of the collection.
#[derive(Debug, Clone)]
pub(crate) struct RfcCorpus {
    pub index: PathBuf,
    pub archive: PathBuf,
}

impl RfcCorpus {
    /// Finds `rfc-index.txt` and `rfc-text.tar.zst` in `dir`.
    pub fn open(dir: &Path) -> Result<RfcCorpus> {
        let corpus = RfcCorpus {
            index: dir.join(INDEX_FILE),
            archive: dir.join(ARCHIVE_FILE),
        };
        for p in [&corpus.index, &corpus.archive] {
            std::fs::metadata(p).map_err(|e| Error::io(p, e))?;
        }
        Ok(corpus)
    }

    /// The issued entries of the index by number; "Not Issued" numbers are left out.
    pub fn read_index(&self) -> Result<BTreeMap<i64, IndexEntry>> {
        let text = super::read_utf8(&self.index)?;
        parse_index(&self.index, &text)
    }

    /// Streams `(number, text)` for each `rfcN.txt` in the archive, in archive order.
    pub fn for_each_text(&self, mut f: impl FnMut(i64, String) -> Result<()>) -> Result<()> {
        let file = std::fs::File::open(&self.archive).map_err(|e| Error::io(&self.archive, e))?;
        let zstd =
            zstd::stream::read::Decoder::new(file).map_err(|e| Error::io(&self.archive, e))?;
        let mut archive = tar::Archive::new(zstd);
        let entries = archive.entries().map_err(|e| Error::io(&self.archive, e))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| Error::io(&self.archive, e))?;
            let name = entry
                .path()
                .map_err(|e| Error::io(&self.archive, e))?
                .to_string_lossy()
                .into_owned();
            let Some(number) = FILE_NAME
                .captures(&name)
                .and_then(|c| c[1].parse::<i64>().ok())
            else {
                continue;
            };
            let mut bytes = Vec::with_capacity(entry.size() as usize);
            entry
                .read_to_end(&mut bytes)
                .map_err(|e| Error::io(&self.archive.join(&name), e))?;
            f(number, decode_rfc_text(bytes))?;
        }
        Ok(())
    }
}

/// UTF-8 when valid, else ISO-8859-1 (each byte is its code point); a BOM is dropped.
fn decode_rfc_text(bytes: Vec<u8>) -> String {
    let mut s = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => e.into_bytes().iter().map(|&b| b as char).collect(),
    };
    if s.starts_with('\u{feff}') {
        s.drain(..3);
    }
    s
}

/// Parses the RFC Editor's index: entries are blank-line separated paragraphs starting with a
/// number at column 0, after a free-text preamble.
pub(crate) fn parse_index(path: &Path, text: &str) -> Result<BTreeMap<i64, IndexEntry>> {
    let mut out = BTreeMap::new();
    let mut seen_entry = false;
    let mut para: Vec<&str> = Vec::new();
    let mut para_line = 0;
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().chain(std::iter::once(&"")).enumerate() {
        if line.trim().is_empty() {
            if !para.is_empty() {
                let joined = para.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ");
                if let Some(c) = ENTRY_START.captures(para[0]) {
                    seen_entry = true;
                    let number: i64 = c[1]
                        .parse()
                        .map_err(|_| Error::malformed(path, para_line, "bad RFC number"))?;
                    let rest = joined[c[1].len()..].trim();
                    if rest != "Not Issued." {
                        let entry = parse_entry(number, rest)
                            .map_err(|m| Error::malformed(path, para_line, m))?;
                        if out.insert(number, entry).is_some() {
                            return Err(Error::malformed(
                                path,
                                para_line,
                                format!("RFC {number} is listed twice"),
                            ));
                        }
                    }
                } else if seen_entry
                    && !para[0].starts_with('~')
                    && !para
                        .iter()
                        .all(|l| l.trim().starts_with("RFC INDEX") || l.trim().starts_with('-'))
                {
                    return Err(Error::malformed(
                        path,
                        para_line,
                        format!(
                            "expected an entry starting with an RFC number, found {:?}",
                            truncate(para[0], 60)
                        ),
                    ));
                }
                para.clear();
            }
        } else {
            if para.is_empty() {
                para_line = i + 1;
            }
            para.push(line);
        }
    }
    if out.is_empty() {
        return Err(Error::malformed(
            path,
            1,
            "no RFC entries found: is this the RFC Editor's rfc-index.txt?",
        ));
    }
    Ok(out)
}

/// (newer, older) for each RFC of `index` that obsoletes another: a new version of the same
/// specification. Evaluation truth (`hamlet evaluate --successors`), never a ranking input.
pub(crate) fn successor_pairs(index: &BTreeMap<i64, IndexEntry>) -> Vec<(i64, i64)> {
    index
        .values()
        .flat_map(|e| e.obsoletes.iter().map(move |&old| (e.number, old)))
        .filter(|(new, old)| new != old)
        .collect()
}

/// Reads the successor pairs of the RFC index at `path` (the file, or the directory holding
/// `rfc-index.txt`).
pub fn read_successor_pairs(path: &Path) -> Result<Vec<(i64, i64)>> {
    let file = if path.is_dir() {
        path.join(INDEX_FILE)
    } else {
        path.to_path_buf()
    };
    let text = super::read_utf8(&file)?;
    Ok(successor_pairs(&parse_index(&file, &text)?))
}

/// `TITLE. AUTHORS. [D] MONTH YEAR. (Format: ...) (Status: ...) ...` without the number.
fn parse_entry(number: i64, rest: &str) -> std::result::Result<IndexEntry, String> {
    let (head, tail) = match TAIL_START.find(rest) {
        Some(m) => (rest[..m.start()].trim(), &rest[m.start()..]),
        None => (rest, ""),
    };
    let status = STATUS.captures(tail).map(|c| title_case(c[1].trim()));
    let obsoletes = OBSOLETES.captures(tail).map_or_else(Vec::new, |c| {
        RFC_NUMBER
            .captures_iter(&c[1])
            .filter_map(|n| n[1].parse().ok())
            .collect()
    });
    let (body, year) = match DATE_END.captures(head) {
        Some(c) => (
            &head[..c.get(0).map_or(0, |m| m.start())],
            c[1].parse().ok(),
        ),
        None => {
            return Err(format!(
                "RFC {number}: no publication date (\"Month YYYY.\") in {:?}",
                truncate(head, 80)
            ))
        }
    };
    // "T.  Connolly": runs of spaces inside an entry are layout, not meaning (issue 26).
    let body = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let body = body.as_str();
    // The title ends at the first ". " after which the rest reads as an author list.
    let mut split = None;
    for (i, _) in body.match_indices(". ") {
        let authors = body[i + 2..].trim_end_matches('.');
        if looks_like_authors(authors) {
            split = Some(i);
            break;
        }
    }
    let (title, authors) = match split {
        Some(i) => (&body[..i], &body[i + 2..]),
        None => match body.rfind(". ") {
            Some(i) => (&body[..i], &body[i + 2..]),
            None => (body.trim_end_matches('.'), ""),
        },
    };
    let title = title.trim().trim_end_matches('.').to_string();
    if title.is_empty() {
        return Err(format!("RFC {number}: empty title"));
    }
    Ok(IndexEntry {
        number,
        title,
        authors: split_authors(authors),
        year,
        status,
        obsoletes,
    })
}

fn looks_like_authors(s: &str) -> bool {
    let items = split_authors(s);
    !items.is_empty() && items.iter().all(|a| AUTHOR.is_match(a))
}

/// "J. Iyengar, Ed., M. Thomson, Ed." -> ["J. Iyengar", "M. Thomson"]: the editor marks are
/// roles, not part of the person's name.
fn split_authors(s: &str) -> Vec<String> {
    s.trim_end_matches('.')
        .split(", ")
        .map(str::trim)
        .filter(|a| !a.is_empty() && *a != "Ed." && *a != "Ed")
        .map(|a| a.trim_end_matches(", Ed").to_string())
        .collect()
}

/// The stream named on a text's first non-empty line, normalised across the spellings of
/// five decades of RFCs; `None` when the first line names no stream.
pub(crate) fn stream_of(text: &str) -> Option<&'static str> {
    let first = text.lines().find(|l| !l.trim().is_empty())?;
    let left = first
        .trim()
        .split("  ")
        .next()?
        .to_ascii_lowercase()
        .replace('\t', " ");
    if left.contains("engineering task force") {
        Some("Internet Engineering Task Force (IETF)")
    } else if left.contains("research task force") {
        Some("Internet Research Task Force (IRTF)")
    } else if left.contains("architecture board") {
        Some("Internet Architecture Board (IAB)")
    } else if left.starts_with("independent submission") {
        Some("Independent Submission")
    } else if left.starts_with("nwg") || (left.contains("work") && left.contains("group")) {
        Some("Network Working Group")
    } else {
        None
    }
}

/// The citation resolver for RFCs: "[RFC9001]" labels first, else the first "RFC 9001" in the
/// entry's text.
pub(crate) fn cited_rfc(label: Option<&str>, entry: &str) -> Option<i64> {
    if let Some(n) = label
        .and_then(|l| RFC_LABEL.captures(l))
        .and_then(|c| c[1].parse().ok())
    {
        return Some(n);
    }
    RFC_MENTION.captures(entry).and_then(|c| c[1].parse().ok())
}

/// Builds the document for an index entry and its text (None: unextractable).
pub(crate) fn document(entry: &IndexEntry, text: Option<String>) -> NewDocument {
    let departments = text
        .as_deref()
        .and_then(stream_of)
        .map(|s| {
            vec![NewDepartment {
                name: s.to_string(),
                course: None,
            }]
        })
        .unwrap_or_default();
    let citations = text
        .as_deref()
        .map(|t| {
            let mut c = super::references::extract(t, &cited_rfc);
            // A document's own number is not a citation of itself.
            for cit in &mut c {
                if cit.cited_identifier == Some(DocId(entry.number)) {
                    cit.cited_identifier = None;
                }
            }
            c
        })
        .unwrap_or_default();
    NewDocument {
        identifier: DocId(entry.number),
        title: entry.title.clone(),
        year: entry.year,
        degree: entry.status.clone(),
        url: Some(format!(
            "https://www.rfc-editor.org/rfc/rfc{}",
            entry.number
        )),
        unextractable: text.is_none(),
        unextractable_reason: text
            .is_none()
            .then(|| "the RFC Editor publishes no text file for it".to_string()),
        text,
        authors: entry.authors.clone(),
        advisors: Vec::new(),
        departments,
        citations,
    }
}

/// "PROPOSED STANDARD" -> "Proposed Standard".
fn title_case(s: &str) -> String {
    s.split_whitespace()
        .map(|w| {
            let lower = w.to_lowercase();
            let mut c = lower.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Parses "9000-9010,793" into inclusive ranges.
pub(crate) fn parse_ranges(spec: &str) -> std::result::Result<Vec<(i64, i64)>, String> {
    spec.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|part| {
            let part = part.trim();
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            let a: i64 = a
                .trim()
                .parse()
                .map_err(|_| format!("bad number {a:?} in {spec:?}"))?;
            let b: i64 = b
                .trim()
                .parse()
                .map_err(|_| format!("bad number {b:?} in {spec:?}"))?;
            if a > b {
                return Err(format!("range {part:?} runs backwards"));
            }
            Ok((a, b))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = "\n~~~~\n\n   RFC INDEX\n   ---------\n\nThis file contains citations.\n\n  9915 Example in the preamble. T. Mrugalski. January 2026.\n\n~~~~\n\n   RFC INDEX\n   ---------\n\n\n\n16 M.I.T. S. Crocker. August 1969. (Format: TXT, HTML) (Obsoletes RFC10)\n     (Updated by RFC24, RFC27, RFC30) (Status: UNKNOWN) (DOI:\n     10.17487/RFC16)\n\n14 Not Issued.\n\n1149 Standard for the transmission of IP datagrams on avian carriers. D.\n     Waitzman. 1 April 1990. (Format: TXT, HTML) (Updated by RFC2549,\n     RFC6214) (Status: EXPERIMENTAL) (DOI: 10.17487/RFC1149)\n\n9000 QUIC: A UDP-Based Multiplexed and Secure Transport. J. Iyengar, Ed.,\n     M. Thomson, Ed.. May 2021. (Format: HTML, TXT, PDF, XML) (Status:\n     PROPOSED STANDARD) (DOI: 10.17487/RFC9000)\n";

    #[test]
    fn index_entries() {
        let idx = parse_index(Path::new("rfc-index.txt"), INDEX).unwrap();
        assert_eq!(
            idx.keys().copied().collect::<Vec<_>>(),
            vec![16, 1149, 9000]
        );
        let q = &idx[&9000];
        assert_eq!(
            q.title,
            "QUIC: A UDP-Based Multiplexed and Secure Transport"
        );
        assert_eq!(q.authors, vec!["J. Iyengar", "M. Thomson"]);
        assert_eq!(q.year, Some(2021));
        assert_eq!(q.status.as_deref(), Some("Proposed Standard"));
        assert_eq!(
            idx[&16].title, "M.I.T",
            "the index cannot tell a final period from the terminator"
        );
        assert_eq!(idx[&16].authors, vec!["S. Crocker"]);
        assert_eq!(idx[&1149].authors, vec!["D. Waitzman"]);
        assert_eq!(idx[&1149].year, Some(1990));
        assert_eq!(idx[&16].obsoletes, vec![10]);
        assert!(idx[&9000].obsoletes.is_empty());
        let pairs = successor_pairs(&idx);
        assert_eq!(pairs, vec![(16, 10)]);
    }

    /// Issue 26: initials written without a dot between them ("JM. Valin") were read as the
    /// end of the title, which kept them, and the author lost them. Checked over the whole
    /// index in ../shared.
    #[test]
    fn issue_26_titles_keep_no_initials_and_authors_keep_theirs() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora/rfc/rfc-index.txt");
        let text = std::fs::read_to_string(&path).expect("the RFC index in ../shared");
        let idx = parse_index(&path, &text).unwrap();
        let ends_in_initials = Regex::new(r"\. [A-Z]{1,3}$").unwrap();
        let bad: Vec<i64> = idx
            .values()
            .filter(|e| ends_in_initials.is_match(&e.title))
            .map(|e| e.number)
            .collect();
        assert!(bad.is_empty(), "titles ending in initials: {bad:?}");
        assert_eq!(idx[&6716].title, "Definition of the Opus Audio Codec");
        assert_eq!(idx[&6716].authors, ["JM. Valin", "K. Vos", "T. Terriberry"]);
        // Every author is initials and a name, or an organisation written as capitalised
        // words ("IAB", "RFC Editor"): never a bare surname cut from its initials.
        let bare: Vec<(i64, &str)> = idx
            .values()
            .flat_map(|e| e.authors.iter().map(move |a| (e.number, a.as_str())))
            .filter(|(_, a)| {
                !a.contains('.')
                    && !a.contains(' ')
                    && a.chars().skip(1).any(|c| c.is_lowercase())
                    && !ORGANISATIONS.contains(a)
            })
            .collect();
        assert!(bare.is_empty(), "{} bare names: {bare:?}", bare.len());
        for n in [
            5330, 5152, 1693, 5029, 6569, 8296, 7441, 5339, 4874, 4135, 4089,
        ] {
            assert!(
                idx[&n].authors.iter().all(|a| a.contains(['.', ' '])),
                "RFC {n}: {:?} / {:?}",
                idx[&n].title,
                idx[&n].authors
            );
        }
    }

    /// One-word author names in the index that are a person's whole name, not a cut surname.
    const ORGANISATIONS: [&str; 1] = ["Mitra"];

    #[test]
    fn malformed_entries_name_their_line() {
        let bad = INDEX.replace("M. Thomson, Ed.. May 2021.", "M. Thomson, Ed.. sometime.");
        let err = parse_index(Path::new("rfc-index.txt"), &bad)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("rfc-index.txt:28: RFC 9000: no publication date"),
            "{err}"
        );
        let stray = format!("{INDEX}\nsomething that is not an entry\n");
        let err = parse_index(Path::new("i.txt"), &stray)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("i.txt:32: expected an entry"), "{err}");
    }

    #[test]
    fn streams_and_citations() {
        assert_eq!(
            stream_of("\n\nInternet Engineering Task Force (IETF)      J. Iyengar, Ed."),
            Some("Internet Engineering Task Force (IETF)")
        );
        assert_eq!(
            stream_of("Network Working Group:   X"),
            Some("Network Working Group")
        );
        assert_eq!(stream_of("RFC 803    X"), None);
        assert_eq!(cited_rfc(Some("RFC9001"), "whatever"), Some(9001));
        assert_eq!(
            cited_rfc(
                Some("BCP14"),
                "Bradner, S., \"Key words\", BCP 14, RFC 2119, March 1997."
            ),
            Some(2119)
        );
        assert_eq!(
            cited_rfc(None, "Postel, J., \"TCP\", STD 7, RFC 793, 1981"),
            Some(793)
        );
        assert_eq!(
            cited_rfc(
                Some("QUIC-HTTP"),
                "Bishop, M., \"HTTP/3\", Work in Progress"
            ),
            None
        );
    }

    #[test]
    fn latin1_texts_decode() {
        assert_eq!(decode_rfc_text(b"caf\xe9".to_vec()), "café");
        assert_eq!(decode_rfc_text("\u{feff}x".as_bytes().to_vec()), "x");
    }

    #[test]
    fn ranges() {
        assert_eq!(
            parse_ranges("9000-9002,793").unwrap(),
            vec![(9000, 9002), (793, 793)]
        );
        assert!(parse_ranges("9-1").is_err());
        assert!(parse_ranges("x").is_err());
    }
}
