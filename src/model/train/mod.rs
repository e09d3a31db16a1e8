//! Training paragraph vectors on the CPU: several threads update shared tables without locks
//! (Hogwild), each taking the next unclaimed chunk of documents.
//!
//! Determinism: every document's random stream (downsampling, reduced windows, negatives) is
//! seeded from (seed, epoch, document), so with one thread the same corpus and seed give the
//! same model bit for bit. With more threads, updates of shared rows interleave in scheduling
//! order, so results differ slightly from run to run (as gensim's with workers > 1).
//!
//! Word counts reported (and words/s) are gensim's "effective words": in-vocabulary words that
//! survive downsampling and the per-document cap.

pub mod batched;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::model::kernel::{self, Ctx, Learn, Rng, Rows, Scratch, SharedTable, Sigmoid};
use crate::model::text::vocab::{AliasTable, Vocab};
use crate::model::{CorpusInfo, Doc2Vec, Engine, Error, Mode, ModelConfig};

/// What a model is trained on: the documents' texts, which of them cite which (used by the
/// default engine's citation targets), and their titles (its title mentions).
#[derive(Debug, Clone, Default)]
pub struct TrainingSet {
    /// (identifier, text).
    pub texts: Vec<(i64, String)>,
    /// (citing, cited) identifiers; links to or from documents not in `texts` are ignored.
    pub links: Vec<(i64, i64)>,
    /// (identifier, title); documents without one get an empty title.
    pub titles: Vec<(i64, String)>,
}

impl TrainingSet {
    /// Texts alone: no citations, no titles.
    pub fn from_texts(texts: Vec<(i64, String)>) -> TrainingSet {
        TrainingSet {
            texts,
            ..TrainingSet::default()
        }
    }

    /// The same collection restricted to the documents `keep` accepts (links and titles too).
    pub fn only(&self, keep: impl Fn(i64) -> bool) -> TrainingSet {
        TrainingSet {
            texts: self
                .texts
                .iter()
                .filter(|(id, _)| keep(*id))
                .cloned()
                .collect(),
            links: self
                .links
                .iter()
                .filter(|(a, b)| keep(*a) && keep(*b))
                .copied()
                .collect(),
            titles: self
                .titles
                .iter()
                .filter(|(id, _)| keep(*id))
                .cloned()
                .collect(),
        }
    }
}

/// A training corpus: its vocabulary, and each document as vocabulary indices.
pub struct Prepared {
    pub vocab: Vocab,
    pub ids: Vec<i64>,
    pub docs: Vec<Vec<u32>>,
    /// Per document, the citation targets it predicts (`ModelConfig::cites`; empty without).
    pub cites: Vec<Vec<u32>>,
    /// The same links as (citing, cited) document positions, which the model keeps
    /// (`links::Links`).
    pub links: Vec<(u32, u32)>,
    /// Per document, its title (empty when unknown).
    pub titles: Vec<String>,
    pub corpus: CorpusInfo,
}

/// One tokeniser thread's word counts and per-document digests.
type CountsAndDigests = (HashMap<String, u64>, Vec<[u8; 32]>);

