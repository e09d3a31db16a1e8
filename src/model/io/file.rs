//! The model file: one self-describing file in safetensors layout, so a Python user can open it
//! with `safetensors.numpy.load_file` and read its header with any JSON parser.
//!
//! Tensors: `word_vectors` f32 [vocab, dim], `output_weights` f32 [vocab, dim] (the negative-
//! sampling layer, needed to infer vectors for new texts), `doc_vectors` f32 [docs, dim],
//! `doc_ids` i64 [docs], `vocab_counts` i64 [vocab], and the words themselves as UTF-8 bytes
//! `vocab_utf8` u8 [bytes] cut at `vocab_offsets` i64 [vocab + 1], and, when the model has a
//! collection map, `doc_layout` f32 [docs, 2] (`layout`; optional: files without it load).
//! Also optional: each document's key terms (`keyterms`) as `key_terms` u32 (vocabulary
//! indices) cut at `key_term_offsets` u32 [docs + 1], and the default engine's title grams
//! (`titles`) as `title_grams` u64 cut at `title_offsets` u32 [docs + 1], and the citation
//! links it trained on (`links`) as `link_targets` u32 (document rows) cut at `link_offsets`
//! u32 [docs + 1]. The default engine's citation targets are vocabulary entries (`@cites:ID`)
//! with their rows in `output_weights`.
//! Metadata (`__metadata__`): `format` = "hamlet-doc2vec", `version` = "1", `config` (the
//! hyper-parameters as JSON), `corpus` (a fingerprint of the training corpus as JSON),
//! `created_by`, and with a map `region_labels` (the names of its regions as JSON,
//! `labels::RegionLabel`; files without them compute them when loaded).
//!
//! Written atomically (a temporary file in the same directory, fsync, rename), with
//! `FILE.sha256` beside it in `sha256sum` format.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use sha2::{Digest, Sha256};

use crate::model::text::vocab::Vocab;
use crate::model::weights::{Precision, Weights};
use crate::model::{CorpusInfo, Doc2Vec, Engine, Error, ModelConfig};

pub const FORMAT: &str = "hamlet-doc2vec";
pub const VERSION: &str = "1";

/// What `hamlet model info` prints: everything but the tensors' values.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelInfo {
    pub path: PathBuf,
    pub size_bytes: u64,
    pub sha256: String,
    pub format: String,
    pub version: String,
    pub created_by: String,
    pub config: ModelConfig,
    pub corpus: CorpusInfo,
    pub vocab: usize,
    pub documents: usize,
    pub tensors: Vec<(String, String, Vec<usize>)>,
}

/// Serialises `model` to `path` atomically and writes `path.sha256`; returns the sha256.
pub fn save(model: &Engine, path: &Path) -> Result<String, Error> {
    let io = |e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let bytes = to_bytes(model).map_err(|reason| Error::Corrupt {
        path: path.to_path_buf(),
        reason,
    })?;
    let sha = hex::encode(Sha256::digest(&bytes));
    write_atomically(path, &bytes).map_err(io)?;
    let name = path
        .file_name()
        .map_or_else(|| "model".into(), |n| n.to_string_lossy().into_owned());
    write_atomically(&sha_path(path), format!("{sha}  {name}\n").as_bytes()).map_err(io)?;
    Ok(sha)
}

/// `FILE.sha256`.
pub fn sha_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".sha256");
    PathBuf::from(p)
}

/// Reads and checks a model file.
pub fn load(path: &Path) -> Result<Engine, Error> {
    load_with(path, Precision::F32)
}

/// Reads and checks a model file, keeping its word and output tables at `precision`. The file
/// is read tensor by tensor in chunks, never whole: loading needs little more memory than the
/// model it builds (reading the whole file first doubled the peak for a large model:
/// benches/scale.sh).
pub fn load_with(path: &Path, precision: Precision) -> Result<Engine, Error> {
    load_for(path, precision, false)
}

/// `load_with` for serving: a PV-DBOW model's word table (`word_vectors`) is checked but not
/// kept, because inference and scoring never read it (PV-DBOW infers from the output table
/// alone); that is half the tables' memory. Such a model cannot be saved again.
pub fn load_to_serve(path: &Path, precision: Precision) -> Result<Engine, Error> {
    load_for(path, precision, true)
}

