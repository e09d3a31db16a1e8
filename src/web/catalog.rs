//! An in-memory copy of what result lists show about each document (title, year, people,
//! departments, link) and of the collection's counts, so the pages that list documents answer
//! without database round trips (benches/web.sh: six queries cost the similar_to page most of its
//! time). About 300 bytes per document: ~13 MB for a 43,000-thesis collection.
//!
//! Read by the start-up task (`boot`) once the database is migrated; a background task then
//! re-reads it when the documents' fingerprint changes (checked every `REFRESH`), so an import
//! shows up without a restart. A document
//! missing from the copy (imported since the last check) is read from the database.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::store::{self, CollectionStats, DocId, DocumentRow, Store};

/// How often the background task compares the fingerprint.
pub(crate) const REFRESH: Duration = Duration::from_secs(30);

struct Snapshot {
    docs: HashMap<i64, DocumentRow>,
    stats: CollectionStats,
    fingerprint: (i64, i64, i64, i64),
}

/// The catalog and the store it copies.
pub(crate) struct Catalog {
    store: Store,
    current: RwLock<Arc<Snapshot>>,
    /// Counts the copies read, so what was computed from one is told from the next's.
    generation: AtomicU64,
}

impl Catalog {
    /// A catalog that has read nothing yet; `refresh` fills it.
    pub(crate) fn empty(store: Store) -> Catalog {
        Catalog {
            store,
            current: RwLock::new(Arc::new(Snapshot {
                docs: HashMap::new(),
                stats: CollectionStats::default(),
                // No real fingerprint has a negative count: the first refresh reads.
                fingerprint: (-1, -1, -1, -1),
            })),
            generation: AtomicU64::new(0),
        }
    }

    #[cfg(test)]
    pub(crate) async fn load(store: Store) -> store::Result<Catalog> {
        let catalog = Catalog::empty(store);
        catalog.refresh().await?;
        Ok(catalog)
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// How many copies have been read: read it before the work it labels.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Runs `f` over the documents of the last refresh (no database fallback: for views of
    /// the whole collection, such as the map).
    pub(crate) fn with_documents<T>(&self, f: impl FnOnce(&HashMap<i64, DocumentRow>) -> T) -> T {
        f(&self.snapshot().docs)
    }

    /// How many of `ids` (a model's documents) the collection does not hold, as of the last
    /// refresh: results for them are left out (`discover::hydrate_matches`).
    pub(crate) fn not_held(&self, ids: &[i64]) -> usize {
        let snapshot = self.snapshot();
        ids.iter()
            .filter(|id| !snapshot.docs.contains_key(id))
            .count()
    }

    /// The collection's counts as of the last refresh.
    pub(crate) fn stats(&self) -> CollectionStats {
        self.snapshot().stats.clone()
    }

    /// The documents of `ids` that exist, in the order asked.
    pub(crate) async fn documents(&self, ids: &[DocId]) -> store::Result<Vec<DocumentRow>> {
        let snapshot = self.snapshot();
        let missing: Vec<DocId> = ids
            .iter()
            .filter(|id| !snapshot.docs.contains_key(&id.0))
            .copied()
            .collect();
        let mut fetched: HashMap<i64, DocumentRow> = if missing.is_empty() {
            HashMap::new()
        } else {
            self.store
                .documents(&missing)
                .await?
                .into_iter()
                .map(|d| (d.identifier.0, d))
                .collect()
        };
        Ok(ids
            .iter()
            .filter_map(|id| {
                snapshot
                    .docs
                    .get(&id.0)
                    .cloned()
                    .or_else(|| fetched.remove(&id.0))
            })
            .collect())
    }

    /// One document, or `store::Error::NotFound`.
    pub(crate) async fn document(&self, id: DocId) -> store::Result<DocumentRow> {
        self.documents(&[id])
            .await?
            .pop()
            .ok_or(store::Error::NotFound(id))
    }

    /// Re-reads the copy if the documents changed; returns whether it did.
    pub(crate) async fn refresh(&self) -> store::Result<bool> {
        let fingerprint = self.store.documents_fingerprint().await?;
        if fingerprint == self.snapshot().fingerprint {
            return Ok(false);
        }
        let snapshot = read(&self.store).await?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(snapshot);
        self.generation.fetch_add(1, Ordering::Release);
        Ok(true)
    }

    /// Refreshes every `REFRESH` until the process ends; failures are logged and retried.
    pub(crate) async fn keep_fresh(self: Arc<Self>) {
        loop {
            rocket::tokio::time::sleep(REFRESH).await;
            match self.refresh().await {
                Ok(true) => tracing::info!(
                    documents = self.snapshot().docs.len(),
                    "catalog reloaded: the collection changed"
                ),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "catalog refresh failed; serving the last copy")
                }
            }
        }
    }
}

async fn read(store: &Store) -> store::Result<Snapshot> {
    // The fingerprint first: a change racing the read shows up at the next check.
    let fingerprint = store.documents_fingerprint().await?;
    let docs = store.all_documents().await?;
    let stats = store.stats().await?;
    Ok(Snapshot {
        docs,
        stats,
        fingerprint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::import::{import_rfc, RfcOpts};
    use crate::app::progress::Quiet;

    async fn import(store: &Store, only: &str) {
        let dir =
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora/rfc");
        let opts = RfcOpts {
            dir,
            only: Some(only.into()),
            dry_run: false,
        };
        import_rfc(store, opts, &Quiet).await.expect("import");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_import_shows_up_before_and_after_a_refresh() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/c.sqlite3", dir.path().display());
        let store = Store::connect(&url, 2).await.unwrap();
        store.migrate().await.unwrap();
        import(&store, "791").await;
        let catalog = Catalog::load(store.clone()).await.unwrap();
        assert_eq!(catalog.stats().documents, 1);
        assert!(!catalog.refresh().await.unwrap(), "nothing changed");

        import(&store, "793").await;
        // Before the refresh: the copy lacks 793, the database answers for it.
        let got = catalog.documents(&[DocId(793), DocId(791)]).await.unwrap();
        let ids: Vec<i64> = got.iter().map(|d| d.identifier.0).collect();
        assert_eq!(ids, vec![793, 791], "in the order asked");
        assert_eq!(catalog.stats().documents, 1, "counts wait for the refresh");
        assert!(catalog.refresh().await.unwrap());
        assert_eq!(catalog.stats().documents, 2);
        assert!(got[0].title.contains("Transmission Control Protocol"));
        assert!(matches!(
            catalog.document(DocId(424242)).await,
            Err(store::Error::NotFound(_))
        ));
    }
}
