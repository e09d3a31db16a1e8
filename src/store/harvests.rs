//! Where each OAI-PMH harvest stopped (`hamlet harvest`), and why a harvested document has no
//! text.

use super::{DocId, Result, Store};

/// The last complete harvest of one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarvestState {
    /// The repository's responseDate when that harvest began: the next one's `from`.
    pub harvested_until: String,
    pub records: i64,
    pub deleted: i64,
    pub finished_at: String,
}

impl Store {
    /// The last complete harvest of `source`, if any.
    pub async fn harvest_state(&self, source: &str) -> Result<Option<HarvestState>> {
        let row = sqlx::query_as::<_, (String, i64, i64, String)>(
            "SELECT harvested_until, records, deleted, finished_at FROM harvests WHERE source = $1",
        )
        .bind(source.to_string())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(
            |(harvested_until, records, deleted, finished_at)| HarvestState {
                harvested_until,
                records,
                deleted,
                finished_at,
            },
        ))
    }

    /// Records a complete harvest of `source`.
    pub async fn save_harvest(&self, source: &str, state: &HarvestState) -> Result<()> {
        sqlx::query(
            "INSERT INTO harvests (source, harvested_until, records, deleted, finished_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (source) DO UPDATE SET \
             harvested_until = excluded.harvested_until, records = excluded.records, \
             deleted = excluded.deleted, finished_at = excluded.finished_at",
        )
        .bind(source.to_string())
        .bind(state.harvested_until.clone())
        .bind(state.records)
        .bind(state.deleted)
        .bind(state.finished_at.clone())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Why a document has no text, when that was recorded.
    pub async fn unextractable_reason(&self, id: DocId) -> Result<Option<String>> {
        let row = sqlx::query_as::<_, (Option<String>,)>(
            "SELECT unextractable_reason FROM documents WHERE identifier = $1",
        )
        .bind(id.0)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.and_then(|(r,)| r))
    }
}
