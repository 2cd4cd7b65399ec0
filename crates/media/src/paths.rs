//! Turning filesystem paths into ffmpeg URL arguments that cannot be misread.

use std::ffi::OsString;
use std::path::Path;

/// Prefix every path with `file:` so ffmpeg never reads it as an option (`-name.mp4`) or as
/// another protocol (`http:...`, `concat:...`); the protocol whitelist then only has to allow
/// `file`.
pub fn ffmpeg_path_arg(path: &Path) -> OsString {
    let mut arg = OsString::from("file:");
    arg.push(path.as_os_str());
    arg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dash_paths_are_prefixed() {
        assert_eq!(
            ffmpeg_path_arg(Path::new("-i.mp4")),
            OsString::from("file:-i.mp4")
        );
        assert_eq!(
            ffmpeg_path_arg(Path::new("/a/http:b.mp4")),
            OsString::from("file:/a/http:b.mp4")
        );
    }
}
