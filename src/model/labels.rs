//! Names for the regions of the collection map: at each of a few zoom levels the map is cut
//! into a grid (2x2, 4x4, 8x8, 16x16 cells), and each cell that holds enough documents is named
//! by the two key terms most particular to its documents (many of them have the term among
//! their best, few documents elsewhere do). A short document's key terms run out into common
//! words ("the", "you"), so only each document's best `BEST` count, and the vocabulary's most
//! frequent words never name a region. Computed with the layout (`hamlet train`, `hamlet model layout`),
//! kept in the model file, and shown by the map page at the zoom it belongs to.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::model::text::keyterms::KeyTerms;
use crate::model::text::vocab::Vocab;

/// One region's name, where to write it, and how many documents it covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionLabel {
    /// 0 for the whole map's four quarters, up to `LEVELS - 1` for the finest cells.
    pub level: u8,
    /// The centre of its documents, in the layout's coordinates ([0, 1]).
    pub x: f32,
    pub y: f32,
    pub text: String,
    pub documents: u32,
}

/// Zoom levels labelled.
pub const LEVELS: u8 = 4;

/// Key terms of each document that count towards its region's name (they are best first).
pub const BEST: usize = 16;

/// The vocabulary's most frequent words (it is ordered by count) that name no region: at most
/// this many, and at most 1% of the vocabulary.
pub const COMMON: usize = 100;

/// The first word of `vocab` (ordered by count) that is not among its most frequent
/// (`COMMON`): those name no region and explain no result.
pub fn first_uncommon(vocab: &Vocab) -> u32 {
    COMMON.min(vocab.len() / 100) as u32
}

/// The regions' names of `layout` (`[docs * 2]`, in [0, 1]) from each document's key terms.
pub fn region_labels(layout: &[f32], key_terms: &KeyTerms, vocab: &Vocab) -> Vec<RegionLabel> {
    let n = layout.len() / 2;
    if n == 0 {
        return Vec::new();
    }
    let common = first_uncommon(vocab);
    let best = |d: usize| {
        let terms = key_terms.of(d);
        terms[..terms.len().min(BEST)]
            .iter()
            .copied()
            .filter(move |&t| t >= common)
    };
    // How many documents have each term: a term most documents have names no region.
    let mut df: HashMap<u32, u32> = HashMap::new();
    for d in 0..n {
        for t in best(d) {
            *df.entry(t).or_default() += 1;
        }
    }
    let mut labels = Vec::new();
    for level in 0..LEVELS {
        let side = 2usize << level;
        let mut cells: HashMap<(usize, usize), Vec<usize>> = HashMap::new();
        for d in 0..n {
            let cell = |v: f32| ((v.clamp(0.0, 1.0) * side as f32) as usize).min(side - 1);
            cells
                .entry((cell(layout[2 * d]), cell(layout[2 * d + 1])))
                .or_default()
                .push(d);
        }
        // A region needs a few documents, and a fair share of an even spread.
        let least = (n / (side * side * 2)).max(3);
        let mut keys: Vec<_> = cells.keys().copied().collect();
        keys.sort_unstable();
        for key in keys {
            let docs = &cells[&key];
            if docs.len() < least {
                continue;
            }
            let mut tf: HashMap<u32, u32> = HashMap::new();
            for &d in docs {
                for t in best(d) {
                    *tf.entry(t).or_default() += 1;
                }
            }
            let mut scored: Vec<(f32, u32)> = tf
                .into_iter()
                .filter(|&(_, c)| c >= 2)
                .map(|(t, c)| {
                    let idf = (n as f32 / df[&t] as f32).ln();
                    (c as f32 * idf, t)
                })
                .collect();
            scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let words: Vec<&str> = scored.iter().take(2).map(|&(_, t)| vocab.word(t)).collect();
            if words.is_empty() {
                continue;
            }
            let (sx, sy) = docs.iter().fold((0.0f32, 0.0f32), |(x, y), &d| {
                (x + layout[2 * d], y + layout[2 * d + 1])
            });
            labels.push(RegionLabel {
                level,
                x: sx / docs.len() as f32,
                y: sy / docs.len() as f32,
                text: words.join(", "),
                documents: docs.len() as u32,
            });
        }
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_clusters_are_named_by_their_own_terms() {
        // Terms 0-1 are the left cluster's, 2-3 the right's, 4 everyone's.
        let vocab = Vocab::new(
            vec!["quic", "streams", "dns", "zones", "protocol"],
            vec![9; 5],
        );
        let (mut offsets, mut terms, mut layout) = (vec![0u32], Vec::new(), Vec::new());
        for d in 0..40 {
            let left = d < 20;
            terms.extend(if left { [0, 1, 4] } else { [2, 3, 4] });
            offsets.push(terms.len() as u32);
            let jitter = (d % 5) as f32 * 0.01;
            layout.extend([if left { 0.2 } else { 0.8 } + jitter, 0.3 + jitter]);
        }
        let k = KeyTerms::from_parts(offsets, terms, vocab.len()).unwrap();
        let labels = region_labels(&layout, &k, &vocab);
        let top: Vec<&RegionLabel> = labels.iter().filter(|l| l.level == 0).collect();
        assert_eq!(top.len(), 2, "{labels:?}");
        let left = top.iter().find(|l| l.x < 0.5).unwrap();
        let right = top.iter().find(|l| l.x > 0.5).unwrap();
        assert_eq!((left.text.as_str(), left.documents), ("quic, streams", 20));
        assert_eq!((right.text.as_str(), right.documents), ("dns, zones", 20));
        assert!(
            labels.iter().all(|l| !l.text.contains("protocol")),
            "{labels:?}"
        );
        assert!(region_labels(&[], &k, &vocab).is_empty());
    }

    #[test]
    fn common_words_and_a_documents_weaker_terms_name_nothing() {
        // 1,000 words, most frequent first: words 0-9 are the 1% that never name a region.
        let words: Vec<String> = (0..1000).map(|i| format!("w{i}")).collect();
        let vocab = Vocab::new(words, (0..1000u64).rev().collect());
        let (mut offsets, mut terms, mut layout) = (vec![0u32], Vec::new(), Vec::new());
        for d in 0..40u32 {
            let left = d < 20;
            // Best first: two cluster terms, a common word, 16 terms of its own, then a term
            // every document of the cluster shares but ranks low.
            let own = (0..16).map(|k| 100 + d * 16 + k);
            if left {
                terms.extend([20, 21, 5]);
                terms.extend(own);
                terms.push(22);
            } else {
                terms.extend([30, 31, 5]);
                terms.extend(own);
                terms.push(32);
            }
            offsets.push(terms.len() as u32);
            let jitter = (d % 5) as f32 * 0.01;
            layout.extend([if left { 0.2 } else { 0.8 } + jitter, 0.3 + jitter]);
        }
        let k = KeyTerms::from_parts(offsets, terms, vocab.len()).unwrap();
        let labels = region_labels(&layout, &k, &vocab);
        let top: Vec<&str> = labels
            .iter()
            .filter(|l| l.level == 0)
            .map(|l| l.text.as_str())
            .collect();
        assert_eq!(top.len(), 2, "{labels:?}");
        assert!(
            top.contains(&"w20, w21") && top.contains(&"w30, w31"),
            "{top:?}"
        );
        assert!(
            labels.iter().all(|l| !l
                .text
                .split(", ")
                .any(|w| ["w5", "w22", "w32"].contains(&w))),
            "{labels:?}"
        );
    }
}
