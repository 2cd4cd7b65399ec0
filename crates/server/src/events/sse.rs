//! `GET /api/events`: Server-Sent Events. Every event carries `id:`; a client that reconnects
//! with `Last-Event-ID` (or `?since=`) is first sent what it missed from the log, then the live
//! stream, with no gap and no repeat. Comment lines every 15 s keep proxies from closing an idle
//! stream.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use tokio::sync::{broadcast, mpsc};

use crate::api::access::Requester;
use crate::api::error::ApiError;
use crate::app::App;
use crate::db::{events as table, videos};

use super::Event;
use super::filter::Filter;

const HEARTBEAT: Duration = Duration::from_secs(15);
/// What a browser's EventSource waits before reconnecting.
const RECONNECT_MS: u64 = 2000;
/// Events waiting for a slow SSE client before its feed pauses (it then catches up from the log).
const QUEUE: usize = 64;
const PAGE: i64 = 500;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// Comma-separated video ids.
    video: Option<String>,
    /// Comma-separated kinds or families (`job.*`).
    kind: Option<String>,
    /// Resume after this event id (as `Last-Event-ID` does).
    since: Option<i64>,
    /// A share link's secret; read by [`crate::api::access::Requester`], named here so the
    /// strict query parser accepts it.
    #[allow(dead_code)]
    share: Option<String>,
}

/// The filter and resume point of a subscription, checked: unknown kinds and malformed ids are
/// 400, videos the caller may not see are 404 (exactly like videos that do not exist).
pub async fn subscription(
    app: &App,
    caller: &Requester,
    video: Option<&str>,
    kind: Option<&str>,
) -> Result<Filter, ApiError> {
    let mut filter = Filter::default();
    if let Some(v) = video {
        filter.add_videos(v).map_err(ApiError::BadRequest)?;
        for id in filter.videos.iter().flatten() {
            match videos::get(&app.db, id).await? {
                Some(v) if crate::api::access::may_see(caller, &v.owner_id, Some(&v.id)) => {}
                _ => return Err(ApiError::NotFound),
            }
        }
    }
    if let Some(k) = kind {
        filter.add_kinds(k).map_err(ApiError::BadRequest)?;
    }
    Ok(filter)
}

pub async fn stream(
    State(app): State<App>,
    caller: Requester,
    headers: HeaderMap,
    query: Result<Query<StreamQuery>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    if caller.is_anonymous() {
        return Err(ApiError::Unauthorized);
    }
    let filter = subscription(&app, &caller, q.video.as_deref(), q.kind.as_deref()).await?;
    let resume = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .filter(|n| *n >= 0)
                .ok_or_else(|| {
                    ApiError::BadRequest("Last-Event-ID must be an event id (a number)".into())
                })?,
        ),
        None => q.since,
    };
    if resume.is_some_and(|n| n < 0) {
        return Err(ApiError::BadRequest("since must be an event id".into()));
    }
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(feed(app, caller, filter, resume, tx));
    let stream =
        futures_util::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) },
        );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(HEARTBEAT)))
}

/// Where a subscription starts: after the client's last id, or after what was broadcast so far.
/// An id from the future (a reset database, a made-up number) counts as "now", not as "wait".
pub fn start_position(app: &App, resume: Option<i64>) -> i64 {
    let now = app.events.delivered();
    resume.map_or(now, |r| r.min(now))
}

fn to_sse(e: &Event) -> SseEvent {
    SseEvent::default()
        .id(e.id.to_string())
        .retry(Duration::from_millis(RECONNECT_MS))
        .data(serde_json::to_string(e).unwrap_or_default())
}

/// Sends the log from `resume`, then the live stream, until the client goes away.
async fn feed(
    app: App,
    caller: Requester,
    filter: Filter,
    resume: Option<i64>,
    tx: mpsc::Sender<SseEvent>,
) {
    // Position, subscribe, then read the log from the position: what was broadcast between the
    // first two steps comes from the log, and the live stream skips what the log gave.
    let mut sent = start_position(&app, resume);
    let mut live = app.events.subscribe();
    match catch_up(&app, &caller, &filter, sent, &tx, to_sse).await {
        Some(s) => sent = s,
        None => return,
    }
    loop {
        let next = tokio::select! {
            _ = tx.closed() => return,
            _ = app.events.closed.cancelled() => return,
            next = live.recv() => next,
        };
        match next {
            Ok(e) if e.id > sent => {
                sent = e.id;
                if e.visible_to(&caller) && filter.matches(&e) && tx.send(to_sse(&e)).await.is_err()
                {
                    return;
                }
            }
            Ok(_) => {}
            // Fell behind the broadcast: the log has everything.
            Err(broadcast::error::RecvError::Lagged(_)) => {
                match catch_up(&app, &caller, &filter, sent, &tx, to_sse).await {
                    Some(s) => sent = s,
                    None => return,
                }
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Sends (as `T`, made by `encode`) what the log holds after `after` that the caller may see and
/// asked for; returns the last id read, or `None` when the client is gone.
pub async fn catch_up<T>(
    app: &App,
    caller: &Requester,
    filter: &Filter,
    mut after: i64,
    tx: &mpsc::Sender<T>,
    encode: fn(&Event) -> T,
) -> Option<i64> {
    loop {
        let page = match table::after(&app.db, after, PAGE).await {
            Ok(p) => p,
            Err(e) => {
                // End the stream rather than go on with a gap: the client reconnects and
                // resumes from its last id.
                tracing::warn!(error = %format!("{e:#}"), "cannot replay events");
                return None;
            }
        };
        let full = page.len() as i64 == PAGE;
        for e in page {
            after = e.id;
            if e.visible_to(caller) && filter.matches(&e) && tx.send(encode(&e)).await.is_err() {
                return None;
            }
        }
        if !full {
            return Some(after);
        }
    }
}
