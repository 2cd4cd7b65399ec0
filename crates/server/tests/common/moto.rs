//! A real S3-compatible server for tests: moto's standalone server (from PyPI, installed by
//! `scripts/moto.sh`), one per test on a free port, stopped when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_server() -> PathBuf {
    if let Ok(p) = std::env::var("DAILIES_TEST_MOTO") {
        return PathBuf::from(p);
    }
    let home = std::env::var("HOME").unwrap_or_default();
    let p = PathBuf::from(home).join(".cache/dailies-moto/bin/moto_server");
    assert!(
        p.exists(),
        "moto_server not found: run scripts/moto.sh (scripts/test.sh does) or set DAILIES_TEST_MOTO"
    );
    p
}

impl Moto {
    pub fn start() -> Moto {
        let port = super::free_port();
        let child = Command::new(moto_server())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while ureq::get(&format!("{}/", moto.endpoint)).call().is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// The environment AWS tools (and dailies) read the endpoint and credentials from.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// A client of a bucket, which is created.
    pub fn bucket(&self, name: &str) -> dailies_s3::Client {
        let client = dailies_s3::Client::new(dailies_s3::Config {
            endpoint: self.endpoint.clone(),
            region: "us-east-1".into(),
            access_key: "test".into(),
            secret_key: "test".into(),
            session_token: None,
            bucket: name.into(),
            path_style: true,
        });
        client.create_bucket().unwrap();
        client
    }
}

/// Every key under a prefix, sorted.
pub fn keys(client: &dailies_s3::Client, prefix: &str) -> Vec<String> {
    let mut keys: Vec<String> = client
        .list(prefix)
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    keys.sort();
    keys
}
