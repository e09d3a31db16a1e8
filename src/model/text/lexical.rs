//! A lexical index over the collection: TF-IDF vectors (sublinear tf = 1 + ln tf, smoothed
//! idf = ln((1 + N) / (1 + df)) + 1, terms in at least `min_df` documents, L2-normalised) and
//! their cosine with a query through an inverted index. This is the classic baseline the
//! [quality] issue measures the model against (scikit-learn's `TfidfVectorizer(sublinear_tf=True,
//! min_df=2)` weighting, on our tokens), and the lexical half of the hybrid `hamlet evaluate`
//! scores.

use std::collections::HashMap;

use crate::model::text::tokenize::for_each_token;

/// The index's terms of `text`: the model's tokens, further cut where letters meet digits, so
/// that an identifier cited as "[RFC9000]" or "IEEE802" matches the "RFC 9000" or "IEEE 802"
/// written elsewhere.
pub fn for_each_term(text: &str, mut f: impl FnMut(&str)) {
    for_each_token(text, |token| {
        let mut start = 0;
        let mut last: Option<bool> = None;
        for (i, c) in token.char_indices() {
            let digit = c.is_ascii_digit();
            if last.is_some_and(|d| d != digit) {
                f(&token[start..i]);
                start = i;
            }
            last = Some(digit);
        }
        f(&token[start..]);
    });
}

/// The index: for each term its idf and the documents holding it with their weights.
pub struct Lexical {
    terms: HashMap<String, u32>,
    idf: Vec<f32>,
    postings: Vec<Vec<(u32, f32)>>,
    doc_ids: Vec<i64>,
}

impl Lexical {
    /// Indexes `texts` ((identifier, text) pairs), keeping terms found in at least `min_df`
    /// documents.
    pub fn build(texts: &[(i64, String)], min_df: u32) -> Lexical {
        let mut df: HashMap<String, u32> = HashMap::new();
        let mut counts: Vec<HashMap<String, u32>> = Vec::with_capacity(texts.len());
        for (_, text) in texts {
            let mut tf: HashMap<String, u32> = HashMap::new();
            for_each_term(text, |t| match tf.get_mut(t) {
                Some(c) => *c += 1,
                None => {
                    tf.insert(t.to_string(), 1);
                }
            });
            for term in tf.keys() {
                *df.entry(term.clone()).or_default() += 1;
            }
            counts.push(tf);
        }
        let n = texts.len() as f32;
        let mut kept: Vec<(String, u32)> = df.into_iter().filter(|(_, d)| *d >= min_df).collect();
        kept.sort_unstable();
        let terms: HashMap<String, u32> = kept
            .iter()
            .enumerate()
            .map(|(i, (t, _))| (t.clone(), i as u32))
            .collect();
        let idf: Vec<f32> = kept
            .iter()
            .map(|(_, d)| ((1.0 + n) / (1.0 + *d as f32)).ln() + 1.0)
            .collect();
        let mut postings: Vec<Vec<(u32, f32)>> = vec![Vec::new(); kept.len()];
        for (doc, tf) in counts.into_iter().enumerate() {
            let row: Vec<(u32, f32)> = tf
                .into_iter()
                .filter_map(|(t, c)| {
                    let id = *terms.get(&t)?;
                    Some((id, (1.0 + (c as f32).ln()) * idf[id as usize]))
                })
                .collect();
            let norm = row.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
            if norm > 0.0 {
                for (t, w) in row {
                    postings[t as usize].push((doc as u32, w / norm));
                }
            }
        }
        Lexical {
            terms,
            idf,
            postings,
            doc_ids: texts.iter().map(|(id, _)| *id).collect(),
        }
    }

    /// The identifiers of the indexed documents, in index order.
    pub fn doc_ids(&self) -> &[i64] {
        &self.doc_ids
    }

    /// The cosine of `text` with every indexed document, in index order (0 for no shared term).
    pub fn scores(&self, text: &str) -> Vec<f32> {
        let mut tf: HashMap<u32, u32> = HashMap::new();
        for_each_term(text, |t| {
            if let Some(&id) = self.terms.get(t) {
                *tf.entry(id).or_default() += 1;
            }
        });
        let query: Vec<(u32, f32)> = tf
            .into_iter()
            .map(|(t, c)| (t, (1.0 + (c as f32).ln()) * self.idf[t as usize]))
            .collect();
        let norm = query.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
        let mut acc = vec![0.0f32; self.doc_ids.len()];
        if norm == 0.0 {
            return acc;
        }
        for (t, w) in query {
            let w = w / norm;
            for &(doc, dw) in &self.postings[t as usize] {
                acc[doc as usize] += w * dw;
            }
        }
        acc
    }

    /// The `k` documents most similar to `text` as (identifier, cosine), best first.
    pub fn search(&self, text: &str, k: usize) -> Vec<(i64, f32)> {
        top_ids(&self.scores(text), &self.doc_ids, k)
    }
}

/// A BM25 index over the same terms (Lucene's variant: idf = ln(1 + (N - df + 0.5) /
/// (df + 0.5)), k1 = 1.2, b = 0.75), the second lexical anchor `hamlet evaluate` scores the
/// engine against. A query's distinct terms each count once.
pub struct Bm25 {
    terms: HashMap<String, u32>,
    idf: Vec<f32>,
    /// Per term: (document, term frequency).
    postings: Vec<Vec<(u32, u32)>>,
    /// Per document: 1 - b + b * length / mean length.
    length_norm: Vec<f32>,
    doc_ids: Vec<i64>,
}

const BM25_K1: f32 = 1.2;
const BM25_B: f32 = 0.75;