fn load_for(path: &Path, precision: Precision, serve: bool) -> Result<Engine, Error> {
    let corrupt = |reason: String| Error::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let mut source = FileSource::open(path).map_err(|e| match e {
        Opened::Io(e) => Error::Io {
            path: path.to_path_buf(),
            source: e,
        },
        Opened::Corrupt(reason) => corrupt(reason),
    })?;
    build(&mut source, precision, serve).map_err(corrupt)
}

/// Checks and assembles a model from a model file's bytes (what `load` does after reading).
pub fn parse(bytes: &[u8]) -> Result<Engine, Error> {
    from_bytes(bytes, Precision::F32).map_err(|reason| Error::Corrupt {
        path: PathBuf::from("<bytes>"),
        reason,
    })
}

/// Reads a model file's header and shapes, and its sha256.
pub fn info(path: &Path) -> Result<ModelInfo, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let corrupt = |reason: String| Error::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let st = SafeTensors::deserialize(&bytes).map_err(|e| corrupt(e.to_string()))?;
    let meta = metadata(&bytes).map_err(corrupt)?;
    let (config, corpus) = header(&meta).map_err(corrupt)?;
    let mut tensors: Vec<(String, String, Vec<usize>)> = st
        .tensors()
        .into_iter()
        .map(|(name, view)| (name, format!("{:?}", view.dtype()), view.shape().to_vec()))
        .collect();
    tensors.sort();
    let shape = |name: &str| {
        tensors
            .iter()
            .find(|t| t.0 == name)
            .map_or(0, |t| t.2.first().copied().unwrap_or(0))
    };
    Ok(ModelInfo {
        path: path.to_path_buf(),
        size_bytes: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(&bytes)),
        format: meta.get("format").cloned().unwrap_or_default(),
        version: meta.get("version").cloned().unwrap_or_default(),
        created_by: meta.get("created_by").cloned().unwrap_or_default(),
        config,
        corpus,
        vocab: shape("vocab_counts"),
        documents: shape("doc_ids"),
        tensors,
    })
}

