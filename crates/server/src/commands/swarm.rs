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

/// `dailies swarm master` and `dailies swarm peer`.
pub async fn network_command(cmd: crate::cli::SwarmCommand) -> Result<()> {
    use crate::cli::SwarmCommand;
    use dailies_swarm::node::{self, MasterConfig, PeerConfig};

    let rate = |flag: &str, v: &Option<String>| -> Result<Option<f64>> {
        v.as_deref()
            .map(node::parse_bandwidth)
            .transpose()
            .with_context(|| format!("--{flag}"))
    };
    match cmd {
        SwarmCommand::Simulate { .. } => unreachable!("handled by the caller"),
        SwarmCommand::Master {
            dir,
            listen,
            token,
            advertise,
            up_limit,
            chunk_size,
            rescan_every,
            hash_cache,
        } => {
            let token = match token {
                Some(t) if !t.is_empty() => t,
                _ => {
                    let mut bytes = [0u8; 16];
                    getrandom::fill(&mut bytes)
                        .map_err(|e| anyhow::anyhow!("cannot make a token: {e}"))?;
                    let t = hex::encode(bytes);
                    eprintln!(
                        "swarm token (give it to peers with --token or DAILIES_SWARM_TOKEN): {t}"
                    );
                    t
                }
            };
            let chunk_size = dailies_swarm::parse_size(&chunk_size)
                .map_err(anyhow::Error::msg)
                .context("--chunk-size")?;
            anyhow::ensure!(chunk_size >= 1.0, "--chunk-size must be at least 1 byte");
            let rescan = dailies_swarm::parse_time(&rescan_every)
                .map_err(anyhow::Error::msg)
                .context("--rescan-every")?;
            anyhow::ensure!(rescan > 0.0, "--rescan-every must be positive");
            anyhow::ensure!(dir.is_dir(), "{} is not a folder", dir.display());
            let mut cfg = MasterConfig::new(&dir, listen, token);
            cfg.advertise = advertise;
            cfg.up_limit = rate("up-limit", &up_limit)?;
            cfg.chunk_size = chunk_size as u64;
            cfg.rescan_every = Duration::from_secs_f64(rescan);
            cfg.hash_cache = hash_cache;
            let master = node::start_master(cfg)
                .await
                .with_context(|| format!("starting the master for {}", dir.display()))?;
            eprintln!(
                "master serving {} at {} (status: GET {}/status)",
                dir.display(),
                master.advertise,
                master.advertise
            );
            let mut bar = ProgressBar::new();
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => break,
                    _ = tick.tick() => {
                        let s = master.status();
                        let total = s.bytes_unique.max(1) * s.peers.len().max(1) as u64;
                        let held: u64 = s.peers.iter().map(|p| p.bytes_held).sum();
                        bar.draw(held, total, &format!("{} peers, {} transfers", s.peers.len(), s.transfers));
                    }
                }
            }
            bar.finish();
            master.stop();
            Ok(())
        }
        SwarmCommand::Peer {
            master,
            dir,
            token,
            listen,
            advertise,
            up_limit,
            down_limit,
            exit_when_synced,
        } => {
            let mut cfg = PeerConfig::new(master, &dir, listen, token);
            cfg.advertise = advertise;
            cfg.up_limit = rate("up-limit", &up_limit)?;
            cfg.down_limit = rate("down-limit", &down_limit)?;
            cfg.exit_when_synced = exit_when_synced;
            // Once joined, a lost master (restarted, network cut) is waited for: the peer keeps
            // what it has and rejoins. A first join that fails is the user's to fix.
            let mut joined_once = false;
            loop {
                let peer = match node::start_peer(cfg.clone()).await {
                    Ok(peer) => peer,
                    Err(e) if joined_once && lost_master(&e) => {
                        eprintln!("cannot reach the master ({e}); retrying in 5 s");
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        continue;
                    }
                    Err(e) => {
                        return Err(e)
                            .with_context(|| format!("joining the swarm into {}", dir.display()));
                    }
                };
                joined_once = true;
                eprintln!(
                    "peer mirroring into {} (serving at {}, status: GET {}/status)",
                    dir.display(),
                    peer.advertise,
                    peer.advertise
                );
                let mut bar = ProgressBar::new();
                let mut tick = tokio::time::interval(Duration::from_millis(250));
                loop {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {
                            bar.finish();
                            peer.stop();
                            return Ok(());
                        }
                        _ = tick.tick() => {
                            if peer.is_finished() {
                                break;
                            }
                            let s = peer.status();
                            bar.draw(s.bytes_held, s.bytes.max(1), &format!("{}, {} transfers", s.state, s.transfers));
                        }
                    }
                }
                bar.finish();
                match peer.wait().await {
                    Ok(()) => {
                        eprintln!("{} is in sync with the master", dir.display());
                        return Ok(());
                    }
                    Err(e) if lost_master(&e) => {
                        eprintln!("{e}; rejoining in 2 s");
                        tokio::time::sleep(Duration::from_secs(2)).await;
                    }
                    Err(e) => return Err(e).context("peer stopped"),
                }
            }
        }
    }
}

/// The master went away or cannot be reached, as opposed to refusing this peer.
fn lost_master(e: &dailies_swarm::node::Error) -> bool {
    use dailies_swarm::node::Error;
    matches!(e, Error::MasterGone | Error::Connect(_))
}

/// One line on stderr, redrawn in place, only when stderr is a terminal.
struct ProgressBar {
    live: bool,
    drawn: bool,
}

impl ProgressBar {
    fn new() -> Self {
        ProgressBar {
            live: std::io::stderr().is_terminal(),
            drawn: false,
        }
    }

    fn draw(&mut self, done: u64, total: u64, note: &str) {
        if !self.live {
            return;
        }
        let frac = (done as f64 / total as f64).clamp(0.0, 1.0);
        let width = 30;
        let filled = (frac * width as f64).round() as usize;
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r[{}{}] {:5.1}% {:.1}/{:.1} MB  {note}\x1b[K",
            "#".repeat(filled),
            ".".repeat(width - filled),
            frac * 100.0,
            done as f64 / 1e6,
            total as f64 / 1e6
        );
        let _ = err.flush();
        self.drawn = true;
    }

    fn finish(&mut self) {
        if self.drawn {
            eprintln!();
            self.drawn = false;
        }
    }
}
