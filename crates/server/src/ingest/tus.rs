//! Resumable uploads: the tus 1.0 protocol at `/api/uploads/`, with the creation,
//! creation-with-upload, creation-defer-length, termination, checksum, expiration and
//! concatenation extensions.
//!
//! Upload state lives in the database and bytes in `data/uploads/<id>.part`, so an upload
//! resumes at its offset after a restart. SHA-256 and BLAKE3 are computed while the bytes
//! arrive; the running hash state is kept in memory with the upload's lock, and rebuilt from the
//! bytes already on disk only after a restart. A complete upload goes through the same door as
//! the drop folder ([`register_file`]) with those hashes, so the file is never read again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{options, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;
use sha1::Digest;

use crate::api::auth::Caller;
use crate::app::App;
use crate::db::uploads::{self, Concat, Upload};
use crate::db::{now_ms, users, videos};
use crate::ids;
use crate::ingest::hashing::{ContentHashes, Hasher};
use crate::ingest::register::{Incoming, IngestError, Registered, Transfer, register_file};

const TUS_VERSION: &str = "1.0.0";
const EXTENSIONS: &str = "creation,creation-with-upload,creation-defer-length,termination,checksum,expiration,concatenation";
const CHECKSUMS: &str = "sha1,sha256";
const OFFSET_CONTENT_TYPE: &str = "application/offset+octet-stream";
/// The response header naming the video a complete upload became.
pub const VIDEO_ID_HEADER: &str = "dailies-video-id";
/// How long a request waits for another request writing the same upload.
const LOCK_WAIT: Duration = Duration::from_secs(10);
/// Chunks in flight between the receiving task and the writer and hashing threads.
const PIPE_DEPTH: usize = 16;
/// The writer thread's buffer: large writes, few system calls.
const WRITE_BUFFER: usize = 4 << 20;
/// File extensions of uncompressed video, which get the larger size limit.
const RAW_EXTENSIONS: &[&str] = &["yuv", "y4m"];

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/uploads", post(create).options(discovery))
        .route("/api/uploads/", post(create).options(discovery))
        .route("/api/uploads/check", post(check))
        .route(
            "/api/uploads/{id}",
            options(discovery)
                .head(head)
                .patch(patch)
                .delete(terminate)
                .get(info),
        )
}

/// Per-upload locks, each guarding the running hash state of its upload. One process may have
/// one writer per upload at a time; two PATCHes racing on one upload never interleave.
#[derive(Default)]
pub struct UploadLocks {
    map: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Hasher>>>>>,
}

impl UploadLocks {
    fn entry(&self, id: &str) -> Arc<tokio::sync::Mutex<Option<Hasher>>> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(id.to_owned()).or_default().clone()
    }

    fn forget(&self, id: &str) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(id);
    }
}

/// A protocol answer that is not a success: a status, a sentence, and the tus headers.
#[derive(Debug)]
pub struct TusError(StatusCode, String);

impl TusError {
    fn new(status: u16, message: impl Into<String>) -> Self {
        TusError(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            message.into(),
        )
    }
}

impl From<anyhow::Error> for TusError {
    fn from(e: anyhow::Error) -> Self {
        tracing::error!(error = %format!("{e:#}"), "upload request failed");
        TusError::new(500, "internal error")
    }
}

impl IntoResponse for TusError {
    fn into_response(self) -> Response {
        tracing::info!(status = self.0.as_u16(), error = %self.1, "upload request refused");
        let mut res = (self.0, Json(json!({ "error": self.1 }))).into_response();
        tus_headers(res.headers_mut());
        if self.0 == StatusCode::PRECONDITION_FAILED {
            res.headers_mut()
                .insert("tus-version", HeaderValue::from_static(TUS_VERSION));
        }
        res
    }
}

fn tus_headers(h: &mut HeaderMap) {
    h.insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

fn set(h: &mut HeaderMap, name: &'static str, value: impl ToString) {
    if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
        h.insert(HeaderName::from_static(name), v);
    }
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

fn require_version(h: &HeaderMap) -> Result<(), TusError> {
    match header_str(h, "tus-resumable") {
        Some(TUS_VERSION) => Ok(()),
        Some(other) => Err(TusError::new(
            412,
            format!("tus version {other} is not supported; use {TUS_VERSION}"),
        )),
        None => Err(TusError::new(412, "the Tus-Resumable header is required")),
    }
}

fn parse_u64(h: &HeaderMap, name: &str) -> Result<Option<u64>, TusError> {
    match header_str(h, name) {
        None => Ok(None),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= i64::MAX as u64)
            .map(Some)
            .ok_or_else(|| TusError::new(400, format!("{name} must be a non-negative integer"))),
    }
}

