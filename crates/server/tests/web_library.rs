//! The library page in a real browser (Debian's chromium): a ready video's card offers its
//! magnet link and .torrent as soon as the torrent is made, without a reload.

mod browser;
mod common;

use browser::Browser;
use common::*;
use serde_json::json;

#[test]
fn a_ready_video_offers_its_magnet_link_without_a_reload() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let browser = Browser::start();
    // A one-time login link signs the browser in (a session cookie) and opens the library.
    browser.goto(&server.login_link("alice"));
    browser.wait_for(
        "the signed-in header",
        "return document.querySelector('#session .who')?.textContent === 'alice'",
    );
    browser.run("window.sameLoad = true", json!([]));

    let src = tempfile::tempdir().unwrap();
    let clip = playable_mp4(src.path(), "take.mp4");
    server.drop_file(Some("alice"), "take.mp4", &clip);
    let href = browser.wait_for(
        "the card's magnet link",
        "const a = document.querySelector('.card .torrent a[href^=\"magnet:\"]'); return a && a.href",
    );
    let v = server.wait_settled("take.mp4");
    let (_, v) = server.get(
        &format!("/api/videos/{}", v["id"].as_str().unwrap()),
        &alice,
    );
    assert_eq!(href, v["magnet_uri"]);
    assert_eq!(
        browser.run("return window.sameLoad === true", json!([])),
        json!(true),
        "the page was never reloaded"
    );
}
