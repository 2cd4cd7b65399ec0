//! ffprobe a file into [`MediaInfo`].

use std::ffi::OsString;
use std::time::Duration;

use tracing::{Instrument, info_span};

use crate::command::{RunOptions, run_ffprobe};
use crate::error::MediaError;
use crate::info::MediaInfo;
use crate::source::Source;
use crate::tools::Tools;

/// ffprobe's JSON for even a many-stream file is a few KiB; anything near this is hostile.
const MAX_PROBE_JSON: usize = 8 * 1024 * 1024;

/// Demuxers that "succeed" on things that are not footage: text shown as ANSI art, playlists and
/// concat lists that would make ffmpeg open other local files, metadata-only files.
const NOT_FOOTAGE_FORMATS: &[&str] = &["tty", "hls", "concat", "ffmetadata", "dash", "webvtt"];

/// Probe `path` (a local file only: `-protocol_whitelist file`, `file:` prefix).
///
/// Empty files and non-media documents give [`MediaError::NotMedia`]; ffprobe's own refusal gives
/// [`MediaError::Failed`] with `tool == "ffprobe"`; both are permanent.
pub async fn probe(
    tools: &Tools,
    source: &Source,
    timeout: Duration,
) -> Result<MediaInfo, MediaError> {
    let path = source.path();
    let span = info_span!("probe", path = %path.display());
    async move {
        let meta = tokio::fs::metadata(path).await?;
        if !meta.is_file() {
            return Err(MediaError::NotMedia("not a regular file".into()));
        }
        if meta.len() == 0 {
            return Err(MediaError::NotMedia("the file is empty".into()));
        }
        if let Some(raw) = source.raw_format() {
            raw.frames_in(meta.len())
                .map_err(|e| MediaError::NotMedia(e.to_string()))?;
        }
        let mut args: Vec<OsString> = vec![
            "-v".into(),
            "error".into(),
            "-hide_banner".into(),
            "-protocol_whitelist".into(),
            "file".into(),
            "-show_format".into(),
            "-show_streams".into(),
            "-of".into(),
            "json".into(),
        ];
        args.extend(source.probe_args());
        let json = run_ffprobe(tools, &args, &RunOptions::new(timeout), MAX_PROBE_JSON).await?;
        let info = MediaInfo::from_ffprobe_json(&json)?;
        check_is_media(&info)?;
        tracing::debug!(format = %info.format_name, streams = info.streams.len(), "probed");
        Ok(info)
    }
    .instrument(span)
    .await
}

fn check_is_media(info: &MediaInfo) -> Result<(), MediaError> {
    if info.format_name.is_empty() {
        return Err(MediaError::NotMedia("no recognisable container".into()));
    }
    if let Some(bad) = NOT_FOOTAGE_FORMATS.iter().find(|f| info.format_is(f)) {
        return Err(MediaError::NotMedia(format!(
            "a {bad} document, not footage"
        )));
    }
    if info.streams.is_empty() {
        return Err(MediaError::NotMedia("no audio or video streams".into()));
    }
    Ok(())
}
