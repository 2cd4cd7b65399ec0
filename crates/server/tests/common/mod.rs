//! Shared test harness: a real `dailies` process on a temporary data dir, against SQLite or —
//! when `DAILIES_TEST_POSTGRES` names a server — a fresh PostgreSQL database of its own.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub mod moto;
pub mod sse;
pub mod worker;

pub const BIN: &str = env!("CARGO_BIN_EXE_dailies");

/// Generous upper bound for waiting on background work; a guard against hangs, not a speed test.
pub const PATIENCE: Duration = Duration::from_secs(180);

/// A database for one test: SQLite in the data dir, or a PostgreSQL database dropped afterwards.
pub struct TestDb {
    pub url: Option<String>,
    admin_url: Option<String>,
    name: String,
}

impl TestDb {
    pub fn new() -> Self {
        let Ok(base) = std::env::var("DAILIES_TEST_POSTGRES") else {
            return TestDb {
                url: None,
                admin_url: None,
                name: String::new(),
            };
        };
        let name = format!("dailies_t_{}", random_suffix());
        pg_exec(&base, &format!("CREATE DATABASE {name}"));
        let url = match base.rfind('/') {
            Some(i) if base[..i].contains("://") && i > base.find("://").unwrap() + 2 => {
                let rest = &base[i + 1..];
                let query = rest.find('?').map(|q| &rest[q..]).unwrap_or("");
                format!("{}/{name}{query}", &base[..i])
            }
            _ => format!("{}/{name}", base.trim_end_matches('/')),
        };
        TestDb {
            url: Some(url),
            admin_url: Some(base),
            name,
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.url.is_some()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(base) = &self.admin_url {
            pg_exec(
                base,
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            );
        }
    }
}

fn random_suffix() -> String {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).unwrap();
    hex::encode(b)
}

