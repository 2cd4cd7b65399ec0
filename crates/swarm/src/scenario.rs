//! What a simulation runs: the nodes with their link capacities, when they come and go, the
//! data, failures and manifest changes. Read from a small line-based file or built from a preset.
//!
//! ```text
//! # 48 gigabit peers and 2 slow ones behind a shared office uplink
//! chunks 256
//! chunk_size 64MiB
//! fail_rate 0.02          # fraction of transfers that break midway
//! latency 5ms             # request round trips before a transfer's bytes flow
//! slots up=2 down=3       # default slots for the nodes declared after this line
//! source up=1Gbit down=1Gbit
//! switch office uplink=1Gbit
//! peers 48 up=1Gbit down=1Gbit
//! peers 2 up=10Mbit down=10Mbit switch=office
//! peer up=100MB/s down=100MB/s join=30s leave=60s rejoin=90s
//! change at=40s fraction=0.1    # the master's folder changes: 10 % of the chunks replaced
//! ```
//!
//! Rates take `bit`/`kbit`/`Mbit`/`Gbit` (per second) or `B/s`, `kB/s`, `MB/s`, `GB/s`; sizes
//! `B`, `KiB`, `MiB`, `GiB`, `kB`, `MB`, `GB`; times `ms`, `s`, `min`. Bare numbers are bytes,
//! bytes per second and seconds.

use crate::error::SwarmError;
use crate::planner::PlannerConfig;
use crate::rng::SplitMix64;
use crate::state::Slots;

/// One machine of the simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSpec {
    /// Upload capacity, bytes/s.
    pub up: f64,
    /// Download capacity, bytes/s.
    pub down: f64,
    pub join_at: f64,
    /// Disconnects at this time (keeping what it has on disk)...
    pub leave_at: Option<f64>,
    /// ...and comes back then, if ever.
    pub rejoin_at: Option<f64>,
    /// Index into [`Scenario::switches`]; traffic leaving or entering the switch shares its uplink.
    pub switch: Option<usize>,
    pub slots: Slots,
    /// Marked slow by the scenario (reported separately).
    pub slow: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SwitchSpec {
    pub name: String,
    /// Capacity of the switch's uplink in each direction, bytes/s.
    pub uplink: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ManifestChange {
    pub at: f64,
    /// Fraction of the chunks replaced by new content.
    pub fraction: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub chunks: usize,
    pub chunk_size: u64,
    pub source: NodeSpec,
    pub peers: Vec<NodeSpec>,
    pub switches: Vec<SwitchSpec>,
    /// Probability that a transfer breaks at a random point.
    pub fail_rate: f64,
    /// Seconds between a transfer's order and its first byte.
    pub latency: f64,
    pub changes: Vec<ManifestChange>,
    pub planner: PlannerConfig,
}

/// Gigabit Ethernet, in bytes per second.
pub const GIGABIT: f64 = 125e6;
/// Hard caps; within them the planner opens a further transfer only while a node's capacity is
/// not yet used (see `PlannerConfig::busy_fraction`). 6 measured best on the mixed scenarios.
pub const DEFAULT_SLOTS: Slots = Slots {
    upload: 6,
    download: 6,
};
const DEFAULT_LATENCY: f64 = 0.005;

impl NodeSpec {
    pub fn new(up: f64, down: f64) -> Self {
        NodeSpec {
            up,
            down,
            join_at: 0.0,
            leave_at: None,
            rejoin_at: None,
            switch: None,
            slots: DEFAULT_SLOTS,
            slow: false,
        }
    }

    /// Present at the end (it never leaves, or it comes back).
    pub fn stays(&self) -> bool {
        self.leave_at.is_none() || self.rejoin_at.is_some()
    }
}

/// The scenario kinds of the benchmark matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// Every node on gigabit, both ways.
    Equal,
    /// Peers uploading at 100 Mbit, 1 Gbit or 2.5 Gbit and downloading at 1 or 2.5 Gbit (never
    /// less than they upload).
    Mixed,
    /// Gigabit, but 5 % of the peers (at least one) are 100× slower.
    Slow,
    /// Gigabit, 2 % of the transfers break midway.
    Failing,
    /// Gigabit; 10 % of the peers join during the first tenth of the run, 10 % leave midway and
    /// come back, 5 % leave for good.
    Churn,
    /// All of the above at once.
    Hostile,
}

