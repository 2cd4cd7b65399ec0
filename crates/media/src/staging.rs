//! Outputs are written under a temporary name and renamed into place only once everything
//! succeeded, so readers never see half a file and a rerun after a crash starts clean.

use std::io;
use std::path::{Path, PathBuf};

/// One output file in progress. Dropping it without [`Staged::commit`] deletes the partial file.
pub(crate) struct Staged {
    tmp: PathBuf,
    dest: PathBuf,
    committed: bool,
}

impl Staged {
    /// Fixed temp name (`.<name>.partial`) so leftovers of a crashed run are found and replaced.
    pub(crate) fn new(dir: &Path, name: &str) -> Self {
        let tmp = dir.join(format!(".{name}.partial"));
        // A leftover from a crashed run must not be mistaken for fresh output.
        let _ = std::fs::remove_file(&tmp);
        Staged {
            tmp,
            dest: dir.join(name),
            committed: false,
        }
    }

    /// For a full output path: its folder is created, its name staged.
    pub(crate) async fn for_output(output: &Path) -> io::Result<Self> {
        let bad = |what: &str| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("the output has no {what}"),
            )
        };
        let dir = output.parent().ok_or_else(|| bad("folder"))?;
        let name = output
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| bad("name"))?;
        tokio::fs::create_dir_all(dir).await?;
        Ok(Staged::new(dir, name))
    }

    pub(crate) fn tmp(&self) -> &Path {
        &self.tmp
    }

    /// Whether the tool actually wrote something.
    pub(crate) async fn written(&self) -> bool {
        tokio::fs::metadata(&self.tmp)
            .await
            .is_ok_and(|m| m.is_file() && m.len() > 0)
    }

    /// Flush to disk and move into place (replacing an older version atomically).
    pub(crate) async fn commit(mut self) -> io::Result<PathBuf> {
        let file = tokio::fs::File::open(&self.tmp).await?;
        file.sync_all().await?;
        drop(file);
        tokio::fs::rename(&self.tmp, &self.dest).await?;
        self.committed = true;
        Ok(self.dest.clone())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Make renames in `dir` durable (best effort: not every filesystem supports it).
pub(crate) async fn sync_dir(dir: &Path) {
    if let Ok(d) = tokio::fs::File::open(dir).await {
        let _ = d.sync_all().await;
    }
}
