//! The nodes page in a real browser (Debian's chromium): an administrator sees the API node and
//! a worker process with their roles and status, and the job a node is running appears there
//! without a reload; anyone else is told the page is for administrators.

mod browser;
mod common;

use browser::Browser;
use common::worker::start_worker;
use common::*;
use serde_json::json;

const ROWS: &str = "[...document.querySelectorAll('#nodes tr')].map(tr => ({
    roles: tr.querySelector('.roles').textContent,
    status: tr.querySelector('.status').textContent,
    kinds: tr.querySelector('.kinds').textContent,
    caps: tr.querySelector('.caps').textContent,
    running: tr.querySelector('.running').textContent,
}))";

#[test]
fn an_admin_sees_every_node_and_what_it_runs() {
    let tools = tempfile::tempdir().unwrap();
    let ffmpeg = realtime_ffmpeg(tools.path());
    // The API node runs no jobs; the worker process runs them with a real-time ffmpeg, so a job
    // lasts as long as its clip.
    let server = Server::start(&format!(
        "workers = false\ntorrents = false\nffmpeg = \"{}\"",
        ffmpeg.display()
    ));
    let _worker = start_worker(&server, &["--kinds", "process"]);
    let browser = Browser::start();
    browser.goto(&server.login_link("admin"));
    browser.goto(&format!("{}/nodes", server.base));
    let rows = browser.wait_for(
        "the API node and the worker, both up",
        &format!(
            "const r = {ROWS}; return r.length === 2 && r.every(n => n.status === 'up') ? r : null"
        ),
    );
    let rows = rows.as_array().unwrap();
    let api = rows.iter().find(|r| r["roles"] == "api").unwrap();
    let worker = rows.iter().find(|r| r["roles"] == "worker").unwrap();
    assert_eq!(api["running"], "—", "{api}");
    assert_eq!(worker["kinds"], "process", "{worker}");
    assert!(
        worker["caps"].as_str().unwrap().contains("codec:h264"),
        "{worker}"
    );
    browser.run("window.sameLoad = true", json!([]));

    let src = tempfile::tempdir().unwrap();
    let clip = slow_source(src.path(), "take1.mov", 8.0);
    server.drop_file(Some("alice"), "take1.mov", &clip);
    browser.wait_for(
        "the worker running the process job",
        &format!(
            "return {ROWS}.filter(r => r.roles === 'worker' && r.running.startsWith('process'))[0]"
        ),
    );
    assert_eq!(
        browser.run("return window.sameLoad === true", json!([])),
        json!(true),
        "the page was never reloaded"
    );

    // alice came with her drop folder.
    browser.goto(&server.login_link("alice"));
    browser.goto(&format!("{}/nodes", server.base));
    browser.wait_for(
        "the page saying it is for administrators",
        "return document.querySelector('#msg').textContent.includes('Only administrators')",
    );
    assert_eq!(
        browser.run(&format!("return {ROWS}.length"), json!([])),
        json!(0)
    );
}
