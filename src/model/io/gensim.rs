//! `hamlet model import-gensim`: a gensim 4.x Doc2Vec model (its `.model` pickle and any
//! `.npy` side files `save()` wrote beside it) turned into a Hamlet model, read without
//! Python and without executing the pickle (`pickle.rs`).
//!
//! What carries over: the document vectors and their tags (which must be document
//! identifiers: integers, or strings of digits), the word vectors, the negative-sampling
//! output weights, the vocabulary with its counts, and the hyper-parameters. What cannot be
//! served is refused with the reason: hierarchical softmax without negative sampling,
//! concatenated contexts (`dm_concat`), several tags per document, a noise exponent other
//! than 0.75, or a compressed save.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::model::io::pickle::{self, Array, Value, V};
use crate::model::text::vocab::Vocab;
use crate::model::{CorpusInfo, Doc2Vec, Error, Mode, ModelConfig};

/// Reads the gensim Doc2Vec model saved at `path`.
pub fn import(path: &Path) -> Result<Doc2Vec, Error> {
    let bad = |reason: String| Error::Corrupt {
        path: path.to_path_buf(),
        reason: format!("not a gensim 4.x Doc2Vec model Hamlet can serve: {reason}"),
    };
    let name = path.to_string_lossy();
    if [".gz", ".bz2", ".xz"].iter().any(|s| name.ends_with(s)) {
        return Err(bad(
            "the file is compressed; decompress it (and its .npy files) first".into(),
        ));
    }
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    from_pickle(&bytes, path)
}

/// `import` of a model whose pickle is `bytes`; its `.npy` side files, if any, are looked for
/// beside `path`.
pub fn from_pickle(bytes: &[u8], path: &Path) -> Result<Doc2Vec, Error> {
    let bad = |reason: String| Error::Corrupt {
        path: path.to_path_buf(),
        reason: format!("not a gensim 4.x Doc2Vec model Hamlet can serve: {reason}"),
    };
    let sha = hex::encode(Sha256::digest(bytes));
    let root = pickle::parse(bytes).map_err(|e| bad(format!("its pickle: {e}")))?;
    let class = root.class_name().unwrap_or_default();
    if !class.ends_with("Doc2Vec") {
        return Err(bad(if class.is_empty() {
            "it holds no Python object".into()
        } else {
            format!("it holds a {class}")
        }));
    }
    let model = Model { path, root: &root };
    model.convert(&sha).map_err(bad)
}

/// The pickled Doc2Vec object and where its side files are.
struct Model<'a> {
    path: &'a Path,
    root: &'a V,
}

