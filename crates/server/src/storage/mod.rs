//! Where the library's files live: originals, renditions, posters, sprites, encodes, thumbnail
//! images, drawings and torrents.
//!
//! Every part of the server names a file by its path under `media/` ([`crate::layout`]). With
//! local storage (the default, or a shared filesystem given as a path) that path is the file.
//! With S3 storage the same path, relative to `media/`, is the object's key under the configured
//! prefix, and `media/` on each node is only scratch space:
//!
//! - a job [`pin`](Storage::pin)s its video, [`fetch`](Storage::fetch)es the inputs it reads,
//!   writes its outputs locally and [`publish`](Storage::publish)es them (streamed up, then the
//!   local copy removed) before it records them; when the last pin on a video is dropped, the
//!   node's scratch folder for it goes;
//! - the API serves a file from local disk when this node has it, else straight from the bucket
//!   with a ranged read ([`open`](Storage::open)), behind the same checks.

pub mod migrate;
mod remote;

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
pub use remote::RemoteBody;

/// What `storage` (`--storage`) names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageSetting {
    /// `media/` in the data dir (which may be on a shared filesystem).
    DataDir,
    /// `s3://bucket/prefix`: endpoint, region and credentials from the environment.
    S3 { bucket: String, prefix: String },
}

impl StorageSetting {
    /// Parses `""`, `local` or `s3://bucket[/prefix]`.
    pub fn parse(value: &str) -> Result<StorageSetting> {
        let value = value.trim();
        if value.is_empty() || value == "local" {
            return Ok(StorageSetting::DataDir);
        }
        if let Some(rest) = value.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let bucket_ok = (3..=63).contains(&bucket.len())
                && bucket
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b));
            if !bucket_ok {
                bail!(
                    "storage '{value}': the bucket name must be 3 to 63 lower-case letters, digits, '-' or '.'"
                );
            }
            let prefix = prefix.trim_matches('/');
            let prefix_ok = prefix.split('/').all(|part| {
                !part.is_empty()
                    && part != "."
                    && part != ".."
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            });
            if !prefix.is_empty() && !prefix_ok {
                bail!(
                    "storage '{value}': the prefix may hold only letters, digits, '-', '_', '.' and '/'"
                );
            }
            return Ok(StorageSetting::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.to_owned(),
            });
        }
        // A separate library folder would put `media/` and `trash/` or the drop folder on
        // different filesystems, where moves stop being renames: share the data dir instead.
        bail!(
            "storage '{value}': use local (media/ in the data dir, which may be on a shared \
             filesystem) or s3://bucket/prefix"
        )
    }

    /// For logs and messages; never holds a credential.
    pub fn describe(&self, data_dir_media: &Path) -> String {
        match self {
            StorageSetting::DataDir => format!("local disk ({})", data_dir_media.display()),
            StorageSetting::S3 { bucket, prefix } if prefix.is_empty() => format!("s3://{bucket}"),
            StorageSetting::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}"),
        }
    }
}

/// The library's storage, shared by every task of a process.
#[derive(Clone)]
pub struct Storage {
    inner: Arc<Inner>,
}

struct Inner {
    /// `media/`: the files themselves (local), or this node's scratch space (S3).
    media_root: PathBuf,
    bucket: Option<remote::Bucket>,
    /// Videos whose scratch folder is in use on this node, and by how many.
    pins: Mutex<HashMap<String, usize>>,
}

/// A file as the API serves it.
pub enum Opened {
    Local(tokio::fs::File, Box<std::fs::Metadata>),
    Remote(dailies_s3::ObjectMeta),
}

impl Storage {
    /// Files live under `media_root` itself.
    pub fn local(media_root: impl Into<PathBuf>) -> Storage {
        Storage::build(media_root.into(), None)
    }

    /// Files live in the bucket; `media_root` is scratch space. Checks that the bucket answers.
    pub async fn s3(media_root: impl Into<PathBuf>, bucket: &str, prefix: &str) -> Result<Storage> {
        let config = dailies_s3::Config::from_env(bucket)
            .with_context(|| format!("storage s3://{bucket}"))?;
        let bucket = remote::Bucket::new(dailies_s3::Client::new(config), prefix);
        bucket.check().await.with_context(|| {
            format!("storage s3://{}: the bucket does not answer", bucket.name())
        })?;
        Ok(Storage::build(media_root.into(), Some(bucket)))
    }

    fn build(media_root: PathBuf, bucket: Option<remote::Bucket>) -> Storage {
        Storage {
            inner: Arc::new(Inner {
                media_root,
                bucket,
                pins: Mutex::default(),
            }),
        }
    }

