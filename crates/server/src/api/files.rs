//! Serving a file from disk: single byte ranges (206/416), ETag and Last-Modified with
//! conditional requests (304), the right content type, and a streamed body (never the whole
//! file in memory).

use std::io::SeekFrom;
use std::path::Path;
use std::time::UNIX_EPOCH;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use crate::api::error::ApiError;
use crate::storage::{Opened, Storage};

/// A requested byte range, resolved against the file length: inclusive `start..=end`.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable Range header: send everything.
    Full,
    Partial {
        start: u64,
        end: u64,
    },
    /// Syntactically fine but outside the file.
    Unsatisfiable,
}

/// Parses `Range: bytes=a-b | a- | -n`. Multiple ranges and other units are answered with the
/// full file, which RFC 9110 allows.
pub fn parse_range(value: &str, len: u64) -> RangeRequest {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return RangeRequest::Full;
    };
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeRequest::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    let parse = |s: &str| s.parse::<u64>().ok();
    match (a.is_empty(), b.is_empty()) {
        (true, false) => match parse(b) {
            Some(0) => RangeRequest::Unsatisfiable,
            Some(n) if len > 0 => RangeRequest::Partial {
                start: len.saturating_sub(n),
                end: len - 1,
            },
            Some(_) => RangeRequest::Unsatisfiable,
            None => RangeRequest::Full,
        },
        (false, _) => {
            let Some(start) = parse(a) else {
                return RangeRequest::Full;
            };
            let end = if b.is_empty() {
                Some(u64::MAX)
            } else {
                parse(b)
            };
            match end {
                None => RangeRequest::Full,
                Some(end) if end < start => RangeRequest::Full,
                Some(_) if start >= len => RangeRequest::Unsatisfiable,
                Some(end) => RangeRequest::Partial {
                    start,
                    end: end.min(len - 1),
                },
            }
        }
        (true, true) => RangeRequest::Full,
    }
}

pub fn content_type_for(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("mp4" | "m4v") => "video/mp4",
        Some("mov") => "video/quicktime",
        Some("mkv") => "video/x-matroska",
        Some("webm") => "video/webm",
        Some("avi") => "video/x-msvideo",
        Some("mxf") => "application/mxf",
        Some("ts" | "mts" | "m2ts") => "video/mp2t",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// How a served file is presented.
#[derive(Default)]
pub struct Presentation<'a> {
    /// Adds a Content-Disposition so browsers save it under the original name.
    pub download_name: Option<&'a str>,
    /// Overrides the type guessed from the extension.
    pub content_type: Option<&'static str>,
}