/// `Upload-Metadata`: comma-separated `key base64value` pairs (value optional).
pub fn parse_metadata(raw: &str) -> Result<HashMap<String, String>, TusError> {
    let mut out = HashMap::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut it = pair.split(' ');
        let key = it.next().unwrap_or("");
        let value = it.next();
        if key.is_empty() || it.next().is_some() || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TusError::new(
                400,
                format!("malformed Upload-Metadata pair '{pair}'"),
            ));
        }
        let value = match value {
            Some(v) => {
                let bytes = BASE64.decode(v).map_err(|_| {
                    TusError::new(400, format!("Upload-Metadata '{key}' is not base64"))
                })?;
                String::from_utf8(bytes).map_err(|_| {
                    TusError::new(400, format!("Upload-Metadata '{key}' is not UTF-8"))
                })?
            }
            None => String::new(),
        };
        if out.insert(key.to_owned(), value).is_some() {
            return Err(TusError::new(
                400,
                format!("Upload-Metadata repeats '{key}'"),
            ));
        }
    }
    Ok(out)
}

/// A display file name from client metadata: the last path component, without control
/// characters. It is stored and shown, never used as a path.
fn clean_filename(name: Option<&String>) -> String {
    let base = name
        .map(|n| n.rsplit(['/', '\\']).next().unwrap_or("").to_owned())
        .unwrap_or_default();
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(255).collect();
    let cleaned = cleaned.trim().to_owned();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        "upload".to_owned()
    } else {
        cleaned
    }
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn part_path(app: &App, id: &str) -> Option<PathBuf> {
    ids::is_valid_id(id).then(|| app.layout.uploads().join(format!("{id}.part")))
}

fn upload_url(id: &str) -> String {
    format!("/api/uploads/{id}")
}

fn expires_http(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    httpdate::fmt_http_date(t)
}

/// Free bytes on the file system holding `dir`.
fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a writable statvfs.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (rc == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
}

/// Size, quota and disk checks that answer before any byte is sent.
async fn check_limits(
    app: &App,
    caller: &Caller,
    length: u64,
    filename: &str,
) -> Result<(), TusError> {
    let ext = Path::new(filename)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let max = if RAW_EXTENSIONS.contains(&ext.as_str()) {
        app.config.max_raw_upload_bytes
    } else {
        app.config.max_upload_bytes
    };
    if length > max {
        return Err(TusError::new(
            413,
            format!("this file is {length} bytes; the largest upload accepted is {max} bytes"),
        ));
    }
    let quota = app.config.user_quota_bytes;
    if quota > 0 {
        let used = uploads::bytes_used(&app.db, &caller.0.id).await? as u64;
        if used.saturating_add(length) > quota {
            return Err(TusError::new(
                413,
                format!("this upload would exceed your quota: {used} of {quota} bytes are in use"),
            ));
        }
    }
    disk_guard(app, length)
}

fn disk_guard(app: &App, incoming: u64) -> Result<(), TusError> {
    if let Some(free) = free_bytes(&app.layout.uploads())
        && free < app.config.min_free_disk_bytes.saturating_add(incoming)
    {
        return Err(TusError::new(
            507,
            "the server is low on disk space and cannot take this upload now",
        ));
    }
    Ok(())
}