impl Bm25 {
    /// Indexes `texts` ((identifier, text) pairs).
    pub fn build(texts: &[(i64, String)]) -> Bm25 {
        let mut terms: HashMap<String, u32> = HashMap::new();
        let mut postings: Vec<Vec<(u32, u32)>> = Vec::new();
        let mut lengths = Vec::with_capacity(texts.len());
        for (doc, (_, text)) in texts.iter().enumerate() {
            let mut tf: HashMap<u32, u32> = HashMap::new();
            let mut length = 0u32;
            for_each_term(text, |t| {
                length += 1;
                let next = terms.len() as u32;
                let id = match terms.get(t) {
                    Some(&id) => id,
                    None => {
                        terms.insert(t.to_string(), next);
                        postings.push(Vec::new());
                        next
                    }
                };
                *tf.entry(id).or_default() += 1;
            });
            for (t, c) in tf {
                postings[t as usize].push((doc as u32, c));
            }
            lengths.push(length as f32);
        }
        let n = texts.len() as f32;
        let mean = (lengths.iter().sum::<f32>() / n.max(1.0)).max(1.0);
        Bm25 {
            idf: postings
                .iter()
                .map(|p| (1.0 + (n - p.len() as f32 + 0.5) / (p.len() as f32 + 0.5)).ln())
                .collect(),
            terms,
            postings,
            length_norm: lengths
                .iter()
                .map(|l| 1.0 - BM25_B + BM25_B * l / mean)
                .collect(),
            doc_ids: texts.iter().map(|(id, _)| *id).collect(),
        }
    }

    /// The identifiers of the indexed documents, in index order.
    pub fn doc_ids(&self) -> &[i64] {
        &self.doc_ids
    }

    /// The BM25 score of every indexed document for `text`, in index order.
    pub fn scores(&self, text: &str) -> Vec<f32> {
        let mut query: Vec<u32> = Vec::new();
        for_each_term(text, |t| {
            if let Some(&id) = self.terms.get(t) {
                query.push(id);
            }
        });
        query.sort_unstable();
        query.dedup();
        let mut acc = vec![0.0f32; self.doc_ids.len()];
        for t in query {
            let idf = self.idf[t as usize];
            for &(doc, tf) in &self.postings[t as usize] {
                let tf = tf as f32;
                acc[doc as usize] +=
                    idf * tf * (BM25_K1 + 1.0) / (tf + BM25_K1 * self.length_norm[doc as usize]);
            }
        }
        acc
    }

    /// The `k` best documents for `text` as (identifier, score), best first.
    pub fn search(&self, text: &str, k: usize) -> Vec<(i64, f32)> {
        top_ids(&self.scores(text), &self.doc_ids, k)
    }
}

/// `top`, each index turned into its identifier in `ids`.
fn top_ids(scores: &[f32], ids: &[i64], k: usize) -> Vec<(i64, f32)> {
    top(scores, k)
        .into_iter()
        .map(|(i, s)| (ids[i], s))
        .collect()
}

/// The `k` largest of `scores` as (index, score), best first (ties: lower index first).
pub fn top(scores: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut all: Vec<(usize, f32)> = scores.iter().copied().enumerate().collect();
    let k = k.min(all.len());
    if k == 0 {
        return Vec::new();
    }
    let order = |a: &(usize, f32), b: &(usize, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    all.select_nth_unstable_by(k - 1, order);
    all.truncate(k);
    all.sort_unstable_by(order);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_cut_where_letters_meet_digits() {
        let mut terms = Vec::new();
        for_each_term("[RFC9000] and RFC 9001, ipv6 x86_64", |t| {
            terms.push(t.to_string())
        });
        assert_eq!(
            terms,
            ["rfc", "9000", "and", "rfc", "9001", "ipv", "6", "x", "86", "_", "64"]
        );
    }

    #[test]
    fn bm25_ranks_by_rare_terms_and_prefers_short_documents() {
        let texts: Vec<(i64, String)> = vec![
            (1, "quic quic handshake".into()),
            (
                2,
                "quic handshake and a great deal of other words about tcp and mail".into(),
            ),
            (3, "mail over tcp".into()),
        ];
        let index = Bm25::build(&texts);
        let hits = index.search("quic handshake", 3);
        assert_eq!(hits[0].0, 1, "{hits:?}");
        assert_eq!(hits[1].0, 2, "{hits:?}");
        assert_eq!(hits[2].1, 0.0);
        assert_eq!(index.doc_ids(), [1, 2, 3]);
    }

    #[test]
    fn tf_idf_cosine_ranks_by_shared_rare_terms() {
        let texts: Vec<(i64, String)> = vec![
            (1, "quic streams quic handshake over udp".into()),
            (2, "tcp congestion control and the handshake".into()),
            (3, "mail transfer with smtp over tcp".into()),
            (
                4,
                "quic loss recovery and congestion control over udp".into(),
            ),
        ];
        let index = Lexical::build(&texts, 1);
        let hits = index.search("udp quic", 4);
        assert_eq!(hits[0].0, 1, "{hits:?}");
        assert_eq!(hits[1].0, 4, "{hits:?}");
        assert!(
            hits[2].1 == 0.0 && hits[3].1 == 0.0,
            "no shared term scores 0"
        );
        // A document's own text is most similar to itself, at cosine 1.
        let own = index.search(&texts[2].1, 1);
        assert_eq!(own[0].0, 3);
        assert!((own[0].1 - 1.0).abs() < 1e-5);
        // min_df drops terms found in one document only: "smtp" is gone.
        let pruned = Lexical::build(&texts, 2);
        assert!(pruned.search("smtp", 1)[0].1 == 0.0);
        assert!(index.search("", 2).iter().all(|h| h.1 == 0.0));
    }
}
