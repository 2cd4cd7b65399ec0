//! Helpers for the tus (resumable upload) tests: raw HTTP requests, `Upload-Metadata` and
//! `Upload-Checksum` encoding, and checks that an upload became the video it should.
//! Self-contained on purpose (base64 and SHA-1 are a few lines each), so the tests need nothing
//! beyond the harness's dev-dependencies.
#![allow(dead_code)]

use std::io::Read;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{PATIENCE, Server, playable_mp4};

pub const TUS: (&str, &str) = ("Tus-Resumable", "1.0.0");
pub const OCTETS: (&str, &str) = ("Content-Type", "application/offset+octet-stream");

/// A response: status, headers (names lower-case) and body.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A header that must be there, as a string.
    pub fn must(&self, name: &str) -> &str {
        self.header(name)
            .unwrap_or_else(|| panic!("no {name} header in {self}"))
    }

    /// A numeric header that must be there.
    pub fn num(&self, name: &str) -> u64 {
        self.must(name)
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} is not a number in {self}"))
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

impl std::fmt::Display for Resp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?} {}", self.status, self.headers, {
            let s = String::from_utf8_lossy(&self.body);
            s.chars().take(500).collect::<String>()
        })
    }
}

/// The request body: nothing, bytes, or a reader (streamed; give Content-Length yourself).
pub enum Body {
    None,
    Bytes(Vec<u8>),
    Reader(Box<dyn Read + Send>),
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// One request, any method, exactly the headers given (plus Authorization when `token` is set).
pub fn request(
    method: &str,
    url: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Body,
) -> Resp {
    let mut req = ureq::http::Request::builder().method(method).uri(url);
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = match body {
        Body::None => agent().run(req.body(()).unwrap()),
        Body::Bytes(b) => agent().run(req.body(b).unwrap()),
        Body::Reader(r) => agent().run(req.body(ureq::SendBody::from_owned_reader(r)).unwrap()),
    }
    .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = res.status().as_u16();
    let headers = res
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = res
        .into_body()
        .with_config()
        .limit(512 * 1024 * 1024)
        .read_to_vec()
        .unwrap_or_default();
    Resp {
        status,
        headers,
        body,
    }
}

/// The creation endpoint of a server.
pub fn endpoint(server: &Server) -> String {
    format!("{}/api/uploads/", server.base)
}

/// An upload URL from a `Location` header (the contract: an absolute path `/api/uploads/{id}`).
pub fn upload_url(server: &Server, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        location.to_owned()
    } else {
        format!("{}{location}", server.base)
    }
}

/// The upload id: the last segment of its URL.
pub fn upload_id(url: &str) -> String {
    url.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned()
}

/// POST (creation) with `Upload-Length` and metadata; asserts 201 and returns the upload URL.
pub fn create(server: &Server, token: &str, length: u64, metadata: &str) -> String {
    let len = length.to_string();
    let mut h = vec![TUS, ("Upload-Length", len.as_str())];
    if !metadata.is_empty() {
        h.push(("Upload-Metadata", metadata));
    }
    let r = request("POST", &endpoint(server), Some(token), &h, Body::None);
    assert_eq!(r.status, 201, "creation: {r}");
    upload_url(server, r.must("Location"))
}

/// PATCH `data` at `offset` (no checksum); returns the response as is.
pub fn patch(url: &str, token: &str, offset: u64, data: &[u8]) -> Resp {
    patch_with(url, token, offset, data, &[])
}

pub fn patch_with(
    url: &str,
    token: &str,
    offset: u64,
    data: &[u8],
    extra: &[(&str, &str)],
) -> Resp {
    let off = offset.to_string();
    let mut h = vec![TUS, OCTETS, ("Upload-Offset", off.as_str())];
    h.extend_from_slice(extra);
    request("PATCH", url, Some(token), &h, Body::Bytes(data.to_vec()))
}

pub fn head(url: &str, token: &str) -> Resp {
    request("HEAD", url, Some(token), &[TUS], Body::None)
}

/// `GET /api/uploads/{id}`: the upload's JSON.
pub fn upload_json(url: &str, token: &str) -> Resp {
    request(
        "GET",
        url,
        Some(token),
        &[TUS, ("Accept", "application/json")],
        Body::None,
    )
}

/// `Upload-Metadata` from key/value pairs (values base64-encoded, keys as they are).
pub fn metadata(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k} {}", b64(v.as_bytes())))
        .collect::<Vec<_>>()
        .join(",")
}

pub fn b64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(sha256(data))
}

