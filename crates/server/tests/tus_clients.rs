//! Real third-party tus clients against a real server: tuspy (Python) and tus-js-client
//! (Node.js), each interrupted part-way and resumed, also across a server crash, plus
//! tus-js-client's parallel (concatenated) and deferred-length uploads. The client scripts are
//! in `tests/clients/`; `tests/clients/install.sh` installs the clients (scripts/test.sh runs it).

mod common;
mod tus_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use tus_common::*;

const INSTALL_HINT: &str = "the tus test clients are not installed: run crates/server/tests/clients/install.sh (scripts/test.sh does)";
const CHUNK: u64 = 256 * 1024;
/// Upper bound on one client run; a guard against hangs.
const CLIENT_PATIENCE: Duration = Duration::from_secs(120);

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// The Python with tuspy: `DAILIES_TEST_PYTHON`, else install.sh's virtualenv, else `python3`.
fn python() -> PathBuf {
    let py = std::env::var_os("DAILIES_TEST_PYTHON")
        .map(PathBuf::from)
        .or_else(|| {
            let venv = clients_dir().join(".venv/bin/python3");
            venv.exists().then_some(venv)
        })
        .unwrap_or_else(|| PathBuf::from("python3"));
    let ok = Command::new(&py)
        .args([
            "-c",
            "import tusclient.client, tusclient.storage.filestorage",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "{INSTALL_HINT} (no tuspy for {})", py.display());
    py
}

/// Node.js with tus-js-client installed beside the script.
fn node() -> PathBuf {
    let node = std::env::var_os("DAILIES_TEST_NODE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("node"));
    let ok = Command::new(&node)
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "{INSTALL_HINT} (no {})", node.display());
    assert!(
        clients_dir()
            .join("node_modules/tus-js-client/package.json")
            .exists(),
        "{INSTALL_HINT} (no node_modules/tus-js-client)"
    );
    node
}

/// What one client run printed.
struct Run {
    what: String,
    stdout: String,
    stderr: String,
    events: Vec<Value>,
}

impl Run {
    /// The last event of this kind, which must be there.
    fn event(&self, kind: &str) -> &Value {
        self.events
            .iter()
            .rev()
            .find(|e| e["event"] == kind)
            .unwrap_or_else(|| panic!("{}: no {kind} event\n{self}", self.what))
    }

    /// Asserts the server never answered the client with a 5xx (tus-js-client retries those
    /// silently, so the final success alone would hide them).
    fn assert_no_server_errors(&self) {
        for e in &self.events {
            for r in e["requests"].as_array().into_iter().flatten() {
                assert!(
                    r["status"].as_u64().unwrap_or(0) < 500,
                    "{}: server error {r}\n{self}",
                    self.what
                );
            }
        }
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr)
    }
}

/// Runs a client to its end (bounded by [`CLIENT_PATIENCE`]) and asserts it succeeded.
fn run_client(mut cmd: Command, what: &str, work: &Path, server: &Server) -> Run {
    let out_path = work.join(format!("{what}.stdout"));
    let err_path = work.join(format!("{what}.stderr"));
    let mut child = cmd
        .current_dir(clients_dir())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let deadline = Instant::now() + CLIENT_PATIENCE;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{what}: still running after {CLIENT_PATIENCE:?}\nstdout:\n{}\nstderr:\n{}\nserver log:\n{}",
                std::fs::read_to_string(&out_path).unwrap_or_default(),
                std::fs::read_to_string(&err_path).unwrap_or_default(),
                server.log_text()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let events = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect();
    let run = Run {
        what: what.to_owned(),
        stdout,
        stderr,
        events,
    };
    println!("{what}:\n{}", run.stdout);
    assert_eq!(
        status.code(),
        Some(0),
        "{what} failed ({status})\n{run}\nserver log:\n{}",
        server.log_text()
    );
    run
}

fn tuspy(server: &Server, token: &str, file: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(python());
    c.arg(clients_dir().join("tuspy_upload.py"))
        .args(["--endpoint", &endpoint(server), "--token", token])
        .arg("--file")
        .arg(file)
        .args(["--chunk-size", &CHUNK.to_string()])
        .args(args);
    c
}

fn tus_js(server: &Server, token: &str, file: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(node());
    c.arg(clients_dir().join("tus_js_upload.mjs"))
        .args(["--token", token])
        .arg("--file")
        .arg(file)
        .args(["--chunk-size", &CHUNK.to_string()])
        .args(args);
    if !args.contains(&"--url") {
        c.args(["--endpoint", &endpoint(server)]);
    }
    c
}

/// A ~2 MB, 4 s 640x360 H.264/AAC MP4 (noise keeps it from compressing to nothing).
fn source_clip(dir: &Path, name: &str) -> (PathBuf, Vec<u8>) {
    let args: Vec<&str> = H264_AAC
        .iter()
        .copied()
        .chain(["-movflags", "+faststart"])
        .collect();
    let path = make_clip(
        dir,
        name,
        4.0,
        "testsrc2=size=640x360:rate=25,noise=alls=7:allf=t",
        &args,
    );
    let bytes = std::fs::read(&path).unwrap();
    assert!(
        bytes.len() as u64 > 4 * CHUNK,
        "the clip ({} bytes) must span several chunks",
        bytes.len()
    );
    (path, bytes)
}

