//! The wire format of tus 1.0: its headers, its error answers, `Upload-Metadata` and
//! `Upload-Checksum`.

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::json;
use sha1::Digest;

pub const TUS_VERSION: &str = "1.0.0";
pub const EXTENSIONS: &str = "creation,creation-with-upload,creation-defer-length,termination,checksum,expiration,concatenation";
pub const CHECKSUMS: &str = "sha1,sha256";
pub const OFFSET_CONTENT_TYPE: &str = "application/offset+octet-stream";

/// A protocol answer that is not a success: a status, a sentence, and the tus headers.
#[derive(Debug)]
pub struct TusError(pub StatusCode, pub String);

impl TusError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        TusError(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            message.into(),
        )
    }

    pub fn locked() -> Self {
        TusError::new(423, "another request is writing to this upload; try again")
    }

    pub fn not_found() -> Self {
        TusError::new(404, "no such upload")
    }

    /// A write that failed: a full disk is the client's to wait out, anything else is ours.
    pub fn io(e: std::io::Error) -> Self {
        if e.raw_os_error() == Some(libc::ENOSPC) {
            TusError::new(
                507,
                "the server's disk is full; the upload can resume once space is freed",
            )
        } else {
            anyhow::Error::from(e).context("upload file").into()
        }
    }
}

impl From<anyhow::Error> for TusError {
    fn from(e: anyhow::Error) -> Self {
        tracing::error!(error = %format!("{e:#}"), "upload request failed");
        TusError::new(500, "internal error")
    }
}

impl From<sqlx::Error> for TusError {
    fn from(e: sqlx::Error) -> Self {
        anyhow::Error::from(e).context("upload lock").into()
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

pub fn tus_headers(h: &mut HeaderMap) {
    h.insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

pub fn set(h: &mut HeaderMap, name: &'static str, value: impl ToString) {
    if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
        h.insert(HeaderName::from_static(name), v);
    }
}

pub fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

pub fn require_version(h: &HeaderMap) -> Result<(), TusError> {
    match header_str(h, "tus-resumable") {
        Some(TUS_VERSION) => Ok(()),
        Some(other) => Err(TusError::new(
            412,
            format!("tus version {other} is not supported; use {TUS_VERSION}"),
        )),
        None => Err(TusError::new(412, "the Tus-Resumable header is required")),
    }
}

pub fn parse_u64(h: &HeaderMap, name: &str) -> Result<Option<u64>, TusError> {
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

/// The format a `.yuv` upload declares in its metadata (`raw_width`, `raw_height`, `raw_fps`,
/// `raw_pix_fmt`), checked strictly; `None` for other files. With the length known, the file
/// must be a whole number of frames. Refusals are 400s that name what to fix.
pub fn raw_format(
    filename: &str,
    metadata: &HashMap<String, String>,
    length: Option<u64>,
) -> Result<Option<dailies_media::RawVideoFormat>, TusError> {
    use dailies_media::{RAW_FPS_KEY, RAW_HEIGHT_KEY, RAW_PIX_FMT_KEY, RAW_WIDTH_KEY};
    const KEYS: [&str; 4] = [RAW_WIDTH_KEY, RAW_HEIGHT_KEY, RAW_FPS_KEY, RAW_PIX_FMT_KEY];
    if !dailies_media::is_raw_yuv_name(filename) {
        return match KEYS.iter().find(|k| metadata.contains_key(**k)) {
            Some(k) => Err(TusError::new(
                400,
                format!(
                    "{k} describes a headerless .yuv file, and '{filename}' is not one; \
                     name the file .yuv or leave the raw_* keys out"
                ),
            )),
            None => Ok(None),
        };
    }
    let get = |k: &str| metadata.get(k).map(String::as_str);
    let format = dailies_media::RawVideoFormat::parse(
        get(RAW_WIDTH_KEY),
        get(RAW_HEIGHT_KEY),
        get(RAW_FPS_KEY),
        get(RAW_PIX_FMT_KEY),
    )
    .map_err(|e| TusError::new(400, e.to_string()))?;
    if let Some(length) = length {
        format
            .frames_in(length)
            .map_err(|e| TusError::new(400, e.to_string()))?;
    }
    Ok(Some(format))
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
pub fn clean_filename(name: Option<&String>) -> String {
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

pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub fn upload_url(id: &str) -> String {
    format!("/api/uploads/{id}")
}

pub fn expires_http(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    httpdate::fmt_http_date(t)
}

/// A requested `Upload-Checksum`: the algorithm's running digest and the expected value.
pub enum Checksum {
    Sha1(sha1::Sha1, Vec<u8>),
    Sha256(sha2::Sha256, Vec<u8>),
}

impl Checksum {
    pub fn parse(h: &HeaderMap) -> Result<Option<Self>, TusError> {
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

    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Checksum::Sha1(d, _) => d.update(bytes),
            Checksum::Sha256(d, _) => d.update(bytes),
        }
    }

    pub fn matches(self) -> bool {
        match self {
            Checksum::Sha1(d, want) => d.finalize()[..] == want[..],
            Checksum::Sha256(d, want) => d.finalize()[..] == want[..],
        }
    }
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
