//! `dailies swarm simulate`: runs the swarm planner in a simulated network and compares the
//! completion time with the theoretical bound.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use dailies_swarm::{Preset, Scenario, completion_bound, render_table, simulate};

/// What to simulate and how to show it.
pub struct SimulateArgs<'a> {
    pub peers: usize,
    pub chunks: usize,
    pub seed: u64,
    pub preset: &'a str,
    pub scenario: Option<&'a Path>,
    pub quiet: bool,
}

pub fn simulate_command(args: &SimulateArgs) -> Result<()> {
    let scenario = match args.scenario {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading scenario {}", file.display()))?;
            Scenario::parse(&text).with_context(|| format!("in scenario {}", file.display()))?
        }
        None => {
            let preset = Preset::parse(args.preset).with_context(|| {
                let names: Vec<&str> = Preset::ALL.iter().map(|p| p.name()).collect();
                format!(
                    "unknown preset {:?} (one of: {})",
                    args.preset,
                    names.join(", ")
                )
            })?;
            anyhow::ensure!(args.peers >= 1, "--peers must be at least 1");
            anyhow::ensure!(args.chunks >= 1, "--chunks must be at least 1");
            Scenario::preset(preset, args.peers, args.chunks, args.seed)
        }
    };
    // Frames are spaced in simulated time, a fraction of the ideal completion time.
    let down: Vec<f64> = scenario.peers.iter().map(|p| p.down).collect();
    let up: Vec<f64> = scenario.peers.iter().map(|p| p.up).collect();
    let ideal = completion_bound(scenario.bytes(), scenario.source.up, &down, &up);
    let live = std::io::stdout().is_terminal();
    let frame_every = match (args.quiet, live) {
        (true, _) => None,
        (false, true) => Some(ideal / 40.0),
        (false, false) => Some(ideal / 8.0),
    };
    let width = if scenario.chunks <= 100 {
        scenario.chunks
    } else {
        100
    };
    let mut stdout = std::io::stdout().lock();
    let mut draw = |now: f64, state: &dailies_swarm::SwarmState| {
        if args.quiet {
            return;
        }
        let table = render_table(state, now, width);
        let _ = if live {
            // Redraw in place, paced so a person can watch the swarm fill up.
            write!(stdout, "\x1b[H\x1b[2J{table}")
        } else {
            writeln!(stdout, "{table}")
        };
        let _ = stdout.flush();
        if live {
            std::thread::sleep(Duration::from_millis(60));
        }
    };
    let report = simulate(&scenario, args.seed, frame_every, &mut draw)
        .context("the simulation did not finish")?;
    println!("{}", report.summary_line());
    Ok(())
}
