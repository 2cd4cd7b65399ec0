//! The HTTP face of tus: one handler per method, each checking the protocol version, the
//! caller and the upload before anything else.

use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::api::auth::Caller;
use crate::app::App;
use crate::db::now_ms;
use crate::db::uploads::{self, Concat, Upload};
use crate::ids;

use super::complete;
use super::protocol::{
    CHECKSUMS, Checksum, EXTENSIONS, OFFSET_CONTENT_TYPE, TUS_VERSION, TusError, clean_filename,
    expires_http, header_str, is_sha256_hex, parse_metadata, parse_u64, raw_format,
    require_version, set, tus_headers, upload_url,
};
use super::receive::{self, WriteOutcome};
use super::{VIDEO_ID_HEADER, concat, limits, owned, part_path, refreshed_expiry, remove_upload};

/// OPTIONS: what this server speaks. Open to anyone: it reveals nothing about uploads.
pub async fn discovery(State(app): State<App>) -> Response {
    let mut h = HeaderMap::new();
    tus_headers(&mut h);
    h.insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    h.insert("tus-extension", HeaderValue::from_static(EXTENSIONS));
    h.insert(
        "tus-checksum-algorithm",
        HeaderValue::from_static(CHECKSUMS),
    );
    set(
        &mut h,
        "tus-max-size",
        app.config
            .max_upload_bytes
            .max(app.config.max_raw_upload_bytes),
    );
    (StatusCode::NO_CONTENT, h).into_response()
}

pub async fn create(
    State(app): State<App>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, TusError> {
    require_version(&headers)?;
    let metadata_raw = header_str(&headers, "upload-metadata")
        .unwrap_or("")
        .to_owned();
    let metadata = parse_metadata(&metadata_raw)?;
    let filename = clean_filename(metadata.get("filename"));
    let claimed_sha256 = match metadata.get("sha256") {
        Some(s) if is_sha256_hex(s) => Some(s.to_ascii_lowercase()),
        Some(_) => {
            return Err(TusError::new(
                400,
                "the sha256 metadata must be 64 hex digits",
            ));
        }
        None => None,
    };

    let concat_header = header_str(&headers, "upload-concat").map(str::to_owned);
    let now = now_ms();
    let mut upload = Upload {
        id: ids::new_id(),
        owner_id: caller.0.id.clone(),
        length: None,
        offset: 0,
        metadata: metadata_raw,
        filename,
        claimed_sha256,
        content_sha256: None,
        concat: Concat::None,
        parts: Vec::new(),
        video_id: None,
        created_at: now,
        expires_at: refreshed_expiry(&app),
        completed_at: None,
    };

    if let Some(final_spec) = concat_header
        .as_deref()
        .and_then(|c| c.strip_prefix("final;"))
    {
        let id = upload.id.clone();
        let video_id = concat::create_final(&app, &caller, upload, final_spec).await?;
        let mut h = HeaderMap::new();
        tus_headers(&mut h);
        set(&mut h, "location", upload_url(&id));
        if let Some(v) = video_id {
            set(&mut h, VIDEO_ID_HEADER, v);
        }
        return Ok((StatusCode::CREATED, h).into_response());
    }
    match concat_header.as_deref() {
        None => {}
        Some("partial") => upload.concat = Concat::Partial,
        Some(other) => {
            return Err(TusError::new(
                400,
                format!("unsupported Upload-Concat '{other}'"),
            ));
        }
    }

    let length = parse_u64(&headers, "upload-length")?;
    let deferred = header_str(&headers, "upload-defer-length");
    match (length, deferred) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(TusError::new(
                400,
                "send exactly one of Upload-Length and Upload-Defer-Length: 1",
            ));
        }
        (None, Some(d)) if d != "1" => {
            return Err(TusError::new(400, "Upload-Defer-Length must be 1"));
        }
        _ => {}
    }
    if length == Some(0) && upload.concat == Concat::None {
        return Err(TusError::new(400, "an empty file cannot become a video"));
    }
    limits::check_new(&app, &caller.0.id, length.unwrap_or(0), &upload.filename).await?;
    limits::check_open_uploads(&app, &caller.0.id).await?;
    if upload.concat != Concat::Partial {
        // A part is not the file: the final upload's format is checked when it completes.
        raw_format(&upload.filename, &metadata, length)?;
    }
    upload.length = length.map(|l| l as i64);
    // Everything about the first bytes is checked before the upload exists.
    let has_body = header_str(&headers, "content-type") == Some(OFFSET_CONTENT_TYPE);
    let checksum = Checksum::parse(&headers)?;
    let content_length = parse_u64(&headers, "content-length")?;

    // Row first, bytes second: housekeeping removes a file without a row, and a row whose file
    // is missing simply starts again from zero.
    let path = part_path(&app, &upload.id).ok_or_else(TusError::not_found)?;
    uploads::insert(&app.db, &upload).await?;
    tokio::fs::File::create(&path)
        .await
        .map_err(|e| anyhow::Error::from(e).context("cannot create the upload file"))?;
    tracing::info!(upload = %upload.id, file = %upload.filename, length = ?upload.length, "upload created");

    let mut res_headers = HeaderMap::new();
    tus_headers(&mut res_headers);
    set(&mut res_headers, "location", upload_url(&upload.id));
    set(
        &mut res_headers,
        "upload-expires",
        expires_http(upload.expires_at),
    );

    // creation-with-upload: the first bytes may come with the POST.
    if has_body {
        let incoming = receive::Incoming {
            offset: 0,
            checksum,
            content_length,
            new_length: None,
            body,
        };
        match receive::write_bytes(&app, &caller.0.id, &upload.id, incoming).await {
            Ok(outcome) => {
                set(&mut res_headers, "upload-offset", outcome.offset);
                if let Some(v) = outcome.video_id {
                    set(&mut res_headers, VIDEO_ID_HEADER, v);
                }
            }
            // The upload exists even though its first bytes were refused: the client learns
            // where it is and resumes from the offset, as after any interrupted PATCH.
            Err(e) => match uploads::get(&app.db, &upload.id).await? {
                Some(u) => {
                    tracing::info!(upload = %u.id, error = %e.1, "the bytes sent with the creation were not all kept");
                    set(&mut res_headers, "upload-offset", u.offset);
                }
                None => return Err(e),
            },
        }
    } else if upload.length == Some(0) {
        // An empty partial upload is complete at once.
        uploads::set_complete(&app.db, &upload.id, 0, None).await?;
    }
    Ok((StatusCode::CREATED, res_headers).into_response())
}