impl Preset {
    pub const ALL: [Preset; 6] = [
        Preset::Equal,
        Preset::Mixed,
        Preset::Slow,
        Preset::Failing,
        Preset::Churn,
        Preset::Hostile,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Preset::Equal => "equal",
            Preset::Mixed => "mixed",
            Preset::Slow => "slow",
            Preset::Failing => "failing",
            Preset::Churn => "churn",
            Preset::Hostile => "hostile",
        }
    }

    pub fn parse(name: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Whether the goal is the clean one (≤ 1.15) or the one with churn and slow peers (≤ 1.5).
    pub fn is_clean(self) -> bool {
        matches!(self, Preset::Equal | Preset::Mixed)
    }
}

impl Scenario {
    /// A preset scenario with `peers` peers and `chunks` chunks of 64 MiB, drawn from `seed`.
    pub fn preset(kind: Preset, peers: usize, chunks: usize, seed: u64) -> Scenario {
        let mut rng = SplitMix64::new(seed ^ 0x5CE7_A410);
        let mut s = Scenario {
            chunks,
            chunk_size: 64 << 20,
            source: NodeSpec::new(GIGABIT, GIGABIT),
            peers: (0..peers)
                .map(|_| NodeSpec::new(GIGABIT, GIGABIT))
                .collect(),
            switches: Vec::new(),
            fail_rate: 0.0,
            latency: DEFAULT_LATENCY,
            changes: Vec::new(),
            planner: PlannerConfig::default(),
        };
        // Roughly how long the clean run takes, to place churn events inside it.
        let span = (chunks as f64 * s.chunk_size as f64 / GIGABIT) * 1.1;
        let mixed = matches!(kind, Preset::Mixed | Preset::Hostile);
        let slow = matches!(kind, Preset::Slow | Preset::Hostile);
        let churn = matches!(kind, Preset::Churn | Preset::Hostile);
        if mixed {
            // Downloads of at least a gigabit, so the bound is not simply the slowest
            // downloader's F/d_min and the ratio shows how well uneven uploads are used.
            let classes = [GIGABIT / 10.0, GIGABIT, 2.5 * GIGABIT];
            for p in &mut s.peers {
                p.up = classes[rng.below(3)];
                p.down = classes[1 + rng.below(2)].max(p.up);
            }
        }
        if slow {
            let count = (peers as f64 * 0.05).round().max(1.0) as usize;
            for p in pick(&mut rng, peers, count) {
                let node = &mut s.peers[p];
                node.up /= 100.0;
                node.down /= 100.0;
                node.slow = true;
            }
        }
        if matches!(kind, Preset::Failing | Preset::Hostile) {
            s.fail_rate = 0.02;
        }
        if churn && peers >= 2 {
            let tenth = (peers / 10).max(1);
            let chosen = pick(
                &mut rng,
                peers,
                (2 * tenth + (peers / 20).max(1)).min(peers),
            );
            for (k, &p) in chosen.iter().enumerate() {
                let node = &mut s.peers[p];
                if k < tenth {
                    node.join_at = rng.unit() * span * 0.1;
                } else if k < 2 * tenth {
                    let leave = (0.1 + 0.6 * rng.unit()) * span;
                    node.leave_at = Some(leave);
                    node.rejoin_at = Some(leave + (0.05 + 0.2 * rng.unit()) * span);
                } else if k + 1 < chosen.len() || chosen.len() > 2 {
                    node.leave_at = Some((0.1 + 0.6 * rng.unit()) * span);
                }
            }
        }
        s
    }

