//! Child-process containment: timeouts, cancellation and stray grandchildren.

mod common;

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use dailies_media::{MediaError, RunOptions, Tools, run_ffmpeg};
use tokio_util::sync::CancellationToken;

/// A fake "ffmpeg" that forks `sleep 1000`, records its pid, then either waits or exits.
fn fake_tool(dir: &Path, pidfile: &Path, wait: bool) -> PathBuf {
    let script = dir.join(if wait { "slow-ffmpeg" } else { "leaky-ffmpeg" });
    let tail = if wait { "wait\n" } else { "exit 0\n" };
    let body = format!(
        "#!/bin/sh\nsleep 1000 &\necho $! > '{}'\n{tail}",
        pidfile.display()
    );
    std::fs::write(&script, body).expect("write script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    script
}

fn read_pid(pidfile: &Path) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(text) = std::fs::read_to_string(pidfile)
            && let Ok(pid) = text.trim().parse()
        {
            return pid;
        }
        assert!(Instant::now() < deadline, "script never wrote its pid");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Gone, or a zombie waiting for init to reap it.
fn wait_dead(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let alive = match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => false,
            Ok(stat) => stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        };
        if !alive {
            return;
        }
        assert!(Instant::now() < deadline, "sleep {pid} survived");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn fake_tools(script: &Path) -> Tools {
    Tools::new(script, "ffprobe", 0)
}

#[tokio::test]
async fn timeout_kills_the_whole_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("pid");
    let script = fake_tool(dir.path(), &pidfile, true);
    let started = Instant::now();
    let err = run_ffmpeg(
        &fake_tools(&script),
        &[],
        &RunOptions::new(Duration::from_millis(500)),
        None,
        &mut |_| {},
    )
    .await
    .expect_err("must time out");
    assert!(
        matches!(err, MediaError::Timeout { tool: "ffmpeg", .. }),
        "{err:?}"
    );
    assert!(!err.is_permanent());
    assert!(started.elapsed() < Duration::from_secs(10));
    wait_dead(read_pid(&pidfile));
}

#[tokio::test]
async fn cancellation_kills_the_whole_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("pid");
    let script = fake_tool(dir.path(), &pidfile, true);
    let token = CancellationToken::new();
    let canceller = {
        let token = token.clone();
        let pidfile = pidfile.clone();
        tokio::spawn(async move {
            // Cancel once the grandchild exists, so we know there is something to kill.
            while !pidfile.exists() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            token.cancel();
        })
    };
    let opts = RunOptions::new(Duration::from_secs(60)).with_cancel(token);
    let err = run_ffmpeg(&fake_tools(&script), &[], &opts, None, &mut |_| {})
        .await
        .expect_err("must be cancelled");
    assert!(matches!(err, MediaError::Cancelled), "{err:?}");
    canceller.await.expect("canceller");
    wait_dead(read_pid(&pidfile));
}

#[tokio::test]
async fn stragglers_are_killed_after_a_clean_exit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("pid");
    let script = fake_tool(dir.path(), &pidfile, false);
    let started = Instant::now();
    run_ffmpeg(
        &fake_tools(&script),
        &[],
        &RunOptions::new(Duration::from_secs(30)),
        None,
        &mut |_| {},
    )
    .await
    .expect("clean exit");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "blocked on the straggler's pipes"
    );
    wait_dead(read_pid(&pidfile));
}

#[tokio::test]
async fn missing_tool_is_a_spawn_error() {
    let tools = Tools::new("/nonexistent/ffmpeg", "/nonexistent/ffprobe", 0);
    let err = run_ffmpeg(&tools, &[], &opts(), None, &mut |_| {})
        .await
        .expect_err("spawn");
    assert!(matches!(err, MediaError::Spawn { .. }), "{err:?}");
    assert!(!err.is_permanent());
}

#[tokio::test]
async fn failure_keeps_a_stderr_tail_and_progress_flows() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Garbage input: ffmpeg fails with a readable reason.
    let bad = dir.path().join("bad.mp4");
    std::fs::write(&bad, b"definitely not a video").expect("write");
    let args: Vec<OsString> = vec![
        "-i".into(),
        dailies_media::ffmpeg_path_arg(&bad),
        "-f".into(),
        "null".into(),
        "-".into(),
    ];
    let err = run_ffmpeg(&tools(), &args, &opts(), None, &mut |_| {})
        .await
        .expect_err("fails");
    match &err {
        MediaError::Failed {
            tool, stderr_tail, ..
        } => {
            assert_eq!(*tool, "ffmpeg");
            assert!(stderr_tail.contains("Invalid data"), "{stderr_tail}");
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    assert!(err.is_permanent());
    assert!(
        err.user_message()
            .starts_with("The video could not be converted")
    );

    // A real (lavfi) encode reports progress ending in `done`.
    let out = dir.path().join("o.mp4");
    let args: Vec<OsString> = [
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=160x90:rate=25",
        "-t",
        "2",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-f",
        "mp4",
    ]
    .iter()
    .map(OsString::from)
    .chain([dailies_media::ffmpeg_path_arg(&out)])
    .collect();
    let mut ticks = Vec::new();
    run_ffmpeg(&tools(), &args, &opts(), Some(2.0), &mut |p| ticks.push(p))
        .await
        .expect("encode");
    let last = ticks.last().expect("progress");
    assert!(last.done);
    assert_eq!(last.fraction, Some(1.0));
}
