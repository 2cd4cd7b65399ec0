//! The swarm over loopback for real: a master and N peers (in this process, on real sockets,
//! with the built-in limiter standing in for the network) mirror a random folder; prints the
//! completion time and its ratio to the Kumar–Ross bound. Run through scripts/bench_swarm_net.sh.
//!
//!   bench_net --mb 400 --peers 8 --up 25MB/s --down 50MB/s --chunk-mib 8

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use dailies_swarm::node::{MasterConfig, PeerConfig, parse_bandwidth, start_master, start_peer};
use dailies_swarm::{SplitMix64, completion_bound};

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let mb: u64 = arg(&args, "--mb", "400").parse()?;
    let peers: usize = arg(&args, "--peers", "8").parse()?;
    let up = parse_bandwidth(&arg(&args, "--up", "25MB/s"))?;
    let down = parse_bandwidth(&arg(&args, "--down", "50MB/s"))?;
    let chunk: u64 = arg(&args, "--chunk-mib", "8").parse::<u64>()? << 20;
    let tmp = tempfile::tempdir()?;
    let master_dir = tmp.path().join("master");
    std::fs::create_dir_all(&master_dir)?;
    // A few large files, like a shooting day's clips.
    let mut rng = SplitMix64::new(7);
    let total = mb * 1_000_000;
    let files = 4;
    for i in 0..files {
        let len = total / files;
        let mut data = Vec::with_capacity(len as usize);
        while (data.len() as u64) < len {
            data.extend_from_slice(&rng.next_u64().to_le_bytes());
        }
        data.truncate(len as usize);
        std::fs::write(master_dir.join(format!("clip {i}.mov")), data)?;
    }
    let loopback: SocketAddr = "127.0.0.1:0".parse()?;
    let mut mcfg = MasterConfig::new(&master_dir, loopback, "bench");
    mcfg.chunk_size = chunk;
    mcfg.up_limit = Some(up);
    mcfg.rescan_every = Duration::from_secs(3600);
    let master = start_master(mcfg).await?;
    let start = Instant::now();
    let mut handles = Vec::new();
    for i in 0..peers {
        let mut cfg = PeerConfig::new(
            master.advertise.clone(),
            tmp.path().join(format!("peer{i}")),
            loopback,
            "bench",
        );
        cfg.up_limit = Some(up);
        cfg.down_limit = Some(down);
        cfg.exit_when_synced = true;
        handles.push(start_peer(cfg).await?);
    }
    for h in handles {
        h.wait().await?;
    }
    let completion = start.elapsed().as_secs_f64();
    let bytes = total as f64;
    let bound = completion_bound(bytes, up, &vec![down; peers], &vec![up; peers]);
    let status = master.status();
    println!(
        "{mb} MB to {peers} peers, up {:.1} MB/s each, down {:.1} MB/s, {} MiB chunks",
        up / 1e6,
        down / 1e6,
        chunk >> 20
    );
    println!(
        "completion={completion:.2}s bound={bound:.2}s ratio={:.3} corrupt_reports={}",
        completion / bound,
        status.corrupt_reports
    );
    master.stop();
    Ok(())
}
