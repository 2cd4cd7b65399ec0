//! Where things live inside the data directory.
//!
//! ```text
//! data/
//!   dailies.db      SQLite (default database)
//!   incoming/       drop folder: incoming/<user>/clip.mov is owned by <user>
//!   uploads/        partial resumable uploads
//!   media/<id>/     one folder per video: original, playable rendition, poster, sprite,
//!                   comments/ (drawings)
//!   rejected/       files that could not be ingested, each with NAME.reason.txt beside it
//!   trash/          deleted videos until they are purged
//!   swarm-hashes.json  chunk hashes of media/ when it is served as a swarm master
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::ids;

#[derive(Clone, Debug)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Layout { root: root.into() }
    }

    /// Creates every folder the server writes to.
    pub fn create_all(&self) -> Result<()> {
        for dir in [
            self.root.clone(),
            self.incoming(),
            self.uploads(),
            self.media(),
            self.rejected(),
            self.trash(),
        ] {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create folder {}", dir.display()))?;
        }
        Ok(())
    }

    pub fn default_sqlite_url(&self) -> String {
        format!(
            "sqlite://{}?mode=rwc",
            self.root.join("dailies.db").display()
        )
    }
    pub fn incoming(&self) -> PathBuf {
        self.root.join("incoming")
    }
    pub fn uploads(&self) -> PathBuf {
        self.root.join("uploads")
    }
    pub fn media(&self) -> PathBuf {
        self.root.join("media")
    }
    pub fn rejected(&self) -> PathBuf {
        self.root.join("rejected")
    }
    pub fn trash(&self) -> PathBuf {
        self.root.join("trash")
    }
    /// The swarm master's chunk hashes, kept between runs (beside `media/`, which it serves).
    pub fn swarm_hash_cache(&self) -> PathBuf {
        self.root.join("swarm-hashes.json")
    }

    /// The folder of one video. Only ids we generated are accepted, so a request can never
    /// steer this outside `media/`.
    pub fn video_dir(&self, id: &str) -> Option<PathBuf> {
        ids::is_valid_id(id).then(|| self.media().join(id))
    }

    /// A file inside a video's folder, by a name the server itself recorded.
    pub fn video_file(&self, id: &str, name: &str) -> Option<PathBuf> {
        let safe = !name.is_empty()
            && !name.starts_with('.')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !safe {
            return None;
        }
        self.video_dir(id).map(|d| d.join(name))
    }

    /// An encode's result, `media/<video>/encodes/<name>`, with `name` checked like any file
    /// name of a video.
    pub fn encode_file(&self, video_id: &str, name: &str) -> Option<PathBuf> {
        let beside = self.video_file(video_id, name)?;
        Some(beside.with_file_name("encodes").join(name))
    }

    /// A rendition's stored torrent, `media/<video>/torrents/<rendition>.torrent`.
    pub fn torrent_file(
        &self,
        video_id: &str,
        rendition: &crate::torrents::Rendition,
    ) -> Option<PathBuf> {
        self.video_dir(video_id).map(|d| {
            d.join("torrents")
                .join(format!("{}.torrent", rendition.key()))
        })
    }

    /// The images of a thumbnail request, `media/<video>/thumbnails/<set>/`.
    pub fn thumbnail_dir(&self, video_id: &str, set_id: &str) -> Option<PathBuf> {
        if !crate::ids::is_valid_id(set_id) {
            return None;
        }
        self.video_dir(video_id)
            .map(|d| d.join("thumbnails").join(set_id))
    }

    /// The drawings of a video's comments, `media/<video>/comments/`.
    pub fn comment_drawings_dir(&self, video_id: &str) -> Option<PathBuf> {
        self.video_dir(video_id).map(|d| d.join("comments"))
    }

    /// One comment drawing, by the name the server gave it (checked like any file name of a
    /// video).
    pub fn comment_drawing(&self, video_id: &str, name: &str) -> Option<PathBuf> {
        let beside = self.video_file(video_id, name)?;
        Some(beside.with_file_name("comments").join(name))
    }

    pub fn trash_dir(&self, id: &str) -> Option<PathBuf> {
        ids::is_valid_id(id).then(|| self.trash().join(id))
    }
}

/// The extension we keep for an original: lower-case ASCII letters and digits, at most 8.
pub fn safe_extension(file_name: &str) -> String {
    Path::new(file_name)
        .extension()
        .and_then(|e| e.to_str())
        .filter(|e| !e.is_empty() && e.len() <= 8 && e.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_else(|| "bin".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside() {
        let l = Layout::new("/data");
        assert!(l.video_dir("../../etc").is_none());
        let id = ids::new_id();
        assert!(l.video_file(&id, "../x").is_none());
        assert!(l.video_file(&id, "a/b").is_none());
        assert!(l.video_file(&id, "poster.jpg").is_some());
    }

    #[test]
    fn extensions() {
        assert_eq!(safe_extension("clip.MOV"), "mov");
        assert_eq!(safe_extension("noext"), "bin");
        assert_eq!(safe_extension("evil.m/v"), "bin");
        assert_eq!(safe_extension("a.toolongextension"), "bin");
    }
}
