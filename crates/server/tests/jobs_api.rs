//! The jobs API: owners see their jobs (admins everyone's), cancel stops a running ffmpeg and
//! leaves no partial output, retry processes the video again; malformed filters are refused.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const LONG: &str = "long.mov";

fn post(server: &Server, path: &str, token: &str) -> (u16, Value) {
    let res = ureq::post(&format!("{}{path}", server.base))
        .header("Authorization", &format!("Bearer {token}"))
        .config()
        .http_status_as_error(false)
        .build()
        .send_empty()
        .unwrap();
    let status = res.status().as_u16();
    let body = res.into_body().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn wait_job(
    server: &Server,
    token: &str,
    id: &str,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, job) = server.get(&format!("/api/jobs/{id}"), token);
        assert_eq!(status, 200, "{job}");
        if pred(&job) {
            return job;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {job}\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn owners_list_cancel_and_retry_their_jobs_and_nobody_else_can() {
    let tools = tempfile::tempdir().unwrap();
    let ffmpeg = realtime_ffmpeg(tools.path());
    let server = Server::start(&format!(
        "process_concurrency = 1\nffmpeg = \"{}\"",
        ffmpeg.display()
    ));
    let alice = server.user_token("alice", false);
    let bob = server.user_token("bob", false);
    let admin = server.admin_token.clone();
    let src = tempfile::tempdir().unwrap();
    let clip = slow_source(src.path(), LONG, 8.0);
    server.drop_file(Some("alice"), LONG, &clip);

    // Alice's job shows up running, with progress and speed.
    let deadline = Instant::now() + PATIENCE;
    let job = loop {
        let (status, list) = server.get("/api/jobs?state=running", &alice);
        assert_eq!(status, 200, "{list}");
        if let Some(j) = list["items"].as_array().and_then(|a| a.first())
            && j["progress"].as_f64().is_some_and(|p| p > 0.0)
            && j["speed"].as_f64().is_some()
        {
            break j.clone();
        }
        assert!(Instant::now() < deadline, "no running job: {list}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let id = job["id"].as_str().unwrap().to_owned();
    let video = job["video_id"].as_str().unwrap().to_owned();
    assert_eq!(job["kind"], "process");
    assert_eq!(job["video_title"], "long");

    // Bob sees nothing of it and can do nothing to it; the admin sees it.
    let (_, bobs) = server.get("/api/jobs", &bob);
    assert_eq!(bobs["items"], serde_json::json!([]));
    assert_eq!(server.get(&format!("/api/jobs/{id}"), &bob).0, 404);
    assert_eq!(
        post(&server, &format!("/api/jobs/{id}/cancel"), &bob).0,
        404
    );
    assert_eq!(post(&server, &format!("/api/jobs/{id}/retry"), &bob).0, 404);
    let (_, all) = server.get("/api/jobs", &admin);
    assert_eq!(all["items"][0]["id"], id.as_str());
    assert_eq!(server.get("/api/jobs/not-an-id", &alice).0, 404);

    // Cancel mid-transcode: ffmpeg stops, nothing partial is left, the original stays.
    let (status, after) = post(&server, &format!("/api/jobs/{id}/cancel"), &alice);
    assert_eq!(status, 200, "{after}");
    wait_job(&server, &alice, &id, "the job to stop", |j| {
        j["state"] == "cancelled"
    });
    server.wait_until("ffmpeg to exit", || server.tool_processes().is_empty());
    let files = dir_names(&server.data().join("media").join(&video));
    assert!(
        files
            .iter()
            .all(|f| f.starts_with("original.") || f == "ingest.json"),
        "left after cancel: {files:?}"
    );
    let (_, v) = server.get(&format!("/api/videos/{video}"), &alice);
    assert_eq!(v["status"], "failed");
    assert!(v["error"].as_str().unwrap().contains("cancelled"), "{v}");
    let (status, again) = post(&server, &format!("/api/jobs/{id}/cancel"), &alice);
    assert_eq!(status, 409, "{again}");

    // Retry: processed again, to the end.
    let (status, retried) = post(&server, &format!("/api/jobs/{id}/retry"), &alice);
    assert_eq!(status, 200, "{retried}");
    // A worker may have taken it already.
    assert!(
        retried["state"] == "queued" || retried["state"] == "running",
        "{retried}"
    );
    let done = wait_job(&server, &alice, &id, "the retried job to finish", |j| {
        j["state"] == "done"
    });
    assert_eq!(done["progress"], 1.0);
    assert_eq!(server.wait_settled(LONG)["status"], "ready");
    let (status, _) = post(&server, &format!("/api/jobs/{id}/retry"), &alice);
    assert_eq!(status, 409, "a finished job is not retried");
}

#[test]
fn malformed_job_queries_are_refused_with_a_reason() {
    let server = Server::start("");
    let t = server.admin_token.clone();
    for q in [
        "state=sleeping",
        "kind=juggle",
        "limit=0",
        "limit=100000",
        "limit=many",
        "video=../x",
        "colour=red",
    ] {
        let (status, body) = server.get(&format!("/api/jobs?{q}"), &t);
        assert_eq!(status, 400, "{q}: {body}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{q}: {body}"
        );
    }
    let res = ureq::get(&format!("{}/api/jobs", server.base))
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
}
