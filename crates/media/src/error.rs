//! Typed failures of media work, with a retry hint and a sentence for people.

use std::io;
use std::time::Duration;

/// Everything that can go wrong while probing or converting a file.
///
/// The job queue uses [`MediaError::is_permanent`] to decide whether to retry, and the UI shows
/// [`MediaError::user_message`] instead of raw tool output.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("could not start {tool}: {source}")]
    Spawn {
        tool: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("{tool} did not finish within {after:?}")]
    Timeout { tool: &'static str, after: Duration },
    #[error("cancelled")]
    Cancelled,
    /// The tool ran and exited unsuccessfully; `stderr_tail` holds the last ~16 KiB it printed.
    #[error("{tool} failed ({status}): {}", excerpt(.stderr_tail))]
    Failed {
        tool: &'static str,
        status: String,
        stderr_tail: String,
    },
    /// The tool succeeded but what it produced makes no sense (unparseable JSON, missing output).
    #[error("unexpected tool output: {0}")]
    BadOutput(String),
    /// ffprobe read the file but it is not audio/video we handle (empty, text, playlist...).
    #[error("not a media file: {0}")]
    NotMedia(String),
    /// An external encoder's H.264/HEVC stream could not be given timestamps.
    #[error(transparent)]
    Stream(#[from] crate::elementary::StreamError),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Stderr phrases that mean the input itself is bad, so the same run will fail again.
const PERMANENT_MARKERS: &[&str] = &[
    "invalid data found",
    "moov atom not found",
    "could not find codec parameters",
    "does not contain any stream",
    "unsupported codec",
    "decoder not found",
    "no decoder",
    "invalid argument",
    "error while decoding",
    "error opening input",
    "no such file or directory",
    "invalid nal unit",
    "corrupt",
    "unknown format",
];

/// Stderr phrases that point at the machine rather than the file.
const TRANSIENT_MARKERS: &[&str] = &[
    "cannot allocate memory",
    "no space left on device",
    "resource temporarily unavailable",
    "too many open files",
    "input/output error",
];

impl MediaError {
    /// True when retrying the same job cannot help (the file is bad or not media).
    ///
    /// Timeouts, spawn and I/O errors, cancellation and crashes by signal stay retryable: they
    /// depend on load, disk and deployment, not only on the file.
    pub fn is_permanent(&self) -> bool {
        match self {
            MediaError::Spawn { .. }
            | MediaError::Timeout { .. }
            | MediaError::Cancelled
            | MediaError::Io(_) => false,
            MediaError::BadOutput(_) | MediaError::NotMedia(_) | MediaError::Stream(_) => true,
            MediaError::Failed {
                tool,
                status,
                stderr_tail,
            } => {
                let lower = stderr_tail.to_ascii_lowercase();
                if status.contains("signal") || TRANSIENT_MARKERS.iter().any(|m| lower.contains(m))
                {
                    return false;
                }
                // ffprobe only reads the file, so any clean failure is about the file.
                *tool == "ffprobe" || PERMANENT_MARKERS.iter().any(|m| lower.contains(m))
            }
        }
    }

    /// A plain sentence for the person who uploaded the file, plus a short tool excerpt.
    pub fn user_message(&self) -> String {
        match self {
            MediaError::Spawn { tool, .. } => {
                format!(
                    "The server could not start its video tool ({tool}). Please tell an administrator."
                )
            }
            MediaError::Timeout { after, .. } => format!(
                "Processing took longer than the allowed {} seconds and was stopped.",
                after.as_secs()
            ),
            MediaError::Cancelled => "Processing was cancelled.".to_string(),
            MediaError::Failed {
                tool, stderr_tail, ..
            } => {
                let what = if *tool == "ffprobe" {
                    "This file could not be read as a video"
                } else {
                    "The video could not be converted"
                };
                let detail = excerpt(stderr_tail);
                if detail.is_empty() {
                    format!("{what}.")
                } else {
                    format!("{what}: {detail}")
                }
            }
            MediaError::BadOutput(detail) => {
                format!("The video tools produced an unexpected result: {detail}")
            }
            MediaError::NotMedia(detail) => {
                format!("This file is not a video or audio file we can read ({detail}).")
            }
            MediaError::Stream(e) => format!("The video could not be converted: {e}."),
            MediaError::Io(e) => format!("A file could not be read or written on the server: {e}"),
        }
    }
}

/// Causes worth naming in words, matched in the tool's output.
const KNOWN_CAUSES: &[(&str, &str)] = &[
    (
        "moov atom not found",
        "it has no QuickTime/MP4 index (moov): the copy was cut off, or it is not a video at all",
    ),
    ("end of file", "the file ends earlier than it says"),
];

/// The last few meaningful stderr lines (the generic last line alone often hides the cause),
/// without ffmpeg's `[demuxer @ 0x...]` noise or server paths, short enough for a UI. A known
/// cause is put first, in words.
pub(crate) fn excerpt(stderr: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for raw in stderr
        .lines()
        .rev()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        let line = clean_line(raw);
        if !line.is_empty() && !lines.contains(&line) {
            lines.push(line);
        }
        if lines.len() == 3 {
            break;
        }
    }
    lines.reverse();
    let lower = stderr.to_ascii_lowercase();
    if let Some((_, words)) = KNOWN_CAUSES.iter().find(|(m, _)| lower.contains(m)) {
        lines.insert(0, (*words).to_string());
    }
    let text = lines.join("; ");
    let mut out: String = text.chars().take(300).collect();
    if text.chars().count() > 300 {
        out.push('…');
    }
    out
}

fn clean_line(line: &str) -> String {
    let mut text = line;
    if text.starts_with('[')
        && let Some(end) = text.find("] ")
    {
        text = &text[end + 2..];
    }
    // "file:/srv/dailies/x.mp4: Invalid data..." -> "Invalid data..." (do not leak paths).
    if let Some(pos) = text.rfind(": ")
        && text[..pos].contains('/')
    {
        text = &text[pos + 2..];
    }
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_strips_noise_and_paths() {
        let s = "[mov,mp4 @ 0x55] moov atom not found\nfile:/srv/in/x.mp4: Invalid data found when processing input\n";
        assert_eq!(
            excerpt(s),
            "it has no QuickTime/MP4 index (moov): the copy was cut off, or it is not a video at all; \
             moov atom not found; Invalid data found when processing input"
        );
        assert_eq!(excerpt("a\nb\nc\nd\nd\n"), "b; c; d");
        assert_eq!(excerpt(""), "");
    }

    #[test]
    fn permanence() {
        let failed = |tool, stderr: &str| MediaError::Failed {
            tool,
            status: "exit status: 1".into(),
            stderr_tail: stderr.into(),
        };
        assert!(failed("ffprobe", "x: Invalid data found when processing input").is_permanent());
        assert!(!failed("ffprobe", "Cannot allocate memory").is_permanent());
        assert!(!failed("ffmpeg", "something odd").is_permanent());
        assert!(failed("ffmpeg", "Error while decoding stream #0:0").is_permanent());
        assert!(!MediaError::Cancelled.is_permanent());
        assert!(
            !MediaError::Timeout {
                tool: "ffmpeg",
                after: Duration::from_secs(1)
            }
            .is_permanent()
        );
        let msg =
            failed("ffprobe", "/a/b: Invalid data found when processing input").user_message();
        assert!(
            msg.starts_with("This file could not be read as a video"),
            "{msg}"
        );
        assert!(!msg.contains("/a/b"));
    }
}