    /// Opens what a setting names (`data_dir_media` is `media/` in the data dir).
    pub async fn open_setting(setting: &StorageSetting, data_dir_media: &Path) -> Result<Storage> {
        match setting {
            StorageSetting::DataDir => Ok(Storage::local(data_dir_media)),
            StorageSetting::S3 { bucket, prefix } => {
                Storage::s3(data_dir_media, bucket, prefix).await
            }
        }
    }

    /// True when files live in a bucket rather than under `media/`.
    pub fn is_remote(&self) -> bool {
        self.inner.bucket.is_some()
    }

    pub(crate) fn bucket(&self) -> Option<&remote::Bucket> {
        self.inner.bucket.as_ref()
    }

    /// The object key of a path under `media/`; `None` for anything else (no path a request
    /// could steer ever becomes a key outside the library).
    fn key(&self, path: &Path) -> Option<String> {
        let bucket = self.inner.bucket.as_ref()?;
        Some(bucket.key(&relative_key(&self.inner.media_root, path)?))
    }

    /// Makes sure this node has `path` on local disk, downloading it from the bucket if needed.
    /// False when it exists nowhere.
    pub async fn fetch(&self, path: &Path) -> Result<bool> {
        if tokio::fs::metadata(path).await.is_ok_and(|m| m.is_file()) {
            return Ok(true);
        }
        let (Some(bucket), Some(key)) = (self.bucket(), self.key(path)) else {
            return Ok(false);
        };
        bucket.download(&key, path).await
    }

    /// Uploads a file, or a folder's files recursively, to the bucket (nothing to do locally).
    /// The local copy stays: the caller still needs it or a pin's release removes it.
    pub async fn push(&self, path: &Path) -> Result<()> {
        let Some(bucket) = self.bucket() else {
            return Ok(());
        };
        let files = files_under(path).await?;
        if files.is_empty() {
            bail!("{} is missing: nothing to store", path.display());
        }
        for file in files {
            let key = self
                .key(&file)
                .with_context(|| format!("{} is not in the library", file.display()))?;
            bucket.upload(&file, &key).await?;
        }
        Ok(())
    }

    /// [`push`](Self::push), then removes the local copy: an output that is finished here.
    pub async fn publish(&self, path: &Path) -> Result<()> {
        if !self.is_remote() {
            return Ok(());
        }
        self.push(path).await?;
        remove_local(path).await
    }

    /// Removes a file or folder from local disk and from the bucket.
    pub async fn remove(&self, path: &Path) -> Result<()> {
        remove_local(path).await?;
        if let (Some(bucket), Some(key)) = (self.bucket(), self.key(path)) {
            bucket.remove(&key).await?;
        }
        Ok(())
    }

