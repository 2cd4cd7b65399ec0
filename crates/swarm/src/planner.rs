//! The planner: a pure function from the swarm's state to transfer orders.
//!
//! Given the same state, time and seed it returns the same orders, so the master, the simulator
//! and the tests all run the one algorithm. Each call:
//!
//! 1. cancels transfers past their deadline (they are retried elsewhere);
//! 2. repeatedly starts the transfer of the globally rarest chunk (fewest holders plus transfers
//!    in flight) that an uploader with a free slot holds and a peer with a free download slot
//!    lacks, until no such pair is left. Sources go first (the master's upload is the scarcest
//!    resource, and each peer keeps one download slot for sources so it never waits), then idle
//!    uploaders before anyone's second transfer, then rarity. A node takes a further transfer
//!    only while the ones it runs are expected to leave part of its capacity unused: equal peers
//!    thus send one chunk at a time at full speed (what spreads a chunk fastest), while a fast
//!    uploader serving slower peers runs several. Uploaders known to be much slower than the
//!    rest only serve peers as slow as they are, a slow downloader gets at most one of an
//!    uploader's slots, and a source feeds peers known to forward well;
//! 3. in the end game, when a peer's missing chunks are all on their way, duplicates a transfer
//!    that another uploader is expected (from reported progress, when there is some) to finish
//!    much sooner; the loser is cancelled when the first copy is verified.
//!
//! Timeouts follow the expected duration of each transfer at the slowest share of the two
//! ends' capacities, doubling with every failed attempt of the same chunk by the same peer.

use std::collections::{BTreeSet, HashMap};

use crate::chunk_set::ChunkSet;
use crate::rng::SplitMix64;
use crate::state::{Peer, PeerId, SwarmState, TransferId};

#[derive(Debug, Clone, PartialEq)]
pub struct PlannerConfig {
    /// Deadline = this many times the expected duration at the worst share of the two ends.
    pub timeout_factor: f64,
    /// No transfer gets less time than this, in seconds (start-up, disk hiccups).
    pub min_timeout: f64,
    /// Rate assumed before anything was measured, bytes/s (optimistic so new peers get tried).
    pub assumed_rate: f64,
    /// Uploaders below this fraction of the median upload rate only serve equally slow peers.
    pub slow_fraction: f64,
    /// A peer that served this many corrupt chunks is never asked again.
    pub max_corrupt: u32,
    /// A duplicate transfer in the end game must be expected to finish this many times sooner.
    pub endgame_gain: f64,
    /// A node whose transfers in flight are expected to use this share of its capacity starts
    /// no further one (beyond its first, and beyond the download slot kept for sources).
    /// `f64::INFINITY` fills every slot.
    pub busy_fraction: f64,
}

impl Default for PlannerConfig {
    fn default() -> Self {
        PlannerConfig {
            timeout_factor: 3.0,
            min_timeout: 10.0,
            assumed_rate: 100e6,
            slow_fraction: 0.2,
            max_corrupt: 3,
            endgame_gain: 2.0,
            busy_fraction: 0.95,
        }
    }
}

/// Start sending `chunk` from `from` to `to`.
#[derive(Debug, Clone, PartialEq)]
pub struct StartOrder {
    pub id: TransferId,
    pub chunk: usize,
    pub from: PeerId,
    pub to: PeerId,
    pub expected_end: f64,
    pub deadline: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    TimedOut,
    /// Another copy of the chunk reached the peer first.
    Duplicate,
    /// The chunk left the manifest.
    Obsolete,
    /// One end of the transfer disconnected.
    PeerLeft,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Order {
    Start(StartOrder),
    Cancel {
        id: TransferId,
        reason: CancelReason,
    },
}

/// The planner's working copy of one peer.
struct Node<'a> {
    peer: &'a Peer,
    uploads: u32,
    downloads: u32,
    incoming: ChunkSet,
    up_rate: f64,
    down_rate: f64,
    slow_uploader: bool,
    slow_downloader: bool,
    /// Its uploads going to slow downloaders.
    uploads_to_slow: u32,
    /// Its downloads coming from sources.
    from_sources: u32,
    /// Expected bytes/s of its transfers in flight, each way.
    load_up: f64,
    load_down: f64,
}

