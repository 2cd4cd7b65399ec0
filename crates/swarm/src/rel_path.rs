//! A relative path that is safe to join under a sync folder.
//!
//! Manifests travel between machines, so every path in one is hostile until checked: a peer joins
//! it under its own folder and writes there. Only plain `/`-separated names are accepted.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::SwarmError;

/// A validated relative path: `/`-separated, no empty, `.` or `..` component, not absolute,
/// no NUL or backslash (a separator on Windows peers).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RelPath(String);

impl RelPath {
    pub fn new(path: impl Into<String>) -> Result<Self, SwarmError> {
        let path = path.into();
        let reject = |why| {
            Err(SwarmError::UnsafePath {
                path: path.clone(),
                why,
            })
        };
        if path.is_empty() {
            return reject("empty");
        }
        if path.starts_with('/') {
            return reject("absolute");
        }
        if path.contains('\0') {
            return reject("contains NUL");
        }
        if path.contains('\\') {
            return reject("contains a backslash");
        }
        for component in path.split('/') {
            match component {
                "" => return reject("empty component"),
                "." | ".." => return reject("dot component"),
                _ => {}
            }
        }
        if path.len() >= 2 && path.as_bytes()[1] == b':' {
            return reject("drive prefix");
        }
        Ok(RelPath(path))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path under `root`; safe because of the checks in [`RelPath::new`].
    pub fn under(&self, root: &Path) -> PathBuf {
        let mut out = root.to_path_buf();
        out.extend(self.0.split('/'));
        out
    }

    /// The enclosing folder, if any.
    pub fn parent(&self) -> Option<RelPath> {
        self.0.rsplit_once('/').map(|(p, _)| RelPath(p.to_owned()))
    }
}

impl TryFrom<String> for RelPath {
    type Error = SwarmError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        RelPath::new(s)
    }
}

impl From<RelPath> for String {
    fn from(p: RelPath) -> String {
        p.0
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_nested_names_are_accepted() {
        let p = RelPath::new("day 1/cam A/clip.mov").unwrap();
        assert_eq!(
            p.under(Path::new("/sync")),
            PathBuf::from("/sync/day 1/cam A/clip.mov")
        );
        assert_eq!(p.parent().unwrap().as_str(), "day 1/cam A");
        assert!(RelPath::new("..hidden").is_ok());
    }

    #[test]
    fn escaping_names_are_refused() {
        for bad in [
            "",
            "/etc/passwd",
            "a/../../b",
            "..",
            ".",
            "a//b",
            "a/",
            "a\0b",
            "a\\b",
            "C:x",
        ] {
            assert!(RelPath::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn deserializing_validates() {
        assert!(serde_json::from_str::<RelPath>("\"../x\"").is_err());
        assert!(serde_json::from_str::<RelPath>("\"ok/x\"").is_ok());
    }
}
