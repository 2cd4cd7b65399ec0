//! Extra `dailies worker` processes beside a test's server.

use std::process::{Child, Stdio};

use super::Server;

/// A `dailies worker` process on the server's database and data dir, killed when dropped.
pub struct Worker(pub Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Its log goes to `workers.log` in the server's folder.
pub fn start_worker(server: &Server, extra_args: &[&str]) -> Worker {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(server.dir.path().join("workers.log"))
        .unwrap();
    Worker(
        server
            .command()
            .arg("worker")
            .args(extra_args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}