impl Node<'_> {
    fn wants(&self, chunk: usize) -> bool {
        !self.peer.source && !self.peer.has.contains(chunk) && !self.incoming.contains(chunk)
    }

    /// Whether it can take one more download from an uploader of this kind: a free slot (one
    /// kept for sources), and for a further peer transfer, download capacity left unused.
    fn has_room(&self, from_source: bool, busy: f64) -> bool {
        if self.peer.source || self.peer.is_complete() {
            return false;
        }
        let slots = self.peer.slots.download;
        let spare = self.downloads == 0 || self.load_down < busy * self.down_rate;
        if from_source {
            // The kept slot: one source transfer whatever the load; more only with spare room.
            return self.downloads < slots && (self.from_sources == 0 || spare);
        }
        let limit = if slots < 2 { slots } else { slots - 1 };
        self.downloads < limit && spare
    }

    /// Whether it can start one more upload: a free slot and upload capacity left unused.
    /// Equal peers thus send one chunk at a time at full speed (chunks spread fastest that way),
    /// while a fast uploader serving slower peers uses several slots.
    fn can_upload(&self, busy: f64) -> bool {
        self.uploads < self.peer.slots.upload
            && (self.uploads == 0 || self.load_up < busy * self.up_rate)
    }
}

/// Computes the orders for this moment. Pure: reads `state`, returns what to do.
pub fn plan(state: &SwarmState, cfg: &PlannerConfig, now: f64, seed: u64) -> Vec<Order> {
    let mut rng = SplitMix64::new(seed);
    let rates = state.rates();
    let prior = rates.prior(cfg.assumed_rate);
    let median_down = {
        let mut v: Vec<f64> = state.peers().filter_map(|p| rates.download(p.id)).collect();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(prior)
    };
    let mut nodes: Vec<Node> = state
        .peers()
        .map(|p| {
            let up_rate = rates.upload(p.id).unwrap_or(prior);
            let down_rate = rates.download(p.id).unwrap_or(prior);
            Node {
                peer: p,
                uploads: p.uploads,
                downloads: p.downloads,
                incoming: p.incoming.clone(),
                up_rate,
                down_rate,
                slow_uploader: !p.source && up_rate < cfg.slow_fraction * prior,
                slow_downloader: down_rate < cfg.slow_fraction * median_down,
                uploads_to_slow: 0,
                from_sources: 0,
                load_up: 0.0,
                load_down: 0.0,
            }
        })
        .collect();
    let index: HashMap<PeerId, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.peer.id, i))
        .collect();
    for t in state.transfers() {
        if let (Some(&f), Some(&d)) = (index.get(&t.from), index.get(&t.to))
            && nodes[d].slow_downloader
            && now < t.deadline
        {
            nodes[f].uploads_to_slow += 1;
        }
    }
    for t in state.transfers() {
        if now >= t.deadline {
            continue;
        }
        if let (Some(&f), Some(&d)) = (index.get(&t.from), index.get(&t.to)) {
            // What the estimates promise, unless it has been running behind that for a while.
            let promised = (nodes[f].up_rate / nodes[f].uploads.max(1) as f64)
                .min(nodes[d].down_rate / nodes[d].downloads.max(1) as f64);
            let overdue = now - t.started > 2.0 * (t.expected_end - t.started);
            let rate = match t.observed_rate() {
                Some(seen) if overdue => seen.min(promised),
                _ => promised,
            };
            nodes[f].load_up += rate;
            nodes[d].load_down += rate;
            nodes[d].from_sources += nodes[f].peer.source as u32;
        }
    }
    let mut in_flight = state.in_flight().to_vec();
    let holders = state.holders();
    let mut orders = Vec::new();
    let mut next_id = state.next_transfer_id();

    // 1. Deadlines.
    let mut timed_out: BTreeSet<(usize, PeerId, PeerId)> = BTreeSet::new();
    for t in state.transfers() {
        if now >= t.deadline {
            orders.push(Order::Cancel {
                id: t.id,
                reason: CancelReason::TimedOut,
            });
            timed_out.insert((t.chunk, t.from, t.to));
            in_flight[t.chunk] -= 1;
            if let Some(&f) = index.get(&t.from) {
                nodes[f].uploads -= 1;
            }
            if let Some(&d) = index.get(&t.to) {
                nodes[d].downloads -= 1;
                nodes[d].incoming.remove(t.chunk);
            }
        }
    }
    // A peer that failed to deliver a chunk is not asked for it by the same peer again; a source
    // always may be (it is the last resort, and its timeouts grow with every attempt).
    let sources: BTreeSet<PeerId> = state.peers().filter(|p| p.source).map(|p| p.id).collect();
    let blocked = |c: usize, u: PeerId, d: PeerId| {
        !sources.contains(&u) && (state.has_failed(c, u, d) || timed_out.contains(&(c, u, d)))
    };

    // 2. Rarest first.
    let mut uploaders: Vec<(usize, u64)> = nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| {
            // A source is never banned: its chunks come from the folder itself, and a peer
            // claiming otherwise must not be able to cut everyone off from it.
            !n.peer.has.is_empty() && (n.peer.source || n.peer.corrupt_served < cfg.max_corrupt)
        })
        .map(|(i, _)| (i, rng.next_u64()))
        .collect();
    uploaders.sort_by(|a, b| {
        let (na, nb) = (&nodes[a.0], &nodes[b.0]);
        nb.peer
            .source
            .cmp(&na.peer.source)
            .then(nb.up_rate.total_cmp(&na.up_rate))
            .then(a.1.cmp(&b.1))
    });
    let uploaders: Vec<usize> = uploaders.into_iter().map(|(i, _)| i).collect();
    // Each round assigns the globally rarest (chunk, downloader) any free uploader can serve;
    // an uploader's best pick stays valid until its chunk, its downloader or itself is used.
    let mut picks: Vec<Option<Pick>> = vec![None; nodes.len()];
    let mut stale = vec![true; nodes.len()];
    let mut exhausted = vec![false; nodes.len()];
    loop {
        let mut best: Option<((bool, u32, u32, usize), Pick)> = None;
        for (rank, &u) in uploaders.iter().enumerate() {
            if exhausted[u] || !nodes[u].can_upload(cfg.busy_fraction) {
                continue;
            }
            if stale[u] {
                picks[u] = pick(
                    &nodes,
                    u,
                    holders,
                    &in_flight,
                    &blocked,
                    cfg.busy_fraction,
                    &mut rng,
                );
                stale[u] = false;
            }
            let Some(p) = picks[u] else {
                exhausted[u] = true;
                continue;
            };
            // Sources first (their upload is the scarcest), then idle uploaders before second
            // slots (a first transfer runs at full rate, a second one halves both), then the
            // rarest chunk, then the uploaders' order (fastest first).
            let key = (!nodes[u].peer.source, nodes[u].uploads, p.rarity, rank);
            if best.is_none_or(|(k, _)| key < k) {
                best = Some((key, p));
            }
        }
        let Some((_, p)) = best else { break };
        let order = start(state, cfg, &nodes, p.from, p.to, p.chunk, now, next_id);
        next_id += 1;
        let rate = expected_rate(&nodes[p.from], &nodes[p.to]);
        nodes[p.from].load_up += rate;
        nodes[p.to].load_down += rate;
        nodes[p.from].uploads += 1;
        nodes[p.from].uploads_to_slow += nodes[p.to].slow_downloader as u32;
        nodes[p.to].downloads += 1;
        nodes[p.to].from_sources += nodes[p.from].peer.source as u32;
        nodes[p.to].incoming.insert(p.chunk);
        in_flight[p.chunk] += 1;
        orders.push(Order::Start(order));
        for &u in &uploaders {
            if let Some(q) = picks[u]
                && (u == p.from || q.chunk == p.chunk || q.to == p.to)
            {
                stale[u] = true;
            }
        }
    }

    // 3. End game and rescue: a peer with a free slot and nothing new to fetch gets a second
    //    copy of a transfer that another uploader is expected to finish much sooner.
    let transfers: Vec<_> = state
        .transfers()
        .filter(|t| now < t.deadline && index.contains_key(&t.to))
        .collect();
    for d in 0..nodes.len() {
        if !nodes[d].has_room(true, cfg.busy_fraction) {
            continue;
        }
        let peer = nodes[d].peer;
        let missing = peer.has.len() - peer.has.count();
        if nodes[d].incoming.count() < missing {
            continue;
        }
        let mut mine: Vec<_> = transfers.iter().filter(|t| t.to == peer.id).collect();
        mine.sort_by(|a, b| {
            b.expected_end
                .total_cmp(&a.expected_end)
                .then(a.id.cmp(&b.id))
        });
        for t in mine {
            if !nodes[d].has_room(true, cfg.busy_fraction) {
                break;
            }
            let copies = transfers
                .iter()
                .filter(|o| o.to == t.to && o.chunk == t.chunk)
                .count();
            if copies > 1 {
                continue;
            }
            let size = state.chunks()[t.chunk].size as f64;
            // When the first copy should end: from its progress if reported, else from the
            // expectation, and if it is overdue, not before it has run as long again.
            let old_end = match t.observed_rate() {
                Some(rate) => now + (size - t.bytes_done as f64).max(0.0) / rate,
                None => t.expected_end.max(now + (now - t.started)),
            };
            let best = uploaders
                .iter()
                .copied()
                .filter(|&u| {
                    let n = &nodes[u];
                    u != d
                        && n.peer.id != t.from
                        && n.uploads < n.peer.slots.upload
                        && n.peer.has.contains(t.chunk)
                        && !blocked(t.chunk, n.peer.id, peer.id)
                })
                .map(|u| (u, expected_rate(&nodes[u], &nodes[d])))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            let Some((u, rate)) = best else { continue };
            if now + cfg.endgame_gain * size / rate >= old_end {
                continue;
            }
            let order = start(state, cfg, &nodes, u, d, t.chunk, now, next_id);
            next_id += 1;
            nodes[u].uploads += 1;
            nodes[d].downloads += 1;
            in_flight[t.chunk] += 1;
            orders.push(Order::Start(order));
        }
    }
    orders
}

