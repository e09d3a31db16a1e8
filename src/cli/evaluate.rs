//! `hamlet evaluate`: its flags and its table; the work is `app::evaluate` (the protocols
//! and their definitions: `model::eval`).

use std::sync::Arc;

use anyhow::Context;

use super::model_opts::ModelOpts;
use super::progress::Bars;
use crate::app::evaluate::{evaluate, Evaluation, Options, Split, View};
use crate::config::AppConfig;
use crate::model::engine::mentions::IdForm;
use crate::model::eval::{self, Retrieval};
use crate::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SplitArg {
    /// Tune here: trains without the validation and test documents, queries validation.
    Validation,
    /// Report once: trains without the test documents, queries test.
    Test,
    /// Learn here: trains without the validation and test documents and a quarter of the
    /// training documents (the one `--fold` names), queries that quarter (a learned
    /// re-ranker's training queries).
    Fold,
}

#[derive(Debug, clap::Args)]
pub struct Opts {
    #[command(flatten)]
    pub model: ModelOpts,
    /// Which held-out documents to query.
    #[arg(long, value_enum, default_value = "test")]
    pub split: SplitArg,
    /// Seed of the fixed split (5% test, 5% validation).
    #[arg(long, default_value_t = 1)]
    pub split_seed: u64,
    /// With `--split fold`: which quarter of the training documents to hold out and query
    /// (0 to 3; learning on all four cross-fits the re-ranker over the whole training split).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..eval::FOLDS as i64))]
    pub fold: u8,
    /// Odd-one-out triples to score.
    #[arg(long, default_value_t = 2000)]
    pub triples: usize,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also score the compatibility mode (the original's PV-DM) and the lexical baseline
    /// (TF-IDF) on the same split, in one table.
    #[arg(long, alias = "lexical")]
    pub compare: bool,
    /// Query with each held-out document's text without its reference sections: how the
    /// engines do on a draft that has no bibliography (what it cites is still what is scored).
    #[arg(long)]
    pub no_references: bool,
    /// Train with the batched tensor trainer (what runs on CUDA) on the CPU, to compare it
    /// with the Hogwild trainer.
    #[arg(long)]
    pub batched: bool,
    /// Query with the word and output tables kept at this precision (f32, f16 or i8), as the
    /// server keeps them with HAMLET_MODEL_WEIGHTS.
    #[arg(long, default_value = "f32")]
    pub weights: crate::model::weights::Precision,
    /// Train as if the collection had no citation links (a thesis collection): the links are
    /// still what the queries are judged against.
    #[arg(long)]
    pub no_graph: bool,
    /// Documents nearly everything cites, left out of the judgements and the rankings of the
    /// views table (the RFC series: RFC 2119 and 8174, the requirement key words), with the
    /// ones the model finds cited by nearly everything, which the served lists put apart.
    #[arg(long, value_delimiter = ',', default_value = "2119,8174")]
    pub boilerplate: Vec<i64>,
    /// How the "missing" protocol finds the hidden half's mentions in a query: rfc ("RFC 793",
    /// "[RFC793]") or none (reference entries naming their titles only).
    #[arg(long, value_enum, default_value = "rfc")]
    pub mention_form: super::model_opts::IdFormArg,
    /// Keep the trained model in this directory, keyed by its settings and split, and reuse it
    /// when asked again (for trying scoring changes without training again).
    #[arg(long, value_name = "DIR")]
    pub cache: Option<std::path::PathBuf>,
    /// The RFC index (`rfc-index.txt`, or the directory holding it) whose "Obsoletes" records
    /// give the pages' successor view its pairs: a new version and the one it replaces, each
    /// asked for the other. Read as truth for this view only.
    #[arg(long, value_name = "PATH")]
    pub successors: Option<std::path::PathBuf>,
    /// Default engine: write the "missing" and "cited" views' candidates (the 200 best a
    /// query, by the engine's score) with the re-ranker's features and their judgements to
    /// this file, tab-separated, for `scripts/learn-rerank.py`. Research only: built with
    /// `--features lab`.
    #[cfg(feature = "lab")]
    #[arg(long, value_name = "FILE")]
    pub dump: Option<std::path::PathBuf>,
}

impl Opts {
    /// The options `app::evaluate` takes.
    pub fn options(&self) -> anyhow::Result<Options> {
        let successors = match &self.successors {
            Some(path) => Some(
                crate::app::evaluate::pages::successor_pairs(path)
                    .with_context(|| format!("--successors {}", path.display()))?,
            ),
            None => None,
        };
        Ok(Options {
            config: self.model.config(),
            threads: self.model.threads(),
            split: match self.split {
                SplitArg::Validation => Split::Validation,
                SplitArg::Test => Split::Test,
                SplitArg::Fold => Split::Fold(self.fold),
            },
            split_seed: self.split_seed,
            triples: self.triples,
            compare: self.compare,
            no_references: self.no_references,
            batched: self.batched,
            weights: self.weights,
            no_graph: self.no_graph,
            boilerplate: self.boilerplate.clone(),
            mention_form: match self.mention_form {
                super::model_opts::IdFormArg::None => IdForm::None,
                super::model_opts::IdFormArg::Rfc => IdForm::Rfc,
            },
            cache: self.cache.clone(),
            successors,
            #[cfg(feature = "lab")]
            dump: self.dump.clone(),
        })
    }
}

pub async fn run(opts: Opts, cfg: &AppConfig) -> anyhow::Result<()> {
    let store = Store::connect(cfg.database_url(), 2)
        .await
        .context("connecting to DATABASE_URL")?;
    store.migrate().await.context("applying migrations")?;
    let options = opts.options()?;
    let result = evaluate(&store, &options, Arc::new(Bars::default())).await?;
    store.close().await;
    if opts.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        print_table(&result);
    }
    Ok(())
}

