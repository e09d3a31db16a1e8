//! `hamlet evaluate`: trains on the collection without its held-out documents, then scores the
//! model: citation retrieval of the held-out documents (queried by full text) and the original
//! Hamlet's odd-one-out triples. See `model::eval` for the definitions.
//!
//! `--compare` adds, on the same split and queries, the compatibility mode (the original's
//! PV-DM, trained the same way) and the lexical baseline (TF-IDF alone), printed as one table;
//! `--sweep` scores the default engine with other weights of its title and cosine terms, from
//! the same inferred vectors (tune on `--split validation`).

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use anyhow::{bail, Context};
use serde::Serialize;

use super::model_opts::ModelOpts;
use super::train::{collection, train_vectors_with};
use crate::config::AppConfig;
use crate::model::batched::Backend;
use crate::model::eval::{self, OddOneOut, Part, Retrieval};
use crate::model::train::TrainingSet;
use crate::model::{Doc2Vec, ModelConfig};
use crate::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SplitArg {
    /// Tune here: trains without the validation and test documents, queries validation.
    Validation,
    /// Report once: trains without the test documents, queries test.
    Test,
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
    /// Default engine: also score other weights of its title and cosine terms.
    #[arg(long)]
    pub sweep: bool,
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
}

/// Everything `hamlet evaluate` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// The evaluated model: "the default engine (...)" or its mode.
    pub model: String,
    pub split: String,
    /// Whether the queries were stripped of their reference sections (`--no-references`).
    pub no_references: bool,
    pub train_documents: usize,
    pub retrieval: Retrieval,
    pub odd_one_out: OddOneOut,
    pub train_words_per_second: f64,
    pub latency: Latency,
    /// With `--compare`: the compatibility mode on the same split (absent when the evaluated
    /// model is the compatibility mode itself).
    pub compat: Option<Retrieval>,
    /// With `--compare`: TF-IDF alone on the same split.
    pub lexical: Option<Retrieval>,
    /// With `--sweep`: (title weight, cosine weight, retrieval) of the default engine.
    pub sweep: Vec<(f32, f32, Retrieval)>,
    pub seconds: f64,
}

/// Per-query times in milliseconds, measured one query at a time.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    /// Infer a vector for a held-out document's full text and find its top 10.
    pub infer_median_ms: f64,
    pub infer_p95_ms: f64,
    /// Top 10 for a known document.
    pub similar_median_ms: f64,
}

impl Latency {
    fn of(infer: &mut [f64], similar: &mut [f64]) -> Latency {
        Latency {
            infer_median_ms: quantile(infer, 0.5),
            infer_p95_ms: quantile(infer, 0.95),
            similar_median_ms: quantile(similar, 0.5),
        }
    }
}

fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

pub async fn run(opts: Opts, cfg: &AppConfig) -> anyhow::Result<()> {
    let store = Store::connect(cfg.database_url(), 2)
        .await
        .context("connecting to DATABASE_URL")?;
    store.migrate().await.context("applying migrations")?;
    let result = evaluate(&store, &opts).await?;
    store.close().await;
    if opts.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        print_table(&result);
    }
    Ok(())
}

/// The held-out queries of a split: (identifier, text), and what each cites among the
/// training documents.
struct Queries {
    texts: Vec<(i64, String)>,
    relevant: HashMap<i64, HashSet<i64>>,
}

impl Queries {
    fn judged(&self, ranked: Vec<(i64, Vec<i64>)>) -> Retrieval {
        let judged: Vec<(Vec<i64>, HashSet<i64>)> = ranked
            .into_iter()
            .map(|(id, r)| (r, self.relevant[&id].clone()))
            .collect();
        eval::retrieval(&judged, 10)
    }
}

