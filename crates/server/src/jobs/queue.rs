//! A durable job queue in the database, shared by every worker process.
//!
//! A worker claims a job by taking a lease (`lease_owner`, `lease_until`) in one atomic
//! `UPDATE … RETURNING`; it renews the lease with a heartbeat while it works. A worker that dies
//! stops renewing, its lease runs out and the job becomes claimable again. Every write a worker
//! makes is conditional on still holding the lease, so a worker that lost its job to another
//! cannot complete or fail it behind the other's back.
//!
//! States: `queued` → `running` → `done` | `failed` | `cancelled`; a failed attempt with
//! attempts left goes back to `queued` with a later `run_after`.

use std::time::Duration;

use anyhow::Result;
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::db::{BindOptF64, Db, DbKind, now_ms};
use crate::ids;

#[derive(Clone, Debug)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub video_id: Option<String>,
    pub payload: Value,
    pub state: String,
    pub priority: i64,
    pub attempts: i64,
    pub max_attempts: i64,
    pub progress: Option<f64>,
    pub error: Option<String>,
    pub cancel_requested: bool,
}

const COLUMNS: &str = "id, kind, video_id, payload, state, priority, attempts, max_attempts, \
    progress, error, cancel_requested";

fn from_row(r: &AnyRow) -> Result<Job> {
    let payload: String = r.try_get("payload")?;
    Ok(Job {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        video_id: r.try_get("video_id")?,
        payload: serde_json::from_str(&payload).unwrap_or(Value::Null),
        state: r.try_get("state")?,
        priority: r.try_get("priority")?,
        attempts: r.try_get("attempts")?,
        max_attempts: r.try_get("max_attempts")?,
        progress: r.try_get("progress")?,
        error: r.try_get("error")?,
        cancel_requested: r.try_get::<i64, _>("cancel_requested")? != 0,
    })
}

pub struct NewJob<'a> {
    pub kind: &'a str,
    pub video_id: Option<&'a str>,
    pub payload: Value,
    pub priority: i64,
    pub max_attempts: i64,
    /// A capability the worker must have (see [`crate::jobs::capabilities`]).
    pub requires: Option<&'a str>,
}

/// Adds a job; takes a connection so it can share the caller's transaction.
pub async fn enqueue(conn: &mut AnyConnection, job: &NewJob<'_>) -> Result<String, sqlx::Error> {
    let id = ids::new_id();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO jobs (id, kind, video_id, payload, state, priority, attempts, max_attempts, \
         run_after, cancel_requested, created_at, updated_at, requires) \
         VALUES ($1, $2, $3, $4, 'queued', $5, 0, $6, $7, 0, $7, $7, $8)",
    )
    .bind(&id)
    .bind(job.kind)
    .bind(job.video_id)
    .bind(job.payload.to_string())
    .bind(job.priority)
    .bind(job.max_attempts)
    .bind(now)
    .bind(job.requires)
    .execute(conn)
    .await?;
    Ok(id)
}

/// Claims the most urgent runnable job of one of `kinds` that needs nothing beyond `caps` (a
/// [`crate::jobs::capabilities::claim_list`]): queued and due, or running with an expired lease
/// (its worker died). Returns `None` when there is nothing to do.
pub async fn claim(
    db: &Db,
    kinds: &[&str],
    caps: &str,
    owner: &str,
    lease: Duration,
) -> Result<Option<Job>> {
    if kinds.is_empty() {
        return Ok(None);
    }
    // PostgreSQL lets concurrent claimers skip each other's candidate rows; SQLite has a single
    // writer, so the sub-select and update are already atomic there.
    let (lock, find) = match db.kind {
        DbKind::Postgres => (" FOR UPDATE SKIP LOCKED", "strpos"),
        DbKind::Sqlite => ("", "instr"),
    };
    let placeholders: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 5)).collect();
    let sql = format!(
        "UPDATE jobs SET state = 'running', lease_owner = $1, last_owner = $1, lease_until = $2, \
         attempts = attempts + 1, updated_at = $3, progress = NULL \
         WHERE id = (SELECT id FROM jobs WHERE kind IN ({}) AND cancel_requested = 0 AND \
           (requires IS NULL OR {find}($4, ',' || requires || ',') > 0) AND \
           ((state = 'queued' AND run_after <= $3) OR (state = 'running' AND lease_until < $3)) \
           ORDER BY priority DESC, created_at, id LIMIT 1{lock}) \
         RETURNING {COLUMNS}",
        placeholders.join(", ")
    );
    let now = now_ms();
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(owner)
        .bind(now + lease.as_millis() as i64)
        .bind(now)
        .bind(caps);
    for k in kinds {
        q = q.bind(*k);
    }
    let row = q.fetch_optional(&db.pool).await?;
    row.as_ref().map(from_row).transpose()
}

