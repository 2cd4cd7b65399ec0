//! `GET /api/ws`: the same events over a WebSocket, with topics the client changes as it goes.
//!
//! Client → server (JSON text): `{"type":"subscribe","videos":"id,id","kinds":"job.*"}`,
//! `{"type":"unsubscribe", …}`, `{"type":"resume","since":N}`, `{"type":"ping"}`.
//! Server → client: each event's JSON (as on SSE), and `{"type":"subscribed"|"pong"|"error", …}`.
//! `?video=`, `?kind=` and `?since=` on the URL set the first subscription and resume point.
//!
//! Each client has a bounded queue. A client that cannot keep up is closed with code
//! [`CLOSE_TOO_SLOW`] and a reason; it never slows the others or grows the server's memory.

use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{broadcast, mpsc, oneshot};
use tracing::Instrument;

use crate::api::access::Requester;
use crate::api::error::ApiError;
use crate::app::App;

use super::Event;
use super::filter::Filter;
use super::sse::{catch_up, start_position, subscription};

/// Close code for a client that does not read its events fast enough.
pub const CLOSE_TOO_SLOW: u16 = 4008;
/// Messages waiting for one client; more means it is not keeping up.
const QUEUE: usize = 256;
/// Largest message a client may send.
const MAX_MESSAGE: usize = 16 << 10;
/// WebSocket pings keep idle connections alive through proxies and find dead peers.
const PING_EVERY: Duration = Duration::from_secs(20);
/// How long a closing handshake may take before the connection is simply dropped. Generous:
/// a slow client may still be reading its backlog, and the close frame (with its reason) comes
/// after it. Memory stays bounded meanwhile: nothing more is queued.
const CLOSE_GRACE: Duration = Duration::from_secs(30);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectQuery {
    video: Option<String>,
    kind: Option<String>,
    since: Option<i64>,
    /// A share link's secret; read by [`crate::api::access::Requester`], named here so the
    /// strict query parser accepts it.
    #[allow(dead_code)]
    share: Option<String>,
}

