//! Fetching one chunk over HTTP (blocking, on a worker thread), resuming with `Range` after a
//! broken connection, and verifying it against its hash before anyone may use it.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::chunk_hash::ChunkHash;
use crate::node::auth::Token;
use crate::node::limiter::Limiter;

/// How often a transfer's progress is reported.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);
/// Reconnections with `Range` after a connection broke with some progress.
const RESUMES: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cancelled")]
    Cancelled,
    #[error("chunk {hash} from {from}: {message}")]
    Failed {
        hash: ChunkHash,
        from: String,
        message: String,
    },
    /// The bytes did not hash to the chunk's name.
    #[error("chunk {hash} from {from} does not match its hash")]
    Corrupt { hash: ChunkHash, from: String },
}

pub struct FetchJob {
    pub base_url: String,
    pub hash: ChunkHash,
    pub size: u64,
    /// Bytes of this chunk already received (from an earlier, broken transfer).
    pub partial: Vec<u8>,
    /// How many of `partial`'s bytes came from another uploader (a mismatch then blames no one).
    pub inherited: usize,
    pub cancel: Arc<AtomicBool>,
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_recv_response(Some(Duration::from_secs(30)))
        .timeout_per_read(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// Runs `job`; on success returns the verified bytes. On failure the bytes received so far are
/// handed back through `keep` so the next attempt can resume.
pub fn fetch(
    agent: &ureq::Agent,
    token: &Token,
    limiter: &Limiter,
    mut job: FetchJob,
    mut on_progress: impl FnMut(u64),
    keep: &mut Vec<u8>,
) -> Result<Vec<u8>, FetchError> {
    let url = format!("{}/chunk/{}", job.base_url.trim_end_matches('/'), job.hash);
    let fail = |message: String| FetchError::Failed {
        hash: job.hash,
        from: job.base_url.clone(),
        message,
    };
    let mut buf = std::mem::take(&mut job.partial);
    if buf.len() as u64 > job.size {
        buf.clear();
        job.inherited = 0;
    }
    let mut resumes = 0;
    let mut last_report = Instant::now();
    while (buf.len() as u64) < job.size {
        let before = buf.len();
        let mut req = agent
            .get(&url)
            .header("Authorization", token.header_value());
        if before > 0 {
            req = req.header("Range", format!("bytes={before}-"));
        }
        let result = req.call();
        let outcome: Result<(), String> = match result {
            Err(e) => Err(e.to_string()),
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                let expected = if before > 0 { 206 } else { 200 };
                if status != expected {
                    Err(format!("HTTP {status}"))
                } else {
                    let mut reader = resp.body_mut().as_reader();
                    let mut block = vec![0u8; 64 * 1024];
                    loop {
                        if job.cancel.load(Ordering::Relaxed) {
                            *keep = buf;
                            return Err(FetchError::Cancelled);
                        }
                        let want = (job.size - buf.len() as u64).min(block.len() as u64) as usize;
                        if want == 0 {
                            break Ok(());
                        }
                        let wait = limiter.take(want);
                        if !wait.is_zero() {
                            std::thread::sleep(wait);
                        }
                        match reader.read(&mut block[..want]) {
                            Ok(0) => break Err("connection closed early".to_owned()),
                            Ok(n) => buf.extend_from_slice(&block[..n]),
                            Err(e) => break Err(e.to_string()),
                        }
                        if last_report.elapsed() >= PROGRESS_EVERY {
                            last_report = Instant::now();
                            on_progress(buf.len() as u64);
                        }
                    }
                }
            }
        };
        if let Err(message) = outcome {
            let progressed = buf.len() > before;
            if progressed && resumes < RESUMES {
                resumes += 1;
                tracing::debug!(hash = %job.hash, from = %job.base_url, at = buf.len(), %message, "resuming a broken transfer");
                continue;
            }
            *keep = buf;
            return Err(fail(message));
        }
    }
    if ChunkHash::of(&buf) != job.hash {
        if job.inherited > 0 {
            // Part of it came from another uploader: who lied is unknown, so no one is blamed.
            return Err(fail("resumed chunk does not match its hash".to_owned()));
        }
        return Err(FetchError::Corrupt {
            hash: job.hash,
            from: job.base_url,
        });
    }
    Ok(buf)
}
