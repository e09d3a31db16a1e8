//! `hamlet evaluate`: trains on the collection without its held-out documents, then scores the
//! model: citation retrieval of the held-out documents (queried by full text) and the original
//! Hamlet's odd-one-out triples. See `model::eval` for the definitions.
//!
//! `--compare` adds, on the same split and queries, the compatibility mode (the original's
//! PV-DM, trained the same way) and the lexical baseline (TF-IDF alone), printed as one table;
//! `--sweep` scores the default engine with other weights of its title and cosine terms, from
//! the same inferred vectors (tune on `--split validation`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use serde::Serialize;

use super::progress::Progress;
use super::train::{collection, Plan, TrainStats};
use crate::model::eval::{self, OddOneOut, Part, Retrieval};
use crate::model::io::weights::Precision;
use crate::model::links::popularity;
use crate::model::query::{Answer, Query};
use crate::model::text::lexical::{Bm25, Lexical};
use crate::model::text::mentions::IdForm;
use crate::model::train::batched::Backend;
use crate::model::train::TrainingSet;
use crate::model::{Doc2Vec, ModelConfig};
use crate::store::Store;

/// Which held-out documents are queried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Tune here: trains without the validation and test documents, queries validation.
    Validation,
    /// Report once: trains without the test documents, queries test.
    Test,
    /// Learn here: trains without the validation and test documents and one of the
    /// `eval::FOLDS` parts of the training documents (`eval::in_fold`), queries that part.
    Fold(u8),
}

impl Split {
    /// As the table and the JSON name it: "validation", "test", "fold 0".
    pub fn name(&self) -> String {
        match self {
            Split::Validation => "validation".into(),
            Split::Test => "test".into(),
            Split::Fold(k) => format!("fold {k}"),
        }
    }
}

/// What to evaluate and how (`cli::evaluate` documents each as a flag).
#[derive(Debug, Clone)]
pub struct Options {
    pub config: ModelConfig,
    pub threads: usize,
    pub split: Split,
    /// Seed of the fixed split (5% test, 5% validation).
    pub split_seed: u64,
    /// Odd-one-out triples to score.
    pub triples: usize,
    /// Also the compatibility mode and TF-IDF on the same split.
    pub compare: bool,
    /// Also other weights of the default engine's title and cosine terms.
    pub sweep: bool,
    /// Search the weights of the engine's terms and of candidate terms (`search_weights`).
    pub search: bool,
    /// Queries without their reference sections.
    pub no_references: bool,
    /// The batched tensor trainer on the CPU instead of Hogwild.
    pub batched: bool,
    /// The precision the word and output tables are queried at.
    pub weights: Precision,
    /// Train as if the collection had no citation links.
    pub no_graph: bool,
    /// Documents nearly everything cites, left out of judgements and rankings.
    pub boilerplate: Vec<i64>,
    /// How the "missing" protocol finds mentions of the hidden half.
    pub mention_form: IdForm,
    /// Keep trained models here and reuse them.
    pub cache: Option<std::path::PathBuf>,
    /// Write the views' candidates, features and judgements here (`Protocol::dump`).
    pub dump: Option<std::path::PathBuf>,
}

impl Options {
    /// The defaults of `hamlet evaluate` for `config`.
    pub fn new(config: ModelConfig, threads: usize) -> Options {
        Options {
            config,
            threads,
            split: Split::Test,
            split_seed: 1,
            triples: 2000,
            compare: false,
            sweep: false,
            search: false,
            no_references: false,
            batched: false,
            weights: Precision::F32,
            no_graph: false,
            boilerplate: vec![2119, 8174],
            mention_form: IdForm::Rfc,
            cache: None,
            dump: None,
        }
    }
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
    /// Whether training saw no citation links (`--no-graph`).
    pub no_graph: bool,
    /// The views of [missing] (issue 21): the engine, TF-IDF and BM25 on the same queries.
    pub views: Vec<View>,
    /// With `--sweep`: the expansion term's weight and mix on the "missing" view.
    pub missing_sweep: Vec<(String, Retrieval)>,
    pub seconds: f64,
}

/// One way of asking, scored for every system on the same queries.
#[derive(Debug, Clone, Serialize)]
pub struct View {
    /// "cited", "cited, no references", "missing", "missing, no references".
    pub name: String,
    pub engine: Retrieval,
    pub tfidf: Retrieval,
    pub bm25: Retrieval,
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
    train: &Arc<TrainingSet>,
    config: ModelConfig,
    threads: usize,
    backend: Backend,
    progress: &Arc<dyn Progress>,
) -> anyhow::Result<(Doc2Vec, TrainStats)> {
    let set = Arc::clone(train);
    let progress = Arc::clone(progress);
    let plan = Plan {
        config,
        threads,
        backend,
        map: false,
    };
    tokio::task::spawn_blocking(move || super::train::train(&set, plan, &*progress)).await?
}

