//! A disk that fills up in the middle of an upload: a clean 507, nothing corrupted, and the
//! upload resumes and completes once space is freed. The data dir sits on a small tmpfs (the
//! test needs root to mount it, as in CI; elsewhere it says so and does nothing).

mod common;

use std::process::Command;

use common::*;

struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn tus(method: &str, url: &str, token: &str) -> ureq::http::request::Builder {
    ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("Authorization", format!("Bearer {token}"))
        .header("Tus-Resumable", "1.0.0")
}

#[test]
fn disk_full_mid_upload_is_a_clean_error_and_resumes_later() {
    let mut server = Server::prepare("min_free_disk_bytes = 0\nwatch_incoming = false");
    std::fs::create_dir_all(server.data()).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=24m", "tmpfs"])
        .arg(server.data())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("cannot mount a tmpfs here (not root?): disk-full test not run");
        return;
    }
    let _mount = Mount(server.data());
    server.spawn();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let token = server.admin_token.clone();

    // 12 MB of content to upload; the disk has about 24 MB minus the database.
    let content: Vec<u8> = (0..12_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let req = tus("POST", &format!("{}/api/uploads/", server.base), &token)
        .header("Upload-Length", content.len().to_string())
        .header("Upload-Metadata", "filename Y2xpcC5tb3Y=")
        .body(())
        .unwrap();
    let res = agent.run(req).unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let url = format!(
        "{}{}",
        server.base,
        res.headers()["location"].to_str().unwrap()
    );

    // Something else fills the disk, leaving room for only part of the upload.
    let filler = server.data().join("filler");
    let free = free_bytes(&server.data());
    std::fs::write(&filler, vec![0u8; (free - 5_000_000) as usize]).unwrap();

    // Sent without Content-Length (chunked), so the server only finds out while writing.
    let mut reader = &content[..];
    let req = tus("PATCH", &url, &token)
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/offset+octet-stream")
        .body(ureq::SendBody::from_reader(&mut reader))
        .unwrap();
    // The server answers as soon as the disk is full and stops reading the body; depending on
    // timing the client reads that 507 or only sees the connection close while still sending.
    match agent.run(req) {
        Ok(res) => {
            assert_eq!(res.status().as_u16(), 507, "a clear 'disk full'");
            let body = res.into_body().read_to_string().unwrap();
            assert!(body.contains("disk is full"), "{body}");
        }
        Err(e) => eprintln!("connection closed while sending: {e}"),
    }
    wait_for_log(&server, "disk is full");
    // A new connection, as a client opens after an error.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let offset = head_offset(&agent, &url, &token);
    server.assert_healthy();

    // Space is freed; the client resumes from the offset the server reports.
    std::fs::remove_file(&filler).unwrap();
    let req = tus("PATCH", &url, &token)
        .header("Upload-Offset", offset.to_string())
        .header("Content-Type", "application/offset+octet-stream")
        .body(content[offset as usize..].to_vec())
        .unwrap();
    let res = agent.run(req).unwrap();
    assert_eq!(res.status().as_u16(), 204);
    let video = res.headers()["dailies-video-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let (status, v) = server.get(&format!("/api/videos/{video}"), &token);
    assert_eq!(status, 200);
    let want = dailies::ingest::hashing::hash_file(
        &{
            let p = server.dir.path().join("expected");
            std::fs::write(&p, &content).unwrap();
            p
        },
        None,
    )
    .unwrap();
    assert_eq!(
        v["sha256"],
        want.sha256.as_str(),
        "nothing corrupted across the failure"
    );
    server.kill9();
}

fn wait_for_log(server: &Server, text: &str) {
    for _ in 0..100 {
        if server.log_text().contains(text) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the server never said '{text}':\n{}", server.log_text());
}

fn head_offset(agent: &ureq::Agent, url: &str, token: &str) -> u64 {
    let req = tus("HEAD", url, token).body(()).unwrap();
    let res = agent.run(req).unwrap();
    assert_eq!(res.status().as_u16(), 200);
    res.headers()["upload-offset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn free_bytes(dir: &std::path::Path) -> u64 {
    let out = Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(dir)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}
