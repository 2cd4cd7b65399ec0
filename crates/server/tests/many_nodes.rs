//! One API node and two worker processes sharing a database and a data directory (a shared
//! filesystem): the batch is split across the workers, an SSE client on the API node sees the
//! workers' progress, `/api/nodes` shows each node with what it can run and what it is running,
//! a worker killed with `kill -9` mid-transcode loses its job to the other (one result, nothing
//! left over), a job needing an encoder no node has waits instead of failing, and `/metrics`
//! reports the queue.

mod common;

use std::collections::BTreeSet;

use common::sse::collect_events;
use common::worker::{nodes, running_process_job, start_worker, up_workers, wait_for};
use common::*;
use serde_json::Value;

/// Like [`slow_source`], with different content per `seed` (the same bytes twice would be
/// refused as a duplicate).
fn distinct_slow_source(
    dir: &std::path::Path,
    name: &str,
    seconds: f64,
    seed: u32,
) -> std::path::PathBuf {
    make_clip(
        dir,
        name,
        seconds,
        &format!("testsrc2=size=640x360:rate=25,noise=alls=60:allf=t:all_seed={seed}"),
        &["-c:v", "mpeg4", "-q:v", "8", "-c:a", "pcm_s16le"],
    )
}

fn job_of(server: &Server, video: &str, kind: &str) -> Value {
    let (status, body) = server.get(
        &format!("/api/jobs?kind={kind}&video={video}"),
        &server.admin_token,
    );
    assert_eq!(status, 200, "{body}");
    body["items"][0].clone()
}