/// Runs one statement on PostgreSQL through psql (always present where PostgreSQL is).
fn pg_exec(url: &str, sql: &str) {
    let out = Command::new("psql")
        .arg(url)
        .args(["-v", "ON_ERROR_STOP=1", "-qc", sql])
        .output()
        .expect("psql is needed for the PostgreSQL test run");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running `dailies serve` with its own data dir and port.
pub struct Server {
    pub dir: tempfile::TempDir,
    pub db: TestDb,
    pub child: Option<Child>,
    pub base: String,
    pub port: u16,
    pub admin_token: String,
    /// The one-time login link the first start printed (empty after a restart).
    pub first_login_link: String,
    pub extra_config: String,
    /// Extra environment for every `dailies` process of this server (S3 credentials, say).
    pub env: Vec<(String, String)>,
    log: PathBuf,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    /// Starts a server with quick drop-folder settings; `extra` is appended to its TOML config.
    pub fn start(extra: &str) -> Self {
        let mut s = Self::prepare(extra);
        s.spawn();
        s
    }

    /// A server with its folders chosen but not started: for tests that arrange the data dir
    /// first (a small file system, say), then call [`Server::spawn`].
    pub fn prepare(extra: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDb::new();
        let port = free_port();
        Server {
            log: dir.path().join("server.log"),
            dir,
            db,
            child: None,
            base: format!("http://127.0.0.1:{port}"),
            port,
            admin_token: String::new(),
            first_login_link: String::new(),
            extra_config: extra.to_owned(),
            env: Vec::new(),
        }
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("dailies.toml")
    }

    /// Environment for any `dailies` subcommand on this server's data.
    pub fn command(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env("DAILIES_DATA_DIR", self.data())
            .env("DAILIES_CONFIG", self.config_path())
            .env_remove("DAILIES_DATABASE")
            .env("DAILIES_LOG", "info,sqlx=warn");
        if let Some(url) = &self.db.url {
            c.env("DAILIES_DATABASE", url);
        }
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }

    /// Starts (or restarts) the server process and waits until it answers.
    pub fn spawn(&mut self) {
        let config = format!(
            "listen = \"127.0.0.1:{}\"\nsettle_secs = 0.5\nrescan_secs = 1.0\njob_lease_secs = 3.0\njob_retry_base_secs = 0.5\n{}\n",
            self.port, self.extra_config
        );
        std::fs::write(self.config_path(), config).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut child = self
            .command()
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            while let Ok(line) = rx.try_recv() {
                if line.contains("/login/once/") {
                    self.first_login_link = line.trim().to_owned();
                }
            }
            if ureq::get(&format!("{}/api/health", self.base))
                .call()
                .is_ok()
            {
                break;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("server exited with {status}: {}", self.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "server did not start: {}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // The first start prints a one-time login link, not a token: the admin's API token
        // for the tests comes from the CLI, once per server.
        std::thread::sleep(Duration::from_millis(50));
        while let Ok(line) = rx.try_recv() {
            if line.contains("/login/once/") {
                self.first_login_link = line.trim().to_owned();
            }
        }
        if self.admin_token.is_empty() {
            self.admin_token = self.token_for("admin");
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: the crash case.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then wait for the exit; returns the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("server running");
        unsafe_kill(c.id(), libc::SIGTERM);
        c.wait().unwrap()
    }

    /// Creates a user and returns a token for it, through the CLI.
    pub fn user_token(&self, name: &str, admin: bool) -> String {
        let mut add = self.command();
        add.args(["user", "add", name]);
        if admin {
            add.arg("--admin");
        }
        let out = add.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.token_for(name)
    }

    pub fn token_for(&self, name: &str) -> String {
        let out = self
            .command()
            .args(["token", "create", name])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .to_owned()
    }

    pub fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let res = ureq::get(&format!("{}{path}", self.base))
            .header("Authorization", &format!("Bearer {token}"))
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .unwrap();
        let status = res.status().as_u16();
        let body = res.into_body().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    /// POSTs a JSON body (sent as given, so malformed bodies can be tested); returns the status
    /// and the answer's JSON.
    pub fn post_json(&self, path: &str, token: &str, body: &str) -> (u16, Value) {
        let res = ureq::post(&format!("{}{path}", self.base))
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .config()
            .http_status_as_error(false)
            .build()
            .send(body)
            .unwrap();
        let status = res.status().as_u16();
        let text = res.into_body().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// All videos the admin sees.
    pub fn videos(&self) -> Vec<Value> {
        let (status, body) = self.get("/api/videos?limit=200", &self.admin_token);
        assert_eq!(status, 200, "{body}");
        body["items"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until `pred` holds for the admin's video list; returns that list.
    pub fn wait_videos(&self, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let v = self.videos();
            if pred(&v) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; videos: {v:#?}\nlog:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Waits for a video with this original file name to be ready or failed; returns it.
    pub fn wait_settled(&self, original: &str) -> Value {
        let list = self.wait_videos(&format!("{original} to settle"), |vs| {
            vs.iter().any(|v| {
                v["original_filename"] == original
                    && (v["status"] == "ready" || v["status"] == "failed")
            })
        });
        list.into_iter()
            .find(|v| v["original_filename"] == original)
            .unwrap()
    }

    /// Waits until `rejected/NAME.reason.txt` exists; returns the reason text.
    pub fn wait_rejected(&self, name: &str) -> String {
        let path = self
            .data()
            .join("rejected")
            .join(format!("{name}.reason.txt"));
        let deadline = Instant::now() + PATIENCE;
        while !path.exists() {
            assert!(
                Instant::now() < deadline,
                "{name} was not rejected; log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        std::thread::sleep(Duration::from_millis(100));
        std::fs::read_to_string(path).unwrap()
    }

    /// Drops a file into `incoming/<user>/` the way a person would: written elsewhere, then
    /// moved in (an atomic appearance).
    pub fn drop_file(&self, user: Option<&str>, name: &str, src: &Path) -> PathBuf {
        let mut dir = self.data().join("incoming");
        if let Some(u) = user {
            dir = dir.join(u);
        }
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join(name);
        std::fs::copy(src, &target).unwrap();
        target
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn unsafe_kill(pid: u32, sig: i32) {
    // SAFETY: sending a signal to a child we spawned.
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

/// Makes a test clip with ffmpeg's lavfi sources; `args` are output options (codec, size…).
pub fn make_clip(dir: &Path, name: &str, seconds: f64, video: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let status = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-nostdin",
            "-y",
            "-f",
            "lavfi",
            "-i",
            video,
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-t",
        ])
        .arg(format!("{seconds}"))
        .args(args)
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success(), "ffmpeg could not make {name}");
    out
}

/// Output options for a small H.264/AAC clip (browser codecs; the container decides the rest).
pub const H264_AAC: &[&str] = &[
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-pix_fmt",
    "yuv420p",
    "-c:a",
    "aac",
];

/// A small browser-playable MP4 (H.264/AAC, faststart).
pub fn playable_mp4(dir: &Path, name: &str) -> PathBuf {
    let args: Vec<&str> = H264_AAC
        .iter()
        .copied()
        .chain(["-movflags", "+faststart"])
        .collect();
    make_clip(dir, name, 2.0, "testsrc2=size=320x180:rate=25", &args)
}

impl Server {
    /// Runs one query against this server's database (sqlite3 or psql) and returns its rows,
    /// one per line, columns separated by `|`. For checks the API does not expose (jobs).
    pub fn sql(&self, query: &str) -> String {
        let out = match &self.db.url {
            Some(url) => Command::new("psql")
                .arg(url)
                .args(["-v", "ON_ERROR_STOP=1", "-AtXqc", query])
                .output()
                .expect("psql"),
            None => Command::new("sqlite3")
                .arg("-cmd")
                .arg(".timeout 5000")
                .arg(self.data().join("dailies.db"))
                .arg(query)
                .output()
                .expect("sqlite3 is needed to inspect the test database"),
        };
        assert!(
            out.status.success(),
            "{query}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// Asserts that `/api/health` answers 200.
    pub fn assert_healthy(&self) {
        let (status, body) = self.get("/api/health", &self.admin_token);
        assert_eq!(status, 200, "health: {body}\nlog:\n{}", self.log_text());
    }

    /// Status code and raw body bytes of a GET, plus its Content-Type.
    pub fn get_bytes(&self, path: &str, token: &str) -> (u16, String, Vec<u8>) {
        let res = ureq::get(&format!("{}{path}", self.base))
            .header("Authorization", &format!("Bearer {token}"))
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .unwrap();
        let status = res.status().as_u16();
        let ctype = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = res
            .into_body()
            .with_config()
            .limit(512 * 1024 * 1024)
            .read_to_vec()
            .unwrap_or_default();
        (status, ctype, body)
    }

    /// Names of the entries in `rejected/` (files and reasons), sorted.
    pub fn rejected_names(&self) -> Vec<String> {
        dir_names(&self.data().join("rejected"))
    }

    /// Names of the folders in `media/`, sorted.
    pub fn media_dirs(&self) -> Vec<String> {
        dir_names(&self.data().join("media"))
    }

    /// Waits until `pred` holds (polling); panics with `what` and the log after [`PATIENCE`].
    pub fn wait_until(&self, what: &str, pred: impl Fn() -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !pred() {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Processes (other than the server itself) whose command line mentions this server's
    /// data dir: ffmpeg/ffprobe children working on its files.
    pub fn tool_processes(&self) -> Vec<(u32, String)> {
        processes_mentioning(&self.dir.path().to_string_lossy())
            .into_iter()
            .filter(|(pid, _)| Some(*pid) != self.child.as_ref().map(|c| c.id()))
            .collect()
    }

    /// The process id of the running server.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }
}

/// Sorted entry names of a folder (empty when it does not exist).
pub fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Live processes whose command line contains `needle`, as (pid, command line); zombies (already
/// dead, waiting to be reaped) are not counted.
pub fn processes_mentioning(needle: &str) -> Vec<(u32, String)> {
    let me = std::process::id();
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
        if !cmdline.contains(needle) {
            continue;
        }
        let zombie = std::fs::read_to_string(entry.path().join("stat"))
            .ok()
            .and_then(|s| {
                s.rsplit(')')
                    .next()
                    .map(|r| r.trim_start().starts_with('Z'))
            })
            .unwrap_or(false);
        if !zombie {
            out.push((pid, cmdline.trim().to_owned()));
        }
    }
    out
}

/// Runs ffprobe on a file and returns its JSON (streams and format).
pub fn ffprobe_json(path: &Path) -> Value {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_streams",
            "-show_format",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "ffprobe {}", path.display());
    serde_json::from_slice(&out.stdout).unwrap()
}

impl Server {
    /// SIGTERM, then wait for the exit with [`PATIENCE`] as a hang guard (SIGKILL and panic if
    /// the process does not exit); returns the exit status.
    pub fn terminate_guarded(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("server running");
        unsafe_kill(c.id(), libc::SIGTERM);
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = c.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                let _ = c.wait();
                panic!(
                    "the server did not exit after SIGTERM; log:\n{}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A source that takes several seconds to transcode: 640x360 MPEG-4 Part 2 with grain (noise is
/// expensive for x264), PCM sound, `seconds` long.
/// An ffmpeg that reads its inputs at real-time speed (`-re`), so a transcode reliably lasts as
/// long as its source, whatever the machine: crash tests can then hit it mid-way every time.
pub fn realtime_ffmpeg(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("ffmpeg-realtime");
    std::fs::write(
        &path,
        "#!/bin/sh\n# Real ffmpeg, reading each input at its native rate.\n\
         for a in \"$@\"; do shift; [ \"$a\" = -i ] && set -- \"$@\" -re; set -- \"$@\" \"$a\"; done\n\
         exec ffmpeg \"$@\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

pub fn slow_source(dir: &Path, name: &str, seconds: f64) -> PathBuf {
    make_clip(
        dir,
        name,
        seconds,
        "testsrc2=size=640x360:rate=25,noise=alls=60:allf=t",
        &["-c:v", "mpeg4", "-q:v", "8", "-c:a", "pcm_s16le"],
    )
}

/// One HTTP answer: status, headers (lower-case names) and body.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Any request, with the headers given (cookies, CSRF, share tokens), a JSON body if any, and
/// redirects not followed.
pub fn call(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> Answer {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut req = ureq::http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = match body {
        Some(b) => agent.run(
            req.header("Content-Type", "application/json")
                .body(b.to_owned())
                .unwrap(),
        ),
        None => agent.run(req.body(()).unwrap()),
    }
    .unwrap();
    Answer {
        status: res.status().as_u16(),
        headers: res
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect(),
        body: res.into_body().read_to_vec().unwrap_or_default(),
    }
}

impl Server {
    /// Runs a `dailies` subcommand with `stdin` as its input; returns (success, stdout, stderr).
    pub fn cli(&self, args: &[&str], stdin: &str) -> (bool, String, String) {
        use std::io::Write;
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// A fresh one-time login link for a user, from `dailies user login-link`.
    pub fn login_link(&self, name: &str) -> String {
        let (ok, out, err) = self.cli(&["user", "login-link", name], "");
        assert!(ok, "{err}");
        out.lines().last().unwrap().trim().to_owned()
    }

    /// Signs in with a login link; returns the `Cookie` header value and the CSRF token.
    pub fn session_from_link(&self, link: &str) -> (String, String) {
        let a = call("GET", link, &[], None);
        assert_eq!(a.status, 303, "{}", String::from_utf8_lossy(&a.body));
        let cookie = a
            .header("set-cookie")
            .and_then(|c| c.split(';').next())
            .unwrap()
            .to_owned();
        let me = call(
            "GET",
            &format!("{}/api/me", self.base),
            &[("Cookie", &cookie)],
            None,
        );
        assert_eq!(me.status, 200);
        let csrf = me.json()["csrf_token"].as_str().unwrap().to_owned();
        (cookie, csrf)
    }
}
