//! Running one external tool as a contained child: own process group, bounded output, a timeout,
//! cancellation, and the whole group killed on every way out.

use std::ffi::OsString;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::error::MediaError;

/// How much stderr we keep: enough for ffmpeg's final error lines, bounded whatever the child does.
pub(crate) const STDERR_TAIL_BYTES: usize = 16 * 1024;
/// Longest stdout line handed to the callback; the rest of an overlong line is dropped.
const MAX_LINE_BYTES: usize = 64 * 1024;
/// After a kill, how long we wait for the kernel to let us reap the child.
const REAP_GRACE: Duration = Duration::from_secs(5);

/// Kills a whole process group when dropped, so grandchildren (a wrapper script's `sleep`, a
/// helper ffmpeg spawned) cannot outlive the job.
pub(crate) struct GroupKiller {
    pub(crate) pgid: Option<i32>,
}

impl GroupKiller {
    pub(crate) fn kill(&mut self) {
        if let Some(pgid) = self.pgid.take()
            && pgid > 0
        {
            // SAFETY: kill(2) has no memory-safety preconditions; a negative pid targets the
            // group we created with process_group(0), whose id is the child's pid.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
    }
}

impl Drop for GroupKiller {
    fn drop(&mut self) {
        self.kill();
    }
}

/// How often a running child is looked at (see `on_tick`).
const TICK: Duration = Duration::from_millis(500);

/// Run `program args...` to completion. Each stdout line goes to `on_stdout_line`; stderr is
/// kept as a bounded tail for error reports. A non-zero exit becomes [`MediaError::Failed`].
///
/// Once the direct child exits, its group is killed too, so leftovers holding our pipes cannot
/// stall us. Returns the stderr tail on success (useful for warnings).
pub(crate) async fn run_child(
    tool: &'static str,
    program: &Path,
    args: &[OsString],
    timeout: Duration,
    cancel: Option<&CancellationToken>,
    on_stdout_line: &mut (dyn FnMut(&[u8]) + Send),
    mut on_tick: Option<&mut (dyn FnMut(u32) + Send)>,
) -> Result<String, MediaError> {
    debug!(%tool, program = %program.display(), ?args, "spawning");
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    // If the server itself is killed (kill -9, OOM), nothing runs our drop handlers: ask the
    // kernel to kill the tool with its parent, so no orphaned encode keeps burning CPU.
    // SAFETY: prctl is async-signal-safe and touches only the new child's own attributes.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|source| MediaError::Spawn { tool, source })?;
    let mut killer = GroupKiller {
        pgid: child.id().and_then(|p| i32::try_from(p).ok()),
    };
    let pid = child.id();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();

    enum Outcome {
        Done(std::io::Result<ExitStatus>, Vec<u8>),
        TimedOut,
        Cancelled,
    }

    let outcome = {
        let work = async {
            let wait = async {
                let status = child.wait().await;
                killer.kill();
                status
            };
            let out = async {
                if let Some(out) = stdout {
                    read_lines(out, on_stdout_line).await;
                }
            };
            let err = async {
                match stderr {
                    Some(err) => read_tail(err, STDERR_TAIL_BYTES).await,
                    None => Vec::new(),
                }
            };
            let joined = async { tokio::join!(wait, out, err) };
            // While the child runs, `on_tick` gets its pid every TICK (to look at it from
            // outside, as /proc allows).
            let ticks = async {
                match (on_tick.as_mut(), pid) {
                    (Some(tick), Some(pid)) => loop {
                        tokio::time::sleep(TICK).await;
                        tick(pid);
                    },
                    _ => std::future::pending().await,
                }
            };
            // `ticks` never finishes: the child's end decides.
            let (status, (), tail) = tokio::select! {
                r = joined => r,
                never = ticks => never,
            };
            (status, tail)
        };
        let cancelled = async {
            match cancel {
                Some(token) => token.cancelled().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            (status, tail) = work => Outcome::Done(status, tail),
            () = tokio::time::sleep(timeout) => Outcome::TimedOut,
            () = cancelled => Outcome::Cancelled,
        }
    };

    match outcome {
        Outcome::Done(status, tail) => {
            let status = status?;
            let stderr_tail = String::from_utf8_lossy(&tail).into_owned();
            if status.success() {
                Ok(stderr_tail)
            } else {
                debug!(%tool, %status, stderr = %stderr_tail, "tool failed");
                Err(MediaError::Failed {
                    tool,
                    status: status.to_string(),
                    stderr_tail,
                })
            }
        }
        Outcome::TimedOut | Outcome::Cancelled => {
            killer.kill();
            if tokio::time::timeout(REAP_GRACE, child.wait())
                .await
                .is_err()
            {
                warn!(%tool, "child not reaped after SIGKILL");
            }
            if matches!(outcome, Outcome::TimedOut) {
                warn!(%tool, ?timeout, "tool timed out; process group killed");
                Err(MediaError::Timeout {
                    tool,
                    after: timeout,
                })
            } else {
                debug!(%tool, "tool cancelled; process group killed");
                Err(MediaError::Cancelled)
            }
        }
    }
}

/// Split a stream into lines (without `\r\n`), bounding each line's memory.
async fn read_lines<R: AsyncRead + Unpin>(mut reader: R, on_line: &mut (dyn FnMut(&[u8]) + Send)) {
    let mut buf = vec![0u8; 8192];
    let mut line: Vec<u8> = Vec::with_capacity(256);
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &b in &buf[..n] {
            if b == b'\n' {
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                on_line(&line);
                line.clear();
            } else if line.len() < MAX_LINE_BYTES {
                line.push(b);
            }
        }
    }
    if !line.is_empty() {
        on_line(&line);
    }
}

/// Keep only the last `cap` bytes of a stream.
pub(crate) async fn read_tail<R: AsyncRead + Unpin>(mut reader: R, cap: usize) -> Vec<u8> {
    let mut tail = Vec::with_capacity(cap);
    let mut buf = vec![0u8; 8192];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                tail.extend_from_slice(&buf[..n]);
                if tail.len() > cap * 2 {
                    let excess = tail.len() - cap;
                    tail.drain(..excess);
                }
            }
        }
    }
    if tail.len() > cap {
        let excess = tail.len() - cap;
        tail.drain(..excess);
    }
    tail
}
