//! The simulation benchmark matrix: completion time / Kumar–Ross bound, median over seeds, for
//! every preset scenario and swarm size. Run by `scripts/bench_swarm.sh`.
//!
//! `cargo run --release -p dailies-swarm --example swarm_bench -- [--peers 2,10,50,200]
//!  [--presets equal,mixed,...] [--seeds 5] [--chunks 200]`

use std::process::ExitCode;
use std::time::Instant;

use dailies_swarm::{Preset, Scenario, simulate};

fn main() -> ExitCode {
    let mut peers = vec![2usize, 10, 50, 200];
    let mut presets = Preset::ALL.to_vec();
    let mut seeds = 5u64;
    let mut chunks = 200usize;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let Some(value) = args.next() else {
            eprintln!("{flag} needs a value");
            return ExitCode::FAILURE;
        };
        let parsed = match flag.as_str() {
            "--peers" => value
                .split(',')
                .map(str::parse)
                .collect::<Result<Vec<usize>, _>>()
                .map(|v| peers = v)
                .is_ok(),
            "--presets" => value
                .split(',')
                .map(Preset::parse)
                .collect::<Option<Vec<_>>>()
                .map(|v| presets = v)
                .is_some(),
            "--seeds" => value.parse().map(|v| seeds = v).is_ok(),
            "--chunks" => value.parse().map(|v| chunks = v).is_ok(),
            _ => false,
        };
        if !parsed {
            eprintln!("cannot use {flag} {value}");
            return ExitCode::FAILURE;
        }
    }
    println!(
        "{:<8} {:>5} {:>7} {:>7} {:>7} {:>11} {:>14} {:>6} {:>8}",
        "scenario",
        "peers",
        "median",
        "min",
        "max",
        "fast median",
        "arrival median",
        "goal",
        "wall s"
    );
    let mut missed = 0;
    for &preset in &presets {
        for &n in &peers {
            let started = Instant::now();
            let mut ratios = Vec::new();
            let mut fast = Vec::new();
            let mut arrival = Vec::new();
            for seed in 1..=seeds {
                let scenario = Scenario::preset(preset, n, chunks, seed);
                match simulate(&scenario, seed, None, &mut |_, _| {}) {
                    Ok(r) => {
                        ratios.push(r.ratio);
                        arrival.push(r.completion / r.late_join_bound.unwrap_or(r.bound));
                        if let Some((c, b)) = r.fast {
                            fast.push(c / b);
                        }
                    }
                    Err(e) => {
                        eprintln!("{} peers={n} seed={seed}: {e}", preset.name());
                        ratios.push(f64::INFINITY);
                    }
                }
            }
            let goal = if preset.is_clean() { 1.15 } else { 1.5 };
            let m = median(&mut ratios);
            let fast_m = if fast.is_empty() {
                "-".to_owned()
            } else {
                format!("{:.3}", median(&mut fast))
            };
            // With slow peers the bound is set by them; the fast peers' own ratio is the goal.
            let judged = if fast.is_empty() {
                m
            } else {
                median(&mut fast).max(m)
            };
            if judged > goal {
                missed += 1;
            }
            println!(
                "{:<8} {:>5} {:>7.3} {:>7.3} {:>7.3} {:>11} {:>14.3} {:>6} {:>8.1}{}",
                preset.name(),
                n,
                m,
                ratios.first().copied().unwrap_or(f64::NAN),
                ratios.last().copied().unwrap_or(f64::NAN),
                fast_m,
                median(&mut arrival),
                goal,
                started.elapsed().as_secs_f64(),
                if judged > goal { "  MISSED" } else { "" }
            );
        }
    }
    println!("{missed} scenario(s) above their goal");
    ExitCode::SUCCESS
}

/// Sorts and returns the median.
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}
