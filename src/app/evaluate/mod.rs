//! `hamlet evaluate`: trains on the collection without its held-out documents, then scores the
//! model: citation retrieval of the held-out documents (queried by full text) and the original
//! Hamlet's odd-one-out triples. See `model::eval` for the definitions.
//!
//! `--compare` adds, on the same split and queries, the compatibility mode (the original's
//! PV-DM, trained the same way) and the lexical baseline (TF-IDF alone), printed as one table.
//!
//! The research bench lives beside it and is built only with the `lab` feature (never in the
//! server's image): `dump` writes the candidates the re-ranker learns from.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context};
use serde::Serialize;

use super::progress::Progress;
use super::train::{collection, Plan, TrainStats};
use crate::model::engine::mentions::IdForm;
use crate::model::engine::{Answer, Query};
use crate::model::eval::{self, OddOneOut, Part, Retrieval};
use crate::model::text::lexical::{Bm25, Lexical};
use crate::model::train::batched::Backend;
use crate::model::train::TrainingSet;
use crate::model::weights::Precision;
use crate::model::{Engine, ModelConfig};
use crate::store::Store;

#[cfg(feature = "lab")]
mod dump;
pub mod pages;

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
    /// The successor pairs (newer, older) that the pages' successor view asks about
    /// (`ingest::rfc::read_successor_pairs`): evaluation truth, never a ranking input.
    pub successors: Option<Vec<(i64, i64)>>,
    /// Write the views' candidates, features and judgements here (`dump`; the `lab` feature).
    #[cfg(feature = "lab")]
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
            no_references: false,
            batched: false,
            weights: Precision::F32,
            no_graph: false,
            boilerplate: vec![2119, 8174],
            mention_form: IdForm::Rfc,
            cache: None,
            successors: None,
            #[cfg(feature = "lab")]
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
    /// Whether training saw no citation links (`--no-graph`).
    pub no_graph: bool,
    /// The documents left out of the views' judgements and rankings: `--boilerplate`, and what
    /// the model finds cited by nearly everything (`model::engine::WIDELY_CITED`).
    pub boilerplate: Vec<i64>,
    /// The views of [missing] (issue 21): the engine, TF-IDF and BM25 on the same queries.
    pub views: Vec<View>,
    /// The views of a known document's page (issue 41): similar, successors.
    pub pages: pages::Pages,
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
) -> anyhow::Result<(Engine, TrainStats)> {
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
        for &id in model.model().doc_ids().iter().take(1000) {
            let t0 = Instant::now();
            let _ = model.query(Query::Document(id), 10, -1.0);
            similar_ms.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        (ranked, Latency::of(&mut infer_ms, &mut similar_ms))
    });
    let retrieval = queries.judged(ranked);

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

    // What the served lists put apart as cited by nearly everything is left out of the views
    // for every system, as the named boilerplate is (issue 41).
    let widely: Vec<i64> = model
        .model()
        .doc_ids()
        .iter()
        .copied()
        .filter(|&id| model.widely_cited_share(id).is_some())
        .collect();
    let protocol = Protocol::new(&all, &queries, &trained, opts, &widely);
    let mut boilerplate: Vec<i64> = protocol.boilerplate.iter().copied().collect();
    boilerplate.sort_unstable();
    let (views, pages) = tokio::task::block_in_place(|| -> anyhow::Result<_> {
        let tfidf = crate::model::text::lexical::Lexical::build(&training.texts, 2);
        let bm25 = crate::model::text::lexical::Bm25::build(&training.texts);
        let views = protocol.views(&model, &tfidf, &bm25);
        #[cfg(feature = "lab")]
        if let (Some(path), true) = (&opts.dump, model.is_engine()) {
            dump::write(&protocol, &model, path)?;
        }
        let mut pages = pages::views(
            &model,
            (&tfidf, &bm25),
            &training.texts,
            &all.links,
            opts.successors.as_deref(),
            seed,
        );
        if let Some(pairs) = opts.successors.as_deref() {
            let drafts = revision_drafts(&all, &queries, &trained, pairs, opts.mention_form);
            pages.revisions = Some(pages::revisions(&model, (&tfidf, &bm25), &drafts));
        }
        Ok((views, pages))
    })?;

    let mut groups: HashMap<i64, Vec<i64>> = HashMap::new();
    for (doc, person) in &authors {
        groups.entry(*person).or_default().push(doc.0);
    }
    let mut odd = eval::odd_one_out(model.model(), &groups, opts.triples, seed);
    if odd.triples < opts.triples / 2 {
        // Too few shared authors: fall back to departments, as the issue allows.
        let mut by_dept: HashMap<i64, Vec<i64>> = HashMap::new();
        for (doc, dept) in &departments {
            by_dept.entry(*dept).or_default().push(doc.0);
        }
        odd = eval::odd_one_out(model.model(), &by_dept, opts.triples, seed);
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
        no_graph: opts.no_graph,
        boilerplate,
        views,
        pages,
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
) -> anyhow::Result<(Engine, TrainStats)> {
    use sha2::{Digest, Sha256};
    // Scoring settings do not change what is trained: one cached model serves them all.
    // (The key keeps the title and cosine weights of the engine's first version, so that
    // models cached before keep being found.)
    let engine = crate::model::engine::Scoring::engine();
    let trained_as = ModelConfig {
        scoring: crate::model::engine::Scoring {
            title_weight: engine.title_weight,
            cosine_weight: engine.cosine_weight,
            ..Default::default()
        },
        rerank: false,
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
            documents: model.model().doc_ids().len(),
            vocab: model.model().vocab().len(),
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
        widely: &[i64],
    ) -> Protocol<'a> {
        let form = opts.mention_form;
        let boilerplate: HashSet<i64> = opts.boilerplate.iter().chain(widely).copied().collect();
        let titles = trained_titles(all, trained);
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
    fn views(&self, model: &Engine, tfidf: &Lexical, bm25: &Bm25) -> Vec<View> {
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
}

/// A system's ranking of the collection for a text: (text, how many, new first) -> identifiers.
type Ranker<'r> = dyn Fn(&str, usize, bool) -> Vec<i64> + 'r;

/// The model's ranking of the collection for a text: by score, or new first (the documents the
/// text names after the others, as the API and the pages order them).
fn rank_model(model: &Engine, text: &str, k: usize, new_first: bool) -> Vec<i64> {
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
    let words = model.model().vocab().indices(text);
    let (scores, parts, named, _) = model.engine_text(text, &words);
    let ids = model.model().doc_ids();
    model
        .ranked_text(&words, &scores, &parts, &named, k)
        .into_iter()
        .take(k)
        .map(|(i, _)| ids[i])
        .collect()
}

/// The titles of the trained documents, by identifier: what `hide` looks for in a reference
/// entry.
fn trained_titles<'s>(all: &'s TrainingSet, trained: &HashSet<i64>) -> HashMap<i64, &'s str> {
    all.titles
        .iter()
        .filter(|(id, _)| trained.contains(id))
        .map(|(id, t)| (*id, t.as_str()))
        .collect()
}

/// The held-out documents that obsolete a document the model knows, as drafts of a revision
/// that does not cite what it revises: (the revised document, the draft's text without any
/// trace of it, `hide`). The successor pairs are evaluation truth only.
fn revision_drafts(
    all: &TrainingSet,
    queries: &Queries,
    trained: &HashSet<i64>,
    pairs: &[(i64, i64)],
    form: IdForm,
) -> Vec<(i64, String)> {
    let titles = trained_titles(all, trained);
    let held_out: HashMap<i64, &str> = queries
        .texts
        .iter()
        .map(|(id, t)| (*id, t.as_str()))
        .collect();
    let full: HashMap<i64, &str> = all.texts.iter().map(|(id, t)| (*id, t.as_str())).collect();
    pairs
        .iter()
        .filter(|(new, old)| held_out.contains_key(new) && trained.contains(old))
        .filter_map(|&(new, old)| {
            // The header's "Obsoletes:" and "Updates:" lines name it by bare number.
            let text: String = full
                .get(&new)?
                .lines()
                .filter(|l| !l.contains("Obsoletes:") && !l.contains("Updates:"))
                .collect::<Vec<_>>()
                .join("\n");
            Some((old, hide(&text, &HashSet::from([old]), &titles, form)))
        })
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