fn print_table(e: &Evaluation) {
    println!(
        "{} trained on {} documents; {} split: {} queries{}",
        e.model,
        e.train_documents,
        e.split,
        e.retrieval.queries,
        if e.no_references {
            " (their texts without reference sections)"
        } else {
            ""
        }
    );
    println!("{:<28} {:>8}", "metric", "value");
    println!("{:<28} {:>8.3}", "citation hit@10", e.retrieval.hit_at_10);
    println!(
        "{:<28} {:>8.3}",
        "citation recall@10", e.retrieval.recall_at_10
    );
    println!("{:<28} {:>8.3}", "citation MRR@10", e.retrieval.mrr_at_10);
    println!(
        "{:<28} {:>8.3}",
        format!("odd one out ({} triples)", e.odd_one_out.triples),
        e.odd_one_out.accuracy
    );
    println!(
        "{:<28} {:>8.2}",
        "training M words/s",
        e.train_words_per_second / 1e6
    );
    println!(
        "{:<28} {:>8.2}",
        "infer+top10 median ms", e.latency.infer_median_ms
    );
    println!(
        "{:<28} {:>8.2}",
        "infer+top10 p95 ms", e.latency.infer_p95_ms
    );
    println!(
        "{:<28} {:>8.3}",
        "similar (known) median ms", e.latency.similar_median_ms
    );
    let row = |name: &str, r: &Retrieval| {
        println!(
            "{:<44} {:>8.3} {:>10.3} {:>8.3}",
            name, r.hit_at_10, r.recall_at_10, r.mrr_at_10
        );
    };
    if e.lexical.is_some() {
        println!();
        println!(
            "{:<44} {:>8} {:>10} {:>8}",
            "engine, same split", "hit@10", "recall@10", "MRR@10"
        );
    }
    if let Some(lexical) = &e.lexical {
        if let Some(compat) = &e.compat {
            row("compatibility mode (the original's PV-DM)", compat);
        }
        row(&e.model, &e.retrieval);
        row("lexical baseline (TF-IDF)", lexical);
    }
    if !e.views.is_empty() {
        println!();
        println!(
            "views of [missing]{}; hit@10 / recall@10 / MRR@10",
            if e.no_graph {
                ", trained without citation links"
            } else {
                ""
            }
        );
        view_rows(24, &mut e.views.iter());
        println!(
            "left out as cited by nearly everything: {}",
            e.boilerplate
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let p = &e.pages;
    println!();
    println!("views of a known document's page; hit@10 / recall@10 / MRR@10");
    view_rows(
        38,
        &mut std::iter::once(&p.similar)
            .chain(&p.successors)
            .chain(&p.revisions),
    );
    println!(
        "{:<38} {:<23.3} {:<23.3} {:<23.3}",
        "similar: share of direct neighbours",
        p.neighbour_share[0],
        p.neighbour_share[1],
        p.neighbour_share[2]
    );
    println!("{:<28} {:>8.1}", "seconds in all", e.seconds);
}

/// A views table: its header, then one row a view, the name column `name_width` wide.
fn view_rows(name_width: usize, views: &mut dyn Iterator<Item = &View>) {
    println!(
        "{:<name_width$} {:<23} {:<23} {:<23}",
        "view", "default engine", "TF-IDF", "BM25"
    );
    for v in views {
        println!(
            "{:<name_width$} {:<23} {:<23} {:<23}",
            format!("{} ({})", v.name, v.engine.queries),
            cell(&v.engine),
            cell(&v.tfidf),
            cell(&v.bm25)
        );
    }
}

fn cell(r: &Retrieval) -> String {
    format!(
        "{:.3} / {:.3} / {:.3}",
        r.hit_at_10, r.recall_at_10, r.mrr_at_10
    )
}