#[test]
fn an_api_node_and_two_workers_share_the_work() {
    let tools = tempfile::tempdir().unwrap();
    let ffmpeg = realtime_ffmpeg(tools.path());
    // The API node runs no jobs; the workers read the same config file (each runs one video at
    // a time, with an ffmpeg that works at real-time speed so a job lasts as long as its clip).
    let server = Server::start(&format!(
        "workers = false\nprocess_concurrency = 1\ntorrents = false\nffmpeg = \"{}\"\n\
         [encoders.ghost]\nprogram = \"/nonexistent/ghost-encoder\"\ncodec = \"hevc\"\nargs = []\n",
        ffmpeg.display()
    ));
    let alice = server.user_token("alice", false);
    let events = collect_events(&server, &alice);
    let w1_port = free_port();
    let w1 = start_worker(&server, &["--listen", &format!("127.0.0.1:{w1_port}")]);
    let _w2 = start_worker(&server, &["--kinds", "process,encode,thumbnails"]);
    let workers = wait_for(&server, "two workers up", || {
        let w = up_workers(&server);
        (w.len() == 2).then_some(w)
    });
    for w in &workers {
        assert!(
            w["capabilities"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == "codec:h264"),
            "{w}"
        );
        assert!(
            !w["capabilities"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == "encoder:ghost"),
            "the ghost encoder is not installed anywhere: {w}"
        );
    }
    assert!(
        workers
            .iter()
            .any(|w| w["kinds"] == serde_json::json!(["process", "encode", "thumbnails"])),
        "{workers:?}"
    );
    let api = nodes(&server)
        .into_iter()
        .find(|n| n["this_node"] == true)
        .unwrap();
    assert_eq!(api["roles"], serde_json::json!(["api"]));

    // A batch of four: both workers take part.
    let src = tempfile::tempdir().unwrap();
    for n in 1..=4 {
        let clip = distinct_slow_source(src.path(), &format!("batch{n}.mov"), 3.0, n);
        server.drop_file(Some("alice"), &format!("batch{n}.mov"), &clip);
    }
    let ready = wait_for(&server, "the batch ready", || {
        let v = server.videos();
        (v.len() == 4 && v.iter().all(|v| v["status"] == "ready")).then_some(v)
    });
    let ran_on: BTreeSet<String> = ready
        .iter()
        .map(|v| {
            job_of(&server, v["id"].as_str().unwrap(), "process")["node"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let worker_ids: BTreeSet<String> = workers
        .iter()
        .map(|w| w["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ran_on, worker_ids, "the work was split across both workers");
    // The SSE client on the API node saw the workers' progress.
    let seen = events.lock().unwrap().clone();
    let progress_videos: BTreeSet<&str> = seen
        .iter()
        .filter(|e| e["kind"] == "job.progress")
        .filter_map(|e| e["video_id"].as_str())
        .collect();
    assert_eq!(
        progress_videos.len(),
        4,
        "progress of every video: {seen:?}"
    );

    // A job needing an encoder no node has waits, visibly, instead of failing; one any worker
    // can run is done meanwhile.
    let video = ready[0]["id"].as_str().unwrap();
    let (status, ghost) = server.post_json(
        &format!("/api/videos/{video}/encodes"),
        &alice,
        r#"{"codec":"hevc","encoder":"ghost","container":"mp4","audio":"none"}"#,
    );
    assert_eq!(status, 201, "{ghost}");
    let (status, h264) = server.post_json(
        &format!("/api/videos/{video}/encodes"),
        &alice,
        r#"{"codec":"h264","container":"mp4","max_height":144,"preset":"ultrafast","audio":"none"}"#,
    );
    assert_eq!(status, 201, "{h264}");
    wait_for(&server, "the h264 encode", || {
        let (_, e) = server.get(
            &format!("/api/encodes/{}", h264["id"].as_str().unwrap()),
            &alice,
        );
        (e["state"] == "ready").then_some(())
    });
    let ghost_job = server
        .get(
            &format!("/api/jobs/{}", ghost["job_id"].as_str().unwrap()),
            &alice,
        )
        .1;
    assert_eq!(ghost_job["state"], "queued", "{ghost_job}");
    assert_eq!(ghost_job["attempts"], 0, "{ghost_job}");
    assert_eq!(ghost_job["requires"], "encoder:ghost", "{ghost_job}");

    // A worker-only node serves its own metrics (the jobs it ran) and nothing else.
    let worker_metrics = |path: &str, token: &str| {
        let res = ureq::get(&format!("http://127.0.0.1:{w1_port}{path}"))
            .header("Authorization", &format!("Bearer {token}"))
            .config()
            .http_status_as_error(false)
            .build()
            .call();
        res.map(|r| {
            (
                r.status().as_u16(),
                r.into_body().read_to_string().unwrap_or_default(),
            )
        })
    };
    {
        let (status, text) = worker_metrics("/metrics", &server.admin_token).unwrap();
        assert_eq!(status, 200);
        assert!(
            text.contains("dailies_job_duration_seconds_count{kind=\"process\",outcome=\"done\"}"),
            "{text}"
        );
        assert_eq!(
            worker_metrics("/api/videos", &server.admin_token)
                .unwrap()
                .0,
            404
        );
        assert_eq!(worker_metrics("/metrics", &alice).unwrap().0, 404);
    }
    // kill -9 the worker running a transcode: its lease runs out and the other finishes it.
    let clip = distinct_slow_source(src.path(), "killed.mov", 6.0, 99);
    server.drop_file(Some("alice"), "killed.mov", &clip);
    let w1_id = workers
        .iter()
        .find(|w| w["pid"] == w1.0.id())
        .map(|w| w["id"].as_str().unwrap().to_owned())
        .unwrap();
    let (victim, running_on) = wait_for(&server, "the new video running", || {
        running_process_job(&server)
    });
    let mut w1 = w1;
    let mut w2 = _w2;
    let survivor = if running_on == w1_id {
        w1.0.kill().unwrap();
        w2.0.id()
    } else {
        w2.0.kill().unwrap();
        w1.0.id()
    };
    let v = wait_for(&server, "the killed job finished elsewhere", || {
        let (_, v) = server.get(&format!("/api/videos/{victim}"), &alice);
        (v["status"] == "ready").then_some(v)
    });
    let job = job_of(&server, &victim, "process");
    assert_eq!(job["state"], "done");
    assert_eq!(job["attempts"], 2, "{job}");
    let survivor_id = workers.iter().find(|w| w["pid"] == survivor).unwrap()["id"].clone();
    assert_eq!(job["node"], survivor_id, "{job}");
    let files = dir_names(&server.data().join("media").join(&victim));
    assert!(files.iter().all(|f| !f.ends_with(".partial")), "{files:?}");
    assert!(v["media_url"].is_string());
    let killed = wait_for(&server, "the killed worker shown lost", || {
        nodes(&server)
            .into_iter()
            .find(|n| n["id"] == running_on && n["status"] == "lost")
    });
    assert!(killed["running_jobs"].as_array().unwrap().is_empty());

    // Metrics: the deployment's queue, for admins only.
    let (status, _, body) = server.get_bytes("/metrics", &server.admin_token);
    assert_eq!(status, 200);
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains("dailies_jobs{kind=\"process\",state=\"done\"} 5"),
        "{text}"
    );
    assert!(
        text.contains("dailies_jobs{kind=\"encode\",state=\"queued\"} 1"),
        "{text}"
    );
    assert!(text.contains("dailies_queue_depth 1"), "{text}");
    assert!(
        text.contains(
            "dailies_http_request_duration_seconds_count{method=\"GET\",route=\"/api/nodes\"}"
        ),
        "{text}"
    );
    assert_eq!(server.get("/metrics", &alice).0, 404);
    assert_eq!(server.get("/api/nodes", &alice).0, 404);
    assert_eq!(server.get("/metrics", "dly_nonsense").0, 401);
}

#[test]
fn a_worker_refuses_an_unknown_job_kind() {
    let server = Server::start("");
    let out = server
        .command()
        .args(["worker", "--kinds", "process,transmogrify"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("transmogrify") && err.contains("process, encode"),
        "{err}"
    );
}
