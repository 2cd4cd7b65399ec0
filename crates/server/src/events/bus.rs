//! Publishing and fan-out. Publishers append to the `events` table; one tail task per process
//! reads the table in id order and broadcasts what it finds. Having the log as the only source of
//! the broadcast keeps every subscriber's stream in id order, and also carries events written by
//! other processes on the same database (`dailies import`, workers).
//!
//! The broadcast channel is bounded: a subscriber that falls behind loses its place (it is told
//! it lagged) instead of holding memory or slowing anyone else; SSE then catches up from the
//! table, and a WebSocket client is closed.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, Notify, broadcast};
use tokio_util::sync::CancellationToken;

use crate::db::{Db, events as table};

use super::{Event, NewEvent};

/// Events kept in memory for subscribers that are a little behind.
const CHANNEL: usize = 4096;
/// How often the tail looks for events of other processes when nothing woke it.
const TAIL_POLL: Duration = Duration::from_millis(500);
/// While an id is missing between delivered events, the tail looks again this often…
const GAP_POLL: Duration = Duration::from_millis(50);
/// …for at most this long: an id another process drew but has not committed yet usually
/// arrives within milliseconds; one from a rolled-back transaction never does.
const GAP_WAIT: Duration = Duration::from_secs(2);
/// Events read from the table at a time.
const PAGE: i64 = 500;
/// The log keeps a week of events, and at most this many.
pub const KEEP_MS: i64 = 7 * 86_400_000;
pub const KEEP_COUNT: i64 = 200_000;

pub struct EventBus {
    tx: broadcast::Sender<Arc<Event>>,
    /// Serialises appends from this process, so ids commit in the order they were drawn and the
    /// tail never passes an id that is still being written.
    append: Mutex<()>,
    wake: Notify,
    /// The last id broadcast.
    delivered: AtomicI64,
    /// Cancelled when the server stops, so open streams end and shutdown does not wait on them.
    pub closed: CancellationToken,
}

/// See [`EventBus::appending`].
pub struct AppendTurn<'a> {
    _guard: tokio::sync::MutexGuard<'a, ()>,
    wake: &'a Notify,
}

impl Drop for AppendTurn<'_> {
    fn drop(&mut self) {
        self.wake.notify_one();
    }
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus {
            tx: broadcast::channel(CHANNEL).0,
            append: Mutex::new(()),
            wake: Notify::new(),
            delivered: AtomicI64::new(0),
            closed: CancellationToken::new(),
        }
    }
}

impl EventBus {
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    /// The id of the last event broadcast: where a new subscriber without a resume point starts.
    pub fn delivered(&self) -> i64 {
        self.delivered.load(Ordering::SeqCst)
    }

    /// Appends an event. Never fails the caller: an event that cannot be written is logged and
    /// lost, the work it describes is not.
    pub async fn publish(&self, db: &Db, event: NewEvent) {
        let _turn = self.appending().await;
        let written = match db.pool.acquire().await {
            Ok(mut conn) => table::insert(&mut conn, &event).await,
            Err(e) => Err(e.into()),
        };
        if let Err(e) = written {
            tracing::warn!(kind = event.kind, error = %format!("{e:#}"), "event not recorded");
        }
    }

    /// This process's turn to append events: hold it across the transaction that inserts them
    /// (with [`table::insert`]) and commits, so events describing a change are committed with
    /// it and in id order. The tail is woken when the turn ends.
    pub async fn appending(&self) -> AppendTurn<'_> {
        AppendTurn {
            _guard: self.append.lock().await,
            wake: &self.wake,
        }
    }

    /// Sets the starting point of the tail: the log's newest id. Call before anything in this
    /// process publishes, so the tail broadcasts every event published from then on.
    pub async fn prime(&self, db: &Db) -> anyhow::Result<()> {
        self.delivered
            .store(table::last_id(db).await?, Ordering::SeqCst);
        Ok(())
    }

    /// Reads new events from the table and broadcasts them, until `shutdown` (after
    /// [`Self::prime`]).
    ///
    /// Ids are delivered in order without holes: when several processes append (PostgreSQL), an
    /// id drawn by one may commit after a higher id drawn by another. The tail then waits for
    /// the missing id (up to [`GAP_WAIT`]) before passing it, so no live stream skips an event.
    pub async fn run_tail(self: Arc<Self>, db: Db, shutdown: CancellationToken) {
        let mut gap: Option<(i64, Instant)> = None;
        loop {
            let pause = if gap.is_some() { GAP_POLL } else { TAIL_POLL };
            tokio::select! {
                _ = shutdown.cancelled() => {
                    self.closed.cancel();
                    return;
                }
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(pause) => {}
            }
            'pages: loop {
                let from = self.delivered();
                let page = match table::after(&db, from, PAGE).await {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::warn!(error = %format!("{e:#}"), "cannot read the event log");
                        break;
                    }
                };
                let full = page.len() as i64 == PAGE;
                for event in page {
                    let expected = self.delivered() + 1;
                    if event.id > expected {
                        match gap {
                            Some((missing, since))
                                if missing == expected && since.elapsed() >= GAP_WAIT =>
                            {
                                tracing::debug!(missing, "event id never committed; passing it");
                            }
                            Some((missing, _)) if missing == expected => break 'pages,
                            _ => {
                                gap = Some((expected, Instant::now()));
                                break 'pages;
                            }
                        }
                    }
                    gap = None;
                    self.delivered.store(event.id, Ordering::SeqCst);
                    // No subscribers is fine: the log has it.
                    let _ = self.tx.send(Arc::new(event));
                }
                if !full {
                    break;
                }
            }
        }
    }

    /// Wakes the tail now (another process appended: PostgreSQL `NOTIFY`).
    pub fn wake_tail(&self) {
        self.wake.notify_one();
    }

    /// On PostgreSQL, wakes the tail whenever any process inserts an event (the `events_notify`
    /// trigger), so streams on this node show other nodes' events at once instead of at the next
    /// poll.
    pub async fn listen_postgres(self: Arc<Self>, url: String, shutdown: CancellationToken) {
        crate::db::notify::listen(url, "dailies_events", shutdown, |_| self.wake_tail()).await;
    }
}
