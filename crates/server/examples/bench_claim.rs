//! Benchmark: how soon an idle worker claims a new job, with 10 idle workers competing, on
//! PostgreSQL (`DAILIES_BENCH_POSTGRES`, required). Each worker is what `dailies worker` runs: its
//! own connection pool, its own `LISTEN dailies_jobs`, the same claim query, the same 2 s poll
//! as a fallback. Jobs are queued one at a time; the latency is from the commit of the insert to
//! the claim. Prints the median and p99, and checks that no job was claimed twice.
//!
//!     DAILIES_BENCH_POSTGRES=postgres://… cargo run --release -p dailies --example bench_claim

use std::sync::Arc;
use std::time::{Duration, Instant};

use dailies::db::Db;
use dailies::jobs::queue::{self, NewJob};
use serde_json::json;
use tokio::sync::{Mutex, Notify};
use tokio_util::sync::CancellationToken;

const WORKERS: usize = 10;
const JOBS: usize = 300;
const LEASE: Duration = Duration::from_secs(60);
const IDLE_POLL: Duration = Duration::from_secs(2);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("DAILIES_BENCH_POSTGRES")
        .map_err(|_| anyhow::anyhow!("set DAILIES_BENCH_POSTGRES to a PostgreSQL database URL"))?;
    let db = Db::connect(&url).await?;
    db.migrate().await?;
    let kind: &'static str =
        Box::leak(format!("bench-{}", dailies::ids::new_id()).into_boxed_str());
    let stop = CancellationToken::new();
    let queued_at: Arc<Mutex<std::collections::HashMap<String, Instant>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let claims: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut workers = Vec::new();
    for n in 0..WORKERS {
        let worker_db = Db::connect(&url).await?;
        let wake = Arc::new(Notify::new());
        let listener_wake = wake.clone();
        tokio::spawn(dailies::db::notify::listen(
            url.clone(),
            "dailies_jobs",
            stop.clone(),
            move |_| listener_wake.notify_waiters(),
        ));
        let (stop, queued_at, latencies, claims) = (
            stop.clone(),
            queued_at.clone(),
            latencies.clone(),
            claims.clone(),
        );
        workers.push(tokio::spawn(async move {
            let owner = format!("bench-worker-{n}");
            while !stop.is_cancelled() {
                let notified = wake.notified();
                match queue::claim(&worker_db, &[kind], ",,", &owner, LEASE).await {
                    Ok(Some(job)) => {
                        let at = Instant::now();
                        if let Some(q) = queued_at.lock().await.get(&job.id) {
                            latencies.lock().await.push(at - *q);
                        }
                        claims.lock().await.push(job.id.clone());
                        let _ = queue::complete(&worker_db, &job.id, &owner).await;
                        continue;
                    }
                    Ok(None) => {}
                    Err(e) => eprintln!("claim failed: {e:#}"),
                }
                tokio::select! {
                    _ = stop.cancelled() => {}
                    _ = notified => {}
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                }
            }
        }));
    }
    // Let every listener connect.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for i in 0..JOBS {
        let mut conn = db.pool.acquire().await?;
        let id = queue::enqueue(
            &mut conn,
            &NewJob {
                kind,
                video_id: None,
                payload: json!({}),
                priority: 0,
                max_attempts: 1,
                requires: None,
            },
        )
        .await?;
        queued_at.lock().await.insert(id, Instant::now());
        // Spread the arrivals a little, as uploads finishing would.
        tokio::time::sleep(Duration::from_millis(5 + (i as u64 * 7) % 20)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while claims.lock().await.len() < JOBS && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    for w in workers {
        let _ = w.await;
    }
    let claims = claims.lock().await.clone();
    let mut distinct = claims.clone();
    distinct.sort();
    distinct.dedup();
    let mut l = latencies.lock().await.clone();
    l.sort();
    let pct = |p: f64| l[((l.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{WORKERS} idle workers, {JOBS} jobs queued one at a time on PostgreSQL: claim latency median {:.1} ms, p99 {:.1} ms, max {:.1} ms; {} claims of {} distinct jobs (claimed twice: {})",
        pct(0.5).as_secs_f64() * 1000.0,
        pct(0.99).as_secs_f64() * 1000.0,
        l.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
        claims.len(),
        distinct.len(),
        claims.len() - distinct.len()
    );
    sqlx::query("DELETE FROM jobs WHERE kind = $1")
        .bind(kind)
        .execute(&db.pool)
        .await?;
    Ok(())
}