pub async fn head(
    State(app): State<App>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Response, TusError> {
    require_version(&headers)?;
    let u = owned(&app, &caller, &id).await?;
    let u = settle(&app, u).await?;
    let mut h = HeaderMap::new();
    tus_headers(&mut h);
    set(&mut h, "upload-offset", u.offset);
    match u.length {
        Some(l) => set(&mut h, "upload-length", l),
        None => set(&mut h, "upload-defer-length", 1),
    }
    if !u.metadata.is_empty() {
        set(&mut h, "upload-metadata", &u.metadata);
    }
    match u.concat {
        Concat::None => {}
        Concat::Partial => set(&mut h, "upload-concat", "partial"),
        Concat::Final => {
            let urls: Vec<String> = u.parts.iter().map(|p| upload_url(p)).collect();
            set(&mut h, "upload-concat", format!("final;{}", urls.join(" ")));
        }
    }
    if !u.is_complete() {
        set(&mut h, "upload-expires", expires_http(u.expires_at));
    }
    if let Some(v) = &u.video_id {
        set(&mut h, VIDEO_ID_HEADER, v);
    }
    Ok((StatusCode::OK, h).into_response())
}

/// How long HEAD waits for a request still holding the upload.
const HEAD_WAIT: Duration = Duration::from_secs(5);

/// The upload as a resuming client should see it. A client asks HEAD when it comes back, so a
/// request it abandoned (a closed laptop, a dead connection) is asked to let go first and its
/// bytes count; an upload with every byte but no completion (the server stopped in between) is
/// finished. An active request keeps the upload, and HEAD answers with what is recorded.
async fn settle(app: &App, u: Upload) -> Result<Upload, TusError> {
    if u.is_complete() {
        return Ok(u);
    }
    let Some(mut held) = app
        .upload_locks
        .acquire_within(&app.db, &app.node_id, &u.id, HEAD_WAIT)
        .await?
    else {
        return Ok(u);
    };
    let fresh = uploads::get(&app.db, &u.id)
        .await?
        .ok_or_else(TusError::not_found)?;
    if fresh.is_complete() || fresh.length != Some(fresh.offset) {
        return Ok(fresh);
    }
    complete::finish_received(app, &fresh, &mut held.state).await?;
    drop(held);
    uploads::get(&app.db, &u.id)
        .await?
        .ok_or_else(TusError::not_found)
}

pub async fn patch(
    State(app): State<App>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, TusError> {
    require_version(&headers)?;
    if header_str(&headers, "content-type") != Some(OFFSET_CONTENT_TYPE) {
        return Err(TusError::new(
            415,
            format!("PATCH needs Content-Type: {OFFSET_CONTENT_TYPE}"),
        ));
    }
    let u = owned(&app, &caller, &id).await?;
    if u.concat == Concat::Final {
        return Err(TusError::new(
            403,
            "a final concatenated upload cannot be written to",
        ));
    }
    let incoming = receive::Incoming {
        offset: parse_u64(&headers, "upload-offset")?
            .ok_or_else(|| TusError::new(400, "the Upload-Offset header is required"))?,
        checksum: Checksum::parse(&headers)?,
        content_length: parse_u64(&headers, "content-length")?,
        new_length: parse_u64(&headers, "upload-length")?,
        body,
    };
    let WriteOutcome {
        offset,
        complete,
        video_id,
    } = receive::write_bytes(&app, &caller.0.id, &u.id, incoming).await?;
    let mut h = HeaderMap::new();
    tus_headers(&mut h);
    set(&mut h, "upload-offset", offset);
    if !complete {
        set(
            &mut h,
            "upload-expires",
            expires_http(refreshed_expiry(&app)),
        );
    }
    if let Some(v) = video_id {
        set(&mut h, VIDEO_ID_HEADER, v);
    }
    Ok((StatusCode::NO_CONTENT, h).into_response())
}

pub async fn terminate(
    State(app): State<App>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Response, TusError> {
    require_version(&headers)?;
    let u = owned(&app, &caller, &id).await?;
    let held = app
        .upload_locks
        .acquire(&app.db, &app.node_id, &u.id)
        .await?;
    remove_upload(&app, &u.id).await?;
    drop(held);
    app.upload_locks.forget(&u.id);
    let mut h = HeaderMap::new();
    tus_headers(&mut h);
    Ok((StatusCode::NO_CONTENT, h).into_response())
}

pub async fn info(
    State(app): State<App>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<serde_json::Value>, TusError> {
    let u = owned(&app, &caller, &id).await?;
    Ok(Json(json!({
        "id": u.id,
        "offset": u.offset,
        "length": u.length,
        "complete": u.is_complete(),
        "video_id": u.video_id,
        "filename": u.filename,
        "expires_at": u.expires_at,
    })))
}
