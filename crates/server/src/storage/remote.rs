//! The bucket side of [`super::Storage`]: the blocking S3 client run on the blocking pool, with
//! every transfer streamed (a part at a time up, a buffer at a time down).

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use axum::body::Bytes;
use tokio::sync::mpsc;

/// Bytes of a ranged read, as they arrive from the bucket.
pub type RemoteBody = mpsc::Receiver<std::io::Result<Bytes>>;

/// Bytes handed to the HTTP response at a time.
const CHUNK: usize = 256 * 1024;

/// A response whose client has taken nothing for this long is ended.
const STALLED_CLIENT: std::time::Duration = std::time::Duration::from_secs(120);

#[derive(Clone)]
pub(crate) struct Bucket {
    client: dailies_s3::Client,
    /// `""` or `team/` (with its slash).
    prefix: String,
}

impl Bucket {
    pub fn new(client: dailies_s3::Client, prefix: &str) -> Bucket {
        let prefix = prefix.trim_matches('/');
        Bucket {
            client,
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
        }
    }

    pub fn name(&self) -> &str {
        self.client.bucket()
    }

    /// `s3://bucket/prefix`, for messages.
    pub fn url(&self) -> String {
        format!(
            "s3://{}/{}",
            self.client.bucket(),
            self.prefix.trim_end_matches('/')
        )
    }

    /// The key of a library path (`abc/original.mov`).
    pub fn key(&self, relative: &str) -> String {
        format!("{}{relative}", self.prefix)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(dailies_s3::Client) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let client = self.client.clone();
        tokio::task::spawn_blocking(move || f(client)).await?
    }

    /// The bucket exists and takes writes: a small marker is written beside the prefix (not
    /// under it, so listings of the library never see it).
    pub async fn check(&self) -> Result<()> {
        let key = format!("{}.dailies-check", self.prefix.trim_end_matches('/'));
        self.blocking(move |c| {
            let mut marker: &[u8] = b"dailies keeps its library here\n";
            c.put(&key, &mut marker, "text/plain")?;
            Ok(())
        })
        .await
    }

    pub async fn head(&self, key: &str) -> Result<Option<Opened>> {
        let key = key.to_owned();
        self.blocking(move |c| Ok(c.head(&key)?.map(super::Opened::Remote)))
            .await
    }

    pub async fn upload(&self, file: &Path, key: &str) -> Result<()> {
        let (file, key) = (file.to_owned(), key.to_owned());
        self.blocking(move |c| {
            let mut f = std::fs::File::open(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let content_type = crate::api::files::content_type_for(&file);
            c.put(&key, &mut f, content_type)
                .with_context(|| format!("cannot upload {} to the bucket", file.display()))?;
            Ok(())
        })
        .await
    }

    /// Downloads into a temporary name beside `to`, renamed into place when complete.
    pub async fn download(&self, key: &str, to: &Path) -> Result<bool> {
        let (key, to) = (key.to_owned(), to.to_owned());
        self.blocking(move |c| {
            let Some(mut reader) = c.get(&key, None)? else {
                return Ok(false);
            };
            let dir = to.parent().context("a library file has a folder")?;
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let tmp = temp_beside(&to);
            let copied = (|| -> Result<()> {
                let mut out = std::fs::File::create(&tmp)?;
                std::io::copy(&mut reader, &mut out)?;
                out.sync_all()?;
                std::fs::rename(&tmp, &to)?;
                Ok(())
            })();
            if let Err(e) = copied {
                let _ = std::fs::remove_file(&tmp);
                return Err(e.context(format!("cannot download {key} to {}", to.display())));
            }
            Ok(true)
        })
        .await
    }

    /// Deletes the object `key` and everything under `key/`, including the parts of uploads a
    /// killed writer left unfinished.
    pub async fn remove(&self, key: &str) -> Result<()> {
        let key = key.to_owned();
        self.blocking(move |c| {
            c.delete(&key)?;
            let under = format!("{key}/");
            for o in c.list(&under)? {
                c.delete(&o.key)?;
            }
            c.abort_unfinished_uploads(&under)?;
            Ok(())
        })
        .await
    }

    /// Every object under the prefix, as (library path, length).
    pub async fn list_all(&self) -> Result<Vec<(String, u64)>> {
        let prefix = self.prefix.clone();
        self.blocking(move |c| {
            Ok(c.list(&prefix)?
                .into_iter()
                .filter_map(|o| {
                    let rel = o.key.strip_prefix(prefix.as_str())?.to_owned();
                    Some((rel, o.len))
                })
                .collect())
        })
        .await
    }

    /// A whole (small) object in memory.
    pub async fn read_all(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let key = key.to_owned();
        self.blocking(move |c| {
            let Some(mut r) = c.get(&key, None)? else {
                return Ok(None);
            };
            let mut bytes = Vec::new();
            r.read_to_end(&mut bytes)?;
            Ok(Some(bytes))
        })
        .await
    }

    /// A reader of a whole object, for copying between backends.
    pub async fn reader(&self, key: &str) -> Result<Option<dailies_s3::ObjectReader>> {
        let key = key.to_owned();
        self.blocking(move |c| Ok(c.get(&key, None)?)).await
    }

    /// Uploads from any reader (for copying between backends).
    pub async fn upload_from(
        &self,
        key: &str,
        mut from: Box<dyn Read + Send>,
        content_type: &'static str,
    ) -> Result<u64> {
        let key = key.to_owned();
        self.blocking(move |c| Ok(c.put(&key, &mut from, content_type)?))
            .await
    }

    /// Streams `start..=end` of `key` through a small channel: the bucket is read only as fast
    /// as the client takes the bytes, and a client that goes away stops the read.
    pub fn stream(&self, key: String, start: u64, end: u64) -> RemoteBody {
        let (tx, rx) = mpsc::channel(4);
        let client = self.client.clone();
        let runtime = tokio::runtime::Handle::current();
        // A client that stops reading (a paused player) must not hold a blocking thread forever.
        let send = move |item: std::io::Result<Bytes>| {
            runtime
                .block_on(tokio::time::timeout(STALLED_CLIENT, tx.send(item)))
                .is_ok_and(|sent| sent.is_ok())
        };
        tokio::task::spawn_blocking(move || {
            let mut reader = match client.get(&key, Some((start, end))) {
                Ok(Some(r)) if r.range == Some((start, end)) => r,
                Ok(Some(_)) => {
                    send(Err(std::io::Error::other(
                        "the bucket did not answer with the range asked for",
                    )));
                    return;
                }
                Ok(None) => {
                    send(Err(std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "the object is gone",
                    )));
                    return;
                }
                Err(e) => {
                    tracing::warn!(key = %key, error = %e, "ranged read from the bucket failed");
                    send(Err(std::io::Error::other(e)));
                    return;
                }
            };
            let mut left = end - start + 1;
            while left > 0 {
                let mut buf = vec![0u8; CHUNK.min(left as usize)];
                let n = match reader.read(&mut buf) {
                    Ok(0) => {
                        send(Err(std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            "the bucket sent fewer bytes than asked",
                        )));
                        return;
                    }
                    Ok(n) => n,
                    Err(e) => {
                        send(Err(e));
                        return;
                    }
                };
                buf.truncate(n);
                left -= n as u64;
                if !send(Ok(Bytes::from(buf))) {
                    return;
                }
            }
        });
        rx
    }
}

use super::Opened;

fn temp_beside(path: &Path) -> PathBuf {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    path.with_file_name(format!(".{name}.fetch-{}", crate::ids::new_id()))
}
