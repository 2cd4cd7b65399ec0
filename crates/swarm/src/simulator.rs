//! A discrete-event simulation of a swarm, driving the real planner.
//!
//! Each node has a full-duplex link (upload and download capacities); nodes may sit behind a
//! switch whose uplink all traffic in or out of it shares. Transfers share capacities max-min
//! fairly, like TCP flows. Between two events every rate is constant, so the simulation jumps from
//! one event (a transfer's first byte, end or failure, a join, a departure, a deadline, a
//! manifest change) to the next. The planner learns rates only from what it observes, exactly as
//! the master does.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};

use crate::bound::completion_bound;
use crate::chunk_hash::ChunkHash;
use crate::chunk_set::ChunkSet;
use crate::error::SwarmError;
use crate::fair_share::max_min_rates;
use crate::planner::{CancelReason, Order, plan};
use crate::rng::SplitMix64;
use crate::scenario::Scenario;
use crate::state::{ChunkMeta, Failure, PeerId, SwarmState, TransferId};

/// The outcome of one simulated run. Times in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct SimReport {
    /// When every peer present at the end held every chunk.
    pub completion: f64,
    /// Kumar & Ross lower bound for the peers present at the end.
    pub bound: f64,
    pub ratio: f64,
    /// `max(arrival + missing/d)` over the peers present at the end, taking each one's last
    /// (re)connection and what it lacked then, when that exceeds `bound`: the part of the ratio
    /// that late joins and returns made unavoidable.
    pub late_join_bound: Option<f64>,
    /// Completion and bound for the peers not marked slow, when some are (the bound here also
    /// counts late joins).
    pub fast: Option<(f64, f64)>,
    pub transfers: u64,
    pub failed: u64,
    pub timed_out: u64,
    /// Transfers cancelled because another copy arrived first, the chunk became obsolete or a
    /// peer left.
    pub cancelled: u64,
    /// Bytes that moved, including failed and cancelled transfers.
    pub bytes_moved: f64,
}

impl SimReport {
    /// The last line `dailies swarm simulate` prints.
    pub fn summary_line(&self) -> String {
        let mut line = format!(
            "completion={:.2}s bound={:.2}s ratio={:.3}",
            self.completion, self.bound, self.ratio
        );
        if let Some(late) = self.late_join_bound {
            line.push_str(&format!(
                " late_join_bound={late:.2}s late_join_ratio={:.3}",
                self.completion / late
            ));
        }
        if let Some((c, b)) = self.fast {
            line.push_str(&format!(
                " fast_completion={c:.2}s fast_bound={b:.2}s fast_ratio={:.3}",
                c / b
            ));
        }
        line.push_str(&format!(
            " transfers={} failed={} timed_out={} cancelled={}",
            self.transfers, self.failed, self.timed_out, self.cancelled
        ));
        line
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Happening {
    Join(usize),
    Leave(usize),
    Change(usize),
}

struct Scheduled {
    at: f64,
    seq: u64,
    what: Happening,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Scheduled {}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        other.at.total_cmp(&self.at).then(other.seq.cmp(&self.seq))
    }
}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// One transfer's bytes on the simulated wire.
struct Flow {
    from: usize,
    to: usize,
    size: f64,
    done: f64,
    /// Breaks after this many bytes, if it is one of the failing ones.
    fail_at: Option<f64>,
    ready_at: f64,
    rate: f64,
}

impl Flow {
    fn target(&self) -> f64 {
        self.fail_at.unwrap_or(self.size)
    }

