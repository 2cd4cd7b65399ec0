//! What the master knows about the swarm: chunks, peers, what each holds, transfers in flight
//! and the rates seen so far. Events (a peer joined, a transfer finished...) change it; the
//! planner only reads it.
//!
//! Holder and in-flight counts are kept incrementally for speed; [`SwarmState::check`]
//! recomputes them from scratch so tests can prove they never drift.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use crate::chunk_hash::ChunkHash;
use crate::chunk_set::ChunkSet;
use crate::planner::{CancelReason, Order, StartOrder};
use crate::rates::{Observation, Rates};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerId(pub u32);

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TransferId(pub u64);

/// A distinct chunk as the planner sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkMeta {
    pub hash: ChunkHash,
    pub size: u64,
}

/// How many transfers a node runs at once in each direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slots {
    pub upload: u32,
    pub download: u32,
}

#[derive(Debug, Clone)]
pub struct Peer {
    pub id: PeerId,
    /// Verified chunks it holds and may offer.
    pub has: ChunkSet,
    /// Chunks on their way to it.
    pub incoming: ChunkSet,
    /// A source (the master) holds every chunk of the current manifest and never downloads.
    pub source: bool,
    pub slots: Slots,
    pub uploads: u32,
    pub downloads: u32,
    /// Chunks it served that failed verification; past a limit it is never asked again.
    pub corrupt_served: u32,
}

impl Peer {
    pub fn is_complete(&self) -> bool {
        self.has.is_full()
    }
}

/// One chunk on its way from one peer to another.
#[derive(Debug, Clone, PartialEq)]
pub struct Transfer {
    pub id: TransferId,
    pub chunk: usize,
    pub from: PeerId,
    pub to: PeerId,
    pub started: f64,
    /// When the planner expects it to end, from the rates known at the start.
    pub expected_end: f64,
    /// When it is given up and retried elsewhere.
    pub deadline: f64,
    /// Concurrency at the start (this transfer included), to turn its rate into capacity.
    pub uploads_at_start: u32,
    pub downloads_at_start: u32,
    /// Bytes the downloader last reported having received, and when.
    pub bytes_done: u64,
    pub progress_at: f64,
    /// Whether its slowness was already taken as a rate observation.
    pub late_noted: bool,
}

impl Transfer {
    /// Its rate so far, once the downloader has reported progress.
    pub fn observed_rate(&self) -> Option<f64> {
        let elapsed = self.progress_at - self.started;
        (self.bytes_done > 0 && elapsed > 0.0).then(|| self.bytes_done as f64 / elapsed)
    }
}

/// Why a transfer ended without a verified chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Connection or disk error: retried elsewhere.
    Error,
    /// Past its deadline.
    TimedOut,
    /// The bytes did not match the hash: the uploader does not really hold the chunk.
    Corrupt,
}

#[derive(Debug, Clone)]
pub struct SwarmState {
    chunks: Vec<ChunkMeta>,
    peers: BTreeMap<PeerId, Peer>,
    transfers: BTreeMap<TransferId, Transfer>,
    holders: Vec<u32>,
    in_flight: Vec<u32>,
    rates: Rates,
    /// (chunk, from, to) that failed: that uploader is not asked for that chunk by that peer again.
    failed: BTreeSet<(usize, PeerId, PeerId)>,
    /// Failed attempts per (chunk, downloader): each one doubles the next timeout.
    attempts: BTreeMap<(usize, PeerId), u32>,
    next_id: u64,
    /// Bumped with every manifest change.
    generation: u64,
}

impl SwarmState {
    pub fn new(chunks: Vec<ChunkMeta>) -> Self {
        let n = chunks.len();
        SwarmState {
            chunks,
            peers: BTreeMap::new(),
            transfers: BTreeMap::new(),
            holders: vec![0; n],
            in_flight: vec![0; n],
            rates: Rates::default(),
            failed: BTreeSet::new(),
            attempts: BTreeMap::new(),
            next_id: 1,
            generation: 0,
        }
    }

    pub fn chunks(&self) -> &[ChunkMeta] {
        &self.chunks
    }

    pub fn peers(&self) -> impl Iterator<Item = &Peer> {
        self.peers.values()
    }

    pub fn peer(&self, id: PeerId) -> Option<&Peer> {
        self.peers.get(&id)
    }

