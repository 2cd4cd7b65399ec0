//! `dailies upload FILE... --server URL --token TOKEN`: a tus client for people with files on
//! their own machine.
//!
//! Each file is hashed first and the server asked whether it already has it (`exists`: nothing
//! is sent). An unfinished upload of the same content (`duplicate_request`, from an earlier,
//! interrupted run) is resumed where it stopped; otherwise a new upload is created. Network
//! errors are retried with backoff, each time resuming from the offset the server reports.

use std::fs::File;
use std::io::{IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use dailies_media::{
    RAW_FPS_KEY, RAW_HEIGHT_KEY, RAW_PIX_FMT_KEY, RAW_WIDTH_KEY, RawVideoFormat, is_raw_yuv_name,
};

use crate::ingest::hashing::hash_file;

/// Bytes sent per PATCH: large enough for full speed, small enough that a retry loses little.
const CHUNK: u64 = 64 << 20;
/// Network failures tolerated in a row before giving up on a file.
const MAX_RETRIES: u32 = 8;
/// Offset disagreements (409) tolerated in a row: each one is followed by a fresh HEAD, so more
/// than a few means something else is writing the same upload.
const MAX_CONFLICTS: u32 = 4;
/// How long a connection may move no bytes before the request counts as failed.
const STALL: Duration = Duration::from_secs(120);

struct Client {
    agent: ureq::Agent,
    server: String,
    token: String,
    /// The format given for raw `.yuv` files (`--raw-*`).
    raw: Option<RawVideoFormat>,
}

impl Client {
    fn url(&self, path: &str) -> String {
        format!("{}{}", self.server.trim_end_matches('/'), path)
    }

    fn auth(&self) -> String {
        format!("Bearer {}", self.token)
    }
}

pub fn upload(
    files: &[PathBuf],
    server: &str,
    token: &str,
    raw: Option<RawVideoFormat>,
) -> Result<()> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(15)))
        // A link that stops moving bytes either way is a failure to retry, not a hang.
        .timeout_per_write(Some(STALL))
        .timeout_per_read(Some(STALL))
        .build()
        .into();
    let client = Client {
        agent,
        server: server.to_owned(),
        token: token.to_owned(),
        raw,
    };
    let mut failed = 0;
    for file in files {
        match upload_one(&client, file) {
            Ok(message) => println!("{}: {message}", file.display()),
            Err(e) => {
                eprintln!("{}: {e:#}", file.display());
                failed += 1;
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} file(s) could not be uploaded", files.len());
    }
    Ok(())
}

fn error_text(res: ureq::http::Response<ureq::Body>) -> String {
    let status = res.status();
    let body = res.into_body().read_to_string().unwrap_or_default();
    let msg = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
        .unwrap_or(body);
    format!("{status}: {msg}")
}

fn upload_one(client: &Client, path: &Path) -> Result<String> {
    let meta = std::fs::metadata(path).context("cannot read the file")?;
    if !meta.is_file() {
        bail!("not a regular file");
    }
    let size = meta.len();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "upload".to_owned());
    // A raw .yuv says nothing about itself: its format goes with the upload, checked here first.
    let raw = match is_raw_yuv_name(&name) {
        true => {
            let raw = client.raw.context(
                "a raw .yuv file needs its format: give --raw-width, --raw-height, --raw-fps and --raw-pix-fmt",
            )?;
            raw.frames_in(size)?;
            Some(raw)
        }
        false => None,
    };
    eprintln!("{name}: checking…");
    let sha256 = hash_file(path, None)
        .context("cannot read the file")?
        .sha256;

    let res = client
        .agent
        .post(client.url("/api/uploads/check"))
        .header("Authorization", client.auth())
        .send_json(json!({ "sha256": sha256, "size": size, "filename": name }))?;
    if !res.status().is_success() {
        bail!("the server refused the upload: {}", error_text(res));
    }
    let answer: Value = res.into_body().read_json()?;
    let location = match answer["action"].as_str() {
        Some("exists") => {
            return Ok(format!(
                "already on the server as video {}; nothing sent",
                answer["video_id"].as_str().unwrap_or("?")
            ));
        }
        Some("duplicate_request") => {
            eprintln!("{name}: resuming an earlier upload");
            answer["upload_url"]
                .as_str()
                .context("no upload_url")?
                .to_owned()
        }
        _ => create(client, &name, &sha256, size, raw.as_ref())?,
    };
    match send(client, path, &name, &location, size)? {
        Sent::Done(message) => Ok(message),
        // The server no longer has the upload (expired, or removed): start once more.
        Sent::Gone => {
            eprintln!("{name}: the server no longer has the earlier upload; starting again");
            let location = create(client, &name, &sha256, size, raw.as_ref())?;
            match send(client, path, &name, &location, size)? {
                Sent::Done(message) => Ok(message),
                Sent::Gone => bail!("the server removed the upload while it was being sent"),
            }
        }
    }
}