fn to_bytes(engine: &Engine) -> Result<Vec<u8>, String> {
    let model = engine.model();
    let dim = model.config().dim;
    let vocab = model.vocab();
    if model.word_table_dropped() {
        return Err("this model was loaded to serve, without its word table: save the file it was loaded from instead".into());
    }
    let (words, output, docs) = model.tables();
    let f32_bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let i64_bytes =
        |v: &mut dyn Iterator<Item = i64>| v.flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let mut utf8 = Vec::new();
    let mut offsets = vec![0i64];
    for w in vocab.words() {
        utf8.extend_from_slice(w.as_bytes());
        offsets.push(utf8.len() as i64);
    }
    let n_docs = model.doc_ids().len();
    let mut buffers: Vec<(&str, Dtype, Vec<usize>, Vec<u8>)> = vec![
        (
            "word_vectors",
            Dtype::F32,
            vec![vocab.len(), dim],
            f32_bytes(&words),
        ),
        (
            "output_weights",
            Dtype::F32,
            vec![vocab.len(), dim],
            f32_bytes(&output),
        ),
        (
            "doc_vectors",
            Dtype::F32,
            vec![n_docs, dim],
            f32_bytes(docs),
        ),
        (
            "doc_ids",
            Dtype::I64,
            vec![n_docs],
            i64_bytes(&mut model.doc_ids().iter().copied()),
        ),
        (
            "vocab_counts",
            Dtype::I64,
            vec![vocab.len()],
            i64_bytes(&mut vocab.counts.iter().map(|&c| c as i64)),
        ),
        (
            "vocab_offsets",
            Dtype::I64,
            vec![offsets.len()],
            i64_bytes(&mut offsets.iter().copied()),
        ),
        ("vocab_utf8", Dtype::U8, vec![utf8.len()], utf8),
    ];
    if let Some(layout) = model.layout() {
        buffers.push(("doc_layout", Dtype::F32, vec![n_docs, 2], f32_bytes(layout)));
    }
    let u32_bytes = |v: &[u32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    // Rows of values cut at offsets: the offsets (u32) and the values, as two tensors.
    let mut rows =
        |names: [&'static str; 2], offsets: &[u32], dtype: Dtype, n: usize, values: Vec<u8>| {
            buffers.push((
                names[0],
                Dtype::U32,
                vec![offsets.len()],
                u32_bytes(offsets),
            ));
            buffers.push((names[1], dtype, vec![n], values));
        };
    if let Some(k) = engine.key_terms() {
        let (offsets, terms) = k.parts();
        let values = u32_bytes(terms);
        rows(
            ["key_term_offsets", "key_terms"],
            offsets,
            Dtype::U32,
            terms.len(),
            values,
        );
    }
    if let Some(l) = engine.links() {
        let (offsets, targets) = l.parts();
        let values = u32_bytes(targets);
        rows(
            ["link_offsets", "link_targets"],
            offsets,
            Dtype::U32,
            targets.len(),
            values,
        );
    }
    if let Some(t) = engine.titles() {
        let (offsets, grams) = t.parts();
        let values = grams.iter().flat_map(|x| x.to_le_bytes()).collect();
        rows(
            ["title_offsets", "title_grams"],
            offsets,
            Dtype::U64,
            grams.len(),
            values,
        );
    }
    let views: Vec<(&str, TensorView)> = buffers
        .iter()
        .map(|(name, dtype, shape, data)| {
            TensorView::new(*dtype, shape.clone(), data)
                .map(|v| (*name, v))
                .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    let meta: HashMap<String, String> = [
        ("format", FORMAT.to_string()),
        ("version", VERSION.to_string()),
        (
            "config",
            serde_json::to_string(model.config()).map_err(|e| e.to_string())?,
        ),
        (
            "corpus",
            serde_json::to_string(model.corpus()).map_err(|e| e.to_string())?,
        ),
        (
            "created_by",
            format!("hamlet {}", env!("CARGO_PKG_VERSION")),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .chain((!model.region_labels().is_empty()).then(|| {
        (
            "region_labels".to_string(),
            serde_json::to_string(model.region_labels()).unwrap_or_else(|_| "[]".into()),
        )
    }))
    .collect();
    let bytes = safetensors::tensor::serialize(views, Some(meta)).map_err(|e| e.to_string())?;
    canonical_header(bytes)
}

/// Rewrites the JSON header with its keys sorted: safetensors serialises the metadata from a
/// `HashMap`, whose order changes from run to run, and the same model should always give the
/// same file (and sha256). Offsets are relative to the data, so the header may change length;
/// it is padded with spaces to a multiple of 8 bytes as the format requires.
fn canonical_header(bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    let n = u64::from_le_bytes(
        bytes
            .get(..8)
            .ok_or("short file")?
            .try_into()
            .map_err(|_| "short file")?,
    ) as usize;
    let header: serde_json::Value =
        serde_json::from_slice(bytes.get(8..8 + n).ok_or("short header")?)
            .map_err(|e| e.to_string())?;
    // serde_json's Value keeps objects in a BTreeMap: keys come out sorted.
    let mut json = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
    while json.len() % 8 != 0 {
        json.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + json.len() + bytes.len() - 8 - n);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&bytes[8 + n..]);
    Ok(out)
}

fn from_bytes(bytes: &[u8], precision: Precision) -> Result<Engine, String> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| e.to_string())?;
    let meta = metadata(bytes)?;
    build(&mut MemorySource { st, meta }, precision, false)
}

/// Where `build` reads a model file's tensors from.
trait TensorSource {
    /// The `__metadata__` header, its format checked.
    fn meta(&self) -> &HashMap<String, String>;
    /// A tensor's dtype and shape.
    fn info(&self, name: &str) -> Option<(Dtype, Vec<usize>)>;
    /// Hands a tensor's bytes to `sink`, in one or more pieces (each a multiple of 8 bytes
    /// but the last).
    fn read(&mut self, name: &str, sink: &mut dyn FnMut(&[u8])) -> Result<(), String>;
}

/// The whole file in memory (`parse`, the fuzzer).
struct MemorySource<'a> {
    st: SafeTensors<'a>,
    meta: HashMap<String, String>,
}

impl TensorSource for MemorySource<'_> {
    fn meta(&self) -> &HashMap<String, String> {
        &self.meta
    }

    fn info(&self, name: &str) -> Option<(Dtype, Vec<usize>)> {
        let view = self.st.tensor(name).ok()?;
        Some((view.dtype(), view.shape().to_vec()))
    }

    fn read(&mut self, name: &str, sink: &mut dyn FnMut(&[u8])) -> Result<(), String> {
        let view = self
            .st
            .tensor(name)
            .map_err(|_| format!("tensor {name} is missing"))?;
        sink(view.data());
        Ok(())
    }
}

