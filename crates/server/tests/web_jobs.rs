//! The live job queue page in a real browser (Debian's chromium): progress moves, a finished job
//! turns done, and after a server restart the page reconnects by itself, all without a reload.

mod browser;
mod common;

use browser::Browser;
use common::*;
use serde_json::json;

const ROWS: &str = "return [...document.querySelectorAll('#jobs tr')].map(tr => ({
    id: tr.dataset.id,
    video: tr.querySelector('.video').textContent,
    state: tr.querySelector('.state').textContent,
    progress: tr.querySelector('progress').value,
    speed: tr.querySelector('.speed').textContent,
    buttons: [...tr.querySelectorAll('button')].map(b => b.textContent),
}))";

#[test]
fn the_job_page_follows_jobs_live_and_survives_a_server_restart() {
    let tools = tempfile::tempdir().unwrap();
    let ffmpeg = realtime_ffmpeg(tools.path());
    let mut server = Server::start(&format!(
        "process_concurrency = 1\nffmpeg = \"{}\"",
        ffmpeg.display()
    ));
    server.user_token("alice", false);
    let browser = Browser::start();
    browser.goto(&server.login_link("alice"));
    browser.goto(&format!("{}/jobs", server.base));
    browser.wait_for(
        "the live connection",
        "return document.querySelector('#conn').textContent === 'live'",
    );
    // Set once; a reload would lose it.
    browser.run("window.sameLoad = true", json!([]));

    let src = tempfile::tempdir().unwrap();
    let clip = slow_source(src.path(), "take1.mov", 8.0);
    server.drop_file(Some("alice"), "take1.mov", &clip);

    let first = browser.wait_for(
        "a running job with progress",
        &format!("{ROWS}.filter(r => r.state === 'running' && r.progress > 0)[0]"),
    );
    assert_eq!(first["video"], "take1");
    assert_eq!(first["buttons"], json!(["Cancel"]));
    let p1 = first["progress"].as_f64().unwrap();

    let later = browser.wait_for(
        "the progress moving",
        &format!("{ROWS}.filter(r => r.state === 'running' && r.progress > {p1} && r.speed)[0]"),
    );
    assert!(later["speed"].as_str().unwrap().ends_with('×'), "{later}");
    let done = browser.wait_for(
        "the job done",
        &format!("{ROWS}.filter(r => r.state === 'done')[0]"),
    );
    assert_eq!(done["progress"], 1.0);
    assert_eq!(done["buttons"], json!([]));

    // The server restarts; the page notices, reconnects and shows the next job as it happens.
    server.terminate();
    server.spawn();
    let clip2 = playable_mp4(src.path(), "take2.mp4");
    server.drop_file(Some("alice"), "take2.mp4", &clip2);
    browser.wait_for(
        "the second job done after the restart",
        &format!("{ROWS}.filter(r => r.video === 'take2' && r.state === 'done')[0]"),
    );
    browser.wait_for(
        "the connection live again",
        "return document.querySelector('#conn').textContent === 'live'",
    );
    assert_eq!(
        browser.run("return window.sameLoad === true", json!([])),
        json!(true),
        "the page was never reloaded"
    );
}
