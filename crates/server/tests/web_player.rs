//! The player page in a real browser (Debian's chromium): play, step a frame with the keyboard,
//! a time-coded comment with a drawing made with the mouse, its marker, seeking by clicking it,
//! its drawing shown on its frame, reply, edit, delete; a second browser sees the comments come
//! and go without a reload; missing and unfinished videos say so.

mod browser;
mod common;

use browser::Browser;
use common::*;
use serde_json::{Value, json};

const RIGHT_ARROW: &str = "\u{E014}";

/// The comment list as the page shows it.
const LIST: &str = "return [...document.querySelectorAll('#comments .comment')].map(li => ({
    id: li.dataset.id,
    time: (li.querySelector(':scope > .who .time') || {}).textContent || null,
    text: li.querySelector(':scope > .text').textContent,
    who: li.querySelector(':scope > .who').textContent,
    drawing: !!li.querySelector(':scope > .who .has-drawing'),
    reply: !!li.parentElement.closest('.comment'),
    edit: !li.querySelector(':scope > .actions > .edit').hidden,
}))";

/// A browser signed in as `user` (through a one-time login link) on the video's player page.
fn open_player(server: &Server, id: &str, user: &str) -> Browser {
    let b = Browser::start();
    b.set_size(1280, 1000);
    b.goto(&server.login_link(user));
    b.goto(&format!("{}/watch/{id}", server.base));
    b.wait_for(
        "the video loaded and the event stream live",
        "return document.querySelector('#video').readyState >= 2 && document.querySelector('#conn').textContent === 'live'",
    );
    b.run("window.sameLoad = true", json!([]));
    b
}

fn current_time(b: &Browser) -> f64 {
    b.run(
        "return document.querySelector('#video').currentTime",
        json!([]),
    )
    .as_f64()
    .unwrap()
}

