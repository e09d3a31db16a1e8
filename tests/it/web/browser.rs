//! End to end in a real browser: Debian's headless Chromium, driven through ChromeDriver
//! (WebDriver), against the app listening on a loopback port. It searches by title with the
//! autocomplete, opens a similar_to page, uploads the upstream thesis (.docx) and sees results,
//! and saves screenshots at 1280 and 390 px wide under `target/e2e/`. A second session uses the
//! collection map: it draws, a pointed-at dot shows its title, a click opens its similar_to
//! page, that page links back to the document on the map, and an uploaded draft is placed.
//!
//! scripts/test.sh installs chromium and chromium-driver; without them these tests skip with a
//! message, except under CI=true, where they fail.

use crate::common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::chromium::{browser, free_port, wait_for_port};
use common::{import_rfc, rfc_dir, topics_model, upstream_fixture, TestDb, TOPICS};
use fantoccini::{Client, Locator};
use hamlet::config::AppConfig;

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

/// The app on a loopback port, serving the `TOPICS` RFCs and their test model.
struct App {
    _db: TestDb,
    base: String,
    shutdown: rocket::Shutdown,
    server: tokio::task::JoinHandle<Result<rocket::Rocket<rocket::Ignite>, rocket::Error>>,
}

impl App {
    async fn start() -> App {
        let db = TestDb::new(common::Kind::Sqlite).await.unwrap();
        let store = db.store().await;
        import_rfc(&store, rfc_dir(), TOPICS).await.unwrap();
        let port = free_port();
        let mut cfg = AppConfig::for_tests(&db.url);
        cfg.model_path = topics_model(&store).await;
        cfg.port = port;
        // A 20-document test model's cosines run lower than a production model's (0.8 and more
        // between close RFCs on the full collection): the thresholds are configuration, lowered
        // here so that the pages show results.
        cfg.document_min_score = Some(0.0);
        cfg.text_min_score = Some(0.0);
        let app = hamlet::rocket(cfg).ignite().await.expect("ignite");
        let shutdown = app.shutdown();
        let server = tokio::spawn(app.launch());
        wait_for_port(port).await;
        common::wait_http_ready(port, 60).await;
        App {
            _db: db,
            base: format!("http://127.0.0.1:{port}"),
            shutdown,
            server,
        }
    }

    async fn stop(self) {
        self.shutdown.notify();
        let _ = self.server.await;
    }
}

/// A browser and the app, or None (with a message) when Chromium is missing outside CI.
struct Session {
    client: Client,
    app: App,
    _driver: common::chromium::Driver,
    _profile: tempfile::TempDir,
}