    fn next_event(&self, now: f64) -> f64 {
        if self.ready_at > now {
            self.ready_at
        } else if self.rate > 0.0 {
            now + (self.target() - self.done).max(0.0) / self.rate
        } else {
            f64::INFINITY
        }
    }
}

/// How often peers report transfer progress, in seconds.
const PROGRESS_EVERY: f64 = 0.5;

/// A safety net against a planner bug turning into an endless loop.
const MAX_STEPS: u64 = 50_000_000;

/// Runs `scenario` to completion. `on_frame(now, state)` is called every `frame_every` simulated
/// seconds (if given) and once at the end, to draw the live table.
pub fn simulate(
    scenario: &Scenario,
    seed: u64,
    frame_every: Option<f64>,
    on_frame: &mut dyn FnMut(f64, &SwarmState),
) -> Result<SimReport, SwarmError> {
    let mut sim = Sim::new(scenario, seed);
    let mut next_frame = frame_every.map(|_| 0.0);
    let mut step: u64 = 0;
    loop {
        step += 1;
        if step > MAX_STEPS {
            return Err(SwarmError::Stalled {
                at: sim.now,
                incomplete: sim.incomplete(),
            });
        }
        sim.run_happenings();
        if sim.finished() {
            break;
        }
        sim.report_progress();
        let orders = plan(
            &sim.state,
            &scenario.planner,
            sim.now,
            seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        sim.execute(orders);
        sim.share_bandwidth();
        if let (Some(every), Some(at)) = (frame_every, next_frame.as_mut())
            && sim.now >= *at
        {
            on_frame(sim.now, &sim.state);
            *at = sim.now + every;
        }
        let next = sim.next_time();
        if !next.is_finite() {
            return Err(SwarmError::Stalled {
                at: sim.now,
                incomplete: sim.incomplete(),
            });
        }
        sim.advance(next);
    }
    on_frame(sim.now, &sim.state);
    Ok(sim.report())
}

struct Sim<'a> {
    sc: &'a Scenario,
    rng: SplitMix64,
    now: f64,
    state: SwarmState,
    /// What each node has on disk, kept across disconnections. Index 0 is the source.
    disk: Vec<ChunkSet>,
    /// Each node's last (re)connection: when, and how many bytes it lacked then.
    arrived: Vec<(f64, f64)>,
    complete_at: Vec<Option<f64>>,
    flows: BTreeMap<TransferId, Flow>,
    agenda: BinaryHeap<Scheduled>,
    seq: u64,
    pending_arrivals: usize,
    generation: u64,
    capacity: Vec<f64>,
    next_progress: f64,
    report: SimReport,
}

impl<'a> Sim<'a> {
    fn new(sc: &'a Scenario, seed: u64) -> Self {
        let chunks = synthetic_chunks(sc.chunks, sc.chunk_size, 0);
        let nodes = sc.peers.len() + 1;
        let mut capacity = Vec::with_capacity(2 * nodes + 2 * sc.switches.len());
        for spec in std::iter::once(&sc.source).chain(&sc.peers) {
            capacity.push(spec.up);
            capacity.push(spec.down);
        }
        for sw in &sc.switches {
            capacity.push(sw.uplink);
            capacity.push(sw.uplink);
        }
        let mut sim = Sim {
            sc,
            rng: SplitMix64::new(seed),
            now: 0.0,
            state: SwarmState::new(chunks),
            disk: (0..nodes)
                .map(|i| {
                    if i == 0 {
                        ChunkSet::full(sc.chunks)
                    } else {
                        ChunkSet::empty(sc.chunks)
                    }
                })
                .collect(),
            arrived: vec![(0.0, sc.bytes()); nodes],
            complete_at: vec![None; nodes],
            flows: BTreeMap::new(),
            agenda: BinaryHeap::new(),
            seq: 0,
            pending_arrivals: 0,
            generation: 0,
            capacity,
            next_progress: 0.0,
            report: SimReport {
                completion: 0.0,
                bound: 0.0,
                ratio: 0.0,
                late_join_bound: None,
                fast: None,
                transfers: 0,
                failed: 0,
                timed_out: 0,
                cancelled: 0,
                bytes_moved: 0.0,
            },
        };
        sim.schedule(0.0, Happening::Join(0));
        for (i, p) in sc.peers.iter().enumerate() {
            let node = i + 1;
            sim.schedule(p.join_at, Happening::Join(node));
            if let Some(leave) = p.leave_at {
                sim.schedule(leave.max(p.join_at), Happening::Leave(node));
                if let Some(back) = p.rejoin_at {
                    sim.schedule(back.max(leave), Happening::Join(node));
                }
            }
        }
        for (k, c) in sc.changes.iter().enumerate() {
            sim.schedule(c.at, Happening::Change(k));
        }
        sim
    }

    fn spec(&self, node: usize) -> &crate::scenario::NodeSpec {
        if node == 0 {
            &self.sc.source
        } else {
            &self.sc.peers[node - 1]
        }
    }

    fn schedule(&mut self, at: f64, what: Happening) {
        if matches!(what, Happening::Join(_) | Happening::Change(_)) {
            self.pending_arrivals += 1;
        }
        self.seq += 1;
        self.agenda.push(Scheduled {
            at,
            seq: self.seq,
            what,
        });
    }

