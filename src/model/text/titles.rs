//! Title mentions: how much of a collection document's title a text names. A draft that
//! discusses or cites a document usually writes its title (in a reference list, or in the
//! prose), so this is the default engine's lexical signal beside the neural one (`engine::score`).
//!
//! A title is cut into grams: its consecutive token pairs ("loss detection", "detection and",
//! ...), or its one token when it has only one. Each gram weighs its idf over the collection's
//! titles (ln((1 + N) / (1 + df)) + 1), so "key words" counts for less than "multiplexed
//! secure". The mention score of a document for a text is the weight of its title's grams
//! found in the text over the weight of all of them: 1 when the whole title appears, 0 when no
//! pair of its words does. Tokens are the model's (`tokenize`); grams are kept as 64-bit
//! FNV-1a hashes of "first second", so the index is a few numbers per document.

use std::collections::{HashMap, HashSet};

use crate::model::text::tokenize::for_each_token;

/// The title grams of every document of a model, in the model's document order.
#[derive(Debug, Clone, PartialEq)]
pub struct Titles {
    /// `offsets[d]..offsets[d + 1]` are document `d`'s grams in `grams`.
    offsets: Vec<u32>,
    grams: Vec<u64>,
    /// gram -> (idf, the documents whose title has it).
    index: HashMap<u64, (f32, Vec<u32>)>,
    /// Per document, the summed idf of its title's grams (0 for an empty title).
    total: Vec<f32>,
}

/// FNV-1a over bytes, continued from `h`.
fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

const FNV_START: u64 = 0xCBF2_9CE4_8422_2325;

/// The hash of a one-token gram.
fn unigram(a: &str) -> u64 {
    fnv(FNV_START, a.as_bytes())
}

/// The hash of a two-token gram ("a b").
fn bigram(a: &str, b: &str) -> u64 {
    fnv(fnv(fnv(FNV_START, a.as_bytes()), b" "), b.as_bytes())
}

/// The grams of a title, each once.
fn title_grams(title: &str) -> Vec<u64> {
    let mut tokens = Vec::new();
    for_each_token(title, |t| tokens.push(t.to_string()));
    let mut grams: Vec<u64> = match tokens.len() {
        0 => Vec::new(),
        1 => vec![unigram(&tokens[0])],
        _ => tokens.windows(2).map(|p| bigram(&p[0], &p[1])).collect(),
    };
    grams.sort_unstable();
    grams.dedup();
    grams
}

/// Every gram (unigram and bigram) of a text, each once.
pub(crate) fn text_grams(text: &str) -> HashSet<u64> {
    let mut out = HashSet::new();
    let mut prev = String::new();
    for_each_token(text, |t| {
        out.insert(unigram(t));
        if !prev.is_empty() {
            out.insert(bigram(&prev, t));
        }
        prev.clear();
        prev.push_str(t);
    });
    out
}

impl Titles {
    /// Indexes the titles of a model's documents, given in its document order.
    pub fn build<S: AsRef<str>>(titles: &[S]) -> Titles {
        let mut offsets = Vec::with_capacity(titles.len() + 1);
        let mut grams = Vec::new();
        offsets.push(0);
        for t in titles {
            grams.extend(title_grams(t.as_ref()));
            offsets.push(u32::try_from(grams.len()).expect("under 4 G title grams"));
        }
        Titles::from_parts(offsets, grams).expect("offsets built in order")
    }

    /// The index from its stored form (`offsets`, `grams` as in the model file).
    pub fn from_parts(offsets: Vec<u32>, grams: Vec<u64>) -> Result<Titles, String> {
        if offsets.first() != Some(&0)
            || offsets.windows(2).any(|w| w[0] > w[1])
            || offsets.last().map(|&o| o as usize) != Some(grams.len())
        {
            return Err("title offsets are not a partition of the title grams".into());
        }
        let docs = offsets.len() - 1;
        let mut postings: HashMap<u64, Vec<u32>> = HashMap::new();
        for d in 0..docs {
            for &g in &grams[offsets[d] as usize..offsets[d + 1] as usize] {
                postings.entry(g).or_default().push(d as u32);
            }
        }
        let n = docs as f32;
        let index: HashMap<u64, (f32, Vec<u32>)> = postings
            .into_iter()
            .map(|(g, docs)| {
                let idf = ((1.0 + n) / (1.0 + docs.len() as f32)).ln() + 1.0;
                (g, (idf, docs))
            })
            .collect();
        let total = (0..docs)
            .map(|d| {
                grams[offsets[d] as usize..offsets[d + 1] as usize]
                    .iter()
                    .map(|g| index[g].0)
                    .sum()
            })
            .collect();
        Ok(Titles {
            offsets,
            grams,
            index,
            total,
        })
    }

    /// The stored form: per-document offsets into the grams.
    pub fn parts(&self) -> (&[u32], &[u64]) {
        (&self.offsets, &self.grams)
    }

    /// How many grams document `d`'s title has.
    pub fn grams_of(&self, d: usize) -> usize {
        (self.offsets[d + 1] - self.offsets[d]) as usize
    }

    /// How many documents are indexed.
    pub fn len(&self) -> usize {
        self.total.len()
    }

    pub fn is_empty(&self) -> bool {
        self.total.is_empty()
    }

    /// The mention score of every document for a text's grams (`text_grams`), in [0, 1],
    /// indexed by document; documents whose titles share nothing with the text score 0.
    pub fn mentions(&self, grams: &HashSet<u64>) -> Vec<f32> {
        let mut acc = vec![0.0f32; self.total.len()];
        for g in grams {
            if let Some((idf, docs)) = self.index.get(g) {
                for &d in docs {
                    acc[d as usize] += idf;
                }
            }
        }
        for (a, t) in acc.iter_mut().zip(&self.total) {
            *a = if *t > 0.0 { (*a / t).min(1.0) } else { 0.0 };
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_named_in_full_scores_one_and_a_stray_word_little() {
        let t = Titles::build(&[
            "QUIC: A UDP-Based Multiplexed and Secure Transport",
            "Key words for use in RFCs to Indicate Requirement Levels",
            "Transport",
            "",
        ]);
        let text = "We build on the QUIC transport [RFC9000] (QUIC: A UDP-Based \
                    Multiplexed and Secure Transport) over a reliable transport.";
        let m = t.mentions(&text_grams(text));
        assert!((m[0] - 1.0).abs() < 1e-6, "{m:?}");
        assert_eq!(m[1], 0.0, "no pair of its words is in the text");
        assert!(
            (m[2] - 1.0).abs() < 1e-6,
            "a one-word title is matched by its word"
        );
        assert_eq!(m[3], 0.0, "an empty title never matches");
        let partial = t.mentions(&text_grams("a udp-based multiplexed protocol"));
        assert!(partial[0] > 0.0 && partial[0] < 0.5, "{partial:?}");
    }

    #[test]
    fn rare_pairs_weigh_more_and_the_index_round_trips() {
        let t = Titles::build(&["the quic handshake", "the quic loss recovery", "the mail"]);
        // "the quic" is in two titles, "quic handshake" in one: naming the rare pair counts
        // for more of the first title.
        let rare = t.mentions(&text_grams("quic handshake"))[0];
        let common = t.mentions(&text_grams("the quic"))[0];
        assert!(rare > common, "{rare} vs {common}");
        let (o, g) = t.parts();
        assert_eq!(Titles::from_parts(o.to_vec(), g.to_vec()).unwrap(), t);
        assert!(Titles::from_parts(vec![0, 5], vec![1, 2]).is_err());
        assert!(Titles::from_parts(vec![1, 1], vec![1]).is_err());
    }
}
