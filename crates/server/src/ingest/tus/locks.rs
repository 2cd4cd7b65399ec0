//! One writer per upload, and a way for a returning client to take its upload back.
//!
//! Two PATCHes racing on one upload must never interleave, so each upload has a lock that also
//! guards its running hash state. A client whose laptop went to sleep mid-PATCH leaves a request
//! that receives nothing but still holds that lock; when the client comes back on a new
//! connection, it asks the holder to let go, and a holder that has received nothing for a few
//! seconds commits what it got and steps aside (tusd calls this a lock release request).
//!
//! On PostgreSQL, several API nodes may serve one shared data folder, and a client may resume on
//! another node than the one it started on (a load balancer decides). So a held lock is also a
//! PostgreSQL advisory lock, taken in a transaction that lives as long as the lock, and the
//! "let go" request reaches the other nodes as a `NOTIFY` on [`RELEASE_CHANNEL`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedMutexGuard, watch};
use tokio::time::Instant;

use crate::db::{Db, DbKind};
use crate::ingest::hashing::Hasher;

use super::protocol::TusError;

/// How long a request waits for another request writing the same upload.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// How often a request waiting for another node's lock asks again.
const NODE_LOCK_POLL: Duration = Duration::from_millis(100);
/// Where a node asks the others to let go of an upload; the payload is `NODE_ID UPLOAD_ID`.
pub const RELEASE_CHANNEL: &str = "dailies_upload_release";

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
    /// On PostgreSQL, the upload's lock for the other nodes.
    pub across_nodes: Option<NodeLock>,
}

/// An advisory lock held in an open transaction; dropping it rolls the transaction back at
/// once, which releases the lock for the other nodes.
pub struct NodeLock(Option<sqlx::Transaction<'static, sqlx::Any>>);

impl Drop for NodeLock {
    fn drop(&mut self) {
        if let (Some(tx), Ok(rt)) = (self.0.take(), tokio::runtime::Handle::try_current()) {
            rt.spawn(async move {
                if let Err(e) = tx.rollback().await {
                    tracing::warn!(error = %e, "cannot release an upload's lock; its connection closes");
                }
            });
        }
    }
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

    /// Takes the upload's lock, asking a stalled holder (here or on another node) to release
    /// it; 423 when an active request keeps it.
    pub async fn acquire(&self, db: &Db, node_id: &str, id: &str) -> Result<Held, TusError> {
        self.acquire_within(db, node_id, id, LOCK_WAIT)
            .await?
            .ok_or_else(TusError::locked)
    }

    /// [`Self::acquire`] with a chosen patience; `None` when an active request keeps the lock.
    pub async fn acquire_within(
        &self,
        db: &Db,
        node_id: &str,
        id: &str,
        wait: Duration,
    ) -> Result<Option<Held>, TusError> {
        let deadline = Instant::now() + wait;
        let slot = self.slot(id);
        let state = match slot.state.clone().try_lock_owned() {
            Ok(guard) => guard,
            Err(_) => {
                slot.release.send_modify(|n| *n += 1);
                match tokio::time::timeout_at(deadline, slot.state.clone().lock_owned()).await {
                    Ok(guard) => guard,
                    Err(_) => return Ok(None),
                }
            }
        };
        let release_wanted = slot.release.subscribe();
        let across_nodes = match db.kind {
            DbKind::Sqlite => None,
            DbKind::Postgres => {
                let mut asked = false;
                loop {
                    if let Some(tx) = try_node_lock(db, id).await? {
                        break Some(tx);
                    }
                    if !asked {
                        sqlx::query("SELECT pg_notify($1, $2)")
                            .bind(RELEASE_CHANNEL)
                            .bind(format!("{node_id} {id}"))
                            .execute(&db.pool)
                            .await?;
                        asked = true;
                    }
                    if Instant::now() + NODE_LOCK_POLL > deadline {
                        return Ok(None);
                    }
                    tokio::time::sleep(NODE_LOCK_POLL).await;
                }
            }
        };
        Ok(Some(Held {
            state,
            release_wanted,
            across_nodes,
        }))
    }

    /// The lock if nobody holds it now, here or elsewhere (for housekeeping, which never waits).
    pub async fn try_acquire(&self, db: &Db, id: &str) -> Option<Held> {
        let slot = self.slot(id);
        let state = slot.state.clone().try_lock_owned().ok()?;
        let across_nodes = match db.kind {
            DbKind::Sqlite => None,
            DbKind::Postgres => match try_node_lock(db, id).await {
                Ok(Some(tx)) => Some(tx),
                Ok(None) => return None,
                Err(e) => {
                    tracing::warn!(upload = %id, error = %e.1, "cannot take the upload's lock");
                    return None;
                }
            },
        };
        Some(Held {
            state,
            release_wanted: slot.release.subscribe(),
            across_nodes,
        })
    }

    /// Another node asks to take an upload (a `NOTIFY` on [`RELEASE_CHANNEL`]): a request here
    /// that holds it and receives nothing steps aside, as for a request on this node.
    pub fn release_requested(&self, this_node: &str, payload: &str) {
        let Some((node, id)) = payload.split_once(' ') else {
            return;
        };
        if node == this_node {
            return;
        }
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = map.get(id) {
            slot.release.send_modify(|n| *n += 1);
        }
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

/// The upload's advisory lock in a new transaction, or `None` if another session holds it.
async fn try_node_lock(db: &Db, id: &str) -> Result<Option<NodeLock>, TusError> {
    let pool = db.lock_pool.as_ref().unwrap_or(&db.pool);
    let mut tx = pool.begin().await?;
    let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("dailies upload {id}"))
        .fetch_one(&mut *tx)
        .await?;
    Ok(got.then(|| NodeLock(Some(tx))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_waiting_request_signals_the_holder() {
        let db = Db::connect("sqlite::memory:").await.unwrap();
        let locks = UploadLocks::default();
        let mut first = locks.acquire(&db, "n", "a").await.unwrap();
        assert!(locks.try_acquire(&db, "a").await.is_none());
        let waiter = async { locks.acquire(&db, "n", "a").await.map(|_| ()) };
        let holder = async {
            first.release_wanted.changed().await.unwrap();
            drop(first);
        };
        let (got, ()) = tokio::join!(waiter, holder);
        assert!(got.is_ok());
        assert!(locks.try_acquire(&db, "b").await.is_some());
    }
}
