//! `hamlet evaluate`: trains on the collection without its held-out documents, then scores the
//! model: citation retrieval of the held-out documents (queried by full text) and the original
//! Hamlet's odd-one-out triples. See `model::eval` for the definitions.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use anyhow::{bail, Context};
use serde::Serialize;

use super::model_opts::ModelOpts;
use super::train::{collection_texts, train_vectors};
use crate::config::AppConfig;
use crate::model::eval::{self, OddOneOut, Part, Retrieval};
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
    /// Also score the lexical baseline (TF-IDF) and hybrids of it with the model.
    #[arg(long)]
    pub lexical: bool,
    /// Query with the word and output tables kept at this precision (f32, f16 or i8), as the
    /// server keeps them with HAMLET_MODEL_WEIGHTS.
    #[arg(long, default_value = "f32")]
    pub weights: crate::model::weights::Precision,
}

/// (identifier, text) pairs.
type Texts = Vec<(i64, String)>;

/// Everything `hamlet evaluate` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub mode: String,
    pub split: String,
    pub train_documents: usize,
    pub retrieval: Retrieval,
    pub odd_one_out: OddOneOut,
    pub train_words_per_second: f64,
    pub latency: Latency,
    /// With `--lexical`: TF-IDF alone on the same split.
    pub lexical: Option<Retrieval>,
    /// With `--lexical`: the model's and TF-IDF's cosines fused as
    /// `w * z(tfidf) + (1 - w) * z(model)` (z: standardised over the collection per query),
    /// for w = 0.0, 0.1, ..., 1.0.
    pub hybrid: Vec<(f64, Retrieval)>,
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

