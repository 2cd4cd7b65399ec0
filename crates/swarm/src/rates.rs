//! Transfer rates learnt from finished, timed-out and far-overdue transfers, in bytes per second.
//!
//! Every observation belongs to a link (uploader → downloader). A node's own upload or download
//! capacity is what it has *demonstrated* on its links: a fast transfer raises the estimate at
//! once, while a slow one lowers it only when the other end is known and could have gone faster.
//! So one slow (or not yet measured) downloader cannot make a good uploader look slow.

use std::collections::BTreeMap;

use crate::state::PeerId;

/// How much of the gap to a lower observation an estimate closes at once.
const LOWER_WEIGHT: f64 = 0.5;
/// How much more than it showed a node is assumed to manage when the other end limited it.
const HEADROOM: f64 = 1.3;
/// An observation this close to an estimate counts as reaching it (request latency, rounding).
const REACHED: f64 = 0.9;
/// An observation within this factor of what the other side could give is blamed on that side.
const BLAME_MARGIN: f64 = 1.5;

#[derive(Debug, Clone, Default)]
pub struct Rates {
    up: BTreeMap<PeerId, f64>,
    down: BTreeMap<PeerId, f64>,
    links: BTreeMap<(PeerId, PeerId), f64>,
}

/// One observed transfer: `bytes_per_sec` on the link `from → to`, while `from` had
/// `uploads` transfers out and `to` had `downloads` transfers in (each counting this one).
#[derive(Debug, Clone, Copy)]
pub struct Observation {
    pub from: PeerId,
    pub to: PeerId,
    pub bytes_per_sec: f64,
    pub uploads: u32,
    pub downloads: u32,
}

impl Rates {
    /// The upload capacity `peer` has shown, if any.
    pub fn upload(&self, peer: PeerId) -> Option<f64> {
        self.up.get(&peer).copied()
    }

    pub fn download(&self, peer: PeerId) -> Option<f64> {
        self.down.get(&peer).copied()
    }

    /// The last rates seen on one link (smoothed).
    pub fn link(&self, from: PeerId, to: PeerId) -> Option<f64> {
        self.links.get(&(from, to)).copied()
    }

    /// A guess for nodes never observed: the median of what known uploaders showed, else
    /// `fallback`. Optimistic on purpose, so new nodes get tried.
    pub fn prior(&self, fallback: f64) -> f64 {
        if self.up.is_empty() {
            return fallback;
        }
        let mut known: Vec<f64> = self.up.values().copied().collect();
        known.sort_by(f64::total_cmp);
        known[known.len() / 2]
    }

    pub fn record(&mut self, obs: Observation, prior: f64) {
        let r = obs.bytes_per_sec;
        if !(r.is_finite() && r > 0.0) {
            return;
        }
        let link = self.links.entry((obs.from, obs.to)).or_insert(r);
        *link = 0.5 * *link + 0.5 * r;
        let k_up = obs.uploads.max(1) as f64;
        let k_down = obs.downloads.max(1) as f64;
        let up_known = self.up.get(&obs.from).copied();
        let down_known = self.down.get(&obs.to).copied();
        let up = Side {
            known: up_known.is_some(),
            limited_to_this: up_known.unwrap_or(prior) / k_up <= r * BLAME_MARGIN,
        };
        let down = Side {
            known: down_known.is_some(),
            limited_to_this: down_known.unwrap_or(prior) / k_down <= r * BLAME_MARGIN,
        };
        update(&mut self.up, obs.from, r * k_up, down, prior);
        update(&mut self.down, obs.to, r * k_down, up, prior);
    }
}

/// What is known of the other end of an observed transfer.
#[derive(Clone, Copy)]
struct Side {
    /// Its capacity was measured before (not just the prior).
    known: bool,
    /// Its expected share was about the observed rate: it may have been the limit.
    limited_to_this: bool,
}

/// Raising is always sound (a node managed at least `demo`); lowering only when the other end is
/// known and could have gone faster, so that an unknown or slow partner never drags a node down.
fn update(map: &mut BTreeMap<PeerId, f64>, peer: PeerId, demo: f64, other: Side, prior: f64) {
    let current = map.get(&peer).copied();
    if demo >= current.unwrap_or(prior) * REACHED {
        // Limited by the other end: it can do at least this, probably more. The headroom lets
        // the planner try one more concurrent transfer and so discover the real capacity.
        let value = if other.limited_to_this {
            demo * HEADROOM
        } else {
            demo
        };
        map.insert(peer, value.max(current.unwrap_or(0.0)));
    } else if other.known && !other.limited_to_this {
        let lowered = match current {
            None => demo,
            Some(est) => est + LOWER_WEIGHT * (demo - est),
        };
        map.insert(peer, lowered);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(from: u32, to: u32, r: f64) -> Observation {
        Observation {
            from: PeerId(from),
            to: PeerId(to),
            bytes_per_sec: r,
            uploads: 1,
            downloads: 1,
        }
    }

    #[test]
    fn a_slow_downloader_does_not_make_a_fast_uploader_look_slow() {
        let mut rates = Rates::default();
        rates.record(obs(1, 2, 100.0), 100.0); // fast uploader 1, fast downloader 2
        rates.record(obs(3, 4, 1.0), 100.0); // slow 3 -> 4: both look slow at first
        rates.record(obs(5, 4, 100.0), 100.0); // 4 shows it is fast
        assert!(rates.download(PeerId(4)).unwrap() >= 100.0);
        rates.record(obs(1, 4, 100.0), 100.0);
        // 4 is now known to be fast; a slow transfer 3 -> 4 lowers 3 only.
        rates.record(obs(3, 4, 1.0), 100.0);
        assert!(rates.upload(PeerId(3)).unwrap() < 10.0);
        // Known-slow downloader 6 receiving from the fast uploader 1.
        rates.record(obs(3, 6, 1.0), 1.0);
        let before = rates.upload(PeerId(1)).unwrap();
        assert!(before >= 100.0);
        rates.record(obs(1, 6, 1.0), 100.0);
        assert_eq!(rates.upload(PeerId(1)), Some(before));
        assert_eq!(rates.link(PeerId(1), PeerId(6)), Some(1.0));
    }

    #[test]
    fn concurrency_is_taken_into_account() {
        let mut rates = Rates::default();
        rates.record(
            Observation {
                uploads: 4,
                ..obs(1, 2, 25.0)
            },
            100.0,
        );
        assert_eq!(rates.upload(PeerId(1)), Some(100.0));
        // The uploader's four-way split explains the 25: the downloader is not judged slow.
        assert_eq!(rates.download(PeerId(2)), None);
    }
}
