//! The job queue against a real database (SQLite, or PostgreSQL with DAILIES_TEST_POSTGRES):
//! leases, heartbeats, retries with backoff, cancel, priority and concurrent claims.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::TestDb;
use dailies::db::Db;
use dailies::jobs::queue::{self, FailOutcome, Heartbeat, NewJob};
use serde_json::json;

struct Queue {
    db: Db,
    _tmp: tempfile::TempDir,
    _test_db: TestDb,
}

async fn open() -> Queue {
    let tmp = tempfile::tempdir().unwrap();
    let test_db = TestDb::new();
    let url = test_db
        .url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", tmp.path().join("q.db").display()));
    let db = Db::connect(&url).await.unwrap();
    Queue {
        db,
        _tmp: tmp,
        _test_db: test_db,
    }
}

async fn add(db: &Db, kind: &str, priority: i64, max_attempts: i64) -> String {
    let mut conn = db.pool.acquire().await.unwrap();
    queue::enqueue(
        &mut conn,
        &NewJob {
            kind,
            video_id: None,
            payload: json!({"n": priority}),
            priority,
            max_attempts,
            requires: None,
        },
    )
    .await
    .unwrap()
}

const LEASE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn claims_by_priority_then_age_and_only_its_kind() {
    let q = open().await;
    let low = add(&q.db, "process", 0, 3).await;
    let high = add(&q.db, "process", 10, 3).await;
    let other = add(&q.db, "thumbs", 99, 3).await;
    let first = queue::claim(&q.db, &["process"], ",,", "w1", LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.id, high);
    assert_eq!(first.attempts, 1);
    let second = queue::claim(&q.db, &["process"], ",,", "w1", LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.id, low);
    assert!(
        queue::claim(&q.db, &["process"], ",,", "w1", LEASE)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        queue::claim(&q.db, &["thumbs"], ",,", "w1", LEASE)
            .await
            .unwrap()
            .unwrap()
            .id,
        other
    );
}