/// One possible transfer: the rarest chunk an uploader can usefully send, and to whom.
#[derive(Debug, Clone, Copy)]
struct Pick {
    rarity: u32,
    chunk: usize,
    from: usize,
    to: usize,
}

/// The rarest chunk `u` holds that a peer with room wants, and the peer to send it to.
fn pick(
    nodes: &[Node],
    u: usize,
    holders: &[u32],
    in_flight: &[u32],
    blocked: &impl Fn(usize, PeerId, PeerId) -> bool,
    busy: f64,
    rng: &mut SplitMix64,
) -> Option<Pick> {
    let up = &nodes[u];
    let from_source = up.peer.source;
    // A slow downloader holds a slot for a long time while using little of it: it gets at most
    // one of an uploader's slots, so the others keep serving peers that can use them.
    let slow_lane_full = up.peer.slots.upload >= 2 && up.uploads_to_slow >= 1;
    let takers: Vec<usize> = (0..nodes.len())
        .filter(|&d| d != u && nodes[d].has_room(from_source, busy))
        .filter(|&d| !up.slow_uploader || nodes[d].slow_downloader)
        .filter(|&d| !(slow_lane_full && nodes[d].slow_downloader))
        .collect();
    if takers.is_empty() {
        return None;
    }
    let words = up.peer.has.words().len();
    let mut wanted = vec![0u64; words];
    for &d in &takers {
        let n = &nodes[d];
        for (w, slot) in wanted.iter_mut().enumerate() {
            *slot |= !n.peer.has.words()[w] & !n.incoming.words()[w];
        }
    }
    let mut candidates: Vec<(u32, u64, usize)> = Vec::new();
    for (w, (&have, &want)) in up.peer.has.words().iter().zip(&wanted).enumerate() {
        let mut bits = have & want;
        while bits != 0 {
            let c = w * 64 + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            candidates.push((holders[c] + in_flight[c], rng.next_u64(), c));
        }
    }
    candidates.sort_unstable();
    for (rarity, _, c) in candidates {
        let best = takers
            .iter()
            .copied()
            .filter(|&d| nodes[d].wants(c) && !blocked(c, up.peer.id, nodes[d].peer.id))
            .map(|d| {
                let n = &nodes[d];
                // What a source sends once must spread fast: it avoids peers known to upload
                // slowly. Then fewer downloads first (spread the load), then better forwarders.
                let poor_forwarder = from_source && n.slow_uploader;
                let forward = if from_source { -n.up_rate } else { 0.0 };
                (poor_forwarder, n.downloads, forward, rng.next_u64(), d)
            })
            .min_by(|a, b| {
                a.0.cmp(&b.0)
                    .then(a.1.cmp(&b.1))
                    .then(a.2.total_cmp(&b.2))
                    .then(a.3.cmp(&b.3))
            });
        if let Some((_, _, _, _, d)) = best {
            return Some(Pick {
                rarity,
                chunk: c,
                from: u,
                to: d,
            });
        }
    }
    None
}

fn expected_rate(up: &Node, down: &Node) -> f64 {
    (up.up_rate / (up.uploads + 1) as f64).min(down.down_rate / (down.downloads + 1) as f64)
}

#[allow(clippy::too_many_arguments)]
fn start(
    state: &SwarmState,
    cfg: &PlannerConfig,
    nodes: &[Node],
    u: usize,
    d: usize,
    chunk: usize,
    now: f64,
    id: u64,
) -> StartOrder {
    let (up, down) = (&nodes[u], &nodes[d]);
    let size = state.chunks()[chunk].size as f64;
    let rate = expected_rate(up, down).max(1.0);
    let worst = (up.up_rate / up.peer.slots.upload.max(1) as f64)
        .min(down.down_rate / down.peer.slots.download.max(1) as f64)
        .max(1.0);
    let backoff = 2f64.powi(state.attempts(chunk, down.peer.id).min(6) as i32);
    StartOrder {
        id: TransferId(id),
        chunk,
        from: up.peer.id,
        to: down.peer.id,
        expected_end: now + size / rate,
        deadline: now + (cfg.timeout_factor * size / worst).max(cfg.min_timeout) * backoff,
    }
}
