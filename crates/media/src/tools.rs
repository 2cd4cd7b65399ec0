//! Where the external tools live and how many threads each job may use.

use std::path::PathBuf;

/// Paths to ffmpeg/ffprobe plus the per-job thread budget.
///
/// Kept as plain data so the server can build it from its config and share it across jobs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tools {
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
    /// ffmpeg `-threads` per job; 0 lets ffmpeg choose (usually one per core).
    pub threads: usize,
}

impl Tools {
    pub fn new(ffmpeg: impl Into<PathBuf>, ffprobe: impl Into<PathBuf>, threads: usize) -> Self {
        Tools {
            ffmpeg: ffmpeg.into(),
            ffprobe: ffprobe.into(),
            threads,
        }
    }
}

impl Default for Tools {
    /// Resolve both tools through `PATH`, which is what a Debian package install gives.
    fn default() -> Self {
        Tools::new("ffmpeg", "ffprobe", 0)
    }
}
