//! The vocabulary and the two sampling tables training needs, built from token counts.
//!
//! - Words kept: count >= `min_count`, ordered by descending count (ties by word), as gensim.
//! - Frequent-word downsampling (Mikolov et al. 2013, as gensim computes it): a word with count
//!   `v` is kept with probability `(sqrt(v / t) + 1) * t / v` (capped at 1), `t = sample * total`.
//! - Negative sampling draws words with probability proportional to `count^0.75` from an alias
//!   table (Vose's method): O(1) per draw in a table of a few hundred KB that stays in cache,
//!   where word2vec's 1e8-entry table costs cache misses (4x slower in a probe here).

use std::collections::HashMap;

/// What a citation target is called in the vocabulary: `@cites:` and the cited document's
/// identifier. No token of a text can look like it (tokens are runs of word characters), so
/// no text ever names one; the default engine reads them only as output rows (`engine::score`).
pub const CITE_PREFIX: &str = "@cites:";

/// The vocabulary entry of a citation of document `id`.
pub fn cite_token(id: i64) -> String {
    format!("{CITE_PREFIX}{id}")
}

/// The document a vocabulary entry cites, if it is a citation target.
pub fn cited_document(word: &str) -> Option<i64> {
    word.strip_prefix(CITE_PREFIX)?.parse().ok()
}

/// A vocabulary: words by index, their counts, and the index of each word.
///
/// Compact, for the million-word vocabularies of OCR'd collections: the words live in one
/// string (`text`, cut at `ends`) and the index is a hash table of word numbers that hashes
/// and compares through `text`: about 17 bytes per word plus the words themselves, where a
/// `Vec<String>` beside a `HashMap<String, u32>` took about 150 (benches/scale.sh).
#[derive(Clone)]
pub struct Vocab {
    text: String,
    ends: Vec<u32>,
    pub counts: Vec<u64>,
    /// ahash rather than SipHash: vocabulary lookups are a tenth of corpus preparation, and
    /// the keys come from our own collection, not from an attacker choosing collisions.
    index: hashbrown::HashTable<u32>,
    hasher: ahash::RandomState,
}

impl std::fmt::Debug for Vocab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vocab").field("words", &self.len()).finish()
    }
}

impl PartialEq for Vocab {
    fn eq(&self, other: &Vocab) -> bool {
        self.text == other.text && self.ends == other.ends && self.counts == other.counts
    }
}

impl Vocab {
    /// Keeps the words counted at least `min_count` times, most frequent first. Citation
    /// targets (`cite_token`) are kept whatever their count: a document cited once is still
    /// one a draft may cite.
    pub fn from_counts(counts: HashMap<String, u64>, min_count: u64) -> Vocab {
        let mut kept: Vec<(String, u64)> = counts
            .into_iter()
            .filter(|(w, c)| *c >= min_count.max(1) || (*c > 0 && w.starts_with(CITE_PREFIX)))
            .collect();
        kept.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let (words, counts): (Vec<String>, Vec<u64>) = kept.into_iter().unzip();
        Vocab::new(words, counts)
    }

    /// A vocabulary with these words and counts, in this order. A repeated word keeps its
    /// first index.
    pub fn new<S: AsRef<str>>(words: Vec<S>, counts: Vec<u64>) -> Vocab {
        let mut text = String::with_capacity(words.iter().map(|w| w.as_ref().len()).sum());
        let mut ends = Vec::with_capacity(words.len());
        for w in &words {
            text.push_str(w.as_ref());
            ends.push(u32::try_from(text.len()).expect("a vocabulary under 4 GB of text"));
        }
        drop(words);
        let mut vocab = Vocab {
            text,
            ends,
            counts,
            index: hashbrown::HashTable::with_capacity(0),
            hasher: ahash::RandomState::new(),
        };
        let mut index = hashbrown::HashTable::with_capacity(vocab.ends.len());
        for i in 0..vocab.ends.len() as u32 {
            let w = vocab.word(i);
            let hash = vocab.hasher.hash_one(w);
            if index.find(hash, |&j| vocab.word(j) == w).is_none() {
                index.insert_unique(hash, i, |&j| vocab.hasher.hash_one(vocab.word(j)));
            }
        }
        vocab.index = index;
        vocab
    }

