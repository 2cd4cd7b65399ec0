//! The README's screenshots, taken of the real pages in Debian's chromium: a server with a few
//! generated clips, comments with a drawing, jobs and an encode. Not part of the suite (ignored):
//! `scripts/screenshots.sh` runs it and writes `docs/screenshots/*.png`.

mod browser;
mod common;

use std::path::PathBuf;

use browser::Browser;
use common::*;
use serde_json::json;

fn save(b: &Browser, name: &str) {
    let dir = PathBuf::from(
        std::env::var("DAILIES_SCREENSHOTS_DIR").unwrap_or_else(|_| "screenshots".into()),
    );
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), b.screenshot()).unwrap();
}

#[test]
#[ignore = "makes the README's screenshots; run scripts/screenshots.sh"]
fn readme_screenshots() {
    let server = Server::start("torrents = false\n");
    let src = tempfile::tempdir().unwrap();
    let clips = [
        ("Scene 12 take 3.mp4", "testsrc2=size=640x360:rate=25", 6.0),
        ("Drone pass.mp4", "mandelbrot=size=640x360:rate=25", 4.0),
        (
            "Interview A-cam.mp4",
            "smptehdbars=size=640x360:rate=25",
            5.0,
        ),
        (
            "Titles v2.mp4",
            "life=size=640x360:rate=25:mold=10:ratio=0.3",
            3.0,
        ),
    ];
    for (name, source, seconds) in clips {
        let clip = make_clip(src.path(), name, seconds, source, H264_AAC);
        server.drop_file(Some("admin"), name, &clip);
    }
    for (name, _, _) in clips {
        assert_eq!(server.wait_settled(name)["status"], "ready");
    }
    let id = server.wait_settled("Scene 12 take 3.mp4")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin = server.admin_token.clone();
    let post = |body: serde_json::Value| {
        let (status, c) = server.post_json(
            &format!("/api/videos/{id}/comments"),
            &admin,
            &body.to_string(),
        );
        assert_eq!(status, 201, "{c}");
        c
    };
    let first =
        post(json!({"text": "Boom shadow top left, can we paint it out?", "timecode_s": 1.2}));
    post(json!({"text": "Yes, VFX has it on the list.", "parent_id": first["id"]}));
    post(json!({"text": "Love the colour here.", "timecode_s": 3.4}));
    post(json!({"text": "Music cue should start on the cut.", "timecode_s": 4.6}));
    // An encode in the jobs list.
    let (status, e) = server.post_json(
        &format!("/api/videos/{id}/encodes"),
        &admin,
        r#"{"codec": "h264", "container": "mp4", "max_height": 240, "preset": "veryfast"}"#,
    );
    assert!(status == 201 || status == 202, "{e}");

    // A password set, so the header shows no "choose a password" prompt.
    let (ok, _, err) = server.cli(
        &["user", "passwd", "admin", "--password-stdin"],
        "correct horse battery staple\n",
    );
    assert!(ok, "{err}");
    let b = Browser::start();
    b.set_size(1280, 800);
    b.goto(&server.login_link("admin"));
    b.goto(&format!("{}/", server.base));
    b.wait_for(
        "the library",
        "return document.querySelectorAll('#grid .card').length === 4",
    );
    std::thread::sleep(std::time::Duration::from_millis(800));
    save(&b, "library");

    b.goto(&format!("{}/watch/{id}", server.base));
    b.wait_for(
        "the player",
        "return document.querySelector('#video').readyState >= 2 && document.querySelectorAll('#comments .comment').length >= 4",
    );
    b.run(
        "document.querySelector('#video').currentTime = 3.4",
        json!([]),
    );
    b.click("#draw");
    b.drag_on("#sketch", &[(-120, -40), (-40, 30), (60, 10), (140, -50)]);
    b.click("#text");
    b.send_keys("#text", "Push this a touch warmer");
    std::thread::sleep(std::time::Duration::from_millis(500));
    save(&b, "player");

    b.click("#share");
    b.wait_for(
        "the share dialog",
        "return document.querySelector('#share-dialog').open",
    );
    b.send_keys("#share-label", "Client review");
    b.click("#share-create");
    b.wait_for(
        "the link",
        "return !document.querySelector('#share-url').hidden",
    );
    save(&b, "share");

    b.goto(&format!("{}/jobs", server.base));
    b.wait_for(
        "the jobs",
        "return document.querySelectorAll('#jobs tr').length >= 5",
    );
    save(&b, "jobs");

    b.goto(&format!("{}/admin", server.base));
    b.wait_for(
        "the admin page",
        "return !document.querySelector('#users-section').hidden",
    );
    save(&b, "admin");
}