enum Sent {
    Done(String),
    /// HEAD answered 404 or 410.
    Gone,
}

fn create(
    client: &Client,
    name: &str,
    sha256: &str,
    size: u64,
    raw: Option<&RawVideoFormat>,
) -> Result<String> {
    let mut metadata = format!(
        "filename {},sha256 {}",
        BASE64.encode(name),
        BASE64.encode(sha256)
    );
    if let Some(raw) = raw {
        for (key, value) in [
            (RAW_WIDTH_KEY, raw.width.to_string()),
            (RAW_HEIGHT_KEY, raw.height.to_string()),
            (RAW_FPS_KEY, raw.fps.to_string()),
            (RAW_PIX_FMT_KEY, raw.pix_fmt.name().to_owned()),
        ] {
            metadata.push_str(&format!(",{key} {}", BASE64.encode(value)));
        }
    }
    let res = client
        .agent
        .post(client.url("/api/uploads/"))
        .header("Authorization", client.auth())
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", size.to_string())
        .header("Upload-Metadata", metadata)
        .send_empty()?;
    if res.status().as_u16() != 201 {
        bail!("the server refused the upload: {}", error_text(res));
    }
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .context("the server did not say where to upload")
}

/// What the server holds of an upload.
enum ServerSide {
    At { offset: u64, video: Option<String> },
    Gone,
}

