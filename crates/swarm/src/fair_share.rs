//! Max-min fair sharing of capacities between flows: how TCP transfers through shared links
//! settle, to a good approximation. The simulator uses it to give every transfer its rate.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// The resources (upload link, download link, switch uplinks) one flow passes through.
pub type FlowPath = Vec<usize>;

#[derive(PartialEq)]
struct Level {
    share: f64,
    resource: usize,
    version: u32,
}

impl Eq for Level {}

impl Ord for Level {
    fn cmp(&self, other: &Self) -> Ordering {
        // Min-heap on share, then resource index for determinism.
        other
            .share
            .total_cmp(&self.share)
            .then(other.resource.cmp(&self.resource))
    }
}

impl PartialOrd for Level {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Progressive filling: raise every flow's rate together until a resource is full, freeze the
/// flows through it at that rate, and go on with the rest. Returns one rate per flow.
pub fn max_min_rates(capacity: &[f64], flows: &[FlowPath]) -> Vec<f64> {
    let mut left = capacity.to_vec();
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); capacity.len()];
    for (f, path) in flows.iter().enumerate() {
        for &r in path {
            users[r].push(f);
        }
    }
    let mut active: Vec<u32> = users.iter().map(|u| u.len() as u32).collect();
    let mut version = vec![0u32; capacity.len()];
    let mut heap = BinaryHeap::new();
    for r in 0..capacity.len() {
        if active[r] > 0 {
            heap.push(Level {
                share: left[r] / active[r] as f64,
                resource: r,
                version: 0,
            });
        }
    }
    let mut rate = vec![f64::NAN; flows.len()];
    while let Some(level) = heap.pop() {
        let r = level.resource;
        if level.version != version[r] || active[r] == 0 {
            continue;
        }
        let share = level.share.max(0.0);
        for &f in &users[r] {
            if !rate[f].is_nan() {
                continue;
            }
            rate[f] = share;
            for &other in &flows[f] {
                left[other] -= share;
                active[other] -= 1;
                version[other] += 1;
                if other != r && active[other] > 0 {
                    heap.push(Level {
                        share: left[other] / active[other] as f64,
                        resource: other,
                        version: version[other],
                    });
                }
            }
        }
    }
    rate.iter()
        .map(|r| if r.is_nan() { 0.0 } else { *r })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_downloader_leaves_the_rest_of_the_uploaders_capacity_to_others() {
        // Resource 0: uploader (100); 1: slow downloader (10); 2: fast downloader (1000).
        let rates = max_min_rates(&[100.0, 10.0, 1000.0], &[vec![0, 1], vec![0, 2]]);
        assert_eq!(rates, vec![10.0, 90.0]);
    }

    #[test]
    fn equal_flows_share_equally() {
        let rates = max_min_rates(
            &[90.0, 1000.0, 1000.0, 1000.0],
            &[vec![0, 1], vec![0, 2], vec![0, 3]],
        );
        assert_eq!(rates, vec![30.0, 30.0, 30.0]);
    }
}
