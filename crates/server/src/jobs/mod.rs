//! Background work: a durable queue in the database ([`queue`]), the workers that run it
//! ([`worker`]) and what each job kind does ([`process_video`], [`encode_video`], [`make_thumbnails`]).

pub mod capabilities;
pub mod encode_video;
pub mod make_thumbnails;
pub mod make_torrents;
pub mod process_video;
pub mod queue;
pub mod worker;

/// Why a job attempt did not succeed.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct JobError {
    /// A sentence for the person who owns the video.
    pub message: String,
    /// The tool's own words, for the curious and for support.
    pub details: Option<String>,
    /// Retrying cannot help (the input itself is unusable).
    pub permanent: bool,
    /// The job stopped because it was asked to (cancel or shutdown), not because it failed.
    pub cancelled: bool,
}

impl JobError {
    pub fn permanent(message: impl Into<String>, details: Option<String>) -> Self {
        JobError {
            message: message.into(),
            details,
            permanent: true,
            cancelled: false,
        }
    }

    pub fn transient(message: impl Into<String>, details: Option<String>) -> Self {
        JobError {
            message: message.into(),
            details,
            permanent: false,
            cancelled: false,
        }
    }

    pub fn cancelled() -> Self {
        JobError {
            message: "cancelled".into(),
            details: None,
            permanent: false,
            cancelled: true,
        }
    }
}

impl From<anyhow::Error> for JobError {
    /// Infrastructure errors (database, disk) are worth retrying.
    fn from(e: anyhow::Error) -> Self {
        JobError::transient(
            "an internal error interrupted processing",
            Some(format!("{e:#}")),
        )
    }
}

/// Queues a job on a video together with its `job.queued` event, in the caller's transaction
/// (taken inside the event bus's append turn, so the event commits with the job and in order).
pub async fn enqueue_on_video(
    conn: &mut sqlx::AnyConnection,
    app: &crate::app::App,
    owner_id: &str,
    video_id: &str,
    kind: &'static str,
    payload: serde_json::Value,
    requires: Option<&str>,
) -> anyhow::Result<String> {
    let job_id = queue::enqueue(
        conn,
        &queue::NewJob {
            kind,
            video_id: Some(video_id),
            payload: payload.clone(),
            // Making a video playable comes before extra encodes and thumbnails.
            priority: if kind == crate::ingest::register::PROCESS_JOB {
                10
            } else {
                0
            },
            max_attempts: app.config.job_max_attempts,
            requires,
        },
    )
    .await?;
    let mut data = serde_json::json!({ "state": "queued", "kind": kind });
    if let (Some(d), Some(p)) = (data.as_object_mut(), payload.as_object()) {
        d.extend(p.clone());
    }
    let queued = crate::events::NewEvent::job(
        crate::events::kind::JOB_QUEUED,
        Some(owner_id),
        Some(video_id),
        &job_id,
        data,
    );
    crate::db::events::insert(conn, &queued).await?;
    Ok(job_id)
}