    /// Parses the line-based format described in this module's documentation.
    pub fn parse(text: &str) -> Result<Scenario, SwarmError> {
        let mut s = Scenario {
            chunks: 256,
            chunk_size: 64 << 20,
            source: NodeSpec::new(GIGABIT, GIGABIT),
            peers: Vec::new(),
            switches: Vec::new(),
            fail_rate: 0.0,
            latency: DEFAULT_LATENCY,
            changes: Vec::new(),
            planner: PlannerConfig::default(),
        };
        let mut slots = DEFAULT_SLOTS;
        for (n, raw) in text.lines().enumerate() {
            let line_no = n + 1;
            let err = |message: String| SwarmError::Scenario {
                line: line_no,
                message,
            };
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut words = line.split_whitespace();
            let keyword = words.next().unwrap_or("");
            let rest: Vec<&str> = words.collect();
            let (positional, options) = split_options(&rest).map_err(err)?;
            let one = |what: &str| -> Result<&str, SwarmError> {
                match positional.as_slice() {
                    [v] => Ok(*v),
                    _ => Err(err(format!("`{keyword}` takes one {what}"))),
                }
            };
            match keyword {
                "chunks" => s.chunks = parse_count(one("number")?).map_err(err)?,
                "chunk_size" => s.chunk_size = parse_size(one("size")?).map_err(err)? as u64,
                "fail_rate" => {
                    s.fail_rate = parse_number(one("fraction")?).map_err(err)?;
                    if !(0.0..1.0).contains(&s.fail_rate) {
                        return Err(err("fail_rate must be in [0, 1)".into()));
                    }
                }
                "latency" => s.latency = parse_time(one("time")?).map_err(err)?,
                "slots" => {
                    for (k, v) in &options {
                        match *k {
                            "up" => slots.upload = parse_count(v).map_err(err)? as u32,
                            "down" => slots.download = parse_count(v).map_err(err)? as u32,
                            _ => return Err(err(format!("unknown slots option `{k}`"))),
                        }
                    }
                    if slots.upload == 0 || slots.download == 0 {
                        return Err(err("slots must be at least 1".into()));
                    }
                }
                "switch" => {
                    let name = one("name")?.to_owned();
                    let mut uplink = GIGABIT;
                    for (k, v) in &options {
                        match *k {
                            "uplink" => uplink = parse_rate(v).map_err(err)?,
                            _ => return Err(err(format!("unknown switch option `{k}`"))),
                        }
                    }
                    s.switches.push(SwitchSpec { name, uplink });
                }
                "source" | "peer" | "peers" => {
                    let count = match (keyword, positional.as_slice()) {
                        ("peers", [n]) => parse_count(n).map_err(err)?,
                        ("peers", _) => return Err(err("`peers` takes a count".into())),
                        (_, []) => 1,
                        _ => return Err(err(format!("`{keyword}` takes only options"))),
                    };
                    let mut node = NodeSpec::new(GIGABIT, GIGABIT);
                    node.slots = slots;
                    for (k, v) in &options {
                        match *k {
                            "up" => node.up = parse_rate(v).map_err(err)?,
                            "down" => node.down = parse_rate(v).map_err(err)?,
                            "join" => node.join_at = parse_time(v).map_err(err)?,
                            "leave" => node.leave_at = Some(parse_time(v).map_err(err)?),
                            "rejoin" => node.rejoin_at = Some(parse_time(v).map_err(err)?),
                            "slow" => node.slow = v.is_empty() || *v == "yes" || *v == "true",
                            "switch" => {
                                let index = s.switches.iter().position(|sw| sw.name == *v);
                                node.switch = Some(index.ok_or_else(|| {
                                    err(format!("switch `{v}` not declared above"))
                                })?);
                            }
                            _ => return Err(err(format!("unknown node option `{k}`"))),
                        }
                    }
                    if node.up <= 0.0 || node.down <= 0.0 {
                        return Err(err("rates must be positive".into()));
                    }
                    if let (Some(l), Some(r)) = (node.leave_at, node.rejoin_at)
                        && r <= l
                    {
                        return Err(err("rejoin must come after leave".into()));
                    }
                    if keyword == "source" {
                        if node.leave_at.is_some() || node.join_at > 0.0 {
                            return Err(err("the source is there from start to end".into()));
                        }
                        s.source = node;
                    } else {
                        s.peers.extend(std::iter::repeat_n(node, count));
                    }
                }
                "change" => {
                    let mut change = ManifestChange {
                        at: 0.0,
                        fraction: 0.1,
                    };
                    for (k, v) in &options {
                        match *k {
                            "at" => change.at = parse_time(v).map_err(err)?,
                            "fraction" => change.fraction = parse_number(v).map_err(err)?,
                            _ => return Err(err(format!("unknown change option `{k}`"))),
                        }
                    }
                    if !(0.0..=1.0).contains(&change.fraction) {
                        return Err(err("fraction must be in [0, 1]".into()));
                    }
                    s.changes.push(change);
                }
                other => return Err(err(format!("unknown keyword `{other}`"))),
            }
        }
        if s.peers.is_empty() {
            return Err(SwarmError::Scenario {
                line: 0,
                message: "no peers declared".into(),
            });
        }
        if s.chunk_size == 0 || s.chunks == 0 {
            return Err(SwarmError::Scenario {
                line: 0,
                message: "chunks and chunk_size must be positive".into(),
            });
        }
        Ok(s)
    }

    /// Total bytes of the initial data.
    pub fn bytes(&self) -> f64 {
        self.chunks as f64 * self.chunk_size as f64
    }
}

/// `count` distinct indices below `n`.
fn pick(rng: &mut SplitMix64, n: usize, count: usize) -> Vec<usize> {
    let mut all: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut all);
    all.truncate(count);
    all
}

type Options<'a> = Vec<(&'a str, &'a str)>;

