//! The S3 calls: each builds one signed request, sends it with ureq and reads the answer.

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ureq::http;

use crate::endpoint::Endpoint;
use crate::sigv4::{self, Credentials, EMPTY_SHA256};
use crate::time::UtcTime;
use crate::{Config, Error, xml};

/// S3's smallest part except the last; also the smallest part size this client uses.
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
const MAX_PART_SIZE: usize = 5 * 1024 * 1024 * 1024;
const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;
const MAX_PARTS: u32 = 10_000;
/// S3's limit for presigned URLs.
const MAX_PRESIGN: Duration = Duration::from_secs(7 * 24 * 3600);
/// Error bodies are small XML; anything bigger is not read whole.
const MAX_ERROR_BODY: u64 = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub len: u64,
    pub etag: Option<String>,
    pub last_modified: Option<SystemTime>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSummary {
    pub key: String,
    pub len: u64,
}

/// An object's bytes as they arrive; a connection that ends early is an error, not a short
/// object.
pub struct ObjectReader {
    /// Of the whole object, also for a range.
    pub meta: ObjectMeta,
    /// Inclusive, as served; `None` when the whole object is served.
    pub range: Option<(u64, u64)>,
    body: ureq::BodyReader<'static>,
}

impl std::fmt::Debug for ObjectReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectReader")
            .field("meta", &self.meta)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.body.read(buf)
    }
}

struct Inner {
    config: Config,
    /// Checked once; a bad endpoint fails every call with `Error::Config`.
    endpoint: Result<Endpoint, String>,
    agent: ureq::Agent,
}

#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    part_size: usize,
    list_page_size: Option<u32>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .field("part_size", &self.part_size)
            .finish_non_exhaustive()
    }
}

/// One request before signing.
struct Call<'a> {
    method: &'static str,
    /// `None` for bucket-level calls.
    key: Option<&'a str>,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<&'a [u8]>,
}

impl<'a> Call<'a> {
    fn new(method: &'static str, key: Option<&'a str>) -> Call<'a> {
        Call {
            method,
            key,
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
        }
    }

    fn query(mut self, k: &str, v: &str) -> Self {
        self.query.push((k.to_string(), v.to_string()));
        self
    }

    fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }

    fn body(mut self, body: &'a [u8]) -> Self {
        self.body = Some(body);
        self
    }
}

type Response = http::Response<ureq::Body>;

