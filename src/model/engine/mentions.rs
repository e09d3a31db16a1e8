//! Which collection documents a text names: by identifier, in the collection's citation form
//! ("RFC 793", "RFC793", "[RFC793]" for the RFC series), or by title (`titles`). A draft names
//! what it already cites; the default engine uses that three ways ([missing], issue 21):
//!
//! - results the draft names are flagged `already_cited` and put after the new ones;
//! - the documents it cites seed the link terms (co-citation, coupling: `engine::score`) and
//!   its inference (`infer_citing`);
//! - at training, a document that names another one counts as citing it (`derive_links`), so
//!   a collection imported without any citation links still gets citation targets.
//!
//! The evaluation's "missing" protocol (`eval`) removes every mention of the hidden half's
//! identifiers from a query with `strip`.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::model::text::titles::{text_grams, Titles};

/// How a collection's documents are named by identifier in running text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdForm {
    /// Documents are named by title only (thesis collections: a handle number never appears in
    /// a bibliography).
    #[default]
    None,
    /// "RFC 793", "RFC793", "[RFC793]", "RFC 0793": the IETF series.
    Rfc,
}

static RFC: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[?\bRFC ?0*(\d{1,5})\b\]?").expect("static regex"));

impl IdForm {
    fn regex(self) -> Option<&'static Regex> {
        match self {
            IdForm::None => None,
            IdForm::Rfc => Some(&RFC),
        }
    }

    /// The identifiers `text` names, each once, in order of first mention.
    pub fn identifiers(self, text: &str) -> Vec<i64> {
        let Some(re) = self.regex() else {
            return Vec::new();
        };
        let mut seen = HashSet::new();
        re.captures_iter(text)
            .filter_map(|c| c[1].parse::<i64>().ok())
            .filter(|id| seen.insert(*id))
            .collect()
    }

    /// `text` with every mention of an identifier in `ids` removed.
    pub fn strip(self, text: &str, ids: &HashSet<i64>) -> String {
        let Some(re) = self.regex() else {
            return text.to_string();
        };
        re.replace_all(text, |c: &regex::Captures<'_>| match c[1].parse::<i64>() {
            Ok(id) if ids.contains(&id) => String::new(),
            _ => c[0].to_string(),
        })
        .into_owned()
    }
}

/// A title mention at least this strong (`Titles::mentions`: the share of the title's weight
/// the text names) counts as naming the document.
pub const NAMES_TITLE: f32 = 0.9;

/// Titles of fewer grams than this are too generic ("Internet Protocol") to say, on their
/// own, that a training text cites the document.
const MIN_TITLE_GRAMS_FOR_LINKS: usize = 3;

/// Titles of fewer grams than this ("Internet Protocol": one) are named by too many texts
/// that do not cite the document to flag it as already cited.
pub(crate) const MIN_TITLE_GRAMS_NAMED: usize = 2;

/// The documents (model order) a text cites: where the collection has an identifier form,
/// those it names by identifier through `index` (identifier -> model position), since a title
/// named in full may be a sibling's ("... TLS Protocol Version 1.2" in a text citing version
/// 1.3: on the RFC validation split 15% of the citations hidden from a query were still
/// "named" by title); without one, those whose title it mentions (at least `NAMES_TITLE` of a
/// title `specific` accepts).
pub(crate) fn cited(
    form: IdForm,
    text: &str,
    index: &HashMap<i64, usize>,
    title_mentions: &[f32],
    specific: impl Fn(usize) -> bool,
) -> Vec<usize> {
    let mut cites: Vec<usize> = form
        .identifiers(text)
        .into_iter()
        .filter_map(|id| index.get(&id).copied())
        .collect();
    if form == IdForm::None {
        let mut seen: HashSet<usize> = cites.iter().copied().collect();
        for (d, &m) in title_mentions.iter().enumerate() {
            if m >= NAMES_TITLE && specific(d) && seen.insert(d) {
                cites.push(d);
            }
        }
    }
    cites
}

/// Citation links read off the texts themselves: (citing, cited) for every document whose text
/// names another by identifier (`form`), or, for collections without an identifier form, by
/// its whole title (titles of at least three grams). What a collection without a citation
/// graph still says about what cites what.
pub fn derive_links(
    texts: &[(i64, String)],
    titles: &[(i64, String)],
    form: IdForm,
) -> Vec<(i64, i64)> {
    let ids: Vec<i64> = titles.iter().map(|(id, _)| *id).collect();
    // Titles are read only where documents have no identifier form (see below).
    let by_title: &[(i64, String)] = if form == IdForm::None { titles } else { &[] };
    let index: Titles =
        Titles::build(&by_title.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>());
    let long_enough: Vec<bool> = (0..index.len())
        .map(|d| index.grams_of(d) >= MIN_TITLE_GRAMS_FOR_LINKS)
        .collect();
    let known: HashSet<i64> = texts.iter().map(|(id, _)| *id).collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = texts.len().div_ceil(threads).max(1);
    let parts: Vec<Vec<(i64, i64)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = texts
            .chunks(chunk)
            .map(|part| {
                let (ids, index, long_enough, known) = (&ids, &index, &long_enough, &known);
                scope.spawn(move || {
                    let mut out = Vec::new();
                    for (from, text) in part {
                        let mut named: HashSet<i64> = form
                            .identifiers(text)
                            .into_iter()
                            .filter(|id| known.contains(id))
                            .collect();
                        // As `named`: where documents have an identifier form, that is how a
                        // text cites them; titles only where they have none.
                        if form == IdForm::None {
                            let m = index.mentions(&text_grams(text));
                            for (d, &score) in m.iter().enumerate() {
                                if score >= NAMES_TITLE && long_enough[d] {
                                    named.insert(ids[d]);
                                }
                            }
                        }
                        named.remove(from);
                        let mut named: Vec<i64> = named.into_iter().collect();
                        named.sort_unstable();
                        out.extend(named.into_iter().map(|to| (*from, to)));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("link thread panicked"))
            .collect()
    });
    parts.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_identifiers_in_every_written_form() {
        let text = "See [RFC793] and RFC 9000, RFC0768; not RFCs or RFC-1 or xRFC5.";
        assert_eq!(IdForm::Rfc.identifiers(text), [793, 9000, 768]);
        assert!(IdForm::None.identifiers(text).is_empty());
        let stripped = IdForm::Rfc.strip(text, &HashSet::from([793, 768]));
        assert_eq!(stripped, "See  and RFC 9000, ; not RFCs or RFC-1 or xRFC5.");
    }

    #[test]
    fn links_come_from_identifiers_or_whole_long_titles() {
        let titles = vec![
            (1, "A Multiplexed Secure Transport over UDP".to_string()),
            (2, "Internet Protocol".to_string()),
            (3, "Congestion Control for Bulk Transfer".to_string()),
        ];
        let texts = vec![
            (
                1,
                "we use the internet protocol and congestion control for bulk transfer".into(),
            ),
            (2, "updates [RFC1] and RFC 3 and RFC 99 (not here)".into()),
            (3, "the internet protocol, nothing more".into()),
        ];
        // By number where the collection has an identifier form; 99 is not in it.
        assert_eq!(derive_links(&texts, &titles, IdForm::Rfc), [(2, 1), (2, 3)]);
        // By whole title where it has none: 1 names 3's; 2's is too short to count.
        assert_eq!(derive_links(&texts, &titles, IdForm::None), [(1, 3)]);
    }
}
