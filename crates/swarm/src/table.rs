//! The nodes × chunks picture of a swarm, one text line per node.

use std::fmt::Write;

use crate::state::{Peer, SwarmState};

/// Renders one line per live node: a bar over the chunks (`#` held, `+` arriving, `.` missing;
/// when there are more chunks than `width` columns each column shows the share held, ` .:+#`),
/// then the share held and the transfers in flight each way.
pub fn render_table(state: &SwarmState, now: f64, width: usize) -> String {
    let n = state.chunks().len();
    let width = width.max(1);
    let columns = n.min(width).max(1);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "t={now:9.2}s  {} nodes  {} transfers in flight",
        state.peers().count(),
        state.transfers().count()
    );
    for p in state.peers() {
        let bar = holding_bar(p, n, columns);
        let role = if p.source { "src" } else { "   " };
        let _ = writeln!(
            out,
            "{:>5} {role} |{bar}| {:5.1}%  up {} down {}",
            p.id.to_string(),
            100.0 * p.has.count() as f64 / n.max(1) as f64,
            p.uploads,
            p.downloads
        );
    }
    out
}

/// One node's holdings as `columns` characters over the swarm's `n` chunks: `#` held, `+`
/// arriving, `.` missing; when a column covers several chunks it shows the share held
/// (` .:+#`). The CLI table and the server's swarm page both draw this.
pub fn holding_bar(p: &Peer, n: usize, columns: usize) -> String {
    let mut bar = String::with_capacity(columns);
    for col in 0..columns {
        let lo = col * n / columns;
        let hi = ((col + 1) * n / columns).max(lo + 1).min(n);
        if hi - lo == 1 {
            bar.push(if p.has.contains(lo) {
                '#'
            } else if p.incoming.contains(lo) {
                '+'
            } else {
                '.'
            });
        } else {
            let held = (lo..hi).filter(|&c| p.has.contains(c)).count();
            let share = held as f64 / (hi - lo) as f64;
            bar.push(match share {
                s if s >= 1.0 => '#',
                s if s >= 0.66 => '+',
                s if s >= 0.33 => ':',
                s if s > 0.0 => '.',
                _ => ' ',
            });
        }
    }
    bar
}
