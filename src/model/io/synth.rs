//! Synthetic models of a given shape (`hamlet model synth`), for scale tests: random unit
//! document vectors, random word and output weights of a trained model's magnitude, a
//! vocabulary of made-up words with Zipf counts, and key terms (so that the map's region names
//! are computed and drawn as for a trained model). Labelled synthetic inside the file
//! (`corpus.synthetic`), so it is never mistaken for a trained model.
//!
//! The words are `word(i)`: letters only (base 26, "a".."z", "ba", ...), so that text written
//! from them (`zipf_text`) tokenizes back to the same vocabulary and an upload exercises
//! inference as real text would.

use rand::{Rng, SeedableRng};

use crate::model::text::keyterms::KeyTerms;
use crate::model::text::vocab::Vocab;
use crate::model::{CorpusInfo, Doc2Vec, Engine, Error, ModelConfig};

/// The `i`th made-up word: 0 -> "a", 25 -> "z", 26 -> "ba", ...
pub fn word(mut i: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'a' + (i % 26) as u8);
        i /= 26;
        if i == 0 {
            break;
        }
    }
    letters.reverse();
    String::from_utf8(letters).expect("ASCII letters")
}

/// A model of `docs` documents (identifiers 1..=docs), `vocab` words and `dim` dimensions.
pub fn synth(docs: usize, dim: usize, vocab: usize, seed: u64) -> Result<Engine, Error> {
    let config = ModelConfig {
        dim,
        min_count: 1,
        seed,
        ..ModelConfig::default()
    };
    let model = assemble(config, docs, vocab, false)?;
    Ok(model)
}