/// What a heartbeat learned.
#[derive(Debug, PartialEq, Eq)]
pub enum Heartbeat {
    /// The lease is extended; carry on.
    Held,
    /// Someone asked to cancel this job.
    CancelRequested,
    /// The lease is gone (expired and taken by another worker, or the job was removed).
    Lost,
}

pub async fn heartbeat(db: &Db, id: &str, owner: &str, lease: Duration) -> Result<Heartbeat> {
    let now = now_ms();
    let row = sqlx::query(
        "UPDATE jobs SET lease_until = $1, updated_at = $2 \
         WHERE id = $3 AND lease_owner = $4 AND state = 'running' RETURNING cancel_requested",
    )
    .bind(now + lease.as_millis() as i64)
    .bind(now)
    .bind(id)
    .bind(owner)
    .fetch_optional(&db.pool)
    .await?;
    Ok(match row {
        None => Heartbeat::Lost,
        Some(r) if r.try_get::<i64, _>("cancel_requested")? != 0 => Heartbeat::CancelRequested,
        Some(_) => Heartbeat::Held,
    })
}

pub async fn set_progress(
    db: &Db,
    id: &str,
    owner: &str,
    progress: f64,
    speed: Option<f64>,
    eta_s: Option<f64>,
) -> Result<()> {
    sqlx::query(
        "UPDATE jobs SET progress = $1, speed = $2, eta_s = $3 WHERE id = $4 AND lease_owner = $5 AND state = 'running'",
    )
    .bind(progress)
    .bind_opt_f64(speed)
    .bind_opt_f64(eta_s)
    .bind(id)
    .bind(owner)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Marks a job done; false if this worker no longer held it.
pub async fn complete(db: &Db, id: &str, owner: &str) -> Result<bool> {
    let now = now_ms();
    let res = sqlx::query(
        "UPDATE jobs SET state = 'done', progress = 1, error = NULL, lease_owner = NULL, lease_until = NULL, \
         finished_at = $1, updated_at = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
    )
    .bind(now)
    .bind(id)
    .bind(owner)
    .execute(&db.pool)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// What became of a failed attempt.
#[derive(Debug, PartialEq)]
pub enum FailOutcome {
    /// Another attempt is scheduled after this delay.
    Retry(Duration),
    /// No attempts left, or the error cannot be fixed by retrying.
    GaveUp,
    /// This worker no longer held the job.
    NotHeld,
}

/// Exponential backoff: base, 4×base, 16×base… capped at an hour.
pub fn backoff(base: Duration, attempts: i64) -> Duration {
    let exp = attempts.clamp(1, 8) as u32 - 1;
    (base * 4u32.pow(exp)).min(Duration::from_secs(3600))
}

pub async fn fail(
    db: &Db,
    job: &Job,
    owner: &str,
    error: &str,
    permanent: bool,
    retry_base: Duration,
) -> Result<FailOutcome> {
    let now = now_ms();
    let retry = !permanent && job.attempts < job.max_attempts;
    let (sql, delay): (&'static str, Duration) = if retry {
        (
            "UPDATE jobs SET state = 'queued', error = $1, run_after = $2, lease_owner = NULL, \
             lease_until = NULL, updated_at = $3 WHERE id = $4 AND lease_owner = $5 AND state = 'running'",
            backoff(retry_base, job.attempts),
        )
    } else {
        (
            "UPDATE jobs SET state = 'failed', error = $1, run_after = $2, lease_owner = NULL, \
             lease_until = NULL, finished_at = $3, updated_at = $3 WHERE id = $4 AND lease_owner = $5 AND state = 'running'",
            Duration::ZERO,
        )
    };
    let res = sqlx::query(sql)
        .bind(error)
        .bind(now + delay.as_millis() as i64)
        .bind(now)
        .bind(&job.id)
        .bind(owner)
        .execute(&db.pool)
        .await?;
    Ok(if res.rows_affected() == 0 {
        FailOutcome::NotHeld
    } else if retry {
        FailOutcome::Retry(delay)
    } else {
        FailOutcome::GaveUp
    })
}

/// Marks a running job cancelled after its worker stopped it.
pub async fn finish_cancelled(db: &Db, id: &str, owner: &str) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "UPDATE jobs SET state = 'cancelled', lease_owner = NULL, lease_until = NULL, finished_at = $1, \
         updated_at = $1 WHERE id = $2 AND lease_owner = $3",
    )
    .bind(now)
    .bind(id)
    .bind(owner)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Asks for a job to stop: a queued job is cancelled at once, a running one at its worker's next
/// heartbeat. Returns false when the job is already finished.
pub async fn request_cancel(db: &Db, id: &str) -> Result<bool> {
    let now = now_ms();
    let res = sqlx::query(
        "UPDATE jobs SET cancel_requested = 1, updated_at = $1, \
         state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END, \
         finished_at = CASE WHEN state = 'queued' THEN $1 ELSE finished_at END \
         WHERE id = $2 AND state IN ('queued', 'running')",
    )
    .bind(now)
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// A job asked to cancel whose worker died never reaches a heartbeat: once its lease has run
/// out, it is cancelled here (claims skip such jobs).
/// Returns the jobs it cancelled, for their requests to be told.
pub async fn sweep_abandoned_cancels(db: &Db) -> Result<Vec<Job>> {
    let now = now_ms();
    let sql = format!(
        "UPDATE jobs SET state = 'cancelled', lease_owner = NULL, lease_until = NULL, finished_at = $1, \
         updated_at = $1 WHERE state = 'running' AND cancel_requested = 1 AND lease_until < $1 \
         RETURNING {COLUMNS}"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Puts a finished (failed or cancelled) job back in the queue with a fresh set of attempts.
pub async fn retry(db: &Db, id: &str) -> Result<bool> {
    let now = now_ms();
    let res = sqlx::query(
        "UPDATE jobs SET state = 'queued', attempts = 0, cancel_requested = 0, error = NULL, run_after = $1, \
         finished_at = NULL, updated_at = $1 WHERE id = $2 AND state IN ('failed', 'cancelled')",
    )
    .bind(now)
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// Hands a job back at shutdown so the next start picks it up at once; the interrupted attempt
/// does not count against the job.
pub async fn release(db: &Db, id: &str, owner: &str) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "UPDATE jobs SET state = 'queued', attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, \
         lease_owner = NULL, lease_until = NULL, run_after = $1, updated_at = $1 \
         WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
    )
    .bind(now)
    .bind(id)
    .bind(owner)
    .execute(&db.pool)
    .await?;
    Ok(())
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Job>> {
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The stored progress of a job, if it has one (for the requests that point at their job).
pub async fn progress_of(db: &Db, job_id: Option<&str>) -> Result<Option<f64>> {
    Ok(match job_id {
        Some(id) => get(db, id).await?.and_then(|j| j.progress),
        None => None,
    })
}

/// Jobs of a video, oldest first.
pub async fn for_video(db: &Db, video_id: &str) -> Result<Vec<Job>> {
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE video_id = $1 ORDER BY created_at, id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(video_id)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Encode and thumbnail jobs on a user's videos that are waiting or running.
pub async fn unfinished_requests(db: &Db, owner_id: &str) -> Result<i64> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM jobs j JOIN videos v ON v.id = j.video_id \
         WHERE v.owner_id = $1 AND j.kind IN ('encode', 'thumbnails') \
         AND j.state IN ('queued', 'running')",
    )
    .bind(owner_id)
    .fetch_one(&db.pool)
    .await?;
    Ok(row.try_get("n")?)
}

/// A job as the API shows it: with its timing, speed and whose video it works on.
#[derive(Clone, Debug, serde::Serialize)]
pub struct JobView {
    pub id: String,
    pub kind: String,
    pub video_id: Option<String>,
    pub video_title: Option<String>,
    #[serde(skip)]
    pub owner_id: Option<String>,
    pub state: String,
    pub progress: Option<f64>,
    /// Times real time (ffmpeg's `speed`), while running.
    pub speed: Option<f64>,
    pub eta_s: Option<f64>,
    pub error: Option<String>,
    pub attempts: i64,
    pub max_attempts: i64,
    pub cancel_requested: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
    /// The node that ran (or runs) the latest attempt.
    pub node: Option<String>,
    /// What a worker needs to run it (`codec:hevc`, `encoder:x265`); a job no node can run waits.
    pub requires: Option<String>,
}

const VIEW_COLUMNS: &str = "j.id, j.kind, j.video_id, v.title AS video_title, v.owner_id, j.state, \
    j.progress, j.speed, j.eta_s, j.error, j.attempts, j.max_attempts, j.cancel_requested, \
    j.created_at, j.updated_at, j.finished_at, j.last_owner, j.requires";

fn view_from_row(r: &AnyRow) -> Result<JobView> {
    Ok(JobView {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        video_id: r.try_get("video_id")?,
        video_title: r.try_get("video_title")?,
        owner_id: r.try_get("owner_id")?,
        state: r.try_get("state")?,
        progress: r.try_get("progress")?,
        speed: r.try_get("speed")?,
        eta_s: r.try_get("eta_s")?,
        error: r.try_get("error")?,
        attempts: r.try_get("attempts")?,
        max_attempts: r.try_get("max_attempts")?,
        cancel_requested: r.try_get::<i64, _>("cancel_requested")? != 0,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        finished_at: r.try_get("finished_at")?,
        // Lease names start with the node id (see `worker::run`).
        node: r
            .try_get::<Option<String>, _>("last_owner")?
            .and_then(|o| o.split('-').next().map(str::to_owned)),
        requires: r.try_get("requires")?,
    })
}

/// Which jobs to list.
#[derive(Default)]
pub struct ListJobs<'a> {
    /// Only jobs on this user's videos (`None`: everyone's, for admins).
    pub owner_id: Option<&'a str>,
    pub state: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub video_id: Option<&'a str>,
    pub limit: i64,
}

/// Newest first.
pub async fn list(db: &Db, f: &ListJobs<'_>) -> Result<Vec<JobView>> {
    let mut sql = format!(
        "SELECT {VIEW_COLUMNS} FROM jobs j LEFT JOIN videos v ON v.id = j.video_id WHERE 1 = 1"
    );
    let mut binds: Vec<&str> = Vec::new();
    for (column, value) in [
        ("v.owner_id", f.owner_id),
        ("j.state", f.state),
        ("j.kind", f.kind),
        ("j.video_id", f.video_id),
    ] {
        if let Some(v) = value {
            binds.push(v);
            sql.push_str(&format!(" AND {column} = ${}", binds.len()));
        }
    }
    sql.push_str(&format!(
        " ORDER BY j.created_at DESC, j.id LIMIT ${}",
        binds.len() + 1
    ));
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for b in binds {
        q = q.bind(b);
    }
    let rows = q.bind(f.limit).fetch_all(&db.pool).await?;
    rows.iter().map(view_from_row).collect()
}

pub async fn view(db: &Db, id: &str) -> Result<Option<JobView>> {
    let sql = format!(
        "SELECT {VIEW_COLUMNS} FROM jobs j LEFT JOIN videos v ON v.id = j.video_id WHERE j.id = $1"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(view_from_row).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let b = Duration::from_secs(5);
        assert_eq!(backoff(b, 1), Duration::from_secs(5));
        assert_eq!(backoff(b, 2), Duration::from_secs(20));
        assert_eq!(backoff(b, 3), Duration::from_secs(80));
        assert_eq!(backoff(b, 20), Duration::from_secs(3600));
    }
}
