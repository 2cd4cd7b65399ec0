//! `rejected/`: where files go that could not be used, each with a reason a person can read.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::layout::Layout;

/// A file name safe to create inside `rejected/`: the original's last component, with anything
/// that could change folders replaced.
fn safe_name(original: &str) -> String {
    let base = original.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect();
    let cleaned = cleaned.trim_start_matches('.').trim();
    if cleaned.is_empty() {
        return "unnamed".to_owned();
    }
    // File names are limited to 255 bytes; leave room for " (NN)" and ".reason.txt".
    let mut end = cleaned.len().min(200);
    while !cleaned.is_char_boundary(end) {
        end -= 1;
    }
    cleaned[..end].to_owned()
}

/// The first free `NAME`, `NAME (1).ext`, `NAME (2).ext`… whose reason file is free as well.
fn free_target(dir: &Path, name: &str) -> PathBuf {
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    let mut n = 0u32;
    loop {
        let candidate = if n == 0 {
            name.to_owned()
        } else {
            format!("{stem} ({n}){ext}")
        };
        let path = dir.join(&candidate);
        let reason = dir.join(format!("{candidate}.reason.txt"));
        if !path.exists() && !reason.exists() {
            return path;
        }
        n += 1;
    }
}

/// Moves `file` into `rejected/` under `display_name` (never overwriting an earlier one) and
/// writes `NAME.reason.txt` beside it. Returns where the file went.
pub fn reject_file(
    layout: &Layout,
    file: &Path,
    display_name: &str,
    reason: &str,
    details: Option<&str>,
) -> Result<PathBuf> {
    let dir = layout.rejected();
    std::fs::create_dir_all(&dir)?;
    let target = free_target(&dir, &safe_name(display_name));
    let mut text = format!("{reason}\n");
    if let Some(d) = details.filter(|d| !d.trim().is_empty()) {
        text.push_str("\nDetails from the tool:\n");
        text.push_str(d.trim());
        text.push('\n');
    }
    let reason_path = PathBuf::from(format!("{}.reason.txt", target.display()));
    // The reason is written first: a crash in between leaves a reason without a file, never a
    // file nobody can explain.
    std::fs::write(&reason_path, text)
        .with_context(|| format!("cannot write {}", reason_path.display()))?;
    move_file(file, &target)?;
    tracing::warn!(file = %target.display(), %reason, "rejected");
    Ok(target)
}

/// Rename, falling back to copy + remove across file systems.
pub fn move_file(from: &Path, to: &Path) -> Result<()> {
    match std::fs::rename(from, to) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
            std::fs::copy(from, to)
                .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))?;
            std::fs::remove_file(from)?;
            Ok(())
        }
        Err(e) => {
            Err(e).with_context(|| format!("cannot move {} to {}", from.display(), to.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        layout.create_all().unwrap();
        for i in 0..3 {
            let f = dir.path().join(format!("src{i}"));
            std::fs::write(&f, format!("{i}")).unwrap();
            reject_file(&layout, &f, "my clip.mov", "bad", Some("tool said no")).unwrap();
        }
        let r = layout.rejected();
        assert_eq!(std::fs::read_to_string(r.join("my clip.mov")).unwrap(), "0");
        assert_eq!(
            std::fs::read_to_string(r.join("my clip (1).mov")).unwrap(),
            "1"
        );
        assert_eq!(
            std::fs::read_to_string(r.join("my clip (2).mov")).unwrap(),
            "2"
        );
        let reason = std::fs::read_to_string(r.join("my clip (2).mov.reason.txt")).unwrap();
        assert!(reason.starts_with("bad\n") && reason.contains("tool said no"));
    }

    #[test]
    fn names_cannot_escape() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name(".."), "unnamed");
        assert_eq!(safe_name("a\nb"), "a_b");
        let long = "é".repeat(300);
        let cut = safe_name(&long);
        assert!(cut.len() <= 200 && cut.chars().all(|c| c == 'é'));
    }
}
