//! The `torrents` table: one row per rendition that has a stored .torrent, and the video's
//! web-seed token.

use anyhow::Result;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, now_ms};

/// A stored torrent of one rendition of a video.
#[derive(Debug, Clone, PartialEq)]
pub struct Torrent {
    pub video_id: String,
    /// `playable`, `original` or `encode-<id>` (see [`crate::torrents::Rendition`]).
    pub rendition: String,
    /// The name clients save the file under.
    pub name: String,
    pub size_bytes: i64,
    pub piece_length: i64,
    /// Hex SHA-1 of the info dict.
    pub info_hash_v1: Option<String>,
    /// Hex SHA-256 of the info dict (hybrid torrents).
    pub info_hash_v2: Option<String>,
    pub created_at: i64,
}

const COLUMNS: &str =
    "video_id, rendition, name, size_bytes, piece_length, info_hash_v1, info_hash_v2, created_at";

fn from_row(r: &AnyRow) -> Result<Torrent> {
    Ok(Torrent {
        video_id: r.try_get("video_id")?,
        rendition: r.try_get("rendition")?,
        name: r.try_get("name")?,
        size_bytes: r.try_get("size_bytes")?,
        piece_length: r.try_get("piece_length")?,
        info_hash_v1: r.try_get("info_hash_v1")?,
        info_hash_v2: r.try_get("info_hash_v2")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Records a torrent, replacing an earlier one of the same rendition (a rerun after a crash).
pub async fn upsert(db: &Db, t: &Torrent) -> Result<()> {
    let mut tx = db.pool.begin().await?;
    sqlx::query("DELETE FROM torrents WHERE video_id = $1 AND rendition = $2")
        .bind(&t.video_id)
        .bind(&t.rendition)
        .execute(&mut *tx)
        .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO torrents ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    )))
    .bind(&t.video_id)
    .bind(&t.rendition)
    .bind(&t.name)
    .bind(t.size_bytes)
    .bind(t.piece_length)
    .bind(t.info_hash_v1.as_deref())
    .bind(t.info_hash_v2.as_deref())
    .bind(t.created_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn for_video(db: &Db, video_id: &str) -> Result<Vec<Torrent>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM torrents WHERE video_id = $1 ORDER BY rendition"
    )))
    .bind(video_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// The torrents of several videos in one query (a page of the library).
pub async fn for_videos(db: &Db, video_ids: &[&str]) -> Result<Vec<Torrent>> {
    if video_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=video_ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT {COLUMNS} FROM torrents WHERE video_id IN ({}) ORDER BY video_id, rendition",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in video_ids {
        query = query.bind(*id);
    }
    let rows = query.fetch_all(&db.pool).await?;
    rows.iter().map(from_row).collect()
}

/// Every torrent of a video that is not deleted: what the tracker allows at start.
pub async fn all_live(db: &Db) -> Result<Vec<Torrent>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {} FROM torrents t JOIN videos v ON v.id = t.video_id WHERE v.deleted_at IS NULL",
        COLUMNS
            .split(", ")
            .map(|c| format!("t.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    )))
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn delete(db: &Db, video_id: &str, rendition: &str) -> Result<()> {
    sqlx::query("DELETE FROM torrents WHERE video_id = $1 AND rendition = $2")
        .bind(video_id)
        .bind(rendition)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn delete_for_video(db: &Db, video_id: &str) -> Result<()> {
    sqlx::query("DELETE FROM torrents WHERE video_id = $1")
        .bind(video_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// The video's web-seed token, created on first use (two racing callers get the same one).
pub async fn ensure_webseed_token(db: &Db, video_id: &str) -> Result<String> {
    sqlx::query("UPDATE videos SET webseed_token = $1 WHERE id = $2 AND webseed_token IS NULL")
        .bind(crate::ids::new_link_secret())
        .bind(video_id)
        .execute(&db.pool)
        .await?;
    let token: Option<String> = sqlx::query("SELECT webseed_token FROM videos WHERE id = $1")
        .bind(video_id)
        .fetch_one(&db.pool)
        .await?
        .try_get("webseed_token")?;
    token.ok_or_else(|| anyhow::anyhow!("video {video_id} has no web-seed token"))
}

/// Replaces the web-seed token: every URL and magnet link given out before stops working.
pub async fn replace_webseed_token(db: &Db, video_id: &str) -> Result<String> {
    let token = crate::ids::new_link_secret();
    sqlx::query("UPDATE videos SET webseed_token = $1, updated_at = $2 WHERE id = $3")
        .bind(&token)
        .bind(now_ms())
        .bind(video_id)
        .execute(&db.pool)
        .await?;
    Ok(token)
}

pub async fn set_allow_downloads(db: &Db, video_id: &str, allow: bool) -> Result<()> {
    sqlx::query("UPDATE videos SET allow_downloads = $1, updated_at = $2 WHERE id = $3")
        .bind(i64::from(allow))
        .bind(now_ms())
        .bind(video_id)
        .execute(&db.pool)
        .await?;
    Ok(())
}