#[test]
fn review_a_video_in_the_player() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    server.user_token("boss", true);
    let src = tempfile::tempdir().unwrap();
    let clip = playable_mp4(src.path(), "take.mp4");
    server.drop_file(Some("alice"), "take.mp4", &clip);
    let v = server.wait_settled("take.mp4");
    assert_eq!(v["status"], "ready", "{v}");
    let id = v["id"].as_str().unwrap().to_owned();

    // The page learns who it is from /api/me (to offer edit on its own comments only).
    let (status, me) = server.get("/api/me", &alice);
    assert_eq!(status, 200);
    assert_eq!(
        (&me["name"], &me["is_admin"]),
        (&json!("alice"), &json!(false))
    );
    assert_eq!(server.get("/api/me", "nonsense").0, 401);

    let a = open_player(&server, &id, "alice");
    assert_eq!(
        a.run(
            "return document.querySelector('#title').textContent",
            json!([])
        ),
        json!("take")
    );
    // Another session (an admin who may see alice's video) watches the same page.
    let b = open_player(&server, &id, "boss");

    // Play, then pause with the space bar.
    a.click("#play");
    a.wait_for(
        "the video playing",
        "const v = document.querySelector('#video'); return !v.paused && v.currentTime > 0.2",
    );
    a.click("#stage video");
    a.wait_for(
        "the video paused by a click on the picture",
        "return document.querySelector('#video').paused",
    );
    a.press(" ");
    a.wait_for(
        "the video playing again after the space bar",
        "return !document.querySelector('#video').paused",
    );
    a.press(" ");
    a.wait_for(
        "the video paused after the space bar",
        "return document.querySelector('#video').paused",
    );

    // Go to 1 s, then one frame on with the right arrow (25 fps: frame 26 = 1.04 s).
    a.run(
        "document.querySelector('#video').currentTime = 1.0",
        json!([]),
    );
    a.wait_for(
        "the seek to 1 s",
        "const v = document.querySelector('#video'); return !v.seeking && Math.abs(v.currentTime - 1) < 0.001",
    );
    a.press(RIGHT_ARROW);
    a.wait_for(
        "one frame on",
        "const v = document.querySelector('#video'); return !v.seeking && Math.abs(v.currentTime - 1.04) < 0.001",
    );
    assert_eq!(
        a.run(
            "return document.querySelector('#tc').textContent",
            json!([])
        ),
        json!("00:00:01:01 / 00:00:02:00")
    );

    // Draw on the paused frame, write, send.
    a.click("#draw");
    a.wait_for(
        "the drawing tools",
        "return !document.querySelector('#tools').hidden",
    );
    a.click("#swatches .swatch:nth-child(2)");
    a.drag_on("#sketch", &[(-60, -20), (0, 20), (60, -20)]);
    a.wait_for(
        "the drawing noted on the form",
        "return document.querySelector('#drawing-note').textContent",
    );
    a.click("#text");
    a.send_keys("#text", "Too dark here");
    a.click("#send");
    let shown = a.wait_for(
        "the comment in the list",
        &format!("{LIST}.filter(c => c.text === 'Too dark here')[0]"),
    );
    assert_eq!(shown["time"], "00:00:01:01");
    assert_eq!(shown["drawing"], true);
    assert_eq!(shown["edit"], true);
    let cid = shown["id"].as_str().unwrap().to_owned();
    let marker = a.wait_for(
        "its marker on the timeline",
        "const m = document.querySelectorAll('#timeline .marker'); return m.length === 1 && [m[0].dataset.id, parseFloat(m[0].style.left)]",
    );
    assert_eq!(marker[0], json!(cid));
    let left = marker[1].as_f64().unwrap();
    assert!(
        (left - 52.0).abs() < 0.01,
        "1.04 s of 2 s is at 52 %, not {left}"
    );
    let (_, api_list) = server.get(&format!("/api/videos/{id}/comments"), &alice);
    let c = &api_list["items"][0];
    assert_eq!(c["timecode_s"], 1.04);
    assert!(c["drawing_url"].is_string(), "{c}");
    let (status, _, png) = server.get_bytes(c["drawing_url"].as_str().unwrap(), &alice);
    assert_eq!(status, 200);
    assert!(png.starts_with(b"\x89PNG"));

    // The CSV export link hands over a file with the comment in it.
    let csv = a.run_async(
        "const done = arguments[arguments.length - 1];
         const click = HTMLAnchorElement.prototype.click;
         HTMLAnchorElement.prototype.click = function () {
           HTMLAnchorElement.prototype.click = click;
           fetch(this.href).then(r => r.text()).then(t => done([this.download, t])).catch(e => done(String(e)));
         };
         document.querySelector('#csv').dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true }));",
        json!([]),
    );
    assert_eq!(csv[0], "take.csv");
    assert!(csv[1].as_str().unwrap().contains("Too dark here"), "{csv}");

    // The other session saw it arrive, with its marker, and may not edit it (not its author).
    let seen = b.wait_for(
        "alice's comment in the second browser",
        &format!("{LIST}.filter(c => c.text === 'Too dark here')[0]"),
    );
    assert_eq!(seen["edit"], false);
    assert!(seen["who"].as_str().unwrap().contains("alice"));
    b.wait_for(
        "the marker in the second browser",
        "return document.querySelectorAll('#timeline .marker').length === 1",
    );

    // Away, then back by clicking the comment: the player seeks and shows its drawing.
    a.run(
        "document.querySelector('#video').currentTime = 0",
        json!([]),
    );
    a.wait_for(
        "the seek to the start",
        "const v = document.querySelector('#video'); return !v.seeking && v.currentTime === 0",
    );
    assert_eq!(
        a.run("return document.querySelector('#shown').hidden", json!([])),
        json!(true)
    );
    a.click(&format!(".comment[data-id='{cid}'] > .text"));
    a.wait_for(
        "the seek to the comment",
        "const v = document.querySelector('#video'); return !v.seeking && Math.abs(v.currentTime - 1.04) < 0.001",
    );
    let img = a.wait_for(
        "the comment's drawing over the picture",
        "const i = document.querySelector('#shown'); return !i.hidden && i.complete && i.naturalWidth && [i.dataset.comment, i.naturalWidth, i.naturalHeight]",
    );
    assert_eq!(img, json!([cid, 320, 180]), "drawn at the frame's own size");
    assert!(
        a.run(
            &format!("return document.querySelector(\".comment[data-id='{cid}']\").classList.contains('active')"),
            json!([])
        ) == json!(true)
    );

    // Reply.
    a.click(&format!(".comment[data-id='{cid}'] .reply"));
    a.send_keys(
        &format!(".comment[data-id='{cid}'] form textarea"),
        "Agreed, +1 stop",
    );
    a.click(&format!(".comment[data-id='{cid}'] form .save"));
    let reply = a.wait_for(
        "the reply under the comment",
        &format!("{LIST}.filter(c => c.reply && c.text === 'Agreed, +1 stop')[0]"),
    );
    let rid = reply["id"].as_str().unwrap().to_owned();
    b.wait_for(
        "the reply in the second browser",
        &format!("{LIST}.filter(c => c.reply && c.text === 'Agreed, +1 stop')[0]"),
    );

    // Edit.
    a.click(&format!(".comment[data-id='{cid}'] > .actions .edit"));
    a.run(
        &format!(
            "document.querySelector(\".comment[data-id='{cid}'] > form textarea\").value = ''"
        ),
        json!([]),
    );
    a.send_keys(
        &format!(".comment[data-id='{cid}'] > form textarea"),
        "Too dark in the corner",
    );
    a.click(&format!(".comment[data-id='{cid}'] > form .save"));
    let edited = a.wait_for(
        "the edited text",
        &format!("{LIST}.filter(c => c.text === 'Too dark in the corner')[0]"),
    );
    assert!(edited["who"].as_str().unwrap().contains("(edited)"));
    b.wait_for(
        "the edit in the second browser",
        &format!("{LIST}.filter(c => c.text === 'Too dark in the corner')[0]"),
    );

    // The second session writes; the first sees it.
    b.click("#at");
    b.send_keys("#text", "Whole-video note from boss");
    b.click("#send");
    let note = a.wait_for(
        "boss's comment in the first browser",
        &format!("{LIST}.filter(c => c.text === 'Whole-video note from boss')[0]"),
    );
    assert_eq!(note["time"], Value::Null, "sent without a time");

    // Delete the reply, then the comment (each asks once more before it goes).
    for target in [&rid, &cid] {
        let button = format!(".comment[data-id='{target}'] > .actions .delete");
        a.click(&button);
        a.click(&button);
        a.wait_for(
            "the comment gone",
            &format!("return !document.querySelector(\".comment[data-id='{target}']\")"),
        );
        b.wait_for(
            "the comment gone in the second browser",
            &format!("return !document.querySelector(\".comment[data-id='{target}']\")"),
        );
    }
    a.wait_for(
        "no marker left",
        "return document.querySelectorAll('#timeline .marker').length === 0",
    );
    let (_, api_list) = server.get(&format!("/api/videos/{id}/comments"), &alice);
    assert_eq!(api_list["items"].as_array().unwrap().len(), 1, "{api_list}");
    assert!(current_time(&a) > 1.0);

    for (who, br) in [("first", &a), ("second", &b)] {
        assert_eq!(
            br.run("return window.sameLoad === true", json!([])),
            json!(true),
            "the {who} page was never reloaded"
        );
    }
}

