//! A database that restarts under a running server and a load: the test starts its own
//! PostgreSQL (initdb and pg_ctl from Debian's packages, on a free port), serves from it, and
//! while requests keep coming stops it and starts it again. While it is down, `/health/ready` says so with 503, the routes that need the database
//! fail fast with 503, and what the server holds in memory keeps answering; once it is back,
//! everything answers again without restarting the app; no request ever gets a 500.

use crate::common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{import_rfc, rfc_dir, topics_model, TOPICS};
use hamlet::config::AppConfig;
use rocket::http::Status;
use rocket::local::asynchronous::Client;

/// A PostgreSQL server of this test's own, in a temporary directory.
struct PrivatePostgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl PrivatePostgres {
    fn new() -> Option<PrivatePostgres> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .find(|b| b.join("pg_ctl").exists());
        let Some(bin) = bin else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL's server binaries are missing (scripts/ensure-postgres.sh installs them)");
            }
            eprintln!("no PostgreSQL server binaries: skipping");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pg = PrivatePostgres {
            bin,
            data,
            port,
            _dir: dir,
        };
        // initdb refuses to run as root: run the server's tools as the postgres user then.
        Command::new("chmod")
            .args(["777", &pg._dir.path().display().to_string()])
            .status()
            .unwrap();
        assert!(pg
            .run(
                "initdb",
                &[
                    "-D",
                    &pg.data.display().to_string(),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8"
                ]
            )
            .success());
        pg.start();
        Some(pg)
    }

    fn run(&self, tool: &str, args: &[&str]) -> std::process::ExitStatus {
        let exe = self.bin.join(tool).display().to_string();
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let mut cmd = if root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", &exe]);
            c
        } else {
            Command::new(&exe)
        };
        cmd.args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap()
    }

    fn start(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self._dir.path().display()
        );
        assert!(self
            .run(
                "pg_ctl",
                &[
                    "-D",
                    &self.data.display().to_string(),
                    "-o",
                    &opts,
                    "-w",
                    "start"
                ]
            )
            .success());
    }

    fn stop(&self) {
        assert!(self
            .run(
                "pg_ctl",
                &[
                    "-D",
                    &self.data.display().to_string(),
                    "-m",
                    "fast",
                    "-w",
                    "stop"
                ]
            )
            .success());
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data.display().to_string(),
                "-m",
                "immediate",
                "stop",
            ],
        );
    }
}

async fn status(client: &Client, uri: &str) -> (Status, Duration) {
    let t = Instant::now();
    let res = client.get(uri).dispatch().await;
    (res.status(), t.elapsed())
}

/// Polls `uri` until it answers `want` (at most `secs`).
async fn until(client: &Client, uri: &str, want: Status, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let (got, _) = status(client, uri).await;
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{uri} answered {got}, not {want}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_and_started_again_under_a_running_server() {
    let Some(pg) = PrivatePostgres::new() else {
        return;
    };
    let store = hamlet::store::Store::connect(&pg.url(), 2).await.unwrap();
    store.migrate().await.unwrap();
    import_rfc(&store, rfc_dir(), TOPICS).await.unwrap();
    let mut cfg = AppConfig::for_tests(&pg.url());
    cfg.model_path = topics_model(&store).await;
    store.close().await;
    let log = common::server_log::mark();
    let client = common::ready_client(cfg).await;
    assert_eq!(status(&client, "/api/search?q=QUIC").await.0, Status::Ok);

    // A load runs through the whole scenario: every answer is a 200 or a 503, never a 500.
    // Any other answer is kept with its path and body, and printed with the server's log
    // (issue 38: a 500 seen once in CI had no recorded cause).
    let done = std::sync::atomic::AtomicBool::new(false);
    let load = async {
        let mut seen = std::collections::BTreeMap::new();
        let mut odd = Vec::new();
        let uris = [
            "/api/search?q=QUIC",
            "/similar_to/9000/",
            "/api/documents/9000/similar?min_score=-1",
            "/",
        ];
        let mut i = 0;
        while !done.load(std::sync::atomic::Ordering::Relaxed) {
            let uri = uris[i % uris.len()];
            let res = client.get(uri).dispatch().await;
            let got = res.status();
            *seen.entry(got.code).or_insert(0u32) += 1;
            if got != Status::Ok && got != Status::ServiceUnavailable && odd.len() < 5 {
                let body = res.into_string().await.unwrap_or_default();
                let body: String = body.chars().take(400).collect();
                odd.push(format!("{got} {uri}: {body}"));
            }
            i += 1;
            tokio::task::yield_now().await;
        }
        (seen, odd)
    };
    let scenario = async {
        pg.stop();
        until(&client, "/health/ready", Status::ServiceUnavailable, 10).await;
        let res = client.get("/health/ready").dispatch().await;
        let body = res.into_string().await.unwrap();
        assert!(body.contains("\"database\":false"), "{body}");
        // The database's routes fail fast with 503; the in-memory ones keep answering.
        let (got, took) = status(&client, "/api/search?q=QUIC").await;
        assert_eq!(got, Status::ServiceUnavailable);
        assert!(took < Duration::from_secs(6), "failed after {took:?}");
        assert_eq!(status(&client, "/health/live").await.0, Status::Ok);
        assert_eq!(
            status(&client, "/api/documents/9000/similar?min_score=-1")
                .await
                .0,
            Status::Ok
        );

        pg.start();
        until(&client, "/health/ready", Status::Ok, 30).await;
        until(&client, "/api/search?q=QUIC", Status::Ok, 10).await;
        done.store(true, std::sync::atomic::Ordering::Relaxed);
    };
    let ((seen, odd), ()) = tokio::join!(load, scenario);
    assert!(
        seen.keys().all(|code| *code == 200 || *code == 503),
        "answers under load: {seen:?}\nother answers:\n{}\nthe server's warnings and errors:\n{}",
        odd.join("\n"),
        common::server_log::since(log)
    );
    assert!(
        seen.contains_key(&503) && seen.contains_key(&200),
        "{seen:?}"
    );
}
