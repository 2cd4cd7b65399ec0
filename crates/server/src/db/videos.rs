//! The `videos` table: one row per ingested file, from registration to trash.

use anyhow::Result;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{BindOptF64, Db, now_ms};

/// Processing states a client sees.
pub mod status {
    pub const QUEUED: &str = "queued";
    pub const PROCESSING: &str = "processing";
    pub const READY: &str = "ready";
    pub const FAILED: &str = "failed";
}

#[derive(Clone, Debug)]
pub struct Video {
    pub id: String,
    pub owner_id: String,
    pub owner_name: String,
    pub title: String,
    pub original_filename: String,
    /// File name of the original inside `media/<id>/`; `None` once it went to `rejected/`.
    pub original_file: Option<String>,
    pub source: String,
    pub status: String,
    pub progress: Option<f64>,
    pub error: Option<String>,
    pub size_bytes: i64,
    pub sha256: String,
    pub blake3: String,
    pub media_info: Option<String>,
    pub duration_s: Option<f64>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub fps: Option<f64>,
    pub video_codec: Option<String>,
    pub audio_codec: Option<String>,
    pub plan: Option<String>,
    pub playable_file: Option<String>,
    pub poster_file: Option<String>,
    pub sprite_file: Option<String>,
    pub sprite_geometry: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub ready_at: Option<i64>,
    pub deleted_at: Option<i64>,
    /// The owner lets everyone who may see the video download its original (torrent included).
    pub allow_downloads: bool,
    /// The secret in the video's web-seed URLs (`None` until its first torrent).
    pub webseed_token: Option<String>,
}

const COLUMNS: &str = "v.id, v.owner_id, u.name AS owner_name, v.title, v.original_filename, \
    v.original_file, v.source, v.status, v.progress, v.error, v.size_bytes, v.sha256, v.blake3, \
    v.media_info, v.duration_s, v.width, v.height, v.fps, v.video_codec, v.audio_codec, v.plan, \
    v.playable_file, v.poster_file, v.sprite_file, v.sprite_geometry, v.created_at, v.updated_at, \
    v.ready_at, v.deleted_at, v.allow_downloads, v.webseed_token";

fn from_row(r: &AnyRow) -> Result<Video> {
    Ok(Video {
        id: r.try_get("id")?,
        owner_id: r.try_get("owner_id")?,
        owner_name: r.try_get("owner_name")?,
        title: r.try_get("title")?,
        original_filename: r.try_get("original_filename")?,
        original_file: r.try_get("original_file")?,
        source: r.try_get("source")?,
        status: r.try_get("status")?,
        progress: r.try_get("progress")?,
        error: r.try_get("error")?,
        size_bytes: r.try_get("size_bytes")?,
        sha256: r.try_get("sha256")?,
        blake3: r.try_get("blake3")?,
        media_info: r.try_get("media_info")?,
        duration_s: r.try_get("duration_s")?,
        width: r.try_get("width")?,
        height: r.try_get("height")?,
        fps: r.try_get("fps")?,
        video_codec: r.try_get("video_codec")?,
        audio_codec: r.try_get("audio_codec")?,
        plan: r.try_get("plan")?,
        playable_file: r.try_get("playable_file")?,
        poster_file: r.try_get("poster_file")?,
        sprite_file: r.try_get("sprite_file")?,
        sprite_geometry: r.try_get("sprite_geometry")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        ready_at: r.try_get("ready_at")?,
        deleted_at: r.try_get("deleted_at")?,
        allow_downloads: r.try_get::<i64, _>("allow_downloads")? != 0,
        webseed_token: r.try_get("webseed_token")?,
    })
}

/// What ingest knows about a file when it registers it.
pub struct NewVideo<'a> {
    pub id: &'a str,
    pub owner_id: &'a str,
    pub title: &'a str,
    pub original_filename: &'a str,
    pub original_file: &'a str,
    pub source: &'a str,
    pub size_bytes: i64,
    pub sha256: &'a str,
    pub blake3: &'a str,
}

