//! One writer per upload, and a way for a returning client to take its upload back.
//!
//! Two PATCHes racing on one upload must never interleave, so each upload has a lock that also
//! guards its running hash state. A client whose laptop went to sleep mid-PATCH leaves a request
//! that receives nothing but still holds that lock; when the client comes back on a new
//! connection, it asks the holder to let go, and a holder that has received nothing for a few
//! seconds commits what it got and steps aside (tusd calls this a lock release request).
//!
//! The locks live in this process: one API node writes a given upload. Several API nodes need a
//! lock in the database (the "many machines" work).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedMutexGuard, watch};

use crate::ingest::hashing::Hasher;

use super::protocol::TusError;

/// How long a request waits for another request writing the same upload.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// The running hash state of an upload, valid for the bytes up to its length.
pub type HashState = Option<Hasher>;

struct Slot {
    state: Arc<tokio::sync::Mutex<HashState>>,
    /// Bumped by a request that wants the lock; the holder watches it.
    release: watch::Sender<u64>,
}

#[derive(Default)]
pub struct UploadLocks {
    map: Mutex<HashMap<String, Arc<Slot>>>,
    /// Bodies being received, bounded (see [`super::admission`]).
    pub admission: super::admission::Admission,
}

/// A held upload lock, with the signal that someone else wants it.
pub struct Held {
    pub state: OwnedMutexGuard<HashState>,
    pub release_wanted: watch::Receiver<u64>,
}

impl UploadLocks {
    fn slot(&self, id: &str) -> Arc<Slot> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(id.to_owned())
            .or_insert_with(|| {
                Arc::new(Slot {
                    state: Arc::default(),
                    release: watch::channel(0).0,
                })
            })
            .clone()
    }

    /// Takes the upload's lock, asking a stalled holder to release it; 423 when an active
    /// request keeps it.
    pub async fn acquire(&self, id: &str) -> Result<Held, TusError> {
        self.acquire_within(id, LOCK_WAIT)
            .await
            .ok_or_else(TusError::locked)
    }

    /// [`Self::acquire`] with a chosen patience; `None` when an active request keeps the lock.
    pub async fn acquire_within(&self, id: &str, wait: Duration) -> Option<Held> {
        let slot = self.slot(id);
        let state = match slot.state.clone().try_lock_owned() {
            Ok(guard) => guard,
            Err(_) => {
                slot.release.send_modify(|n| *n += 1);
                tokio::time::timeout(wait, slot.state.clone().lock_owned())
                    .await
                    .ok()?
            }
        };
        Some(Held {
            state,
            release_wanted: slot.release.subscribe(),
        })
    }

    /// The lock if nobody holds it now (for housekeeping, which never waits).
    pub fn try_acquire(&self, id: &str) -> Option<Held> {
        let slot = self.slot(id);
        let state = slot.state.clone().try_lock_owned().ok()?;
        Some(Held {
            state,
            release_wanted: slot.release.subscribe(),
        })
    }

    /// Drops the bookkeeping of an upload that is finished or gone, unless a request still holds
    /// or waits for its lock (a new slot beside it would let two requests write at once).
    pub fn forget(&self, id: &str) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let idle = map.get(id).is_some_and(|slot| {
            Arc::strong_count(slot) == 1 && Arc::strong_count(&slot.state) == 1
        });
        if idle {
            map.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_waiting_request_signals_the_holder() {
        let locks = UploadLocks::default();
        let mut first = locks.acquire("a").await.unwrap();
        assert!(locks.try_acquire("a").is_none());
        let waiter = async { locks.acquire("a").await.map(|_| ()) };
        let holder = async {
            first.release_wanted.changed().await.unwrap();
            drop(first);
        };
        let (got, ()) = tokio::join!(waiter, holder);
        assert!(got.is_ok());
        assert!(locks.try_acquire("b").is_some());
    }
}
