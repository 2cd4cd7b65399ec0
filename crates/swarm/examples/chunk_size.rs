//! Chooses the default chunk size: hashing speed per chunk size, and the simulated swarm's
//! completion/bound ratio for one folder cut into chunks of each size, where every transfer
//! pays a request round trip. Small chunks pay that cost often and make the planner work
//! harder; large chunks start the swarm slowly and leave a long tail.
//!
//! `cargo run --release -p dailies-swarm --example chunk_size`

use std::time::Instant;

use dailies_swarm::{ChunkHash, Preset, Scenario, simulate};

const MIB: u64 = 1024 * 1024;

fn main() {
    let sizes = [
        4 * MIB,
        8 * MIB,
        16 * MIB,
        32 * MIB,
        64 * MIB,
        128 * MIB,
        256 * MIB,
    ];

    println!("BLAKE3 over 512 MiB in memory, by chunk size:");
    let data: Vec<u8> = (0..512 * MIB)
        .map(|i| ((i * 2_654_435_761) >> 13) as u8)
        .collect();
    for &size in &sizes {
        let started = Instant::now();
        let mut n = 0;
        for chunk in data.chunks(size as usize) {
            std::hint::black_box(ChunkHash::of(chunk));
            n += 1;
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "  {:>4} MiB: {:>6.0} MB/s ({n} chunks)",
            size / MIB,
            data.len() as f64 / secs / 1e6
        );
    }

    let folder = 8 * 1024 * MIB;
    println!("\nSimulated 8 GiB to 30 gigabit peers, 5 ms per request, median of 3 seeds:");
    println!("  chunk    chunks  ratio  planner+simulation wall time");
    for &size in &sizes {
        let chunks = (folder / size) as usize;
        let mut ratios = Vec::new();
        let started = Instant::now();
        for seed in 1..=3 {
            let mut s = Scenario::preset(Preset::Equal, 30, chunks, seed);
            s.chunk_size = size;
            s.latency = 0.005;
            match simulate(&s, seed, None, &mut |_, _| {}) {
                Ok(r) => ratios.push(r.ratio),
                Err(e) => eprintln!("{e}"),
            }
        }
        ratios.sort_by(f64::total_cmp);
        println!(
            "  {:>4} MiB {:>6}  {:.3}  {:.2} s",
            size / MIB,
            chunks,
            ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN),
            started.elapsed().as_secs_f64()
        );
    }
}
