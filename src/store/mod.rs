//! The collection store: one sqlx `Any` pool over SQLite (the embedded default) or Postgres
//! (heroku, aws), chosen by the scheme of `DATABASE_URL`, and the migrations for each.
//!
//! Owns every SQL statement of the project. Knows nothing of HTTP or tensors: `web` and `cli`
//! call in, never the other way round.
//!
//! Why our own pool rather than rocket_db_pools: rocket_db_pools 0.2 connects eagerly while
//! Rocket ignites, so a database that is down at boot stops the server from binding its port,
//! and it offers no per-backend connection setup. The service must bind at once and report
//! readiness on `/health/` instead, so the pool is created lazily here and managed as state.
//!
//! Placeholders are written `$1, $2, ...`: Postgres requires that form and SQLite accepts it,
//! so one statement text serves both backends (bulk inserts excepted, see `values_list`).

pub(crate) mod citations;
pub(crate) mod documents;
pub(crate) mod harvests;
pub(crate) mod import;
pub(crate) mod search;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::AnyPool;

pub use documents::{CollectionStats, DocumentRow};
pub use harvests::HarvestState;
pub use import::{ImportReport, ImportWriter, NewCitation, NewDepartment, NewDocument};
pub use search::{PersonHit, TitleHit};

/// A collection identifier (the DSpace handle suffix of a thesis, the number of an RFC).
#[derive(
    Debug,
    Default,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct DocId(pub i64);

impl std::fmt::Display for DocId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Errors of the store. Knows nothing of HTTP: `web::Error` maps `NotFound` to 404.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unsupported database URL scheme {0:?}: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnknownScheme(String),
    #[error("invalid database URL: {0}")]
    BadUrl(String),
    #[error("no such document: {0}")]
    NotFound(DocId),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl Error {
    /// Whether the database is unavailable for now rather than the statement being wrong: the
    /// pool could not get a connection, the connection broke (I/O, TLS, a protocol exchange cut
    /// off mid-message), or the server said it is shutting down or starting (SQLSTATE 57P*),
    /// lost the connection (class 08), ran out of resources (class 53: too many connections, a
    /// full disk) or failed in its own system (class 58). The web layer answers these with 503
    /// and a `Retry-After`; anything else is a bug (500).
    pub fn is_unavailable(&self) -> bool {
        match self {
            Error::Database(
                sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::Protocol(_)
                | sqlx::Error::WorkerCrashed,
            ) => true,
            Error::Database(sqlx::Error::Database(db)) => db.code().is_some_and(|c| {
                c.starts_with("57P")
                    || c.starts_with("08")
                    || c.starts_with("53")
                    || c.starts_with("58")
            }),
            _ => false,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The database backend, picked from the URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Picks the backend from a database URL's scheme; any other scheme is an error rather
    /// than a silently created SQLite file.
    pub fn from_url(url: &str) -> Result<Backend> {
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or("");
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(Error::UnknownScheme(scheme.to_string())),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A handle on the collection database: the pool and which backend it talks to.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The normalised URL, for connections outside the pool (imports).
    url: String,
}

impl Store {
    /// Creates the pool without connecting: the first query connects. A SQLite file (and its
    /// parent directory) is created when missing, as Rocket's own SQLite pools do; sqlx's Any
    /// driver would not.
    pub fn connect_lazy(url: &str, max_connections: u32) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite => sqlite_url_with_create(url)?,
            Backend::Postgres => url.to_string(),
        };
        let options =
            AnyConnectOptions::from_str(&url).map_err(|e| Error::BadUrl(e.to_string()))?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(5))
            .idle_timeout(Some(Duration::from_secs(300)))
            .connect_lazy_with(options);
        Ok(Store { pool, backend, url })
    }

    /// Connects and checks the connection works.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store> {
        let store = Store::connect_lazy(url, max_connections)?;
        store.ping().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A connection outside the pool for an import's long transaction: dropping it without
    /// a commit closes it, which rolls the transaction back, and the pool's connections stay
    /// free for the web server meanwhile.
    pub(crate) async fn import_connection(&self) -> Result<sqlx::AnyConnection> {
        use sqlx::ConnectOptions;
        let options =
            AnyConnectOptions::from_str(&self.url).map_err(|e| Error::BadUrl(e.to_string()))?;
        // Its statements are bulk writes: the import's COMMIT takes seconds by design, which
        // sqlx would otherwise log as a slow-statement warning.
        let options = options.log_slow_statements(log::LevelFilter::Debug, Duration::from_secs(10));
        Ok(options.connect().await?)
    }

    /// A round trip to the database.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Applies the pending migrations of this backend; returns how many were applied.
    pub async fn migrate(&self) -> Result<usize> {
        let migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("migrations/postgres"),
        };
        if self.backend == Backend::Sqlite {
            // WAL lets the web server read while an import writes; it persists in the file.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&self.pool)
                .await?;
        }
        let before = self.applied_migrations().await;
        migrator.run(&self.pool).await?;
        Ok(self.applied_migrations().await.saturating_sub(before))
    }

    /// How many migrations have been applied (0 before the first).
    async fn applied_migrations(&self) -> usize {
        sqlx::query_as::<_, (i64,)>("SELECT COUNT(*) FROM _sqlx_migrations")
            .fetch_one(&self.pool)
            .await
            .map_or(0, |(n,)| n as usize)
    }

    /// Closes every connection (the CLI calls this before exiting so SQLite checkpoints).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `sqlite://data/x.db` -> `sqlite://data/x.db?mode=rwc`, creating `data/` first.
