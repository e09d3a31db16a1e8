//! The `hamlet` binary as an operator uses it: import, train, inspect, and the one-line errors
//! for bad settings and bad flags.

use crate::common;

use std::process::{Command, Output};

fn hamlet(db: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hamlet"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run hamlet")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn import_train_and_inspect() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/h.sqlite3", dir.path().display());
    let corpus = common::rfc_dir();
    let out = hamlet(
        &db,
        &[
            "import",
            "rfc",
            corpus.to_str().unwrap(),
            "--only",
            "9000-9002,9114,791,793",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("imported 6 documents"),
        "{}",
        text(&out)
    );
    let again = hamlet(
        &db,
        &["import", "rfc", corpus.to_str().unwrap(), "--if-empty"],
        &[],
    );
    assert!(
        text(&again).contains("nothing imported (--if-empty)"),
        "{}",
        text(&again)
    );

    let model = dir.path().join("m.safetensors");
    let m = model.to_str().unwrap();
    let out = hamlet(
        &db,
        &[
            "train",
            "--epochs",
            "2",
            "--min-count",
            "2",
            "--threads",
            "1",
            "--output",
            m,
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(
            "trained the default engine (PV-DBOW 100 dimensions, citation targets) on 6 documents"
        ) && text(&out).contains("on 1 CPU threads"),
        "{}",
        text(&out)
    );
    assert!(dir.path().join("m.safetensors.sha256").exists());
    // --publish: trained and published in one command (a one-off dyno's whole job).
    let published = dir.path().join("published");
    let out = hamlet(
        &db,
        &[
            "train",
            "--epochs",
            "1",
            "--min-count",
            "2",
            "--threads",
            "1",
            "--output",
            dir.path().join("p.safetensors").to_str().unwrap(),
            "--publish",
            published.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(published.join("manifest.json")).unwrap()).unwrap();
    let sha = manifest["sha256"].as_str().unwrap();
    assert!(
        published.join(format!("models/{sha}.safetensors")).exists(),
        "{manifest}"
    );
    assert!(
        text(&out).contains(&format!("(sha256 {sha}); manifest")),
        "{}",
        text(&out)
    );
    let out = hamlet(&db, &["model", "info", m], &[]);
    assert!(
        text(&out).contains("engine      the default engine: citation targets"),
        "{}",
        text(&out)
    );
    // --compat: the original's PV-DM, 52 dimensions; --device cuda is refused on this CPU-only
    // libtorch, with what to do.
    let out = hamlet(
        &db,
        &[
            "train",
            "--compat",
            "--epochs",
            "2",
            "--min-count",
            "2",
            "--threads",
            "1",
            "--output",
            m,
        ],
        &[],
    );
    assert!(
        text(&out).contains("trained Dm (52 dimensions) on 6 documents"),
        "{}",
        text(&out)
    );
    let out = hamlet(&db, &["train", "--device", "cuda", "--output", m], &[]);
    assert!(
        !out.status.success() && text(&out).contains("libtorch sees no CUDA device"),
        "{}",
        text(&out)
    );
    let out = hamlet(&db, &["train", "--if-missing", "--output", m], &[]);
    assert!(
        text(&out).contains("nothing trained (--if-missing)"),
        "{}",
        text(&out)
    );

    let out = hamlet(&db, &["model", "info", m], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let info = text(&out);
    assert!(
        info.contains("hamlet-doc2vec v1") && info.contains("documents   6"),
        "{info}"
    );
    let out = hamlet(
        &db,
        &["model", "info", "--json"],
        &[("HAMLET_MODEL_PATH", m)],
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["config"]["dim"], 52);
}

#[test]
fn errors_are_one_line_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/h.sqlite3", dir.path().display());
    let out = hamlet(&db, &["migrate"], &[("PORT", "eighty")]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: PORT:") && err.lines().count() == 1,
        "{err}"
    );
    let out = hamlet("mysql://x/y", &["migrate"], &[]);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .starts_with("error: DATABASE_URL: unsupported database URL scheme"),
        "{}",
        text(&out)
    );
    let out = hamlet(&db, &["train", "--dim", "0", "--output", "x"], &[]);
    assert!(
        text(&out).contains("dim must be between 1 and 4096"),
        "{}",
        text(&out)
    );
    let out = hamlet(&db, &["model", "info", "/nonexistent/m.safetensors"], &[]);
    assert!(
        text(&out).contains("error: /nonexistent/m.safetensors"),
        "{}",
        text(&out)
    );
    let out = hamlet(
        &db,
        &[
            "train",
            "--threads",
            "1",
            "--output",
            dir.path().join("m").to_str().unwrap(),
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("nothing to train on"),
        "an empty collection says so: {}",
        text(&out)
    );
}

/// `hamlet serve` with a path that cannot work stops at once with one line naming the setting
/// and the path: no panic, no backtrace (issue 22). Started outside the project directory, the
/// relative defaults `public` and `templates` are such paths.
#[test]
fn serve_start_up_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/h.sqlite3", dir.path().display());
    let root = env!("CARGO_MANIFEST_DIR");
    let templates = format!("{root}/templates");
    let public = format!("{root}/public");
    let serve = |env: &[(&str, &str)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hamlet"));
        cmd.arg("serve")
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", &db)
            .env("PORT", "1")
            .env("RUST_BACKTRACE", "1");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run hamlet")
    };
    let model_dir = dir.path().to_str().unwrap().to_string();
    for (env, var, path) in [
        (vec![], "HAMLET_PUBLIC_DIR", "public"),
        (
            vec![("HAMLET_PUBLIC_DIR", public.as_str())],
            "HAMLET_TEMPLATES_DIR",
            "templates",
        ),
        (
            vec![
                ("HAMLET_PUBLIC_DIR", public.as_str()),
                ("HAMLET_TEMPLATES_DIR", public.as_str()),
            ],
            "HAMLET_TEMPLATES_DIR",
            public.as_str(),
        ),
        (
            vec![
                ("HAMLET_PUBLIC_DIR", public.as_str()),
                ("HAMLET_TEMPLATES_DIR", templates.as_str()),
                ("HAMLET_MODEL_PATH", model_dir.as_str()),
            ],
            "HAMLET_MODEL_PATH",
            model_dir.as_str(),
        ),
        (
            vec![
                ("HAMLET_PUBLIC_DIR", public.as_str()),
                ("HAMLET_TEMPLATES_DIR", templates.as_str()),
                ("DATABASE_URL", "sqlite:///proc/nonexistent/h.sqlite3"),
            ],
            "DATABASE_URL",
            "invalid database URL: cannot create /proc/nonexistent",
        ),
    ] {
        let out = serve(&env);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{var}: {}", text(&out));
        assert!(
            err.starts_with(&format!("error: {var}: {path}")) && err.lines().count() == 1,
            "{var}: {err}"
        );
        assert!(!text(&out).contains("panicked"), "{}", text(&out));
    }
}

/// The results of an API list, after checking it answered 200.
async fn similar(
    client: &rocket::local::asynchronous::Client,
    uri: &str,
) -> Vec<serde_json::Value> {
    let res = client.get(uri).dispatch().await;
    assert_eq!(res.status().code, 200);
    let body: serde_json::Value = serde_json::from_str(&res.into_string().await.unwrap()).unwrap();
    body["results"].as_array().unwrap().clone()
}

/// `hamlet model synth` writes a model labelled synthetic, and the server serves it. Results
/// for documents the model knows and the database lacks are left out, never shown as a bare
/// number; `/health` counts them and start-up says so once in the log (issue 38). With the
/// catalogue `--catalog` writes, imported, every result is a catalogue row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synthetic_model_is_labelled_and_served_with_its_catalogue() {
    let log = common::server_log::mark();
    let db = common::TestDb::new(common::Kind::Sqlite).await.unwrap();
    let store = db.store().await;
    let held = common::import_rfc(&store, common::rfc_dir(), "1-200")
        .await
        .unwrap()
        .documents;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("synth.safetensors");
    let catalog = dir.path().join("synth.jsonl");
    let (p, c) = (path.display().to_string(), catalog.display().to_string());
    let out = hamlet(
        &db.url,
        &[
            "model",
            "synth",
            "--docs",
            "1000",
            "--dim",
            "8",
            "--vocab",
            "5000",
            "--output",
            &p,
            "--catalog",
            &c,
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let info = hamlet(&db.url, &["model", "info", &p], &[]);
    assert!(text(&info).contains("SYNTHETIC"), "{}", text(&info));

    // The RFC collection holds some of the model's 1,000 documents (RFCs 1 to 200).
    let mut cfg = hamlet::config::AppConfig::for_tests(&db.url);
    cfg.model_path = path.clone();
    let client = common::ready_client(cfg.clone()).await;
    let results = similar(&client, "/api/documents/3/similar?min_score=-1&limit=50").await;
    assert!(
        !results.is_empty()
            && results.len() < 50
            && results
                .iter()
                .all(|r| r["identifier"].as_u64().unwrap() <= 200),
        "only what the collection holds: {results:?}"
    );
    let page = client.get("/similar_to/3/").dispatch().await;
    assert_eq!(page.status().code, 200);
    assert!(!page.into_string().await.unwrap().contains(">Document "));
    let health = client.get("/health").dispatch().await;
    let health: serde_json::Value =
        serde_json::from_str(&health.into_string().await.unwrap()).unwrap();
    assert_eq!(
        health["model"]["documents_not_in_collection"],
        1000 - held,
        "{health}"
    );
    let logged = common::server_log::since(log);
    assert!(
        logged.contains(&format!("documents_not_in_collection={}", 1000 - held))
            && logged.contains("the collection does not hold"),
        "{logged}"
    );

    // The synthetic catalogue, imported: titles, years and people for every document.
    let own = common::TestDb::new(common::Kind::Sqlite).await.unwrap();
    let out = hamlet(&own.url, &["import", "jsonl", &c], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let mut cfg = hamlet::config::AppConfig::for_tests(&own.url);
    cfg.model_path = path;
    let client = common::ready_client(cfg).await;
    let results = similar(&client, "/api/documents/5/similar?min_score=-1&limit=50").await;
    assert_eq!(results.len(), 50);
    for r in &results {
        let id = r["identifier"].as_u64().unwrap() as usize;
        assert_eq!(
            r["title"],
            hamlet::model::io::synth::title(id - 1, 5000),
            "{r}"
        );
        assert!(r["year"].is_number() && !r["authors"].as_array().unwrap().is_empty());
    }
    let health = client.get("/health").dispatch().await;
    let health: serde_json::Value =
        serde_json::from_str(&health.into_string().await.unwrap()).unwrap();
    assert_eq!(
        health["model"]["documents_not_in_collection"], 0,
        "{health}"
    );
}

#[test]
fn commands_log_to_stderr_so_their_output_stays_clean() {
    // `hamlet evaluate --json | jq` broke when a slow query's warning landed on stdout.
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/h.sqlite3", dir.path().display());
    let out = hamlet(&db, &["migrate"], &[("RUST_LOG", "debug")]);
    assert!(out.status.success(), "{}", text(&out));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        stderr.contains("db.statement"),
        "sqlx's debug log: {stderr}"
    );
    assert!(
        !stdout.contains("db.statement"),
        "no log on stdout: {stdout}"
    );
}

/// `hamlet ARGS` with `input` on its standard input.
fn hamlet_fed(db: &str, args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_hamlet"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run hamlet");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// A one-off dyno has no copy of the collection: `heroku run --no-tty "bin/hamlet import jsonl
/// -" < collection.jsonl` streams it in, texts inline.
#[test]
fn a_collection_streamed_on_standard_input_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/h.sqlite3", dir.path().display());
    let lines = concat!(
        "{\"identifier\": 1, \"title\": \"Paragraph vectors for theses\", \"text\": \"We study paragraph vectors for a thesis collection.\"}\n",
        "{\"identifier\": 2, \"title\": \"No text yet\"}\n",
    );
    let out = hamlet_fed(&db, &["import", "jsonl", "-"], lines.as_bytes());
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("imported 2 documents (1 unextractable)"),
        "{}",
        text(&out)
    );

    // A bad line is named as a line of standard input.
    let bad = b"{\"identifier\": 3, \"title\": \"x\"}\n{\"identifier\": 4}\n";
    let out = hamlet_fed(&db, &["import", "jsonl", "-"], bad);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("standard input:2: invalid record"),
        "{}",
        text(&out)
    );
}
