use dailies_swarm::{Preset, Scenario, render_table, simulate};
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let preset = Preset::parse(&a[1]).unwrap();
    let peers: usize = a[2].parse().unwrap();
    let chunks: usize = a[3].parse().unwrap();
    let seed: u64 = a[4].parse().unwrap();
    let every: f64 = a.get(5).map(|s| s.parse().unwrap()).unwrap_or(1e9);
    let s = Scenario::preset(preset, peers, chunks, seed);
    for (i, p) in s.peers.iter().enumerate() {
        println!(
            "n{} up={} down={} join={} leave={:?} rejoin={:?} slow={}",
            i + 1,
            p.up,
            p.down,
            p.join_at,
            p.leave_at,
            p.rejoin_at,
            p.slow
        );
    }
    let r = simulate(&s, seed, Some(every), &mut |t, st| {
        print!("{}", render_table(st, t, 100))
    })
    .unwrap();
    println!("{}", r.summary_line());
}