impl Session {
    async fn start() -> Option<Session> {
        // Two rustls crypto providers are linked (see Cargo.toml): fantoccini needs one chosen.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let profile = tempfile::tempdir().unwrap();
        let (driver, client) = browser(profile.path()).await?;
        Some(Session {
            client,
            app: App::start().await,
            _driver: driver,
            _profile: profile,
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_browse_and_upload_in_chromium() {
    let Some(Session {
        client,
        app,
        _driver,
        _profile,
    }) = Session::start().await
    else {
        return;
    };
    let base = app.base.clone();

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
    app.stop().await;
}

/// The text of the element `css` selects.
async fn text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Waits until `script` (a JavaScript expression) is truthy in the page.
async fn wait_until(client: &Client, script: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = client
            .execute(&format!("return !!({script});"), vec![])
            .await
            .unwrap();
        if v == serde_json::Value::Bool(true) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Where document `id` is drawn, in viewport pixels, once two readings 200 ms apart agree (a
/// window resize re-lays the page out a little later, under load sometimes much later).
async fn dot(client: &Client, id: i64) -> (i64, i64) {
    let read = || async {
        let at = client
            .execute(&format!("return window.hamletMap.screenOf({id});"), vec![])
            .await
            .unwrap();
        (
            at["x"].as_f64().expect("on the map").round() as i64,
            at["y"].as_f64().unwrap().round() as i64,
        )
    };
    let mut last = read().await;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = read().await;
        if now == last {
            return now;
        }
        last = now;
    }
    panic!("the dot of {id} keeps moving");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_map_in_chromium() {
    use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
    let Some(Session {
        client,
        app,
        _driver,
        _profile,
    }) = Session::start().await
    else {
        return;
    };
    let base = app.base.clone();

    client.goto(&format!("{base}/map/")).await.unwrap();
    wait_until(
        &client,
        "document.getElementById('map').dataset.ready",
        "the map",
    )
    .await;
    let points = client
        .execute(
            "return document.getElementById('map').dataset.points;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(points, "20", "every document of the model is on the map");
    // Dots were drawn: pixels that are not the background.
    let drawn = client
        .execute(
            "const c = document.querySelector('#map canvas'); \
             const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; \
             let n = 0; for (let i = 0; i < d.length; i += 4) \
               if (d[i] !== 255 || d[i + 1] !== 253 || d[i + 2] !== 248) n++; \
             return n;",
            vec![],
        )
        .await
        .unwrap();
    assert!(drawn.as_u64().unwrap() >= 20 * 4, "{drawn} pixels drawn");
    let legend = text_of(&client, "#map-legend").await;
    assert!(
        legend.contains("Internet Engineering Task Force (IETF)"),
        "{legend}"
    );
    // The regions are named at this zoom, on the canvas and in the list beside it.
    let regions = text_of(&client, "#map-regions").await;
    assert!(
        regions.contains('('),
        "named regions with their documents: {regions}"
    );

    // Find, by keyboard: a title word highlights its documents, an author's name theirs, and
    // a year range hides the rest.
    let q = client.find(Locator::Css("#map-q")).await.unwrap();
    q.send_keys("quic").await.unwrap();
    wait_until(
        &client,
        "document.getElementById('map').dataset.matches",
        "a search",
    )
    .await;
    let matches = |client: &Client| {
        let client = client.clone();
        async move {
            client
                .execute(
                    "return Number(document.getElementById('map').dataset.matches);",
                    vec![],
                )
                .await
                .unwrap()
                .as_u64()
                .unwrap()
        }
    };
    let quic = matches(&client).await;
    assert!(
        (5..20).contains(&quic),
        "{quic} documents with QUIC in their title"
    );
    q.clear().await.unwrap();
    q.send_keys("postel").await.unwrap();
    wait_until(
        &client,
        "document.getElementById('map-found').textContent.includes('2 documents match')",
        "Postel's two RFCs (791, 793)",
    )
    .await;
    q.clear().await.unwrap();
    q.send_keys("quic").await.unwrap();
    let from = client.find(Locator::Css("#map-year-from")).await.unwrap();
    from.send_keys("2023").await.unwrap();
    wait_until(
        &client,
        "document.getElementById('map-found').textContent.includes('in these years')",
        "the year filter",
    )
    .await;
    let recent = matches(&client).await;
    assert!(
        recent >= 1 && recent < quic,
        "{recent} of {quic} QUIC documents from 2023 on"
    );
    screenshot(&client, "map-found").await;
    q.clear().await.unwrap();
    from.clear().await.unwrap();

    // /map/?focus=9000 (the similar_to page's link) centres RFC 9000 and labels it.
    client
        .goto(&format!("{base}/map/?focus=9000"))
        .await
        .unwrap();
    wait_until(
        &client,
        "document.getElementById('map').dataset.ready",
        "the focused map",
    )
    .await;
    let tip = text_of(&client, "#map-tip").await;
    assert!(
        tip.contains("QUIC: A UDP-Based Multiplexed and Secure Transport"),
        "{tip}"
    );

    // Keyboard only: the map takes the focus; the arrows move it by 60 px, + zooms in by 1.5
    // about the centre, 0 shows it whole again.
    let canvas = client.find(Locator::Css("#map canvas")).await.unwrap();
    canvas.send_keys("\u{E008}").await.unwrap(); // Shift: focus (and scroll) only
    let (x0, y0) = dot(&client, 9000).await;
    canvas.send_keys("\u{E012}").await.unwrap(); // ArrowLeft: the map moves right
    let (x1, y1) = dot(&client, 9000).await;
    canvas.send_keys("\u{E013}").await.unwrap(); // ArrowUp: the map moves down
    let (x2, y2) = dot(&client, 9000).await;
    // (Within a pixel: a dot's place is rounded.)
    let moved = [(x1 - x0, 60), (y1 - y0, 0), (x2 - x1, 0), (y2 - y1, 60)];
    assert!(
        moved.iter().all(|(got, want)| (got - want).abs() <= 1),
        "panned by the arrow keys: {moved:?}"
    );
    let far = dot(&client, 791).await;
    canvas.send_keys("+").await.unwrap();
    let (x3, y3) = dot(&client, 9000).await;
    let far3 = dot(&client, 791).await;
    let span =
        |a: (i64, i64), b: (i64, i64)| (((a.0 - b.0).pow(2) + (a.1 - b.1).pow(2)) as f64).sqrt();
    let zoomed = span((x3, y3), far3) / span((x2, y2), far);
    assert!((zoomed - 1.5).abs() < 0.05, "+ zoomed by {zoomed}");
    canvas.send_keys("0").await.unwrap();

    // Point at its dot: the title shows; click: its similar_to page opens.
    let (x, y) = dot(&client, 9000).await;
    let mouse = MouseActions::new("mouse".into())
        .then(PointerAction::MoveTo {
            duration: None,
            x: x + 30,
            y,
        })
        .then(PointerAction::MoveTo {
            duration: None,
            x,
            y,
        });
    client.perform_actions(mouse).await.unwrap();
    wait_until(
        &client,
        "document.querySelector('#map canvas.pointing')",
        "the pointer over a dot",
    )
    .await;
    let tip = text_of(&client, "#map-tip").await;
    assert!(
        tip.contains("QUIC: A UDP-Based Multiplexed and Secure Transport"),
        "{tip}"
    );
    screenshot(&client, "map").await;
    let (x, y) = dot(&client, 9000).await;
    let click = MouseActions::new("mouse".into())
        .then(PointerAction::MoveTo {
            duration: None,
            x,
            y,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    client.perform_actions(click).await.unwrap();
    wait_until(
        &client,
        "location.pathname.startsWith('/similar_to/9000')",
        "the similar_to page",
    )
    .await;
    // That page links back to the document on the map.
    client
        .find(Locator::LinkText("Show on the map"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_until(&client, "location.search === '?focus=9000' && document.getElementById('map') && document.getElementById('map').dataset.ready", "the map again").await;

    // Place the upstream thesis on the map: a marker and its nearest documents.
    let file = client.find(Locator::Css("#map-file")).await.unwrap();
    let txt = upstream_fixture("1721.1-33360.txt").canonicalize().unwrap();
    file.send_keys(txt.to_str().unwrap()).await.unwrap();
    client
        .find(Locator::Css("#map-place button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_until(
        &client,
        "document.getElementById('map').dataset.placed",
        "the placed draft",
    )
    .await;
    let nearest = client
        .find_all(Locator::Css("#map-placed li"))
        .await
        .unwrap();
    assert!(
        !nearest.is_empty(),
        "the draft's nearest documents are listed"
    );
    screenshot(&client, "map-placed").await;

    // The frame-time probe benches/map.sh uses answers (the figures come from the bench).
    let bench = client
        .execute("return window.hamletMap.benchmark(30);", vec![])
        .await
        .unwrap();
    assert_eq!(bench["frames"], 30);
    assert!(
        bench["median"].as_f64().unwrap() >= 0.0 && bench["points"] == 20,
        "{bench}"
    );

    client.close().await.unwrap();
    app.stop().await;
}

/// axe-core (npm; `scripts/setup-browser.sh` installs it under ~/.cache/hamlet/axe) as a
/// script to inject, or None when it is missing outside CI.
fn axe_source() -> Option<String> {
    let path = std::env::var_os("HAMLET_AXE_JS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| {
                PathBuf::from(h).join(".cache/hamlet/axe/node_modules/axe-core/axe.min.js")
            })
        })?;
    match std::fs::read_to_string(&path) {
        Ok(s) => Some(s),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "{}: {e}: scripts/setup-browser.sh installs axe-core",
                path.display()
            )
        }
        Err(e) => {
            eprintln!("{}: {e}: skipping the accessibility check", path.display());
            None
        }
    }
}

/// The serious and critical axe-core violations of the page `client` shows, as lines.
async fn axe_violations(client: &Client, axe: &str) -> Vec<String> {
    client.execute(axe, vec![]).await.expect("axe-core loads");
    let result = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {resultTypes: ['violations']})
               .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact,
                 help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))))
               .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));",
            vec![],
        )
        .await
        .expect("axe-core runs");
    result
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious") | Some("critical")))
        .map(|v| {
            format!(
                "{} ({}): {} at {}",
                v["id"], v["impact"], v["help"], v["nodes"]
            )
        })
        .collect()
}

