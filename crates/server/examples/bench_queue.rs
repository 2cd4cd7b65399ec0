//! Benchmark: job queue throughput with no-op jobs — claim + complete per second, by 1, 2 and 4
//! concurrent workers, on SQLite (a temporary file) and on PostgreSQL when
//! `DAILIES_BENCH_POSTGRES` names a database. Figures, not a test.
//!
//!     cargo run --release -p dailies --example bench_queue

use std::time::{Duration, Instant};

use dailies::db::Db;
use dailies::jobs::queue::{self, NewJob};
use serde_json::json;

const JOBS: usize = 2000;
const LEASE: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let mut targets = vec![(
        "sqlite",
        format!("sqlite://{}?mode=rwc", tmp.path().join("q.db").display()),
    )];
    if let Ok(url) = std::env::var("DAILIES_BENCH_POSTGRES") {
        targets.push(("postgres", url));
    }
    for (name, url) in targets {
        let db = Db::connect(&url).await?;
        for workers in [1usize, 2, 4] {
            let kind = format!("bench-{}", dailies::ids::new_id());
            let kind: &'static str = Box::leak(kind.into_boxed_str());
            let t0 = Instant::now();
            for _ in 0..JOBS {
                let mut conn = db.pool.acquire().await?;
                queue::enqueue(
                    &mut conn,
                    &NewJob {
                        kind,
                        video_id: None,
                        payload: json!({}),
                        priority: 0,
                        max_attempts: 3,
                        requires: None,
                    },
                )
                .await?;
            }
            let enqueue_s = t0.elapsed().as_secs_f64();
            let t1 = Instant::now();
            let mut set = tokio::task::JoinSet::new();
            for w in 0..workers {
                let db = db.clone();
                set.spawn(async move {
                    let owner = format!("bench-{w}");
                    let mut done = 0usize;
                    while let Some(job) = queue::claim(&db, &[kind], ",,", &owner, LEASE).await? {
                        if queue::complete(&db, &job.id, &owner).await? {
                            done += 1;
                        }
                    }
                    anyhow::Ok(done)
                });
            }
            let mut done = 0;
            while let Some(r) = set.join_next().await {
                done += r??;
            }
            let run_s = t1.elapsed().as_secs_f64();
            assert_eq!(done, JOBS, "every job ran exactly once");
            println!(
                "queue_{name}_workers_{workers}: {:.0} jobs/s claim+complete ({JOBS} jobs in {run_s:.2} s); enqueue {:.0} jobs/s",
                JOBS as f64 / run_s,
                JOBS as f64 / enqueue_s
            );
            sqlx::query("DELETE FROM jobs WHERE kind = $1")
                .bind(kind)
                .execute(&db.pool)
                .await?;
        }
    }
    Ok(())
}