/// Serves `path`, honouring Range, If-Range, If-None-Match and If-Modified-Since. Symbolic links
/// are never followed: only files the server itself placed are served. With S3 storage a file
/// this node does not hold is read from the bucket, a range at a time.
pub async fn serve_file(
    storage: &Storage,
    path: &Path,
    req: &HeaderMap,
    how: Presentation<'_>,
) -> Result<Response, ApiError> {
    let opened = storage
        .open(path)
        .await
        .map_err(anyhow::Error::from)?
        .ok_or(ApiError::NotFound)?;
    let (len, modified, stored_etag) = match &opened {
        Opened::Local(_, meta) => (meta.len(), meta.modified().ok(), None),
        Opened::Remote(meta) => (meta.len, meta.last_modified, meta.etag.clone()),
    };
    let mtime_ns = modified
        .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let etag = stored_etag
        .filter(|e| e.starts_with('"') && e.ends_with('"') && e.len() > 2)
        .unwrap_or_else(|| format!("\"{len:x}-{mtime_ns:x}\""));
    let last_modified = modified.map(httpdate::fmt_http_date);

    let mut headers = HeaderMap::new();
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type_for(path)),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=0, must-revalidate"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    if let Some(v) = last_modified
        .as_deref()
        .and_then(|s| HeaderValue::from_str(s).ok())
    {
        headers.insert(header::LAST_MODIFIED, v);
    }
    if let Some(name) = how.download_name {
        headers.insert(header::CONTENT_DISPOSITION, content_disposition(name));
    }

    let get = |name: header::HeaderName| req.get(name).and_then(|v| v.to_str().ok());
    let not_modified = match get(header::IF_NONE_MATCH) {
        Some(inm) => inm.split(',').any(|t| {
            let t = t.trim();
            t == "*" || t.trim_start_matches("W/") == etag
        }),
        None => match (
            get(header::IF_MODIFIED_SINCE).and_then(|s| httpdate::parse_http_date(s).ok()),
            modified,
        ) {
            (Some(since), Some(m)) => m
                .duration_since(UNIX_EPOCH)
                .ok()
                .zip(since.duration_since(UNIX_EPOCH).ok())
                .is_some_and(|(m, s)| m.as_secs() <= s.as_secs()),
            _ => false,
        },
    };
    if not_modified {
        return Ok((StatusCode::NOT_MODIFIED, headers).into_response());
    }

    // If-Range: only honour the Range when the client's copy is still current.
    let range_allowed = match get(header::IF_RANGE) {
        Some(v) if v.starts_with('"') || v.starts_with("W/") => v == etag,
        Some(v) => last_modified.as_deref() == Some(v),
        None => true,
    };
    let range = match get(header::RANGE) {
        Some(r) if range_allowed => parse_range(r, len),
        _ => RangeRequest::Full,
    };

    let (status, start, count) = match range {
        RangeRequest::Full => (StatusCode::OK, 0, len),
        RangeRequest::Partial { start, end } => {
            let value = format!("bytes {start}-{end}/{len}");
            headers.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&value).map_err(anyhow::Error::from)?,
            );
            (StatusCode::PARTIAL_CONTENT, start, end - start + 1)
        }
        RangeRequest::Unsatisfiable => {
            headers.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{len}")).map_err(anyhow::Error::from)?,
            );
            return Ok((StatusCode::RANGE_NOT_SATISFIABLE, headers).into_response());
        }
    };
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    let body = match opened {
        Opened::Local(mut file, _) => {
            if start > 0 {
                file.seek(SeekFrom::Start(start))
                    .await
                    .map_err(anyhow::Error::from)?;
            }
            Body::from_stream(ReaderStream::with_capacity(file.take(count), 256 * 1024))
        }
        Opened::Remote(_) if count == 0 => Body::empty(),
        Opened::Remote(_) => {
            let rx = storage
                .read_remote(path, start, start + count - 1)
                .map_err(anyhow::Error::from)?;
            Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|chunk| (chunk, rx))
            }))
        }
    };
    Ok((status, headers, body).into_response())
}

/// `attachment; filename="…"; filename*=UTF-8''…` with the name made header-safe.
pub(crate) fn content_disposition(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use RangeRequest::*;

    #[test]
    fn ranges() {
        assert_eq!(
            parse_range("bytes=0-99", 1000),
            Partial { start: 0, end: 99 }
        );
        assert_eq!(
            parse_range("bytes=900-", 1000),
            Partial {
                start: 900,
                end: 999
            }
        );
        assert_eq!(
            parse_range("bytes=-100", 1000),
            Partial {
                start: 900,
                end: 999
            }
        );
        assert_eq!(
            parse_range("bytes=-5000", 1000),
            Partial { start: 0, end: 999 }
        );
        assert_eq!(
            parse_range("bytes=990-5000", 1000),
            Partial {
                start: 990,
                end: 999
            }
        );
        assert_eq!(parse_range("bytes=1000-", 1000), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 1000), Unsatisfiable);
        assert_eq!(parse_range("bytes=5-1", 1000), Full);
        assert_eq!(parse_range("bytes=a-b", 1000), Full);
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), Full);
        assert_eq!(parse_range("items=0-1", 1000), Full);
        assert_eq!(parse_range("bytes=0-", 0), Unsatisfiable);
    }

    #[test]
    fn disposition_is_safe() {
        let v = content_disposition("a\"b\r\n ü.mov");
        let s = v.to_str().unwrap();
        assert!(s.starts_with("attachment; filename=\"a_b__ _.mov\""), "{s}");
        assert!(s.contains("%C3%BC"));
    }
}
