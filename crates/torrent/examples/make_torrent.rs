//! Makes a .torrent for one file: `make_torrent FILE OUT.torrent [v1|hybrid] [WEB_SEED_URL]`.
//! Used by scripts/bench_torrent.sh and handy for trying a torrent in a real client.

use std::process::ExitCode;

use dailies_torrent::{TorrentSpec, TorrentVersion, create_torrent};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(file), Some(out)) = (args.first(), args.get(1)) else {
        eprintln!("usage: make_torrent FILE OUT.torrent [v1|hybrid] [WEB_SEED_URL]");
        return ExitCode::from(2);
    };
    let name = std::path::Path::new(file)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let mut spec = TorrentSpec::single_file(file, name);
    spec.version = match args.get(2).map(String::as_str) {
        None | Some("hybrid") => TorrentVersion::Hybrid,
        Some("v1") => TorrentVersion::V1,
        Some(other) => {
            eprintln!("unknown version {other:?}: v1 or hybrid");
            return ExitCode::from(2);
        }
    };
    spec.web_seeds.extend(args.get(3).cloned());
    match create_torrent(&spec) {
        Ok(torrent) => {
            if let Err(e) = std::fs::write(out, &torrent.bytes) {
                eprintln!("cannot write {out}: {e}");
                return ExitCode::FAILURE;
            }
            println!("{}", torrent.magnet().to_uri());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
