//! The theoretical lower bound on distributing a file from one source to N peers.

/// Kumar & Ross (2006): no schedule can finish before the source has uploaded the data once
/// (`F/u_s`), the slowest peer has downloaded it (`F/d_min`), or the whole swarm has uploaded
/// the `N·F` bytes the peers need (`N·F/(u_s + Σu_i)`). Rates in bytes/s, result in seconds.
pub fn completion_bound(bytes: f64, source_up: f64, peer_down: &[f64], peer_up: &[f64]) -> f64 {
    if peer_down.is_empty() || bytes <= 0.0 {
        return 0.0;
    }
    let d_min = peer_down.iter().copied().fold(f64::INFINITY, f64::min);
    let n = peer_down.len() as f64;
    let total_up = source_up + peer_up.iter().sum::<f64>();
    (bytes / source_up)
        .max(bytes / d_min)
        .max(n * bytes / total_up)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_term_can_dominate() {
        // Slow source.
        assert_eq!(
            completion_bound(100.0, 1.0, &[10.0, 10.0], &[10.0, 10.0]),
            100.0
        );
        // Slow downloader.
        assert_eq!(
            completion_bound(100.0, 10.0, &[1.0, 10.0], &[10.0, 10.0]),
            100.0
        );
        // Peers that barely upload: 3 peers need 300 bytes from 10 + 3·1 upload.
        let b = completion_bound(100.0, 10.0, &[100.0; 3], &[1.0; 3]);
        assert!((b - 300.0 / 13.0).abs() < 1e-9);
    }
}