/// OPTIONS: what this server speaks. Open to anyone: it reveals nothing about uploads.
async fn discovery(State(app): State<App>) -> Response {
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

/// The upload if it exists, belongs to the caller and has not expired.
async fn owned(app: &App, caller: &Caller, id: &str) -> Result<Upload, TusError> {
    if !ids::is_valid_id(id) {
        return Err(TusError::new(404, "no such upload"));
    }
    match uploads::get(&app.db, id).await? {
        Some(u) if u.owner_id == caller.0.id => {
            if !u.is_complete() && u.expires_at < now_ms() {
                Err(TusError::new(410, "this upload expired; start it again"))
            } else {
                Ok(u)
            }
        }
        _ => Err(TusError::new(404, "no such upload")),
    }
}

async fn create(
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
        concat: Concat::None,
        parts: Vec::new(),
        video_id: None,
        created_at: now,
        expires_at: now + (app.config.upload_expiry_secs * 1000.0) as i64,
        completed_at: None,
    };

    if let Some(final_spec) = concat_header
        .as_deref()
        .and_then(|c| c.strip_prefix("final;"))
    {
        return create_final(&app, &caller, upload, final_spec).await;
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
    check_limits(&app, &caller, length.unwrap_or(0), &upload.filename).await?;
    upload.length = length.map(|l| l as i64);

    let path = part_path(&app, &upload.id).ok_or_else(|| TusError::new(500, "bad id"))?;
    tokio::fs::File::create(&path)
        .await
        .map_err(|e| anyhow::Error::from(e).context("cannot create the upload file"))?;
    uploads::insert(&app.db, &upload).await?;
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
    let has_body = header_str(&headers, "content-type") == Some(OFFSET_CONTENT_TYPE);
    if has_body {
        let outcome = write_bytes(&app, &upload.id, 0, &headers, body).await?;
        set(&mut res_headers, "upload-offset", outcome.offset);
        if let Some(v) = outcome.video_id {
            set(&mut res_headers, VIDEO_ID_HEADER, v);
        }
    } else if upload.length == Some(0) {
        // An empty partial upload is complete at once.
        uploads::set_complete(&app.db, &upload.id, 0, None).await?;
    }
    Ok((StatusCode::CREATED, res_headers).into_response())
}

/// concatenation: a final upload made of the caller's complete partial uploads, in order.
async fn create_final(
    app: &App,
    caller: &Caller,
    mut upload: Upload,
    spec: &str,
) -> Result<Response, TusError> {
    let mut parts = Vec::new();
    for url in spec.split_whitespace() {
        let id = url.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        let part = owned(app, caller, id).await?;
        if part.concat != Concat::Partial {
            return Err(TusError::new(400, format!("{url} is not a partial upload")));
        }
        if !part.is_complete() {
            return Err(TusError::new(400, format!("{url} is not complete yet")));
        }
        parts.push(part);
    }
    if parts.is_empty() {
        return Err(TusError::new(
            400,
            "Upload-Concat: final needs at least one partial upload",
        ));
    }
    let length: i64 = parts.iter().map(|p| p.offset).sum();
    if length == 0 {
        return Err(TusError::new(400, "an empty file cannot become a video"));
    }
    check_limits(app, caller, length as u64, &upload.filename).await?;
    upload.concat = Concat::Final;
    upload.length = Some(length);
    upload.parts = parts.iter().map(|p| p.id.clone()).collect();
    let path = part_path(app, &upload.id).ok_or_else(|| TusError::new(500, "bad id"))?;
    uploads::insert(&app.db, &upload).await?;

    // Join the parts and hash them in the same pass.
    let sources: Vec<PathBuf> = parts.iter().filter_map(|p| part_path(app, &p.id)).collect();
    let target = path.clone();
    let joined = tokio::task::spawn_blocking(move || -> std::io::Result<ContentHashes> {
        use std::io::{Read, Write};
        let mut out = std::fs::File::create(&target)?;
        let mut hasher = Hasher::default();
        let mut buf = vec![0u8; 1 << 20];
        for src in sources {
            let mut f = std::fs::File::open(src)?;
            loop {
                let n = f.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                out.write_all(&buf[..n])?;
            }
        }
        out.sync_all()?;
        Ok(hasher.finish())
    })
    .await
    .map_err(anyhow::Error::from)?;
    let hashes = match joined {
        Ok(h) => h,
        Err(e) => {
            let _ = tokio::fs::remove_file(&path).await;
            uploads::delete(&app.db, &upload.id).await?;
            return Err(io_error(e));
        }
    };
    let joined = Upload {
        offset: length,
        ..upload
    };
    let video_id = complete_upload(app, &joined, hashes).await?;
    let upload = joined;
    let mut h = HeaderMap::new();
    tus_headers(&mut h);
    set(&mut h, "location", upload_url(&upload.id));
    if let Some(v) = video_id {
        set(&mut h, VIDEO_ID_HEADER, v);
    }
    Ok((StatusCode::CREATED, h).into_response())
}

fn io_error(e: std::io::Error) -> TusError {
    if e.raw_os_error() == Some(libc::ENOSPC) {
        TusError::new(
            507,
            "the server's disk is full; the upload can resume once space is freed",
        )
    } else {
        anyhow::Error::from(e).context("upload file").into()
    }
}

async fn head(
    State(app): State<App>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Response, TusError> {
    require_version(&headers)?;
    let u = owned(&app, &caller, &id).await?;
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

async fn patch(
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
    let offset = parse_u64(&headers, "upload-offset")?
        .ok_or_else(|| TusError::new(400, "the Upload-Offset header is required"))?;
    if let Some(len) = parse_u64(&headers, "upload-length")? {
        match u.length {
            None => {
                if (len as i64) < u.offset {
                    return Err(TusError::new(
                        400,
                        "Upload-Length is smaller than what was already sent",
                    ));
                }
                check_limits(&app, &caller, len, &u.filename).await?;
                uploads::set_length(&app.db, &u.id, len as i64).await?;
            }
            Some(l) if l as u64 != len => {
                return Err(TusError::new(400, "Upload-Length cannot change once set"));
            }
            Some(_) => {}
        }
    }
    let outcome = write_bytes(&app, &u.id, offset, &headers, body).await?;
    let mut h = HeaderMap::new();
    tus_headers(&mut h);
    set(&mut h, "upload-offset", outcome.offset);
    if !outcome.complete {
        set(&mut h, "upload-expires", expires_http(u.expires_at));
    }
    if let Some(v) = outcome.video_id {
        set(&mut h, VIDEO_ID_HEADER, v);
    }
    Ok((StatusCode::NO_CONTENT, h).into_response())
}

struct WriteOutcome {
    offset: i64,
    complete: bool,
    video_id: Option<String>,
}

/// A requested `Upload-Checksum`: the algorithm's running digest and the expected value.
enum Checksum {
    Sha1(sha1::Sha1, Vec<u8>),
    Sha256(sha2::Sha256, Vec<u8>),
}

impl Checksum {
    fn parse(h: &HeaderMap) -> Result<Option<Self>, TusError> {
        let Some(raw) = header_str(h, "upload-checksum") else {
            return Ok(None);
        };
        let (algo, value) = raw
            .split_once(' ')
            .ok_or_else(|| TusError::new(400, "Upload-Checksum must be '<algorithm> <base64>'"))?;
        let expected = BASE64
            .decode(value.trim())
            .map_err(|_| TusError::new(400, "Upload-Checksum value is not base64"))?;
        match algo {
            "sha1" => Ok(Some(Checksum::Sha1(sha1::Sha1::new(), expected))),
            "sha256" => Ok(Some(Checksum::Sha256(sha2::Sha256::new(), expected))),
            other => Err(TusError::new(
                400,
                format!("checksum algorithm '{other}' is not supported; use {CHECKSUMS}"),
            )),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Checksum::Sha1(d, _) => d.update(bytes),
            Checksum::Sha256(d, _) => d.update(bytes),
        }
    }

    fn matches(self) -> bool {
        match self {
            Checksum::Sha1(d, want) => d.finalize()[..] == want[..],
            Checksum::Sha256(d, want) => d.finalize()[..] == want[..],
        }
    }
}

/// Appends a request body at `offset` under the upload's lock, hashing as it goes; completes the
/// upload when the last byte arrives. Bytes received before a dropped connection are kept (the
/// client resumes after them), unless a checksum was promised and cannot be verified.
async fn write_bytes(
    app: &App,
    id: &str,
    offset: u64,
    headers: &HeaderMap,
    body: Body,
) -> Result<WriteOutcome, TusError> {
    let mut checksum = Checksum::parse(headers)?;
    let lock = app.upload_locks.entry(id);
    let mut state = tokio::time::timeout(LOCK_WAIT, lock.lock())
        .await
        .map_err(|_| TusError::new(423, "another request is writing to this upload; try again"))?;
    // Read again under the lock: a racing request may have moved the offset.
    let u = uploads::get(&app.db, id)
        .await?
        .ok_or_else(|| TusError::new(404, "no such upload"))?;
    if u.is_complete() {
        if offset as i64 != u.offset {
            return Err(TusError::new(
                409,
                format!("the upload is complete at offset {}", u.offset),
            ));
        }
        // Nothing may be added to a complete upload; an empty PATCH just confirms it.
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            if chunk.is_ok_and(|c| !c.is_empty()) {
                return Err(TusError::new(
                    413,
                    "the upload is already complete; nothing more can be added",
                ));
            }
        }
        return Ok(WriteOutcome {
            offset: u.offset,
            complete: true,
            video_id: u.video_id,
        });
    }
    let path = part_path(app, id).ok_or_else(|| TusError::new(404, "no such upload"))?;
    let hasher = match state.take() {
        Some(h) if h.len() as i64 == u.offset => h,
        _ => rebuild_hasher(app, &u, &path).await?,
    };
    let start = hasher.len() as i64;
    if offset as i64 != start {
        *state = Some(hasher);
        return Err(TusError::new(
            409,
            format!("Upload-Offset {offset} does not match the upload's offset {start}"),
        ));
    }
    let room = u.length.map(|l| (l - start) as u64);
    if let Some(len) = parse_u64(headers, "content-length")? {
        if room.is_some_and(|r| len > r) {
            *state = Some(hasher);
            return Err(TusError::new(
                413,
                "the body goes past the announced Upload-Length",
            ));
        }
        disk_guard_during(app, len)?;
    }

    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .await
        .map_err(|e| anyhow::Error::from(e).context("cannot open the upload file"))?;
    file.set_len(start as u64).await.map_err(io_error)?;
    let mut file = file.into_std().await;

    // Receiving, writing and hashing overlap: the bytes go (shared, not copied) to a writer
    // thread and a hashing thread. The bounded channels keep memory flat whatever the upload's
    // size; a slow disk or hash slows the sender, which slows the client.
    let (write_tx, mut write_rx) = tokio::sync::mpsc::channel::<axum::body::Bytes>(PIPE_DEPTH);
    let (hash_tx, mut hash_rx) = tokio::sync::mpsc::channel::<axum::body::Bytes>(PIPE_DEPTH);
    let writer = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        use std::io::{Seek, Write};
        file.seek(std::io::SeekFrom::Start(start as u64))?;
        let mut out = std::io::BufWriter::with_capacity(WRITE_BUFFER, file);
        while let Some(bytes) = write_rx.blocking_recv() {
            out.write_all(&bytes)?;
        }
        out.flush()
    });
    let mut working = hasher.clone();
    let hashing = tokio::task::spawn_blocking(move || {
        while let Some(bytes) = hash_rx.blocking_recv() {
            working.update(&bytes);
        }
        working
    });

    let mut written: u64 = 0;
    let mut stream = body.into_data_stream();
    let mut failure: Option<TusError> = None;
    let mut disconnected = false;
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(_) => {
                disconnected = true;
                break;
            }
        };
        if room.is_some_and(|r| written + chunk.len() as u64 > r) {
            failure = Some(TusError::new(
                413,
                "the body goes past the announced Upload-Length",
            ));
            break;
        }
        if let Some(c) = checksum.as_mut() {
            c.update(&chunk);
        }
        written += chunk.len() as u64;
        // The writer only hangs up when a write failed; its error is collected below.
        if write_tx.send(chunk.clone()).await.is_err() || hash_tx.send(chunk).await.is_err() {
            break;
        }
    }
    drop((write_tx, hash_tx));
    match writer.await.map_err(anyhow::Error::from)? {
        Ok(()) => {}
        Err(e) => {
            failure.get_or_insert(io_error(e));
        }
    }
    let working = hashing.await.map_err(anyhow::Error::from)?;

    // Decide which bytes to keep: all of them, or (checksum failure or write error) none.
    let keep = failure.is_none()
        && match checksum.take() {
            Some(c) if !disconnected => {
                if c.matches() {
                    true
                } else {
                    failure = Some(TusError::new(
                        460,
                        "the checksum of the sent bytes does not match Upload-Checksum",
                    ));
                    false
                }
            }
            // An unverifiable partial body is dropped; the client sends it again.
            Some(_) => false,
            None => true,
        };
    let (new_offset, hasher) = if keep {
        (start + written as i64, working)
    } else {
        (start, hasher)
    };
    let truncated = match tokio::fs::OpenOptions::new().write(true).open(&path).await {
        Ok(f) => f.set_len(new_offset as u64).await,
        Err(e) => Err(e),
    };
    if let Err(e) = truncated {
        *state = None;
        return Err(io_error(e));
    }
    uploads::set_offset(&app.db, id, new_offset).await?;
    if let Some(f) = failure {
        *state = Some(hasher);
        return Err(f);
    }

    let complete = u.length.is_some_and(|l| l == new_offset)
        || (u.length.is_none()
            && parse_u64(headers, "upload-length")?.is_some_and(|l| l as i64 == new_offset));
    if complete {
        let hashes = hasher.finish();
        let done = Upload {
            offset: new_offset,
            ..u
        };
        let video_id = complete_upload(app, &done, hashes).await?;
        drop(state);
        app.upload_locks.forget(id);
        return Ok(WriteOutcome {
            offset: new_offset,
            complete: true,
            video_id,
        });
    }
    *state = Some(hasher);
    Ok(WriteOutcome {
        offset: new_offset,
        complete: false,
        video_id: None,
    })
}