impl Client {
    pub fn new(config: Config) -> Client {
        let endpoint = Endpoint::parse(&config.endpoint);
        // No overall or body timeout: a video streams for as long as it streams. A connection
        // that goes silent is caught by the per-read and per-write timeouts instead.
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(None)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(Duration::from_secs(300)))
            .timeout_per_read(Some(Duration::from_secs(120)))
            .timeout_per_write(Some(Duration::from_secs(120)))
            .user_agent("dailies-s3")
            .build()
            .into();
        Client {
            inner: Arc::new(Inner {
                config,
                endpoint,
                agent,
            }),
            part_size: DEFAULT_PART_SIZE,
            list_page_size: None,
        }
    }

    /// Parts of multipart uploads, clamped to S3's 5 MiB..5 GiB; the default is 8 MiB. An upload
    /// may have 10,000 parts, so this bounds the largest object (80 GB at 8 MiB).
    pub fn with_part_size(mut self, bytes: usize) -> Client {
        self.part_size = bytes.clamp(MIN_PART_SIZE, MAX_PART_SIZE);
        self
    }

    /// Keys per ListObjectsV2 page (the service's default is 1,000); for tests of pagination.
    #[doc(hidden)]
    pub fn with_list_page_size(mut self, keys: u32) -> Client {
        self.list_page_size = Some(keys.max(1));
        self
    }

    pub fn bucket(&self) -> &str {
        &self.inner.config.bucket
    }

    /// Succeeds when the bucket already exists and is ours.
    pub fn create_bucket(&self) -> Result<(), Error> {
        let config = &self.inner.config;
        // us-east-1 is the one region that refuses an explicit location constraint.
        let location = (config.region != "us-east-1").then(|| {
            format!(
                "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                 <LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
                xml::escape(&config.region)
            )
        });
        let call = Call::new("PUT", None).body(location.as_deref().unwrap_or("").as_bytes());
        let resp = self.send(call)?;
        match resp.status().as_u16() {
            200..=299 => Ok(()),
            _ => match service_error(resp) {
                Error::Service { code, .. } if code == "BucketAlreadyOwnedByYou" => Ok(()),
                e => Err(e),
            },
        }
    }

    /// `None` when there is no such object.
    pub fn head(&self, key: &str) -> Result<Option<ObjectMeta>, Error> {
        let resp = self.send(Call::new("HEAD", Some(check_key(key)?)))?;
        match resp.status().as_u16() {
            200 => Ok(Some(meta_from(&resp, None)?)),
            404 => Ok(None),
            _ => Err(service_error(resp)),
        }
    }

    /// `range`: inclusive (start, end); `None` for the whole object. `Ok(None)` when there is
    /// no such object; a range starting past the end is `Error::RangeNotSatisfiable`, one
    /// reaching past it is served shortened (see `ObjectReader::range`).
    pub fn get(&self, key: &str, range: Option<(u64, u64)>) -> Result<Option<ObjectReader>, Error> {
        let mut call = Call::new("GET", Some(check_key(key)?));
        if let Some((start, end)) = range {
            if start > end {
                return Err(Error::RangeNotSatisfiable);
            }
            call = call.header("range", &format!("bytes={start}-{end}"));
        }
        let resp = self.send(call)?;
        let served = match resp.status().as_u16() {
            200 => None,
            206 => {
                let value = header(&resp, "content-range").unwrap_or_default();
                Some(parse_content_range(&value).ok_or_else(|| {
                    Error::Transport(format!(
                        "unreadable Content-Range {value:?} in a 206 answer"
                    ))
                })?)
            }
            404 => {
                return match service_error(resp) {
                    Error::Service { code, .. } if code != "NoSuchBucket" => Ok(None),
                    e => Err(e),
                };
            }
            416 => return Err(Error::RangeNotSatisfiable),
            _ => return Err(service_error(resp)),
        };
        let meta = meta_from(&resp, served.map(|(_, _, total)| total))?;
        Ok(Some(ObjectReader {
            meta,
            range: served.map(|(s, e, _)| (s, e)),
            body: resp.into_body().into_reader(),
        }))
    }

    /// Streams `body` up: one PUT when it is shorter than the part size, else a multipart
    /// upload reading one part at a time (memory bounded to one part), aborted on any error so
    /// no half-written object or stray parts remain. Returns the bytes written.
    pub fn put(&self, key: &str, body: &mut dyn Read, content_type: &str) -> Result<u64, Error> {
        check_key(key)?;
        let part_size = self.part_size;
        let mut buf = Vec::new();
        fill(body, &mut buf, part_size)?;
        // A body of exactly one part still goes in one PUT: look one byte ahead.
        let mut ahead = [0u8; 1];
        if buf.len() < part_size || read_some(body, &mut ahead)? == 0 {
            self.put_single(key, &buf, content_type)?;
            return Ok(buf.len() as u64);
        }
        let upload_id = self.create_multipart(key, content_type)?;
        let result = self.upload_parts(key, &upload_id, body, buf, ahead[0]);
        if result.is_err() {
            // Best effort; an upload left behind is found by `abort_unfinished_uploads`.
            let _ = self.abort_upload(key, &upload_id);
        }
        result
    }

    /// A missing object is not an error.
    pub fn delete(&self, key: &str) -> Result<(), Error> {
        let resp = self.send(Call::new("DELETE", Some(check_key(key)?)))?;
        match resp.status().as_u16() {
            200..=299 => Ok(()),
            _ => match service_error(resp) {
                Error::Service {
                    status: 404, code, ..
                } if code == "NoSuchKey" => Ok(()),
                e => Err(e),
            },
        }
    }

    /// Every object under `prefix` (ListObjectsV2, all pages), keys in full.
    pub fn list(&self, prefix: &str) -> Result<Vec<ObjectSummary>, Error> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut call = Call::new("GET", None).query("list-type", "2");
            if !prefix.is_empty() {
                call = call.query("prefix", prefix);
            }
            if let Some(n) = self.list_page_size {
                call = call.query("max-keys", &n.to_string());
            }
            if let Some(t) = &token {
                call = call.query("continuation-token", t);
            }
            let page =
                xml::objects_page(&self.xml_answer(call)?).map_err(bad_xml("ListObjectsV2"))?;
            out.extend(
                page.objects
                    .into_iter()
                    .map(|(key, len)| ObjectSummary { key, len }),
            );
            match page.next_token {
                Some(t) if Some(&t) != token.as_ref() => token = Some(t),
                Some(_) => {
                    return Err(Error::Transport(
                        "ListObjectsV2 repeated its continuation token".into(),
                    ));
                }
                None => return Ok(out),
            }
        }
    }

    /// A presigned GET URL that anyone holding it can fetch until it expires (at most 7 days,
    /// S3's limit). Empty when the configured endpoint is unusable (every call then fails with
    /// `Error::Config`, which says why).
    pub fn presign_get(&self, key: &str, expires: Duration) -> String {
        self.presign_get_at(key, expires, SystemTime::now())
    }

    /// `presign_get` at a given signing time, to compare with other implementations.
    #[doc(hidden)]
    pub fn presign_get_at(&self, key: &str, expires: Duration, at: SystemTime) -> String {
        let Ok(endpoint) = &self.inner.endpoint else {
            return String::new();
        };
        let config = &self.inner.config;
        let (host, path) = self.host_and_path(endpoint, Some(key));
        let secs = expires.clamp(Duration::from_secs(1), MAX_PRESIGN).as_secs();
        let query = sigv4::presigned_query(
            &self.credentials(),
            &UtcTime::from_system(at),
            &config.region,
            &path,
            &host,
            secs,
        );
        format!("{}://{host}{path}?{query}", endpoint.scheme())
    }

    /// Aborts every unfinished multipart upload under `prefix` (left by a writer that crashed)
    /// and returns how many it aborted.
    pub fn abort_unfinished_uploads(&self, prefix: &str) -> Result<usize, Error> {
        let mut uploads = Vec::new();
        let mut marker: Option<(String, String)> = None;
        loop {
            let mut call = Call::new("GET", None).query("uploads", "");
            if !prefix.is_empty() {
                call = call.query("prefix", prefix);
            }
            if let Some((key, id)) = &marker {
                call = call.query("key-marker", key).query("upload-id-marker", id);
            }
            let page = xml::uploads_page(&self.xml_answer(call)?)
                .map_err(bad_xml("ListMultipartUploads"))?;
            uploads.extend(page.uploads);
            match page.next {
                Some(next) if Some(&next) != marker.as_ref() => marker = Some(next),
                Some(_) => {
                    return Err(Error::Transport(
                        "ListMultipartUploads repeated its markers".into(),
                    ));
                }
                None => break,
            }
        }
        let mut aborted = 0;
        for (key, id) in uploads {
            if self.abort_upload(&key, &id)? {
                aborted += 1;
            }
        }
        Ok(aborted)
    }

    fn put_single(&self, key: &str, data: &[u8], content_type: &str) -> Result<(), Error> {
        let call = Call::new("PUT", Some(key))
            .header("content-type", content_type)
            .body(data);
        let resp = self.send(call)?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(service_error(resp))
        }
    }

    fn create_multipart(&self, key: &str, content_type: &str) -> Result<String, Error> {
        let call = Call::new("POST", Some(key))
            .query("uploads", "")
            .header("content-type", content_type)
            .body(b"");
        let answer = self.xml_answer(call)?;
        xml::text(&answer, "UploadId")
            .filter(|id| !id.is_empty())
            .ok_or_else(|| bad_xml("CreateMultipartUpload")("no <UploadId>".into()))
    }

    /// Uploads `first` (a full part), then the rest of `body` part by part, then completes.
    fn upload_parts(
        &self,
        key: &str,
        upload_id: &str,
        body: &mut dyn Read,
        first: Vec<u8>,
        ahead: u8,
    ) -> Result<u64, Error> {
        let mut buf = first;
        let mut carry = Some(ahead);
        let mut parts: Vec<(u32, String)> = Vec::new();
        let mut total = 0u64;
        loop {
            let number = parts.len() as u32 + 1;
            if number > MAX_PARTS {
                return Err(Error::Config(format!(
                    "the object is larger than {MAX_PARTS} parts of {} bytes; raise the part size",
                    self.part_size
                )));
            }
            let etag = self.upload_part(key, upload_id, number, &buf)?;
            parts.push((number, etag));
            total += buf.len() as u64;
            buf.clear();
            buf.extend(carry.take());
            fill(body, &mut buf, self.part_size)?;
            if buf.is_empty() {
                break;
            }
        }
        self.complete_multipart(key, upload_id, &parts)?;
        Ok(total)
    }

    fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: u32,
        data: &[u8],
    ) -> Result<String, Error> {
        let call = Call::new("PUT", Some(key))
            .query("partNumber", &number.to_string())
            .query("uploadId", upload_id)
            .body(data);
        let resp = self.send(call)?;
        if !resp.status().is_success() {
            return Err(service_error(resp));
        }
        header(&resp, "etag")
            .ok_or_else(|| Error::Transport(format!("part {number} was stored without an ETag")))
    }

    fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<(), Error> {
        let mut doc = String::from(
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">",
        );
        for (number, etag) in parts {
            doc.push_str(&format!(
                "<Part><PartNumber>{number}</PartNumber><ETag>{}</ETag></Part>",
                xml::escape(etag)
            ));
        }
        doc.push_str("</CompleteMultipartUpload>");
        let call = Call::new("POST", Some(key))
            .query("uploadId", upload_id)
            .header("content-type", "application/xml")
            .body(doc.as_bytes());
        // S3 may answer 200 and still report an error in the body.
        let answer = self.xml_answer(call)?;
        match xml::error(&answer) {
            Some((code, message)) => Err(Error::Service {
                status: 200,
                code,
                message,
            }),
            None => Ok(()),
        }
    }

    /// `Ok(false)` when the upload was already gone.
    fn abort_upload(&self, key: &str, upload_id: &str) -> Result<bool, Error> {
        let resp = self.send(Call::new("DELETE", Some(key)).query("uploadId", upload_id))?;
        match resp.status().as_u16() {
            200..=299 => Ok(true),
            _ => match service_error(resp) {
                Error::Service {
                    status: 404, code, ..
                } if code == "NoSuchUpload" => Ok(false),
                e => Err(e),
            },
        }
    }

    /// Sends `call` and reads a successful answer's (small) XML body.
    fn xml_answer(&self, call: Call) -> Result<String, Error> {
        let mut resp = self.send(call)?;
        if !resp.status().is_success() {
            return Err(service_error(resp));
        }
        resp.body_mut()
            .with_config()
            .limit(16 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| Error::Transport(e.to_string()))
    }

    fn credentials(&self) -> Credentials<'_> {
        let c = &self.inner.config;
        Credentials {
            access_key: &c.access_key,
            secret_key: &c.secret_key,
            session_token: c.session_token.as_deref(),
        }
    }

    /// The `host` header and the encoded path for a key (or the bucket when `None`).
    fn host_and_path(&self, endpoint: &Endpoint, key: Option<&str>) -> (String, String) {
        let config = &self.inner.config;
        let key_path = key.map(|k| sigv4::uri_encode(k, true)).unwrap_or_default();
        if config.path_style {
            let bucket = sigv4::uri_encode(&config.bucket, false);
            let path = match key {
                Some(_) => format!("/{bucket}/{key_path}"),
                None => format!("/{bucket}"),
            };
            (endpoint.authority(None), path)
        } else {
            (
                endpoint.authority(Some(&config.bucket)),
                format!("/{key_path}"),
            )
        }
    }

    fn send(&self, call: Call) -> Result<Response, Error> {
        let endpoint = self
            .inner
            .endpoint
            .as_ref()
            .map_err(|e| Error::Config(e.clone()))?;
        let config = &self.inner.config;
        let (host, path) = self.host_and_path(endpoint, call.key);
        let time = UtcTime::now();
        let payload_sha256 = match call.body {
            Some(b) if !b.is_empty() => sigv4::sha256_hex(b),
            _ => EMPTY_SHA256.to_string(),
        };
        let mut headers = call.headers;
        headers.push(("host".into(), host.clone()));
        headers.push(("x-amz-date".into(), time.amz_date()));
        headers.push(("x-amz-content-sha256".into(), payload_sha256.clone()));
        if let Some(token) = &config.session_token {
            headers.push(("x-amz-security-token".into(), token.clone()));
        }
        let authorization = sigv4::authorization(
            &self.credentials(),
            &time,
            &config.region,
            "s3",
            &sigv4::Request {
                method: call.method,
                path: &path,
                query: &call.query,
                headers: &headers,
                payload_sha256: &payload_sha256,
            },
        );
        let mut url = format!("{}://{host}{path}", endpoint.scheme());
        if !call.query.is_empty() {
            // The canonical form, except that a flag like `uploads` goes without `=`.
            let query = sigv4::canonical_query(&call.query);
            let query: Vec<&str> = query
                .split('&')
                .map(|p| p.strip_suffix('=').unwrap_or(p))
                .collect();
            url.push('?');
            url.push_str(&query.join("&"));
        }
        let mut builder = http::Request::builder().method(call.method).uri(&url);
        for (k, v) in &headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        builder = builder.header("authorization", authorization);
        let agent = &self.inner.agent;
        let result = match call.body {
            Some(body) => builder.body(body).map(|r| agent.run(r)),
            None => builder.body(()).map(|r| agent.run(r)),
        };
        result
            .map_err(|e| Error::Config(format!("cannot build a request for {url}: {e}")))?
            .map_err(|e| Error::Transport(format!("{} {url}: {e}", call.method)))
    }
}