/// Runs the evaluation on the collection in `store`, reporting training to `progress`.
pub async fn evaluate(
    store: &Store,
    opts: &Options,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<Evaluation> {
    let started = Instant::now();
    let all = collection(store).await?;
    let authors = store.authorships().await?;
    let departments = store.department_links().await?;
    let seed = opts.split_seed;
    let queried = |id: i64| match (opts.split, eval::part_of(id, seed)) {
        (Split::Validation, Part::Validation) | (Split::Test, Part::Test) => true,
        (Split::Fold(k), Part::Train) => eval::in_fold(id, seed, k),
        _ => false,
    };
    let held_out = |id: i64| match eval::part_of(id, seed) {
        Part::Test => true,
        Part::Validation => opts.split != Split::Test,
        Part::Train => match opts.split {
            Split::Fold(k) => eval::in_fold(id, seed, k),
            _ => false,
        },
    };
    // The held-out documents take no part in training: not their texts, not their titles,
    // not the citations they make or receive.
    let mut training = all.only(|id| !held_out(id));
    if opts.no_graph {
        training.links.clear();
    }
    let training = Arc::new(training);
    let query_texts: Vec<(i64, String)> = all
        .texts
        .iter()
        .filter(|(id, _)| queried(*id))
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

    let config = opts.config;
    let threads = opts.threads;
    let backend = if opts.batched {
        Backend::batched_cpu()
    } else {
        Backend::Cpu
    };
    let (model, stats) = match &opts.cache {
        Some(dir) => {
            cached_train(dir, opts, &training, config, threads, backend, &progress).await?
        }
        None => train(&training, config, threads, backend, &progress).await?,
    };
    let model = model.with_precision(opts.weights);

    // Queries run one at a time so their latencies compare with gensim's infer_vector.
    let (ranked, latency) = tokio::task::block_in_place(|| {
        let mut infer_ms = Vec::with_capacity(queries.texts.len());
        let mut similar_ms = Vec::with_capacity(queries.texts.len());
        let mut ranked = Vec::with_capacity(queries.texts.len());
        for (id, text) in &queries.texts {
            let t0 = Instant::now();
            // By score: this view judges every document the text cites, named ones included.
            let hits = rank_model(&model, text, 10, false);
            infer_ms.push(t0.elapsed().as_secs_f64() * 1e3);
            ranked.push((*id, hits));
        }
        for &id in model.doc_ids().iter().take(1000) {
            let t0 = Instant::now();
            let _ = model.query(Query::Document(id), 10, -1.0);
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
            let (m, _) = train(&training, compat_config, threads, backend, &progress).await?;
            let m = m.with_precision(opts.weights);
            Some(tokio::task::block_in_place(|| {
                queries.judged(
                    queries
                        .texts
                        .iter()
                        .map(|(id, text)| {
                            let hits = m
                                .query(Query::Text(text), 10, -1.0)
                                .map(Answer::similar)
                                .unwrap_or_default();
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

    let protocol = Protocol::new(&all, &queries, &trained, opts);
    let (views, missing_sweep) = tokio::task::block_in_place(|| -> anyhow::Result<_> {
        let tfidf = crate::model::text::lexical::Lexical::build(&training.texts, 2);
        let bm25 = crate::model::text::lexical::Bm25::build(&training.texts);
        let views = protocol.views(&model, &tfidf, &bm25);
        let mut sweep = if opts.sweep && model.is_engine() {
            protocol.sweep_missing(&model)
        } else {
            Vec::new()
        };
        if opts.search && model.is_engine() {
            sweep.extend(protocol.search_weights(&model, (&tfidf, &bm25)));
        }
        if let (Some(path), true) = (&opts.dump, model.is_engine()) {
            protocol.dump(&model, (&tfidf, &bm25), path)?;
        }
        Ok((views, sweep))
    })?;

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
        split: opts.split.name(),
        no_references: opts.no_references,
        train_documents: training.texts.len(),
        retrieval,
        odd_one_out: odd,
        train_words_per_second: stats.words_per_second(),
        latency,
        compat,
        lexical,
        sweep,
        no_graph: opts.no_graph,
        views,
        missing_sweep,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Changes when training changes in a way the settings do not show, so that older cached
/// models are not reused.
const CACHE_VERSION: u32 = 3;

/// Trains, or loads the model an earlier run with the same settings kept in `dir`.
async fn cached_train(
    dir: &std::path::Path,
    opts: &Options,
    training: &std::sync::Arc<TrainingSet>,
    config: ModelConfig,
    threads: usize,
    backend: Backend,
    progress: &Arc<dyn Progress>,
) -> anyhow::Result<(Doc2Vec, TrainStats)> {
    use sha2::{Digest, Sha256};
    // Scoring settings do not change what is trained: one cached model serves them all.
    let trained_as = ModelConfig {
        title_weight: ModelConfig::engine().title_weight,
        cosine_weight: ModelConfig::engine().cosine_weight,
        expand_weight: 0.0,
        cocite_weight: 0.0,
        neighbour_weight: 0.0,
        coupled_weight: 0.0,
        rerank: false,
        infer_epochs: 0,
        infer_words: 0,
        ..config
    };
    let mut key = Sha256::new();
    key.update(serde_json::to_vec(&trained_as)?);
    key.update(format!(
        "{} {:?} {} {} {} {}",
        CACHE_VERSION,
        opts.split,
        opts.split_seed,
        opts.no_graph,
        training.texts.len(),
        training.links.len()
    ));
    let name = format!("eval-{}.safetensors", &hex::encode(key.finalize())[..16]);
    let path = dir.join(name);
    if path.exists() {
        let model = crate::model::io::file::load(&path)
            .with_context(|| format!("loading the cached model {}", path.display()))?
            .with_scoring(&config);
        eprintln!("evaluate: reusing {}", path.display());
        let stats = TrainStats {
            documents: model.doc_ids().len(),
            vocab: model.vocab().len(),
            words: 0,
            prepare_seconds: 0.0,
            train_seconds: 0.0,
            layout_seconds: 0.0,
        };
        return Ok((model, stats));
    }
    let (model, stats) = train(training, config, threads, backend, progress).await?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    crate::model::io::file::save(&model, &path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok((model, stats))
}

/// The "missing" protocol of [missing] (issue 21), and the plain "cited" view beside it, over
/// the held-out queries: for each query with at least two cited documents (boilerplate left
/// out), a visible and a hidden half (`eval::halves`); the query text loses every trace of the
/// hidden half (its reference entries and identifier mentions); rankings lose the visible half
/// and the boilerplate; the top 10 are scored against the hidden half.
struct Protocol<'a> {
    queries: &'a Queries,
    boilerplate: HashSet<i64>,
    /// Per query that has one: (visible, hidden, the text without the hidden half).
    missing: HashMap<i64, (HashSet<i64>, HashSet<i64>, String)>,
}

impl<'a> Protocol<'a> {
    fn new(
        all: &TrainingSet,
        queries: &'a Queries,
        trained: &HashSet<i64>,
        opts: &Options,
    ) -> Protocol<'a> {
        let form = opts.mention_form;
        let boilerplate: HashSet<i64> = opts.boilerplate.iter().copied().collect();
        let titles: HashMap<i64, &str> = all
            .titles
            .iter()
            .filter(|(id, _)| trained.contains(id))
            .map(|(id, t)| (*id, t.as_str()))
            .collect();
        let full: HashMap<i64, &str> = all.texts.iter().map(|(id, t)| (*id, t.as_str())).collect();
        let mut missing = HashMap::new();
        for (id, _) in &queries.texts {
            let cited: HashSet<i64> = queries.relevant[id]
                .difference(&boilerplate)
                .copied()
                .collect();
            if let Some((visible, hidden)) = eval::halves(*id, &cited, opts.split_seed) {
                let text = hide(full[id], &hidden, &titles, form);
                missing.insert(*id, (visible, hidden, text));
            }
        }
        Protocol {
            queries,
            boilerplate,
            missing,
        }
    }

    /// Every view for every system.
    fn views(&self, model: &Doc2Vec, tfidf: &Lexical, bm25: &Bm25) -> Vec<View> {
        let strip = crate::ingest::references::without_references;
        let systems: [&Ranker; 3] = [
            &|text, k, new_first| rank_model(model, text, k, new_first),
            &|text, k, _| tfidf.search(text, k).into_iter().map(|(d, _)| d).collect(),
            &|text, k, _| bm25.search(text, k).into_iter().map(|(d, _)| d).collect(),
        ];
        let mut views = Vec::new();
        for (name, missing, no_refs) in [
            ("cited", false, false),
            ("cited, no references", false, true),
            ("missing", true, false),
            ("missing, no references", true, true),
        ] {
            let mut scored = [Retrieval::default(); 3];
            for (s, system) in systems.iter().enumerate() {
                let mut judged = Vec::new();
                for (id, text) in &self.queries.texts {
                    let (known, relevant, text): (HashSet<i64>, HashSet<i64>, &str) = if missing {
                        let Some((visible, hidden, hidden_text)) = self.missing.get(id) else {
                            continue;
                        };
                        (
                            visible.union(&self.boilerplate).copied().collect(),
                            hidden.clone(),
                            hidden_text,
                        )
                    } else {
                        (
                            self.boilerplate.clone(),
                            self.queries.relevant[id]
                                .difference(&self.boilerplate)
                                .copied()
                                .collect(),
                            text,
                        )
                    };
                    let text = if no_refs {
                        std::borrow::Cow::Owned(strip(text))
                    } else {
                        std::borrow::Cow::Borrowed(text)
                    };
                    let ranked = system(&text, 10 + known.len(), missing);
                    judged.push((eval::unknown_only(&ranked, &known, 10), relevant));
                }
                scored[s] = eval::retrieval(&judged, 10);
            }
            views.push(View {
                name: name.to_string(),
                engine: scored[0],
                tfidf: scored[1],
                bm25: scored[2],
            });
        }
        views
    }

    /// The expansion term's weight and mix on the "missing" view, from one inference a query.
    fn sweep_missing(&self, model: &Doc2Vec) -> Vec<(String, Retrieval)> {
        use crate::model::query::{Parts, Weights};
        const WEIGHTS: [f32; 4] = [0.0, 0.25, 0.5, 1.0];
        const MIXES: [(&str, [f32; 8]); 6] = [
            ("cites, mean", [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
            ("cites, any", [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]),
            ("cited by, any", [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0]),
            ("cosine, max", [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]),
            ("co-cited, max", [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]),
            ("all any", [0.0, 0.0, 0.0, 0.0, 0.3, 0.3, 0.1, 0.3]),
        ];
        const TITLE_WEIGHTS: [f32; 3] = [0.0, 0.3, 1.0];
        type Variant = (String, Weights, [f32; 8], Vec<(Vec<i64>, HashSet<i64>)>);
        let mut variants: Vec<Variant> = Vec::new();
        let base = Weights::of(model.config());
        for &title in &TITLE_WEIGHTS {
            for &w in &WEIGHTS {
                for (mix_name, mix) in MIXES {
                    if w == 0.0 && mix_name != "cites, mean" {
                        continue;
                    }
                    let name = if w == 0.0 {
                        format!("title {title:.1}, no expansion")
                    } else {
                        format!("title {title:.1}, expansion {w:.2} ({mix_name})")
                    };
                    let weights = Weights {
                        title,
                        expansion: w,
                        ..base
                    };
                    variants.push((name, weights, mix, Vec::new()));
                }
            }
        }
        // The link terms' weights (co-citation, what the nearest documents cite, what the
        // documents citing what the text cites also cite), with the default title and
        // expansion.
        for (co, nb, cp) in [
            (0.0f32, 0.0f32, 0.0f32),
            (1.0, 0.0, 0.0),
            (0.0, 0.5, 0.0),
            (0.0, 0.0, 1.0),
            (1.0, 0.5, 0.0),
            (1.0, 1.0, 0.0),
            (2.0, 1.0, 0.0),
            (1.0, 0.5, 0.5),
            (1.0, 0.5, 1.0),
            (1.0, 0.5, 1.5),
            (0.5, 0.5, 1.0),
            (1.0, 0.0, 1.0),
        ] {
            let weights = Weights {
                cocite: co,
                neighbours: nb,
                coupled: cp,
                ..base
            };
            variants.push((
                format!("links: co-cited {co:.1}, neighbours {nb:.1}, coupled {cp:.1}"),
                weights,
                MIXES[0].1,
                Vec::new(),
            ));
        }
        // The same, ranked by score alone: the documents the text cites are not put last
        // (the visible half is dropped either way).
        let more: Vec<Variant> = variants
            .iter()
            .map(|(name, w, mix, _)| (format!("by score: {name}"), *w, *mix, Vec::new()))
            .collect();
        variants.extend(more);
        let ids = model.doc_ids();
        let (mut hidden_named, mut hidden_all) = (0usize, 0usize);
        for (id, _) in &self.queries.texts {
            let Some((visible, hidden, text)) = self.missing.get(id) else {
                continue;
            };
            let known: HashSet<i64> = visible.union(&self.boilerplate).copied().collect();
            let words = model.vocab().indices(text);
            let (_, parts, named, _) = model.engine_text(text, &words, true);
            let names: HashSet<i64> = named.docs.iter().map(|&d| ids[d]).collect();
            hidden_named += hidden.intersection(&names).count();
            hidden_all += hidden.len();
            let cites: HashSet<usize> = named.cites.iter().copied().collect();
            let none = HashSet::new();
            for (name, weights, mix, judged) in variants.iter_mut() {
                let names = if name.starts_with("by score: ") {
                    &none
                } else {
                    &cites
                };
                let named = &named;
                let scores: Vec<f32> = parts
                    .iter()
                    .enumerate()
                    .map(|(d, p)| {
                        let expansion = crate::model::query::mixed(named, d, mix);
                        let s = weights.score(&Parts { expansion, ..*p });
                        // What the text cites last, as the API orders them.
                        if names.contains(&d) {
                            s - 10.0
                        } else {
                            s
                        }
                    })
                    .collect();
                let ranked: Vec<i64> = crate::model::text::lexical::top(&scores, 10 + known.len())
                    .into_iter()
                    .map(|(i, _)| ids[i])
                    .collect();
                judged.push((eval::unknown_only(&ranked, &known, 10), hidden.clone()));
            }
        }
        eprintln!(
            "evaluate: {hidden_named} of {hidden_all} hidden citations are still named by the query text (by title)"
        );
        // The link terms' weights on the plain "cited" view too (full texts, by score), which
        // they must not cost.
        let links: Vec<(String, Weights)> = variants
            .iter()
            .filter(|(name, ..)| name.starts_with("links: "))
            .map(|(name, w, ..)| (format!("cited, {name}"), *w))
            .collect();
        let mut cited: Vec<Vec<(Vec<i64>, HashSet<i64>)>> = vec![Vec::new(); links.len()];
        for (id, text) in &self.queries.texts {
            let relevant: HashSet<i64> = self.queries.relevant[id]
                .difference(&self.boilerplate)
                .copied()
                .collect();
            let words = model.vocab().indices(text);
            let (_, parts, named, _) = model.engine_text(text, &words, true);
            for ((_, weights), judged) in links.iter().zip(cited.iter_mut()) {
                let scores: Vec<f32> = parts
                    .iter()
                    .enumerate()
                    .map(|(d, p)| {
                        let expansion =
                            crate::model::query::mixed(&named, d, &crate::model::query::EXPAND_MIX);
                        weights.score(&Parts { expansion, ..*p })
                    })
                    .collect();
                let ranked: Vec<i64> =
                    crate::model::text::lexical::top(&scores, 10 + self.boilerplate.len())
                        .into_iter()
                        .map(|(i, _)| ids[i])
                        .collect();
                judged.push((
                    eval::unknown_only(&ranked, &self.boilerplate, 10),
                    relevant.clone(),
                ));
            }
        }
        variants
            .into_iter()
            .map(|(name, _, _, judged)| (name, eval::retrieval(&judged, 10)))
            .chain(
                links
                    .into_iter()
                    .zip(cited)
                    .map(|((name, _), judged)| (name, eval::retrieval(&judged, 10))),
            )
            .collect()
    }
}

/// A system's ranking of the collection for a text: (text, how many, new first) -> identifiers.
type Ranker<'r> = dyn Fn(&str, usize, bool) -> Vec<i64> + 'r;

/// The model's ranking of the collection for a text: by score, or new first (the documents the
/// text names after the others, as the API and the pages order them).
fn rank_model(model: &Doc2Vec, text: &str, k: usize, new_first: bool) -> Vec<i64> {
    if !model.is_engine() {
        return model
            .query(Query::Text(text), k, -1.0)
            .map(Answer::similar)
            .unwrap_or_default()
            .iter()
            .map(|s| s.identifier)
            .collect();
    }
    if new_first {
        return model
            .query(Query::Text(text), k, -1.0)
            .map(|a| a.matches)
            .unwrap_or_default()
            .iter()
            .map(|m| m.similar.identifier)
            .collect();
    }
    let words = model.vocab().indices(text);
    let (scores, parts, named, _) = model.engine_text(text, &words, false);
    let ids = model.doc_ids();
    model
        .ranked_text(&words, &scores, &parts, &named, k)
        .into_iter()
        .take(k)
        .map(|(i, _)| ids[i])
        .collect()
}

/// `text` without any trace of the documents in `hidden`: the reference entries that name them
/// (by identifier in `form`, or by a title of three words or more) and every mention of their
/// identifiers.
fn hide(text: &str, hidden: &HashSet<i64>, titles: &HashMap<i64, &str>, form: IdForm) -> String {
    let normal = |s: &str| -> String {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let hidden_titles: Vec<String> = hidden
        .iter()
        .filter_map(|id| titles.get(id))
        .filter(|t| t.split_whitespace().count() >= 3)
        .map(|t| normal(t))
        .collect();
    let kept = crate::ingest::references::without_entries(text, &|label, entry| {
        let names = form.identifiers(&format!("{} {entry}", label.unwrap_or("")));
        if names.iter().any(|id| hidden.contains(id)) {
            return true;
        }
        let entry = normal(entry);
        hidden_titles.iter().any(|t| entry.contains(t.as_str()))
    });
    form.strip(&kept, hidden)
}

/// TF-IDF alone (`--compare`).
fn lexical_alone(train: &[(i64, String)], queries: &Queries) -> Retrieval {
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
        let words = model.vocab().indices(text);
        let (_, parts, ..) = model.engine_text(text, &words, false);
        for (a, &wt) in TITLE_WEIGHTS.iter().enumerate() {
            for (b, &wc) in COSINE_WEIGHTS.iter().enumerate() {
                let weights = crate::model::query::Weights {
                    title: wt,
                    cosine: wc,
                    ..crate::model::query::Weights::of(model.config())
                };
                let scores: Vec<f32> = parts.iter().map(|p| weights.score(p)).collect();
                let top = crate::model::text::lexical::top(&scores, 10)
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

/// The engine's terms and candidate terms it does not use, per (query, document): what
/// `--search` weighs by coordinate ascent (`Protocol::search_weights`). "self": 1 / k for each
/// of the k documents the text cites; "popularity": ln(1 + cited by), over its largest;
/// "co-cited/pop": co-citation over the candidate's citers rather than their square root;
/// "co-cited max": the strongest co-citation instead of the mean; "key terms": the share of a
/// document's key-term weight (idf) the text holds; "tf-idf", "bm25": the lexical scores over
/// their largest; "coupled 50^2": the coupling term over 50 peers weighted by their coupling
/// squared; "peers mixed": what the 20 documents nearest by cosine plus coupling (over 2)
/// cite, weighted by that cubed; "a*b": products of the engine's terms; "rrf t": 60 / (60 +
/// rank) under term t; "prf co-cited": co-citation with the engine's 3 best new results.
const FEATURES: [&str; 22] = [
    "citation",
    "title",
    "cosine",
    "co-cited",
    "neighbours",
    "coupled",
    "self",
    "popularity",
    "co-cited/pop",
    "co-cited max",
    "tf-idf",
    "key terms",
    "bm25",
    "coupled 50^2",
    "peers mixed",
    "citation*co-cited",
    "citation*neighbours",
    "co-cited*neighbours",
    "rrf citation",
    "rrf co-cited",
    "rrf neighbours",
    "prf co-cited",
];

/// One query's features (`[docs * FEATURES]`), what is known, what is relevant, what it names.
struct Featured {
    x: Vec<f32>,
    known: Vec<usize>,
    relevant: HashSet<usize>,
    named: Vec<usize>,
}

/// What every query's features read of the model, counted once (`Totals::of`).
struct Totals {
    /// Each document's place in the model, by identifier.
    index: HashMap<i64, usize>,
    /// The most documents citing any one document (the popularity feature's scale).
    max_cited_by: f32,
}

impl Totals {
    fn of(model: &Doc2Vec) -> Totals {
        Totals {
            index: model
                .doc_ids()
                .iter()
                .enumerate()
                .map(|(i, &id)| (id, i))
                .collect(),
            max_cited_by: model.links().map_or(0, |l| l.most_cited()) as f32,
        }
    }
}

/// A query's `FEATURES` for every document.
fn featurize(
    model: &Doc2Vec,
    lex: (&Lexical, &Bm25),
    totals: &Totals,
    text: &str,
    index: &HashMap<i64, usize>,
    known: &HashSet<i64>,
    relevant: &HashSet<i64>,
) -> Featured {
    let n = model.doc_ids().len();
    // A lexical score in model order, over its largest.
    let by_model = |scores: Vec<f32>, ids: &[i64]| {
        let mut out = vec![0.0f32; n];
        for (i, s) in scores.into_iter().enumerate() {
            if let Some(&d) = index.get(&ids[i]) {
                out[d] = s;
            }
        }
        let m = out.iter().copied().fold(0.0f32, f32::max).max(1e-9);
        out.iter_mut().for_each(|v| *v /= m);
        out
    };
    let tfidf = by_model(lex.0.scores(text), lex.0.doc_ids());
    let bm = by_model(lex.1.scores(text), lex.1.doc_ids());
    let vocab = model.vocab();
    let words = vocab.indices(text);
    let mut present = vec![false; vocab.len()];
    for &w in &words {
        present[w as usize] = true;
    }
    let key: Vec<f32> = (0..n)
        .map(|d| model.key_share(d, &|w| present[w as usize]))
        .collect();
    let f = FEATURES.len();
    let (_, parts, named, _) = model.engine_text(text, &words, true);
    let links = model.links();
    let max_in = totals.max_cited_by;
    let k = named.cites.len().max(1) as f32;
    let cites: HashSet<usize> = named.cites.iter().copied().collect();
    let crate::model::rerank::LinkFeatures {
        pop_co,
        max_co,
        coupled50,
        mixed,
    } = model.link_features(&parts, &named.cites);
    // Reciprocal-rank of each document under one part (60 / (60 + rank)), 0 where the part is 0.
    let rrf = |part: &dyn Fn(&crate::model::query::Parts) -> f32| {
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_unstable_by(|&a, &b| part(&parts[b]).total_cmp(&part(&parts[a])));
        let mut out = vec![0.0f32; n];
        for (r, d) in order.into_iter().enumerate() {
            if part(&parts[d]) > 0.0 {
                out[d] = 60.0 / (60.0 + r as f32);
            }
        }
        out
    };
    let rrf_cit = rrf(&|p| p.citation);
    let rrf_co = rrf(&|p| p.cocited);
    let rrf_nb = rrf(&|p| p.neighbours);
    let mut prf = vec![0.0f32; n];
    if let Some(l) = links {
        let w = crate::model::query::Weights::of(model.config());
        let mut s: Vec<f32> = parts.iter().map(|p| w.score(p)).collect();
        for &d in &named.cites {
            s[d] = f32::NEG_INFINITY;
        }
        let top: Vec<usize> = crate::model::text::lexical::top(&s, 3)
            .into_iter()
            .map(|(d, _)| d)
            .collect();
        l.cocited(&top, &mut prf, None);
    }
    let mut x = vec![0.0f32; n * f];
    for (d, p) in parts.iter().enumerate() {
        let indeg = links.map(|l| l.cited_by(d).len()).unwrap_or(0) as f32;
        let row = [
            p.citation,
            p.title,
            p.cosine,
            p.cocited,
            p.neighbours,
            p.coupled,
            if cites.contains(&d) { 1.0 / k } else { 0.0 },
            popularity(indeg, max_in),
            pop_co[d],
            max_co[d],
            tfidf[d],
            key[d],
            bm[d],
            coupled50[d],
            mixed[d],
            p.citation * p.cocited,
            p.citation * p.neighbours,
            p.cocited * p.neighbours,
            rrf_cit[d],
            rrf_co[d],
            rrf_nb[d],
            prf[d],
        ];
        x[d * f..(d + 1) * f].copy_from_slice(&row);
    }
    Featured {
        x,
        known: known
            .iter()
            .filter_map(|id| index.get(id).copied())
            .collect(),
        relevant: relevant
            .iter()
            .filter_map(|id| index.get(id).copied())
            .collect(),
        named: named.cites.clone(),
    }
}

/// The retrieval scores of weights `w` over `queries` (what the text cites last when
/// `new_first`, as the API orders them).
fn judge(queries: &[Featured], w: &[f32], new_first: bool) -> Retrieval {
    let f = FEATURES.len();
    let mut judged = Vec::with_capacity(queries.len());
    let mut scores = Vec::new();
    for q in queries {
        let n = q.x.len() / f;
        scores.clear();
        scores.extend((0..n).map(|d| {
            let row = &q.x[d * f..(d + 1) * f];
            row.iter().zip(w).map(|(a, b)| a * b).sum::<f32>()
        }));
        for &d in &q.known {
            scores[d] = f32::NEG_INFINITY;
        }
        if new_first {
            for &d in &q.named {
                if scores[d].is_finite() {
                    scores[d] -= 100.0;
                }
            }
        }
        let top: Vec<i64> = crate::model::text::lexical::top(&scores, 10)
            .into_iter()
            .map(|(d, _)| d as i64)
            .collect();
        judged.push((top, q.relevant.iter().map(|&d| d as i64).collect()));
    }
    eval::retrieval(&judged, 10)
}

/// The engine's own weights over `FEATURES` (its terms; the candidates at 0).
fn engine_weights(model: &Doc2Vec) -> Vec<f32> {
    let base = crate::model::query::Weights::of(model.config());
    let mut w = vec![0.0f32; FEATURES.len()];
    w[..6].copy_from_slice(&[
        1.0,
        base.title,
        base.cosine,
        base.cocite,
        base.neighbours,
        base.coupled,
    ]);
    w
}

/// How many candidates a query `--dump` writes: the best by the engine's score.
const DUMP_CANDIDATES: usize = 200;

impl Protocol<'_> {
    /// `--dump`: for every "missing" and "cited" query, its `DUMP_CANDIDATES` best documents
    /// by the engine's score (what the server re-ranks), one tab-separated line each: view
    /// ("missing" or "cited"), query identifier, how many documents the text cites, whether
    /// it cites this one, whether the reader knows this one (the visible half, boilerplate:
    /// left out of the judgement), whether this one is relevant, the engine's score, then
    /// `FEATURES`.
    fn dump(
        &self,
        model: &Doc2Vec,
        lex: (&Lexical, &Bm25),
        path: &std::path::Path,
    ) -> anyhow::Result<()> {
        use std::fmt::Write as _;
        let totals = Totals::of(model);
        let index = &totals.index;
        let start = engine_weights(model);
        // (view, query, known, relevant, text)
        type Job<'t> = (&'static str, i64, HashSet<i64>, HashSet<i64>, &'t str);
        let mut jobs: Vec<Job> = Vec::new();
        for (id, text) in &self.queries.texts {
            if let Some((visible, hidden, hidden_text)) = self.missing.get(id) {
                let known = visible.union(&self.boilerplate).copied().collect();
                jobs.push(("missing", *id, known, hidden.clone(), hidden_text));
            }
            let relevant: HashSet<i64> = self.queries.relevant[id]
                .difference(&self.boilerplate)
                .copied()
                .collect();
            if !relevant.is_empty() {
                jobs.push(("cited", *id, self.boilerplate.clone(), relevant, text));
            }
        }
        let f = FEATURES.len();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = jobs.len().div_ceil(threads).max(1);
        let done = std::sync::atomic::AtomicUsize::new(0);
        let parts: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = jobs
                .chunks(chunk)
                .map(|jobs| {
                    let (index, totals, start, done) = (&index, &totals, &start, &done);
                    scope.spawn(move || {
                        let mut out = String::new();
                        for (view, id, known, relevant, text) in jobs {
                            let q = featurize(model, lex, totals, text, index, known, relevant);
                            let n = q.x.len() / f;
                            // The server's candidates: the best by the score, known or not
                            // (the known ones are marked, for the learner to leave out).
                            let scores: Vec<f32> = (0..n)
                                .map(|d| {
                                    let row = &q.x[d * f..(d + 1) * f];
                                    row.iter().zip(start).map(|(a, b)| a * b).sum()
                                })
                                .collect();
                            let known: HashSet<usize> = q.known.iter().copied().collect();
                            let named: HashSet<usize> = q.named.iter().copied().collect();
                            for (d, s) in crate::model::text::lexical::top(&scores, DUMP_CANDIDATES)
                            {
                                let _ = write!(
                                    out,
                                    "{view}\t{id}\t{}\t{}\t{}\t{}\t{s}",
                                    q.named.len(),
                                    u8::from(named.contains(&d)),
                                    u8::from(known.contains(&d)),
                                    u8::from(q.relevant.contains(&d)),
                                );
                                for v in &q.x[d * f..(d + 1) * f] {
                                    let _ = write!(out, "\t{v}");
                                }
                                out.push('\n');
                            }
                            let k = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if k % 200 == 0 {
                                eprintln!("dump: {k} of {} queries", jobs.len() * threads);
                            }
                        }
                        out
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("dump thread"))
                .collect()
        });
        let mut head = String::from("view\tquery\tcites\tnamed\tknown\trelevant\tscore");
        for name in FEATURES {
            head.push('\t');
            head.push_str(name);
        }
        head.push('\n');
        std::fs::write(path, head + &parts.concat())
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }

    /// Coordinate ascent over the weights of `FEATURES` on the "missing" view (the API's
    /// order), keeping the plain "cited" view (by score) at least at `floor`.
    fn search_weights(&self, model: &Doc2Vec, lex: (&Lexical, &Bm25)) -> Vec<(String, Retrieval)> {
        let totals = Totals::of(model);
        let index = &totals.index;
        let mut missing = Vec::new();
        for (id, _) in &self.queries.texts {
            if let Some((visible, hidden, text)) = self.missing.get(id) {
                let known: HashSet<i64> = visible.union(&self.boilerplate).copied().collect();
                missing.push(featurize(model, lex, &totals, text, index, &known, hidden));
            }
        }
        let mut cited = Vec::new();
        for (id, text) in &self.queries.texts {
            let relevant: HashSet<i64> = self.queries.relevant[id]
                .difference(&self.boilerplate)
                .copied()
                .collect();
            if relevant.is_empty() {
                continue;
            }
            cited.push(featurize(
                model,
                lex,
                &totals,
                text,
                index,
                &self.boilerplate,
                &relevant,
            ));
        }
        let start = engine_weights(model);
        diagnose(model, &missing, &start);
        // The "cited" view may not fall below where the engine's own weights put it.
        let floor = judge(&cited, &start, false).mrr_at_10;
        let objective = |w: &[f32]| {
            let m = judge(&missing, w, true).mrr_at_10;
            let c = judge(&cited, w, false).mrr_at_10;
            (m - 10.0 * (floor - c).max(0.0), m, c)
        };
        let mut w = start.clone();
        let mut best = objective(&w);
        eprintln!(
            "search: start {:?} -> missing {:.3} cited {:.3}",
            w, best.1, best.2
        );
        let values = [
            -1.0f32, -0.5, -0.25, -0.1, 0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0,
        ];
        for round in 0..4 {
            let mut moved = false;
            for i in 1..FEATURES.len() {
                for &v in &values {
                    let mut t = w.clone();
                    t[i] = v;
                    let o = objective(&t);
                    if o.0 > best.0 + 1e-4 {
                        best = o;
                        w = t;
                        moved = true;
                    }
                }
                eprintln!(
                    "search: round {round} {} -> {:?}: missing {:.3} cited {:.3}",
                    FEATURES[i], w, best.1, best.2
                );
            }
            if !moved {
                break;
            }
        }
        let mut out = Vec::new();
        for (name, weights) in [("the engine's", start), ("searched", w)] {
            let label = FEATURES
                .iter()
                .zip(&weights)
                .filter(|(_, v)| **v != 0.0)
                .map(|(f, v)| format!("{f} {v}"))
                .collect::<Vec<_>>()
                .join(", ");
            out.push((
                format!("search, {name} weights, missing ({label})"),
                judge(&missing, &weights, true),
            ));
            out.push((
                format!("search, {name} weights, cited ({label})"),
                judge(&cited, &weights, false),
            ));
        }
        out
    }
}

/// `--search`'s error analysis of the "missing" view under weights `w`, on standard error:
/// the hidden citations by how often the collection cites them (how many there are, how many
/// reach the top 10, how many have no co-citation, no nearest document citing them, or
/// neither), where each query's best hidden citation ranks, and MRR@10 by how many citations
/// the query shows.
fn diagnose(model: &Doc2Vec, queries: &[Featured], w: &[f32]) {
    let f = FEATURES.len();
    let links = model.links();
    let bucket = |n: usize| match n {
        0 => 0,
        1..=2 => 1,
        3..=9 => 2,
        10..=49 => 3,
        _ => 4,
    };
    let mut count = [0usize; 5];
    let mut hit = [0usize; 5];
    let mut co0 = [0usize; 5];
    let mut nb0 = [0usize; 5];
    let mut both0 = [0usize; 5];
    let mut hit_both0 = [0usize; 5];
    let mut rank_hist = [0usize; 7];
    let mut nvis_hit = std::collections::BTreeMap::<usize, (usize, f64)>::new();
    for q in queries {
        let n = q.x.len() / f;
        let mut scores: Vec<f32> = (0..n)
            .map(|d| {
                q.x[d * f..(d + 1) * f]
                    .iter()
                    .zip(w)
                    .map(|(a, b)| a * b)
                    .sum()
            })
            .collect();
        for &d in &q.known {
            scores[d] = f32::NEG_INFINITY;
        }
        for &d in &q.named {
            if scores[d].is_finite() {
                scores[d] -= 100.0;
            }
        }
        let top = crate::model::text::lexical::top(&scores, 1000);
        let rank: HashMap<usize, usize> = top
            .iter()
            .enumerate()
            .map(|(r, (d, _))| (*d, r + 1))
            .collect();
        let mut best = usize::MAX;
        for &h in &q.relevant {
            let r = rank.get(&h).copied().unwrap_or(10_000);
            best = best.min(r);
            let indeg = links.map(|l| l.cited_by(h).len()).unwrap_or(0);
            let b = bucket(indeg);
            count[b] += 1;
            let row = &q.x[h * f..(h + 1) * f];
            let (co, nb) = (row[3] == 0.0, row[4] == 0.0);
            if r <= 10 {
                hit[b] += 1;
            }
            co0[b] += co as usize;
            nb0[b] += nb as usize;
            if co && nb {
                both0[b] += 1;
                if r <= 10 {
                    hit_both0[b] += 1;
                }
            }
        }
        let rb = match best {
            1 => 0,
            2..=3 => 1,
            4..=10 => 2,
            11..=20 => 3,
            21..=50 => 4,
            51..=100 => 5,
            _ => 6,
        };
        rank_hist[rb] += 1;
        let e = nvis_hit.entry(q.named.len().min(10)).or_default();
        e.0 += 1;
        e.1 += if best <= 10 { 1.0 / best as f64 } else { 0.0 };
    }
    eprintln!("diag: hidden by indegree [0,1-2,3-9,10-49,50+]: count {count:?} hit@10 {hit:?} cocited0 {co0:?} neighbours0 {nb0:?} both0 {both0:?} hit_both0 {hit_both0:?}");
    eprintln!("diag: best hidden rank [1,2-3,4-10,11-20,21-50,51-100,>100]: {rank_hist:?}");
    for (k, (c, m)) in nvis_hit {
        eprintln!(
            "diag: visible cites {k}: {c} queries, MRR {:.3}",
            m / c as f64
        );
    }
}