    fn run_happenings(&mut self) {
        while self.agenda.peek().is_some_and(|s| s.at <= self.now) {
            let Some(item) = self.agenda.pop() else { break };
            match item.what {
                Happening::Join(node) => {
                    self.pending_arrivals -= 1;
                    let spec = self.spec(node);
                    let (source, slots) = (node == 0, spec.slots);
                    let has = self.disk[node].clone();
                    let missing = (self.sc.chunks - has.count()) as f64 * self.sc.chunk_size as f64;
                    self.arrived[node] = (self.now, missing);
                    let cancels = self.state.add_peer(PeerId(node as u32), has, source, slots);
                    self.drop_flows(&cancels);
                    tracing::debug!(node, t = self.now, "joined");
                }
                Happening::Leave(node) => {
                    let cancels = self.state.remove_peer(PeerId(node as u32));
                    self.drop_flows(&cancels);
                    tracing::debug!(node, t = self.now, "left");
                }
                Happening::Change(k) => {
                    self.pending_arrivals -= 1;
                    self.change_manifest(self.sc.changes[k].fraction);
                }
            }
        }
    }

    /// Replaces a fraction of the chunks with new content, as when files change on the master.
    fn change_manifest(&mut self, fraction: f64) {
        self.generation += 1;
        let n = self.sc.chunks;
        let replaced = ((n as f64 * fraction).round() as usize).min(n);
        let mut order: Vec<usize> = (0..n).collect();
        self.rng.shuffle(&mut order);
        let mut chunks = self.state.chunks().to_vec();
        let fresh = synthetic_chunks(n, self.sc.chunk_size, self.generation);
        for &c in &order[..replaced] {
            chunks[c] = fresh[c];
            for (node, disk) in self.disk.iter_mut().enumerate() {
                if node != 0 {
                    disk.remove(c);
                }
            }
        }
        let cancels = self.state.replace_chunks(chunks);
        self.drop_flows(&cancels);
        for (node, done) in self.complete_at.iter_mut().enumerate() {
            if node != 0 && !self.disk[node].is_full() {
                *done = None;
            }
        }
    }

    fn drop_flows(&mut self, cancels: &[Order]) {
        for order in cancels {
            if let Order::Cancel { id, .. } = order
                && let Some(flow) = self.flows.remove(id)
            {
                self.report.cancelled += 1;
                self.report.bytes_moved += flow.done;
            }
        }
    }

    fn execute(&mut self, orders: Vec<Order>) {
        for order in &orders {
            match order {
                // The downloader reports what it received before the deadline.
                Order::Cancel {
                    id,
                    reason: CancelReason::TimedOut,
                } => {
                    let done = self.flows.get(id).map_or(0, |f| f.done as u64);
                    self.state.fail(*id, self.now, done, Failure::TimedOut);
                }
                _ => self.state.apply(order, self.now),
            }
            match order {
                Order::Start(s) => {
                    self.report.transfers += 1;
                    let size = self.state.chunks()[s.chunk].size as f64;
                    let fail_at =
                        (self.rng.unit() < self.sc.fail_rate).then(|| size * self.rng.unit());
                    self.flows.insert(
                        s.id,
                        Flow {
                            from: s.from.0 as usize,
                            to: s.to.0 as usize,
                            size,
                            done: 0.0,
                            fail_at,
                            ready_at: self.now + self.sc.latency,
                            rate: 0.0,
                        },
                    );
                }
                Order::Cancel { id, reason } => {
                    if let Some(flow) = self.flows.remove(id) {
                        self.report.bytes_moved += flow.done;
                        match reason {
                            CancelReason::TimedOut => self.report.timed_out += 1,
                            _ => self.report.cancelled += 1,
                        }
                    }
                }
            }
        }
    }

    /// Downloaders report their progress to the master every [`PROGRESS_EVERY`] seconds.
    fn report_progress(&mut self) {
        if self.now < self.next_progress {
            return;
        }
        self.next_progress = self.now + PROGRESS_EVERY;
        for (id, f) in &self.flows {
            self.state.progress(*id, f.done as u64, self.now);
        }
    }

    fn share_bandwidth(&mut self) {
        let nodes = self.sc.peers.len() + 1;
        let mut ids = Vec::with_capacity(self.flows.len());
        let mut paths = Vec::with_capacity(self.flows.len());
        for (id, f) in &self.flows {
            if f.ready_at > self.now {
                continue;
            }
            let mut path = vec![2 * f.from, 2 * f.to + 1];
            let (a, b) = (self.spec(f.from).switch, self.spec(f.to).switch);
            if a != b {
                if let Some(sw) = a {
                    path.push(2 * nodes + 2 * sw);
                }
                if let Some(sw) = b {
                    path.push(2 * nodes + 2 * sw + 1);
                }
            }
            ids.push(*id);
            paths.push(path);
        }
        let rates = max_min_rates(&self.capacity, &paths);
        for f in self.flows.values_mut() {
            f.rate = 0.0;
        }
        for (id, rate) in ids.into_iter().zip(rates) {
            if let Some(f) = self.flows.get_mut(&id) {
                f.rate = rate;
            }
        }
    }