fn check_key(key: &str) -> Result<&str, Error> {
    if key.is_empty() {
        Err(Error::Config("an object key must not be empty".into()))
    } else {
        Ok(key)
    }
}

/// Reads until `buf` holds `limit` bytes or the body ends. Reserving exactly `limit` keeps the
/// buffer at one part (growing by doubling could overshoot); untouched pages cost nothing.
fn fill(body: &mut dyn Read, buf: &mut Vec<u8>, limit: usize) -> Result<(), Error> {
    let want = limit.saturating_sub(buf.len());
    buf.reserve_exact(want);
    body.take(want as u64).read_to_end(buf)?;
    Ok(())
}

fn read_some(body: &mut dyn Read, buf: &mut [u8]) -> Result<usize, Error> {
    loop {
        match body.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            r => return Ok(r?),
        }
    }
}

fn header(resp: &Response, name: &str) -> Option<String> {
    resp.headers().get(name)?.to_str().ok().map(str::to_string)
}

/// `total` is the whole object's length when the answer is a range.
fn meta_from(resp: &Response, total: Option<u64>) -> Result<ObjectMeta, Error> {
    let len = match total {
        Some(t) => t,
        None => header(resp, "content-length")
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| Error::Transport("an object answer without Content-Length".into()))?,
    };
    Ok(ObjectMeta {
        len,
        etag: header(resp, "etag"),
        last_modified: header(resp, "last-modified")
            .and_then(|v| httpdate::parse_http_date(&v).ok()),
    })
}

