//! The library in S3-compatible storage (a real moto server): a server keeps originals,
//! renditions and images in the bucket, not on its disk, and plays them back with ranged reads
//! behind the usual checks; one API node and two workers with data dirs of their own split a
//! batch through the bucket, a worker killed mid-transcode leaves no orphan object; and
//! `dailies storage migrate` moves a library into the bucket and back while it is served.

mod common;

use std::collections::BTreeSet;

use common::moto::{Moto, keys};
use common::sse::collect_events;
use common::worker::{running_process_job, start_worker_with_own_disk, up_workers, wait_for};
use common::*;
use serde_json::Value;

const BUCKET: &str = "dailies-test";

fn s3_server(moto: &Moto, extra: &str) -> Server {
    let mut server = Server::prepare(&format!(
        "storage = \"s3://{BUCKET}/lib\"\ntorrents = false\n{extra}"
    ));
    server.env = moto.env();
    server.spawn();
    server
}

/// The files of one video in the bucket, by name (`playable.mp4`, `thumbnails/…`).
fn video_objects(client: &dailies_s3::Client, video: &str) -> BTreeSet<String> {
    let prefix = format!("lib/{video}/");
    keys(client, &prefix)
        .into_iter()
        .map(|k| k[prefix.len()..].to_owned())
        .collect()
}

fn object(client: &dailies_s3::Client, key: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut client.get(key, None).unwrap().unwrap(), &mut bytes).unwrap();
    bytes
}

fn get_range(
    server: &Server,
    path: &str,
    token: &str,
    range: &str,
) -> (u16, Option<String>, Vec<u8>) {
    let answer = ureq::get(&format!("{}{path}", server.base))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Range", range)
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap();
    let status = answer.status().as_u16();
    let content_range = answer
        .headers()
        .get("content-range")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = answer.into_body().read_to_vec().unwrap();
    (status, content_range, body)
}

