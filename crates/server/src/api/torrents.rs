//! Torrents over HTTP: the .torrent of a rendition for signed-in viewers, the web seed and
//! `xs` link that BitTorrent clients reach with the video's secret, revoking that secret, and
//! the tracker's `/announce` and `/scrape`.

use std::net::SocketAddr;

use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde::Deserialize;
use serde_json::Value;

use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::api::files::{Presentation, content_disposition, serve_file};
use crate::api::videos::{video_json_with_torrents, visible};
use crate::app::App;
use crate::db::torrents::{self as torrent_rows, Torrent};
use crate::db::videos::{self, Video};
use crate::events::{NewEvent, kind};
use crate::ids;
use crate::torrents::Rendition;
use crate::torrents::links::Links;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/videos/{id}/torrent", get(torrent_for_viewer))
        .route("/api/videos/{id}/webseed-token", delete(revoke_secret))
        .route("/api/webseed/{id}/{secret}/{file}", get(webseed))
        .route("/announce", get(announce))
        .route("/scrape", get(scrape))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TorrentQuery {
    rendition: Option<String>,
    /// A share link's secret; read by [`crate::api::access::Requester`], named here so the
    /// strict query parser accepts it.
    #[allow(dead_code)]
    share: Option<String>,
}

fn parse_rendition(key: Option<&str>) -> Result<Rendition, ApiError> {
    let key = key.unwrap_or("playable");
    Rendition::parse(key).ok_or_else(|| {
        ApiError::Unprocessable(format!(
            "unknown rendition '{}': use playable, original or encode-<id>",
            key.chars().take(40).collect::<String>()
        ))
    })
}

/// The stored torrent of a rendition that is still shared, if it has been made.
async fn stored(app: &App, video: &Video, rendition: &Rendition) -> Result<Torrent, ApiError> {
    let key = rendition.key();
    let row = torrent_rows::for_video(&app.db, &video.id)
        .await?
        .into_iter()
        .find(|t| t.rendition == key);
    let shared = crate::torrents::rendition::find(app, video, rendition)
        .await?
        .is_some();
    match row {
        Some(t) if shared => Ok(t),
        _ => Err(ApiError::NotFound),
    }
}

/// The .torrent as clients get it: our tracker and the web seed (with the current secret)
/// written in. Info hashes are unchanged by these keys.
async fn served_torrent(app: &App, video: &Video, t: &Torrent) -> Result<Response, ApiError> {
    let rendition = Rendition::parse(&t.rendition).ok_or(ApiError::NotFound)?;
    let path = app
        .layout
        .torrent_file(&video.id, &rendition)
        .ok_or(ApiError::NotFound)?;
    let bytes = app
        .storage
        .read_small(&path)
        .await?
        .ok_or(ApiError::NotFound)?;
    let secret = torrent_rows::ensure_webseed_token(&app.db, &video.id).await?;
    let links = Links::new(&app.config);
    let bytes = dailies_torrent::with_announce(&bytes, links.announce().as_deref())
        .and_then(|b| {
            dailies_torrent::with_web_seeds(&b, &[links.web_seed(&video.id, &secret, &t.rendition)])
        })
        .map_err(|e| anyhow::anyhow!("stored torrent {} is unreadable: {e}", path.display()))?;
    let mut res = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-bittorrent"),
        )],
        bytes,
    )
        .into_response();
    res.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        content_disposition(&format!("{}.torrent", t.name)),
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// `GET /api/videos/{id}/torrent[?rendition=KEY]` for whoever may see the video.
async fn torrent_for_viewer(
    State(app): State<App>,
    req: crate::api::access::Requester,
    Path(id): Path<String>,
    query: Result<Query<TorrentQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let video = crate::api::access::video(&app, &req, &id, crate::api::access::Right::View).await?;
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let rendition = parse_rendition(q.rendition.as_deref())?;
    let t = stored(&app, &video, &rendition).await?;
    served_torrent(&app, &video, &t).await
}

/// `DELETE /api/videos/{id}/webseed-token`: every web-seed URL, `xs` link and magnet link given
/// out so far stops working; torrents fetched from now on carry the new secret.
async fn revoke_secret(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let video = visible(&app, &caller, &id).await?;
    torrent_rows::replace_webseed_token(&app.db, &video.id).await?;
    tracing::info!(video = %video.id, "web-seed secret replaced");
    let updated = videos::get(&app.db, &video.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    app.publish(NewEvent::video(
        kind::VIDEO_UPDATED,
        &updated.owner_id,
        &updated.id,
        serde_json::json!({ "webseed": "replaced" }),
    ))
    .await;
    Ok(Json(video_json_with_torrents(&app, &updated).await?))
}

/// `GET /api/webseed/{id}/{secret}/{rendition}[.torrent]`: the file for BEP 19 clients (with
/// ranges), or its .torrent. A wrong secret, a revoked one and a missing video look the same.
async fn webseed(
    State(app): State<App>,
    Path((id, secret, file)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !ids::is_valid_id(&id) || !ids::is_valid_link_secret(&secret) {
        return Err(ApiError::NotFound);
    }
    let video = videos::get(&app.db, &id)
        .await?
        .filter(|v| v.deleted_at.is_none())
        .ok_or(ApiError::NotFound)?;
    let matches = video
        .webseed_token
        .as_deref()
        .is_some_and(|t| constant_time_eq(t.as_bytes(), secret.as_bytes()));
    if !matches {
        return Err(ApiError::NotFound);
    }
    let (key, wants_torrent) = match file.strip_suffix(".torrent") {
        Some(k) => (k, true),
        None => (file.as_str(), false),
    };
    let rendition = Rendition::parse(key).ok_or(ApiError::NotFound)?;
    if wants_torrent {
        let t = stored(&app, &video, &rendition).await?;
        return served_torrent(&app, &video, &t).await;
    }
    let shareable = crate::torrents::rendition::find(&app, &video, &rendition)
        .await?
        .ok_or(ApiError::NotFound)?;
    serve_file(
        &app.storage,
        &shareable.path,
        &headers,
        Presentation::default(),
    )
    .await
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The peer's address as the tracker should record it (IPv4 clients of a dual-stack listener
/// arrive as `::ffff:a.b.c.d`).
fn client_ip(addr: SocketAddr) -> std::net::IpAddr {
    addr.ip().to_canonical()
}

fn bencoded(body: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/plain")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

/// `GET /announce` (BEP 3, BEP 23): every refusal is a bencoded `failure reason`.
async fn announce(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
) -> Response {
    if !app.config.tracker {
        return ApiError::NotFound.into_response();
    }
    bencoded(
        app.tracker
            .announce(query.as_deref().unwrap_or(""), client_ip(peer)),
    )
}

/// `GET /scrape`.
async fn scrape(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
) -> Response {
    if !app.config.tracker {
        return ApiError::NotFound.into_response();
    }
    bencoded(
        app.tracker
            .scrape(query.as_deref().unwrap_or(""), client_ip(peer)),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_compare_whole() {
        assert!(super::constant_time_eq(b"abc", b"abc"));
        assert!(!super::constant_time_eq(b"abc", b"abd"));
        assert!(!super::constant_time_eq(b"abc", b"ab"));
    }
}
