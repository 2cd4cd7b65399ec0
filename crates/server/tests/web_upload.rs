//! Uploading from the library page in a real browser (Debian's chromium): a picked file goes
//! up with tus and its card turns ready without a reload; a second copy is recognised by its
//! SHA-256 before a byte is sent; an upload cut by a page reload continues where it stopped
//! once the file is picked again, and the video is the same bytes; pause and resume buttons. The page's own SHA-256
//! (for files too big for crypto.subtle) agrees with the browser's.

mod browser;
mod common;

use std::path::Path;

use browser::Browser;
use common::*;
use serde_json::json;
use sha2::{Digest, Sha256};

fn sha256_of(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

fn uploads_count(server: &Server) -> String {
    server.sql("SELECT count(*) FROM uploads").trim().to_owned()
}

/// A browser signed in as `user` (through a one-time login link) on the library page.
fn library(server: &Server, user: &str) -> Browser {
    let b = Browser::start();
    b.set_size(1280, 1000);
    b.goto(&server.login_link(user));
    b.goto(&format!("{}/", server.base));
    b.wait_for(
        "the library page",
        "return document.querySelector('#msg').textContent.includes('No videos yet')",
    );
    b.run("window.sameLoad = true", json!([]));
    b
}

#[test]
fn an_uploaded_file_turns_ready_live_and_a_second_copy_is_not_sent() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let b = library(&server, "alice");
    let src = tempfile::tempdir().unwrap();
    let clip = playable_mp4(src.path(), "take one.mp4");

    b.send_keys("#files", clip.to_str().unwrap());
    let href = b.wait_for(
        "the upload done",
        "const a = document.querySelector('#uploads .upload.done a'); return a && a.getAttribute('href')",
    );
    let id = href
        .as_str()
        .unwrap()
        .strip_prefix("/watch/")
        .unwrap()
        .to_owned();
    b.wait_for(
        "the new video's card turning ready without a reload",
        &format!(
            "return document.querySelector(\".card.ready[data-id='{id}'] a[href='/watch/{id}']\")"
        ),
    );
    let (_, v) = server.get(&format!("/api/videos/{id}"), &alice);
    assert_eq!(v["sha256"], json!(sha256_of(&clip)));
    assert_eq!(v["original_filename"], "take one.mp4");
    assert_eq!(uploads_count(&server), "1");

    // The same content again: the page names the video it already is and sends nothing.
    b.send_keys("#files", clip.to_str().unwrap());
    let dup = b.wait_for(
        "the duplicate message",
        "const a = document.querySelector('#uploads .upload.duplicate a'); return a && [a.closest('.upload').textContent, a.getAttribute('href')]",
    );
    assert!(dup[0].as_str().unwrap().contains("nothing sent"), "{dup}");
    assert_eq!(dup[1], json!(format!("/watch/{id}")));
    assert_eq!(uploads_count(&server), "1", "no upload was created");

    // Dropped on the zone (a drop event carrying the same bytes): the same answer.
    b.run_async(
        "const [url, done] = [arguments[0], arguments[arguments.length - 1]];
         import('/session.js').then(m => m.mediaSrc(url)).then(u => fetch(u)).then(r => r.blob()).then(blob => {
           const dt = new DataTransfer();
           dt.items.add(new File([blob], 'dropped.mp4', { type: 'video/mp4' }));
           document.querySelector('#drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
           done(true);
         });",
        json!([v["original_url"]]),
    );
    let dropped = b.wait_for(
        "the dropped copy recognised",
        "const u = [...document.querySelectorAll('#uploads .upload.duplicate')].find(u => u.dataset.name === 'dropped.mp4'); return u && u.querySelector('a').getAttribute('href')",
    );
    assert_eq!(dropped, json!(format!("/watch/{id}")));
    assert_eq!(uploads_count(&server), "1", "no upload was created");
    assert_eq!(server.videos().len(), 1);
    assert_eq!(
        b.run("return window.sameLoad === true", json!([])),
        json!(true),
        "the page was never reloaded"
    );

    // The hand-written SHA-256 agrees with crypto.subtle, over several 8 MiB pieces and sizes
    // around the 64-byte block.
    let agree = b.run_async(
        "const done = arguments[arguments.length - 1];
         import('/sha256.js').then(async ({ sha256File }) => {
           const out = [];
           for (const n of [0, 1, 55, 56, 63, 64, 65, 1000, 17 * 1024 * 1024 + 7]) {
             const bytes = new Uint8Array(n);
             for (let i = 0; i < n; i++) bytes[i] = (i * 2654435761 >>> 13) & 255;
             const blob = new Blob([bytes]);
             out.push((await sha256File(blob, () => {}, -1)) === (await sha256File(blob)));
           }
           done(out);
         }).catch((e) => done(String(e)));",
        json!([]),
    );
    assert_eq!(agree, json!(vec![true; 9]));
}

#[test]
fn an_upload_cut_by_a_reload_resumes_to_the_same_bytes() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let b = library(&server, "alice");
    let src = tempfile::tempdir().unwrap();
    let clip = make_clip(
        src.path(),
        "long take.mp4",
        4.0,
        "testsrc2=size=640x360:rate=25",
        &[
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-qp",
            "0",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
        ],
    );
    let size = std::fs::metadata(&clip).unwrap().len();
    assert!(size > 1_000_000, "a clip big enough to cut: {size} bytes");

    // A slow line, so the reload comes in the middle.
    b.throttle(20, 200_000);
    b.send_keys("#files", clip.to_str().unwrap());
    let url = b.wait_for(
        "part of the file sent",
        "const bar = document.querySelector('#uploads .upload.sending progress');
         const key = Object.keys(localStorage).find(k => k.startsWith('dailies.upload:'));
         return bar && bar.value > 0 && bar.value < 0.3 && key && JSON.parse(localStorage.getItem(key)).url",
    );
    let url = url.as_str().unwrap().to_owned();

    // Pause: the page says where it stopped; the upload is not finished.
    b.click("#uploads .upload .pause");
    let paused = b.wait_for(
        "the upload paused",
        "const u = document.querySelector('#uploads .upload.paused'); return u && u.querySelector('.pause').textContent === 'Resume' && u.querySelector('progress').value",
    );
    let (_, at_pause) = server.get(&url, &alice);
    assert_eq!(at_pause["complete"], false);
    // Resume: the same upload goes on from there.
    b.click("#uploads .upload .pause");
    b.wait_for(
        "the upload moving again",
        &format!(
            "const bar = document.querySelector('#uploads .upload.sending progress');
             return bar && bar.value > {} && bar.value < 0.6",
            paused.as_f64().unwrap()
        ),
    );
    b.reload();
    b.unthrottle();
    let (_, before) = server.get(&url, &alice);
    let sent = before["offset"].as_u64().unwrap();
    assert!(sent > 0 && sent < size, "cut at {sent} of {size}");
    assert_eq!(before["complete"], false);

    // After the reload the page remembers the upload; picking the file again continues it.
    let note = b.wait_for(
        "the unfinished upload named",
        "const p = document.querySelector('#resumable'); return !p.hidden && p.textContent",
    );
    assert!(note.as_str().unwrap().contains("long take.mp4"), "{note}");
    b.run("window.sameLoad = true", json!([]));
    b.send_keys("#files", clip.to_str().unwrap());
    let href = b.wait_for(
        "the resumed upload done",
        "const a = document.querySelector('#uploads .upload.done a'); return a && a.getAttribute('href')",
    );
    let id = href
        .as_str()
        .unwrap()
        .strip_prefix("/watch/")
        .unwrap()
        .to_owned();
    let (_, after) = server.get(&url, &alice);
    assert_eq!(after["complete"], true);
    assert_eq!(
        after["video_id"],
        json!(id),
        "the same upload was continued"
    );
    assert_eq!(uploads_count(&server), "1", "no second upload was started");
    let (_, v) = server.get(&format!("/api/videos/{id}"), &alice);
    assert_eq!(v["sha256"], json!(sha256_of(&clip)), "the same bytes");
    assert_eq!(v["size_bytes"], json!(size));
    b.wait_for(
        "the card turning ready without a reload",
        &format!("return document.querySelector(\".card.ready[data-id='{id}']\")"),
    );
    assert_eq!(
        b.run(
            "return Object.keys(localStorage).filter(k => k.startsWith('dailies.upload:')).length",
            json!([])
        ),
        json!(0),
        "a finished upload is forgotten"
    );
    assert_eq!(
        b.run("return window.sameLoad === true", json!([])),
        json!(true)
    );
}

#[test]
fn a_refused_upload_says_why() {
    let server = Server::start("max_upload_bytes = 1000\nmax_raw_upload_bytes = 1000");
    server.user_token("alice", false);
    let b = library(&server, "alice");
    let src = tempfile::tempdir().unwrap();
    let clip = playable_mp4(src.path(), "too big.mp4");
    b.send_keys("#files", clip.to_str().unwrap());
    let said = b.wait_for(
        "the refusal",
        "const s = document.querySelector('#uploads .upload.failed .state'); return s && s.textContent",
    );
    let said = said.as_str().unwrap();
    assert!(
        said.starts_with("Upload failed: ")
            && said.contains("the largest upload accepted is 1000 bytes"),
        "{said}"
    );
    assert_eq!(uploads_count(&server), "0");
}