/// Tokenises the texts on `threads` threads, keeps the words seen at least `min_count` times,
/// adds a citation target per cited document when `config.cites` > 0, and fingerprints the
/// corpus. Documents are taken in identifier order.
pub fn prepare(set: &TrainingSet, config: &ModelConfig, threads: usize) -> Result<Prepared, Error> {
    let texts = &set.texts;
    let min_count = config.min_count;
    if texts.is_empty() {
        return Err(Error::Empty("no document has text".into()));
    }
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&i| texts[i].0);
    let chunk = order.len().div_ceil(threads.max(1));
    // Pass 1: counts and per-document digests, in parallel.
    let parts: Vec<CountsAndDigests> = std::thread::scope(|scope| {
        let handles: Vec<_> = order
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut counts: HashMap<String, u64> = HashMap::new();
                    let mut digests = Vec::with_capacity(part.len());
                    for &i in part {
                        let (id, text) = &texts[i];
                        crate::model::text::tokenize::for_each_token(text, |t| {
                            match counts.get_mut(t) {
                                Some(c) => *c += 1,
                                None => {
                                    counts.insert(t.to_string(), 1);
                                }
                            }
                        });
                        let mut h = Sha256::new();
                        h.update(id.to_le_bytes());
                        h.update((text.len() as u64).to_le_bytes());
                        h.update(text.as_bytes());
                        digests.push(h.finalize().into());
                    }
                    (counts, digests)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("tokenizer thread panicked"))
            .collect()
    });
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut corpus_hash = Sha256::new();
    let present: std::collections::HashSet<i64> = texts.iter().map(|(id, _)| *id).collect();
    // A collection without any citation link (a thesis collection imported without its
    // graph) still says in its texts which documents name which: those become its links.
    // Where the collection has its graph, the texts' mentions are left out: on the RFC
    // validation split they cost the engine 0.1-0.3 MRR@10 (docs/MODEL.md, "What is missing").
    let has_graph = set
        .links
        .iter()
        .any(|(a, b)| a != b && present.contains(a) && present.contains(b));
    let derived = if config.cites > 0 && config.mention_links && !has_graph {
        crate::model::engine::mentions::derive_links(texts, &set.titles, config.id_mentions)
    } else {
        Vec::new()
    };
    // Citation links between documents being trained, each once, in order.
    let mut links: Vec<(i64, i64)> = if config.cites > 0 {
        set.links
            .iter()
            .chain(&derived)
            .filter(|(a, b)| a != b && present.contains(a) && present.contains(b))
            .copied()
            .collect()
    } else {
        Vec::new()
    };
    links.sort_unstable();
    links.dedup();
    for (part, digests) in parts {
        if counts.is_empty() {
            counts = part;
        } else {
            for (w, c) in part {
                *counts.entry(w).or_insert(0) += c;
            }
        }
        digests.iter().for_each(|d| corpus_hash.update(d));
    }
    for &(from, to) in &links {
        corpus_hash.update(from.to_le_bytes());
        corpus_hash.update(to.to_le_bytes());
        *counts
            .entry(crate::model::text::vocab::cite_token(to))
            .or_insert(0) += config.cites as u64;
    }
    let vocab = Vocab::from_counts(counts, min_count);
    if vocab.is_empty() {
        return Err(Error::Empty(format!(
            "no word occurs {min_count} times or more"
        )));
    }
    // Pass 2: documents as indices, in parallel.
    let docs: Vec<Vec<u32>> = std::thread::scope(|scope| {
        let vocab = &vocab;
        let handles: Vec<_> = order
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|&i| vocab.indices(&texts[i].1))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("tokenizer thread panicked"))
            .collect()
    });
    let ids: Vec<i64> = order.iter().map(|&i| texts[i].0).collect();
    let position: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, &d)| (d, i)).collect();
    let mut cites: Vec<Vec<u32>> = vec![Vec::new(); ids.len()];
    let mut positions = Vec::with_capacity(links.len());
    for &(from, to) in &links {
        if let Some(target) = vocab.get(&crate::model::text::vocab::cite_token(to)) {
            cites[position[&from]].push(target);
            positions.push((position[&from] as u32, position[&to] as u32));
        }
    }
    let title_of: HashMap<i64, &str> = set.titles.iter().map(|(id, t)| (*id, t.as_str())).collect();
    let titles: Vec<String> = ids
        .iter()
        .map(|id| title_of.get(id).copied().unwrap_or_default().to_string())
        .collect();
    let corpus = CorpusInfo {
        documents: docs.len() as u64,
        words: docs.iter().map(|d| d.len() as u64).sum(),
        sha256: hex::encode(corpus_hash.finalize()),
        synthetic: false,
    };
    Ok(Prepared {
        vocab,
        ids,
        docs,
        cites,
        links: positions,
        titles,
        corpus,
    })
}