fn disk_guard_during(app: &App, incoming: u64) -> Result<(), TusError> {
    // While an upload is under way only the bytes themselves must fit (the threshold guards new
    // uploads), so a nearly full disk still lets started uploads finish if they can.
    if let Some(free) = free_bytes(&app.layout.uploads())
        && free < incoming
    {
        return Err(TusError::new(
            507,
            "the server's disk is full; the upload can resume once space is freed",
        ));
    }
    Ok(())
}

/// After a restart (or a crash mid-write) the hash state is rebuilt from the bytes on disk. The
/// database offset is the truth, except when the disk lost bytes past it (power cut).
async fn rebuild_hasher(app: &App, u: &Upload, path: &Path) -> Result<Hasher, TusError> {
    let path = path.to_owned();
    let offset = u.offset as u64;
    let (hasher, len) = tokio::task::spawn_blocking(move || -> std::io::Result<(Hasher, u64)> {
        use std::io::Read;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)?;
        let on_disk = file.metadata()?.len();
        let keep = on_disk.min(offset);
        file.set_len(keep)?;
        let mut hasher = Hasher::default();
        let mut reader = std::io::BufReader::with_capacity(1 << 20, file.take(keep));
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok((hasher, keep))
    })
    .await
    .map_err(anyhow::Error::from)?
    .map_err(io_error)?;
    if len as i64 != u.offset {
        uploads::set_offset(&app.db, &u.id, len as i64).await?;
    }
    Ok(hasher)
}