#[test]
fn a_library_in_a_bucket_is_processed_served_and_purged() {
    let moto = Moto::start();
    let client = moto.bucket(BUCKET);
    let mut server = s3_server(&moto, "");
    let alice = server.user_token("alice", false);
    let bob = server.user_token("bob", false);
    let src = tempfile::tempdir().unwrap();
    let clip = make_clip(
        src.path(),
        "take1.mov",
        2.0,
        "testsrc2=size=320x240:rate=25",
        &["-c:v", "mpeg4", "-q:v", "5", "-c:a", "pcm_s16le"],
    );
    server.drop_file(Some("alice"), "take1.mov", &clip);
    let video = server.wait_settled("take1.mov");
    assert_eq!(video["status"], "ready", "{video}\n{}", server.log_text());
    let id = video["id"].as_str().unwrap().to_owned();

    // Everything is in the bucket; nothing of the video stays on the server's disk.
    let stored = video_objects(&client, &id);
    for name in [
        "original.mov",
        "ingest.json",
        "playable.mp4",
        "poster.jpg",
        "sprite.jpg",
    ] {
        assert!(stored.contains(name), "{name} not in {stored:?}");
    }
    server.wait_until("the scratch folder cleared", || {
        !server.data().join("media").join(&id).exists()
    });
    assert_eq!(
        object(&client, &format!("lib/{id}/original.mov")),
        std::fs::read(&clip).unwrap(),
        "the original is stored byte for byte"
    );

    // Playback reads ranges from the bucket, behind the same checks.
    let playable = object(&client, &format!("lib/{id}/playable.mp4"));
    let media = format!("/api/videos/{id}/media");
    let (status, range, body) = get_range(&server, &media, &alice, "bytes=100-1099");
    assert_eq!(status, 206);
    assert_eq!(
        range.as_deref(),
        Some(format!("bytes 100-1099/{}", playable.len()).as_str())
    );
    assert_eq!(body, playable[100..1100]);
    let (status, _, body) = get_range(&server, &media, &alice, "bytes=-500");
    assert_eq!(status, 206);
    assert_eq!(body, playable[playable.len() - 500..]);
    let (status, _, body) = server.get_bytes(&media, &alice);
    assert_eq!(status, 200);
    assert_eq!(body, playable, "the whole rendition, streamed");
    let (status, range, _) = get_range(
        &server,
        &media,
        &alice,
        &format!("bytes={}-", playable.len()),
    );
    assert_eq!(status, 416);
    assert_eq!(range, Some(format!("bytes */{}", playable.len())));
    assert_eq!(server.get_bytes(&media, &bob).0, 404, "not bob's video");
    assert_eq!(server.get_bytes(&media, "dly_nonsense").0, 401);
    let (status, _, poster) = server.get_bytes(&format!("/api/videos/{id}/poster.jpg"), &alice);
    assert_eq!(status, 200);
    assert_eq!(poster, object(&client, &format!("lib/{id}/poster.jpg")));

    // An encode and thumbnails land in the bucket too and download from there.
    let (status, encode) = server.post_json(
        &format!("/api/videos/{id}/encodes"),
        &alice,
        r#"{"codec":"h264","container":"mp4","max_height":120,"preset":"ultrafast","audio":"none"}"#,
    );
    assert_eq!(status, 201, "{encode}");
    let encode_id = encode["id"].as_str().unwrap().to_owned();
    wait_for(&server, "the encode", || {
        let (_, e) = server.get(&format!("/api/encodes/{encode_id}"), &alice);
        (e["state"] == "ready" || e["state"] == "failed").then_some(())
    });
    let (status, _, encoded) =
        server.get_bytes(&format!("/api/encodes/{encode_id}/download"), &alice);
    assert_eq!(status, 200);
    assert_eq!(
        encoded,
        object(&client, &format!("lib/{id}/encodes/{encode_id}.mp4"))
    );
    let (status, set) = server.post_json(
        &format!("/api/videos/{id}/thumbnails"),
        &alice,
        r#"{"count":2,"width":160}"#,
    );
    assert_eq!(status, 201, "{set}");
    let set_id = set["id"].as_str().unwrap().to_owned();
    let set = wait_for(&server, "the thumbnails", || {
        let (_, s) = server.get(&format!("/api/thumbnails/{set_id}"), &alice);
        (s["state"] == "ready").then_some(s)
    });
    let image_url = set["images"][0]["url"].as_str().unwrap().to_owned();
    let (status, _, image) = server.get_bytes(&image_url, &alice);
    assert_eq!(status, 200);
    assert!(image.starts_with(&[0xFF, 0xD8]), "a JPEG from the bucket");
    let stored = video_objects(&client, &id);
    assert_eq!(
        stored
            .iter()
            .filter(|k| k.starts_with(&format!("thumbnails/{set_id}/")))
            .count(),
        2,
        "{stored:?}"
    );

    // Deleted, then purged: the bucket forgets the video.
    let answer = call(
        "DELETE",
        &format!("{}/api/videos/{id}", server.base),
        &[("Authorization", &format!("Bearer {alice}"))],
        None,
    );
    assert_eq!(answer.status, 204);
    assert!(
        !video_objects(&client, &id).is_empty(),
        "kept while in the trash"
    );
    server.terminate();
    server.extra_config.push_str("trash_retention_days = 0.0\n");
    server.spawn();
    server.wait_until("the purge emptied the bucket", || {
        video_objects(&client, &id).is_empty()
    });
}