/// Trains `config` on `train` (no map: only the vectors are scored).
async fn train(
    train: &std::sync::Arc<TrainingSet>,
    config: ModelConfig,
    threads: usize,
    backend: Backend,
) -> anyhow::Result<(Doc2Vec, super::train::TrainStats)> {
    let set = std::sync::Arc::clone(train);
    tokio::task::spawn_blocking(move || train_vectors_with(&set, config, threads, true, backend))
        .await?
}

/// Runs the evaluation on the collection in `store` (used by the CLI and the tests).
pub async fn evaluate(store: &Store, opts: &Opts) -> anyhow::Result<Evaluation> {
    let started = Instant::now();
    let all = collection(store).await?;
    let authors = store.authorships().await?;
    let departments = store.department_links().await?;
    let query_part = match opts.split {
        SplitArg::Validation => Part::Validation,
        SplitArg::Test => Part::Test,
    };
    let seed = opts.split_seed;
    let held_out = |id: i64| match eval::part_of(id, seed) {
        Part::Test => true,
        Part::Validation => query_part == Part::Validation,
        Part::Train => false,
    };
    // The held-out documents take no part in training: not their texts, not their titles,
    // not the citations they make or receive.
    let training = std::sync::Arc::new(all.only(|id| !held_out(id)));
    let query_texts: Vec<(i64, String)> = all
        .texts
        .iter()
        .filter(|(id, _)| eval::part_of(*id, seed) == query_part)
        .map(|(id, text)| {
            let text = if opts.no_references {
                crate::ingest::references::without_references(text)
            } else {
                text.clone()
            };
            (*id, text)
        })
        .collect();
    if training.texts.is_empty() || query_texts.is_empty() {
        bail!(
            "the collection is too small to hold documents out ({} to train on, {} to query)",
            training.texts.len(),
            query_texts.len()
        );
    }
    let trained: HashSet<i64> = training.texts.iter().map(|(id, _)| *id).collect();
    let mut cites: HashMap<i64, HashSet<i64>> = HashMap::new();
    for &(from, to) in &all.links {
        if trained.contains(&to) {
            cites.entry(from).or_default().insert(to);
        }
    }
    let queries = Queries {
        relevant: query_texts
            .iter()
            .map(|(id, _)| (*id, cites.remove(id).unwrap_or_default()))
            .collect(),
        texts: query_texts,
    };

    let config = opts.model.config();
    let threads = opts.model.threads();
    let backend = if opts.batched {
        Backend::batched_cpu()
    } else {
        Backend::Cpu
    };
    let (model, stats) = train(&training, config, threads, backend).await?;
    let model = model.with_precision(opts.weights);

    // Queries run one at a time so their latencies compare with gensim's infer_vector.
    let (ranked, latency) = tokio::task::block_in_place(|| {
        let mut infer_ms = Vec::with_capacity(queries.texts.len());
        let mut similar_ms = Vec::with_capacity(queries.texts.len());
        let mut ranked = Vec::with_capacity(queries.texts.len());
        for (id, text) in &queries.texts {
            let t0 = Instant::now();
            let hits = model.similar_to_text(text, 10, -1.0);
            infer_ms.push(t0.elapsed().as_secs_f64() * 1e3);
            ranked.push((*id, hits.iter().map(|s| s.identifier).collect::<Vec<_>>()));
        }
        for &id in model.doc_ids().iter().take(1000) {
            let t0 = Instant::now();
            let _ = model.similar_to_document(id, 10, -1.0);
            similar_ms.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        (ranked, Latency::of(&mut infer_ms, &mut similar_ms))
    });
    let retrieval = queries.judged(ranked);
    let sweep = if opts.sweep && model.is_engine() {
        tokio::task::block_in_place(|| sweep_weights(&model, &queries))
    } else {
        Vec::new()
    };

    let (compat, lexical) = if opts.compare {
        let compat = if config.is_engine() {
            let compat_config = ModelConfig {
                seed: config.seed,
                ..ModelConfig::compat()
            };
            let (m, _) = train(&training, compat_config, threads, backend).await?;
            let m = m.with_precision(opts.weights);
            Some(tokio::task::block_in_place(|| {
                queries.judged(
                    queries
                        .texts
                        .iter()
                        .map(|(id, text)| {
                            let hits = m.similar_to_text(text, 10, -1.0);
                            (*id, hits.iter().map(|s| s.identifier).collect())
                        })
                        .collect(),
                )
            }))
        } else {
            None
        };
        let lexical = tokio::task::block_in_place(|| lexical_alone(&training.texts, &queries));
        (compat, Some(lexical))
    } else {
        (None, None)
    };

    let mut groups: HashMap<i64, Vec<i64>> = HashMap::new();
    for (doc, person) in &authors {
        groups.entry(*person).or_default().push(doc.0);
    }
    let mut odd = eval::odd_one_out(&model, &groups, opts.triples, seed);
    if odd.triples < opts.triples / 2 {
        // Too few shared authors: fall back to departments, as the issue allows.
        let mut by_dept: HashMap<i64, Vec<i64>> = HashMap::new();
        for (doc, dept) in &departments {
            by_dept.entry(*dept).or_default().push(doc.0);
        }
        odd = eval::odd_one_out(&model, &by_dept, opts.triples, seed);
    }
    Ok(Evaluation {
        model: super::train::describe(&config),
        split: format!("{:?}", query_part).to_lowercase(),
        no_references: opts.no_references,
        train_documents: training.texts.len(),
        retrieval,
        odd_one_out: odd,
        train_words_per_second: stats.words_per_second(),
        latency,
        compat,
        lexical,
        sweep,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// TF-IDF alone (`--compare`).
fn lexical_alone(train: &[(i64, String)], queries: &Queries) -> Retrieval {
    use crate::model::lexical::Lexical;
    let index = Lexical::build(train, 2);
    queries.judged(
        queries
            .texts
            .iter()
            .map(|(id, text)| {
                let hits = index.search(text, 10);
                (*id, hits.into_iter().map(|(d, _)| d).collect())
            })
            .collect(),
    )
}

/// The title and cosine weights `--sweep` tries.
const TITLE_WEIGHTS: [f32; 5] = [0.0, 0.1, 0.3, 0.5, 1.0];
const COSINE_WEIGHTS: [f32; 3] = [0.0, 0.1, 0.3];

/// The default engine's retrieval with other weights of its terms, from the same parts.
fn sweep_weights(model: &Doc2Vec, queries: &Queries) -> Vec<(f32, f32, Retrieval)> {
    let ids = model.doc_ids();
    let mut ranked: Vec<Vec<(i64, Vec<i64>)>> = vec![Vec::new(); TITLE_WEIGHTS.len() * 3];
    for (id, text) in &queries.texts {
        let q = model.infer_vector(text);
        let (_, parts) = model.engine_text_scores(text, &q);
        for (a, &wt) in TITLE_WEIGHTS.iter().enumerate() {
            for (b, &wc) in COSINE_WEIGHTS.iter().enumerate() {
                let scores: Vec<f32> = parts
                    .iter()
                    .map(|p| p.citation + wt * p.title + wc * p.cosine)
                    .collect();
                let top = crate::model::lexical::top(&scores, 10)
                    .into_iter()
                    .map(|(i, _)| ids[i])
                    .collect();
                ranked[a * 3 + b].push((*id, top));
            }
        }
    }
    let mut out = Vec::new();
    for (a, &wt) in TITLE_WEIGHTS.iter().enumerate() {
        for (b, &wc) in COSINE_WEIGHTS.iter().enumerate() {
            out.push((
                wt,
                wc,
                queries.judged(std::mem::take(&mut ranked[a * 3 + b])),
            ));
        }
    }
    out
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
    if e.lexical.is_some() || !e.sweep.is_empty() {
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
    for (wt, wc, r) in &e.sweep {
        row(&format!("engine, title weight {wt:.1}, cosine {wc:.1}"), r);
    }
    println!("{:<28} {:>8.1}", "seconds in all", e.seconds);
}