#[test]
fn missing_and_unfinished_videos_say_so() {
    let tools = tempfile::tempdir().unwrap();
    let ffmpeg = realtime_ffmpeg(tools.path());
    let server = Server::start(&format!(
        "process_concurrency = 1\nffmpeg = \"{}\"",
        ffmpeg.display()
    ));
    server.user_token("alice", false);
    let b = Browser::start();
    b.goto(&server.login_link("alice"));
    b.goto(&format!("{}/watch/AAAAAAAAAAAAAAAAAAAAAA", server.base));
    let text = b.wait_for(
        "the not-found message",
        "const n = document.querySelector('#notice'); return !n.hidden && n.textContent.includes('does not exist') && n.textContent",
    );
    assert!(text.as_str().unwrap().contains("may not see it"));

    // A video still being processed: the page says so, then opens the player by itself.
    let src = tempfile::tempdir().unwrap();
    let clip = slow_source(src.path(), "slow.mov", 4.0);
    server.drop_file(Some("alice"), "slow.mov", &clip);
    let v = server.wait_videos("the video registered", |v| !v.is_empty())[0].clone();
    b.goto(&format!(
        "{}/watch/{}",
        server.base,
        v["id"].as_str().unwrap()
    ));
    b.wait_for(
        "the processing message",
        "const n = document.querySelector('#notice'); return !n.hidden && n.textContent.includes('being processed')",
    );
    b.run("window.sameLoad = true", json!([]));
    b.wait_for(
        "the player once the video is ready",
        "return document.querySelector('#notice').hidden && document.querySelector('#video').readyState >= 1",
    );
    assert_eq!(
        b.run("return window.sameLoad === true", json!([])),
        json!(true)
    );
}
