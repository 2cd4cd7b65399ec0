//! Which files of a video can be shared as torrents, where they are on disk, and the name a
//! BitTorrent client saves each under.

use std::path::PathBuf;

use anyhow::Result;

use crate::app::App;
use crate::db::encodes::{self, state as encode_state};
use crate::db::videos::{self, Video};
use crate::ids;

/// One shareable file of a video. Its key (`playable`, `original`, `encode-<id>`) is what URLs
/// and the `torrents` table name it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rendition {
    /// The file the player streams.
    Playable,
    /// The file as it was uploaded: only when the owner allows downloads.
    Original,
    /// A finished encode request.
    Encode(String),
}

impl Rendition {
    /// Reads a key from a URL; anything but the three shapes is `None`.
    pub fn parse(key: &str) -> Option<Rendition> {
        match key {
            "playable" => Some(Rendition::Playable),
            "original" => Some(Rendition::Original),
            _ => key
                .strip_prefix("encode-")
                .filter(|id| ids::is_valid_id(id))
                .map(|id| Rendition::Encode(id.to_owned())),
        }
    }

    pub fn key(&self) -> String {
        match self {
            Rendition::Playable => "playable".into(),
            Rendition::Original => "original".into(),
            Rendition::Encode(id) => format!("encode-{id}"),
        }
    }
}

/// A rendition that can be shared now: its file and the name clients save it under.
#[derive(Debug, Clone)]
pub struct Shareable {
    pub rendition: Rendition,
    pub path: PathBuf,
    pub name: String,
}

/// Every rendition of `video` that may be shared now (none while it is not ready).
pub async fn shareable(app: &App, video: &Video) -> Result<Vec<Shareable>> {
    if video.deleted_at.is_some() || video.status != videos::status::READY {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    if let Some(file) = &video.playable_file
        && let Some(path) = app.layout.video_file(&video.id, file)
    {
        out.push(Shareable {
            rendition: Rendition::Playable,
            path,
            name: save_name(&video.title, extension(file)),
        });
    }
    if video.allow_downloads
        && let Some(path) = video
            .original_file
            .as_deref()
            .and_then(|f| app.layout.video_file(&video.id, f))
    {
        out.push(Shareable {
            rendition: Rendition::Original,
            path,
            name: save_name(&video.original_filename, None),
        });
    }
    for e in encodes::for_video(&app.db, &video.id).await? {
        let Some(file) = e.output_file.as_deref() else {
            continue;
        };
        if e.state != encode_state::READY {
            continue;
        }
        if let Some(path) = app.layout.encode_file(&video.id, file) {
            out.push(Shareable {
                rendition: Rendition::Encode(e.id.clone()),
                path,
                name: save_name(&format!("{} ({})", video.title, e.id), extension(file)),
            });
        }
    }
    Ok(out)
}

/// The rendition if it may be shared now.
pub async fn find(app: &App, video: &Video, rendition: &Rendition) -> Result<Option<Shareable>> {
    Ok(shareable(app, video)
        .await?
        .into_iter()
        .find(|s| &s.rendition == rendition))
}

fn extension(file: &str) -> Option<&str> {
    file.rsplit_once('.').map(|(_, ext)| ext)
}

/// A file name every client and file system accepts, from a title people typed: separators,
/// control and reserved characters become `_`, leading and trailing dots and spaces go, and it
/// stays under 200 bytes. `extension` is appended unless the name already ends with it.
pub fn save_name(title: &str, extension: Option<&str>) -> String {
    let cleaned: String = title
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let mut stem = cleaned.trim_matches(|c: char| c == '.' || c.is_whitespace());
    let suffix = extension
        .filter(|ext| !ext.is_empty() && ext.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(|ext| format!(".{ext}"));
    // Lower-casing ASCII keeps byte offsets, and the suffix is ASCII: the cut is on a boundary.
    if let Some(s) = &suffix
        && stem.to_ascii_lowercase().ends_with(&s.to_ascii_lowercase())
    {
        stem = &stem[..stem.len() - s.len()];
    }
    let mut stem = stem.to_owned();
    while stem.len() > 200 {
        stem.pop();
    }
    if stem.trim().is_empty() {
        stem = "video".into();
    }
    format!("{stem}{}", suffix.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_strangers_are_refused() {
        for r in [
            Rendition::Playable,
            Rendition::Original,
            Rendition::Encode("0123456789abcdef".into()),
        ] {
            assert_eq!(Rendition::parse(&r.key()), Some(r));
        }
        for bad in [
            "",
            "encode-",
            "encode-../x",
            "encode-0123456789ABCDEF",
            "Playable",
        ] {
            assert_eq!(Rendition::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn save_names_are_safe_file_names() {
        assert_eq!(save_name("Day 1: take 3", Some("mp4")), "Day 1_ take 3.mp4");
        assert_eq!(
            save_name("../../etc/passwd", Some("mp4")),
            "_.._etc_passwd.mp4"
        );
        assert_eq!(save_name("clip.MOV", None), "clip.MOV");
        assert_eq!(save_name("clip.mp4", Some("mp4")), "clip.mp4");
        assert_eq!(save_name("  ..  ", Some("mp4")), "video.mp4");
        assert_eq!(save_name("a\u{0}b\nc", Some("mkv")), "a_b_c.mkv");
        assert_eq!(save_name("x", Some("m p4")), "x");
        let long = save_name(&"é".repeat(300), Some("mp4"));
        assert!(long.len() <= 204 && long.ends_with(".mp4"));
    }
}
