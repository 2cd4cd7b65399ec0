//! The `thumbnail_sets` table: thumbnail requests and their state.

use anyhow::Result;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, now_ms};

#[derive(Clone, Debug)]
pub struct ThumbnailSet {
    pub id: String,
    pub video_id: String,
    pub owner_id: String,
    /// The checked plan (times and width), as JSON.
    pub plan: String,
    pub job_id: Option<String>,
    /// Same words as encodes: `queued`, `ready`, `failed`, `cancelled`.
    pub state: String,
    pub error: Option<String>,
    pub created_at: i64,
}

const COLUMNS: &str = "id, video_id, owner_id, plan, job_id, state, error, created_at";

fn from_row(r: &AnyRow) -> Result<ThumbnailSet> {
    Ok(ThumbnailSet {
        id: r.try_get("id")?,
        video_id: r.try_get("video_id")?,
        owner_id: r.try_get("owner_id")?,
        plan: r.try_get("plan")?,
        job_id: r.try_get("job_id")?,
        state: r.try_get("state")?,
        error: r.try_get("error")?,
        created_at: r.try_get("created_at")?,
    })
}

pub async fn insert(
    conn: &mut sqlx::AnyConnection,
    id: &str,
    video_id: &str,
    owner_id: &str,
    plan: &str,
    job_id: &str,
) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO thumbnail_sets (id, video_id, owner_id, plan, job_id, state, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'queued', $6, $6)",
    )
    .bind(id)
    .bind(video_id)
    .bind(owner_id)
    .bind(plan)
    .bind(job_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> Result<Option<ThumbnailSet>> {
    let sql = format!("SELECT {COLUMNS} FROM thumbnail_sets WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn for_video(db: &Db, video_id: &str) -> Result<Vec<ThumbnailSet>> {
    let sql =
        format!("SELECT {COLUMNS} FROM thumbnail_sets WHERE video_id = $1 ORDER BY created_at, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(video_id)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(from_row).collect()
}

pub async fn set_state(db: &Db, id: &str, state: &str, error: Option<&str>) -> Result<()> {
    sqlx::query("UPDATE thumbnail_sets SET state = $1, error = $2, updated_at = $3 WHERE id = $4")
        .bind(state)
        .bind(error)
        .bind(now_ms())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}