/// The offset the server has, or an error worth retrying.
fn server_offset(client: &Client, url: &str) -> Result<ServerSide> {
    let res = client
        .agent
        .head(url)
        .header("Authorization", client.auth())
        .header("Tus-Resumable", "1.0.0")
        .call()?;
    if matches!(res.status().as_u16(), 404 | 410) {
        return Ok(ServerSide::Gone);
    }
    if !res.status().is_success() {
        bail!("cannot resume: {}", res.status());
    }
    let h = |n: &str| {
        res.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let offset = h("upload-offset")
        .and_then(|v| v.parse().ok())
        .context("no Upload-Offset")?;
    Ok(ServerSide::At {
        offset,
        video: h("dailies-video-id"),
    })
}

fn send(client: &Client, path: &Path, name: &str, location: &str, size: u64) -> Result<Sent> {
    let url = if location.starts_with("http://") || location.starts_with("https://") {
        location.to_owned()
    } else {
        client.url(location)
    };
    let mut file = File::open(path).context("cannot open the file")?;
    let mut bar = Progress::new(name, size);
    let mut failures = 0;
    let mut conflicts = 0;
    loop {
        let (offset, video) = match server_offset(client, &url) {
            Ok(ServerSide::At { offset, video }) => (offset, video),
            Ok(ServerSide::Gone) => return Ok(Sent::Gone),
            Err(e) if failures < MAX_RETRIES => {
                failures += 1;
                retry_wait(name, failures, &e);
                continue;
            }
            Err(e) => return Err(e),
        };
        if offset > size {
            bail!(
                "the server holds {offset} bytes of this upload but the file has {size}: the file \
                 changed since the upload started"
            );
        }
        bar.show(offset);
        if offset == size {
            bar.finish();
            return Ok(Sent::Done(match video {
                Some(v) => format!("uploaded as video {v}"),
                None => "uploaded".to_owned(),
            }));
        }
        file.seek(SeekFrom::Start(offset))?;
        let len = CHUNK.min(size - offset);
        let mut counting = Counting {
            inner: (&mut file).take(len),
            sent: offset,
            bar: &mut bar,
        };
        let result = client
            .agent
            .patch(&url)
            .header("Authorization", client.auth())
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Offset", offset.to_string())
            .header("Content-Type", "application/offset+octet-stream")
            .header("Content-Length", len.to_string())
            .send(ureq::SendBody::from_reader(&mut counting));
        match result {
            Ok(res) if res.status().as_u16() == 204 => {
                failures = 0;
                conflicts = 0;
            }
            Ok(res) if res.status().is_server_error() || res.status().as_u16() == 423 => {
                failures += 1;
                if failures > MAX_RETRIES {
                    bail!("upload failed: {}", error_text(res));
                }
                retry_wait(name, failures, &anyhow::anyhow!("{}", res.status()));
            }
            Ok(res) if res.status().as_u16() == 409 => {
                // Re-read the offset; again and again means another client is at it too.
                conflicts += 1;
                if conflicts > MAX_CONFLICTS {
                    bail!(
                        "the server keeps reporting another offset ({}); is the same file being \
                         uploaded from somewhere else?",
                        error_text(res)
                    );
                }
            }
            Ok(res) => bail!("upload refused: {}", error_text(res)),
            Err(e) => {
                failures += 1;
                if failures > MAX_RETRIES {
                    return Err(e).context("upload failed");
                }
                retry_wait(name, failures, &anyhow::Error::from(e));
            }
        }
    }
}

fn retry_wait(name: &str, failures: u32, e: &anyhow::Error) {
    let wait = Duration::from_secs(1 << failures.min(5));
    eprintln!("\n{name}: {e:#}; resuming in {} s", wait.as_secs());
    std::thread::sleep(wait);
}

/// Counts bytes as the HTTP client reads them, for the progress bar.
struct Counting<'a, R> {
    inner: R,
    sent: u64,
    bar: &'a mut Progress,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sent += n as u64;
        self.bar.show(self.sent);
        Ok(n)
    }
}

/// One line on stderr: percent, bytes, speed. Redrawn in place on a terminal, a few times a
/// minute otherwise.
struct Progress {
    name: String,
    total: u64,
    started: Instant,
    first: Option<u64>,
    last_draw: Option<Instant>,
    tty: bool,
}

impl Progress {
    fn new(name: &str, total: u64) -> Self {
        Progress {
            name: name.to_owned(),
            total,
            started: Instant::now(),
            first: None,
            last_draw: None,
            tty: std::io::stderr().is_terminal(),
        }
    }

    fn show(&mut self, done: u64) {
        let first = *self.first.get_or_insert(done);
        let every = if self.tty {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(10)
        };
        if self.last_draw.is_some_and(|t| t.elapsed() < every) && done < self.total {
            return;
        }
        self.last_draw = Some(Instant::now());
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let speed = (done - first) as f64 / secs / 1e6;
        let pct = if self.total == 0 {
            100.0
        } else {
            done as f64 * 100.0 / self.total as f64
        };
        let width = 30usize;
        let filled = ((pct / 100.0) * width as f64) as usize;
        let line = format!(
            "[{}{}] {pct:5.1}% {:.1}/{:.1} MB {speed:.1} MB/s {}",
            "#".repeat(filled.min(width)),
            " ".repeat(width - filled.min(width)),
            done as f64 / 1e6,
            self.total as f64 / 1e6,
            self.name
        );
        if self.tty {
            eprint!("\r\x1b[2K{line}");
        } else {
            eprintln!("{line}");
        }
        let _ = std::io::stderr().flush();
    }

    fn finish(&mut self) {
        if self.tty {
            eprintln!();
        }
    }
}
