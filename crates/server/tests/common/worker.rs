//! Extra `dailies worker` processes beside a test's server, and waiting on what they do.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{PATIENCE, Server};

/// A `dailies worker` process on the server's database, killed when dropped.
pub struct Worker(pub Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A worker on the server's data dir (a shared filesystem). Its log goes to `workers.log` in
/// the server's folder.
pub fn start_worker(server: &Server, extra_args: &[&str]) -> Worker {
    spawn_worker(server, None, extra_args)
}

/// A worker with a data dir of its own (no shared filesystem: the library is in a bucket).
pub fn start_worker_with_own_disk(server: &Server, data: &Path, extra_args: &[&str]) -> Worker {
    spawn_worker(server, Some(data), extra_args)
}

fn spawn_worker(server: &Server, data: Option<&Path>, extra_args: &[&str]) -> Worker {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(server.dir.path().join("workers.log"))
        .unwrap();
    let mut command = server.command();
    if let Some(data) = data {
        command.env("DAILIES_DATA_DIR", data);
        if !server.db.is_postgres() {
            let db = server.data().join("dailies.db");
            command.env("DAILIES_DATABASE", format!("sqlite://{}", db.display()));
        }
    }
    Worker(
        command
            .arg("worker")
            .args(extra_args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

/// `GET /api/nodes` as the administrator.
pub fn nodes(server: &Server) -> Vec<Value> {
    let (status, body) = server.get("/api/nodes", &server.admin_token);
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

/// The nodes that are up and run jobs.
pub fn up_workers(server: &Server) -> Vec<Value> {
    nodes(server)
        .into_iter()
        .filter(|n| {
            n["status"] == "up" && n["roles"].as_array().unwrap().iter().any(|r| r == "worker")
        })
        .collect()
}

/// Polls `f` until it gives a value; on timeout, fails with the server's and workers' logs.
pub fn wait_for<T>(server: &Server, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "waiting for {what}\nserver log:\n{}\nworkers log:\n{}",
            server.log_text(),
            std::fs::read_to_string(server.dir.path().join("workers.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The running process job with progress on any node: (video id, node id).
pub fn running_process_job(server: &Server) -> Option<(String, String)> {
    nodes(server).into_iter().find_map(|n| {
        n["running_jobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["kind"] == "process" && j["progress"].as_f64().unwrap_or(0.0) > 0.0)
            .map(|j| {
                (
                    j["video_id"].as_str().unwrap().to_owned(),
                    n["id"].as_str().unwrap().to_owned(),
                )
            })
    })
}