/// Inserts a queued video; part of the ingest transaction. Fails with a unique violation when
/// the owner already has this content.
pub async fn insert(conn: &mut AnyConnection, v: &NewVideo<'_>) -> Result<(), sqlx::Error> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO videos (id, owner_id, title, original_filename, original_file, source, status, \
         size_bytes, sha256, blake3, dedup_key, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9, $11, $11)",
    )
    .bind(v.id)
    .bind(v.owner_id)
    .bind(v.title)
    .bind(v.original_filename)
    .bind(v.original_file)
    .bind(v.source)
    .bind(status::QUEUED)
    .bind(v.size_bytes)
    .bind(v.sha256)
    .bind(v.blake3)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Video>> {
    let sql =
        format!("SELECT {COLUMNS} FROM videos v JOIN users u ON u.id = v.owner_id WHERE v.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The live (not deleted) video of this owner with this content, if any.
pub async fn find_duplicate(db: &Db, owner_id: &str, sha256: &str) -> Result<Option<String>> {
    let row = sqlx::query("SELECT id FROM videos WHERE owner_id = $1 AND dedup_key = $2")
        .bind(owner_id)
        .bind(sha256)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

/// Position in the newest-first listing: `(created_at, id)` of the last item of a page.
pub type Cursor = (i64, String);

/// A page of live videos, newest first; `owner` limits it to one user's videos.
pub async fn list(
    db: &Db,
    owner: Option<&str>,
    title_contains: &str,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<Vec<Video>> {
    let (c_time, c_id) = after.cloned().unwrap_or((i64::MAX, String::new()));
    let has_cursor = i64::from(after.is_some());
    let sql = format!(
        "SELECT {COLUMNS} FROM videos v JOIN users u ON u.id = v.owner_id \
         WHERE v.deleted_at IS NULL AND ($1 = '' OR v.owner_id = $1) \
         AND ($2 = 0 OR v.created_at < $3 OR (v.created_at = $3 AND v.id < $4)) \
         AND ($6 = '' OR lower(v.title) LIKE $7 ESCAPE '\\') \
         ORDER BY v.created_at DESC, v.id DESC LIMIT $5"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(owner.unwrap_or(""))
        .bind(has_cursor)
        .bind(c_time)
        .bind(c_id)
        .bind(limit)
        .bind(title_contains)
        .bind(like_pattern(title_contains))
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(from_row).collect()
}

/// `%text%` for `LIKE … ESCAPE '\'`, lower-cased, with the pattern characters taken literally.
fn like_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Ready, live videos with no playable torrent and no torrent job queued, running or given up.
pub async fn ready_without_torrent(db: &Db) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT v.id FROM videos v WHERE v.status = $1 AND v.deleted_at IS NULL \
         AND NOT EXISTS (SELECT 1 FROM torrents t WHERE t.video_id = v.id AND t.rendition = 'playable') \
         AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.video_id = v.id AND j.kind = 'torrent' \
             AND j.state IN ('queued', 'running', 'failed'))",
    )
    .bind(status::READY)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
}

pub async fn set_title(db: &Db, id: &str, title: &str) -> Result<()> {
    sqlx::query("UPDATE videos SET title = $1, updated_at = $2 WHERE id = $3")
        .bind(title)
        .bind(now_ms())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn set_processing(db: &Db, id: &str) -> Result<()> {
    sqlx::query(
        "UPDATE videos SET status = $1, progress = 0, error = NULL, updated_at = $2 WHERE id = $3 AND status <> $4",
    )
    .bind(status::PROCESSING)
    .bind(now_ms())
    .bind(id)
    .bind(status::READY)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn set_progress(db: &Db, id: &str, progress: f64) -> Result<()> {
    sqlx::query("UPDATE videos SET progress = $1 WHERE id = $2 AND status = $3")
        .bind(progress)
        .bind(id)
        .bind(status::PROCESSING)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Everything processing learned and produced; written in one statement so a reader never sees
/// a ready video with half its fields.
pub struct Processed {
    pub media_info: String,
    pub duration_s: Option<f64>,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub fps: Option<f64>,
    pub video_codec: Option<String>,
    pub audio_codec: Option<String>,
    pub plan: String,
    pub playable_file: String,
    pub poster_file: String,
    pub sprite_file: String,
    pub sprite_geometry: String,
}

/// Marks the video ready, in one transaction with a check that job `job_id` is still held by
/// `owner`; returns false (and changes nothing) when it is not. A deleted video stays deleted.
pub async fn set_ready_if_leased(
    db: &Db,
    id: &str,
    p: &Processed,
    job_id: &str,
    owner: &str,
) -> Result<bool> {
    let now = now_ms();
    let mut tx = db.pool.begin().await?;
    // A write first: it takes SQLite's write lock and PostgreSQL's row lock on the job, so the
    // lease cannot change hands before the commit.
    let held = sqlx::query(
        "UPDATE jobs SET updated_at = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
    )
    .bind(now)
    .bind(job_id)
    .bind(owner)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !held {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE videos SET status = $1, progress = NULL, error = NULL, media_info = $2, duration_s = $3, \
         width = $4, height = $5, fps = $6, video_codec = $7, audio_codec = $8, plan = $9, \
         playable_file = $10, poster_file = $11, sprite_file = $12, sprite_geometry = $13, \
         ready_at = $14, updated_at = $14 WHERE id = $15 AND deleted_at IS NULL",
    )
    .bind(status::READY)
    .bind(&p.media_info)
    .bind_opt_f64(p.duration_s)
    .bind(p.width)
    .bind(p.height)
    .bind_opt_f64(p.fps)
    .bind(p.video_codec.as_deref())
    .bind(p.audio_codec.as_deref())
    .bind(&p.plan)
    .bind(&p.playable_file)
    .bind(&p.poster_file)
    .bind(&p.sprite_file)
    .bind(&p.sprite_geometry)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The video could not be made playable; its original went to `rejected/`, so it no longer
/// counts as "already here" for duplicate detection.
pub async fn set_failed(db: &Db, id: &str, reason: &str) -> Result<()> {
    sqlx::query(
        "UPDATE videos SET status = $1, progress = NULL, error = $2, dedup_key = NULL, original_file = NULL, \
         playable_file = NULL, poster_file = NULL, sprite_file = NULL, updated_at = $3 WHERE id = $4 \
         AND deleted_at IS NULL",
    )
    .bind(status::FAILED)
    .bind(reason)
    .bind(now_ms())
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Processing was cancelled: the original stays, and a retry starts again.
pub async fn set_cancelled(db: &Db, id: &str) -> Result<()> {
    sqlx::query(
        "UPDATE videos SET status = $1, progress = NULL, error = $2, updated_at = $3 \
         WHERE id = $4 AND deleted_at IS NULL AND status <> $5",
    )
    .bind(status::FAILED)
    .bind("Processing was cancelled; retry the job to process this video.")
    .bind(now_ms())
    .bind(id)
    .bind(status::READY)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Soft delete: the row stays (so the trash can be purged later) but the video disappears.
pub async fn set_deleted(db: &Db, id: &str) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "UPDATE videos SET deleted_at = $1, dedup_key = NULL, updated_at = $1 WHERE id = $2",
    )
    .bind(now)
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Ids of rows with this property, for start-up reconciliation and trash purging.
pub async fn ids_deleted_before(db: &Db, before_ms: i64) -> Result<Vec<String>> {
    let rows =
        sqlx::query("SELECT id FROM videos WHERE deleted_at IS NOT NULL AND deleted_at < $1")
            .bind(before_ms)
            .fetch_all(&db.pool)
            .await?;
    rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
}

/// Removes a purged video and its jobs for good.
pub async fn purge(db: &Db, id: &str) -> Result<()> {
    let mut tx = db.pool.begin().await?;
    // Everything that refers to the video goes with it.
    for table in [
        "jobs",
        "encodes",
        "thumbnail_sets",
        "torrents",
        "comments",
        "shares",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE video_id = $1"
        )))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("DELETE FROM videos WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// An attempt failed and another is scheduled: show the video as waiting, with the last error.
pub async fn set_queued_after_error(db: &Db, id: &str, error: &str) -> Result<()> {
    sqlx::query("UPDATE videos SET status = $1, progress = NULL, error = $2, updated_at = $3 WHERE id = $4 AND status = $5")
        .bind(status::QUEUED)
        .bind(error)
        .bind(now_ms())
        .bind(id)
        .bind(status::PROCESSING)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// A retried job will process the video again: show it as queued. False when there is nothing
/// to process (the original was put aside after a failure, or the video was deleted).
pub async fn set_requeued(db: &Db, id: &str) -> Result<bool> {
    let res = sqlx::query(
        "UPDATE videos SET status = $1, progress = NULL, error = NULL, updated_at = $2 \
         WHERE id = $3 AND deleted_at IS NULL AND original_file IS NOT NULL",
    )
    .bind(status::QUEUED)
    .bind(now_ms())
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(res.rows_affected() == 1)
}
