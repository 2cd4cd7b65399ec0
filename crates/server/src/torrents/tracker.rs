//! The built-in tracker's allow-list: private by default, it tracks only torrents this server
//! made. Filled from the database at start, extended as torrents are made, emptied of a video's
//! torrents when it is deleted.

use anyhow::Result;
use dailies_torrent::tracker::{Tracker, TrackerConfig};

use crate::db::Db;
use crate::db::torrents::{self, Torrent};
use crate::torrents::links::info_hashes;

pub fn new_tracker() -> Tracker {
    Tracker::new(TrackerConfig::default())
}

/// Allows every live torrent in the database.
pub async fn load(tracker: &Tracker, db: &Db) -> Result<usize> {
    let all = torrents::all_live(db).await?;
    for t in &all {
        allow(tracker, t);
    }
    Ok(all.len())
}

pub fn allow(tracker: &Tracker, t: &Torrent) {
    if let Some(h) = info_hashes(t) {
        tracker.allow_torrent(&h);
    }
}

/// Stops tracking `t` unless another live torrent has the same info hash: the same bytes under
/// the same name make the same torrent (a kept original is also the playable file; two people
/// may upload one file).
pub async fn withdraw(tracker: &Tracker, db: &Db, t: &Torrent) -> Result<()> {
    let Some(h) = info_hashes(t) else {
        return Ok(());
    };
    let still_used = torrents::all_live(db).await?.iter().any(|other| {
        (other.video_id != t.video_id || other.rendition != t.rendition)
            && info_hashes(other) == Some(h)
    });
    if !still_used {
        tracker.revoke_torrent(&h);
    }
    Ok(())
}

/// Keeps the allow-list in step with torrents made or withdrawn by any process sharing the
/// database (the event log reaches every process): a video's torrents are re-read when an event
/// says they changed or the video was deleted. A subscriber that fell behind reloads everything.
pub async fn follow(app: crate::app::App, shutdown: tokio_util::sync::CancellationToken) {
    use tokio::sync::broadcast::error::RecvError;
    let mut events = app.events.subscribe();
    loop {
        let event = tokio::select! {
            _ = shutdown.cancelled() => return,
            e = events.recv() => e,
        };
        let result = match event {
            Ok(e) => match (&e.video_id, e.kind.as_str()) {
                (Some(video), crate::events::kind::VIDEO_DELETED) => refresh(&app, video).await,
                (Some(video), crate::events::kind::VIDEO_UPDATED)
                    if e.data.get("torrents").is_some() =>
                {
                    refresh(&app, video).await
                }
                _ => Ok(()),
            },
            Err(RecvError::Lagged(_)) => load(&app.tracker, &app.db).await.map(|_| ()),
            Err(RecvError::Closed) => return,
        };
        if let Err(e) = result {
            tracing::warn!(error = %format!("{e:#}"), "cannot update the tracker's torrents");
        }
    }
}

async fn refresh(app: &crate::app::App, video_id: &str) -> Result<()> {
    let live = crate::db::videos::get(&app.db, video_id)
        .await?
        .is_some_and(|v| v.deleted_at.is_none());
    for t in torrents::for_video(&app.db, video_id).await? {
        if live {
            allow(&app.tracker, &t);
        } else {
            withdraw(&app.tracker, &app.db, &t).await?;
        }
    }
    Ok(())
}