impl Model<'_> {
    fn number(&self, name: &str) -> Result<Option<f64>, String> {
        match self.root.attr(name) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| format!("its {name} is not a number")),
        }
    }

    fn required(&self, name: &str) -> Result<f64, String> {
        self.number(name)?
            .ok_or_else(|| format!("it has no {name}"))
    }

    fn flag(&self, name: &str, default: bool) -> Result<bool, String> {
        Ok(self.number(name)?.map_or(default, |v| v != 0.0))
    }

    /// A numpy array attribute of `object` (found at `prefix` below the model), pickled inline
    /// or saved beside the model as `PATH.prefix.name.npy`.
    fn array(&self, object: &Value, prefix: &str, name: &str) -> Result<Array, String> {
        let dotted = if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}.{name}")
        };
        match object.attr(name) {
            Some(v) if !matches!(*v, Value::None) => {
                Array::from_value(&v).map_err(|e| format!("{dotted}: {e}"))
            }
            _ => {
                let mut side = self.path.as_os_str().to_owned();
                side.push(format!(".{dotted}.npy"));
                let side = PathBuf::from(side);
                let bytes = std::fs::read(&side).map_err(|e| {
                    format!(
                        "{dotted} was saved separately, and {} cannot be read: {e}",
                        side.display()
                    )
                })?;
                Array::from_npy(&bytes).map_err(|e| format!("{}: {e}", side.display()))
            }
        }
    }

    /// A 2-D float table with `cols` columns.
    fn table(
        &self,
        object: &Value,
        prefix: &str,
        name: &str,
        cols: usize,
    ) -> Result<(usize, Vec<f32>), String> {
        let a = self.array(object, prefix, name)?;
        match a.shape[..] {
            [rows, c] if c == cols => Ok((
                rows,
                a.to_f32().map_err(|e| format!("{prefix}.{name}: {e}"))?,
            )),
            _ => Err(format!(
                "{prefix}.{name} has shape {:?}, expected [rows, {cols}]",
                a.shape
            )),
        }
    }

    fn keyed_vectors(&self, name: &str) -> Result<V, String> {
        self.root
            .attr(name)
            .filter(|v| v.class_name().is_some_and(|c| c.ends_with("KeyedVectors")))
            .ok_or_else(|| format!("it has no {name} (KeyedVectors)"))
    }

    fn convert(&self, sha: &str) -> Result<Doc2Vec, String> {
        let dim = self.required("vector_size")? as usize;
        let negative = self.required("negative")? as usize;
        if negative == 0 {
            return Err("it was trained with hierarchical softmax only (negative=0); Hamlet infers with negative sampling".into());
        }
        if self.flag("dm_concat", false)? {
            return Err("it concatenates context vectors (dm_concat=1)".into());
        }
        if self.number("dm_tag_count")?.is_some_and(|n| n != 1.0) {
            return Err("it has several tags per document (dm_tag_count)".into());
        }
        if let Some(e) = self.number("ns_exponent")? {
            if (e - 0.75).abs() > 1e-9 {
                return Err(format!(
                    "its noise distribution exponent is {e}; Hamlet uses 0.75"
                ));
            }
        }
        if !self.flag("shrink_windows", true)? {
            return Err("it was trained without shrinking windows (shrink_windows=False)".into());
        }
        let sg = self.flag("sg", false)?;
        let config = ModelConfig {
            mode: if sg { Mode::Dbow } else { Mode::Dm },
            dim,
            window: self.required("window")? as usize,
            min_count: self.number("min_count")?.unwrap_or(5.0) as u64,
            negative,
            sample: self.number("sample")?.unwrap_or(1e-3),
            alpha: self.required("alpha")? as f32,
            min_alpha: self.required("min_alpha")? as f32,
            epochs: self.required("epochs")? as usize,
            max_doc_words: 10_000,
            dm_mean: self.flag("cbow_mean", true)?,
            dbow_words: self.flag("dbow_words", false)?,
            seed: self.number("seed")?.unwrap_or(1.0) as u64,
            ..ModelConfig::default()
        };

        let wv = self.keyed_vectors("wv")?;
        let words: Vec<String> = wv
            .attr("index_to_key")
            .and_then(|k| k.items())
            .ok_or("wv has no index_to_key list")?
            .iter()
            .map(|w| w.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or("wv's keys are not all strings")?;
        let counts = match wv.attr("expandos").and_then(|e| e.get("count")) {
            Some(c) => Array::from_value(&c)
                .and_then(|a| a.to_u64())
                .map_err(|e| format!("wv's word counts: {e}"))?,
            None => return Err("wv has no word counts (expandos['count'])".into()),
        };
        if counts.len() != words.len() {
            return Err(format!(
                "wv has {} words but {} counts",
                words.len(),
                counts.len()
            ));
        }
        let (rows, word_vectors) = self.table(&wv, "wv", "vectors", dim)?;
        if rows != words.len() {
            return Err(format!(
                "wv.vectors has {rows} rows for {} words",
                words.len()
            ));
        }
        let (rows, output) = self.table(self.root, "", "syn1neg", dim)?;
        if rows != words.len() {
            return Err(format!("syn1neg has {rows} rows for {} words", words.len()));
        }

        let dv = self.keyed_vectors("dv")?;
        let (docs, doc_vectors) = self.table(&dv, "dv", "vectors", dim)?;
        let keys = dv
            .attr("index_to_key")
            .and_then(|k| k.items())
            .unwrap_or_default();
        let doc_ids: Vec<i64> = if keys.is_empty() {
            // Plain integer tags 0..n: gensim keeps no key list for them.
            (0..docs as i64).collect()
        } else {
            keys.iter()
                .map(|k| {
                    k.as_i64()
                        .or_else(|| k.as_str().and_then(|s| s.trim().parse().ok()))
                        .ok_or_else(|| {
                            format!(
                                "document tag {} is not a document identifier (an integer)",
                                match &**k {
                                    Value::Str(s) => format!("{s:?}"),
                                    _ => "of another type".into(),
                                }
                            )
                        })
                })
                .collect::<Result<_, _>>()?
        };
        if doc_ids.len() != docs {
            return Err(format!("dv has {} tags for {docs} vectors", doc_ids.len()));
        }
        let mut seen = std::collections::HashSet::with_capacity(docs);
        if let Some(d) = doc_ids.iter().find(|d| !seen.insert(**d)) {
            return Err(format!(
                "document identifier {d} appears twice among the tags"
            ));
        }

        let vocab = Vocab::new(words, counts);
        let words_total = match self.number("corpus_total_words")? {
            Some(n) if n > 0.0 => n as u64,
            _ => vocab
                .total()
                .ok_or("the vocabulary's counts overflow their total")?,
        };
        let corpus = CorpusInfo {
            documents: docs as u64,
            words: words_total,
            sha256: format!("gensim:{sha}"),
            synthetic: false,
        };
        Doc2Vec::from_parts(
            config,
            vocab,
            word_vectors,
            output,
            doc_ids,
            doc_vectors,
            corpus,
        )
        .map_err(|e| e.to_string())
    }
}
