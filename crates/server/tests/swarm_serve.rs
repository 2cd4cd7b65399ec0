//! `dailies serve` as the swarm master of its own library: a review station running `dailies
//! swarm peer` ends with a byte-identical copy of `media/`, the swarm page shows that station's
//! chunks as it syncs, and only administrators see it. A bad swarm setting stops the server with
//! a reason.

mod browser;
mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;

use browser::Browser;
use common::*;
use serde_json::json;

const TOKEN: &str = "review-stations-0123456789";

/// Every file under `dir`, by relative path, with its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn a_review_station_mirrors_the_library_and_the_swarm_page_shows_it() {
    let swarm_port = free_port();
    let server = Server::start(&format!(
        "torrents = false\nswarm_listen = \"127.0.0.1:{swarm_port}\"\nswarm_token = \"{TOKEN}\"\n"
    ));
    let src = tempfile::tempdir().unwrap();
    for (n, name) in ["a.mp4", "b.mp4"].iter().enumerate() {
        let clip = make_clip(
            src.path(),
            name,
            1.0 + n as f64,
            &format!("testsrc2=size=320x180:rate=25,hue=h={}", n * 90),
            H264_AAC,
        );
        server.drop_file(Some("alice"), name, &clip);
    }
    for name in ["a.mp4", "b.mp4"] {
        assert_eq!(server.wait_settled(name)["status"], "ready");
    }

    // The master rescans its folder every few seconds: wait until it lists every file.
    let files = tree(&server.data().join("media")).len() as u64;
    server.wait_until("the master to list the whole library", || {
        let (_, body) = server.get("/api/swarm", &server.admin_token);
        body["status"]["files"].as_u64() == Some(files)
    });

    let station = tempfile::tempdir().unwrap();
    let mirror = station.path().join("library");
    // Something of the station's own in the way: the mirror is one-way.
    std::fs::create_dir_all(mirror.join("stale")).unwrap();
    std::fs::write(mirror.join("stale/old.mov"), b"not from the server").unwrap();
    let out = server
        .command()
        .args(["swarm", "peer", "--master"])
        .arg(format!("http://127.0.0.1:{swarm_port}"))
        .arg("--dir")
        .arg(&mirror)
        .args(["--listen", &format!("127.0.0.1:{}", free_port())])
        .args(["--exit-when-synced"])
        .env("DAILIES_SWARM_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "peer: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = tree(&server.data().join("media"));
    let got = tree(&mirror);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    assert!(got == want, "the mirror's bytes differ from the library's");
    assert!(want.keys().any(|k| k.ends_with("poster.jpg")), "{want:?}");

    // A wrong token is refused by the master.
    let out = server
        .command()
        .args(["swarm", "peer", "--master"])
        .arg(format!("http://127.0.0.1:{swarm_port}"))
        .arg("--dir")
        .arg(station.path().join("intruder"))
        .args(["--listen", &format!("127.0.0.1:{}", free_port())])
        .args(["--exit-when-synced"])
        .env("DAILIES_SWARM_TOKEN", "wrong-token-wrong-token")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(said.contains("token"), "{said}");

    // The swarm page: the master's summary and rows.
    let (status, body) = server.get("/api/swarm", &server.admin_token);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["enabled"], true);
    assert_eq!(
        body["status"]["files"].as_u64().unwrap() as usize,
        want.len()
    );
    let browser = Browser::start();
    browser.goto(&server.login_link("admin"));
    browser.goto(&format!("{}/swarm", server.base));
    let summary = browser.wait_for(
        "the master's summary",
        "const t = document.querySelector('#summary').textContent; return t.includes('Master at') ? t : null",
    );
    assert!(
        summary
            .as_str()
            .unwrap()
            .contains(&format!("{} files", want.len())),
        "{summary}"
    );
    let master_row = browser.run(
        "const tr = document.querySelector('#peers tr'); return tr && [...tr.cells].map(c => c.textContent)",
        json!([]),
    );
    assert_eq!(master_row[0], "master");
    assert_eq!(master_row[2], "100%");

    // Anyone else is turned away.
    let alice = server.token_for("alice");
    let (status, _) = server.get("/api/swarm", &alice);
    assert_eq!(status, 404);
    browser.goto(&server.login_link("alice"));
    browser.goto(&format!("{}/swarm", server.base));
    browser.wait_for(
        "the page saying it is for administrators",
        "return document.querySelector('#msg').textContent.includes('Only administrators')",
    );
}

#[test]
fn a_bad_swarm_setting_stops_the_server_with_a_reason() {
    for (setting, expect) in [
        ("swarm_listen = \"127.0.0.1:0\"\n", "swarm_token"),
        (
            "swarm_listen = \"127.0.0.1:0\"\nswarm_token = \"short\"\n",
            "swarm_token",
        ),
        (
            "swarm_listen = \"127.0.0.1:0\"\nswarm_token = \"has spaces in it, sixteen+\"\n",
            "swarm_token",
        ),
        (
            "swarm_listen = \"my-host:7700\"\nswarm_token = \"0123456789abcdef\"\n",
            "swarm_listen",
        ),
        (
            "swarm_listen = \"0.0.0.0:0\"\nswarm_token = \"0123456789abcdef\"\n",
            "advertise",
        ),
    ] {
        let mut server = Server::prepare(setting);
        std::fs::write(
            server.dir.path().join("dailies.toml"),
            format!("listen = \"127.0.0.1:{}\"\n{setting}", server.port),
        )
        .unwrap();
        let out = server.command().arg("serve").output().unwrap();
        assert!(!out.status.success(), "{setting}");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains(expect), "{setting}: {said}");
        server.child = None;
    }
}
