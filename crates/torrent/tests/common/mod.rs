//! Shared by the tests that drive real BitTorrent clients: finding the tools (a missing tool is a
//! failure that says how to install it, never a silent skip), test content, and a small HTTP
//! file server with byte ranges to act as the web seed.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Fails the test with what to install when `tool` is not usable.
pub fn missing_tool(what: &str, package: &str) -> ! {
    panic!(
        "{what} is required for this test and was not found: install the Debian package \
         `{package}` (scripts/deps.sh does, and CI runs it)"
    );
}

/// A Python interpreter that can `import libtorrent`. Debian's python3-libtorrent is built for
/// the system Python, which may not be the first `python3` on PATH (pyenv and the like).
pub fn python_with_libtorrent() -> String {
    let mut candidates = Vec::new();
    if let Ok(p) = std::env::var("DAILIES_TEST_PYTHON") {
        candidates.push(p);
    }
    candidates.extend(["/usr/bin/python3".to_string(), "python3".to_string()]);
    for python in candidates {
        let ok = Command::new(&python)
            .args(["-c", "import libtorrent"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return python;
        }
    }
    missing_tool("python3 with the libtorrent module", "python3-libtorrent")
}

/// aria2c's BitTorrent listening ports: a range (it takes the first free one), since a single
/// port picked in advance may be taken by a parallel test before aria2c binds it.
pub const ARIA2_LISTEN_PORTS: &str = "--listen-port=20000-29999";

pub fn aria2c() -> String {
    let ok = Command::new("aria2c")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        missing_tool("aria2c", "aria2");
    }
    "aria2c".to_string()
}

/// Deterministic bytes that do not repeat within a piece, so a misplaced range shows.
pub fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// Runs a child to completion, killing it if it takes longer than `limit` (a hung client must
/// fail the test, not hang CI).
pub fn run_with_limit(command: &mut Command, limit: Duration) -> Output {
    let child: Child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let done = Arc::new(Mutex::new(false));
    let watchdog_done = Arc::clone(&done);
    std::thread::spawn(move || {
        let start = Instant::now();
        while start.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(100));
            if *watchdog_done.lock().unwrap() {
                return;
            }
        }
        // Only our own child, by its id.
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    });
    let output = child.wait_with_output().expect("wait");
    *done.lock().unwrap() = true;
    output
}

/// What the web seed was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRequest {
    pub method: String,
    pub path: String,
    /// Path and query as sent.
    pub target: String,
    pub range: Option<String>,
    pub status: u16,
}

/// An HTTP/1.1 server for a few in-memory files, answering `GET`/`HEAD` with single byte ranges
/// (`206`, `416`) as BEP 19 web seed clients expect. One connection per request.
pub struct RangeServer {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<SeenRequest>>>,
}

impl RangeServer {
    pub fn start(files: HashMap<String, Vec<u8>>) -> RangeServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let files = Arc::new(files);
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let files = Arc::clone(&files);
                let log = Arc::clone(&log);
                std::thread::spawn(move || {
                    if let Some(seen) = handle(stream, &files) {
                        log.lock().unwrap().push(seen);
                    }
                });
            }
        });
        RangeServer { addr, seen }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

fn handle(stream: TcpStream, files: &HashMap<String, Vec<u8>>) -> Option<SeenRequest> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("range")
        {
            range = Some(value.trim().to_string());
        }
    }
    let path = target.split('?').next().unwrap_or("").to_string();
    let (status, headers, body): (u16, Vec<String>, &[u8]) = match files.get(&path) {
        None => (404, vec![], b"not found"),
        Some(data) => match range.as_deref().map(|r| parse_range(r, data.len() as u64)) {
            None => (200, vec![], &data[..]),
            Some(Some((start, end))) => (
                206,
                vec![format!("Content-Range: bytes {start}-{end}/{}", data.len())],
                &data[start as usize..=end as usize],
            ),
            Some(None) => (
                416,
                vec![format!("Content-Range: bytes */{}", data.len())],
                b"",
            ),
        },
    };
    let reason = match status {
        200 => "OK",
        206 => "Partial Content",
        404 => "Not Found",
        _ => "Range Not Satisfiable",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nAccept-Ranges: bytes\r\n\
         Content-Type: application/octet-stream\r\nConnection: close\r\n",
        body.len()
    );
    for h in headers {
        head.push_str(&h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut stream = stream;
    let _ = stream.write_all(head.as_bytes());
    if method != "HEAD" {
        let _ = stream.write_all(body);
    }
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Write);
    Some(SeenRequest {
        method,
        path,
        target,
        range,
        status,
    })
}

/// `bytes=a-b`, `bytes=a-` or `bytes=-n` → inclusive `(start, end)`; `None` if unsatisfiable.
fn parse_range(header: &str, len: u64) -> Option<(u64, u64)> {
    let spec = header.strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        (len.checked_sub(n.min(len))?, len.checked_sub(1)?)
    } else {
        let start: u64 = a.parse().ok()?;
        let end = if b.is_empty() {
            len.checked_sub(1)?
        } else {
            b.parse::<u64>().ok()?.min(len.checked_sub(1)?)
        };
        (start, end)
    };
    (start <= end && end < len).then_some((start, end))
}

pub fn write(dir: &Path, name: &str, data: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, data).expect("write test file");
    path
}

/// Serves a [`dailies_torrent::tracker::Tracker`] over plain HTTP at `/announce` and `/scrape`,
/// the way the server will mount it: query string and the connection's address in, the body out.
pub struct TrackerServer {
    pub addr: SocketAddr,
    pub tracker: Arc<dailies_torrent::tracker::Tracker>,
    pub seen: Arc<Mutex<Vec<String>>>,
}

impl TrackerServer {
    pub fn start(tracker: dailies_torrent::tracker::Tracker) -> TrackerServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let tracker = Arc::new(tracker);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (t, log) = (Arc::clone(&tracker), Arc::clone(&seen));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (t, log) = (Arc::clone(&t), Arc::clone(&log));
                std::thread::spawn(move || serve_tracker(stream, &t, &log));
            }
        });
        TrackerServer {
            addr,
            tracker,
            seen,
        }
    }

    pub fn announce_url(&self) -> String {
        format!("http://{}/announce", self.addr)
    }
}

fn serve_tracker(
    stream: TcpStream,
    tracker: &dailies_torrent::tracker::Tracker,
    log: &Mutex<Vec<String>>,
) -> Option<()> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let peer_ip = stream.peer_addr().ok()?.ip();
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let target = request_line.split_whitespace().nth(1)?.to_string();
    log.lock().unwrap().push(target.clone());
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let body = match path {
        "/announce" => tracker.announce(query, peer_ip),
        "/scrape" => tracker.scrape(query, peer_ip),
        _ => dailies_torrent::tracker::failure("not a tracker path"),
    };
    let mut stream = stream;
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(&body).ok()?;
    let _ = stream.shutdown(std::net::Shutdown::Write);
    Some(())
}
