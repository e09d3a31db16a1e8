//! [map] figures in headless Chromium: the /map/ page of a running server (`HAMLET_MAP_URL`,
//! benches/map.sh starts one with a 43,000-document model), at 1280x1000:
//! - load: fetching /api/map, parsing it, building the hit-test grid and the first frame;
//! - frame time: 300 frames of a zoom-and-pan sequence, each drawn synchronously and timed
//!   (median, p95, max), the work a frame costs the page;
//! - paced frames: 120 frames driven by requestAnimationFrame, the interval between them
//!   (median, p95), what a reader sees (a 60 Hz display caps it at 16.7 ms);
//! - hover: the nearest-dot lookup for 2,000 random pointer positions.
//!
//! Run: `benches/map.sh`. Prints the figures; no assertions.

#[path = "../tests/it/common/chromium.rs"]
mod chromium;

use serde_json::Value;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Ok(url) = std::env::var("HAMLET_MAP_URL") else {
        eprintln!("set HAMLET_MAP_URL to a server's /map/ page (benches/map.sh starts one)");
        return;
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let profile = tempfile::tempdir().unwrap();
    let Some((_driver, client)) = chromium::browser(profile.path()).await else {
        eprintln!("chromium and chromedriver are needed: scripts/setup-browser.sh");
        std::process::exit(1);
    };
    client.goto(&url).await.expect("the map page");
    let run = |script: &'static str| {
        let client = client.clone();
        async move {
            client
                .execute_async(script, vec![])
                .await
                .unwrap_or_else(|e| panic!("{script}: {e}"))
        }
    };
    let load: Value = run("const done = arguments[arguments.length - 1]; \
         window.hamletMap.ready.then(done, (e) => done({error: String(e)}));")
    .await;
    if let Some(e) = load.get("error") {
        panic!("the map did not load: {e}");
    }
    let (gzip, plain) = sizes(&url).await;
    println!(
        "map: {} points; /api/map {:.1} MB of JSON, {:.2} MB gzipped; load (fetch, parse, grid, first frame) {:.0} ms",
        load["points"],
        plain as f64 / 1e6,
        gzip as f64 / 1e6,
        load["loadMs"].as_f64().unwrap_or(0.0)
    );
    let _ = run(
        "const done = arguments[arguments.length - 1]; window.hamletMap.benchmark(20); done(1);",
    )
    .await;
    let frames: Value =
        run("const done = arguments[arguments.length - 1]; done(window.hamletMap.benchmark(300));")
            .await;
    println!(
        "frame time, {} frames of zoom and pan at {}x{} device px: median {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        frames["frames"],
        frames["width"],
        frames["height"],
        frames["median"].as_f64().unwrap_or(0.0),
        frames["p95"].as_f64().unwrap_or(0.0),
        frames["max"].as_f64().unwrap_or(0.0),
    );
    let paced: Value = run(
        "const done = arguments[arguments.length - 1]; window.hamletMap.paced(120).then(done);",
    )
    .await;
    println!(
        "paced by requestAnimationFrame, {} frames: interval median {:.1} ms, p95 {:.1} ms ({:.0} frames/s)",
        paced["frames"],
        paced["median"].as_f64().unwrap_or(0.0),
        paced["p95"].as_f64().unwrap_or(0.0),
        1000.0 / paced["median"].as_f64().unwrap_or(1.0).max(1e-3),
    );
    let hover: Value = run(
        "const done = arguments[arguments.length - 1]; done(window.hamletMap.hoverCost(2000));",
    )
    .await;
    println!(
        "hover lookup: {:.1} us per pointer position ({} positions)",
        hover["microseconds"].as_f64().unwrap_or(0.0),
        hover["positions"]
    );
    client.close().await.ok();
}

/// The size of /api/map gzipped and plain (bytes), read over HTTP.
async fn sizes(page: &str) -> (usize, usize) {
    let api = match page.find("/map") {
        Some(i) => format!("{}/api/map", &page[..i]),
        None => format!("{page}/api/map"),
    };
    let http = reqwest::Client::new();
    let mut sizes = [0usize; 2];
    for (size, encoding) in sizes.iter_mut().zip(["gzip", "identity"]) {
        let res = http
            .get(&api)
            .header("Accept-Encoding", encoding)
            .send()
            .await;
        *size = res.unwrap().bytes().await.unwrap().len();
    }
    (sizes[0], sizes[1])
}
