//! Share links in real browsers (Debian's chromium): the owner makes a "watch and comment" link
//! in the player's share dialog; a second browser, signed in as nobody, opens it, plays the
//! video and sees the owner's comment arrive live, and its own comment reaches the owner live;
//! the link opens nothing else (no other video, no library); once revoked it opens nothing.

mod browser;
mod common;

use browser::Browser;
use common::*;
use serde_json::json;

const TEXTS: &str =
    "[...document.querySelectorAll('#comments .comment > .text')].map(t => t.textContent)";

fn wait_ready_video(b: &Browser, what: &str) {
    b.wait_for(
        what,
        "return document.querySelector('#video').readyState >= 2 && document.querySelector('#conn').textContent === 'live'",
    );
}

fn comment(b: &Browser, text: &str) {
    b.click("#text");
    b.send_keys("#text", text);
    b.click("#send");
}

#[test]
fn a_share_link_lets_a_guest_watch_and_comment_live_and_nothing_else() {
    let server = Server::start("torrents = false\n");
    let src = tempfile::tempdir().unwrap();
    let clip = playable_mp4(src.path(), "take.mp4");
    server.drop_file(Some("alice"), "take.mp4", &clip);
    let shared = server.wait_settled("take.mp4")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other_clip = make_clip(
        src.path(),
        "private.mp4",
        1.0,
        "testsrc2=size=320x180:rate=25,hue=h=120",
        H264_AAC,
    );
    server.drop_file(Some("alice"), "private.mp4", &other_clip);
    let private = server.wait_settled("private.mp4")["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // alice makes a link from the player's share dialog.
    let owner = Browser::start();
    owner.set_size(1280, 1000);
    owner.goto(&server.login_link("alice"));
    owner.goto(&format!("{}/watch/{shared}", server.base));
    wait_ready_video(&owner, "alice's player");
    owner.click("#share");
    owner.wait_for(
        "the share dialog",
        "return document.querySelector('#share-dialog').open && document.querySelector('#share-list li') !== null",
    );
    owner.run(
        "document.querySelector('#share-access').value = 'comment'",
        json!([]),
    );
    owner.send_keys("#share-label", "Grading suite");
    owner.click("#share-create");
    let url = owner.wait_for(
        "the new link",
        "const u = document.querySelector('#share-url'); return !u.hidden && u.value",
    );
    let url = url.as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("{}/s/", server.base)), "{url}");
    owner.wait_for(
        "the link listed",
        "return [...document.querySelectorAll('#share-list li')].some(li => li.textContent.includes('Grading suite') && li.textContent.includes('watch and comment'))",
    );
    owner.run("document.querySelector('#share-dialog').close()", json!([]));

    // A guest, signed in as nobody, opens the link: the player, with the comment form.
    let guest = Browser::start();
    guest.set_size(1280, 1000);
    guest.goto(&url);
    wait_ready_video(&guest, "the guest's player");
    assert_eq!(
        guest.run(
            "return document.querySelector('#title').textContent",
            json!([])
        ),
        json!("take")
    );
    assert_eq!(
        guest.run("return document.querySelector('#share').hidden", json!([])),
        json!(true),
        "a guest cannot give links"
    );
    guest.click("#play");
    guest.wait_for(
        "the video playing for the guest",
        "const v = document.querySelector('#video'); return !v.paused && v.currentTime > 0.2",
    );
    guest.click("#play");

    // alice writes; the guest sees it without a reload, and answers.
    comment(&owner, "Check the sky in this shot");
    guest.wait_for(
        "alice's comment, live",
        &format!("return {TEXTS}.includes('Check the sky in this shot')"),
    );
    comment(&guest, "Sky warmed up in the grade");
    owner.wait_for(
        "the guest's comment, live",
        &format!("return {TEXTS}.includes('Sky warmed up in the grade')"),
    );
    let who = owner.run(
        "return [...document.querySelectorAll('#comments .comment')].find(li => li.textContent.includes('Sky warmed')).querySelector('.who').textContent",
        json!([]),
    );
    assert!(
        who.as_str().unwrap().contains("Grading suite"),
        "the guest writes under the link's label: {who}"
    );

    // The link opens nothing else: not alice's other video, not her library.
    let token = url.rsplit('/').next().unwrap().to_owned();
    guest.goto(&format!("{}/watch/{private}?share={token}", server.base));
    guest.wait_for(
        "the other video refused",
        "const n = document.querySelector('#notice'); return !n.hidden && n.textContent.includes('does not exist')",
    );
    guest.goto(&format!("{}/", server.base));
    guest.wait_for(
        "no library for a guest",
        "return document.querySelector('#msg').textContent.includes('Sign in') && document.querySelectorAll('#grid .card').length === 0",
    );

    // alice revokes the link; it opens nothing any more.
    owner.click("#share");
    owner.wait_for(
        "the link in the dialog",
        "return [...document.querySelectorAll('#share-list li')].some(li => li.textContent.includes('Grading suite'))",
    );
    owner.click("#share-list li button");
    owner.wait_for(
        "the link gone from the list",
        "return ![...document.querySelectorAll('#share-list li')].some(li => li.textContent.includes('Grading suite'))",
    );
    guest.goto(&format!("{}/watch/{shared}?share={token}", server.base));
    guest.wait_for(
        "the revoked link refused",
        "const n = document.querySelector('#notice'); return !n.hidden && n.textContent.length > 0 && document.querySelector('#watch').hidden",
    );
}
