//! Workers: claim jobs, keep their leases alive, report progress, and hand work back cleanly on
//! shutdown.
//!
//! Each job kind has its own pool of worker loops. For `process` the pool size and ffmpeg's
//! thread count come from one CPU budget ([`crate::config::Config::cpu_budget`]), so concurrent
//! jobs × threads stays near the core count.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use dailies_media::Progress;
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::app::App;
use crate::db::videos;
use crate::events::{NewEvent, kind};
use crate::ingest::register::PROCESS_JOB;
use crate::jobs::capabilities;
use crate::jobs::encode_video::{self, ENCODE_JOB};
use crate::jobs::make_thumbnails::{self, THUMBNAILS_JOB};
use crate::jobs::make_torrents::{self, TORRENT_JOB};
use crate::jobs::queue::{self, FailOutcome, Heartbeat, Job};
use crate::jobs::{JobError, process_video};

/// How often an idle worker looks for work it was not told about (other processes' jobs).
const IDLE_POLL: Duration = Duration::from_secs(2);
/// Progress is written at most this often.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// What a running job can use besides the app.
pub struct JobContext {
    /// The lease holder name this worker claimed the job with.
    pub owner: String,
    pub cancel: CancellationToken,
    pub progress: watch::Sender<Option<Progress>>,
}

/// Runs worker loops until `shutdown`; returns once every running job was stopped and handed
/// back to the queue.
pub async fn run(app: App, shutdown: CancellationToken) {
    let caps = Arc::new(capabilities::claim_list(&capabilities::local(&app).await));
    let mut set = JoinSet::new();
    if app.db.kind == crate::db::DbKind::Postgres {
        // Jobs queued by other nodes wake these workers at once (the `jobs_notify` trigger).
        let added = app.jobs_added.clone();
        set.spawn(crate::db::notify::listen(
            app.config.database_url(),
            "dailies_jobs",
            shutdown.clone(),
            move |_| added.notify_waiters(),
        ));
    }
    for (kinds, concurrency) in pools(&app) {
        tracing::info!(
            kinds = ?kinds,
            concurrency,
            ffmpeg_threads = app.tools.threads,
            capabilities = %caps,
            "job workers started"
        );
        let kinds: Arc<[&'static str]> = kinds.into();
        for n in 0..concurrency {
            // The node id first: running jobs are traced to their node by this prefix.
            let owner = format!("{}-{}-{n}", app.node_id, kinds[0]);
            set.spawn(worker_loop(
                app.clone(),
                kinds.clone(),
                caps.clone(),
                owner,
                shutdown.clone(),
                || false,
            ));
        }
    }
    while set.join_next().await.is_some() {}
}

/// Job kinds that run ffmpeg: one pool shares the CPU budget among them, so concurrent jobs ×
/// ffmpeg threads stays near the core count whatever the mix.
const FFMPEG_KINDS: &[&str] = &[PROCESS_JOB, ENCODE_JOB, THUMBNAILS_JOB];

/// Torrent hashing reads whole files and keeps two hashing threads busy: one at a time, beside
/// the ffmpeg pool (it is bound by the disk more than by the CPU).
const HASHING_KINDS: &[&str] = &[TORRENT_JOB];

/// Every job kind, for `--kinds`.
pub const ALL_KINDS: &[&str] = &[PROCESS_JOB, ENCODE_JOB, THUMBNAILS_JOB, TORRENT_JOB];

/// The kinds this process's workers run: `job_kinds`, or all.
pub fn enabled_kinds(app: &App) -> Vec<&'static str> {
    ALL_KINDS
        .iter()
        .copied()
        .filter(|k| app.config.job_kinds.is_empty() || app.config.job_kinds.iter().any(|c| c == k))
        .collect()
}

/// Each pool (the kinds it runs, of those enabled) and how many of its jobs this process runs
/// at once.
fn pools(app: &App) -> Vec<(Vec<&'static str>, usize)> {
    let enabled = enabled_kinds(app);
    [
        (FFMPEG_KINDS, app.config.cpu_budget().0),
        (HASHING_KINDS, 1),
    ]
    .into_iter()
    .map(|(kinds, n)| {
        let kinds: Vec<&'static str> = kinds
            .iter()
            .copied()
            .filter(|k| enabled.contains(k))
            .collect();
        (kinds, n)
    })
    .filter(|(kinds, _)| !kinds.is_empty())
    .collect()
}