pub async fn connect(
    State(app): State<App>,
    caller: Requester,
    query: Result<Query<ConnectQuery>, QueryRejection>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    // Who is asking is answered before whether the request is a proper upgrade, so a stranger
    // learns nothing from the difference.
    if caller.is_anonymous() {
        return Err(ApiError::Unauthorized);
    }
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let filter = subscription(&app, &caller, q.video.as_deref(), q.kind.as_deref()).await?;
    if q.since.is_some_and(|n| n < 0) {
        return Err(ApiError::BadRequest("since must be an event id".into()));
    }
    let upgrade = upgrade.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let span = tracing::info_span!("ws", user = %caller.name());
    Ok(upgrade
        .max_message_size(MAX_MESSAGE)
        .on_upgrade(move |socket| session(app, caller, filter, q.since, socket).instrument(span)))
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
enum Command {
    Subscribe {
        videos: Option<String>,
        kinds: Option<String>,
    },
    Unsubscribe {
        videos: Option<String>,
        kinds: Option<String>,
    },
    Resume {
        since: i64,
    },
    Ping {
        data: Option<serde_json::Value>,
    },
}

fn text(v: serde_json::Value) -> Message {
    Message::Text(Utf8Bytes::from(v.to_string()))
}

fn encode(e: &Event) -> Message {
    Message::Text(Utf8Bytes::from(
        serde_json::to_string(e).unwrap_or_default(),
    ))
}

fn describe(f: &Filter) -> serde_json::Value {
    json!({
        "type": "subscribed",
        "videos": f.videos.as_ref().map(|s| s.iter().cloned().collect::<Vec<_>>()),
        "kinds": f.kinds.as_ref().map(|s| s.iter().map(|k| if k.ends_with('.') { format!("{k}*") } else { k.clone() }).collect::<Vec<_>>()),
    })
}

async fn session(
    app: App,
    caller: Requester,
    mut filter: Filter,
    since: Option<i64>,
    socket: WebSocket,
) {
    let (mut sink, mut incoming) = socket.split();
    let (out, mut queue) = mpsc::channel::<Message>(QUEUE);
    let (close_tx, close_rx) = oneshot::channel::<CloseFrame>();

    // The writer: drains the queue; a close request goes out ahead of whatever is queued.
    let writer = tokio::spawn(async move {
        let mut close_rx = close_rx;
        loop {
            tokio::select! {
                biased;
                frame = &mut close_rx => {
                    if let Ok(frame) = frame {
                        let _ = tokio::time::timeout(CLOSE_GRACE, sink.send(Message::Close(Some(frame)))).await;
                    }
                    return;
                }
                msg = queue.recv() => match msg {
                    Some(m) => if sink.send(m).await.is_err() { return },
                    None => return,
                },
            }
        }
    });

    // As for SSE: position, subscribe, then the log from the position.
    let mut sent = start_position(&app, since);
    let mut live = app.events.subscribe();
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let too_slow = |reason: &str| CloseFrame {
        code: CLOSE_TOO_SLOW,
        reason: Utf8Bytes::from(reason.to_owned()),
    };
    let mut closing: Option<CloseFrame> = None;
    if out.send(text(describe(&filter))).await.is_err() {
        return;
    }
    match catch_up(&app, &caller, &filter, sent, &out, encode).await {
        Some(s) => sent = s,
        None => return,
    }

    while closing.is_none() {
        tokio::select! {
            msg = incoming.next() => {
                let reply = match msg {
                    Some(Ok(Message::Text(t))) => handle(&app, &caller, &mut filter, &mut sent, &out, t.as_str()).await,
                    Some(Ok(Message::Binary(_))) => Some(json!({"type": "error", "message": "send JSON text messages"})),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => None,
                };
                if let Some(r) = reply
                    && out.try_send(text(r)).is_err()
                {
                    closing = Some(too_slow("too slow: replies were not read"));
                }
            }
            next = live.recv() => match next {
                Ok(e) if e.id > sent => {
                    sent = e.id;
                    if e.visible_to(&caller) && filter.matches(&e) && out.try_send(encode(&e)).is_err() {
                        closing = Some(too_slow("too slow: events were not read fast enough"));
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    closing = Some(too_slow("too slow: fell behind the event stream"));
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            _ = app.events.closed.cancelled() => {
                closing = Some(CloseFrame { code: 1001, reason: Utf8Bytes::from_static("the server is restarting; reconnect with since=<last id>") });
            }
            _ = ping.tick() => {
                if out.try_send(Message::Ping(Default::default())).is_err() {
                    closing = Some(too_slow("too slow: the connection is not being read"));
                }
            }
        }
    }
    if let Some(frame) = closing {
        tracing::info!(code = frame.code, reason = %frame.reason, "closing a WebSocket client");
        let _ = close_tx.send(frame);
        // The closing handshake: read (and drop) what the client still sends until its own
        // close arrives. Hanging up with its messages unread would reset the connection and
        // lose what it has not read yet, the close frame and its reason included.
        let handshake = async {
            while let Some(Ok(msg)) = incoming.next().await {
                if matches!(msg, Message::Close(_)) {
                    break;
                }
            }
        };
        if tokio::time::timeout(CLOSE_GRACE, handshake).await.is_err() {
            tracing::info!("the client did not finish closing; dropped");
        }
        finish_writer(writer, Duration::from_secs(1)).await;
    } else {
        drop(out);
        finish_writer(writer, Duration::from_secs(5)).await;
    }
}

/// Waits a moment for the writer, then stops it: a writer stuck on a client that never reads
/// would otherwise keep the connection (and its queue) forever.
async fn finish_writer(mut writer: tokio::task::JoinHandle<()>, grace: Duration) {
    if tokio::time::timeout(grace, &mut writer).await.is_err() {
        writer.abort();
    }
}

/// One client command; returns the reply to send, if any.
async fn handle(
    app: &App,
    caller: &Requester,
    filter: &mut Filter,
    sent: &mut i64,
    out: &mpsc::Sender<Message>,
    raw: &str,
) -> Option<serde_json::Value> {
    let cmd: Command = match serde_json::from_str(raw) {
        Ok(c) => c,
        Err(e) => {
            return Some(
                json!({"type": "error", "message": format!("not a command this server knows: {e}")}),
            );
        }
    };
    match cmd {
        Command::Subscribe { videos, kinds } => {
            let mut next = filter.clone();
            if let Some(v) = videos {
                // Checked like the URL's: videos the caller may not see do not exist.
                if let Err(e) = subscription(app, caller, Some(&v), None).await {
                    return Some(
                        json!({"type": "error", "message": format!("cannot subscribe to {v}: {e}")}),
                    );
                }
                if let Err(e) = next.add_videos(&v) {
                    return Some(json!({"type": "error", "message": e}));
                }
            }
            if let Some(k) = kinds
                && let Err(e) = next.add_kinds(&k)
            {
                return Some(json!({"type": "error", "message": e}));
            }
            *filter = next;
            Some(describe(filter))
        }
        Command::Unsubscribe { videos, kinds } => {
            if let Some(v) = videos {
                filter.remove_videos(&v);
            }
            if let Some(k) = kinds {
                filter.remove_kinds(&k);
            }
            Some(describe(filter))
        }
        Command::Resume { since } if since >= 0 => {
            match catch_up(app, caller, filter, since, out, encode).await {
                Some(s) => *sent = (*sent).max(s),
                None => return None,
            }
            None
        }
        Command::Resume { .. } => {
            Some(json!({"type": "error", "message": "since must be an event id"}))
        }
        Command::Ping { data } => Some(json!({"type": "pong", "data": data})),
    }
}