/// Why a file could not be opened as a model.
enum Opened {
    Io(std::io::Error),
    Corrupt(String),
}

/// The file itself: its header read and checked as safetensors does (tensors contiguous from
/// offset 0, each as long as its shape, the last ending at the end of the file), then each
/// tensor read in chunks when asked for.
struct FileSource {
    file: std::io::BufReader<std::fs::File>,
    header: safetensors::tensor::Metadata,
    meta: HashMap<String, String>,
    /// Where the data section starts.
    data_start: u64,
    /// The chunk buffer, allocated once.
    buf: Vec<u8>,
}

/// The chunk a large tensor is read in.
const CHUNK: usize = 4 << 20;

impl FileSource {
    fn open(path: &Path) -> Result<FileSource, Opened> {
        use std::io::Read;
        let file = std::fs::File::open(path).map_err(Opened::Io)?;
        let len = file.metadata().map_err(Opened::Io)?.len();
        let mut file = std::io::BufReader::with_capacity(1 << 16, file);
        let bad = |s: &str| Opened::Corrupt(s.to_string());
        let mut n = [0u8; 8];
        file.read_exact(&mut n)
            .map_err(|_| bad("the file is too short for a safetensors header"))?;
        let n = u64::from_le_bytes(n);
        // safetensors' own limit on a header.
        if n > 100_000_000 || n + 8 > len {
            return Err(bad("the header length is invalid"));
        }
        let mut json = vec![0u8; n as usize];
        file.read_exact(&mut json).map_err(Opened::Io)?;
        let header: safetensors::tensor::Metadata = serde_json::from_slice(&json)
            .map_err(|e| Opened::Corrupt(format!("invalid header: {e}")))?;
        let mut end = 0usize;
        for name in header.offset_keys() {
            let t = header.info(&name).expect("a listed tensor");
            let (start, stop) = t.data_offsets;
            let elements = t
                .shape
                .iter()
                .try_fold(1usize, |a, &d| a.checked_mul(d))
                .and_then(|e| e.checked_mul(t.dtype.bitsize() / 8));
            if start != end || stop < start || elements != Some(stop - start) {
                return Err(Opened::Corrupt(format!(
                    "tensor {name}'s data offsets are invalid"
                )));
            }
            end = stop;
        }
        if 8 + n + end as u64 != len {
            return Err(bad("incomplete metadata, file not fully covered"));
        }
        let meta = check_format(header.metadata().clone()).map_err(Opened::Corrupt)?;
        Ok(FileSource {
            file,
            header,
            meta,
            data_start: 8 + n,
            buf: vec![0u8; CHUNK],
        })
    }
}

impl TensorSource for FileSource {
    fn meta(&self) -> &HashMap<String, String> {
        &self.meta
    }

    fn info(&self, name: &str) -> Option<(Dtype, Vec<usize>)> {
        let t = self.header.info(name)?;
        Some((t.dtype, t.shape.clone()))
    }

    fn read(&mut self, name: &str, sink: &mut dyn FnMut(&[u8])) -> Result<(), String> {
        use std::io::{Read, Seek, SeekFrom};
        let (start, stop) = self
            .header
            .info(name)
            .ok_or_else(|| format!("tensor {name} is missing"))?
            .data_offsets;
        let io = |e: std::io::Error| format!("reading tensor {name}: {e}");
        self.file
            .seek(SeekFrom::Start(self.data_start + start as u64))
            .map_err(io)?;
        let mut left = stop - start;
        while left > 0 {
            let piece = &mut self.buf[..CHUNK.min(left)];
            self.file.read_exact(piece).map_err(io)?;
            sink(piece);
            left -= piece.len();
        }
        Ok(())
    }
}

