//! Progress from how far ffmpeg has read its input file, read from `/proc/<pid>/fdinfo`.
//!
//! ffmpeg prints no progress at all until every output has written its header, and a sprite
//! sheet output writes its header only when its tile is full, at the end of the source. For that
//! stretch, the share of the input read is a fair measure of the work done (the same trick `pv -d`
//! uses). ffmpeg's own reports take over as soon as they come.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::progress::Progress;

/// Never claim to be done from the read position alone: the outputs still have to be finished.
const MAX_FRACTION: f64 = 0.99;

pub struct InputPosition {
    path: PathBuf,
    size: u64,
    duration_s: Option<f64>,
    fd: Option<String>,
    start: Option<(Instant, f64)>,
}

impl InputPosition {
    /// For the regular file `input` (`None` when it is not one, or is empty).
    pub fn new(input: &Path, duration_s: Option<f64>) -> Option<Self> {
        let path = std::fs::canonicalize(input).ok()?;
        let meta = std::fs::metadata(&path).ok()?;
        (meta.is_file() && meta.len() > 0).then_some(InputPosition {
            path,
            size: meta.len(),
            duration_s: duration_s.filter(|d| d.is_finite() && *d > 0.0),
            fd: None,
            start: None,
        })
    }

    /// Where process `pid` is in the input, as a [`Progress`]; `None` when it cannot be told.
    pub fn sample(&mut self, pid: u32) -> Option<Progress> {
        let pos = self.read_position(pid)?;
        let fraction = (pos as f64 / self.size as f64).clamp(0.0, MAX_FRACTION);
        let now = Instant::now();
        let (t0, f0) = *self.start.get_or_insert((now, fraction));
        let elapsed = now.duration_since(t0).as_secs_f64();
        let rate = (elapsed > 0.5 && fraction > f0).then(|| (fraction - f0) / elapsed);
        Some(Progress {
            out_time_s: self.duration_s.map_or(0.0, |d| d * fraction),
            fraction: Some(fraction),
            speed: rate.zip(self.duration_s).map(|(r, d)| r * d),
            eta: rate.and_then(|r| Duration::try_from_secs_f64((1.0 - fraction) / r).ok()),
            done: false,
        })
    }

    fn read_position(&mut self, pid: u32) -> Option<u64> {
        if self.fd.is_none() {
            self.fd = find_fd(pid, &self.path);
        }
        let fd = self.fd.as_ref()?;
        let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
        info.lines()
            .find_map(|l| l.strip_prefix("pos:"))
            .and_then(|v| v.trim().parse().ok())
    }
}

/// The descriptor through which `pid` has `path` open.
fn find_fd(pid: u32, path: &Path) -> Option<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .flatten()
        .find(|e| std::fs::read_link(e.path()).is_ok_and(|target| target == path))
        .and_then(|e| e.file_name().into_string().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek};

    #[test]
    fn follows_a_reader_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.bin");
        std::fs::write(&path, vec![0u8; 1000]).unwrap();
        let mut pos = InputPosition::new(&path, Some(10.0)).unwrap();
        let mut f = std::fs::File::open(&path).unwrap();
        let me = std::process::id();
        assert_eq!(pos.sample(me).unwrap().fraction, Some(0.0));
        let mut buf = [0u8; 250];
        f.read_exact(&mut buf).unwrap();
        let p = pos.sample(me).unwrap();
        assert_eq!(p.fraction, Some(0.25));
        assert_eq!(p.out_time_s, 2.5);
        f.seek(std::io::SeekFrom::End(0)).unwrap();
        assert_eq!(pos.sample(me).unwrap().fraction, Some(MAX_FRACTION));
        assert!(InputPosition::new(dir.path(), None).is_none(), "not a file");
    }
}