/// One worker that stops once `done()` holds (used by `dailies import`, which waits for its own
/// files only).
pub async fn run_until(app: App, shutdown: CancellationToken, done: impl Fn() -> bool) {
    let owner = format!("{}-import", app.node_id);
    let caps = Arc::new(capabilities::claim_list(&capabilities::local(&app).await));
    worker_loop(app, Arc::from([PROCESS_JOB]), caps, owner, shutdown, done).await;
}

fn lease(app: &App) -> Duration {
    Duration::from_secs_f64(app.config.job_lease_secs)
}

/// Claims and runs jobs of `kinds` until shutdown (or `done()`); idles on the "jobs added"
/// notifier with a slow poll for jobs other processes add.
async fn worker_loop(
    app: App,
    kinds: Arc<[&'static str]>,
    caps: Arc<String>,
    owner: String,
    shutdown: CancellationToken,
    done: impl Fn() -> bool,
) {
    while !shutdown.is_cancelled() && !done() {
        let notified = app.jobs_added.notified();
        let wait = match queue::claim(&app.db, &kinds, &caps, &owner, lease(&app)).await {
            Ok(Some(job)) => {
                run_job(&app, job, &owner, &shutdown).await;
                continue;
            }
            Ok(None) => IDLE_POLL,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "cannot claim a job");
                IDLE_POLL
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = notified => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// One attempt at one job, with heartbeat, progress and the bookkeeping of its outcome.
pub async fn run_job(app: &App, job: Job, owner: &str, shutdown: &CancellationToken) {
    let span = tracing::info_span!("job", id = %job.id, kind = %job.kind,
        video = job.video_id.as_deref().unwrap_or("-"), attempt = job.attempts);
    async {
        tracing::info!("started");
        // With S3 storage: the video's scratch folder on this node lives until the job is over.
        let _scratch = job.video_id.as_deref().map(|v| app.storage.pin(v));
        let owner_id = match &job.video_id {
            Some(v) => videos::get(&app.db, v)
                .await
                .ok()
                .flatten()
                .map(|v| v.owner_id),
            None => None,
        };
        let events = JobEvents {
            app,
            job: &job,
            owner_id: owner_id.as_deref(),
        };
        events
            .publish(
                kind::JOB_STARTED,
                json!({ "state": "running", "attempt": job.attempts }),
            )
            .await;
        let attempt_started = std::time::Instant::now();
        let cancel = CancellationToken::new();
        let user_cancelled = Arc::new(AtomicBool::new(false));
        let lost = Arc::new(AtomicBool::new(false));
        let (progress_tx, progress_rx) = watch::channel(None);
        let helpers = CancellationToken::new();
        tokio::spawn(keep_lease(
            app.clone(),
            job.id.clone(),
            owner.to_owned(),
            cancel.clone(),
            shutdown.clone(),
            user_cancelled.clone(),
            lost.clone(),
            helpers.clone(),
        ));
        let progress_writer = tokio::spawn(write_progress(
            app.clone(),
            job.clone(),
            owner.to_owned(),
            owner_id.clone(),
            progress_rx,
            helpers.clone(),
        ));

        let result = if job.attempts > job.max_attempts {
            // Claimed again after its lease ran out each time: the worker keeps dying on it.
            Err(JobError::permanent(
                "Processing stopped unexpectedly several times on this file, so it was given up.",
                None,
            ))
        } else {
            let ctx = JobContext {
                owner: owner.to_owned(),
                cancel: cancel.clone(),
                progress: progress_tx,
            };
            match job.kind.as_str() {
                PROCESS_JOB => process_video::run(app, &job, &ctx).await,
                ENCODE_JOB => encode_video::run(app, &job, &ctx).await,
                THUMBNAILS_JOB => make_thumbnails::run(app, &job, &ctx).await,
                TORRENT_JOB => make_torrents::run(app, &job, &ctx).await,
                other => Err(JobError::permanent(
                    format!("unknown job kind '{other}'"),
                    None,
                )),
            }
        };
        helpers.cancel();
        let outcome_name = match &result {
            Ok(()) => "done",
            Err(e) if e.cancelled => "cancelled",
            Err(e) if e.permanent => "failed",
            Err(_) => "error",
        };
        app.metrics
            .job_finished(&job.kind, outcome_name, attempt_started.elapsed());
        // No progress may be written or announced after the outcome below.
        let _ = progress_writer.await;

        let outcome = match result {
            Ok(()) => match queue::complete(&app.db, &job.id, owner).await {
                Ok(true) => {
                    tracing::info!("done");
                    events
                        .publish(kind::JOB_DONE, json!({ "state": "done" }))
                        .await;
                    Ok(())
                }
                Ok(false) => {
                    tracing::warn!("finished, but the lease had been lost");
                    Ok(())
                }
                Err(e) => Err(e),
            },
            Err(_) if lost.load(Ordering::SeqCst) => {
                tracing::warn!("lease lost; another worker has the job");
                Ok(())
            }
            Err(_) if user_cancelled.load(Ordering::SeqCst) => {
                tracing::info!("cancelled");
                let r = queue::finish_cancelled(&app.db, &job.id, owner).await;
                after_cancel(app, &job, owner_id.as_deref()).await;
                r
            }
            Err(e) if shutdown.is_cancelled() && (e.cancelled || !e.permanent) => {
                tracing::info!("handed back for the next start");
                let r = queue::release(&app.db, &job.id, owner).await;
                events
                    .publish(
                        kind::JOB_QUEUED,
                        json!({ "state": "queued", "reason": "server stopping" }),
                    )
                    .await;
                r
            }
            Err(e) => fail(&events, owner, e).await,
        };
        if let Err(e) = outcome {
            tracing::error!(error = %format!("{e:#}"), "cannot record the job's outcome");
        }
        events.video_changed().await;
    }
    .instrument(span)
    .await
}

/// A cancelled job's request is told (the video, the encode, the thumbnail set), its partial
/// output removed, and the cancel announced.
async fn after_cancel(app: &App, job: &Job, owner_id: Option<&str>) {
    match job.kind.as_str() {
        PROCESS_JOB => process_video::cleanup_after_cancel(app, job).await,
        ENCODE_JOB => encode_video::cancelled(app, job).await,
        THUMBNAILS_JOB => make_thumbnails::cancelled(app, job).await,
        _ => {}
    }
    let events = JobEvents { app, job, owner_id };
    events
        .publish(kind::JOB_CANCELLED, json!({ "state": "cancelled" }))
        .await;
    events.video_changed().await;
}

/// Jobs asked to cancel whose worker died: cancelled here, with the same aftermath as a cancel
/// the worker saw. Run by the maintenance loop.
pub async fn sweep_abandoned_cancels(app: &App) -> anyhow::Result<usize> {
    let jobs = queue::sweep_abandoned_cancels(&app.db).await?;
    for job in &jobs {
        let owner_id = match &job.video_id {
            Some(v) => videos::get(&app.db, v).await?.map(|v| v.owner_id),
            None => None,
        };
        after_cancel(app, job, owner_id.as_deref()).await;
    }
    Ok(jobs.len())
}

/// Publishes the events of one job, on behalf of its video's owner.
struct JobEvents<'a> {
    app: &'a App,
    job: &'a Job,
    owner_id: Option<&'a str>,
}

impl JobEvents<'_> {
    async fn publish(&self, kind: &'static str, mut data: serde_json::Value) {
        // Every job event names the job's kind, so clients can tell processing from encodes.
        if let Some(d) = data.as_object_mut() {
            d.insert("kind".into(), self.job.kind.clone().into());
        }
        self.app
            .publish(NewEvent::job(
                kind,
                self.owner_id,
                self.job.video_id.as_deref(),
                &self.job.id,
                data,
            ))
            .await;
    }

    /// The job's video after the job: its status and error as the API shows them.
    async fn video_changed(&self) {
        let (Some(video_id), Some(owner)) = (&self.job.video_id, self.owner_id) else {
            return;
        };
        if self.job.kind != PROCESS_JOB {
            return;
        }
        if let Ok(Some(v)) = videos::get(&self.app.db, video_id).await {
            self.app
                .publish(NewEvent::video(
                    kind::VIDEO_UPDATED,
                    owner,
                    video_id,
                    json!({ "status": v.status, "error": v.error }),
                ))
                .await;
        }
    }
}

async fn fail(events: &JobEvents<'_>, owner: &str, e: JobError) -> anyhow::Result<()> {
    let (app, job) = (events.app, events.job);
    let base = Duration::from_secs_f64(app.config.job_retry_base_secs);
    let text = match &e.details {
        Some(d) => format!("{}\n{d}", e.message),
        None => e.message.clone(),
    };
    match queue::fail(&app.db, job, owner, &text, e.permanent, base).await? {
        FailOutcome::Retry(delay) => {
            tracing::warn!(error = %text, retry_in_s = delay.as_secs_f64(), "attempt failed; will retry");
            events
                .publish(
                    kind::JOB_RETRYING,
                    json!({ "state": "queued", "error": e.message, "retry_in_s": delay.as_secs_f64() }),
                )
                .await;
            if job.kind == PROCESS_JOB
                && let Some(v) = &job.video_id
            {
                videos::set_queued_after_error(&app.db, v, &e.message).await?;
            }
        }
        FailOutcome::GaveUp => {
            tracing::error!(error = %text, "job failed");
            events
                .publish(
                    kind::JOB_FAILED,
                    json!({ "state": "failed", "error": e.message }),
                )
                .await;
            match job.kind.as_str() {
                PROCESS_JOB => process_video::give_up(app, job, &e).await?,
                ENCODE_JOB => encode_video::give_up(app, job, &e).await?,
                THUMBNAILS_JOB => make_thumbnails::give_up(app, job, &e).await?,
                _ => {}
            }
        }
        FailOutcome::NotHeld => tracing::warn!("failed, but the lease had been lost"),
    }
    Ok(())
}

/// Renews the lease every third of its length; turns a cancel request, a lost lease or a
/// shutdown into `cancel`.
#[allow(clippy::too_many_arguments)]
async fn keep_lease(
    app: App,
    id: String,
    owner: String,
    cancel: CancellationToken,
    shutdown: CancellationToken,
    user_cancelled: Arc<AtomicBool>,
    lost: Arc<AtomicBool>,
    stop: CancellationToken,
) {
    let every = lease(&app) / 3;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = shutdown.cancelled() => { cancel.cancel(); return; }
            _ = tokio::time::sleep(every) => {}
            // A cancel was requested through this process: look now, not at the next beat.
            _ = app.cancels_requested.notified() => {}
        }
        match queue::heartbeat(&app.db, &id, &owner, lease(&app)).await {
            Ok(Heartbeat::Held) => {}
            Ok(Heartbeat::CancelRequested) => {
                user_cancelled.store(true, Ordering::SeqCst);
                cancel.cancel();
                return;
            }
            Ok(Heartbeat::Lost) => {
                lost.store(true, Ordering::SeqCst);
                cancel.cancel();
                return;
            }
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "heartbeat failed"),
        }
    }
}