/// Checks and assembles a model from its tensors.
fn build(src: &mut dyn TensorSource, precision: Precision, serve: bool) -> Result<Engine, String> {
    let (config, corpus) = header(src.meta())?;
    let word_table_unused = serve && config.mode == crate::model::Mode::Dbow;
    // The map's region names; files written before them compute them at load (the layout and
    // key terms are there).
    let region_labels: Option<Vec<crate::model::labels::RegionLabel>> =
        match src.meta().get("region_labels") {
            Some(json) => Some(
                serde_json::from_str(json).map_err(|e| format!("metadata region_labels: {e}"))?,
            ),
            None => None,
        };
    let check = |src: &dyn TensorSource, name: &str, dtype: Dtype| -> Result<Vec<usize>, String> {
        let (got, shape) = src
            .info(name)
            .ok_or_else(|| format!("tensor {name} is missing"))?;
        if got != dtype {
            return Err(format!("tensor {name} is {got:?}, expected {dtype:?}"));
        }
        Ok(shape)
    };
    let bytes = |src: &mut dyn TensorSource, name: &str, dtype: Dtype| -> Result<Vec<u8>, String> {
        let shape = check(&*src, name, dtype)?;
        let len = shape.iter().product::<usize>() * dtype.bitsize() / 8;
        // The exact size up front: growing by doubling left holes in the loading thread's
        // heap that the server kept (benches/scale.sh).
        let mut out = Vec::with_capacity(len);
        src.read(name, &mut |piece| out.extend_from_slice(piece))?;
        Ok(out)
    };
    let i64s = |b: &[u8]| {
        b.chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().expect("chunks of 8")))
            .collect::<Vec<i64>>()
    };
    let utf8 = bytes(src, "vocab_utf8", Dtype::U8)?;
    let offsets = i64s(&bytes(src, "vocab_offsets", Dtype::I64)?);
    let counts = i64s(&bytes(src, "vocab_counts", Dtype::I64)?);
    if offsets.len() != counts.len() + 1 {
        return Err(format!(
            "vocab_offsets has {} entries for {} words",
            offsets.len(),
            counts.len()
        ));
    }
    let mut words = Vec::with_capacity(counts.len());
    for pair in offsets.windows(2) {
        let (a, b) = (
            usize::try_from(pair[0]).map_err(|_| "negative vocab offset")?,
            usize::try_from(pair[1]).map_err(|_| "negative vocab offset")?,
        );
        let w = utf8
            .get(a..b)
            .ok_or("vocab_offsets point outside vocab_utf8")?;
        words.push(std::str::from_utf8(w).map_err(|_| "a vocabulary word is not UTF-8")?);
    }
    // Counts are summed for downsampling and the noise distribution: negative ones are
    // corruption (and a total that overflows: `Doc2Vec::from_tables` refuses it).
    if counts.iter().any(|&c| c < 0) {
        return Err("vocab_counts holds negative counts".into());
    }
    let vocab = Vocab::new(words, counts.iter().map(|&c| c as u64).collect());
    drop(utf8);
    let dim = config.dim;
    let matrix = |src: &mut dyn TensorSource,
                  name: &str,
                  rows: usize,
                  precision: Precision|
     -> Result<Weights, String> {
        let shape = check(&*src, name, Dtype::F32)?;
        if shape != [rows, dim] {
            return Err(format!(
                "tensor {name} has shape {shape:?}, expected [{rows}, {dim}]"
            ));
        }
        let mut table = Weights::with_capacity(precision, rows, dim);
        let mut finite = true;
        src.read(name, &mut |piece| finite &= table.push_le_bytes(piece))?;
        if finite {
            Ok(table)
        } else {
            Err("the weights hold NaN or infinite values".to_string())
        }
    };
    let doc_ids = i64s(&bytes(src, "doc_ids", Dtype::I64)?);
    let word_vectors = if word_table_unused {
        let shape = check(&*src, "word_vectors", Dtype::F32)?;
        if shape != [vocab.len(), dim] {
            return Err(format!(
                "tensor word_vectors has shape {shape:?}, expected [{}, {dim}]",
                vocab.len()
            ));
        }
        Weights::with_capacity(precision, 0, dim)
    } else {
        matrix(src, "word_vectors", vocab.len(), precision)?
    };
    let output_weights = matrix(src, "output_weights", vocab.len(), precision)?;
    let Weights::F32(doc_vectors) = matrix(src, "doc_vectors", doc_ids.len(), Precision::F32)?
    else {
        unreachable!("read as f32")
    };
    let rows = doc_ids.len();
    let model = Engine::new(
        Doc2Vec::from_tables(
            config,
            vocab,
            word_vectors,
            output_weights,
            doc_ids,
            doc_vectors,
            corpus,
        )
        .map_err(|e| e.to_string())?,
    );
    let u32s = |b: &[u8]| -> Vec<u32> {
        b.chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("chunks of 4")))
            .collect()
    };
    // Optional parts: a file holds both tensors of a pair, or neither.
    let pair = |src: &dyn TensorSource, a: &str, b: &str| -> Result<bool, String> {
        match (src.info(a).is_some(), src.info(b).is_some()) {
            (true, true) => Ok(true),
            (false, false) => Ok(false),
            _ => Err(format!("tensors {a} and {b} come together; one is missing")),
        }
    };
    let vocab_len = model.model().vocab().len();
    let model = if pair(&*src, "key_term_offsets", "key_terms")? {
        let offsets = u32s(&bytes(src, "key_term_offsets", Dtype::U32)?);
        let terms = u32s(&bytes(src, "key_terms", Dtype::U32)?);
        let k = crate::model::text::keyterms::KeyTerms::from_parts(offsets, terms, vocab_len)?;
        model.with_key_terms(k).map_err(|e| e.to_string())?
    } else {
        model
    };
    let model = if pair(&*src, "title_offsets", "title_grams")? {
        let offsets = u32s(&bytes(src, "title_offsets", Dtype::U32)?);
        let grams: Vec<u64> = bytes(src, "title_grams", Dtype::U64)?
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("chunks of 8")))
            .collect();
        let t = crate::model::text::titles::Titles::from_parts(offsets, grams)?;
        model.with_titles(Some(t)).map_err(|e| e.to_string())?
    } else {
        model
    };
    let model = if pair(&*src, "link_offsets", "link_targets")? {
        let offsets = u32s(&bytes(src, "link_offsets", Dtype::U32)?);
        let targets = u32s(&bytes(src, "link_targets", Dtype::U32)?);
        let docs = model.model().doc_ids().len();
        let l = crate::model::engine::links::Links::from_parts(offsets, targets, docs)?;
        model.with_links(l).map_err(|e| e.to_string())?
    } else {
        model
    };
    if src.info("doc_layout").is_none() {
        return Ok(model);
    }
    let shape = check(&*src, "doc_layout", Dtype::F32)?;
    if shape != [rows, 2] {
        return Err(format!(
            "tensor doc_layout has shape {shape:?}, expected [{rows}, 2]"
        ));
    }
    let layout: Vec<f32> = bytes(src, "doc_layout", Dtype::F32)?
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().expect("chunks of 4")))
        .collect();
    Ok(model
        .with_layout(layout)
        .map_err(|e| e.to_string())?
        .with_region_labels(region_labels))
}

