//! The `events` table: the durable, ordered log behind live updates and their replay.

use anyhow::Result;
use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, now_ms};
use crate::events::{Event, NewEvent};

fn from_row(r: &AnyRow) -> Result<Event> {
    let data: String = r.try_get("data")?;
    Ok(Event {
        id: r.try_get("id")?,
        at: r.try_get("at")?,
        kind: r.try_get("kind")?,
        owner_id: r.try_get("owner_id")?,
        video_id: r.try_get("video_id")?,
        job_id: r.try_get("job_id")?,
        data: serde_json::from_str(&data).unwrap_or(Value::Null),
    })
}

/// Appends an event; returns its id. Takes a connection so the event can share the
/// transaction of the change it describes.
pub async fn insert(conn: &mut sqlx::AnyConnection, e: &NewEvent) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO events (at, kind, owner_id, video_id, job_id, data) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(now_ms())
    .bind(e.kind)
    .bind(e.owner_id.as_deref())
    .bind(e.video_id.as_deref())
    .bind(e.job_id.as_deref())
    .bind(e.data.to_string())
    .fetch_one(conn)
    .await?;
    Ok(row.try_get("id")?)
}

/// Events after `after`, oldest first, at most `limit`.
pub async fn after(db: &Db, after: i64, limit: i64) -> Result<Vec<Event>> {
    let rows = sqlx::query(
        "SELECT id, at, kind, owner_id, video_id, job_id, data FROM events \
         WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// The newest event id (0 when there is none).
pub async fn last_id(db: &Db) -> Result<i64> {
    let row = sqlx::query("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) AS n FROM events")
        .fetch_one(&db.pool)
        .await?;
    Ok(row.try_get("n")?)
}

/// Drops events older than `max_age_ms`, and beyond the newest `keep`.
pub async fn prune(db: &Db, max_age_ms: i64, keep: i64) -> Result<u64> {
    let old = sqlx::query("DELETE FROM events WHERE at < $1")
        .bind(now_ms() - max_age_ms)
        .execute(&db.pool)
        .await?
        .rows_affected();
    let over = sqlx::query("DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - $1")
        .bind(keep)
        .execute(&db.pool)
        .await?
        .rows_affected();
    Ok(old + over)
}