/// A complete upload becomes a video through the common ingest door; partial uploads wait for
/// their final upload. Returns the video id (an existing one when the content was already here).
async fn complete_upload(
    app: &App,
    u: &Upload,
    hashes: ContentHashes,
) -> Result<Option<String>, TusError> {
    let path = part_path(app, &u.id).ok_or_else(|| TusError::new(404, "no such upload"))?;
    if u.concat == Concat::Partial {
        uploads::set_complete(&app.db, &u.id, u.offset, None).await?;
        return Ok(None);
    }
    let owner = users::by_id(&app.db, &u.owner_id)
        .await?
        .ok_or_else(|| TusError::new(404, "the upload's owner no longer exists"))?;
    let incoming = Incoming {
        path: &path,
        known_hashes: Some(hashes),
        original_filename: &u.filename,
        owner: &owner,
        transfer: Transfer::Move,
        source: "upload",
    };
    let video_id = match register_file(app, incoming).await {
        Ok(Registered::New { video_id }) => {
            let metadata = parse_metadata(&u.metadata).unwrap_or_default();
            if let Some(title) = metadata
                .get("title")
                .map(|t| t.trim())
                .filter(|t| !t.is_empty())
            {
                let title: String = title
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect();
                videos::set_title(&app.db, &video_id, &title).await?;
            }
            video_id
        }
        Ok(Registered::Duplicate { video_id }) => {
            // Deduplicated after the fact: the bytes are not needed.
            let _ = tokio::fs::remove_file(&path).await;
            video_id
        }
        Err(IngestError::Empty) => {
            return Err(TusError::new(400, "an empty file cannot become a video"));
        }
        Err(e) => return Err(anyhow::anyhow!("{e}").into()),
    };
    uploads::set_complete(&app.db, &u.id, u.offset, Some(&video_id)).await?;
    tracing::info!(upload = %u.id, video = %video_id, "upload complete");
    Ok(Some(video_id))
}