/// Runs the evaluation on the collection in `store` (used by the CLI and the tests).
pub async fn evaluate(store: &Store, opts: &Opts) -> anyhow::Result<Evaluation> {
    let started = Instant::now();
    let texts = collection_texts(store).await?;
    let links = store.citation_links().await?;
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
    let (train, queries): (Texts, Texts) = texts.into_iter().partition(|(id, _)| !held_out(*id));
    let queries: Vec<(i64, String)> = queries
        .into_iter()
        .filter(|(id, _)| eval::part_of(*id, seed) == query_part)
        .collect();
    if train.is_empty() || queries.is_empty() {
        bail!(
            "the collection is too small to hold documents out ({} to train on, {} to query)",
            train.len(),
            queries.len()
        );
    }
    let config = opts.model.config();
    let threads = opts.model.threads();
    let train_documents = train.len();
    let train_texts = std::sync::Arc::new(train);
    let for_training = std::sync::Arc::clone(&train_texts);
    let (model, stats) =
        tokio::task::spawn_blocking(move || train_vectors(&for_training, config, threads, true))
            .await??;
    let model = model.with_precision(opts.weights);

    let mut cites: HashMap<i64, HashSet<i64>> = HashMap::new();
    for (from, to) in links {
        if model.contains(to.0) {
            cites.entry(from.0).or_default().insert(to.0);
        }
    }
    // Queries run one at a time so their latencies compare with gensim's infer_vector.
    let (ranked, latency) = {
        let model = &model;
        let queries = &queries;
        tokio::task::block_in_place(|| {
            let mut infer_ms = Vec::with_capacity(queries.len());
            let mut similar_ms = Vec::with_capacity(queries.len());
            let mut ranked = Vec::with_capacity(queries.len());
            for (id, text) in queries {
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
        })
    };
    let relevant: HashMap<i64, HashSet<i64>> = queries
        .iter()
        .map(|(id, _)| (*id, cites.remove(id).unwrap_or_default()))
        .collect();
    let judged: Vec<(Vec<i64>, HashSet<i64>)> = ranked
        .into_iter()
        .map(|(id, r)| (r, relevant[&id].clone()))
        .collect();
    let retrieval = eval::retrieval(&judged, 10);
    let (lexical, hybrid) = if opts.lexical {
        let (lexical, hybrid) = tokio::task::block_in_place(|| {
            lexical_and_hybrid(&model, &train_texts, &queries, &relevant)
        });
        (Some(lexical), hybrid)
    } else {
        (None, Vec::new())
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
        mode: format!("{:?}", config.mode).to_lowercase(),
        split: format!("{:?}", query_part).to_lowercase(),
        train_documents,
        retrieval,
        odd_one_out: odd,
        train_words_per_second: stats.words_per_second(),
        latency,
        lexical,
        hybrid,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// TF-IDF alone, and fused with the model, on the same queries (`--lexical`).
fn lexical_and_hybrid(
    model: &crate::model::Doc2Vec,
    train: &[(i64, String)],
    queries: &[(i64, String)],
    relevant: &HashMap<i64, HashSet<i64>>,
) -> (Retrieval, Vec<(f64, Retrieval)>) {
    use crate::model::lexical::{top, Lexical};
    let index = Lexical::build(train, 2);
    let ids = index.doc_ids();
    let weights: Vec<f64> = (0..=10).map(|i| i as f64 / 10.0).collect();
    let mut lexical_judged = Vec::with_capacity(queries.len());
    let mut fused_judged: Vec<Vec<(Vec<i64>, HashSet<i64>)>> = vec![Vec::new(); weights.len()];
    for (id, text) in queries {
        let wanted = relevant[id].clone();
        let lex = index.scores(text);
        let ranked = |scores: &[f32]| -> Vec<i64> {
            top(scores, 10).into_iter().map(|(i, _)| ids[i]).collect()
        };
        lexical_judged.push((ranked(&lex), wanted.clone()));
        // The model's cosine for every indexed document, in the index's order.
        let v = model.infer_vector(text);
        let all: HashMap<i64, f32> = model
            .similar_to_vector(&v, ids.len(), -1.0, None)
            .into_iter()
            .map(|s| (s.identifier, s.score))
            .collect();
        let neural: Vec<f32> = ids
            .iter()
            .map(|d| all.get(d).copied().unwrap_or(-1.0))
            .collect();
        let (zl, zn) = (standardised(&lex), standardised(&neural));
        for (w, judged) in weights.iter().zip(fused_judged.iter_mut()) {
            let w = *w as f32;
            let fused: Vec<f32> = zl
                .iter()
                .zip(&zn)
                .map(|(l, n)| w * l + (1.0 - w) * n)
                .collect();
            judged.push((ranked(&fused), wanted.clone()));
        }
    }
    (
        eval::retrieval(&lexical_judged, 10),
        weights
            .into_iter()
            .zip(fused_judged.iter().map(|j| eval::retrieval(j, 10)))
            .collect(),
    )
}

/// `v` shifted and scaled to mean 0 and standard deviation 1 (unchanged if constant).
fn standardised(v: &[f32]) -> Vec<f32> {
    let n = v.len().max(1) as f64;
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let sd = (v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
    let sd = if sd > 0.0 { sd } else { 1.0 };
    v.iter().map(|&x| ((x as f64 - mean) / sd) as f32).collect()
}

fn print_table(e: &Evaluation) {
    println!(
        "model {} trained on {} documents; {} split: {} queries",
        e.mode, e.train_documents, e.split, e.retrieval.queries
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
    if let Some(lexical) = &e.lexical {
        println!();
        println!(
            "{:<34} {:>8} {:>10} {:>8}",
            "engine, same split", "hit@10", "recall@10", "MRR@10"
        );
        let row = |name: &str, r: &Retrieval| {
            println!(
                "{:<34} {:>8.3} {:>10.3} {:>8.3}",
                name, r.hit_at_10, r.recall_at_10, r.mrr_at_10
            );
        };
        row(&format!("model ({})", e.mode), &e.retrieval);
        row("lexical (TF-IDF)", lexical);
        for (w, r) in &e.hybrid {
            row(&format!("hybrid, TF-IDF weight {w:.1}"), r);
        }
    }
    println!("{:<28} {:>8.1}", "seconds in all", e.seconds);
}