/// The title of synthetic document `d` (identifier `d + 1`) in a model of `vocab` words: six
/// made-up words, the same the engine's kind keeps as its title grams.
pub fn title(d: usize, vocab: usize) -> String {
    (0..6)
        .map(|k| word(1_000 + (d * 7 + k * 13) % vocab.saturating_sub(1_000).max(1)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `synth` of the default engine's kind ([missing] budgets): every document has a citation
/// target (`@cites:ID`, a random row in the output table), a made-up title of six words, ten
/// citation links (skewed towards a few much-cited documents), and the engine's scoring
/// settings, so that a text naming documents by identifier ("RFC 123") runs the link terms as
/// a real one does.
pub fn synth_engine(docs: usize, dim: usize, vocab: usize, seed: u64) -> Result<Engine, Error> {
    let config = ModelConfig {
        dim,
        min_count: 1,
        seed,
        ..ModelConfig::engine()
    };
    let titles: Vec<String> = (0..docs).map(|d| title(d, vocab)).collect();
    // Ten citations a document, skewed towards a few much-cited documents as real collections
    // are (the co-citation term's cost grows with them).
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x11CC);
    let pairs: Vec<(u32, u32)> = (0..docs as u32)
        .flat_map(|d| {
            (0..10)
                .map(|_| (d, (docs as f64 * rng.gen::<f64>().powi(3)) as u32))
                .collect::<Vec<_>>()
        })
        .collect();
    assemble(config, docs, vocab, true)?
        .with_titles(Some(crate::model::text::titles::Titles::build(&titles)))?
        .with_links(crate::model::engine::links::Links::from_pairs(docs, &pairs))
}

/// The random tables of a synthetic model; with `targets`, a citation target per document.
fn assemble(
    config: ModelConfig,
    docs: usize,
    vocab: usize,
    targets: bool,
) -> Result<Engine, Error> {
    if docs == 0 || vocab == 0 {
        return Err(Error::Config(
            "--docs and --vocab must be at least 1".into(),
        ));
    }
    config.validate()?;
    let dim = config.dim;
    let mut rng = rand::rngs::StdRng::seed_from_u64(config.seed);
    let mut words: Vec<String> = (0..vocab).map(word).collect();
    // Zipf counts, as natural text has: the most frequent word a billion times.
    let mut counts: Vec<u64> = (0..vocab)
        .map(|i| (1_000_000_000 / (i as u64 + 1)).max(1))
        .collect();
    let ids: Vec<i64> = (1..=docs as i64).collect();
    if targets {
        for &id in &ids {
            words.push(crate::model::text::vocab::cite_token(id));
            counts.push(3 * (1 + id as u64 % 20));
        }
    }
    let total: u64 = counts.iter().sum();
    let rows = words.len();
    let scale = 0.5 / dim as f32;
    let mut table =
        |n: usize, s: f32| -> Vec<f32> { (0..n * dim).map(|_| rng.gen_range(-s..s)).collect() };
    let word_vectors = table(rows, 1.0);
    let output_weights = table(rows, 1.0);
    let mut doc_vectors = table(docs, scale);
    for row in doc_vectors.chunks_mut(dim) {
        let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        row.iter_mut().for_each(|x| *x /= norm);
    }
    // Key terms: 16 a document, from one of 200 made-up topics of 40 words each.
    let (mut offsets, mut terms) = (vec![0u32], Vec::with_capacity(docs * 16));
    let first = 100.min(vocab.saturating_sub(1)) as u32;
    let span = (vocab as u32 - first).max(1);
    for d in 0..docs {
        let topic = (d % 200) as u32 * 40;
        let mut mine: Vec<u32> = (0..16)
            .map(|k| first + (topic + (k * 7 + d as u32) % 40) % span)
            .collect();
        mine.sort_unstable();
        mine.dedup();
        terms.extend(mine);
        offsets.push(terms.len() as u32);
    }
    let rows_in_vocab = words.len();
    Engine::new(Doc2Vec::from_parts(
        config,
        Vocab::new(words, counts),
        word_vectors,
        output_weights,
        ids,
        doc_vectors,
        CorpusInfo {
            documents: docs as u64,
            words: total,
            sha256: "synthetic".into(),
            synthetic: true,
        },
    )?)
    .with_key_terms(KeyTerms::from_parts(offsets, terms, rows_in_vocab).map_err(Error::Config)?)
}

/// `n` words of made-up text drawn with Zipf frequencies from the first `vocab` words.
pub fn zipf_text(n: usize, vocab: usize, seed: u64) -> String {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    // Inverse-CDF sampling of p(i) ~ 1/(i+1): i = exp(u * ln(vocab + 1)) - 1.
    let ln = ((vocab + 1) as f64).ln();
    (0..n)
        .map(|_| {
            let u: f64 = rng.gen();
            let i = ((u * ln).exp() - 1.0) as usize;
            word(i.min(vocab - 1))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::engine::Query;

    #[test]
    fn words_are_distinct_letters() {
        assert_eq!(word(0), "a");
        assert_eq!(word(25), "z");
        assert_eq!(word(26), "ba");
        let all: std::collections::HashSet<String> = (0..100_000).map(word).collect();
        assert_eq!(all.len(), 100_000);
    }

    #[test]
    fn a_synthetic_engine_expands_from_the_documents_a_text_names() {
        let model = synth_engine(300, 16, 2_000, 3).unwrap();
        assert!(model.is_engine());
        let text = format!("{} [RFC7] and RFC 12", zipf_text(500, 2_000, 1));
        let hits = model.query(Query::Text(&text), 5, -1.0).unwrap().matches;
        // Five that the text does not cite lead; what nearly everything cites (the skewed
        // links make a few documents so) and what it names follow apart.
        let lead = hits.iter().filter(|m| !m.already_cited && !m.widely_cited);
        assert_eq!(lead.count(), 5);
        assert!(hits.iter().any(|m| m.why.via.is_some()), "{hits:?}");
    }

    #[test]
    fn a_synthetic_model_is_labelled_serves_and_round_trips() {
        let model = synth(500, 16, 2_000, 3).unwrap();
        assert!(model.model().corpus().synthetic);
        assert_eq!(model.model().vocab().len(), 2_000);
        let hits = model
            .query(Query::Document(7), 5, -1.0)
            .map(|a| a.similar())
            .unwrap();
        assert_eq!(hits.len(), 5);
        let text = zipf_text(1_000, 2_000, 1);
        assert_eq!(
            model
                .query(Query::Text(&text), 5, -1.0)
                .unwrap()
                .similar()
                .len(),
            5
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("synth.safetensors");
        crate::model::io::file::save(&model, &path).unwrap();
        let info = crate::model::io::file::info(&path).unwrap();
        assert!(info.corpus.synthetic, "labelled synthetic in the file");
    }
}
