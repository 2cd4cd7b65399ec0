//! Serving chunks over HTTP: `GET /chunk/{hash}` with an optional `Range` inside the chunk, so a
//! broken transfer resumes where it stopped, and `GET /status` (JSON). Both need the token.
//! Bodies go through the node's upload limiter. Nothing is compressed: video does not compress.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::chunk_hash::ChunkHash;
use crate::node::auth::Token;
use crate::node::limiter::Limiter;

/// What a node offers: only verified chunks.
pub trait ChunkSource: Send + Sync + 'static {
    /// The file, offset and length of the chunk's bytes, if this node holds it verified.
    fn locate(&self, hash: &ChunkHash) -> Option<(PathBuf, u64, u64)>;
    fn status(&self) -> serde_json::Value;
}

#[derive(Clone)]
pub struct ServerState {
    pub source: Arc<dyn ChunkSource>,
    pub token: Token,
    pub limiter: Arc<Limiter>,
    /// Test knob: flip a byte of every block served, to play a hostile peer.
    pub corrupt: bool,
}

pub fn router(state: ServerState) -> Router {
    Router::new()
        .route("/chunk/{hash}", get(chunk))
        .route("/status", get(status))
        .with_state(state)
}

async fn status(State(st): State<ServerState>, headers: HeaderMap) -> Response {
    if let Err(code) = st.token.check(&headers) {
        return code.into_response();
    }
    axum::Json(st.source.status()).into_response()
}

const BLOCK: usize = 64 * 1024;

async fn chunk(
    State(st): State<ServerState>,
    UrlPath(hash): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(code) = st.token.check(&headers) {
        return code.into_response();
    }
    let Some(hash) = ChunkHash::from_hex(&hash) else {
        return (StatusCode::BAD_REQUEST, "not a chunk hash").into_response();
    };
    let Some((path, offset, len)) = st.source.locate(&hash) else {
        return (StatusCode::NOT_FOUND, "chunk not held here").into_response();
    };
    let range = match headers.get(header::RANGE) {
        None => None,
        Some(v) => match v.to_str().ok().and_then(|v| parse_range(v, len)) {
            Some(r) => Some(r),
            None => {
                return (
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    [(header::CONTENT_RANGE, format!("bytes */{len}"))],
                )
                    .into_response();
            }
        },
    };
    let (start, end) = range.unwrap_or((0, len));
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot open a chunk's file");
            return StatusCode::NOT_FOUND.into_response();
        }
    };
    if let Err(e) = file.seek(std::io::SeekFrom::Start(offset + start)).await {
        tracing::warn!(path = %path.display(), error = %e, "cannot seek in a chunk's file");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let limiter = st.limiter.clone();
    let corrupt = st.corrupt;
    let stream = futures_util::stream::unfold(
        (file, end - start, limiter),
        move |(mut file, left, limiter)| async move {
            if left == 0 {
                return None;
            }
            let mut buf = vec![0u8; BLOCK.min(left as usize)];
            let wait = limiter.take(buf.len());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            match file.read_exact(&mut buf).await {
                Ok(_) => {
                    if corrupt {
                        buf[0] ^= 0xff;
                    }
                    let n = buf.len() as u64;
                    Some((
                        Ok::<_, std::io::Error>(Bytes::from(buf)),
                        (file, left - n, limiter),
                    ))
                }
                // The file shrank under us: end the body short, the client sees it.
                Err(e) => Some((Err(e), (file, 0, limiter))),
            }
        },
    );
    let mut resp = Response::new(Body::from_stream(stream));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_LENGTH, (end - start).into());
    h.insert(
        header::ACCEPT_RANGES,
        header::HeaderValue::from_static("bytes"),
    );
    if range.is_some() {
        *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
        if let Ok(v) = format!("bytes {start}-{}/{len}", end.saturating_sub(1)).parse() {
            resp.headers_mut().insert(header::CONTENT_RANGE, v);
        }
    }
    resp
}

/// `bytes=a-` or `bytes=a-b` (inclusive) within a chunk of `len` bytes → `[start, end)`.
fn parse_range(v: &str, len: u64) -> Option<(u64, u64)> {
    let spec = v.strip_prefix("bytes=")?;
    let (a, b) = spec.split_once('-')?;
    let start: u64 = a.parse().ok()?;
    let end = if b.is_empty() {
        len
    } else {
        b.parse::<u64>().ok()?.checked_add(1)?.min(len)
    };
    (start < end).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-", 10), Some((0, 10)));
        assert_eq!(parse_range("bytes=4-5", 10), Some((4, 6)));
        assert_eq!(parse_range("bytes=4-99", 10), Some((4, 10)));
        assert_eq!(parse_range("bytes=10-", 10), None);
        assert_eq!(parse_range("bytes=-5", 10), None);
        assert_eq!(parse_range("items=0-", 10), None);
    }
}
