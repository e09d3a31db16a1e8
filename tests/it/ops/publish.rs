//! Operations: a model published with `hamlet publish` is fetched at start-up, a newer one is
//! swapped in without a restart (periodic check, and SIGHUP to a real `hamlet serve`), and a
//! bad one (wrong checksum) is refused while the old one keeps serving.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{import_rfc, rfc_dir, small_dbow_config, topics_model, TestDb, TOPICS};
use hamlet::app::publish::publish;
use hamlet::config::AppConfig;
use serde_json::Value;

/// A second, different model of the same collection (another dimension and seed).
async fn other_model(store: &hamlet::store::Store, dir: &Path) -> PathBuf {
    let set = hamlet::app::train::collection(store).await.unwrap();
    let config = hamlet::model::ModelConfig {
        dim: 24,
        epochs: 5,
        seed: 7,
        ..small_dbow_config()
    };
    let (model, _) = hamlet::app::train::train(
        &set,
        hamlet::app::train::Plan::new(config, 2),
        &hamlet::app::progress::Quiet,
    )
    .unwrap();
    let path = dir.join("other.safetensors");
    hamlet::model::io::file::save(&model, &path).unwrap();
    path
}

fn sha_of(path: &Path) -> String {
    hamlet::model::io::file::info(path).unwrap().sha256
}

async fn ready_json(client: &rocket::local::asynchronous::Client) -> Value {
    let res = client.get("/health/ready").dispatch().await;
    serde_json::from_str(&res.into_string().await.unwrap()).unwrap()
}

