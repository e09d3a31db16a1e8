//! gensim interop: models trained by gensim 4.4 itself (tests/support/gensim_train.py, in the venv
//! scripts/setup-gensim.sh makes) are imported by `hamlet model import-gensim`, and our
//! most-similar lists for known documents equal gensim's.

use std::path::{Path, PathBuf};
use std::process::Command;

use hamlet::model::engine::Query;
use hamlet::model::{io::file, io::gensim, Mode};

/// gensim's venv python: HAMLET_GENSIM_PYTHON (scripts/test.sh sets it), or the default venv.
fn python() -> PathBuf {
    let path = std::env::var_os("HAMLET_GENSIM_PYTHON").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/hamlet/venv-gensim/bin/python")
        },
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "gensim's python is not at {}: run scripts/setup-gensim.sh (scripts/test.sh does)",
        path.display()
    );
    path
}

/// Trains the gensim models once per test process into a temporary directory.
fn trained() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(python())
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/gensim_train.py"))
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "gensim training failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
    .path()
}

fn answers(name: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(trained().join(format!("{name}.json"))).unwrap()).unwrap()
}

/// Our top 10 for each document gensim answered for equals gensim's: the same documents in
/// the same order (where two of gensim's scores are within 1e-5, either order), cosines within
/// 1e-5.
fn same_as_gensim(model: &hamlet::model::Engine, expected: &serde_json::Value) {
    let similar = expected["similar"].as_object().unwrap();
    assert!(similar.len() >= 20);
    for (query, list) in similar {
        let want: Vec<(i64, f32)> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_i64().unwrap(), p[1].as_f64().unwrap() as f32))
            .collect();
        let got = model
            .query(Query::Document(query.parse().unwrap()), 10, -1.0)
            .map(|a| a.similar())
            .unwrap();
        assert_eq!(got.len(), want.len(), "document {query}");
        for (k, hit) in got.iter().enumerate() {
            let at = want
                .iter()
                .position(|w| w.0 == hit.identifier)
                .unwrap_or_else(|| {
                    panic!(
                        "document {query}: {} is not in gensim's top 10: {want:?}",
                        hit.identifier
                    )
                });
            assert!(
                at == k || (want[at].1 - want[k].1).abs() < 1e-5,
                "document {query}: rank {k} is {} (gensim's rank {at}); gensim: {want:?}",
                hit.identifier
            );
            assert!(
                (hit.score - want[at].1).abs() < 1e-5,
                "document {query}, {}: cosine {} vs gensim's {}",
                hit.identifier,
                hit.score,
                want[at].1
            );
        }
    }
}

#[test]
fn imported_pv_dm_answers_as_gensim_does() {
    let expected = answers("dm");
    for name in ["dm.model", "dm-split.model"] {
        let model = gensim::import(&trained().join(name)).unwrap();
        let c = model.config();
        assert_eq!(c.mode, Mode::Dm);
        assert!(c.dm_mean, "gensim 4.4 averages PV-DM contexts");
        assert_eq!(c.dim as u64, expected["dim"].as_u64().unwrap());
        assert_eq!(c.window as u64, expected["window"].as_u64().unwrap());
        assert_eq!(c.negative as u64, expected["negative"].as_u64().unwrap());
        assert_eq!(c.epochs as u64, expected["epochs"].as_u64().unwrap());
        assert_eq!(
            model.vocab().len() as u64,
            expected["vocab"].as_u64().unwrap()
        );
        assert_eq!(
            model.doc_ids().len() as u64,
            expected["docs"].as_u64().unwrap()
        );
        assert_eq!(
            model.vocab().word(0),
            expected["first_word"].as_str().unwrap()
        );
        assert_eq!(
            model.vocab().counts[0],
            expected["first_count"].as_u64().unwrap()
        );
        assert!(model.corpus().sha256.starts_with("gensim:"));
        let model = hamlet::model::Engine::new(model);
        same_as_gensim(&model, &expected);
        // It serves new text too: a document's own words find it among its neighbours' topic.
        let hits = model
            .query(
                Query::Text("t3w1 t3w2 t3w5 t3w9 c1 t3w11 t3w20 t3w31"),
                5,
                -1.0,
            )
            .unwrap()
            .similar();
        assert_eq!(hits.len(), 5);
    }
}

#[test]
fn imported_pv_dbow_with_integer_tags_answers_as_gensim_does() {
    let expected = answers("dbow");
    for name in ["dbow.model", "dbow-split.model"] {
        let model = gensim::import(&trained().join(name)).unwrap();
        assert_eq!(model.config().mode, Mode::Dbow);
        assert!(model.config().dbow_words);
        assert_eq!(model.doc_ids()[..3], [0, 1, 2]);
        same_as_gensim(&hamlet::model::Engine::new(model), &expected);
    }
}

#[test]
fn the_command_writes_a_model_the_server_loads() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("imported.safetensors");
    let run = Command::new(env!("CARGO_BIN_EXE_hamlet"))
        .args(["model", "import-gensim"])
        .arg(trained().join("dm-split.model"))
        .arg("--output")
        .arg(&out)
        .env("HAMLET_PROFILE", "local")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("imported 240 documents"), "{stdout}");
    assert!(file::sha_path(&out).exists());
    let model = file::load(&out).unwrap();
    assert!(
        model.model().layout().is_some(),
        "the map is computed on import"
    );
    same_as_gensim(&model, &answers("dm"));
}

#[test]
fn what_cannot_be_imported_is_refused_with_the_reason() {
    let dir = trained();
    let err = |path: &Path| gensim::import(path).unwrap_err().to_string();

    let e = err(&dir.join("word2vec.model"));
    assert!(e.contains("Word2Vec"), "{e}");

    // A side file gone: the message names it.
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("dm-split.model");
    std::fs::copy(dir.join("dm-split.model"), &model).unwrap();
    let e = err(&model);
    assert!(e.contains("dm-split.model.wv.vectors.npy"), "{e}");

    // Every truncation of the pickle is an error, never a panic.
    let bytes = std::fs::read(dir.join("dbow.model")).unwrap();
    let cut = tmp.path().join("cut.model");
    for len in (0..bytes.len()).step_by(97) {
        std::fs::write(&cut, &bytes[..len]).unwrap();
        let e = err(&cut);
        assert!(e.contains("cut.model"), "{e}");
    }

    // A truncated side file.
    let split = tmp.path().join("s.model");
    std::fs::copy(dir.join("dm-split.model"), &split).unwrap();
    for side in ["dv.vectors", "syn1neg"] {
        std::fs::copy(
            dir.join(format!("dm-split.model.{side}.npy")),
            tmp.path().join(format!("s.model.{side}.npy")),
        )
        .unwrap();
    }
    let wv = std::fs::read(dir.join("dm-split.model.wv.vectors.npy")).unwrap();
    std::fs::write(
        tmp.path().join("s.model.wv.vectors.npy"),
        &wv[..wv.len() - 7],
    )
    .unwrap();
    let e = err(&split);
    assert!(e.contains("s.model.wv.vectors.npy"), "{e}");

    let e = err(Path::new("/nonexistent/model"));
    assert!(e.contains("/nonexistent/model"), "{e}");
    let e = err(Path::new("model.gz"));
    assert!(e.contains("compressed"), "{e}");
}