#[tokio::test]
async fn a_dead_workers_job_is_claimed_again_when_its_lease_runs_out() {
    let q = open().await;
    let id = add(&q.db, "process", 0, 3).await;
    let short = Duration::from_millis(300);
    queue::claim(&q.db, &["process"], ",,", "dead", short)
        .await
        .unwrap()
        .unwrap();
    assert!(
        queue::claim(&q.db, &["process"], ",,", "alive", LEASE)
            .await
            .unwrap()
            .is_none(),
        "lease still held"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let again = queue::claim(&q.db, &["process"], ",,", "alive", LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.id, id);
    assert_eq!(again.attempts, 2);
    // The dead worker, should it come back, has lost the job and cannot finish it.
    assert_eq!(
        queue::heartbeat(&q.db, &id, "dead", LEASE).await.unwrap(),
        Heartbeat::Lost
    );
    assert!(!queue::complete(&q.db, &id, "dead").await.unwrap());
    assert!(queue::complete(&q.db, &id, "alive").await.unwrap());
    assert_eq!(queue::get(&q.db, &id).await.unwrap().unwrap().state, "done");
}

#[tokio::test]
async fn failures_retry_with_backoff_then_give_up() {
    let q = open().await;
    let id = add(&q.db, "process", 0, 2).await;
    let base = Duration::from_millis(200);
    let job = queue::claim(&q.db, &["process"], ",,", "w", LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        queue::fail(&q.db, &job, "w", "flaky", false, base)
            .await
            .unwrap(),
        FailOutcome::Retry(base)
    );
    // Not due yet.
    assert!(
        queue::claim(&q.db, &["process"], ",,", "w", LEASE)
            .await
            .unwrap()
            .is_none()
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let job = queue::claim(&q.db, &["process"], ",,", "w", LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.attempts, 2);
    assert_eq!(job.error.as_deref(), Some("flaky"));
    assert_eq!(
        queue::fail(&q.db, &job, "w", "still flaky", false, base)
            .await
            .unwrap(),
        FailOutcome::GaveUp
    );
    let stored = queue::get(&q.db, &id).await.unwrap().unwrap();
    assert_eq!(stored.state, "failed");
    assert_eq!(stored.error.as_deref(), Some("still flaky"));
    // A retry starts a fresh set of attempts.
    assert!(queue::retry(&q.db, &id).await.unwrap());
    let job = queue::claim(&q.db, &["process"], ",,", "w", LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.attempts, 1);
}

#[tokio::test]
async fn permanent_errors_are_not_retried() {
    let q = open().await;
    add(&q.db, "process", 0, 5).await;
    let job = queue::claim(&q.db, &["process"], ",,", "w", LEASE)
        .await
        .unwrap()
        .unwrap();
    let out = queue::fail(
        &q.db,
        &job,
        "w",
        "not a video",
        true,
        Duration::from_secs(1),
    )
    .await
    .unwrap();
    assert_eq!(out, FailOutcome::GaveUp);
}

#[tokio::test]
async fn cancel_stops_queued_jobs_at_once_and_running_ones_at_heartbeat() {
    let q = open().await;
    let queued = add(&q.db, "a", 0, 3).await;
    assert!(queue::request_cancel(&q.db, &queued).await.unwrap());
    assert_eq!(
        queue::get(&q.db, &queued).await.unwrap().unwrap().state,
        "cancelled"
    );
    assert!(
        queue::claim(&q.db, &["a"], ",,", "w", LEASE)
            .await
            .unwrap()
            .is_none()
    );

    let running = add(&q.db, "b", 0, 3).await;
    queue::claim(&q.db, &["b"], ",,", "w", LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        queue::heartbeat(&q.db, &running, "w", LEASE).await.unwrap(),
        Heartbeat::Held
    );
    assert!(queue::request_cancel(&q.db, &running).await.unwrap());
    assert_eq!(
        queue::heartbeat(&q.db, &running, "w", LEASE).await.unwrap(),
        Heartbeat::CancelRequested
    );
    queue::finish_cancelled(&q.db, &running, "w").await.unwrap();
    assert_eq!(
        queue::get(&q.db, &running).await.unwrap().unwrap().state,
        "cancelled"
    );
    assert!(
        !queue::request_cancel(&q.db, &running).await.unwrap(),
        "already finished"
    );
}

#[tokio::test]
async fn released_jobs_run_again_without_losing_an_attempt() {
    let q = open().await;
    let id = add(&q.db, "process", 0, 1).await;
    queue::claim(&q.db, &["process"], ",,", "w", LEASE)
        .await
        .unwrap()
        .unwrap();
    queue::set_progress(&q.db, &id, "w", 0.5, Some(1.5), Some(3.0))
        .await
        .unwrap();
    assert_eq!(
        queue::get(&q.db, &id).await.unwrap().unwrap().progress,
        Some(0.5)
    );
    queue::release(&q.db, &id, "w").await.unwrap();
    let job = queue::claim(&q.db, &["process"], ",,", "w2", LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.attempts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claimers_never_share_a_job() {
    let q = open().await;
    let mut all = HashSet::new();
    for i in 0..30 {
        all.insert(add(&q.db, "process", i % 3, 3).await);
    }
    let mut tasks = Vec::new();
    for w in 0..4 {
        let db = q.db.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(job) = queue::claim(&db, &["process"], ",,", &format!("w{w}"), LEASE)
                .await
                .unwrap()
            {
                got.push(job.id);
            }
            got
        }));
    }
    let mut seen = HashSet::new();
    for t in tasks {
        for id in t.await.unwrap() {
            assert!(seen.insert(id), "a job was claimed twice");
        }
    }
    assert_eq!(seen, all);
}

#[tokio::test]
async fn a_cancelled_job_whose_worker_died_is_swept() {
    let q = open().await;
    let id = add(&q.db, "process", 0, 3).await;
    queue::claim(
        &q.db,
        &["process"],
        ",,",
        "dead",
        Duration::from_millis(200),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(queue::request_cancel(&q.db, &id).await.unwrap());
    assert_eq!(
        queue::sweep_abandoned_cancels(&q.db).await.unwrap().len(),
        0,
        "lease still running"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        queue::sweep_abandoned_cancels(&q.db).await.unwrap().len(),
        1
    );
    assert_eq!(
        queue::get(&q.db, &id).await.unwrap().unwrap().state,
        "cancelled"
    );
}
