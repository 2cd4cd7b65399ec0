//! Several tools run as one pipeline, each one's stdout wired straight into the next one's
//! stdin by the kernel (no bytes pass through us, nothing lands on disk between them). They share
//! one process group, so a timeout, a cancel or any failure kills them all at once. A relay may
//! sit between two stages when the bytes must be rewritten on the way (see `elementary`): those
//! bytes pass through this process, in memory.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::error::MediaError;
use crate::process::{GroupKiller, STDERR_TAIL_BYTES, read_tail};

/// One stage of a chain.
pub(crate) struct Stage {
    pub tool: &'static str,
    pub program: PathBuf,
    pub args: Vec<OsString>,
}

/// What a relay does to the bytes: `Some(piece)` as they come, `None` once at their end; what
/// it appends to the buffer goes on to the next stage.
pub(crate) type Transform =
    Box<dyn FnMut(Option<&[u8]>, &mut Vec<u8>) -> Result<(), MediaError> + Send>;

/// Rewrites the output of stage `after` before the next stage reads it.
pub(crate) struct Relay {
    pub after: usize,
    pub transform: Transform,
}

const RELAY_CHUNK: usize = 64 * 1024;

const TICK: Duration = Duration::from_millis(500);

/// Runs `stages` as `a | b | c` until the last one exits; the first reads `first_stdin` (or
/// nothing). `on_tick` gets the first stage's pid every half second (it reads the source: see
/// `input_position`).
pub(crate) async fn run_chain(
    stages: Vec<Stage>,
    relay: Option<Relay>,
    timeout: Duration,
    cancel: Option<&CancellationToken>,
    first_stdin: Option<std::fs::File>,
    on_tick: &mut (dyn FnMut(u32) + Send),
) -> Result<(), MediaError> {
    let relay_after = relay.as_ref().map(|r| r.after);
    let mut relay_ends: (Option<ChildStdout>, Option<ChildStdin>) = (None, None);
    let mut first_stdin = first_stdin.map(Stdio::from);
    let mut children: Vec<(&'static str, Child)> = Vec::with_capacity(stages.len());
    // Kills the chain's process group on every way out.
    let mut guard = GroupKiller { pgid: None };
    let mut previous_out: Option<Stdio> = None;
    let last = stages.len().saturating_sub(1);
    for (i, stage) in stages.into_iter().enumerate() {
        debug!(tool = stage.tool, program = %stage.program.display(), args = ?stage.args, "spawning");
        let mut cmd = Command::new(&stage.program);
        let relayed_in = i > 0 && relay_after == Some(i - 1);
        cmd.args(&stage.args)
            .stdin(if relayed_in {
                Stdio::piped()
            } else {
                previous_out
                    .take()
                    .or_else(|| first_stdin.take())
                    .unwrap_or_else(Stdio::null)
            })
            .stdout(if i == last {
                Stdio::null()
            } else {
                Stdio::piped()
            })
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(guard.pgid.unwrap_or(0));
        // SAFETY: prctl is async-signal-safe and touches only the new child's own attributes.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|source| MediaError::Spawn {
            tool: stage.tool,
            source,
        })?;
        if guard.pgid.is_none() {
            guard.pgid = child.id().and_then(|p| i32::try_from(p).ok());
        }
        if i != last {
            let out = child.stdout.take().ok_or_else(|| {
                MediaError::BadOutput(format!("{} has no output pipe", stage.tool))
            })?;
            if relay_after == Some(i) {
                relay_ends.0 = Some(out);
            } else {
                previous_out = Some(out.try_into().map_err(MediaError::Io)?);
            }
        }
        if relayed_in {
            relay_ends.1 = child.stdin.take();
        }
        children.push((stage.tool, child));
    }
    let first_pid = children.first().and_then(|(_, c)| c.id());

    // Each child: wait for it, keeping its stderr tail.
    let waits = children.into_iter().map(|(tool, mut child)| async move {
        let err = child.stderr.take();
        let tail = async {
            match err {
                Some(e) => read_tail(e, STDERR_TAIL_BYTES).await,
                None => Vec::new(),
            }
        };
        let (status, tail) = tokio::join!(child.wait(), tail);
        (tool, status, tail)
    });
    let relaying = async {
        match (relay, relay_ends) {
            (Some(r), (Some(from), Some(to))) => Some(run_relay(r.transform, from, to).await),
            _ => None,
        }
    };
    // Polled together: a stage that fills its stderr must not wait for an earlier one to end.
    let all = async { tokio::join!(futures_util::future::join_all(waits), relaying) };
    let ticks = async {
        match first_pid {
            Some(pid) => loop {
                tokio::time::sleep(TICK).await;
                on_tick(pid);
            },
            None => std::future::pending().await,
        }
    };
    let cancelled = async {
        match cancel {
            Some(token) => token.cancelled().await,
            None => std::future::pending().await,
        }
    };
    let (results, relayed) = tokio::select! {
        r = all => r,
        () = tokio::time::sleep(timeout) => {
            drop(guard);
            warn!(?timeout, "tool chain timed out; process group killed");
            return Err(MediaError::Timeout { tool: "encoder chain", after: timeout });
        }
        () = cancelled => {
            drop(guard);
            return Err(MediaError::Cancelled);
        }
        never = ticks => never,
    };
    drop(guard);
    // A stream the relay could not read is the cause; an I/O error there (a stage after it
    // ended early) is not.
    if let Some(Err(e)) = &relayed
        && !matches!(e, MediaError::Io(_))
    {
        return relayed.unwrap_or(Ok(()));
    }
    // The first stage that failed explains the chain's failure (a later one usually only
    // saw its input end early).
    for (tool, status, tail) in results {
        let status: ExitStatus = status?;
        if !status.success() {
            return Err(MediaError::Failed {
                tool,
                status: status.to_string(),
                stderr_tail: String::from_utf8_lossy(&tail).into_owned(),
            });
        }
    }
    relayed.unwrap_or(Ok(()))
}

/// Reads one stage's output, rewrites it and writes it to the next stage's input. Returning
/// (even early, on an error) closes both pipes, so neither side waits for it.
async fn run_relay(
    mut transform: Transform,
    mut from: ChildStdout,
    mut to: ChildStdin,
) -> Result<(), MediaError> {
    let mut buf = vec![0u8; RELAY_CHUNK];
    let mut out = Vec::new();
    loop {
        let n = from.read(&mut buf).await?;
        out.clear();
        transform((n > 0).then(|| &buf[..n]), &mut out)?;
        to.write_all(&out).await?;
        if n == 0 {
            break;
        }
    }
    to.shutdown().await?;
    Ok(())
}
