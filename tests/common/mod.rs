//! Shared test scaffolding: a fresh database per test on each backend, the RFC corpus path,
//! and a macro that runs one scenario against both SQLite and Postgres.
//!
//! SQLite: a new file in a temp dir. Postgres: a new database created from
//! `TEST_DATABASE_URL` (scripts/test.sh sets it) and dropped when the test ends. Without
//! `TEST_DATABASE_URL` the Postgres variants say so and skip, except under CI=true, where they
//! fail: CI must never silently skip them.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of this module"
)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use hamlet::cli::import::{CommonOpts, RfcOpts};
use hamlet::store::{ImportReport, Store};
use sqlx::{Connection, Executor};

pub enum Kind {
    Sqlite,
    Postgres,
}

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    /// A fresh database of `kind`, or None when Postgres is not configured outside CI.
    pub async fn new(kind: Kind) -> Option<TestDb> {
        match kind {
            Kind::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}/hamlet.sqlite3", dir.path().display());
                Some(TestDb {
                    url,
                    pg: None,
                    _dir: Some(dir),
                })
            }
            Kind::Postgres => {
                let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
                    if std::env::var("CI").is_ok_and(|v| v == "true") {
                        panic!("TEST_DATABASE_URL is not set: CI must run the Postgres tests");
                    }
                    eprintln!("TEST_DATABASE_URL is not set: skipping the Postgres variant");
                    return None;
                };
                let name = format!(
                    "hamlet_test_{}_{}_{}",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::Relaxed),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .subsec_nanos()
                );
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .expect("connect to TEST_DATABASE_URL");
                conn.execute(format!("CREATE DATABASE {name}").as_str())
                    .await
                    .expect("create test database");
                conn.close().await.ok();
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                Some(TestDb {
                    url: format!("{base}/{name}"),
                    pg: Some((admin, name)),
                    _dir: None,
                })
            }
        }
    }

    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url, 4).await.expect("connect");
        store.migrate().await.expect("migrate");
        store
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            // Drop runs outside any runtime: give the cleanup its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                        let _ = conn
                            .execute(
                                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
                            )
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

/// `../shared/corpora/rfc`, beside the project root.
pub fn rfc_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora/rfc");
    assert!(
        dir.join("rfc-index.txt").exists(),
        "the RFC corpus is missing at {}",
        dir.display()
    );
    dir
}

/// The RFCs the tests import: QUIC and what it cites, plus a few classics and a gap.
pub const SUBSET: &str = "9000-9002,2119,8174,793,791,1149,14";

/// QUIC and its companion RFCs: what a model of the topic subsets should find together.
pub const QUIC: [i64; 11] = [
    9000, 9001, 9002, 9114, 9221, 9250, 9287, 9308, 9312, 9368, 9369,
];

/// A small, quickly trained PV-DBOW configuration for the topic subsets of the tests.
pub fn small_dbow_config() -> hamlet::model::ModelConfig {
    hamlet::model::ModelConfig {
        mode: hamlet::model::Mode::Dbow,
        dim: 32,
        min_count: 2,
        epochs: 20,
        max_doc_words: 0,
        ..hamlet::model::ModelConfig::default()
    }
}

pub async fn import_subset(store: &Store) -> ImportReport {
    import_rfc(store, rfc_dir(), SUBSET)
        .await
        .expect("import the RFC subset")
}

pub async fn import_rfc(store: &Store, dir: PathBuf, only: &str) -> anyhow::Result<ImportReport> {
    let opts = RfcOpts {
        dir,
        only: Some(only.to_string()),
        common: CommonOpts {
            if_empty: false,
            dry_run: false,
        },
    };
    hamlet::cli::import::import_rfc(store, opts).await
}

/// Runs `async fn $name(db: TestDb)` once on SQLite and once on Postgres.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::common::TestDb::new($crate::common::Kind::Sqlite).await.unwrap();
                    super::$name(db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::common::TestDb::new($crate::common::Kind::Postgres).await {
                        super::$name(db).await;
                    }
                }
            )*
        }
    };
}
