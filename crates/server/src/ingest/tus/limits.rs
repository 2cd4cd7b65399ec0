//! Size, quota and free-disk limits, checked from the announced length before any byte is
//! sent, and again for every body that arrives.

use std::path::Path;

use crate::app::App;
use crate::db::uploads;

use super::protocol::TusError;

/// File extensions of uncompressed video, which get the larger size limit.
const RAW_EXTENSIONS: &[&str] = &["yuv", "y4m"];

/// The largest upload accepted for a file of this name.
pub fn max_size(app: &App, filename: &str) -> u64 {
    let ext = Path::new(filename)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if RAW_EXTENSIONS.contains(&ext.as_str()) {
        app.config.max_raw_upload_bytes
    } else {
        app.config.max_upload_bytes
    }
}

/// Whether a new upload of `length` bytes may start: size, the owner's quota, the disk.
pub async fn check_new(
    app: &App,
    owner_id: &str,
    length: u64,
    filename: &str,
) -> Result<(), TusError> {
    let max = max_size(app, filename);
    if length > max {
        return Err(TusError::new(
            413,
            format!("this file is {length} bytes; the largest upload accepted is {max} bytes"),
        ));
    }
    if let Some(left) = quota_left(app, owner_id).await?
        && length > left
    {
        let quota = app.config.user_quota_bytes;
        return Err(TusError::new(
            413,
            format!(
                "this upload would exceed your quota: {} of {quota} bytes are in use",
                quota - left
            ),
        ));
    }
    disk_guard(app, length, Guard::NewUpload)
}

/// Unfinished uploads one user may have open at once (a deferred length costs no quota, so
/// this is what bounds them).
const MAX_OPEN_UPLOADS: i64 = 100;

/// Refuses a new upload to someone with too many unfinished ones.
pub async fn check_open_uploads(app: &App, owner_id: &str) -> Result<(), TusError> {
    if uploads::unfinished_count(&app.db, owner_id).await? >= MAX_OPEN_UPLOADS {
        return Err(TusError::new(
            429,
            format!("you have {MAX_OPEN_UPLOADS} unfinished uploads; finish or delete some first"),
        ));
    }
    Ok(())
}

/// Bytes the owner may still add, or `None` without a quota.
async fn quota_left(app: &App, owner_id: &str) -> Result<Option<u64>, TusError> {
    let quota = app.config.user_quota_bytes;
    if quota == 0 {
        return Ok(None);
    }
    let used = uploads::bytes_used(&app.db, owner_id).await?.max(0) as u64;
    Ok(Some(quota.saturating_sub(used)))
}

/// How many more bytes an upload whose length is still unknown may receive: what the size
/// limit and the quota leave, so deferring the length never gets around either.
pub async fn deferred_room(
    app: &App,
    owner_id: &str,
    filename: &str,
    received: u64,
) -> Result<u64, TusError> {
    let by_size = max_size(app, filename).saturating_sub(received);
    // The upload's own received bytes already count in the quota's use.
    let by_quota = quota_left(app, owner_id).await?.unwrap_or(u64::MAX);
    Ok(by_size.min(by_quota))
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// A new upload must leave the configured reserve free.
    NewUpload,
    /// Bytes of a started upload only need to fit, so a nearly full disk still lets started
    /// uploads finish when they can.
    Continuing,
}

pub fn disk_guard(app: &App, incoming: u64, guard: Guard) -> Result<(), TusError> {
    let reserve = match guard {
        Guard::NewUpload => app.config.min_free_disk_bytes,
        Guard::Continuing => 0,
    };
    if let Some(free) = free_bytes(&app.layout.uploads())
        && free < reserve.saturating_add(incoming)
    {
        return Err(match guard {
            Guard::NewUpload => TusError::new(
                507,
                "the server is low on disk space and cannot take this upload now",
            ),
            Guard::Continuing => TusError::io(std::io::Error::from_raw_os_error(libc::ENOSPC)),
        });
    }
    Ok(())
}

/// Free bytes on the file system holding `dir`.
fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a writable statvfs.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (rc == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
}
