//! The model's hyper-parameters as command-line flags, shared by `train` and `evaluate`.
//! Without flags: the default engine (`ModelConfig::engine()`). `--compat`: the original
//! Hamlet's production settings (`ModelConfig::compat()`, PV-DM). Any flag given overrides
//! what the chosen preset says.

use crate::model::engine::mentions::IdForm;
use crate::model::engine::Scoring;
use crate::model::{Mode, ModelConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    /// PV-DM: document vector plus context words predict the centre word (the original's).
    Dm,
    /// PV-DBOW: the document vector predicts its words.
    Dbow,
}

/// `mentions::IdForm` on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IdFormArg {
    None,
    Rfc,
}

#[derive(Debug, Clone, Default, clap::Args)]
pub struct ModelOpts {
    /// The compatibility mode: the original Hamlet's model (PV-DM, 52 dimensions, window 4,
    /// min_count 10, 5 negatives, sample 1e-3, alpha 0.025 held constant, 5 epochs, gensim's
    /// 10,000-word cap), scored by cosine. Without it: the default engine (PV-DBOW, 100
    /// dimensions, 10 epochs, decaying alpha, no cap, citation targets and title mentions).
    #[arg(long)]
    pub compat: bool,
    /// Architecture [default engine: dbow; --compat: dm].
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,
    /// Vector dimensions [100; --compat: 52].
    #[arg(long)]
    pub dim: Option<usize>,
    /// Context words on each side (PV-DM, and word training in PV-DBOW) [4].
    #[arg(long)]
    pub window: Option<usize>,
    /// Ignore words seen fewer times than this in the whole collection [10].
    #[arg(long)]
    pub min_count: Option<u64>,
    /// Noise words drawn per prediction (negative sampling) [5].
    #[arg(long)]
    pub negative: Option<usize>,
    /// Downsampling threshold for frequent words (0 = off) [1e-3].
    #[arg(long)]
    pub sample: Option<f64>,
    /// Initial learning rate [0.025].
    #[arg(long)]
    pub alpha: Option<f32>,
    /// Final learning rate [0.0001; --compat: 0.025, constant as the original].
    #[arg(long)]
    pub min_alpha: Option<f32>,
    /// Passes over the collection [10; --compat: 5].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Words of each document used per pass, after downsampling; 0 = all [0; --compat:
    /// 10,000, gensim's cap].
    #[arg(long)]
    pub max_doc_words: Option<usize>,
    /// PV-DM: sum the inputs instead of averaging them. gensim 4.4 averages whatever its
    /// dm_mean says (Word2Vec's cbow_mean=1 overrides it), so the original's model averaged.
    #[arg(long)]
    pub dm_sum: bool,
    /// PV-DBOW: train word vectors too (skip-gram).
    #[arg(long)]
    pub dbow_words: bool,
    /// Citation targets: how many times per pass a document's vector predicts each collection
    /// document it cites; 0 = none, scored by cosine [3; --compat: 0].
    #[arg(long)]
    pub cites: Option<usize>,
    /// The default engine's weight of title mentions in its score [0.3].
    #[arg(long)]
    pub title_weight: Option<f32>,
    /// The default engine's weight of the document vectors' cosine in its score [0.1].
    #[arg(long)]
    pub cosine_weight: Option<f32>,
    /// The default engine's weight of co-citation (how often the collection cites a result
    /// together with the documents the query cites) in its score [1.0].
    #[arg(long)]
    pub cocite_weight: Option<f32>,
    /// The default engine's weight of what the 20 documents most like the query cite, in its
    /// score [0.5].
    #[arg(long)]
    pub neighbour_weight: Option<f32>,
    /// The default engine's weight of what the 20 documents that share most of the query's
    /// citations also cite (bibliographic coupling) in its score [1.0].
    #[arg(long)]
    pub coupled_weight: Option<f32>,
    /// Inference: passes over a new text [5; --compat: the training epochs].
    #[arg(long)]
    pub infer_epochs: Option<usize>,
    /// Inference: the most words of a new text read, spread evenly over it [5,000; --compat:
    /// gensim's 10,000-word cap per pass].
    #[arg(long)]
    pub infer_words: Option<usize>,
    /// How documents are named by identifier in texts: rfc ("RFC 793", "[RFC793]") or none
    /// (titles only) [rfc; --compat: none].
    #[arg(long, value_enum)]
    pub id_mentions: Option<IdFormArg>,
    /// Never read citation links off the texts. By default a collection without any citation
    /// link gets them from its texts (a text naming another document by identifier or whole
    /// title counts as citing it) [--compat: never].
    #[arg(long)]
    pub no_mention_links: bool,
    /// Default engine: rank a text's best candidates by the score alone, without the learned
    /// re-ranker (`src/model/rerank.rs`).
    #[arg(long)]
    pub no_rerank: bool,
    /// Random seed (with --threads 1 the same seed gives the same model) [1].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Training threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

impl ModelOpts {
    /// The preset the flags start from.
    pub fn preset(&self) -> ModelConfig {
        if self.compat {
            ModelConfig::compat()
        } else {
            ModelConfig::engine()
        }
    }