fn split_options<'a>(words: &[&'a str]) -> Result<(Vec<&'a str>, Options<'a>), String> {
    let mut positional = Vec::new();
    let mut options = Vec::new();
    for w in words {
        match w.split_once('=') {
            Some((k, v)) => options.push((k, v)),
            None if *w == "slow" => options.push((*w, "")),
            None if !options.is_empty() => return Err(format!("`{w}` after options")),
            None => positional.push(*w),
        }
    }
    Ok((positional, options))
}

fn split_unit(s: &str) -> Result<(f64, &str), String> {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == '-' || c == '+'))
        .unwrap_or(s.len());
    // "1e3" vs "10MB": an 'e' followed by a non-digit is part of the unit.
    let (num, unit) = s.split_at(end);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` does not start with a number"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("`{s}` is not a usable number"));
    }
    Ok((value, unit.trim()))
}

fn parse_number(s: &str) -> Result<f64, String> {
    match split_unit(s)? {
        (v, "") => Ok(v),
        _ => Err(format!("`{s}` should be a plain number")),
    }
}

fn parse_count(s: &str) -> Result<usize, String> {
    s.parse()
        .map_err(|_| format!("`{s}` should be a whole number"))
}

/// Bytes per second.
pub fn parse_rate(s: &str) -> Result<f64, String> {
    let (v, unit) = split_unit(s)?;
    let factor = match unit {
        "" | "B/s" => 1.0,
        "bit" => 1.0 / 8.0,
        "kbit" => 1e3 / 8.0,
        "Mbit" => 1e6 / 8.0,
        "Gbit" => 1e9 / 8.0,
        "kB/s" => 1e3,
        "MB/s" => 1e6,
        "GB/s" => 1e9,
        "KiB/s" => 1024.0,
        "MiB/s" => 1024.0 * 1024.0,
        "GiB/s" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("unknown rate unit in `{s}`")),
    };
    if v == 0.0 {
        return Err(format!("rate `{s}` must be positive"));
    }
    Ok(v * factor)
}

/// Bytes.
pub fn parse_size(s: &str) -> Result<f64, String> {
    let (v, unit) = split_unit(s)?;
    let factor = match unit {
        "" | "B" => 1.0,
        "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("unknown size unit in `{s}`")),
    };
    Ok((v * factor).round())
}

/// Seconds.
pub fn parse_time(s: &str) -> Result<f64, String> {
    let (v, unit) = split_unit(s)?;
    let factor = match unit {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "min" => 60.0,
        _ => return Err(format!("unknown time unit in `{s}`")),
    };
    Ok(v * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses() {
        let text = "\
# comment
chunks 100
chunk_size 16MiB
fail_rate 0.02
latency 5ms
slots up=3 down=4
source up=2Gbit down=1Gbit
switch office uplink=100MB/s
peers 48 up=1Gbit down=1Gbit
peers 2 up=10Mbit down=10Mbit switch=office slow
peer up=100MB/s down=100MB/s join=30s leave=60s rejoin=1.5min
change at=40s fraction=0.1
";
        let s = Scenario::parse(text).unwrap();
        assert_eq!(s.chunks, 100);
        assert_eq!(s.chunk_size, 16 << 20);
        assert_eq!(s.peers.len(), 51);
        assert_eq!(s.source.up, 250e6);
        assert_eq!(s.peers[48].up, 1.25e6);
        assert_eq!(s.peers[48].switch, Some(0));
        assert!(s.peers[48].slow);
        assert_eq!(s.peers[50].rejoin_at, Some(90.0));
        assert_eq!(
            s.peers[0].slots,
            Slots {
                upload: 3,
                download: 4
            }
        );
        assert!((s.latency - 0.005).abs() < 1e-12);
        assert_eq!(s.changes.len(), 1);
    }

    #[test]
    fn mistakes_name_their_line() {
        for (text, line) in [
            ("peers 2\nbogus 1", 2),
            ("peers 2 up=fast", 1),
            ("peers 2\npeer switch=nowhere", 2),
            ("peers 2\npeer leave=10 rejoin=5", 2),
            ("fail_rate 2\npeers 1", 1),
        ] {
            match Scenario::parse(text) {
                Err(SwarmError::Scenario { line: l, .. }) => assert_eq!(l, line, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        assert!(Scenario::parse("chunks 3").is_err(), "no peers");
    }

    #[test]
    fn presets_mark_slow_and_churning_peers() {
        let s = Scenario::preset(Preset::Slow, 40, 10, 1);
        assert_eq!(s.peers.iter().filter(|p| p.slow).count(), 2);
        let c = Scenario::preset(Preset::Churn, 40, 10, 1);
        assert!(c.peers.iter().any(|p| p.join_at > 0.0));
        assert!(c.peers.iter().any(|p| p.rejoin_at.is_some()));
        assert!(c.peers.iter().any(|p| !p.stays()));
    }
}