async fn page(client: &rocket::local::asynchronous::Client, uri: &str) -> String {
    let res = client.get(uri.to_string()).dispatch().await;
    assert_eq!(res.status().code, 200, "{uri}");
    res.into_string().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_model_is_served_then_replaced_and_a_bad_one_refused() {
    let db = TestDb::new(common::Kind::Sqlite).await.unwrap();
    let store = db.store().await;
    import_rfc(&store, rfc_dir(), TOPICS).await.unwrap();
    let first = topics_model(&store).await;
    let dir = tempfile::tempdir().unwrap();
    let published = dir.path().join("published");
    let mut cfg = AppConfig::for_tests(&db.url);
    cfg.model_cache_dir = dir.path().join("cache");
    cfg.model_check_interval_secs = 1;
    // Every neighbour listed, with its score: the page shows which model answered.
    cfg.document_min_score = Some(-1.0);

    let out = publish(&cfg.remote(), &first, &published.display().to_string())
        .await
        .unwrap();
    assert_eq!(out.manifest.sha256, sha_of(&first));
    cfg.model_url = Some(format!("file://{}", out.manifest_url));
    let client = common::ready_client(cfg).await;
    let body = ready_json(&client).await;
    assert_eq!(
        body["model"]["sha256"],
        Value::from(sha_of(&first)),
        "{body}"
    );
    let res = client
        .get("/api/documents/9000/similar?min_score=-1")
        .dispatch()
        .await;
    assert_eq!(res.status().code, 200);
    let page_before = page(&client, "/similar_to/9000/").await;
    assert!(page_before.contains("/similar_to/"), "{page_before}");
    assert_eq!(
        page(&client, "/similar_to/9000/").await,
        page_before,
        "the kept page is the rendered one"
    );

    // A new model, published while the server runs, is in service within a few checks.
    let second = other_model(&store, dir.path()).await;
    publish(
        &AppConfig::for_tests(&db.url).remote(),
        &second,
        &published.display().to_string(),
    )
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body = ready_json(&client).await;
        if body["model"]["sha256"] == sha_of(&second).as_str() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new model was not picked up: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let cached: Vec<String> = std::fs::read_dir(dir.path().join("cache"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        // The lock file beside the model in service (remote::CacheLock) stays with it.
        .filter(|name| name != &format!("{}.lock", sha_of(&second)))
        .collect();
    assert_eq!(
        cached,
        vec![format!("{}.safetensors", sha_of(&second))],
        "the old model left the cache"
    );
    // The rendered page kept for the first model is not served for the second.
    let page_after = page(&client, "/similar_to/9000/").await;
    assert_ne!(
        page_after, page_before,
        "a page of the old model was served"
    );

    // A manifest whose checksum does not match its model: refused, the second keeps serving.
    let manifest_path = published.join("manifest.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    manifest["sha256"] = Value::from("0".repeat(64));
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let body = ready_json(&client).await;
    assert_eq!(body["status"], Value::from("ready"), "{body}");
    assert_eq!(
        body["model"]["sha256"],
        Value::from(sha_of(&second)),
        "{body}"
    );
    let res = client
        .get("/api/documents/9000/similar?min_score=-1")
        .dispatch()
        .await;
    assert_eq!(res.status().code, 200, "still serving");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_refuses_a_file_that_is_not_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("bogus.safetensors");
    std::fs::write(&bogus, b"not a model").unwrap();
    let cfg = AppConfig::for_tests("sqlite://unused.sqlite3");
    let err = publish(
        &cfg.remote(),
        &bogus,
        &dir.path().join("out").display().to_string(),
    )
    .await
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("is not a usable model"),
        "{err:#}"
    );
    assert!(!dir.path().join("out").exists(), "nothing was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_makes_a_running_server_load_the_new_model_file() {
    let db = TestDb::new(common::Kind::Sqlite).await.unwrap();
    let store = db.store().await;
    import_rfc(&store, rfc_dir(), TOPICS).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let served = dir.path().join("model.safetensors");
    std::fs::copy(topics_model(&store).await, &served).unwrap();
    let first = sha_of(&served);
    let second_path = other_model(&store, dir.path()).await;

    let server = common::serve_process(&db.url, &served, &[]);
    let port = server.port;
    let body = common::wait_http_ready(port, 60).await;
    assert!(body.contains(&first), "{body}");

    // `hamlet train` writes atomically; the server notices only when told.
    let model = hamlet::model::io::file::load(&second_path).unwrap();
    hamlet::model::io::file::save(&model, &served).unwrap();
    let second = sha_of(&served);
    let status = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, body) = common::http_get(port, "/health/ready").await.unwrap();
        if body.contains(&second) {
            break;
        }
        assert!(Instant::now() < deadline, "SIGHUP did not reload: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _) = common::http_get(port, "/api/documents/9000/similar")
        .await
        .unwrap();
    assert_eq!(status, 200);
}

/// Day one (issue 23, its first point): a new deployment has no model. `migrate` runs on the
/// heroku profile without `MODEL_URL`; a server whose `MODEL_URL` names a manifest nobody has
/// published yet is ready, serves the collection, says on the tool pages and in the API (503 +
/// Retry-After) that no model is in service, and picks the first publish up by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_model_yet_is_a_state_and_the_first_publish_is_picked_up() {
    let db = TestDb::new(common::Kind::Sqlite).await.unwrap();
    let migrate = Command::new(env!("CARGO_BIN_EXE_hamlet"))
        .arg("migrate")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HAMLET_PROFILE", "heroku")
        .env("DATABASE_URL", &db.url)
        .env("SECRET_KEY", "0123456789abcdef0123456789abcdef")
        .output()
        .unwrap();
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    let store = db.store().await;
    import_rfc(&store, rfc_dir(), TOPICS).await.unwrap();
    let models = tempfile::tempdir().unwrap();
    let manifest = format!("file://{}/manifest.json", models.path().display());
    let cache = tempfile::tempdir().unwrap();
    let server = common::serve_process(
        &db.url,
        Path::new(""),
        &[
            ("MODEL_URL", manifest.as_str()),
            ("MODEL_CHECK_INTERVAL_SECS", "1"),
            ("MODEL_CACHE_DIR", cache.path().to_str().unwrap()),
        ],
    );
    let port = server.port;
    let body = common::wait_http_ready(port, 60).await;
    assert!(body.contains("\"model\""), "{body}");
    let (status, home) = common::http_get(port, "/").await.unwrap();
    assert_eq!(status, 200, "{home}");
    let (status, page) = common::http_get(port, "/upload/recommend/").await.unwrap();
    assert_eq!(status, 200);
    assert!(
        page.contains("No recommendation model is in service yet"),
        "{page}"
    );
    let recommend = || async {
        let res = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/api/recommend"))
            .header("Content-Type", "application/json")
            .body(
                serde_json::json!({"text": "QUIC streams and TCP congestion control", "min_score": -1})
                    .to_string(),
            )
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let retry = res.headers().contains_key("retry-after");
        let body: String = res.text().await.unwrap();
        (status, retry, body)
    };
    let (status, retry, body) = recommend().await;
    assert_eq!(status, 503, "{body}");
    assert!(retry, "503 without Retry-After");
    assert!(
        body.contains("no recommendation model is in service yet"),
        "{body}"
    );

    // The first publish: the running server takes it within its check interval.
    let model = topics_model(&store).await;
    let cfg = AppConfig::from_lookup(|_| None).unwrap();
    publish(&cfg.remote(), &model, models.path().to_str().unwrap())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _, body) = recommend().await;
        if status == 200 {
            let v: Value = serde_json::from_str(&body).unwrap();
            assert!(!v["results"].as_array().unwrap().is_empty(), "{body}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the first publish was not picked up: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, page) = common::http_get(port, "/upload/recommend/").await.unwrap();
    assert!(!page.contains("No recommendation model is in service yet"));
}