/// SHA-1 (FIPS 180-4), for `Upload-Checksum: sha1 …`.
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 80];
        for i in 0..16 {
            w[i] = u32::from_be_bytes(block[i * 4..i * 4 + 4].try_into().unwrap());
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A827999),
                20..=39 => (b ^ c ^ d, 0x6ED9EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDC),
                _ => (b ^ c ^ d, 0xCA62C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

/// Polls `GET /api/videos/{id}` until the video is ready or failed; returns its JSON.
pub fn wait_video(server: &Server, token: &str, id: &str) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, v) = server.get(&format!("/api/videos/{id}"), token);
        if status == 200 && (v["status"] == "ready" || v["status"] == "failed") {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "video {id} did not settle ({status}: {v})\nlog:\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Asserts that video `id` is ready and its original is exactly `expected`.
pub fn assert_ready_with_original(server: &Server, token: &str, id: &str, expected: &[u8]) {
    let v = wait_video(server, token, id);
    assert_eq!(v["status"], "ready", "{v:#}\nlog:\n{}", server.log_text());
    let (status, _, bytes) = server.get_bytes(&format!("/api/videos/{id}/original"), token);
    assert_eq!(status, 200);
    assert_eq!(bytes.len(), expected.len(), "original size");
    assert!(
        bytes == expected,
        "the original differs from what was uploaded"
    );
}

/// PATCH over a raw connection whose body (`data`, `pieces` writes spread over `total`) is sent
/// by a second thread while this one reads the response: a server that answers before it has
/// read the body (423 Locked, 409) is seen answering, not as a broken pipe.
pub fn slow_patch(
    server: &Server,
    url: &str,
    token: &str,
    offset: u64,
    data: Vec<u8>,
    pieces: usize,
    total: Duration,
) -> Resp {
    use std::io::Write;
    let path = url.strip_prefix(&server.base).unwrap_or(url);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {token}\r\n\
         Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n\
         Upload-Offset: {offset}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        server.port,
        data.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut w = s.try_clone().unwrap();
    let piece = data.len().div_ceil(pieces.max(1)).max(1);
    let pause = total / pieces.max(1) as u32;
    let writer = std::thread::spawn(move || {
        for p in data.chunks(piece) {
            if w.write_all(p).is_err() {
                return;
            }
            std::thread::sleep(pause);
        }
    });
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let header_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = s.read(&mut tmp).unwrap_or(0);
        assert!(
            n > 0,
            "connection closed before a response: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad response head: {head}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let want = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buf[header_end + 4..].to_vec();
    while body.len() < want {
        let n = s.read(&mut tmp).unwrap_or(0);
        if n == 0 {
            break;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    let _ = writer.join();
    Resp {
        status,
        headers,
        body,
    }
}

/// A PATCH whose client dies part-way: announces `data.len()` bytes, sends the first `sent`,
/// waits a moment, and closes the connection without reading an answer.
pub fn dropped_patch(
    server: &Server,
    url: &str,
    token: &str,
    offset: u64,
    data: &[u8],
    sent: usize,
    extra: &[(&str, &str)],
) {
    let s = silent_patch(server, url, token, offset, data, sent, extra);
    std::thread::sleep(Duration::from_millis(300));
    let _ = s.shutdown(std::net::Shutdown::Both);
}

/// PATCH, retrying while the upload is locked (423) by a request the server is still finishing.
pub fn patch_when_unlocked(url: &str, token: &str, offset: u64, data: &[u8]) -> Resp {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = patch(url, token, offset, data);
        if r.status != 423 || Instant::now() > deadline {
            return r;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A small browser-playable clip and its bytes (the temporary folder lives as long as this).
pub struct Clip {
    _dir: tempfile::TempDir,
    pub bytes: Vec<u8>,
}

pub fn clip(name: &str) -> Clip {
    let dir = tempfile::tempdir().unwrap();
    let path = playable_mp4(dir.path(), name);
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 4096, "the test clip is too small to split");
    Clip { _dir: dir, bytes }
}

/// The video id a response names, which must be there.
pub fn video_id_of(r: &Resp) -> String {
    r.header("Dailies-Video-Id")
        .unwrap_or_else(|| panic!("no Dailies-Video-Id in {r}"))
        .to_owned()
}

/// A PATCH whose client goes silent: announces `data.len()` bytes, sends the first `sent`, and
/// keeps the connection open without a word (a laptop lid closed mid-upload). Drop the stream
/// to hang up.
pub fn silent_patch(
    server: &Server,
    url: &str,
    token: &str,
    offset: u64,
    data: &[u8],
    sent: usize,
    extra: &[(&str, &str)],
) -> std::net::TcpStream {
    use std::io::Write;
    let path = url.strip_prefix(&server.base).unwrap_or(url);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let mut head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {token}\r\n\
         Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n\
         Upload-Offset: {offset}\r\nContent-Length: {}\r\n",
        server.port,
        data.len()
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&data[..sent]).unwrap();
    s.flush().unwrap();
    s
}