    fn next_time(&self) -> f64 {
        let flows = self
            .flows
            .values()
            .map(|f| f.next_event(self.now))
            .fold(f64::INFINITY, f64::min);
        let agenda = self.agenda.peek().map_or(f64::INFINITY, |s| s.at);
        let deadline = self
            .state
            .next_deadline()
            .map_or(f64::INFINITY, |d| d.max(self.now));
        let progress = if self.flows.is_empty() {
            f64::INFINITY
        } else {
            self.next_progress.max(self.now)
        };
        flows.min(agenda).min(deadline).min(progress)
    }

    fn advance(&mut self, to: f64) {
        let dt = to - self.now;
        let mut ended = Vec::new();
        for (id, f) in &mut self.flows {
            let ends = f.ready_at <= self.now && f.next_event(self.now) <= to;
            if f.ready_at <= self.now {
                f.done = (f.done + f.rate * dt).min(f.target());
            }
            if ends {
                f.done = f.target();
                ended.push(*id);
            }
        }
        self.now = to;
        for id in ended {
            let Some(flow) = self.flows.remove(&id) else {
                continue;
            };
            self.report.bytes_moved += flow.done;
            if flow.fail_at.is_some() {
                self.report.failed += 1;
                self.state
                    .fail(id, self.now, flow.done as u64, Failure::Error);
                continue;
            }
            let chunk = self.state.transfer(id).map(|t| t.chunk);
            let cancels = self.state.complete(id, self.now);
            self.drop_flows(&cancels);
            if let Some(chunk) = chunk {
                self.disk[flow.to].insert(chunk);
                if self.disk[flow.to].is_full() && self.complete_at[flow.to].is_none() {
                    self.complete_at[flow.to] = Some(self.now);
                }
            }
        }
    }

    fn incomplete(&self) -> usize {
        self.state
            .peers()
            .filter(|p| !p.source && !p.is_complete())
            .count()
    }

    fn finished(&self) -> bool {
        self.pending_arrivals == 0 && self.state.is_done()
    }

    fn report(mut self) -> SimReport {
        let sc = self.sc;
        let staying: Vec<usize> = (1..=sc.peers.len())
            .filter(|&n| sc.peers[n - 1].stays())
            .collect();
        let bound_for = |nodes: &[usize]| {
            let down: Vec<f64> = nodes.iter().map(|&n| sc.peers[n - 1].down).collect();
            let up: Vec<f64> = nodes.iter().map(|&n| sc.peers[n - 1].up).collect();
            completion_bound(sc.bytes(), sc.source.up, &down, &up)
        };
        // A peer arriving late needs at least `missing/d` after it arrives: no schedule beats that.
        let arrived = &self.arrived;
        let late_for = |nodes: &[usize]| {
            nodes
                .iter()
                .map(|&n| {
                    let (at, missing) = arrived[n];
                    at + missing / sc.peers[n - 1].down
                })
                .fold(0.0, f64::max)
        };
        let late = late_for(&staying);
        self.report.completion = self.now;
        self.report.bound = bound_for(&staying);
        self.report.ratio = self.now / self.report.bound;
        if late > self.report.bound {
            self.report.late_join_bound = Some(late);
        }
        let fast: Vec<usize> = staying
            .iter()
            .copied()
            .filter(|&n| !sc.peers[n - 1].slow)
            .collect();
        if fast.len() < staying.len() && !fast.is_empty() {
            let done = fast
                .iter()
                .map(|&n| self.complete_at[n].unwrap_or(self.now))
                .fold(0.0, f64::max);
            // This ratio is ours, not Kumar & Ross's: it may use the late-join bound too.
            self.report.fast = Some((done, bound_for(&fast).max(late_for(&fast))));
        }
        self.report
    }
}

/// Chunk identities for the simulation: distinct per index and generation.
fn synthetic_chunks(n: usize, size: u64, generation: u64) -> Vec<ChunkMeta> {
    (0..n)
        .map(|i| {
            let mut seed = [0u8; 16];
            seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
            seed[8..].copy_from_slice(&generation.to_le_bytes());
            ChunkMeta {
                hash: ChunkHash::of(&seed),
                size,
            }
        })
        .collect()
}