impl Engine {
    /// The engine made of a prepared corpus and its trained tables.
    pub fn from_training(
        config: ModelConfig,
        prepared: Prepared,
        trained: Trained,
    ) -> Result<Engine, Error> {
        let key_terms =
            crate::model::text::keyterms::KeyTerms::build(&prepared.docs, &prepared.vocab);
        let titles = (config.is_engine())
            .then(|| crate::model::text::titles::Titles::build(&prepared.titles));
        let links = (config.is_engine()).then(|| {
            crate::model::engine::links::Links::from_pairs(prepared.ids.len(), &prepared.links)
        });
        let model = Engine::new(Doc2Vec::from_parts(
            config,
            prepared.vocab,
            trained.word_vectors,
            trained.output_weights,
            prepared.ids,
            trained.doc_vectors,
            prepared.corpus,
        )?)
        .with_key_terms(key_terms)?
        .with_titles(titles)?;
        match links {
            Some(links) => model.with_links(links),
            None => Ok(model),
        }
    }
}

/// Salts of the two input tables' starting points.
pub(crate) const WORD_ROWS: u64 = 0x5157;
pub(crate) const DOC_ROWS: u64 = 0xD0C5;

/// `rows` input vectors as gensim 4 starts them (its prep_vectors): uniform in [-1, 1) / dim,
/// each row seeded from (seed, `salt`, row), so both trainers start from the same point.
pub(crate) fn initial_rows(cfg: &ModelConfig, rows: usize, salt: u64) -> Vec<f32> {
    let dim = cfg.dim;
    let mut v = Vec::with_capacity(rows * dim);
    for r in 0..rows {
        let mut rng = Rng::new(cfg.seed ^ salt ^ (r as u64).wrapping_mul(0x9E3779B97F4A7C15));
        // (Inferred vectors start at half that range, as its pseudorandom_weak_vector does.)
        v.extend((0..dim).map(|_| (rng.unit() * 2.0 - 1.0) / dim as f32));
    }
    v
}

/// Documents claimed at a time by a thread.
const CHUNK: usize = 16;

/// A training run's tables and progress; `run` trains, `words_done` may be polled meanwhile.
pub struct Trainer<'a> {
    cfg: ModelConfig,
    docs: &'a [Vec<u32>],
    cites: &'a [Vec<u32>],
    words: SharedTable,
    out: SharedTable,
    doc_vectors: SharedTable,
    keep: Vec<u32>,
    noise: AliasTable,
    words_done: AtomicU64,
    epoch: AtomicUsize,
    expected_words_per_epoch: u64,
}

/// The trained tables, as plain arrays.
pub struct Trained {
    pub word_vectors: Vec<f32>,
    pub output_weights: Vec<f32>,
    pub doc_vectors: Vec<f32>,
    /// Effective words trained on, over all epochs.
    pub words: u64,
    pub seconds: f64,
}