fn metadata(bytes: &[u8]) -> Result<HashMap<String, String>, String> {
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| e.to_string())?;
    check_format(meta.metadata().clone())
}

/// The `__metadata__` map, if it names our format and version.
fn check_format(map: Option<HashMap<String, String>>) -> Result<HashMap<String, String>, String> {
    let map = map.ok_or("no __metadata__ header")?;
    match (
        map.get("format").map(String::as_str),
        map.get("version").map(String::as_str),
    ) {
        (Some(FORMAT), Some(VERSION)) => Ok(map),
        (Some(FORMAT), v) => Err(format!(
            "format version {v:?} is not supported (this build reads {VERSION})"
        )),
        (f, _) => Err(format!("format {f:?} is not {FORMAT}")),
    }
}

fn header(meta: &HashMap<String, String>) -> Result<(ModelConfig, CorpusInfo), String> {
    let config: ModelConfig =
        serde_json::from_str(meta.get("config").ok_or("no config in the header")?)
            .map_err(|e| format!("config: {e}"))?;
    let corpus: CorpusInfo =
        serde_json::from_str(meta.get("corpus").ok_or("no corpus in the header")?)
            .map_err(|e| format!("corpus: {e}"))?;
    config.validate().map_err(|e| e.to_string())?;
    Ok((config, corpus))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .map_or_else(|| "model".into(), |n| n.to_string_lossy()),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