    /// The word at `index`.
    pub fn word(&self, index: u32) -> &str {
        let i = index as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    /// The words, in index order.
    pub fn words(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.ends.len() as u32).map(|i| self.word(i))
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The index of `word`, if it is in the vocabulary.
    pub fn get(&self, word: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(word);
        self.index.find(hash, |&i| self.word(i) == word).copied()
    }

    /// The in-vocabulary token indices of `text`.
    pub fn indices(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        crate::model::text::tokenize::for_each_token(text, |t| {
            if let Some(i) = self.get(t) {
                out.push(i);
            }
        });
        out
    }

    /// The sum of the counts; None when it overflows (a corrupt or hostile model file: loaders
    /// refuse it, see `Doc2Vec::from_tables`).
    pub fn total(&self) -> Option<u64> {
        self.counts
            .iter()
            .try_fold(0u64, |total, &c| total.checked_add(c))
    }

    /// Per word, the probability of keeping an occurrence, scaled to u32 (u32::MAX = always).
    pub fn keep_thresholds(&self, sample: f64) -> Vec<u32> {
        let total = self.total().unwrap_or(u64::MAX);
        if sample <= 0.0 || total == 0 {
            return vec![u32::MAX; self.len()];
        }
        let t = sample * total as f64;
        self.counts
            .iter()
            .map(|&v| {
                let v = v as f64;
                let p = ((v / t).sqrt() + 1.0) * t / v;
                if p >= 1.0 {
                    u32::MAX
                } else {
                    (p * u32::MAX as f64) as u32
                }
            })
            .collect()
    }
}

/// Draws word indices with probability proportional to `count^0.75` in O(1).
#[derive(Debug, Clone)]
pub struct AliasTable {
    /// Per slot: (the probability of keeping the slot's own word, scaled to u32; the word
    /// drawn otherwise). Side by side, so a draw touches one cache line, not two: training
    /// draws five per word and the table (600 KB for 75,000 words) does not stay in L1.
    slots: Vec<(u32, u32)>,
}

impl AliasTable {
    pub fn new(counts: &[u64], power: f64) -> AliasTable {
        let n = counts.len();
        let weights: Vec<f64> = counts.iter().map(|&c| (c as f64).powf(power)).collect();
        let total: f64 = weights.iter().sum();
        let mut scaled: Vec<f64> = weights.iter().map(|w| w * n as f64 / total).collect();
        let mut prob = vec![u32::MAX; n];
        let mut alias: Vec<u32> = (0..n as u32).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) =
            (0..n).partition(|&i| scaled[i] < 1.0);
        while let (Some(s), Some(&l)) = (small.pop(), large.last()) {
            prob[s] = (scaled[s] * u32::MAX as f64) as u32;
            alias[s] = l as u32;
            scaled[l] -= 1.0 - scaled[s];
            if scaled[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        AliasTable {
            slots: prob.into_iter().zip(alias).collect(),
        }
    }

    /// The slot a draw reads: the same for `sample` and `prefetch`.
    #[inline(always)]
    fn slot(&self, random: u64) -> usize {
        (((random >> 32) * self.slots.len() as u64) >> 32) as usize
    }

    /// Where `sample(random)` will read, for a prefetch: its slot is a cache miss on a large
    /// vocabulary (8 MB for 1,000,000 words), and the step that waits for it cannot go on.
    #[inline(always)]
    pub(crate) fn slot_for(&self, random: u64) -> Option<&(u32, u32)> {
        self.slots.get(self.slot(random))
    }

    /// A word index from one 64-bit random draw.
    #[inline]
    pub fn sample(&self, random: u64) -> u32 {
        let i = self.slot(random);
        let (prob, alias) = self.slots[i];
        // A select, not a branch: which way it goes is a coin toss the CPU cannot predict, and
        // a branch on a slot still on its way from memory stalls every draw after it (the
        // arithmetic form this replaced compiled to one: 30% of inference on a 1,000,000-word
        // vocabulary sat on it, benches/scale.sh). `select_unpredictable` asks for a cmov.
        std::hint::select_unpredictable((random as u32) < prob, i as u32, alias)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_count_and_order() {
        let counts: HashMap<String, u64> = [("b", 5), ("a", 5), ("c", 9), ("rare", 1)]
            .iter()
            .map(|(w, c)| (w.to_string(), *c))
            .collect();
        let v = Vocab::from_counts(counts, 2);
        assert_eq!(v.words().collect::<Vec<_>>(), ["c", "a", "b"]);
        assert_eq!(v.get("a"), Some(1));
        assert_eq!(v.get("rare"), None);
        assert_eq!(v.indices("C b, unknown A"), [0, 2, 1]);
    }

    #[test]
    fn downsampling_keeps_rare_words() {
        let v = Vocab::new(vec!["the", "quic"], vec![1_000_000, 10]);
        let keep = v.keep_thresholds(1e-3);
        assert_eq!(keep[1], u32::MAX, "rare words are always kept");
        let p = keep[0] as f64 / u32::MAX as f64;
        // t = 1e-3 * 1_000_010 ~ 1000: p = (sqrt(1000) + 1) * 1000 / 1e6 ~ 0.0326
        assert!((p - 0.0326).abs() < 0.001, "{p}");
    }

    #[test]
    fn alias_table_follows_the_distribution() {
        let counts = [1000u64, 100, 10, 1];
        let table = AliasTable::new(&counts, 0.75);
        let mut hist = [0u32; 4];
        let mut rng = crate::model::kernel::Rng::new(1);
        for _ in 0..400_000 {
            hist[table.sample(rng.next()) as usize] += 1;
        }
        let w: Vec<f64> = counts.iter().map(|&c| (c as f64).powf(0.75)).collect();
        let total: f64 = w.iter().sum();
        for i in 0..4 {
            let expected = w[i] / total;
            let got = hist[i] as f64 / 400_000.0;
            assert!(
                (got - expected).abs() < 0.01,
                "word {i}: {got} vs {expected}"
            );
        }
    }
}