    pub fn config(&self) -> ModelConfig {
        let p = self.preset();
        ModelConfig {
            mode: match self.mode {
                Some(ModeArg::Dm) => Mode::Dm,
                Some(ModeArg::Dbow) => Mode::Dbow,
                None => p.mode,
            },
            dim: self.dim.unwrap_or(p.dim),
            window: self.window.unwrap_or(p.window),
            min_count: self.min_count.unwrap_or(p.min_count),
            negative: self.negative.unwrap_or(p.negative),
            sample: self.sample.unwrap_or(p.sample),
            alpha: self.alpha.unwrap_or(p.alpha),
            min_alpha: self.min_alpha.unwrap_or(p.min_alpha),
            epochs: self.epochs.unwrap_or(p.epochs),
            max_doc_words: self.max_doc_words.unwrap_or(p.max_doc_words),
            dm_mean: if self.dm_sum { false } else { p.dm_mean },
            dbow_words: self.dbow_words || p.dbow_words,
            seed: self.seed.unwrap_or(p.seed),
            cites: self.cites.unwrap_or(p.cites),
            scoring: Scoring {
                title_weight: self.title_weight.unwrap_or(p.scoring.title_weight),
                cosine_weight: self.cosine_weight.unwrap_or(p.scoring.cosine_weight),
                cocite_weight: self.cocite_weight.unwrap_or(p.scoring.cocite_weight),
                neighbour_weight: self.neighbour_weight.unwrap_or(p.scoring.neighbour_weight),
                coupled_weight: self.coupled_weight.unwrap_or(p.scoring.coupled_weight),
                infer_epochs: self.infer_epochs.unwrap_or(p.scoring.infer_epochs),
                infer_words: self.infer_words.unwrap_or(p.scoring.infer_words),
                ..p.scoring
            },
            id_mentions: match self.id_mentions {
                Some(IdFormArg::None) => IdForm::None,
                Some(IdFormArg::Rfc) => IdForm::Rfc,
                None => p.id_mentions,
            },
            mention_links: p.mention_links && !self.no_mention_links,
            rerank: p.rerank && !self.no_rerank,
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
    use clap::Parser;

    #[derive(clap::Parser)]
    struct T {
        #[command(flatten)]
        m: super::ModelOpts,
    }

    #[test]
    fn flag_defaults_are_the_presets() {
        use crate::model::ModelConfig;
        assert_eq!(T::parse_from(["t"]).m.config(), ModelConfig::engine());
        assert_eq!(
            T::parse_from(["t", "--compat"]).m.config(),
            ModelConfig::compat()
        );
        assert_eq!(ModelConfig::compat(), ModelConfig::default());
        let c = T::parse_from(["t", "--compat", "--dim", "8", "--mode", "dbow"])
            .m
            .config();
        assert_eq!((c.dim, c.mode, c.cites), (8, crate::model::Mode::Dbow, 0));
        let e = T::parse_from(["t", "--cites", "0"]).m.config();
        assert!(!e.is_engine());
    }
}
