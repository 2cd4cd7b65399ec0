//! `dailies swarm master` and `dailies swarm peer` as separate processes on loopback: a random
//! folder reaches every peer byte for byte, a peer killed mid-sync and restarted completes, a
//! peer whose disk fills up fails with a clear error while the others complete, and a wrong
//! token is refused. No timing assertions: waits only give up after a generous limit.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use dailies_swarm::SplitMix64;

const TOKEN: &str = "process-test-token";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_dailies")
}

fn random_tree(root: &Path) {
    let mut rng = SplitMix64::new(42);
    let mut bytes = |len: usize| {
        let mut v = Vec::with_capacity(len + 8);
        while v.len() < len {
            v.extend_from_slice(&rng.next_u64().to_le_bytes());
        }
        v.truncate(len);
        v
    };
    fs::create_dir_all(root.join("empty/nested empty")).unwrap();
    fs::create_dir_all(root.join("reel 1/cam B")).unwrap();
    fs::write(root.join("empty.txt"), b"").unwrap();
    for i in 0..30 {
        let dir = if i % 3 == 0 { "reel 1/cam B" } else { "reel 1" };
        fs::write(root.join(dir).join(format!("note {i}.txt")), bytes(i * 97)).unwrap();
    }
    for i in 0..3 {
        fs::write(
            root.join(format!("reel 1/cam B/take {i}.mov")),
            bytes(1_500_000 + i),
        )
        .unwrap();
    }
}

