//! Inference: a vector for a new text, learnt against the trained tables, which stay frozen.
//! Deterministic: the same words always give the same vector.

use crate::model::kernel::{self, Ctx, Learn, Rng, Scratch, Sigmoid};
use crate::model::text::vocab::AliasTable;
use crate::model::{Doc2Vec, Mode, ModelConfig};

impl Doc2Vec {
    /// A vector for a new text: deterministic (the same text always gives the same vector).
    pub fn infer_vector(&self, text: &str) -> Vec<f32> {
        let words = self.vocab.indices(text);
        self.infer_indices(&words)
    }

    /// `infer_vector` on text already turned into vocabulary indices.
    pub fn infer_indices(&self, words: &[u32]) -> Vec<f32> {
        self.infer_citing(words, &[])
    }

    /// `infer_indices` for a text that cites the model documents `cites` (model order): like a
    /// training document, its vector also learns to predict their citation targets
    /// (`ModelConfig::cites` times each, as training does).
    pub fn infer_citing(&self, words: &[u32], cites: &[usize]) -> Vec<f32> {
        let targets: Vec<u32> = if self.config.cites > 0 {
            cites
                .iter()
                .filter_map(|&d| {
                    self.vocab
                        .get(&crate::model::text::vocab::cite_token(self.doc_ids[d]))
                })
                .collect()
        } else {
            Vec::new()
        };
        let frozen = Frozen {
            cfg: &self.config,
            keep: &self.keep,
            noise: &self.noise,
            sigmoid: &self.sigmoid,
            word_vectors: &self.word_vectors,
            output: &self.output_weights,
        };
        let epochs = match self.config.scoring.infer_epochs {
            0 => self.config.epochs,
            n => n,
        };
        infer(&frozen, words, &targets, epochs)
    }
}

/// The most words of a new text inference reads when the model has no per-document cap.
pub const INFER_MAX_WORDS: usize = 20_000;

/// What inference reads of a model: its settings and frozen tables.
pub(crate) struct Frozen<'a> {
    pub cfg: &'a ModelConfig,
    pub keep: &'a [u32],
    pub noise: &'a AliasTable,
    pub sigmoid: &'a Sigmoid,
    pub word_vectors: &'a crate::model::weights::Weights,
    pub output: &'a crate::model::weights::Weights,
}

/// Infers the vector of a new document from its in-vocabulary word indices (and the citation
/// targets, vocabulary indices, of what it cites), with the trained tables frozen: the
/// document vector starts from a point seeded by the words themselves and is trained for
/// `epochs` epochs. The same words and citations always give the same vector.
pub(crate) fn infer(model: &Frozen, words: &[u32], cites: &[u32], epochs: usize) -> Vec<f32> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        #[expect(
            unsafe_code,
            reason = "calling a function compiled for CPU features; see SAFETY"
        )]
        // SAFETY: `infer_avx2` needs AVX2 and FMA, and the CPU was just checked to have both.
        return unsafe { infer_avx2(model, words, cites, epochs) };
    }
    infer_body(model, words, cites, epochs)
}

/// `infer_body` compiled for AVX2 and FMA (see `Trainer::worker`): the same vector, faster.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn infer_avx2(model: &Frozen, words: &[u32], cites: &[u32], epochs: usize) -> Vec<f32> {
    infer_body(model, words, cites, epochs)
}

#[inline(always)]
fn infer_body(model: &Frozen, words: &[u32], cites: &[u32], epochs: usize) -> Vec<f32> {
    let Frozen {
        cfg,
        keep,
        noise,
        sigmoid,
        word_vectors,
        output,
    } = *model;
    let seed = words.iter().fold(cfg.seed ^ 0x1F3D_5B79, |h, &w| {
        kernel::splitmix(h ^ u64::from(w))
    });
    let mut init = Rng::new(seed);
    let mut doc: Vec<f32> = (0..cfg.dim)
        .map(|_| (init.unit() - 0.5) / cfg.dim as f32)
        .collect();
    let ctx = Ctx {
        dim: cfg.dim,
        window: cfg.window.max(1),
        negative: cfg.negative,
        sigmoid,
        noise,
        learn: Learn {
            words: false,
            hidden: false,
        },
    };
    let mut scratch = Scratch::new(cfg.dim, cfg.window, cfg.negative);
    let mut effective = Vec::new();
    let mut targets = Vec::new();
    let epochs = epochs.max(1);
    // A model trained without a per-document cap still reads at most INFER_MAX_WORDS words of
    // a new text, spread evenly over it (so a long draft's reference list still counts), which
    // bounds the cost of a 4 MB upload.
    let spread: Vec<u32>;
    let most = match cfg.scoring.infer_words {
        0 => INFER_MAX_WORDS,
        n => n,
    };
    let words = if cfg.max_doc_words == 0 && words.len() > most {
        let step = words.len() as f64 / most as f64;
        spread = (0..most)
            .map(|i| words[(i as f64 * step) as usize])
            .collect();
        &spread[..]
    } else {
        words
    };
    for epoch in 0..epochs {
        let alpha = cfg.alpha - (cfg.alpha - cfg.min_alpha) * epoch as f32 / epochs as f32;
        let mut rng = Rng::new(seed ^ ((epoch as u64 + 1) << 48));
        kernel::effective_words(words, keep, cfg.max_doc_words, &mut rng, &mut effective);
        match cfg.mode {
            Mode::Dbow => kernel::dbow_document(
                &ctx,
                output,
                &effective,
                &mut doc,
                alpha,
                &mut rng,
                &mut scratch,
            ),
            Mode::Dm => kernel::dm_document(
                &ctx,
                word_vectors,
                output,
                &effective,
                &mut doc,
                alpha,
                cfg.dm_mean,
                &mut rng,
                &mut scratch,
            ),
        }
        // The citation targets of what the text cites, as training reads a document's
        // (`train::Trainer`): `cites` times each, downsampled like words.
        if !cites.is_empty() {
            targets.clear();
            for _ in 0..cfg.cites {
                for &t in cites {
                    let k = keep[t as usize];
                    if k == u32::MAX || (rng.next() as u32) < k {
                        targets.push(t);
                    }
                }
            }
            kernel::dbow_document(
                &ctx,
                output,
                &targets,
                &mut doc,
                alpha,
                &mut rng,
                &mut scratch,
            );
        }
    }
    doc
}
