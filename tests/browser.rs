//! End to end in a real browser: Debian's headless Chromium, driven through ChromeDriver
//! (WebDriver), against the app listening on a loopback port. It searches by title with the
//! autocomplete, opens a similar_to page, uploads the upstream thesis (.docx) and sees results,
//! and saves screenshots at 1280 and 390 px wide under `target/e2e/`.
//!
//! scripts/test.sh installs chromium and chromium-driver; without them this test skips with a
//! message, except under CI=true, where it fails.

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{import_rfc, rfc_dir, topics_model, upstream_fixture, TestDb, TOPICS};
use fantoccini::{Client, ClientBuilder, Locator};
use hamlet::config::AppConfig;

/// A free loopback port (bound, read, released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// ChromeDriver, killed when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing listens on port {port}");
}

async fn browser(profile: &std::path::Path) -> Option<(Driver, Client)> {
    let have = |cmd: &str| {
        Command::new(cmd)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !have("chromedriver") || !have("chromium") {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("chromium and chromedriver are missing: scripts/setup-browser.sh installs them");
        }
        eprintln!(
            "chromium/chromedriver missing (scripts/setup-browser.sh): skipping the browser test"
        );
        return None;
    }
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver(child);
    wait_for_port(port).await;
    let caps = serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--no-first-run", "--disable-dev-shm-usage",
                format!("--user-data-dir={}", profile.display()),
                "--window-size=1280,1000",
            ],
        },
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    let client = ClientBuilder::rustls()
        .expect("rustls")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session");
    Some((driver, client))
}

async fn screenshot(client: &Client, name: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/e2e");
    std::fs::create_dir_all(&dir).unwrap();
    for (width, label) in [(1280, "1280"), (390, "390")] {
        client.set_window_size(width, 1000).await.unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
        let png = client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(dir.join(format!("{name}-{label}.png")), png).unwrap();
    }
    client.set_window_size(1280, 1000).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_browse_and_upload_in_chromium() {
    // Two rustls crypto providers are linked (see Cargo.toml): fantoccini needs one chosen.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let profile = tempfile::tempdir().unwrap();
    let Some((_driver, client)) = browser(profile.path()).await else {
        return;
    };

    let db = TestDb::new(common::Kind::Sqlite).await.unwrap();
    let store = db.store().await;
    import_rfc(&store, rfc_dir(), TOPICS).await.unwrap();
    let port = free_port();
    let mut cfg = AppConfig::for_tests(&db.url);
    cfg.model_path = topics_model(&store).await;
    cfg.port = port;
    // A 20-document test model's cosines run lower than a production model's (0.8 and more
    // between close RFCs on the full collection): the thresholds are configuration, lowered here
    // so that the pages show results.
    cfg.document_min_score = 0.0;
    cfg.text_min_score = 0.0;
    let app = hamlet::rocket(cfg).ignite().await.expect("ignite");
    let shutdown = app.shutdown();
    let server = tokio::spawn(app.launch());
    wait_for_port(port).await;
    common::wait_http_ready(port, 60).await;
    let base = format!("http://127.0.0.1:{port}");

    // Search by title: type, wait for the autocomplete, pick with the keyboard.
    client.goto(&format!("{base}/similar_to/")).await.unwrap();
    let input = client.find(Locator::Css("#title-search")).await.unwrap();
    input.send_keys("QUIC").await.unwrap();
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#title-options li[role=option]"))
        .await
        .expect("autocomplete suggestions");
    assert_eq!(
        input.attr("aria-expanded").await.unwrap().as_deref(),
        Some("true")
    );
    screenshot(&client, "search").await;
    input.send_keys("\u{E015}").await.unwrap(); // ArrowDown
    input.send_keys("\u{E007}").await.unwrap(); // Enter
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let url = client.current_url().await.unwrap();
        if url.path().starts_with("/similar_to/9") {
            break;
        }
        assert!(Instant::now() < deadline, "still at {url}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The similar_to page: a subject and results linking onwards.
    let h1 = client.find(Locator::Css("h1")).await.unwrap();
    assert!(h1.text().await.unwrap().contains("QUIC"));
    let results = client.find_all(Locator::Css(".result")).await.unwrap();
    assert!(!results.is_empty(), "results on the similar_to page");
    screenshot(&client, "similar_to").await;

    // Upload the upstream thesis as .docx and see results.
    client
        .goto(&format!("{base}/upload/recommend/"))
        .await
        .unwrap();
    let file = client.find(Locator::Css("#file")).await.unwrap();
    let docx = upstream_fixture("1721.1-33360.docx")
        .canonicalize()
        .unwrap();
    file.send_keys(docx.to_str().unwrap()).await.unwrap();
    client
        .find(Locator::Css("form.upload button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let outcome = client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("section.outcome"))
        .await
        .expect("the upload's outcome");
    assert!(outcome
        .text()
        .await
        .unwrap()
        .contains("If you wrote this, you might also like"));
    let results = client
        .find_all(Locator::Css("section.outcome .result"))
        .await
        .unwrap();
    assert!(!results.is_empty(), "results for the uploaded thesis");
    client
        .execute(
            "document.querySelector('section.outcome').scrollIntoView()",
            vec![],
        )
        .await
        .unwrap();
    screenshot(&client, "upload").await;

    client.close().await.unwrap();
    shutdown.notify();
    let _ = server.await;
}
