//! Share links: a secret that lets whoever holds it view (or view and comment on) one video,
//! until it is revoked or expires. The secret is stored only as a hash.

use anyhow::Result;
use serde::Serialize;
use sqlx::Row;

use super::{Db, now_ms};
use crate::ids;

/// What a share link grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ShareAccess {
    View,
    Comment,
}

impl ShareAccess {
    pub fn as_str(self) -> &'static str {
        match self {
            ShareAccess::View => "view",
            ShareAccess::Comment => "comment",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "view" => Some(ShareAccess::View),
            "comment" => Some(ShareAccess::Comment),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Share {
    pub id: String,
    pub video_id: String,
    pub access: ShareAccess,
    pub label: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

const COLUMNS: &str = "id, video_id, access, label, created_at, expires_at, revoked_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Share> {
    let access: String = r.try_get("access")?;
    Ok(Share {
        id: r.try_get("id")?,
        video_id: r.try_get("video_id")?,
        access: ShareAccess::parse(&access)
            .ok_or_else(|| anyhow::anyhow!("unknown share access '{access}'"))?,
        label: r.try_get("label")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

/// Creates a share link; returns it with its secret (shown once).
pub async fn create(
    db: &Db,
    video_id: &str,
    access: ShareAccess,
    label: &str,
    created_by: &str,
    expires_at: Option<i64>,
) -> Result<(Share, String)> {
    let token = format!("shr_{}", ids::new_link_secret());
    let share = Share {
        id: ids::new_id(),
        video_id: video_id.to_owned(),
        access,
        label: label.to_owned(),
        created_at: now_ms(),
        expires_at,
        revoked_at: None,
    };
    sqlx::query(
        "INSERT INTO shares (id, video_id, token_hash, access, label, created_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&share.id)
    .bind(&share.video_id)
    .bind(ids::token_hash(&token))
    .bind(access.as_str())
    .bind(&share.label)
    .bind(created_by)
    .bind(share.created_at)
    .bind(share.expires_at)
    .execute(&db.pool)
    .await?;
    Ok((share, token))
}

/// The live (not revoked, not expired) share a secret names.
pub async fn by_token(db: &Db, token: &str) -> Result<Option<Share>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM shares WHERE token_hash = $1 AND revoked_at IS NULL \
         AND (expires_at IS NULL OR expires_at > $2)"
    )))
    .bind(ids::token_hash(token))
    .bind(now_ms())
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Share>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM shares WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn for_video(db: &Db, video_id: &str) -> Result<Vec<Share>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM shares WHERE video_id = $1 ORDER BY created_at, id"
    )))
    .bind(video_id)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Revokes a share (kept as a row so its owner sees it was revoked).
pub async fn revoke(db: &Db, id: &str) -> Result<()> {
    sqlx::query("UPDATE shares SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}
