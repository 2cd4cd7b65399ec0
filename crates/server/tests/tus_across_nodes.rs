//! Two API nodes on one database and one shared data folder, as behind a load balancer: an
//! upload started on one node is resumed and finished on the other. On PostgreSQL the nodes also
//! share the upload's lock, so a request left hanging on the first node is asked to let go (its
//! bytes count) before the second node writes; several API nodes need PostgreSQL.

mod common;
mod tus_common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::*;
use tus_common::*;

/// A second `dailies serve` on the same config, database and data folder, API only.
struct SecondNode {
    child: Child,
    base: String,
    port: u16,
}

impl Drop for SecondNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn second_node(server: &Server) -> SecondNode {
    let port = free_port();
    let log = std::fs::File::create(server.dir.path().join("second-node.log")).unwrap();
    let child = server
        .command()
        .args(["serve", "--workers", "0", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let node = SecondNode {
        child,
        base: format!("http://127.0.0.1:{port}"),
        port,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while ureq::get(&format!("{}/api/health", node.base))
        .call()
        .is_err()
    {
        assert!(Instant::now() < deadline, "the second node did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    node
}

/// The same upload as seen through the second node.
fn on_second(node: &SecondNode, first: &Server, url: &str) -> String {
    url.replacen(&first.base, &node.base, 1)
}

#[test]
fn an_upload_started_on_one_node_is_finished_on_the_other() {
    let server = Server::start("torrents = false\n");
    let node = second_node(&server);
    assert_ne!(node.port, server.port);
    let alice = server.user_token("alice", false);
    let c = clip("across.mp4");
    let len = c.bytes.len() as u64;
    let third = c.bytes.len() / 3;

    let url = create(
        &server,
        &alice,
        len,
        &metadata(&[("filename", "across.mp4")]),
    );
    let r = patch(&url, &alice, 0, &c.bytes[..third]);
    assert_eq!(r.status, 204, "{r}");

    let there = on_second(&node, &server, &url);
    let mut offset = third as u64;
    let mut _hanging = None;
    if server.db.is_postgres() {
        // A second PATCH on the first node sends some bytes, then nothing: the client lost its
        // connection without closing it, and that request still holds the upload.
        let sent = third / 2;
        _hanging = Some(silent_patch(
            &server,
            &url,
            &alice,
            offset,
            &c.bytes[third..],
            sent,
            &[],
        ));
        // The client comes back through the other node: HEAD there asks the first node to let
        // go, and the bytes that reached it count.
        let deadline = Instant::now() + PATIENCE;
        loop {
            let h = head(&there, &alice);
            assert_eq!(h.status, 200, "{h}");
            if h.num("Upload-Offset") == (third + sent) as u64 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the first node never let go: {h}\nlog:\n{}",
                server.log_text()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        offset = (third + sent) as u64;
    } else {
        let h = head(&there, &alice);
        assert_eq!(h.status, 200, "{h}");
        assert_eq!(h.num("Upload-Offset"), offset);
    }

    let r = patch_when_unlocked(&there, &alice, offset, &c.bytes[offset as usize..]);
    assert_eq!(r.status, 204, "{r}");
    assert_eq!(r.num("Upload-Offset"), len);
    let id = video_id_of(&r);
    // Either node answers for the video; the first one runs the jobs.
    assert_ready_with_original(&server, &alice, &id, &c.bytes);
    let (status, v) = server.get(&format!("/api/videos/{id}"), &alice);
    assert_eq!(status, 200);
    assert_eq!(v["sha256"], sha256_hex(&c.bytes), "{v:#}");

    // A finished upload answers the same through both nodes.
    for u in [&url, &there] {
        let h = head(u, &alice);
        assert_eq!(h.status, 200, "{h}");
        assert_eq!(h.num("Upload-Offset"), len);
    }
}