/// The upload a client made: its URL must be on this server, under `/api/uploads/`.
fn check_url(server: &Server, url: &Value) -> String {
    let url = url
        .as_str()
        .unwrap_or_else(|| panic!("no upload URL: {url}"));
    assert!(
        url.starts_with(&format!("{}/api/uploads/", server.base)),
        "{url}"
    );
    url.to_owned()
}

/// An upload that is still unfinished at `offset` bytes of `size`.
fn assert_unfinished(url: &str, token: &str, offset: u64, size: usize) {
    let h = head(url, token);
    assert_eq!(h.status, 200, "{h}");
    assert_eq!(h.num("Upload-Offset"), offset, "{h}");
    assert_eq!(h.num("Upload-Length"), size as u64, "{h}");
    assert_eq!(h.header("Dailies-Video-Id"), None, "{h}");
    let j = upload_json(url, token).json();
    assert_eq!(j["complete"], false, "{j}");
    assert_eq!(j["offset"], offset, "{j}");
}

/// After the upload finished: the video the client was told about is the one HEAD and
/// `GET /api/uploads/{id}` name, it is ready under the uploaded file name, and its original is
/// the file, byte for byte.
fn assert_became_video(
    server: &Server,
    token: &str,
    url: &str,
    told: Option<&str>,
    filename: &str,
    bytes: &[u8],
) -> String {
    let h = head(url, token);
    assert_eq!(h.status, 200, "{h}");
    assert_eq!(h.num("Upload-Offset"), bytes.len() as u64, "{h}");
    let vid = h
        .header("Dailies-Video-Id")
        .unwrap_or_else(|| panic!("no Dailies-Video-Id on HEAD: {h}"))
        .to_owned();
    if let Some(t) = told {
        assert_eq!(
            t, vid,
            "the completing PATCH and HEAD name different videos"
        );
    }
    let j = upload_json(url, token).json();
    assert_eq!(j["complete"], true, "{j}");
    assert_eq!(j["video_id"], vid.as_str(), "{j}");
    assert_eq!(j["offset"], bytes.len(), "{j}");
    assert_eq!(j["length"], bytes.len(), "{j}");
    assert_eq!(j["filename"], filename, "{j}");
    let v = server.wait_settled(filename);
    assert_eq!(v["id"], vid.as_str(), "{v:#}");
    assert_ready_with_original(server, token, &vid, bytes);
    vid
}

#[test]
fn tuspy_upload_interrupted_and_resumed_from_its_url_storage() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let work = tempfile::tempdir().unwrap();
    let (file, bytes) = source_clip(work.path(), "tuspy-resumed.mp4");
    let storage = work.path().join("tuspy-urls.json");
    let storage = storage.to_str().unwrap();

    // First run: two chunks (checksummed), then the program stops.
    let first = run_client(
        tuspy(
            &server,
            &alice,
            &file,
            &["--chunks", "2", "--storage", storage, "--checksum"],
        ),
        "tuspy-first",
        work.path(),
        &server,
    );
    let stop = first.event("stop");
    assert_eq!(stop["complete"], false, "{first}");
    assert_eq!(stop["offset"], 2 * CHUNK, "{first}");
    let url = check_url(&server, &stop["url"]);
    println!("tuspy upload URL: {url}");
    assert_unfinished(&url, &alice, 2 * CHUNK, bytes.len());

    // Second run: tuspy finds the URL by the file's fingerprint and finishes.
    let second = run_client(
        tuspy(
            &server,
            &alice,
            &file,
            &["--storage", storage, "--expect-resume", "--checksum"],
        ),
        "tuspy-second",
        work.path(),
        &server,
    );
    let start = second.event("start");
    assert_eq!(start["url"], url.as_str(), "{second}");
    assert_eq!(start["offset"], 2 * CHUNK, "{second}");
    let stop = second.event("stop");
    assert_eq!(stop["complete"], true, "{second}");
    let told = stop["video_id"].as_str();
    assert!(
        told.is_some(),
        "no Dailies-Video-Id on the completing PATCH\n{second}"
    );
    assert_became_video(&server, &alice, &url, told, "tuspy-resumed.mp4", &bytes);
}

