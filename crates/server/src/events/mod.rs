//! Live updates: every job state change and progress tick, every video change and every comment
//! added, edited or deleted, becomes an
//! [`Event`] with a monotonically increasing id. Events go into the `events` table (so a client
//! that reconnects is sent exactly what it missed) and out to subscribers of the in-process
//! [`bus::EventBus`], which streams them over Server-Sent Events ([`sse`]) and WebSocket
//! ([`ws`]). Nobody is sent an event about a video they may not see.

pub mod bus;
pub mod filter;
pub mod sse;
pub mod ws;

use serde::Serialize;
use serde_json::Value;

use crate::api::access::Requester;

/// Event kinds; clients filter on them (`job.*` matches every job event).
pub mod kind {
    pub const JOB_QUEUED: &str = "job.queued";
    pub const JOB_STARTED: &str = "job.started";
    pub const JOB_PROGRESS: &str = "job.progress";
    pub const JOB_RETRYING: &str = "job.retrying";
    pub const JOB_DONE: &str = "job.done";
    pub const JOB_FAILED: &str = "job.failed";
    pub const JOB_CANCELLED: &str = "job.cancelled";
    pub const VIDEO_CREATED: &str = "video.created";
    pub const VIDEO_UPDATED: &str = "video.updated";
    pub const VIDEO_DELETED: &str = "video.deleted";
    pub const COMMENT_CREATED: &str = "comment.created";
    pub const COMMENT_UPDATED: &str = "comment.updated";
    pub const COMMENT_DELETED: &str = "comment.deleted";
}

/// One event as stored and as sent (the same JSON on SSE and WebSocket).
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    pub id: i64,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    pub kind: String,
    /// Whose video this is about: decides who receives it. Not sent.
    #[serde(skip)]
    pub owner_id: Option<String>,
    pub video_id: Option<String>,
    pub job_id: Option<String>,
    pub data: Value,
}

impl Event {
    /// Owners receive events about their videos, admins everything; events about no one's
    /// video are for admins.
    /// Share-link holders receive only the events of their link's video.
    pub fn visible_to(&self, caller: &Requester) -> bool {
        match &self.owner_id {
            Some(owner) => crate::api::access::may_see(caller, owner, self.video_id.as_deref()),
            None => caller.is_admin(),
        }
    }
}

/// An event to publish.
#[derive(Clone, Debug)]
pub struct NewEvent {
    pub kind: &'static str,
    pub owner_id: Option<String>,
    pub video_id: Option<String>,
    pub job_id: Option<String>,
    pub data: Value,
}

impl NewEvent {
    /// An event about a video (and its owner).
    pub fn video(kind: &'static str, owner_id: &str, video_id: &str, data: Value) -> Self {
        NewEvent {
            kind,
            owner_id: Some(owner_id.to_owned()),
            video_id: Some(video_id.to_owned()),
            job_id: None,
            data,
        }
    }

    /// An event about a job, on its video when it has one.
    pub fn job(
        kind: &'static str,
        owner_id: Option<&str>,
        video_id: Option<&str>,
        job_id: &str,
        data: Value,
    ) -> Self {
        NewEvent {
            kind,
            owner_id: owner_id.map(str::to_owned),
            video_id: video_id.map(str::to_owned),
            job_id: Some(job_id.to_owned()),
            data,
        }
    }
}