fn snapshot(root: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Option<Vec<u8>>)>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            if p.is_dir() {
                out.push((rel, None));
                walk(root, &p, out);
            } else {
                out.push((rel, Some(fs::read(&p).unwrap())));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// A child whose stderr goes to a file, killed when dropped.
struct Proc {
    child: Child,
    log: PathBuf,
}

impl Proc {
    fn spawn(mut cmd: Command, log: PathBuf) -> Proc {
        let file = fs::File::create(&log).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .env("DAILIES_LOG", "info")
            .spawn()
            .unwrap();
        Proc { child, log }
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The `http://…` URL printed after `marker`.
    fn url_after(&mut self, marker: &str) -> String {
        for _ in 0..1200 {
            let log = self.log();
            if let Some(rest) = log.split(marker).nth(1)
                && let Some(url) = rest.split_whitespace().next()
            {
                return url.trim_end_matches([',', ')']).to_owned();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("exited with {status} before printing its URL:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no URL after {marker:?} in:\n{}", self.log());
    }

    fn wait(&mut self) -> ExitStatus {
        for _ in 0..2400 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("never exited:\n{}", self.log());
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn peer_args(cmd: &mut Command, master: &str, dir: &Path, token: &str) {
    cmd.args([
        "swarm",
        "peer",
        "--master",
        master,
        "--listen",
        "127.0.0.1:0",
        "--token",
        token,
    ])
    .arg("--dir")
    .arg(dir);
}

fn status(url: &str) -> serde_json::Value {
    let mut resp = ureq::get(format!("{url}/status"))
        .header("Authorization", format!("Bearer {TOKEN}"))
        .call()
        .unwrap();
    resp.body_mut().read_json().unwrap()
}

#[test]
fn separate_processes_mirror_a_folder_despite_a_killed_peer_and_a_full_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("master");
    random_tree(&m);
    let before = snapshot(&m);

    let mut cmd = Command::new(bin());
    cmd.args([
        "swarm",
        "master",
        "--listen",
        "127.0.0.1:0",
        "--chunk-size",
        "128KiB",
    ])
    .args(["--token", TOKEN, "--dir"])
    .arg(&m)
    .arg("--hash-cache")
    .arg(tmp.path().join("hashes.json"));
    let mut master = Proc::spawn(cmd, tmp.path().join("master.log"));
    let url = master.url_after("at ");

    // A stranger is turned away with a clear message.
    let mut cmd = Command::new(bin());
    peer_args(
        &mut cmd,
        &url,
        &tmp.path().join("stranger"),
        "not-the-token",
    );
    let mut stranger = Proc::spawn(cmd, tmp.path().join("stranger.log"));
    assert!(!stranger.wait().success());
    assert!(
        stranger.log().contains("wrong or missing token"),
        "{}",
        stranger.log()
    );

    // A peer whose files may not grow past 64 blocks: a disk that is full for it.
    let full_dir = tmp.path().join("full");
    let mut cmd = Command::new("sh");
    cmd.args(["-c", r#"trap "" XFSZ; ulimit -f 64; exec "$0" "$@""#, bin()]);
    peer_args(&mut cmd, &url, &full_dir, TOKEN);
    cmd.arg("--exit-when-synced");
    let mut full = Proc::spawn(cmd, tmp.path().join("full.log"));

    // A slow peer killed once it has received something, then restarted.
    let slow_dir = tmp.path().join("slow");
    let mut cmd = Command::new(bin());
    peer_args(&mut cmd, &url, &slow_dir, TOKEN);
    cmd.args(["--down-limit", "2MB/s"]);
    let mut slow = Proc::spawn(cmd, tmp.path().join("slow.log"));
    let slow_url = slow.url_after("serving at ");

    let mut peers = Vec::new();
    for i in 0..2 {
        let mut cmd = Command::new(bin());
        peer_args(&mut cmd, &url, &tmp.path().join(format!("p{i}")), TOKEN);
        cmd.arg("--exit-when-synced");
        peers.push(Proc::spawn(cmd, tmp.path().join(format!("p{i}.log"))));
    }

    for _ in 0..2400 {
        if status(&slow_url)["bytes_held"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    slow.child.kill().unwrap();
    slow.child.wait().unwrap();
    let mut cmd = Command::new(bin());
    peer_args(&mut cmd, &url, &slow_dir, TOKEN);
    cmd.arg("--exit-when-synced");
    let mut slow = Proc::spawn(cmd, tmp.path().join("slow2.log"));

    let status_full = full.wait();
    assert!(!status_full.success());
    assert!(full.log().contains("disk full"), "{}", full.log());

    for p in peers.iter_mut().chain([&mut slow]) {
        let st = p.wait();
        assert!(st.success(), "{st}:\n{}", p.log());
    }
    let expected = snapshot(&m);
    assert_eq!(expected, before, "the master's folder was modified");
    for dir in ["p0", "p1", "slow"] {
        assert!(
            snapshot(&tmp.path().join(dir)) == expected,
            "{dir} differs from the master"
        );
    }
    let st = status(&url);
    assert_eq!(st["role"], "master");
    let failed = st["failed_peers"].as_array().unwrap();
    assert!(
        failed
            .iter()
            .any(|f| f["message"].as_str().unwrap_or("").contains("disk full")),
        "{st}"
    );
    assert!(
        tmp.path().join("hashes.json").is_file(),
        "no hash cache saved:\n{}",
        master.log()
    );
    drop(master);
}

#[test]
fn a_peer_rejoins_a_restarted_master_and_completes() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("master");
    random_tree(&m);
    let master_cmd = |listen: &str| {
        let mut cmd = Command::new(bin());
        cmd.args([
            "swarm",
            "master",
            "--listen",
            listen,
            "--chunk-size",
            "128KiB",
        ])
        .args(["--token", TOKEN, "--dir"])
        .arg(&m);
        cmd
    };
    let mut master = Proc::spawn(master_cmd("127.0.0.1:0"), tmp.path().join("m1.log"));
    let url = master.url_after("at ");
    let dir = tmp.path().join("p");
    let mut cmd = Command::new(bin());
    peer_args(&mut cmd, &url, &dir, TOKEN);
    cmd.args(["--down-limit", "1MB/s", "--exit-when-synced"]);
    let mut peer = Proc::spawn(cmd, tmp.path().join("p.log"));
    let peer_url = peer.url_after("serving at ");
    for _ in 0..2400 {
        if status(&peer_url)["bytes_held"].as_u64().unwrap_or(0) > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    master.child.kill().unwrap();
    master.child.wait().unwrap();
    let listen = url.trim_start_matches("http://").to_owned();
    let _master = Proc::spawn(master_cmd(&listen), tmp.path().join("m2.log"));
    let st = peer.wait();
    assert!(st.success(), "{st}:\n{}", peer.log());
    assert!(peer.log().contains("rejoining"), "{}", peer.log());
    assert!(
        snapshot(&dir) == snapshot(&m),
        "the peer differs from the master"
    );
}
