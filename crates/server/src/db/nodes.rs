//! The `nodes` table: one row per running (or recently running) dailies process.

use anyhow::Result;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, now_ms};

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: String,
    pub host: String,
    pub pid: i64,
    pub version: String,
    /// `api`, `worker`.
    pub roles: Vec<String>,
    /// Job kinds its workers claim.
    pub kinds: Vec<String>,
    /// What its workers can run (`codec:h264`, `encoder:x265`).
    pub capabilities: Vec<String>,
    /// The HTTP address of an API node.
    pub listen: Option<String>,
    pub started_at: i64,
    pub heartbeat_at: i64,
    pub stopped_at: Option<i64>,
}

const COLUMNS: &str = "id, host, pid, version, roles, kinds, capabilities, listen, started_at, \
    heartbeat_at, stopped_at";

fn list_column(r: &AnyRow, name: &str) -> Result<Vec<String>> {
    let text: String = r.try_get(name)?;
    Ok(serde_json::from_str(&text)?)
}

fn from_row(r: &AnyRow) -> Result<Node> {
    Ok(Node {
        id: r.try_get("id")?,
        host: r.try_get("host")?,
        pid: r.try_get("pid")?,
        version: r.try_get("version")?,
        roles: list_column(r, "roles")?,
        kinds: list_column(r, "kinds")?,
        capabilities: list_column(r, "capabilities")?,
        listen: r.try_get("listen")?,
        started_at: r.try_get("started_at")?,
        heartbeat_at: r.try_get("heartbeat_at")?,
        stopped_at: r.try_get("stopped_at")?,
    })
}

pub async fn register(db: &Db, n: &Node) -> Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO nodes ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL)"
    )))
    .bind(&n.id)
    .bind(&n.host)
    .bind(n.pid)
    .bind(&n.version)
    .bind(serde_json::to_string(&n.roles)?)
    .bind(serde_json::to_string(&n.kinds)?)
    .bind(serde_json::to_string(&n.capabilities)?)
    .bind(n.listen.as_deref())
    .bind(n.started_at)
    .bind(n.heartbeat_at)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn heartbeat(db: &Db, id: &str) -> Result<()> {
    sqlx::query("UPDATE nodes SET heartbeat_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

pub async fn stopped(db: &Db, id: &str) -> Result<()> {
    let now = now_ms();
    sqlx::query("UPDATE nodes SET heartbeat_at = $1, stopped_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Every node seen since `since_ms`, newest first.
pub async fn seen_since(db: &Db, since_ms: i64) -> Result<Vec<Node>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM nodes WHERE heartbeat_at >= $1 ORDER BY started_at DESC, id"
    )))
    .bind(since_ms)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Forgets nodes not heard of since `before_ms`.
pub async fn prune(db: &Db, before_ms: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM nodes WHERE heartbeat_at < $1")
        .bind(before_ms)
        .execute(&db.pool)
        .await?
        .rows_affected())
}

/// A running job and the lease holder running it (whose name starts with its node's id).
#[derive(Debug, Clone)]
pub struct RunningJob {
    pub id: String,
    pub kind: String,
    pub video_id: Option<String>,
    pub progress: Option<f64>,
    pub lease_owner: String,
}

pub async fn running_jobs(db: &Db) -> Result<Vec<RunningJob>> {
    let rows = sqlx::query(
        "SELECT id, kind, video_id, progress, lease_owner FROM jobs \
         WHERE state = 'running' AND lease_owner IS NOT NULL ORDER BY created_at, id",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(RunningJob {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                video_id: r.try_get("video_id")?,
                progress: r.try_get("progress")?,
                lease_owner: r.try_get("lease_owner")?,
            })
        })
        .collect()
}
