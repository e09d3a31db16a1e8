//! The batched trainer: the paragraph-vector updates of `kernel` as tensor operations over
//! minibatches, for a CUDA device. On the CPU it is slower than the Hogwild trainer (`train`),
//! which stays the default there; `hamlet train --batched` runs it on the CPU too, to check it
//! against the Hogwild trainer (tests/it/commands/train.rs does).
//!
//! The data pipeline is the Hogwild trainer's: the same vocabulary, downsampling, reduced
//! windows, per-document random streams and alias-table noise words, drawn on the CPU. Each
//! step takes `BATCH` examples (PV-DBOW: document -> word; PV-DM: document and context words
//! -> centre word; citation targets: document -> cited document), each with its target and
//! `negative` noise words, and applies on the device (shapes: B examples, K = 1 + negative
//! targets, C = 2 * window context slots, d dimensions):
//!
//! ```text
//! h  = doc[b] (+ the context rows, summed or averaged)               [B, d]
//! f  = <out[t_bk], h_b>                                                [B, K]
//! g  = (label_bk - sigmoid(f)) * alpha, 0 where |f| >= 6 (gensim)      [B, K]
//! out[t_bk] += g_bk h_b;  doc[b] and context rows += sum_k g_bk out[t_bk]   (index_add_)
//! ```
//!
//! A row repeated within a batch (a frequent noise word, a document's own vector) receives
//! the sum of updates computed from its value before the batch, where the Hogwild trainer
//! applies them one after another. A probe here saw that diverge past about 1,000 pairs per
//! batch, so batches are 256 examples. On CUDA, `index_add_` sums with atomics, so results
//! vary slightly from run to run, as Hogwild's do with several threads; on the CPU with one
//! libtorch thread they are the same every run.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use tch::{Device, Kind, Tensor};

use crate::model::kernel::{self, Rng};
use crate::model::text::vocab::AliasTable;
use crate::model::train::{initial_rows, Prepared, Trained, DOC_ROWS, WORD_ROWS};
use crate::model::{Error, Mode, ModelConfig};

/// Examples per step.
pub const BATCH: usize = 256;

/// Sigmoid inputs beyond this saturate and are skipped, as gensim does.
const MAX_EXP: f64 = 6.0;

/// A batched training run on one device; `run` trains, `words_done` may be polled meanwhile.
pub struct BatchedTrainer<'a> {
    cfg: ModelConfig,
    prepared: &'a Prepared,
    device: Device,
    keep: Vec<u32>,
    noise: AliasTable,
    words_done: AtomicU64,
    epoch: AtomicUsize,
}

/// One step's examples, on the CPU until sent.
struct Batch {
    docs: Vec<i64>,
    /// `C` context slots per example; the padding row (`vocab`) where there is none.
    context: Vec<i64>,
    /// 1 / (1 + context words) per PV-DM example, 1 for DBOW ones.
    inv: Vec<f32>,
    /// `K` targets per example: the word (label 1), then noise words (label 0).
    targets: Vec<i64>,
    /// 1 for a drawn target, 0 for a noise word equal to the word (gensim drops those).
    mask: Vec<f32>,
    /// Whether each example is a PV-DM one (its context rows learn) or a DBOW one.
    dm: Vec<f32>,
    alpha: Vec<f32>,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            docs: Vec::with_capacity(BATCH),
            context: Vec::new(),
            inv: Vec::with_capacity(BATCH),
            targets: Vec::new(),
            mask: Vec::new(),
            dm: Vec::with_capacity(BATCH),
            alpha: Vec::with_capacity(BATCH),
        }
    }

    fn len(&self) -> usize {
        self.docs.len()
    }

    fn clear(&mut self) {
        self.docs.clear();
        self.context.clear();
        self.inv.clear();
        self.targets.clear();
        self.mask.clear();
        self.dm.clear();
        self.alpha.clear();
    }
}

/// The tables on the device.
struct Tables {
    /// `[vocab + 1, d]`: the last row is padding, kept at zero.
    words: Tensor,
    out: Tensor,
    docs: Tensor,
}

