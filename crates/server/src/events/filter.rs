//! Which events a subscriber asked for: some videos, some kinds (`job.progress`, or `job.*` for
//! a whole family), or everything it may see.

use std::collections::BTreeSet;

use crate::ids;

use super::{Event, kind};

const KINDS: &[&str] = &[
    kind::JOB_QUEUED,
    kind::JOB_STARTED,
    kind::JOB_PROGRESS,
    kind::JOB_RETRYING,
    kind::JOB_DONE,
    kind::JOB_FAILED,
    kind::JOB_CANCELLED,
    kind::VIDEO_CREATED,
    kind::VIDEO_UPDATED,
    kind::VIDEO_DELETED,
    kind::COMMENT_CREATED,
    kind::COMMENT_UPDATED,
    kind::COMMENT_DELETED,
];
/// More entries than this in one filter is a mistake, not a use.
const MAX_ENTRIES: usize = 256;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// `None`: every video.
    pub videos: Option<BTreeSet<String>>,
    /// `None`: every kind. Entries are exact kinds or families (`job.`, from `job.*`).
    pub kinds: Option<BTreeSet<String>>,
}

impl Filter {
    pub fn matches(&self, e: &Event) -> bool {
        let video_ok = match &self.videos {
            None => true,
            Some(set) => e.video_id.as_ref().is_some_and(|v| set.contains(v)),
        };
        let kind_ok = match &self.kinds {
            None => true,
            Some(set) => set
                .iter()
                .any(|k| k == &e.kind || (k.ends_with('.') && e.kind.starts_with(k.as_str()))),
        };
        video_ok && kind_ok
    }

    /// Adds videos from a comma-separated list of ids.
    pub fn add_videos(&mut self, list: &str) -> Result<(), String> {
        let set = self.videos.get_or_insert_with(BTreeSet::new);
        for id in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if !ids::is_valid_id(id) {
                return Err(format!("'{id}' is not a video id"));
            }
            set.insert(id.to_owned());
        }
        if set.is_empty() {
            return Err("name at least one video id".into());
        }
        if set.len() > MAX_ENTRIES {
            return Err(format!("at most {MAX_ENTRIES} videos per subscription"));
        }
        Ok(())
    }

    /// Adds kinds from a comma-separated list (`job.progress`, `job.*`, `video.*`).
    pub fn add_kinds(&mut self, list: &str) -> Result<(), String> {
        let set = self.kinds.get_or_insert_with(BTreeSet::new);
        for k in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            set.insert(parse_kind(k)?);
        }
        if set.is_empty() {
            return Err("name at least one event kind".into());
        }
        if set.len() > MAX_ENTRIES {
            return Err(format!("at most {MAX_ENTRIES} kinds per subscription"));
        }
        Ok(())
    }

    pub fn remove_videos(&mut self, list: &str) {
        if let Some(set) = &mut self.videos {
            for id in list.split(',').map(str::trim) {
                set.remove(id);
            }
        }
    }

    pub fn remove_kinds(&mut self, list: &str) {
        if let Some(set) = &mut self.kinds {
            for k in list.split(',').map(str::trim) {
                if let Ok(k) = parse_kind(k) {
                    set.remove(&k);
                }
            }
        }
    }
}

/// An exact known kind, or a family `prefix.*` of known kinds (kept as `prefix.`).
fn parse_kind(k: &str) -> Result<String, String> {
    if let Some(family) = k.strip_suffix('*') {
        if family.ends_with('.') && KINDS.iter().any(|known| known.starts_with(family)) {
            return Ok(family.to_owned());
        }
    } else if KINDS.contains(&k) {
        return Ok(k.to_owned());
    }
    Err(format!(
        "unknown event kind '{k}'; known kinds: {} (or a family such as job.*)",
        KINDS.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn ev(kind: &str, video: Option<&str>) -> Event {
        Event {
            id: 1,
            at: 0,
            kind: kind.into(),
            owner_id: None,
            video_id: video.map(Into::into),
            job_id: None,
            data: Value::Null,
        }
    }

    #[test]
    fn kinds_and_families() {
        let mut f = Filter::default();
        f.add_kinds("job.*, video.deleted").unwrap();
        assert!(f.matches(&ev("job.progress", None)));
        assert!(f.matches(&ev("video.deleted", None)));
        assert!(!f.matches(&ev("video.updated", None)));
        assert!(f.add_kinds("jobs.*").is_err());
        assert!(f.add_kinds("job.finished").is_err());
        assert!(f.add_kinds("*").is_err());
        f.remove_kinds("job.*");
        assert!(!f.matches(&ev("job.progress", None)));
        let mut comments = Filter::default();
        comments.add_kinds("comment.*").unwrap();
        assert!(comments.matches(&ev("comment.deleted", None)));
        assert!(!comments.matches(&ev("video.updated", None)));
    }

    #[test]
    fn videos() {
        let mut f = Filter::default();
        assert!(f.matches(&ev("job.done", None)));
        f.add_videos(&crate::ids::new_id()).unwrap();
        assert!(!f.matches(&ev("job.done", None)));
        assert!(f.add_videos("../x").is_err());
    }
}
