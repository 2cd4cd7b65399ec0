//! The `comments` table: time-coded comments, their replies and drawings.

use anyhow::Result;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, now_ms};

#[derive(Clone, Debug)]
pub struct Comment {
    pub id: String,
    pub video_id: String,
    /// The first comment of the thread this one replies to.
    pub parent_id: Option<String>,
    /// `None` for an author without an account.
    pub author_id: Option<String>,
    /// The author's name when the comment was written.
    pub author_name: String,
    pub text: String,
    pub timecode_s: Option<f64>,
    /// File name inside `media/<video>/comments/`.
    pub drawing_file: Option<String>,
    pub created_at: i64,
    pub edited_at: Option<i64>,
    /// Deleted but kept because it has replies; its text and drawing are gone.
    pub deleted: bool,
}

const COLUMNS: &str = "id, video_id, parent_id, author_id, author_name, text, timecode_s, \
    drawing_file, created_at, edited_at, deleted";

fn from_row(r: &AnyRow) -> Result<Comment> {
    Ok(Comment {
        id: r.try_get("id")?,
        video_id: r.try_get("video_id")?,
        parent_id: r.try_get("parent_id")?,
        author_id: r.try_get("author_id")?,
        author_name: r.try_get("author_name")?,
        text: r.try_get("text")?,
        timecode_s: r.try_get("timecode_s")?,
        drawing_file: r.try_get("drawing_file")?,
        created_at: r.try_get("created_at")?,
        edited_at: r.try_get("edited_at")?,
        deleted: r.try_get::<i64, _>("deleted")? != 0,
    })
}

/// A comment to insert.
pub struct NewComment<'a> {
    pub id: &'a str,
    pub video_id: &'a str,
    pub parent_id: Option<&'a str>,
    pub author_id: Option<&'a str>,
    pub author_name: &'a str,
    pub text: &'a str,
    pub timecode_s: Option<f64>,
    pub drawing_file: Option<&'a str>,
}

/// Inserts a comment. A reply is inserted only while its parent is still there, on the same
/// video: `Ok(false)` otherwise. (A deleted thread starter that is still shown takes replies.)
pub async fn insert(db: &Db, c: &NewComment<'_>) -> Result<bool, sqlx::Error> {
    // Two statements rather than one with a NULL-able parameter: PostgreSQL cannot type a
    // parameter that is only ever compared with NULL. The time is always bound as a number
    // (with a flag for "no time"): in `INSERT … SELECT` PostgreSQL does not take a parameter's
    // type from the column, and a pooled connection whose first insert bound a NULL time kept
    // a statement that then refused a number ("incorrect binary data format").
    let base = "INSERT INTO comments (id, video_id, parent_id, author_id, author_name, text, \
                timecode_s, drawing_file, created_at, deleted) \
                SELECT $1, $2, $3, $4, $5, $6, CASE WHEN $10 = 1 THEN $7 ELSE NULL END, $8, $9, 0";
    let sql = if c.parent_id.is_some() {
        format!(
            "{base} WHERE EXISTS (SELECT 1 FROM comments p WHERE p.id = $3 AND p.video_id = $2)"
        )
    } else {
        base.to_owned()
    };
    let res = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(c.id)
        .bind(c.video_id)
        .bind(c.parent_id)
        .bind(c.author_id)
        .bind(c.author_name)
        .bind(c.text)
        .bind(c.timecode_s.unwrap_or(0.0))
        .bind(c.drawing_file)
        .bind(now_ms())
        .bind(i64::from(c.timecode_s.is_some()))
        .execute(&db.pool)
        .await?;
    Ok(res.rows_affected() == 1)
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Comment>> {
    let sql = format!("SELECT {COLUMNS} FROM comments WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Every comment of a video, deleted thread starters included, in no particular order (the
/// API sorts: the dialects disagree on where NULL timecodes go).
pub async fn for_video(db: &Db, video_id: &str) -> Result<Vec<Comment>> {
    let sql = format!("SELECT {COLUMNS} FROM comments WHERE video_id = $1");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(video_id)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(from_row).collect()
}

/// What an edit changes; `None` leaves a field as it is.
#[derive(Default)]
pub struct Edit<'a> {
    pub text: Option<&'a str>,
    pub timecode_s: Option<Option<f64>>,
    pub drawing_file: Option<Option<&'a str>>,
}

/// Applies an edit to a comment that is not deleted; false when there is no such comment.
pub async fn edit(db: &Db, id: &str, e: &Edit<'_>) -> Result<bool> {
    let mut sets = vec!["edited_at = $1".to_owned()];
    let mut n = 2;
    let mut next = |column: &str| {
        let s = format!("{column} = ${n}");
        n += 1;
        s
    };
    if e.text.is_some() {
        sets.push(next("text"));
    }
    if e.timecode_s.is_some() {
        sets.push(next("timecode_s"));
    }
    if e.drawing_file.is_some() {
        sets.push(next("drawing_file"));
    }
    let sql = format!(
        "UPDATE comments SET {} WHERE id = ${n} AND deleted = 0",
        sets.join(", ")
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now_ms());
    if let Some(text) = e.text {
        q = q.bind(text);
    }
    if let Some(t) = e.timecode_s {
        q = q.bind(t);
    }
    if let Some(d) = e.drawing_file {
        q = q.bind(d);
    }
    let res = q.bind(id).execute(&db.pool).await?;
    Ok(res.rows_affected() == 1)
}

/// What became of a deleted comment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removal {
    /// The row is gone.
    Removed,
    /// It has replies: kept as a deleted marker of its thread, text and drawing erased.
    KeptForThread,
    /// There was no such (undeleted) comment.
    Missing,
}

/// Deletes a comment: removed when nothing replies to it, otherwise kept as a deleted thread
/// starter. A reply arriving at the same moment wins: the comment is then kept.
pub async fn delete(db: &Db, id: &str) -> Result<Removal> {
    let removed = sqlx::query(
        "DELETE FROM comments WHERE id = $1 AND deleted = 0 \
         AND NOT EXISTS (SELECT 1 FROM comments r WHERE r.parent_id = $1)",
    )
    .bind(id)
    .execute(&db.pool)
    .await;
    match removed {
        Ok(r) if r.rows_affected() == 1 => return Ok(Removal::Removed),
        Ok(_) => {}
        Err(e) if super::is_foreign_key_violation(&e) => {}
        Err(e) => return Err(e.into()),
    }
    let kept = sqlx::query(
        "UPDATE comments SET deleted = 1, text = '', drawing_file = NULL, edited_at = $1 \
         WHERE id = $2 AND deleted = 0",
    )
    .bind(now_ms())
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(if kept.rows_affected() == 1 {
        Removal::KeptForThread
    } else {
        Removal::Missing
    })
}

/// Removes a deleted thread starter once its last reply is gone; true when it was removed.
pub async fn remove_if_empty_thread(db: &Db, id: &str) -> Result<bool> {
    let res = sqlx::query(
        "DELETE FROM comments WHERE id = $1 AND deleted = 1 \
         AND NOT EXISTS (SELECT 1 FROM comments r WHERE r.parent_id = $1)",
    )
    .bind(id)
    .execute(&db.pool)
    .await;
    match res {
        Ok(r) => Ok(r.rows_affected() == 1),
        // A reply cannot be added to a deleted comment, but be safe: keep it.
        Err(e) if super::is_foreign_key_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
