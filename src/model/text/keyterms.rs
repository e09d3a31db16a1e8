//! Each document's key terms: its most distinctive words (sublinear tf times idf over the
//! training documents, words of at least three characters that are not numbers), kept in the
//! model file so a result can say which words it shares with the query ("why it matched")
//! without the collection's texts. A few u32 word numbers per document.

use std::collections::HashSet;

use crate::model::text::vocab::Vocab;

/// Key terms kept per document.
pub const PER_DOCUMENT: usize = 64;

/// Key terms of every document, in the model's document order, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyTerms {
    /// `offsets[d]..offsets[d + 1]` are document `d`'s terms in `terms`.
    offsets: Vec<u32>,
    /// Vocabulary indices.
    terms: Vec<u32>,
}

/// Whether a word can serve as an explanation: not a number, not a fragment.
fn explains(word: &str) -> bool {
    word.chars().count() >= 3 && !word.chars().all(|c| c.is_ascii_digit())
}

impl KeyTerms {
    /// The key terms of documents given as vocabulary indices (the training corpus).
    pub fn build(docs: &[Vec<u32>], vocab: &Vocab) -> KeyTerms {
        let usable: Vec<bool> = vocab.words().map(explains).collect();
        let mut df = vec![0u32; vocab.len()];
        let mut seen = vec![u32::MAX; vocab.len()];
        for (d, words) in docs.iter().enumerate() {
            for &w in words {
                if seen[w as usize] != d as u32 {
                    seen[w as usize] = d as u32;
                    df[w as usize] += 1;
                }
            }
        }
        let n = docs.len() as f32;
        let mut offsets = Vec::with_capacity(docs.len() + 1);
        let mut terms = Vec::with_capacity(docs.len() * PER_DOCUMENT);
        offsets.push(0);
        let mut tf: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
        for words in docs {
            tf.clear();
            for &w in words {
                if usable[w as usize] {
                    *tf.entry(w).or_default() += 1;
                }
            }
            let mut weighted: Vec<(f32, u32)> = tf
                .iter()
                .map(|(&w, &c)| {
                    let idf = ((1.0 + n) / (1.0 + df[w as usize] as f32)).ln() + 1.0;
                    ((1.0 + (c as f32).ln()) * idf, w)
                })
                .collect();
            let k = PER_DOCUMENT.min(weighted.len());
            let order = |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
            if k > 0 && k < weighted.len() {
                weighted.select_nth_unstable_by(k - 1, order);
            }
            weighted.truncate(k);
            weighted.sort_unstable_by(order);
            terms.extend(weighted.iter().map(|(_, w)| *w));
            offsets.push(u32::try_from(terms.len()).expect("under 4 G key terms"));
        }
        KeyTerms { offsets, terms }
    }

    /// The key terms from their stored form, checked against a vocabulary of `vocab` words.
    pub fn from_parts(
        offsets: Vec<u32>,
        terms: Vec<u32>,
        vocab: usize,
    ) -> Result<KeyTerms, String> {
        if offsets.first() != Some(&0)
            || offsets.windows(2).any(|w| w[0] > w[1])
            || offsets.last().map(|&o| o as usize) != Some(terms.len())
        {
            return Err("key term offsets are not a partition of the key terms".into());
        }
        if terms.iter().any(|&t| t as usize >= vocab) {
            return Err("a key term is outside the vocabulary".into());
        }
        Ok(KeyTerms { offsets, terms })
    }

    /// The stored form.
    pub fn parts(&self) -> (&[u32], &[u32]) {
        (&self.offsets, &self.terms)
    }

    /// How many documents have key terms.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Document `d`'s key terms, best first.
    pub fn of(&self, d: usize) -> &[u32] {
        match (self.offsets.get(d), self.offsets.get(d + 1)) {
            (Some(&a), Some(&b)) => &self.terms[a as usize..b as usize],
            _ => &[],
        }
    }

    /// Document `d`'s key terms that are in `words`, best first, at most `n`.
    pub fn shared(&self, d: usize, words: &HashSet<u32>, n: usize) -> Vec<u32> {
        self.of(d)
            .iter()
            .copied()
            .filter(|t| words.contains(t))
            .take(n)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinctive_words_first_numbers_and_fragments_never() {
        let vocab = Vocab::new(
            vec!["the", "quic", "handshake", "of", "2119", "mail", "smtp"],
            vec![100, 10, 5, 90, 30, 8, 4],
        );
        let docs = vec![
            vec![0, 1, 1, 1, 2, 3, 4, 4, 4, 4],
            vec![0, 3, 5, 6, 6, 4],
            vec![0, 3, 1, 5],
        ];
        let k = KeyTerms::build(&docs, &vocab);
        let words = |d: usize| -> Vec<&str> { k.of(d).iter().map(|&t| vocab.word(t)).collect() };
        assert_eq!(words(0)[..2], ["quic", "handshake"], "{:?}", words(0));
        assert!(!words(0).contains(&"2119") && !words(0).contains(&"of"));
        assert_eq!(words(1)[0], "smtp");
        let query: HashSet<u32> = [2, 6].into_iter().collect();
        assert_eq!(k.shared(0, &query, 5), [2]);
        let (o, t) = k.parts();
        assert_eq!(KeyTerms::from_parts(o.to_vec(), t.to_vec(), 7).unwrap(), k);
        assert!(KeyTerms::from_parts(o.to_vec(), t.to_vec(), 3).is_err());
        assert!(KeyTerms::from_parts(vec![0, 9], vec![1], 7).is_err());
    }
}
