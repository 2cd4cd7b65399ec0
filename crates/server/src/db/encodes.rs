//! The `encodes` table: encode requests and where their results are.

use anyhow::Result;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, now_ms};

pub mod state {
    pub const QUEUED: &str = "queued";
    pub const READY: &str = "ready";
    pub const FAILED: &str = "failed";
    pub const CANCELLED: &str = "cancelled";
}

#[derive(Clone, Debug)]
pub struct Encode {
    pub id: String,
    pub video_id: String,
    pub owner_id: String,
    /// The normalised options, as JSON.
    pub options: String,
    pub job_id: Option<String>,
    pub state: String,
    /// Name within the video's `encodes/` folder, once ready.
    pub output_file: Option<String>,
    pub size_bytes: Option<i64>,
    pub error: Option<String>,
    pub created_at: i64,
}

const COLUMNS: &str =
    "id, video_id, owner_id, options, job_id, state, output_file, size_bytes, error, created_at";

fn from_row(r: &AnyRow) -> Result<Encode> {
    Ok(Encode {
        id: r.try_get("id")?,
        video_id: r.try_get("video_id")?,
        owner_id: r.try_get("owner_id")?,
        options: r.try_get("options")?,
        job_id: r.try_get("job_id")?,
        state: r.try_get("state")?,
        output_file: r.try_get("output_file")?,
        size_bytes: r.try_get("size_bytes")?,
        error: r.try_get("error")?,
        created_at: r.try_get("created_at")?,
    })
}

pub struct NewEncode<'a> {
    pub id: &'a str,
    pub video_id: &'a str,
    pub owner_id: &'a str,
    pub options: &'a str,
    pub options_key: &'a str,
    pub job_id: &'a str,
}

/// Inserts a request; a unique violation means the same request exists already.
pub async fn insert(conn: &mut sqlx::AnyConnection, e: &NewEncode<'_>) -> Result<(), sqlx::Error> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO encodes (id, video_id, owner_id, options, options_key, job_id, state, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(e.id)
    .bind(e.video_id)
    .bind(e.owner_id)
    .bind(e.options)
    .bind(e.options_key)
    .bind(e.job_id)
    .bind(state::QUEUED)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Encode>> {
    let sql = format!("SELECT {COLUMNS} FROM encodes WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The request with these options for this video, if there is one.
pub async fn find(db: &Db, video_id: &str, options_key: &str) -> Result<Option<Encode>> {
    let sql = format!("SELECT {COLUMNS} FROM encodes WHERE video_id = $1 AND options_key = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(video_id)
        .bind(options_key)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn for_video(db: &Db, video_id: &str) -> Result<Vec<Encode>> {
    let sql = format!("SELECT {COLUMNS} FROM encodes WHERE video_id = $1 ORDER BY created_at, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(video_id)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Records the state after an attempt (and the result when there is one).
pub async fn set_state(
    db: &Db,
    id: &str,
    state: &str,
    output: Option<(&str, i64)>,
    error: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE encodes SET state = $1, output_file = $2, size_bytes = $3, error = $4, updated_at = $5 \
         WHERE id = $6",
    )
    .bind(state)
    .bind(output.map(|o| o.0))
    .bind(output.map(|o| o.1))
    .bind(error)
    .bind(now_ms())
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}