/// Copies the latest progress into the job and video rows, at most every [`PROGRESS_EVERY`].
async fn write_progress(
    app: App,
    job: Job,
    owner: String,
    owner_id: Option<String>,
    mut rx: watch::Receiver<Option<Progress>>,
    stop: CancellationToken,
) {
    let events = JobEvents {
        app: &app,
        job: &job,
        owner_id: owner_id.as_deref(),
    };
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            changed = rx.changed() => if changed.is_err() { return },
        }
        let latest = rx.borrow_and_update().clone();
        if let Some(p) = latest {
            let fraction = p.fraction.unwrap_or(0.0).clamp(0.0, 1.0);
            let eta = p.eta.map(|d| d.as_secs_f64());
            if let Err(e) =
                queue::set_progress(&app.db, &job.id, &owner, fraction, p.speed, eta).await
            {
                tracing::debug!(error = %e, "progress not saved");
            }
            // A video's own progress is its processing; encodes and thumbnails have their own.
            if job.kind == PROCESS_JOB
                && let Some(v) = &job.video_id
            {
                let _ = videos::set_progress(&app.db, v, fraction).await;
            }
            events
                .publish(
                    kind::JOB_PROGRESS,
                    json!({ "progress": fraction, "speed": p.speed, "eta_s": eta }),
                )
                .await;
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(PROGRESS_EVERY) => {}
        }
    }
}