async fn terminate(
    State(app): State<App>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
) -> Result<Response, TusError> {
    require_version(&headers)?;
    let u = owned(&app, &caller, &id).await?;
    let lock = app.upload_locks.entry(&u.id);
    let _guard = tokio::time::timeout(LOCK_WAIT, lock.lock())
        .await
        .map_err(|_| TusError::new(423, "another request is writing to this upload; try again"))?;
    remove_upload(&app, &u.id).await?;
    let mut h = HeaderMap::new();
    tus_headers(&mut h);
    Ok((StatusCode::NO_CONTENT, h).into_response())
}

/// Removes an upload's bytes and row (the video it became, if any, stays).
pub async fn remove_upload(app: &App, id: &str) -> anyhow::Result<()> {
    if let Some(path) = part_path(app, id) {
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    uploads::delete(&app.db, id).await?;
    app.upload_locks.forget(id);
    Ok(())
}

/// Deletes expired uploads; run by the maintenance loop.
pub async fn purge_expired(app: &App) -> anyhow::Result<usize> {
    let ids = uploads::expired(&app.db, now_ms()).await?;
    for id in &ids {
        remove_upload(app, id).await?;
    }
    Ok(ids.len())
}

async fn info(
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckRequest {
    sha256: String,
    size: u64,
    filename: String,
}

/// The duplicate check before an upload: is this content already here, already on its way, or
/// welcome?
async fn check(
    State(app): State<App>,
    caller: Caller,
    body: Result<Json<CheckRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, Response> {
    let Json(req) = body.map_err(|e| crate::api::error::ApiError::from(e).into_response())?;
    if !is_sha256_hex(&req.sha256) {
        return Err(crate::api::error::ApiError::Unprocessable(
            "sha256 must be 64 hex digits".into(),
        )
        .into_response());
    }
    let sha256 = req.sha256.to_ascii_lowercase();
    if let Some(video_id) = videos::find_duplicate(&app.db, &caller.0.id, &sha256)
        .await
        .map_err(|e| TusError::from(e).into_response())?
    {
        return Ok(Json(json!({ "action": "exists", "video_id": video_id })));
    }
    if let Some(upload_id) = uploads::unfinished_with_sha256(&app.db, &caller.0.id, &sha256)
        .await
        .map_err(|e| TusError::from(e).into_response())?
    {
        return Ok(Json(json!({
            "action": "duplicate_request",
            "upload_id": upload_id,
            "upload_url": upload_url(&upload_id),
        })));
    }
    check_limits(
        &app,
        &caller,
        req.size,
        &clean_filename(Some(&req.filename)),
    )
    .await
    .map_err(IntoResponse::into_response)?;
    Ok(Json(json!({ "action": "upload" })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_parsing() {
        let m = parse_metadata("filename Y2xpcC5tb3Y=,is_confidential, sha256 YWJj").unwrap();
        assert_eq!(m["filename"], "clip.mov");
        assert_eq!(m["is_confidential"], "");
        assert_eq!(m["sha256"], "abc");
        assert!(parse_metadata("filename !!!").is_err());
        assert!(parse_metadata("a YQ==,a YQ==").is_err());
        assert!(parse_metadata("a b c").is_err());
        assert!(parse_metadata("").unwrap().is_empty());
    }

    #[test]
    fn filenames_are_names_not_paths() {
        let s = |x: &str| clean_filename(Some(&x.to_owned()));
        assert_eq!(s("../../etc/passwd"), "passwd");
        assert_eq!(s("C:\\clips\\take 1.mov"), "take 1.mov");
        assert_eq!(s(".."), "upload");
        assert_eq!(clean_filename(None), "upload");
    }
}