/// `bytes start-end/total` → (start, end, total).
fn parse_content_range(value: &str) -> Option<(u64, u64, u64)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (span, total) = rest.split_once('/')?;
    let (start, end) = span.split_once('-')?;
    let (start, end, total) = (
        start.trim().parse().ok()?,
        end.trim().parse().ok()?,
        total.trim().parse().ok()?,
    );
    (start <= end && end < total).then_some((start, end, total))
}

/// The service's error, from its XML body when there is one (HEAD answers have none).
fn service_error(resp: Response) -> Error {
    let status = resp.status();
    let body = resp
        .into_body()
        .into_with_config()
        .limit(MAX_ERROR_BODY)
        .lossy_utf8(true)
        .read_to_string()
        .unwrap_or_default();
    match xml::error(&body) {
        Some((code, message)) => Error::Service {
            status: status.as_u16(),
            code,
            message,
        },
        None => Error::Service {
            status: status.as_u16(),
            code: status
                .canonical_reason()
                .unwrap_or("Unknown")
                .replace(' ', ""),
            message: body.chars().take(200).collect(),
        },
    }
}

fn bad_xml(what: &'static str) -> impl Fn(String) -> Error {
    move |why| Error::Transport(format!("unexpected {what} answer: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(endpoint: &str, path_style: bool) -> Client {
        Client::new(Config {
            endpoint: endpoint.into(),
            region: "us-east-1".into(),
            access_key: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
            bucket: "examplebucket".into(),
            path_style,
        })
    }

    #[test]
    fn content_range() {
        assert_eq!(parse_content_range("bytes 0-9/100"), Some((0, 9, 100)));
        assert_eq!(parse_content_range("bytes 5-5/6"), Some((5, 5, 6)));
        assert_eq!(parse_content_range("bytes 5-4/6"), None);
        assert_eq!(parse_content_range("bytes 0-9/5"), None);
        assert_eq!(parse_content_range("bytes */100"), None);
        assert_eq!(parse_content_range("items 0-1/2"), None);
    }

    #[test]
    fn the_documented_presigned_url() {
        // 2013-05-24T00:00:00Z
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_369_353_600);
        let url = client("https://s3.amazonaws.com", false).presign_get_at(
            "test.txt",
            Duration::from_secs(86400),
            at,
        );
        assert_eq!(
            url,
            "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        );
    }

    #[test]
    fn presign_clamps_expiry_and_uses_path_style() {
        let c = client("http://127.0.0.1:9000", true);
        let url = c.presign_get("a b/c+d", Duration::from_secs(30 * 24 * 3600));
        assert!(
            url.starts_with("http://127.0.0.1:9000/examplebucket/a%20b/c%2Bd?"),
            "{url}"
        );
        assert!(url.contains("X-Amz-Expires=604800&"), "{url}");
        assert_eq!(
            client("minio:9000", true).presign_get("k", Duration::from_secs(1)),
            ""
        );
    }

    #[test]
    fn bad_endpoint_and_empty_key_are_config_errors() {
        let c = client("minio:9000", true);
        assert!(matches!(c.head("k"), Err(Error::Config(_))));
        let c = client("http://127.0.0.1:9", true);
        assert!(matches!(c.head(""), Err(Error::Config(_))));
        assert!(matches!(
            c.get("k", Some((5, 4))),
            Err(Error::RangeNotSatisfiable)
        ));
    }

    #[test]
    fn unreachable_service_is_a_transport_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c = client(&format!("http://127.0.0.1:{port}"), true);
        match c.head("k") {
            Err(e @ Error::Transport(_)) => {
                let text = e.to_string();
                assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
                assert!(!text.contains("wJalrXUtnFEMI"), "{text}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn part_size_is_clamped() {
        let c = client("http://127.0.0.1:9", true);
        assert_eq!(c.clone().with_part_size(1).part_size, MIN_PART_SIZE);
        assert_eq!(c.clone().with_part_size(64 << 20).part_size, 64 << 20);
        assert_eq!(c.part_size, DEFAULT_PART_SIZE);
    }
}
