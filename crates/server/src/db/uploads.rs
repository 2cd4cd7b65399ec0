//! The `uploads` table: one row per resumable (tus) upload, so uploads survive restarts and
//! several API nodes agree on every upload's offset.

use anyhow::Result;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, now_ms};

/// How an upload takes part in tus concatenation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Concat {
    /// An ordinary upload: ingested when complete.
    None,
    /// A piece of a later final upload: kept, not ingested on its own.
    Partial,
    /// Made by joining partial uploads; cannot be written to.
    Final,
}

impl Concat {
    fn as_str(self) -> &'static str {
        match self {
            Concat::None => "none",
            Concat::Partial => "partial",
            Concat::Final => "final",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "partial" => Concat::Partial,
            "final" => Concat::Final,
            _ => Concat::None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Upload {
    pub id: String,
    pub owner_id: String,
    /// `None` while the length is deferred.
    pub length: Option<i64>,
    pub offset: i64,
    /// The raw `Upload-Metadata` header, echoed on HEAD.
    pub metadata: String,
    pub filename: String,
    pub claimed_sha256: Option<String>,
    /// The SHA-256 of the received bytes, once they are all here.
    pub content_sha256: Option<String>,
    pub concat: Concat,
    /// Ids of the partial uploads a final upload was made from.
    pub parts: Vec<String>,
    pub video_id: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub completed_at: Option<i64>,
}

impl Upload {
    pub fn is_complete(&self) -> bool {
        self.completed_at.is_some()
    }
}

const COLUMNS: &str = "id, owner_id, length, offset_bytes, metadata, filename, claimed_sha256, \
    content_sha256, concat, parts, video_id, created_at, expires_at, completed_at";

fn from_row(r: &AnyRow) -> Result<Upload> {
    let parts: Option<String> = r.try_get("parts")?;
    Ok(Upload {
        id: r.try_get("id")?,
        owner_id: r.try_get("owner_id")?,
        length: r.try_get("length")?,
        offset: r.try_get("offset_bytes")?,
        metadata: r.try_get("metadata")?,
        filename: r.try_get("filename")?,
        claimed_sha256: r.try_get("claimed_sha256")?,
        content_sha256: r.try_get("content_sha256")?,
        concat: Concat::parse(&r.try_get::<String, _>("concat")?),
        parts: parts
            .and_then(|p| serde_json::from_str(&p).ok())
            .unwrap_or_default(),
        video_id: r.try_get("video_id")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        completed_at: r.try_get("completed_at")?,
    })
}

pub async fn insert(db: &Db, u: &Upload) -> Result<()> {
    sqlx::query(
        "INSERT INTO uploads (id, owner_id, length, offset_bytes, metadata, filename, claimed_sha256, \
         content_sha256, concat, parts, video_id, created_at, updated_at, expires_at, completed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, $11, $11, $12, NULL)",
    )
    .bind(&u.id)
    .bind(&u.owner_id)
    .bind(u.length)
    .bind(u.offset)
    .bind(&u.metadata)
    .bind(&u.filename)
    .bind(u.claimed_sha256.as_deref())
    .bind(u.content_sha256.as_deref())
    .bind(u.concat.as_str())
    .bind((!u.parts.is_empty()).then(|| serde_json::Value::from(u.parts.clone()).to_string()))
    .bind(u.created_at)
    .bind(u.expires_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Upload>> {
    let sql = format!("SELECT {COLUMNS} FROM uploads WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Records progress, and pushes the expiry back: an upload in use does not expire.
pub async fn set_offset(db: &Db, id: &str, offset: i64, expires_at: i64) -> Result<()> {
    sqlx::query(
        "UPDATE uploads SET offset_bytes = $1, expires_at = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(offset)
    .bind(expires_at)
    .bind(now_ms())
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Records that every byte is here, with their hash, before the file moves anywhere.
pub async fn set_received(db: &Db, id: &str, offset: i64, sha256: &str) -> Result<()> {
    sqlx::query(
        "UPDATE uploads SET offset_bytes = $1, content_sha256 = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(offset)
    .bind(sha256)
    .bind(now_ms())
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Uploads with every byte received but no completion recorded (interrupted by a stop).
pub async fn received_not_complete(db: &Db) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT id FROM uploads WHERE completed_at IS NULL AND length IS NOT NULL \
         AND offset_bytes = length",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
}

/// Fixes a deferred length (creation-defer-length).
pub async fn set_length(db: &Db, id: &str, length: i64) -> Result<()> {
    sqlx::query("UPDATE uploads SET length = $1, updated_at = $2 WHERE id = $3 AND length IS NULL")
        .bind(length)
        .bind(now_ms())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn set_complete(db: &Db, id: &str, offset: i64, video_id: Option<&str>) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "UPDATE uploads SET offset_bytes = $1, video_id = $2, completed_at = $3, updated_at = $3 WHERE id = $4",
    )
    .bind(offset)
    .bind(video_id)
    .bind(now)
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Deletes an upload's row; false when it was already gone.
pub async fn delete(db: &Db, id: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM uploads WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Deletes an upload's row only if it is still expired (a PATCH may have just renewed it).
pub async fn delete_if_expired(db: &Db, id: &str, now: i64) -> Result<bool> {
    let done = sqlx::query("DELETE FROM uploads WHERE id = $1 AND expires_at < $2")
        .bind(id)
        .bind(now)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Whether an upload row exists (orphaned files have none).
pub async fn exists(db: &Db, id: &str) -> Result<bool> {
    Ok(sqlx::query("SELECT 1 AS one FROM uploads WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .is_some())
}

/// An unfinished upload of this content by this owner (from its `sha256` metadata).
pub async fn unfinished_with_sha256(
    db: &Db,
    owner_id: &str,
    sha256: &str,
) -> Result<Option<String>> {
    let row = sqlx::query(
        "SELECT id FROM uploads WHERE owner_id = $1 AND claimed_sha256 = $2 AND completed_at IS NULL \
         AND expires_at > $3 ORDER BY created_at LIMIT 1",
    )
    .bind(owner_id)
    .bind(sha256)
    .bind(now_ms())
    .fetch_optional(&db.pool)
    .await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

/// Bytes an owner has on the server or has announced: live videos, unfinished uploads, and
/// complete partial uploads waiting for their final concatenation.
pub async fn bytes_used(db: &Db, owner_id: &str) -> Result<i64> {
    let videos: Option<i64> = sqlx::query(
        "SELECT CAST(SUM(size_bytes) AS BIGINT) AS n FROM videos WHERE owner_id = $1 AND deleted_at IS NULL",
    )
    .bind(owner_id)
    .fetch_one(&db.pool)
    .await?
    .try_get("n")?;
    let uploads: Option<i64> = sqlx::query(
        "SELECT CAST(SUM(COALESCE(length, offset_bytes)) AS BIGINT) AS n FROM uploads \
         WHERE owner_id = $1 AND (completed_at IS NULL OR concat = 'partial')",
    )
    .bind(owner_id)
    .fetch_one(&db.pool)
    .await?
    .try_get("n")?;
    Ok(videos.unwrap_or(0) + uploads.unwrap_or(0))
}

/// How many unfinished uploads an owner has open.
pub async fn unfinished_count(db: &Db, owner_id: &str) -> Result<i64> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM uploads WHERE owner_id = $1 AND completed_at IS NULL AND expires_at > $2",
    )
    .bind(owner_id)
    .bind(now_ms())
    .fetch_one(&db.pool)
    .await?;
    Ok(row.try_get("n")?)
}

/// Uploads past their expiry time (complete ones are kept a while for their video id).
pub async fn expired(db: &Db, now: i64) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT id FROM uploads WHERE expires_at < $1")
        .bind(now)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
}
