//! The one way the crate runs ffmpeg: safe defaults added here, never left to callers.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::error::MediaError;
use crate::input_position::InputPosition;
use crate::process::run_child;
use crate::progress::{Progress, ProgressParser};
use crate::tools::Tools;

/// Limits for one tool run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Wall-clock limit; the process group is killed when it passes.
    pub timeout: Duration,
    /// Cancelling kills the process group and yields [`MediaError::Cancelled`].
    pub cancel: Option<CancellationToken>,
}

impl RunOptions {
    pub fn new(timeout: Duration) -> Self {
        RunOptions {
            timeout,
            cancel: None,
        }
    }

    pub fn with_cancel(mut self, token: CancellationToken) -> Self {
        self.cancel = Some(token);
        self
    }
}

/// Run ffmpeg with `args`, reporting progress.
///
/// Prepended here: `-nostdin -hide_banner -nostats -loglevel warning -progress pipe:1 -y`, and when
/// `tools.threads > 0`, `-filter_complex_threads N -threads N` (the latter applies to the first
/// input's decoder; put `-threads N` after an output's codec options for the encoder). Every `-i`
/// that is not already preceded by its own `-protocol_whitelist` gets `-protocol_whitelist file`,
/// so a crafted playlist or reference cannot reach the network. Pass paths through
/// [`crate::ffmpeg_path_arg`].
pub async fn run_ffmpeg(
    tools: &Tools,
    args: &[OsString],
    opts: &RunOptions,
    total_duration_s: Option<f64>,
    on_progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<(), MediaError> {
    let full = ffmpeg_args(tools, args);
    // ffmpeg's own reports, and until they start, how far it has read its first input file.
    let input = first_input_file(&full).and_then(|p| InputPosition::new(&p, total_duration_s));
    let reporter = std::sync::Mutex::new(Reporter {
        parser: ProgressParser::new(total_duration_s),
        input,
        reported: false,
        on_progress,
    });
    let lock = || reporter.lock().unwrap_or_else(|p| p.into_inner());
    let mut on_line = |line: &[u8]| {
        let mut r = lock();
        if let Ok(text) = std::str::from_utf8(line)
            && let Some(p) = r.parser.feed_line(text)
        {
            r.reported = true;
            (r.on_progress)(p);
        }
    };
    let mut on_tick = |pid: u32| {
        let mut r = lock();
        if !r.reported
            && let Some(p) = r.input.as_mut().and_then(|i| i.sample(pid))
        {
            (r.on_progress)(p);
        }
    };
    let span = tracing::info_span!("ffmpeg", timeout_s = opts.timeout.as_secs());
    run_child(
        "ffmpeg",
        &tools.ffmpeg,
        &full,
        opts.timeout,
        opts.cancel.as_ref(),
        &mut on_line,
        Some(&mut on_tick),
    )
    .instrument(span)
    .await
    .map(|_| ())
}

struct Reporter<'a> {
    parser: ProgressParser,
    input: Option<InputPosition>,
    /// ffmpeg has reported at least once: its numbers are the better ones from then on.
    reported: bool,
    on_progress: &'a mut (dyn FnMut(Progress) + Send),
}

/// The file behind the first `-i` (`file:` prefixed or plain).
fn first_input_file(args: &[OsString]) -> Option<PathBuf> {
    let i = args.iter().position(|a| a == "-i")?;
    let arg = args.get(i + 1)?.to_str()?;
    let path = arg.strip_prefix("file:").unwrap_or(arg);
    Path::new(path).is_absolute().then(|| PathBuf::from(path))
}

/// Run ffprobe with `args` and collect its stdout (bounded to `max_stdout` bytes).
pub(crate) async fn run_ffprobe(
    tools: &Tools,
    args: &[OsString],
    opts: &RunOptions,
    max_stdout: usize,
) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::new();
    let mut overflow = false;
    let mut on_line = |line: &[u8]| {
        if out.len() + line.len() + 1 > max_stdout {
            overflow = true;
            return;
        }
        out.extend_from_slice(line);
        out.push(b'\n');
    };
    run_child(
        "ffprobe",
        &tools.ffprobe,
        args,
        opts.timeout,
        opts.cancel.as_ref(),
        &mut on_line,
        None,
    )
    .await?;
    if overflow {
        return Err(MediaError::BadOutput(format!(
            "ffprobe printed more than {max_stdout} bytes"
        )));
    }
    Ok(out)
}

fn ffmpeg_args(tools: &Tools, args: &[OsString]) -> Vec<OsString> {
    let mut full: Vec<OsString> = [
        "-nostdin",
        "-hide_banner",
        "-nostats",
        "-loglevel",
        "warning",
        "-progress",
        "pipe:1",
        "-y",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    if tools.threads > 0 {
        let n = OsString::from(tools.threads.to_string());
        full.extend([
            "-filter_complex_threads".into(),
            n.clone(),
            "-threads".into(),
            n,
        ]);
    }
    let mut whitelisted = false;
    for arg in args {
        if arg == OsStr::new("-protocol_whitelist") {
            whitelisted = true;
        } else if arg == OsStr::new("-i") {
            if !whitelisted {
                full.extend(["-protocol_whitelist".into(), "file".into()]);
            }
            whitelisted = false;
        }
        full.push(arg.clone());
    }
    full
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn whitelist_inserted_once_per_input() {
        let tools = Tools::new("ffmpeg", "ffprobe", 2);
        let full = ffmpeg_args(
            &tools,
            &os(&[
                "-i",
                "file:a",
                "-protocol_whitelist",
                "file,pipe",
                "-i",
                "pipe:0",
                "out",
            ]),
        );
        let text: Vec<String> = full.iter().map(|a| a.to_string_lossy().into()).collect();
        let joined = text.join(" ");
        assert!(joined.starts_with("-nostdin -hide_banner -nostats"));
        assert!(joined.contains("-threads 2"));
        assert!(joined.ends_with(
            "-protocol_whitelist file -i file:a -protocol_whitelist file,pipe -i pipe:0 out"
        ));
    }
}