impl<'a> Trainer<'a> {
    /// Sets up the tables: input vectors uniform in +-1/dim (seeded per row), output weights
    /// zero, as gensim 4 initialises them.
    pub fn new(cfg: ModelConfig, prepared: &'a Prepared) -> Trainer<'a> {
        let (vocab, docs, cites) = (&prepared.vocab, &prepared.docs, &prepared.cites);
        let dim = cfg.dim;
        let keep = vocab.keep_thresholds(cfg.sample);
        Trainer {
            words: SharedTable::new(&initial_rows(&cfg, vocab.len(), WORD_ROWS), dim),
            out: SharedTable::new(&vec![0.0; vocab.len() * dim], dim),
            doc_vectors: SharedTable::new(&initial_rows(&cfg, docs.len(), DOC_ROWS), dim),
            expected_words_per_epoch: expected_words(docs, &keep, cfg.max_doc_words)
                + expected_words(cites, &keep, 0) * cfg.cites as u64,
            keep,
            noise: AliasTable::new(&vocab.counts, 0.75),
            words_done: AtomicU64::new(0),
            epoch: AtomicUsize::new(0),
            cfg,
            docs,
            cites,
        }
    }

    /// Effective words trained so far (all threads, all epochs).
    pub fn words_done(&self) -> u64 {
        self.words_done.load(Ordering::Relaxed)
    }

    /// The epoch in progress (0-based).
    pub fn epoch(&self) -> usize {
        self.epoch.load(Ordering::Relaxed)
    }

    /// The expected effective words of one epoch (for progress bars and ETAs).
    pub fn expected_words_per_epoch(&self) -> u64 {
        self.expected_words_per_epoch
    }

    /// Trains for `cfg.epochs` epochs on `threads` threads.
    pub fn run(&self, threads: usize) -> Trained {
        let started = Instant::now();
        let sigmoid = Sigmoid::new();
        let threads = threads.max(1);
        let total_docs = (self.docs.len() * self.cfg.epochs).max(1) as f32;
        let docs_done = AtomicUsize::new(0);
        for epoch in 0..self.cfg.epochs {
            self.epoch.store(epoch, Ordering::Relaxed);
            let pass = Pass {
                epoch,
                next: AtomicUsize::new(0),
                docs_done: &docs_done,
                total_docs,
                sigmoid: &sigmoid,
            };
            std::thread::scope(|scope| {
                for _ in 0..threads {
                    scope.spawn(|| self.worker(&pass));
                }
            });
        }
        Trained {
            word_vectors: self.words.to_plain(),
            output_weights: self.out.to_plain(),
            doc_vectors: self.doc_vectors.to_plain(),
            words: self.words_done(),
            seconds: started.elapsed().as_secs_f64(),
        }
    }

    /// One training thread's work for an epoch: `worker_body`, compiled for AVX2 and FMA when
    /// the CPU has them. The x86-64 baseline is SSE2, so the portable build does 52-wide dot
    /// products and updates four lanes at a time; with AVX2, eight. The arithmetic per lane is
    /// the same (no fused multiply-adds: Rust never contracts), so both give the same model
    /// bit for bit.
    fn worker(&self, pass: &Pass) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            #[expect(
                unsafe_code,
                reason = "calling a function compiled for CPU features; see SAFETY"
            )]
            // SAFETY: `worker_avx2` needs AVX2 and FMA, and the CPU was just checked to have both.
            unsafe {
                self.worker_avx2(pass);
            }
            return;
        }
        self.worker_widths(pass);
    }

    /// `worker_body` compiled for AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn worker_avx2(&self, pass: &Pass) {
        self.worker_widths(pass);
    }

    /// `worker_body` with the row width fixed at compile time for the original's model (52)
    /// and the default engine's (100), so that every per-row loop unrolls: with the width known
    /// only at run time, the loop control and remainder loops of the 52-wide dot products and
    /// updates cost more instructions than their arithmetic (callgrind: 4,580 instructions per
    /// PV-DBOW word). Any other width runs the general code.
    #[inline(always)]
    fn worker_widths(&self, pass: &Pass) {
        match SharedTable::stride(self.cfg.dim) {
            52 => self.worker_body::<52>(pass),
            100 => self.worker_body::<100>(pass),
            _ => self.worker_body::<0>(pass),
        }
    }

    /// One thread's epoch on rows `STRIDE` wide (0: the width the model's dimension gives).
    #[inline(always)]
    fn worker_body<const STRIDE: usize>(&self, pass: &Pass) {
        let cfg = &self.cfg;
        let Pass {
            epoch,
            ref next,
            docs_done,
            total_docs,
            sigmoid,
        } = *pass;
        // Training works on rows padded to an even width (see `SharedTable`).
        let stride = if STRIDE == 0 {
            SharedTable::stride(cfg.dim)
        } else {
            STRIDE
        };
        debug_assert_eq!(stride, SharedTable::stride(cfg.dim));
        let ctx = Ctx {
            dim: stride,
            window: cfg.window.max(1),
            negative: cfg.negative,
            sigmoid,
            noise: &self.noise,
            learn: Learn {
                words: true,
                hidden: true,
            },
        };
        let mut scratch = Scratch::new(stride, cfg.window, cfg.negative);
        let mut doc = vec![0.0f32; stride];
        let mut words = Vec::new();
        let mut targets = Vec::new();
        let mut local_words = 0u64;
        loop {
            let start = next.fetch_add(CHUNK, Ordering::Relaxed);
            if start >= self.docs.len() {
                break;
            }
            for d in start..(start + CHUNK).min(self.docs.len()) {
                // Linear decay by documents processed, as gensim decays by progress.
                let progress = docs_done.fetch_add(1, Ordering::Relaxed) as f32 / total_docs;
                let alpha = cfg.alpha - (cfg.alpha - cfg.min_alpha) * progress;
                let mut rng = Rng::new(
                    cfg.seed ^ ((epoch as u64) << 40) ^ (d as u64).wrapping_mul(0xA24BAED4963EE407),
                );
                kernel::effective_words(
                    &self.docs[d],
                    &self.keep,
                    cfg.max_doc_words,
                    &mut rng,
                    &mut words,
                );
                self.doc_vectors.read(d, stride, &mut doc);
                let before = doc.clone();
                match cfg.mode {
                    Mode::Dbow => {
                        kernel::dbow_document(
                            &ctx,
                            &self.out,
                            &words,
                            &mut doc,
                            alpha,
                            &mut rng,
                            &mut scratch,
                        );
                        if cfg.dbow_words {
                            kernel::skipgram_document(
                                &ctx,
                                &self.words,
                                &self.out,
                                &words,
                                alpha,
                                &mut rng,
                                &mut scratch,
                            );
                        }
                    }
                    Mode::Dm => kernel::dm_document(
                        &ctx,
                        &self.words,
                        &self.out,
                        &words,
                        &mut doc,
                        alpha,
                        cfg.dm_mean,
                        &mut rng,
                        &mut scratch,
                    ),
                }
                // Citation targets: the document vector predicts each document it cites, as a
                // PV-DBOW step would a word (downsampled like words, never capped).
                if cfg.cites > 0 && !self.cites[d].is_empty() {
                    targets.clear();
                    for _ in 0..cfg.cites {
                        for &t in &self.cites[d] {
                            let k = self.keep[t as usize];
                            if k == u32::MAX || (rng.next() as u32) < k {
                                targets.push(t);
                            }
                        }
                    }
                    kernel::dbow_document(
                        &ctx,
                        &self.out,
                        &targets,
                        &mut doc,
                        alpha,
                        &mut rng,
                        &mut scratch,
                    );
                    local_words += targets.len() as u64;
                }
                // A document is trained by one thread at a time: write its change back once.
                for (x, b) in doc.iter_mut().zip(&before) {
                    *x -= b;
                }
                self.doc_vectors.add(d, stride, &doc);
                local_words += words.len() as u64;
            }
            self.words_done.fetch_add(local_words, Ordering::Relaxed);
            local_words = 0;
        }
    }
}

/// What the threads of one epoch share.
struct Pass<'a> {
    epoch: usize,
    /// The next document to take (in chunks of `CHUNK`).
    next: AtomicUsize,
    /// Documents done over all epochs, and their total: the learning rate's progress.
    docs_done: &'a AtomicUsize,
    total_docs: f32,
    sigmoid: &'a Sigmoid,
}

/// The expected number of words a pass keeps: per document, the sum of the keep probabilities
/// of its words, up to the cap.
fn expected_words(docs: &[Vec<u32>], keep: &[u32], cap: usize) -> u64 {
    docs.iter()
        .map(|d| {
            let e: f64 = d
                .iter()
                .map(|&w| f64::from(keep[w as usize]) / f64::from(u32::MAX))
                .sum();
            if cap > 0 {
                e.min(cap as f64)
            } else {
                e
            }
        })
        .sum::<f64>() as u64
}