    /// Opens a file for serving: local when this node has it, else the object's metadata.
    pub async fn open(&self, path: &Path) -> std::io::Result<Option<Opened>> {
        let opened = tokio::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .await;
        match opened {
            Ok(f) => {
                let meta = f.metadata().await?;
                return Ok(meta.is_file().then(|| Opened::Local(f, Box::new(meta))));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Ok(None),
            Err(e) => return Err(e),
        }
        let (Some(bucket), Some(key)) = (self.bucket(), self.key(path)) else {
            return Ok(None);
        };
        bucket.head(&key).await.map_err(std::io::Error::other)
    }

    /// Streams bytes `start..=end` of a file [`open`](Self::open) found in the bucket.
    pub fn read_remote(&self, path: &Path, start: u64, end: u64) -> std::io::Result<RemoteBody> {
        let (Some(bucket), Some(key)) = (self.bucket(), self.key(path)) else {
            return Err(std::io::Error::other("not a library file in a bucket"));
        };
        Ok(bucket.stream(key, start, end))
    }

    /// The length of a file, wherever it is; `None` when it exists nowhere.
    pub async fn len(&self, path: &Path) -> Result<Option<u64>> {
        Ok(match self.open(path).await? {
            Some(Opened::Local(_, meta)) => Some(meta.len()),
            Some(Opened::Remote(meta)) => Some(meta.len),
            None => None,
        })
    }

    /// A small file's bytes (a torrent), wherever it is; `None` when it exists nowhere.
    pub async fn read_small(&self, path: &Path) -> Result<Option<Vec<u8>>> {
        match tokio::fs::read(path).await {
            Ok(bytes) => return Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        match (self.bucket(), self.key(path)) {
            (Some(bucket), Some(key)) => bucket.read_all(&key).await,
            _ => Ok(None),
        }
    }

    /// Keeps a video's scratch folder on this node while the guard lives; with S3 storage the
    /// folder is removed when the last guard goes. Local storage: nothing happens.
    pub fn pin(&self, video_id: &str) -> Pin {
        let mut pins = lock(&self.inner.pins);
        *pins.entry(video_id.to_owned()).or_default() += 1;
        Pin {
            storage: self.clone(),
            video_id: video_id.to_owned(),
        }
    }

    /// Whether a video's scratch folder is in use here (recovery leaves such folders alone).
    pub fn is_pinned(&self, video_id: &str) -> bool {
        lock(&self.inner.pins).contains_key(video_id)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// See [`Storage::pin`].
pub struct Pin {
    storage: Storage,
    video_id: String,
}

impl Drop for Pin {
    fn drop(&mut self) {
        let inner = &self.storage.inner;
        let mut pins = lock(&inner.pins);
        let Some(count) = pins.get_mut(&self.video_id) else {
            return;
        };
        *count -= 1;
        if *count > 0 {
            return;
        }
        pins.remove(&self.video_id);
        if inner.bucket.is_some() && crate::ids::is_valid_id(&self.video_id) {
            // Renamed away under the lock, so a new pin cannot fetch into the folder while it
            // goes; the deletion itself (a big original) happens off the async threads.
            let dir = inner.media_root.join(&self.video_id);
            let gone =
                inner
                    .media_root
                    .join(format!(".{}.gone-{}", self.video_id, crate::ids::new_id()));
            match std::fs::rename(&dir, &gone) {
                Ok(()) => {
                    std::thread::spawn(move || {
                        if let Err(e) = std::fs::remove_dir_all(&gone) {
                            tracing::warn!(folder = %gone.display(), error = %e, "cannot clear scratch space");
                        }
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(folder = %dir.display(), error = %e, "cannot clear scratch space")
                }
            }
        }
    }
}

/// `a/b/c` for `media_root/a/b/c`: plain components only, valid UTF-8, no hidden names.
fn relative_key(media_root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(media_root).ok()?;
    let mut parts = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(p) => {
                let p = p.to_str()?;
                if p.starts_with('.') {
                    return None;
                }
                parts.push(p);
            }
            _ => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// The regular files at `path` (itself, or everything under it), skipping temporary names.
async fn files_under(path: &Path) -> Result<Vec<PathBuf>> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        let mut stack = vec![path];
        while let Some(p) = stack.pop() {
            let meta = match std::fs::symlink_metadata(&p) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(anyhow::Error::from(e).context(p.display().to_string())),
            };
            let hidden = p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if meta.is_dir() {
                for entry in std::fs::read_dir(&p)? {
                    stack.push(entry?.path());
                }
            } else if meta.is_file() && !hidden {
                out.push(p);
            }
        }
        out.sort();
        Ok(out)
    })
    .await?
}

async fn remove_local(path: &Path) -> Result<()> {
    let result = match tokio::fs::symlink_metadata(path).await {
        Ok(m) if m.is_dir() => tokio::fs::remove_dir_all(path).await,
        Ok(_) => tokio::fs::remove_file(path).await,
        Err(e) => Err(e),
    };
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(anyhow::Error::from(e).context(format!("cannot remove {}", path.display())))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings() {
        assert_eq!(StorageSetting::parse("").unwrap(), StorageSetting::DataDir);
        assert_eq!(
            StorageSetting::parse("local").unwrap(),
            StorageSetting::DataDir
        );
        assert_eq!(
            StorageSetting::parse("s3://media-bucket/team/a").unwrap(),
            StorageSetting::S3 {
                bucket: "media-bucket".into(),
                prefix: "team/a".into()
            }
        );
        assert_eq!(
            StorageSetting::parse("s3://media-bucket").unwrap(),
            StorageSetting::S3 {
                bucket: "media-bucket".into(),
                prefix: String::new()
            }
        );
        for bad in [
            "s3://",
            "s3://UPPER",
            "s3://ab",
            "s3://bucket/../x",
            "s3://bucket/a//b",
            "s3://bucket/a b",
            "relative/path",
            "/mnt/nfs/dailies",
            "http://example.com/x",
        ] {
            assert!(StorageSetting::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_stay_inside_the_library() {
        let root = Path::new("/data/media");
        assert_eq!(
            relative_key(root, Path::new("/data/media/abc/original.mov")).as_deref(),
            Some("abc/original.mov")
        );
        assert_eq!(relative_key(root, Path::new("/data/media")), None);
        assert_eq!(relative_key(root, Path::new("/data/other/x")), None);
        assert_eq!(relative_key(root, Path::new("/data/media/../x")), None);
        assert_eq!(relative_key(root, Path::new("/data/media/a/.tmp")), None);
    }
}