/// Every page, at desktop and phone widths, has no serious or critical accessibility
/// violation that axe-core finds (issue 25); the filters work from the keyboard alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_passes_axe_at_desktop_and_phone_widths() {
    let Some(axe) = axe_source() else { return };
    let Some(Session {
        client,
        app,
        _driver,
        _profile: profile,
    }) = Session::start().await
    else {
        return;
    };
    let base = app.base.clone();
    // The check itself can fail: an image without a text alternative is a critical violation.
    client
        .goto("data:text/html,<html lang=en><title>t</title><main><img src=x.png></main></html>")
        .await
        .unwrap();
    let broken = axe_violations(&client, &axe).await;
    assert!(
        broken.iter().any(|v| v.contains("image-alt")),
        "axe-core reports a missing alt: {broken:?}"
    );
    let pages = [
        "/",
        "/about/",
        "/similar_to/",
        "/similar_to/?title=quic",
        "/similar_to/9000/",
        "/similar_to/9000/?degree=Informational&year_from=2000",
        "/similar_to/author/1/",
        "/upload/recommend/",
        "/citations/lit_review_buddy/",
        "/map/",
        "/no/such/page",
    ];
    let mut failures = Vec::new();
    for width in [1280u32, 390] {
        client.set_window_size(width, 1000).await.unwrap();
        for page in pages {
            client.goto(&format!("{base}{page}")).await.unwrap();
            for v in axe_violations(&client, &axe).await {
                failures.push(format!("{page} at {width} px: {v}"));
            }
        }
    }
    // A result page after an upload, sent from the keyboard alone: Tab from the top of the
    // page to the text box (past the file chooser), type, Tab to the button, Enter.
    client.set_window_size(1280, 1000).await.unwrap();
    client
        .goto(&format!("{base}/upload/recommend/"))
        .await
        .unwrap();
    let mut order = Vec::new();
    let text = tab_to(&client, "#text", &mut order).await;
    assert!(
        order.iter().any(|id| id == "file"),
        "the file chooser is reached by Tab before the text box: {order:?}"
    );
    text.send_keys("QUIC streams over UDP with TLS handshakes and loss recovery")
        .await
        .unwrap();
    press(&client, '\u{E004}').await; // Tab
    tab_to(&client, "form.upload button[type=submit]", &mut order).await;
    press(&client, '\u{E007}').await; // Enter
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(".results"))
        .await
        .expect("results after the upload");
    for v in axe_violations(&client, &axe).await {
        failures.push(format!("upload results: {v}"));
    }
    assert!(
        failures.is_empty(),
        "axe-core found serious or critical violations:\n{}",
        failures.join("\n")
    );

    // Keyboard only: choose a degree with the arrow keys, Tab to "Filter", press Enter.
    client
        .goto(&format!("{base}/similar_to/9000/"))
        .await
        .unwrap();
    let select = client.find(Locator::Css("#degree-filter")).await.unwrap();
    select.send_keys("\u{E015}").await.unwrap(); // ArrowDown: the first degree
    select.send_keys("\u{E004}").await.unwrap(); // Tab
    let focused = client.active_element().await.unwrap();
    assert_eq!(focused.text().await.unwrap(), "Filter");
    focused.send_keys("\u{E007}").await.unwrap(); // Enter
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let url = client.current_url().await.unwrap();
        if url.query().is_some_and(|q| q.contains("degree=")) {
            break;
        }
        assert!(Instant::now() < deadline, "still at {url}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    screenshot(&client, "filtered").await;

    // Export the filtered list by keyboard: focus "BibTeX", Enter; the browser saves the file
    // the server named, and it is BibTeX of the filtered documents. Shown as text for the
    // screenshot.
    let link = client.find(Locator::LinkText("BibTeX")).await.unwrap();
    link.send_keys("\u{E007}").await.unwrap(); // Enter
    let downloads = profile.path().join("downloads");
    let deadline = Instant::now() + Duration::from_secs(20);
    // Chromium writes `NAME.crdownload` and renames it when done, but the `.bib` can show
    // up before its bytes are all on disk (issue 38: read once while still empty): wait until
    // no partial download is left and the file's size has held, non-zero, for 300 ms.
    let mut last: Option<(PathBuf, u64, Instant)> = None;
    let saved = loop {
        let entries: Vec<PathBuf> = std::fs::read_dir(&downloads)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        let partial = entries
            .iter()
            .any(|p| p.extension().is_some_and(|x| x == "crdownload"));
        let bib = entries
            .into_iter()
            .find(|p| p.extension().is_some_and(|x| x == "bib"));
        if let (Some(path), false) = (bib, partial) {
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            match &last {
                Some((p, s, since))
                    if *p == path
                        && *s == size
                        && size > 0
                        && since.elapsed() >= Duration::from_millis(300) =>
                {
                    break path;
                }
                Some((p, s, _)) if *p == path && *s == size => {}
                _ => last = Some((path, size, Instant::now())),
            }
        }
        assert!(
            Instant::now() < deadline,
            "no complete .bib in {} (last seen: {last:?})",
            downloads.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let name = saved.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("hamlet-"), "{name}");
    let bib = std::fs::read_to_string(&saved).unwrap();
    assert!(bib.trim_start().starts_with('@'), "{bib}");
    assert!(
        bib.contains("title = {") && bib.contains("url = {https://www.rfc-editor.org/rfc/rfc"),
        "{bib}"
    );
    let shown = downloads.join("export-bibtex.txt");
    std::fs::write(&shown, &bib).unwrap();
    client
        .goto(&format!("file://{}", shown.display()))
        .await
        .unwrap();
    screenshot(&client, "export").await;
    client.close().await.unwrap();
    app.stop().await;
}

/// Press Tab until the focus is on `css` (at most 40 times), noting the ids passed in `order`.
async fn tab_to(
    client: &Client,
    css: &str,
    order: &mut Vec<String>,
) -> fantoccini::elements::Element {
    let target = client.find(Locator::Css(css)).await.unwrap();
    for _ in 0..40 {
        let focused = client.active_element().await.unwrap();
        if focused.element_id() == target.element_id() {
            return focused;
        }
        order.push(focused.attr("id").await.unwrap().unwrap_or_default());
        press(client, '\u{E004}').await; // Tab
    }
    panic!("Tab never reached {css}; passed {order:?}");
}

/// Presses and releases `key` on the keyboard, wherever the focus is (an element's send_keys
/// would type into it: a file chooser takes keys for a path).
async fn press(client: &Client, key: char) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    client.perform_actions(keys).await.unwrap();
}
