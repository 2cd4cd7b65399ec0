//! The library page in a real browser (Debian's chromium): a ready video's card offers its
//! magnet link and .torrent as soon as the torrent is made, without a reload; search by title,
//! rename in place, delete with a confirming second click.

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

const TITLES: &str = "[...document.querySelectorAll('#grid .card .title')].map(t => t.textContent)";

#[test]
fn the_library_searches_renames_and_deletes() {
    let server = Server::start("torrents = false\n");
    let src = tempfile::tempdir().unwrap();
    for (n, name) in ["Scene 4 take 1.mp4", "Scene 4 take 2.mp4", "Drone 100%.mp4"]
        .iter()
        .enumerate()
    {
        let clip = make_clip(
            src.path(),
            name,
            1.0,
            &format!("testsrc2=size=320x180:rate=25,hue=h={}", n * 60),
            H264_AAC,
        );
        server.drop_file(Some("alice"), name, &clip);
        server.wait_settled(name);
    }
    let browser = Browser::start();
    browser.goto(&server.login_link("alice"));
    browser.wait_for("the three cards", &format!("return {TITLES}.length === 3"));

    // Search: case-insensitive, and % is a character like any other.
    browser.send_keys("#search", "SCENE 4");
    let found = browser.wait_for(
        "the two scene-4 takes",
        &format!("const t = {TITLES}; return t.length === 2 ? t : null"),
    );
    assert_eq!(found, json!(["Scene 4 take 2", "Scene 4 take 1"]));
    browser.run("const s = document.querySelector('#search'); s.value = ''; s.dispatchEvent(new Event('input'))", json!([]));
    browser.send_keys("#search", "100%");
    browser.wait_for(
        "the drone shot only",
        &format!("const t = {TITLES}; return t.length === 1 && t[0] === 'Drone 100%'"),
    );
    browser.run("const s = document.querySelector('#search'); s.value = 'nothing like it'; s.dispatchEvent(new Event('input'))", json!([]));
    browser.wait_for(
        "no match, said plainly",
        "return document.querySelector('#msg').textContent.includes('No video has')",
    );
    browser.run("const s = document.querySelector('#search'); s.value = ''; s.dispatchEvent(new Event('input'))", json!([]));
    browser.wait_for("all three again", &format!("return {TITLES}.length === 3"));

    // Rename in place.
    browser.run(
        "[...document.querySelectorAll('#grid .card')].find(c => c.querySelector('.title').textContent === 'Drone 100%').querySelector('.rename').click()",
        json!([]),
    );
    browser.run(
        "const i = document.querySelector('.rename-form input'); i.value = 'Drone pass, graded'; document.querySelector('.rename-form .save').click()",
        json!([]),
    );
    browser.wait_for(
        "the new title",
        &format!("return {TITLES}.includes('Drone pass, graded')"),
    );
    let videos = server.videos();
    assert!(videos.iter().any(|v| v["title"] == "Drone pass, graded"));

    // Delete asks once more, then the card goes.
    let del = "[...document.querySelectorAll('#grid .card')].find(c => c.querySelector('.title').textContent === 'Scene 4 take 1').querySelector('.delete')";
    browser.run(&format!("{del}.click()"), json!([]));
    assert_eq!(
        browser.run(&format!("return {del}.textContent"), json!([])),
        json!("Really delete?")
    );
    assert_eq!(
        server.videos().len(),
        3,
        "nothing deleted on the first click"
    );
    // A live update redraws the cards meanwhile: the question stays asked.
    let other = server
        .videos()
        .into_iter()
        .find(|v| v["title"] == "Scene 4 take 2")
        .unwrap();
    let answer = call(
        "PATCH",
        &format!(
            "{}/api/videos/{}",
            server.base,
            other["id"].as_str().unwrap()
        ),
        &[
            (
                "Authorization",
                &format!("Bearer {}", server.token_for("alice")),
            ),
            ("Content-Type", "application/json"),
        ],
        Some(r#"{"title":"Scene 4 take 2, approved"}"#),
    );
    assert_eq!(answer.status, 200);
    browser.wait_for(
        "the redraw with the other new title",
        &format!("return {TITLES}.includes('Scene 4 take 2, approved')"),
    );
    assert_eq!(
        browser.run(&format!("return {del}.textContent"), json!([])),
        json!("Really delete?")
    );
    browser.run(&format!("{del}.click()"), json!([]));
    browser.wait_for(
        "the card gone",
        &format!("const t = {TITLES}; return t.length === 2 && !t.includes('Scene 4 take 1')"),
    );
    assert_eq!(server.videos().len(), 2);
}