impl<'a> BatchedTrainer<'a> {
    /// Sets up the tables on `device` as the Hogwild trainer does (inputs uniform in
    /// +-1/dim, output weights zero). Refuses what it does not implement: PV-DBOW's word
    /// training (`dbow_words`).
    pub fn new(
        cfg: ModelConfig,
        prepared: &'a Prepared,
        device: Device,
    ) -> Result<BatchedTrainer<'a>, Error> {
        if cfg.mode == Mode::Dbow && cfg.dbow_words {
            return Err(Error::Config(
                "the batched trainer does not train word vectors in PV-DBOW (--dbow-words); use the CPU trainer".into(),
            ));
        }
        Ok(BatchedTrainer {
            keep: prepared.vocab.keep_thresholds(cfg.sample),
            noise: AliasTable::new(&prepared.vocab.counts, 0.75),
            words_done: AtomicU64::new(0),
            epoch: AtomicUsize::new(0),
            cfg,
            prepared,
            device,
        })
    }

    /// Effective words trained so far.
    pub fn words_done(&self) -> u64 {
        self.words_done.load(Ordering::Relaxed)
    }

    /// The epoch in progress (0-based).
    pub fn epoch(&self) -> usize {
        self.epoch.load(Ordering::Relaxed)
    }

    fn init_tables(&self) -> Tables {
        let (cfg, dim) = (&self.cfg, self.cfg.dim);
        let v = self.prepared.vocab.len();
        let mut words = initial_rows(cfg, v, WORD_ROWS);
        words.extend(std::iter::repeat_n(0.0, dim));
        let d = dim as i64;
        Tables {
            words: Tensor::from_slice(&words)
                .view([v as i64 + 1, d])
                .to_device(self.device),
            out: Tensor::zeros([v as i64, d], (Kind::Float, self.device)),
            docs: Tensor::from_slice(&initial_rows(cfg, self.prepared.docs.len(), DOC_ROWS))
                .view([self.prepared.docs.len() as i64, d])
                .to_device(self.device),
        }
    }

    /// Trains for `cfg.epochs` epochs.
    pub fn run(&self) -> Trained {
        if self.device == Device::Cpu {
            // One libtorch thread: its OpenMP workers spin between these small operations
            // (perf: a fifth of the time in libgomp with two), as they do when serving.
            crate::model::runtime::configure(1);
        }
        let started = Instant::now();
        let mut t = self.init_tables();
        let cfg = &self.cfg;
        let window = cfg.window.max(1);
        // PV-DBOW examples have no context: no slots to gather.
        let slots = if cfg.mode == Mode::Dm { 2 * window } else { 0 };
        let k = cfg.negative + 1;
        let pad = self.prepared.vocab.len() as i64;
        let n_docs = self.prepared.docs.len();
        let total_docs = (n_docs * cfg.epochs).max(1) as f32;
        let mut batch = Batch::new();
        let mut words = Vec::new();
        let mut targets = Vec::new();
        let mut done_docs = 0usize;
        tch::no_grad(|| {
            for epoch in 0..cfg.epochs {
                self.epoch.store(epoch, Ordering::Relaxed);
                for d in 0..n_docs {
                    let progress = done_docs as f32 / total_docs;
                    done_docs += 1;
                    let alpha = cfg.alpha - (cfg.alpha - cfg.min_alpha) * progress;
                    // The same stream as the Hogwild trainer's for this document and epoch.
                    let mut rng = Rng::new(
                        cfg.seed
                            ^ ((epoch as u64) << 40)
                            ^ (d as u64).wrapping_mul(0xA24BAED4963EE407),
                    );
                    kernel::effective_words(
                        &self.prepared.docs[d],
                        &self.keep,
                        cfg.max_doc_words,
                        &mut rng,
                        &mut words,
                    );
                    let mut count = words.len() as u64;
                    for i in 0..words.len() {
                        match cfg.mode {
                            Mode::Dbow => self.push(&mut batch, d, &[], words[i], alpha, &mut rng),
                            Mode::Dm => {
                                let b = rng.below(window as u32) as usize;
                                let (lo, hi) = (
                                    (i + b).saturating_sub(window),
                                    (i + window + 1 - b).min(words.len()),
                                );
                                let ctx: Vec<u32> =
                                    (lo..hi).filter(|&j| j != i).map(|j| words[j]).collect();
                                self.push(&mut batch, d, &ctx, words[i], alpha, &mut rng);
                            }
                        }
                        if batch.len() == BATCH {
                            self.step(&mut t, &mut batch, slots, k, pad);
                        }
                    }
                    if cfg.cites > 0 {
                        targets.clear();
                        for _ in 0..cfg.cites {
                            for &c in &self.prepared.cites[d] {
                                let keep = self.keep[c as usize];
                                if keep == u32::MAX || (rng.next() as u32) < keep {
                                    targets.push(c);
                                }
                            }
                        }
                        for &c in &targets {
                            self.push(&mut batch, d, &[], c, alpha, &mut rng);
                            if batch.len() == BATCH {
                                self.step(&mut t, &mut batch, slots, k, pad);
                            }
                        }
                        count += targets.len() as u64;
                    }
                    self.words_done.fetch_add(count, Ordering::Relaxed);
                }
            }
            if batch.len() > 0 {
                self.step(&mut t, &mut batch, slots, k, pad);
            }
        });
        let to_vec = |x: &Tensor| -> Vec<f32> {
            Vec::<f32>::try_from(x.to_device(Device::Cpu).contiguous().view(-1)).unwrap_or_default()
        };
        let v = self.prepared.vocab.len() as i64;
        Trained {
            word_vectors: to_vec(&t.words.narrow(0, 0, v)),
            output_weights: to_vec(&t.out),
            doc_vectors: to_vec(&t.docs),
            words: self.words_done(),
            seconds: started.elapsed().as_secs_f64(),
        }
    }

    /// Adds one example: document `doc` (and `context` words, for PV-DM) predicts `target`.
    fn push(
        &self,
        batch: &mut Batch,
        doc: usize,
        context: &[u32],
        target: u32,
        alpha: f32,
        rng: &mut Rng,
    ) {
        let slots = if self.cfg.mode == Mode::Dm {
            2 * self.cfg.window.max(1)
        } else {
            0
        };
        let pad = self.prepared.vocab.len() as i64;
        batch.docs.push(doc as i64);
        for s in 0..slots {
            batch
                .context
                .push(context.get(s).map_or(pad, |&w| i64::from(w)));
        }
        let dm = self.cfg.mode == Mode::Dm && !context.is_empty();
        batch.inv.push(if dm {
            1.0 / (1.0 + context.len() as f32)
        } else {
            1.0
        });
        batch.dm.push(if dm { 1.0 } else { 0.0 });
        batch.targets.push(i64::from(target));
        batch.mask.push(1.0);
        for _ in 0..self.cfg.negative {
            let w = self.noise.sample(rng.next());
            batch.targets.push(i64::from(w));
            batch.mask.push(if w == target { 0.0 } else { 1.0 });
        }
        batch.alpha.push(alpha);
    }

    /// Applies one batch's updates on the device and empties it.
    fn step(&self, t: &mut Tables, batch: &mut Batch, slots: usize, k: usize, pad: i64) {
        let dev = self.device;
        let b = batch.len() as i64;
        let d = self.cfg.dim as i64;
        let docs = Tensor::from_slice(&batch.docs).to_device(dev);
        let targets = Tensor::from_slice(&batch.targets).to_device(dev);
        let inv = Tensor::from_slice(&batch.inv).to_device(dev).view([b, 1]);
        let dm = Tensor::from_slice(&batch.dm).to_device(dev).view([b, 1]);
        let mask = Tensor::from_slice(&batch.mask)
            .to_device(dev)
            .view([b, k as i64]);
        let alpha = Tensor::from_slice(&batch.alpha).to_device(dev).view([b, 1]);
        // h: the document row plus, for PV-DM examples, the context rows (the padding row is
        // zero), summed or averaged.
        let context = (slots > 0).then(|| Tensor::from_slice(&batch.context).to_device(dev));
        let mut h = t.docs.index_select(0, &docs);
        if let Some(context) = &context {
            let ctx_rows = t.words.index_select(0, context).view([b, slots as i64, d]);
            h += ctx_rows.sum_dim_intlist(1, false, Kind::Float) * &dm;
            if self.cfg.dm_mean {
                h *= &inv;
            }
        }
        let out_rows = t.out.index_select(0, &targets).view([b, k as i64, d]);
        // Products of B x K pairs of d-vectors: elementwise and a sum, which beat bmm's B tiny
        // matrix products on the CPU (perf: bmm was the largest cost).
        let f = (&out_rows * h.unsqueeze(1)).sum_dim_intlist(2, false, Kind::Float);
        let labels = Tensor::zeros([b, k as i64], (Kind::Float, dev));
        let _ = labels.narrow(1, 0, 1).fill_(1.0);
        let live = f.abs().lt(MAX_EXP).to_kind(Kind::Float) * &mask;
        let g = (labels - f.sigmoid()) * &alpha * live;
        // The input's gradient, before the output rows move.
        let work = (g.unsqueeze(2) * &out_rows).sum_dim_intlist(1, false, Kind::Float);
        let _ = t.out.index_add_(
            0,
            &targets,
            &(g.unsqueeze(2) * h.unsqueeze(1)).view([b * k as i64, d]),
        );
        // gensim (dm_mean=0): the summed input's error is shared among its parts.
        let work = if self.cfg.dm_mean || context.is_none() {
            work
        } else {
            work * &inv
        };
        let _ = t.docs.index_add_(0, &docs, &work);
        if let Some(context) = &context {
            // Context rows learn the same work; padding slots (and DBOW examples) add zero.
            let real = context
                .ne(pad)
                .to_kind(Kind::Float)
                .view([b, slots as i64, 1])
                * dm.unsqueeze(2);
            let per_slot = work.unsqueeze(1) * real;
            let _ = t
                .words
                .index_add_(0, context, &per_slot.view([b * slots as i64, d]));
        }
        batch.clear();
    }
}

/// Which trainer runs, and where.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Backend {
    /// The Hogwild trainer on the CPU's cores (`train::Trainer`).
    Cpu,
    /// The batched trainer on a libtorch device.
    Batched(Device),
}

impl Backend {
    /// The batched trainer on the first CUDA device.
    pub fn cuda() -> Backend {
        Backend::Batched(Device::Cuda(0))
    }

    /// The batched trainer on the CPU.
    pub fn batched_cpu() -> Backend {
        Backend::Batched(Device::Cpu)
    }

    /// For messages: "2 CPU threads", "CUDA (batched)".
    pub fn describe(&self, threads: usize) -> String {
        match self {
            Backend::Cpu => format!("{threads} CPU threads"),
            Backend::Batched(Device::Cpu) => "the CPU (batched trainer)".into(),
            Backend::Batched(d) => format!("{d:?} (batched trainer)"),
        }
    }
}

/// Whether libtorch sees a CUDA device.
pub fn cuda_available() -> bool {
    tch::Cuda::is_available()
}