#[test]
fn tuspy_upload_resumes_after_the_server_is_killed() {
    let mut server = Server::start("");
    let alice = server.user_token("alice", false);
    let work = tempfile::tempdir().unwrap();
    let (file, bytes) = source_clip(work.path(), "tuspy-crash.mp4");

    let first = run_client(
        tuspy(&server, &alice, &file, &["--chunks", "3"]),
        "tuspy-before-crash",
        work.path(),
        &server,
    );
    let url = check_url(&server, &first.event("stop")["url"]);
    println!("tuspy upload URL: {url}");

    server.kill9();
    server.spawn();
    assert_unfinished(&url, &alice, 3 * CHUNK, bytes.len());

    let second = run_client(
        tuspy(&server, &alice, &file, &["--url", &url, "--expect-resume"]),
        "tuspy-after-crash",
        work.path(),
        &server,
    );
    assert_eq!(second.event("start")["offset"], 3 * CHUNK, "{second}");
    let stop = second.event("stop");
    assert_eq!(stop["complete"], true, "{second}");
    assert_became_video(
        &server,
        &alice,
        &url,
        stop["video_id"].as_str(),
        "tuspy-crash.mp4",
        &bytes,
    );
}

/// tus-js-client aborted past 30 % (possibly mid-PATCH), then resumed from its URL; with
/// `crash`, the server is SIGKILLed and restarted in between.
fn tus_js_abort_and_resume(crash: bool) {
    let mut server = Server::start("");
    let alice = server.user_token("alice", false);
    let work = tempfile::tempdir().unwrap();
    let name = if crash {
        "tusjs-crash.mp4"
    } else {
        "tusjs-resumed.mp4"
    };
    let (file, bytes) = source_clip(work.path(), name);
    let size = bytes.len();

    let first = run_client(
        tus_js(&server, &alice, &file, &["--abort-at", "0.3"]),
        "tus-js-first",
        work.path(),
        &server,
    );
    first.assert_no_server_errors();
    let aborted = first.event("aborted");
    let url = check_url(&server, &aborted["url"]);
    println!("tus-js-client upload URL: {url}");
    assert!(
        aborted["sent"].as_u64().unwrap() as f64 >= 0.3 * size as f64,
        "{first}"
    );

    if crash {
        server.kill9();
        server.spawn();
    } else {
        // The aborted PATCH may still be finishing on the server; let it.
        std::thread::sleep(Duration::from_millis(300));
    }
    let h = head(&url, &alice);
    assert_eq!(h.status, 200, "{h}");
    let offset = h.num("Upload-Offset");
    assert!(
        offset > 0 && offset < size as u64,
        "offset {offset} of {size} after the abort"
    );
    assert_unfinished(&url, &alice, offset, size);

    // Resumed with only the URL: a failed resume is an error, not a silent new upload.
    let second = run_client(
        tus_js(&server, &alice, &file, &["--url", &url]),
        "tus-js-second",
        work.path(),
        &server,
    );
    second.assert_no_server_errors();
    assert_eq!(second.event("head")["offset"], offset, "{second}");
    let done = second.event("done");
    assert_eq!(done["url"], url.as_str(), "{second}");
    assert_eq!(
        done["patched"],
        size as u64 - offset,
        "only the rest was sent\n{second}"
    );
    let requests = done["requests"].as_array().unwrap();
    assert!(
        requests.iter().all(|r| r["method"] != "POST"),
        "no new upload was created\n{second}"
    );
    let told = done["video_id"].as_str();
    assert!(
        told.is_some(),
        "no Dailies-Video-Id on the completing PATCH\n{second}"
    );
    assert_became_video(&server, &alice, &url, told, name, &bytes);
}

#[test]
fn tus_js_upload_aborted_and_resumed_from_its_url() {
    tus_js_abort_and_resume(false);
}

#[test]
fn tus_js_upload_resumes_after_the_server_is_killed() {
    tus_js_abort_and_resume(true);
}

#[test]
fn tus_js_parallel_upload_is_concatenated_into_one_video() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let work = tempfile::tempdir().unwrap();
    let (file, bytes) = source_clip(work.path(), "tusjs-parallel.mp4");

    let run = run_client(
        tus_js(&server, &alice, &file, &["--parallel", "3"]),
        "tus-js-parallel",
        work.path(),
        &server,
    );
    run.assert_no_server_errors();
    let done = run.event("done");
    let url = check_url(&server, &done["url"]);
    let posts = done["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] == "POST")
        .count();
    assert_eq!(posts, 4, "three partial uploads and one final\n{run}");
    let h = head(&url, &alice);
    assert!(h.must("Upload-Concat").starts_with("final;"), "{h}");
    assert_became_video(&server, &alice, &url, None, "tusjs-parallel.mp4", &bytes);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(server.videos().len(), 1, "the parts are not videos");
}

#[test]
fn tus_js_stream_of_unknown_length_uses_deferred_length() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let work = tempfile::tempdir().unwrap();
    let (file, bytes) = source_clip(work.path(), "tusjs-deferred.mp4");

    let run = run_client(
        tus_js(&server, &alice, &file, &["--deferred"]),
        "tus-js-deferred",
        work.path(),
        &server,
    );
    run.assert_no_server_errors();
    let done = run.event("done");
    let url = check_url(&server, &done["url"]);
    let told = done["video_id"].as_str();
    assert!(told.is_some(), "no Dailies-Video-Id\n{run}");
    assert_became_video(&server, &alice, &url, told, "tusjs-deferred.mp4", &bytes);
}
