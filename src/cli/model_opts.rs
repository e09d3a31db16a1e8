//! The model's hyper-parameters as command-line flags, shared by `train` and `evaluate`.
//! Defaults are the original Hamlet's production settings (`ModelConfig::default()`).

use crate::model::{Mode, ModelConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    /// PV-DM: document vector plus context words predict the centre word (the original's).
    Dm,
    /// PV-DBOW: the document vector predicts its words.
    Dbow,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ModelOpts {
    /// Architecture.
    #[arg(long, value_enum, default_value = "dm")]
    pub mode: ModeArg,
    /// Vector dimensions.
    #[arg(long, default_value_t = 52)]
    pub dim: usize,
    /// Context words on each side (PV-DM, and word training in PV-DBOW).
    #[arg(long, default_value_t = 4)]
    pub window: usize,
    /// Ignore words seen fewer times than this in the whole collection.
    #[arg(long, default_value_t = 10)]
    pub min_count: u64,
    /// Noise words drawn per prediction (negative sampling).
    #[arg(long, default_value_t = 5)]
    pub negative: usize,
    /// Downsampling threshold for frequent words (0 = off).
    #[arg(long, default_value_t = 1e-3)]
    pub sample: f64,
    /// Initial learning rate.
    #[arg(long, default_value_t = 0.025)]
    pub alpha: f32,
    /// Final learning rate (equal to --alpha: constant, as the original).
    #[arg(long, default_value_t = 0.025)]
    pub min_alpha: f32,
    /// Passes over the collection.
    #[arg(long, default_value_t = 5)]
    pub epochs: usize,
    /// Words of each document used per pass, after downsampling (gensim's cap is 10,000; 0 = all).
    #[arg(long, default_value_t = 10_000)]
    pub max_doc_words: usize,
    /// PV-DM: sum the inputs instead of averaging them. gensim 4.4 averages whatever its
    /// dm_mean says (Word2Vec's cbow_mean=1 overrides it), so the original's model averaged.
    #[arg(long)]
    pub dm_sum: bool,
    /// PV-DBOW: train word vectors too (skip-gram).
    #[arg(long)]
    pub dbow_words: bool,
    /// Random seed (with --threads 1 the same seed gives the same model).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Training threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

impl ModelOpts {
    pub fn config(&self) -> ModelConfig {
        ModelConfig {
            mode: match self.mode {
                ModeArg::Dm => Mode::Dm,
                ModeArg::Dbow => Mode::Dbow,
            },
            dim: self.dim,
            window: self.window,
            min_count: self.min_count,
            negative: self.negative,
            sample: self.sample,
            alpha: self.alpha,
            min_alpha: self.min_alpha,
            epochs: self.epochs,
            max_doc_words: self.max_doc_words,
            dm_mean: !self.dm_sum,
            dbow_words: self.dbow_words,
            seed: self.seed,
        }
    }

    pub fn threads(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn flag_defaults_are_the_model_defaults() {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct T {
            #[command(flatten)]
            m: super::ModelOpts,
        }
        assert_eq!(
            T::parse_from(["t"]).m.config(),
            crate::model::ModelConfig::default()
        );
    }
}
