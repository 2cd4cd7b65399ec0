//! `dailies storage migrate --to TARGET`: copies the library from the configured storage to
//! another one while the server keeps serving from the first.
//!
//! Nothing is removed from the source, so readers never notice. A file already in the target
//! with the same length is skipped, which makes a second run after switching over copy only
//! what arrived in between.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::Storage;

/// What a run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Migrated {
    pub copied: usize,
    pub bytes: u64,
    pub skipped: usize,
}

/// Copies every file of the live videos of `from` into `to` (purged or half-registered ones
/// stay behind, so a second run cannot bring them back).
pub async fn migrate(db: &crate::db::Db, from: &Storage, to: &Storage) -> Result<Migrated> {
    let sources = inventory(from).await?;
    let present: HashMap<String, u64> = inventory(to).await?.into_iter().collect();
    let mut live: HashMap<String, bool> = HashMap::new();
    let mut report = Migrated::default();
    for (rel, len) in sources {
        // Keys listed from a bucket are someone's strings: only library paths are copied.
        let Some(video_id) = library_path_video(&rel) else {
            tracing::warn!(key = %rel, "not a library file; left where it is");
            continue;
        };
        let is_live = match live.get(video_id) {
            Some(l) => *l,
            None => {
                let l = crate::db::videos::get(db, video_id)
                    .await?
                    .is_some_and(|v| v.deleted_at.is_none());
                live.insert(video_id.to_owned(), l);
                l
            }
        };
        if !is_live || present.get(&rel) == Some(&len) {
            report.skipped += 1;
            continue;
        }
        copy_one(from, to, &rel)
            .await
            .with_context(|| format!("cannot copy {rel}"))?;
        report.copied += 1;
        report.bytes += len;
        tracing::info!(file = %rel, bytes = len, "copied");
    }
    Ok(report)
}

/// Every file of a storage as (library path, length).
async fn inventory(s: &Storage) -> Result<Vec<(String, u64)>> {
    match s.bucket() {
        Some(b) => b.list_all().await,
        None => {
            let root = s.inner.media_root.clone();
            let files = super::files_under(&root).await?;
            let mut out = Vec::with_capacity(files.len());
            for f in files {
                let Some(rel) = super::relative_key(&root, &f) else {
                    continue;
                };
                let len = tokio::fs::metadata(&f).await?.len();
                out.push((rel, len));
            }
            Ok(out)
        }
    }
}

/// The video id of a library path `id/name[/name…]` made of plain visible names, else `None`.
fn library_path_video(rel: &str) -> Option<&str> {
    let mut parts = rel.split('/');
    let id = parts.next()?;
    let plain = |p: &str| !p.is_empty() && !p.starts_with('.') && p != "..";
    let rest: Vec<&str> = parts.collect();
    (crate::ids::is_valid_id(id) && !rest.is_empty() && rest.iter().all(|p| plain(p))).then_some(id)
}

fn local_path(s: &Storage, rel: &str) -> PathBuf {
    rel.split('/')
        .fold(s.inner.media_root.clone(), |p, part| p.join(part))
}

async fn copy_one(from: &Storage, to: &Storage, rel: &str) -> Result<()> {
    let target = local_path(to, rel);
    match (from.bucket(), to.bucket()) {
        (None, Some(dst)) => dst.upload(&local_path(from, rel), &dst.key(rel)).await,
        (Some(src), None) => {
            if src.download(&src.key(rel), &target).await? {
                Ok(())
            } else {
                anyhow::bail!("it vanished from {}", src.url())
            }
        }
        (Some(src), Some(dst)) => {
            let reader = src
                .reader(&src.key(rel))
                .await?
                .with_context(|| format!("it vanished from {}", src.url()))?;
            let content_type = crate::api::files::content_type_for(Path::new(rel));
            dst.upload_from(&dst.key(rel), Box::new(reader), content_type)
                .await
                .map(|_| ())
        }
        (None, None) => {
            let source = local_path(from, rel);
            tokio::task::spawn_blocking(move || copy_file(&source, &target)).await?
        }
    }
}

/// Copies under a temporary name, renamed into place when complete.
fn copy_file(from: &Path, to: &Path) -> Result<()> {
    let dir = to.parent().context("a library file has a folder")?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".migrate-{}", crate::ids::new_id()));
    let done = std::fs::copy(from, &tmp)
        .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
        .and_then(|_| std::fs::rename(&tmp, to));
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    Ok(done?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_library_paths_are_copied() {
        let id = crate::ids::new_id();
        for ok in [
            format!("{id}/original.mov"),
            format!("{id}/thumbnails/{id}/0001.jpg"),
        ] {
            assert_eq!(library_path_video(&ok), Some(id.as_str()), "{ok}");
        }
        for bad in [
            id.clone(),
            format!("{id}/"),
            format!("{id}/../../.ssh/authorized_keys"),
            format!("{id}/a//b"),
            format!("{id}/.hidden"),
            "../x/original.mov".to_owned(),
            ".dailies-check".to_owned(),
            "notanid/original.mov".to_owned(),
        ] {
            assert_eq!(library_path_video(&bad), None, "{bad}");
        }
    }
}