fn sqlite_url_with_create(url: &str) -> Result<String> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() {
        return Err(Error::BadUrl(
            "sqlite URL without a path (use sqlite://data/hamlet.sqlite3)".into(),
        ));
    }
    if path != ":memory:" {
        if let Some(parent) = std::path::Path::new(path).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent).map_err(|e| {
                    Error::BadUrl(format!("cannot create {}: {e}", parent.display()))
                })?;
            }
        }
    }
    let query = if query.split('&').any(|kv| kv.starts_with("mode=")) {
        query.to_string()
    } else if query.is_empty() {
        "mode=rwc".to_string()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{path}?{query}"))
}

/// Reads column `i` of a row (`Option<T>` for a nullable one).
pub(crate) fn col<'r, T>(row: &'r sqlx::any::AnyRow, i: usize) -> Result<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    use sqlx::Row;
    Ok(row.try_get(i)?)
}

/// The VALUES list of a multi-row insert: `($1,$2),($3,$4),...` on Postgres, `(?,?),(?,?),...`
/// on SQLite. Why not `$N` on SQLite too: sqlx looks up each parameter's name with
/// `sqlite3_bind_parameter_name`, which walks a list, so thousands of named parameters cost
/// quadratic time (42% of the whole RFC import before this); anonymous ones have no names.
pub(crate) fn values_list(backend: Backend, rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            s.push(',');
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push(',');
            }
            n += 1;
            push_param(&mut s, backend, n);
        }
        s.push(')');
    }
    s
}

/// The list inside `IN (...)`, placeholders as in `values_list`.
pub(crate) fn param_list(backend: Backend, n: usize) -> String {
    let mut s = String::with_capacity(n * 5);
    for i in 1..=n {
        if i > 1 {
            s.push(',');
        }
        push_param(&mut s, backend, i);
    }
    s
}

fn push_param(s: &mut String, backend: Backend, n: usize) {
    match backend {
        Backend::Sqlite => s.push('?'),
        Backend::Postgres => {
            s.push('$');
            s.push_str(&n.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_from_scheme() {
        assert_eq!(Backend::from_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::from_url("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::from_url("postgresql://u@h/db").unwrap(),
            Backend::Postgres
        );
        let err = Backend::from_url("mysql://u@h/db").unwrap_err().to_string();
        assert!(err.contains("\"mysql\""), "{err}");
        assert!(Backend::from_url("data/hamlet.db").is_err());
    }

    #[test]
    fn broken_connections_are_unavailable_and_bad_statements_are_not() {
        let db = |e: sqlx::Error| Error::Database(e);
        assert!(db(sqlx::Error::PoolTimedOut).is_unavailable());
        assert!(db(sqlx::Error::Protocol("execute: unexpected message".into())).is_unavailable());
        let eof = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        assert!(db(sqlx::Error::Io(eof)).is_unavailable());
        assert!(!db(sqlx::Error::RowNotFound).is_unavailable());
        assert!(!db(sqlx::Error::ColumnNotFound("x".into())).is_unavailable());
        assert!(!Error::NotFound(DocId(1)).is_unavailable());
    }

    #[test]
    fn sqlite_urls_create_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/sub/x.db", dir.path().display());
        let out = sqlite_url_with_create(&url).unwrap();
        assert!(out.ends_with("/sub/x.db?mode=rwc"), "{out}");
        assert!(dir.path().join("sub").is_dir());
        assert_eq!(
            sqlite_url_with_create("sqlite://:memory:").unwrap(),
            "sqlite://:memory:?mode=rwc"
        );
        assert_eq!(
            sqlite_url_with_create("sqlite://a.db?mode=ro").unwrap(),
            "sqlite://a.db?mode=ro"
        );
    }

    #[test]
    fn values_lists() {
        assert_eq!(
            values_list(Backend::Postgres, 2, 3),
            "($1,$2,$3),($4,$5,$6)"
        );
        assert_eq!(values_list(Backend::Sqlite, 2, 2), "(?,?),(?,?)");
        assert_eq!(param_list(Backend::Postgres, 3), "$1,$2,$3");
        assert_eq!(param_list(Backend::Sqlite, 2), "?,?");
    }
}