    pub fn transfers(&self) -> impl Iterator<Item = &Transfer> {
        self.transfers.values()
    }

    pub fn transfer(&self, id: TransferId) -> Option<&Transfer> {
        self.transfers.get(&id)
    }

    /// Live peers holding each chunk.
    pub fn holders(&self) -> &[u32] {
        &self.holders
    }

    /// Transfers in flight per chunk.
    pub fn in_flight(&self) -> &[u32] {
        &self.in_flight
    }

    pub fn rates(&self) -> &Rates {
        &self.rates
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub(crate) fn next_transfer_id(&self) -> u64 {
        self.next_id
    }

    pub fn has_failed(&self, chunk: usize, from: PeerId, to: PeerId) -> bool {
        self.failed.contains(&(chunk, from, to))
    }

    pub fn attempts(&self, chunk: usize, to: PeerId) -> u32 {
        self.attempts.get(&(chunk, to)).copied().unwrap_or(0)
    }

    /// True when every live peer that downloads holds every chunk.
    pub fn is_done(&self) -> bool {
        self.peers.values().all(|p| p.source || p.is_complete())
    }

    /// The earliest transfer deadline: the planner must run again then.
    pub fn next_deadline(&self) -> Option<f64> {
        self.transfers
            .values()
            .map(|t| t.deadline)
            .min_by(f64::total_cmp)
    }

    /// A peer connects (or reconnects, replacing its old session) holding `has`.
    /// Returns cancellations for transfers of its previous session.
    pub fn add_peer(
        &mut self,
        id: PeerId,
        has: ChunkSet,
        source: bool,
        slots: Slots,
    ) -> Vec<Order> {
        let cancels = self.remove_peer(id);
        let has = if source {
            ChunkSet::full(self.chunks.len())
        } else {
            has
        };
        for c in has.iter() {
            self.holders[c] += 1;
        }
        let n = self.chunks.len();
        self.peers.insert(
            id,
            Peer {
                id,
                incoming: ChunkSet::empty(n),
                has,
                source,
                slots,
                uploads: 0,
                downloads: 0,
                corrupt_served: 0,
            },
        );
        cancels
    }

    /// A peer is gone: its chunks no longer count and every transfer it took part in ends.
    /// Returns cancellations for the other ends of those transfers.
    pub fn remove_peer(&mut self, id: PeerId) -> Vec<Order> {
        let Some(peer) = self.peers.get(&id) else {
            return Vec::new();
        };
        for c in peer.has.iter() {
            self.holders[c] -= 1;
        }
        let ids: Vec<TransferId> = self
            .transfers
            .values()
            .filter(|t| t.from == id || t.to == id)
            .map(|t| t.id)
            .collect();
        let mut cancels = Vec::new();
        for tid in ids {
            self.release(tid);
            cancels.push(Order::Cancel {
                id: tid,
                reason: CancelReason::PeerLeft,
            });
        }
        // Its rates are kept: a peer that reconnects is usually the same machine on the same
        // link, and what it showed still tells slow from fast.
        self.peers.remove(&id);
        cancels
    }

    /// Applies one order from the planner (or the caller's own cancellation).
    pub fn apply(&mut self, order: &Order, now: f64) {
        match order {
            Order::Start(s) => self.begin(s, now),
            Order::Cancel {
                id,
                reason: CancelReason::TimedOut,
            } => self.fail(*id, now, 0, Failure::TimedOut),
            Order::Cancel { id, .. } => {
                self.release(*id);
            }
        }
    }

    fn begin(&mut self, s: &StartOrder, now: f64) {
        let valid = s.chunk < self.chunks.len()
            && self
                .peers
                .get(&s.from)
                .is_some_and(|p| p.has.contains(s.chunk))
            && self.peers.contains_key(&s.to);
        if !valid {
            tracing::warn!(?s, "ignoring a start order that no longer fits the swarm");
            return;
        }
        self.next_id = self.next_id.max(s.id.0 + 1);
        let (uploads, downloads);
        {
            let from = self.peers.get_mut(&s.from).expect("checked above");
            from.uploads += 1;
            uploads = from.uploads;
        }
        {
            let to = self.peers.get_mut(&s.to).expect("checked above");
            to.downloads += 1;
            to.incoming.insert(s.chunk);
            downloads = to.downloads;
        }
        self.in_flight[s.chunk] += 1;
        self.transfers.insert(
            s.id,
            Transfer {
                id: s.id,
                chunk: s.chunk,
                from: s.from,
                to: s.to,
                started: now,
                expected_end: s.expected_end,
                deadline: s.deadline,
                uploads_at_start: uploads,
                downloads_at_start: downloads,
                bytes_done: 0,
                progress_at: now,
                late_noted: false,
            },
        );
    }

    /// Ends a transfer's bookkeeping without learning anything from it.
    fn release(&mut self, id: TransferId) -> Option<Transfer> {
        let t = self.transfers.remove(&id)?;
        self.in_flight[t.chunk] -= 1;
        if let Some(from) = self.peers.get_mut(&t.from) {
            from.uploads -= 1;
        }
        let still_incoming = self
            .transfers
            .values()
            .any(|o| o.to == t.to && o.chunk == t.chunk);
        if let Some(to) = self.peers.get_mut(&t.to) {
            to.downloads -= 1;
            if !still_incoming {
                to.incoming.remove(t.chunk);
            }
        }
        Some(t)
    }

    /// The downloader verified the chunk: it now holds it and may offer it. Other transfers of
    /// the same chunk to the same peer (end-game duplicates) are cancelled.
    pub fn complete(&mut self, id: TransferId, now: f64) -> Vec<Order> {
        let Some(t) = self.release(id) else {
            return Vec::new();
        };
        let size = self.chunks[t.chunk].size;
        self.learn(&t, size, now);
        self.attempts.remove(&(t.chunk, t.to));
        self.mark_has(t.to, t.chunk);
        let dups: Vec<TransferId> = self
            .transfers
            .values()
            .filter(|o| o.to == t.to && o.chunk == t.chunk)
            .map(|o| o.id)
            .collect();
        dups.into_iter()
            .map(|id| {
                self.release(id);
                Order::Cancel {
                    id,
                    reason: CancelReason::Duplicate,
                }
            })
            .collect()
    }

    /// The downloader reports how much of a transfer has arrived. A transfer running far behind
    /// its expectation is taken as a rate observation at once, so a slow uploader is known (and
    /// avoided) before its first transfer ends.
    pub fn progress(&mut self, id: TransferId, bytes_done: u64, now: f64) {
        let Some(t) = self.transfers.get_mut(&id) else {
            return;
        };
        t.bytes_done = bytes_done;
        t.progress_at = now;
        let expected = t.expected_end - t.started;
        let late = !t.late_noted && bytes_done > 0 && now - t.started > 2.0 * expected;
        if late {
            t.late_noted = true;
            let t = t.clone();
            self.learn(&t, bytes_done, now);
        }
    }

    /// A transfer ended without a good chunk; `bytes_done` arrived before it did (for a timeout,
    /// what the downloader reports having received).
    pub fn fail(&mut self, id: TransferId, now: f64, bytes_done: u64, why: Failure) {
        let Some(t) = self.release(id) else {
            return;
        };
        tracing::debug!(chunk = t.chunk, from = %t.from, to = %t.to, ?why, "transfer failed");
        if why == Failure::TimedOut {
            // What arrived before the deadline says how slow the link was. A broken transfer
            // says nothing about speed (it may have broken after a few bytes).
            self.learn(&t, bytes_done.max(1), now);
        }
        self.failed.insert((t.chunk, t.from, t.to));
        *self.attempts.entry((t.chunk, t.to)).or_insert(0) += 1;
        if why == Failure::Corrupt
            && let Some(from) = self.peers.get_mut(&t.from)
        {
            from.corrupt_served += 1;
            if !from.source && from.has.remove(t.chunk) {
                self.holders[t.chunk] -= 1;
            }
        }
    }

    fn learn(&mut self, t: &Transfer, bytes: u64, now: f64) {
        let elapsed = now - t.started;
        if elapsed <= 0.0 {
            return;
        }
        let prior = self.rates.prior(f64::INFINITY);
        let prior = if prior.is_finite() {
            prior
        } else {
            bytes as f64 / elapsed
        };
        self.rates.record(
            Observation {
                from: t.from,
                to: t.to,
                bytes_per_sec: bytes as f64 / elapsed,
                uploads: t.uploads_at_start,
                downloads: t.downloads_at_start,
            },
            prior,
        );
    }

    /// A peer holds a verified chunk it did not transfer (found on disk, or copied from another
    /// place of the same content).
    pub fn mark_has(&mut self, peer: PeerId, chunk: usize) {
        if let Some(p) = self.peers.get_mut(&peer)
            && p.has.insert(chunk)
        {
            self.holders[chunk] += 1;
        }
    }

    /// The master's folder changed: chunks are matched by hash, peers keep what is still part
    /// of the manifest, sources hold everything, and transfers of chunks no longer needed are
    /// cancelled.
    pub fn replace_chunks(&mut self, chunks: Vec<ChunkMeta>) -> Vec<Order> {
        let index: HashMap<ChunkHash, usize> = chunks
            .iter()
            .enumerate()
            .map(|(i, c)| (c.hash, i))
            .collect();
        let old = std::mem::replace(&mut self.chunks, chunks);
        let remap = |c: usize| index.get(&old[c].hash).copied();
        let n = self.chunks.len();
        let mut cancels = Vec::new();
        let ids: Vec<TransferId> = self.transfers.keys().copied().collect();
        for id in ids {
            let t = self.transfers.get(&id).expect("listed above");
            if remap(t.chunk).is_none() {
                cancels.push(Order::Cancel {
                    id,
                    reason: CancelReason::Obsolete,
                });
                // Counts are rebuilt below, so plain removal is enough here.
                self.transfers.remove(&id);
            }
        }
        for t in self.transfers.values_mut() {
            t.chunk = remap(t.chunk).expect("obsolete transfers removed");
        }
        for p in self.peers.values_mut() {
            p.has = if p.source {
                ChunkSet::full(n)
            } else {
                let mut has = ChunkSet::empty(n);
                for c in p.has.iter().filter_map(remap) {
                    has.insert(c);
                }
                has
            };
            p.incoming = ChunkSet::empty(n);
            p.uploads = 0;
            p.downloads = 0;
        }
        self.holders = vec![0; n];
        self.in_flight = vec![0; n];
        for p in self.peers.values() {
            for c in p.has.iter() {
                self.holders[c] += 1;
            }
        }
        let transfers: Vec<Transfer> = self.transfers.values().cloned().collect();
        for t in transfers {
            self.in_flight[t.chunk] += 1;
            if let Some(p) = self.peers.get_mut(&t.from) {
                p.uploads += 1;
            }
            if let Some(p) = self.peers.get_mut(&t.to) {
                p.downloads += 1;
                p.incoming.insert(t.chunk);
            }
        }
        self.failed.clear();
        self.attempts.clear();
        self.generation += 1;
        cancels
    }

    /// Recomputes every maintained count from scratch and compares; also checks slots.
    pub fn check(&self) -> Result<(), String> {
        let n = self.chunks.len();
        let mut holders = vec![0u32; n];
        let mut in_flight = vec![0u32; n];
        let mut uploads: BTreeMap<PeerId, u32> = BTreeMap::new();
        let mut downloads: BTreeMap<PeerId, u32> = BTreeMap::new();
        for p in self.peers.values() {
            for c in p.has.iter() {
                holders[c] += 1;
            }
        }
        for t in self.transfers.values() {
            in_flight[t.chunk] += 1;
            *uploads.entry(t.from).or_default() += 1;
            *downloads.entry(t.to).or_default() += 1;
            let to = self.peers.get(&t.to).ok_or("transfer to a missing peer")?;
            if !to.incoming.contains(t.chunk) {
                return Err(format!("{} not marked incoming at {}", t.chunk, t.to));
            }
            if !self.peers.contains_key(&t.from) {
                return Err("transfer from a missing peer".into());
            }
        }
        if holders != self.holders {
            return Err("holder counts drifted".into());
        }
        if in_flight != self.in_flight {
            return Err("in-flight counts drifted".into());
        }
        for p in self.peers.values() {
            let up = uploads.get(&p.id).copied().unwrap_or(0);
            let down = downloads.get(&p.id).copied().unwrap_or(0);
            if up != p.uploads || down != p.downloads {
                return Err(format!("slot counts drifted at {}", p.id));
            }
            if up > p.slots.upload || down > p.slots.download {
                return Err(format!("{} exceeds its slots ({up} up, {down} down)", p.id));
            }
            if p.incoming.count() > down as usize {
                return Err(format!("{} has stale incoming marks", p.id));
            }
        }
        Ok(())
    }
}