#[test]
fn workers_without_a_shared_disk_split_the_work_through_the_bucket() {
    let moto = Moto::start();
    let client = moto.bucket(BUCKET);
    let tools = tempfile::tempdir().unwrap();
    let ffmpeg = realtime_ffmpeg(tools.path());
    let server = s3_server(
        &moto,
        &format!(
            "workers = false\nprocess_concurrency = 1\nffmpeg = \"{}\"\n",
            ffmpeg.display()
        ),
    );
    let alice = server.user_token("alice", false);
    let events = collect_events(&server, &alice);
    let disks = tempfile::tempdir().unwrap();
    let mut w1 = start_worker_with_own_disk(&server, &disks.path().join("w1"), &[]);
    let mut w2 = start_worker_with_own_disk(&server, &disks.path().join("w2"), &[]);
    let workers = wait_for(&server, "two workers up", || {
        let w = up_workers(&server);
        (w.len() == 2).then_some(w)
    });

    let src = tempfile::tempdir().unwrap();
    let clip = |name: &str, seconds: f64, seed: u32| {
        make_clip(
            src.path(),
            name,
            seconds,
            &format!("testsrc2=size=640x360:rate=25,noise=alls=60:allf=t:all_seed={seed}"),
            &["-c:v", "mpeg4", "-q:v", "8", "-c:a", "pcm_s16le"],
        )
    };
    for n in 1..=4 {
        let name = format!("batch{n}.mov");
        server.drop_file(Some("alice"), &name, &clip(&name, 3.0, n));
    }
    let ready = wait_for(&server, "the batch ready", || {
        let v = server.videos();
        (v.len() == 4 && v.iter().all(|v| v["status"] == "ready")).then_some(v)
    });
    let job_node = |video: &str| {
        let (_, jobs) = server.get(
            &format!("/api/jobs?kind=process&video={video}"),
            &server.admin_token,
        );
        jobs["items"][0].clone()
    };
    let ran_on: BTreeSet<String> = ready
        .iter()
        .map(|v| {
            job_node(v["id"].as_str().unwrap())["node"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ran_on.len(), 2, "both workers took part");
    let progress: BTreeSet<String> = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "job.progress")
        .filter_map(|e| e["video_id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        progress.len(),
        4,
        "the API node relayed every worker's progress"
    );
    for v in &ready {
        let id = v["id"].as_str().unwrap();
        let (status, _, body) = server.get_bytes(&format!("/api/videos/{id}/media"), &alice);
        assert_eq!(status, 200);
        assert_eq!(body, object(&client, &format!("lib/{id}/playable.mp4")));
    }

    // kill -9 the worker running a transcode: the other finishes it, and the bucket holds one
    // result and nothing else.
    server.drop_file(Some("alice"), "killed.mov", &clip("killed.mov", 6.0, 99));
    let (victim, running_on) = wait_for(&server, "the new video running", || {
        running_process_job(&server)
    });
    let w1_id = workers.iter().find(|w| w["pid"] == w1.0.id()).unwrap()["id"].clone();
    if running_on == w1_id {
        w1.0.kill().unwrap();
    } else {
        w2.0.kill().unwrap();
    }
    wait_for(&server, "the killed job finished elsewhere", || {
        let (_, v) = server.get(&format!("/api/videos/{victim}"), &alice);
        (v["status"] == "ready").then_some(())
    });
    let job = job_node(&victim);
    assert_eq!(job["attempts"], 2, "{job}");
    assert_ne!(job["node"], Value::String(running_on));
    let expected: BTreeSet<String> = [
        "ingest.json",
        "original.mov",
        "playable.mp4",
        "poster.jpg",
        "sprite.jpg",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(
        video_objects(&client, &victim),
        expected,
        "no orphan objects"
    );
    assert_eq!(
        client.abort_unfinished_uploads("lib/").unwrap(),
        0,
        "no unfinished multipart upload"
    );
    let all = keys(&client, "lib/");
    assert_eq!(all.len(), 5 * 5, "five videos of five files each: {all:?}");
}

#[test]
fn a_library_moves_into_a_bucket_and_back_while_it_is_served() {
    let moto = Moto::start();
    let client = moto.bucket(BUCKET);
    let mut server = Server::prepare("torrents = false\n");
    server.env = moto.env();
    server.spawn();
    let alice = server.user_token("alice", false);
    let src = tempfile::tempdir().unwrap();
    let clip = playable_mp4(src.path(), "shot.mp4");
    server.drop_file(Some("alice"), "shot.mp4", &clip);
    let id = server.wait_settled("shot.mp4")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let media = format!("/api/videos/{id}/media");
    let before = server.get_bytes(&media, &alice).2;

    // Copied while the server runs and keeps serving from its disk.
    let (ok, out, err) = server.cli(
        &["storage", "migrate", "--to", "s3://dailies-test/moved"],
        "",
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("copied"), "{out}");
    assert_eq!(server.get_bytes(&media, &alice).2, before);
    let moved = keys(&client, &format!("moved/{id}/"));
    assert!(
        moved.iter().any(|k| k.ends_with("/original.mp4")),
        "{moved:?}"
    );
    // A second run copies nothing again.
    let (ok, out, _) = server.cli(
        &["storage", "migrate", "--to", "s3://dailies-test/moved"],
        "",
    );
    assert!(ok);
    assert!(out.contains("copied 0 files"), "{out}");

    // Switched over: the same video plays from the bucket with the disk copy gone.
    server.terminate();
    std::fs::remove_dir_all(server.data().join("media")).unwrap();
    server
        .extra_config
        .push_str("storage = \"s3://dailies-test/moved\"\n");
    server.spawn();
    assert_eq!(server.get_bytes(&media, &alice).2, before);

    // And back to local disk: media/ is the running node's scratch space, so only once the
    // nodes are stopped.
    let (ok, _, err) = server.cli(&["storage", "migrate", "--to", "local"], "");
    assert!(!ok);
    assert!(err.contains("--servers-stopped"), "{err}");
    server.terminate();
    let (ok, out, err) = server.cli(
        &["storage", "migrate", "--to", "local", "--servers-stopped"],
        "",
    );
    assert!(ok, "{out}{err}");
    let copied = server.data().join("media").join(&id).join("original.mp4");
    assert!(copied.is_file());

    // Wrong targets are refused with a reason.
    for (target, says) in [
        ("s3://No_Such", "bucket name"),
        ("relative/dir", "s3://bucket/prefix"),
        ("/mnt/shared", "s3://bucket/prefix"),
        ("ftp://x/y", "s3://bucket/prefix"),
        ("s3://dailies-test/moved", "already"),
    ] {
        let (ok, out, err) = server.cli(&["storage", "migrate", "--to", target], "");
        assert!(!ok, "{target}: {out}");
        assert!(err.contains(says), "{target}: {err}");
    }
}

#[test]
fn a_bucket_that_does_not_answer_stops_the_start_with_a_reason() {
    let moto = Moto::start();
    let server = Server::prepare("");
    let start = |storage: &str, env: &[(String, String)]| {
        let out = server
            .command()
            .env_remove("DAILIES_CONFIG")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .args(["--storage", storage, "serve", "--listen", "127.0.0.1:0"])
            .output()
            .unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = start("s3://no-such-bucket/x", &moto.env());
    assert!(err.contains("s3://no-such-bucket"), "{err}");
    let err = start(
        "s3://dailies-test/x",
        &[("AWS_ENDPOINT_URL".into(), moto.endpoint.clone())],
    );
    assert!(err.contains("AWS_ACCESS_KEY_ID"), "{err}");
    let err = start("s3://Bad_Bucket", &moto.env());
    assert!(err.contains("bucket name"), "{err}");
    // The swarm master serves a folder: not a bucket.
    moto.bucket(BUCKET);
    let mut env = moto.env();
    env.push(("DAILIES_SWARM_LISTEN".into(), "127.0.0.1:0".into()));
    env.push((
        "DAILIES_SWARM_TOKEN".into(),
        "a-long-enough-swarm-token".into(),
    ));
    let err = start(&format!("s3://{BUCKET}/x"), &env);
    assert!(
        err.contains("swarm_listen") && err.contains("migrate --to local"),
        "{err}"
    );
}
