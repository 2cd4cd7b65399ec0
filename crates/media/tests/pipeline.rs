//! End-to-end: real fixtures through probe, decide and the pipeline.

mod common;

use common::*;
use dailies_media::{AudioPlan, Limits, Plan, decide, is_streamable_mp4, run_pipeline};

#[tokio::test]
async fn faststart_mp4_is_kept_and_gets_stills() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fast = make_h264_aac(dir.path(), "fast.mp4", &["-movflags", "+faststart"]);
    let slow = make_h264_aac(dir.path(), "slow.mp4", &[]);

    let (_, slow_plan) = plan_for(&slow).await;
    assert_eq!(
        slow_plan,
        Plan::Remux {
            audio: AudioPlan::Copy
        },
        "moov at the end must be remuxed"
    );

    let (info, plan) = plan_for(&fast).await;
    assert_eq!(plan, Plan::Keep);
    let out = dir.path().join("out");
    let outputs = run(&fast, &info, &plan, &out).await;
    assert!(outputs.rendition.is_none() && outputs.rendition_info.is_none());
    assert!(!out.join("playable.mp4").exists());
    check_stills(&outputs).await;

    // Idempotent: a rerun overwrites cleanly.
    let again = run(&fast, &info, &plan, &out).await;
    assert_eq!(again.sprite_geometry, outputs.sprite_geometry);
}

#[tokio::test]
async fn mkv_is_remuxed_to_faststart_mp4() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mkv = make_h264_aac(dir.path(), "in.mkv", &[]);
    let (info, plan) = plan_for(&mkv).await;
    assert_eq!(
        plan,
        Plan::Remux {
            audio: AudioPlan::Copy
        }
    );
    let out = dir.path().join("out");
    let outputs = run(&mkv, &info, &plan, &out).await;
    let rendition = outputs.rendition.clone().expect("rendition");
    assert_eq!(rendition, out.join("playable.mp4"));
    let r = probe(&rendition).await;
    assert_browser_mp4(&r);
    assert_eq!(
        r.primary_audio().and_then(|a| a.codec.as_deref()),
        Some("aac")
    );
    assert_eq!(outputs.rendition_info.as_ref(), Some(&r));
    assert!(is_streamable_mp4(&rendition).await.expect("walk"));
    // The remux is now Keep-able.
    assert_eq!(decide(&r, &Limits::default(), true), Ok(Plan::Keep));
    check_stills(&outputs).await;
}

#[tokio::test]
async fn h264_with_pcm_sound_keeps_its_picture_and_converts_only_the_sound() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mov = make(
        dir.path(),
        "camera.mov",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=25",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-t",
            "2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "pcm_s16le",
        ],
    );
    let (info, plan) = plan_for(&mov).await;
    assert!(
        matches!(
            plan,
            Plan::Remux {
                audio: AudioPlan::Aac { .. }
            }
        ),
        "{plan:?}"
    );
    let out = dir.path().join("out");
    let outputs = run(&mov, &info, &plan, &out).await;
    let r = probe(&outputs.rendition.clone().expect("rendition")).await;
    assert_browser_mp4(&r);
    assert_eq!(
        r.primary_audio().and_then(|a| a.codec.as_deref()),
        Some("aac")
    );
    // The picture was copied, not re-encoded: same frame count and bit rate.
    let (src_v, out_v) = (
        info.primary_video().expect("v"),
        r.primary_video().expect("v"),
    );
    assert_eq!(src_v.nb_frames, out_v.nb_frames);
    assert_eq!(src_v.bit_rate, out_v.bit_rate);
    check_stills(&outputs).await;
}

#[tokio::test]
async fn prores_with_surround_pcm_is_transcoded_to_stereo_aac() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mov = make(
        dir.path(),
        "prores.mov",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x360:rate=25",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-t",
            "2",
            "-filter_complex",
            "[1:a]pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0[a]",
            "-map",
            "0:v",
            "-map",
            "[a]",
            "-c:v",
            "prores_ks",
            "-profile:v",
            "0",
            "-c:a",
            "pcm_s24le",
        ],
    );
    let (info, plan) = plan_for(&mov).await;
    let Plan::Transcode(spec) = &plan else {
        panic!("expected transcode, got {plan:?}");
    };
    assert_eq!((spec.width, spec.height), (640, 360));
    assert_eq!(
        spec.audio,
        AudioPlan::Aac {
            channels: 2,
            bitrate_kbps: 160
        }
    );
    let out = dir.path().join("out");
    let outputs = run(&mov, &info, &plan, &out).await;
    let r = outputs.rendition_info.clone().expect("probe");
    assert_browser_mp4(&r);
    let a = r.primary_audio().expect("audio");
    assert_eq!(a.codec.as_deref(), Some("aac"));
    assert_eq!(a.channels, Some(2));
    let d = r.best_duration_s().expect("duration");
    assert!((d - 2.0).abs() < 0.2, "duration {d}");
    check_stills(&outputs).await;
}

#[tokio::test]
async fn rotated_hevc_10bit_comes_out_upright() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = make(
        dir.path(),
        "plain.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=25",
            "-t",
            "1",
            "-c:v",
            "libx265",
            "-preset",
            "ultrafast",
            "-x265-params",
            "log-level=error",
            "-pix_fmt",
            "yuv420p10le",
        ],
    );
    let plain_arg = plain.to_string_lossy().into_owned();
    let rotated = make(
        dir.path(),
        "rotated.mp4",
        &[
            "-i",
            &plain_arg,
            "-c",
            "copy",
            "-metadata:s:v:0",
            "rotate=90",
        ],
    );
    let (info, plan) = plan_for(&rotated).await;
    let v = info.primary_video().expect("video");
    assert!(
        v.rotation_deg == 90 || v.rotation_deg == 270,
        "{}",
        v.rotation_deg
    );
    assert_eq!(info.display_size(), Some((180, 320)));
    let Plan::Transcode(spec) = &plan else {
        panic!("expected transcode, got {plan:?}");
    };
    assert_eq!((spec.width, spec.height), (180, 320));
    assert_eq!(spec.audio, AudioPlan::None);
    let out = dir.path().join("out");
    let outputs = run(&rotated, &info, &plan, &out).await;
    let r = outputs.rendition_info.clone().expect("probe");
    assert_browser_mp4(&r);
    let rv = r.primary_video().expect("video");
    assert_eq!((rv.width, rv.height), (Some(180), Some(320)));
    assert!(r.primary_audio().is_none());
    check_stills(&outputs).await;
    assert!(outputs.sprite_geometry.tile_height > outputs.sprite_geometry.tile_width);
}

#[tokio::test]
async fn odd_dimensions_become_even() {
    let dir = tempfile::tempdir().expect("tempdir");
    let odd = make(
        dir.path(),
        "odd.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=641x361:rate=25",
            "-t",
            "1",
            "-c:v",
            "ffv1",
        ],
    );
    let (info, plan) = plan_for(&odd).await;
    let Plan::Transcode(spec) = &plan else {
        panic!("expected transcode, got {plan:?}");
    };
    assert_eq!((spec.width, spec.height), (640, 360));
    let out = dir.path().join("out");
    let outputs = run(&odd, &info, &plan, &out).await;
    let r = outputs.rendition_info.clone().expect("probe");
    assert_browser_mp4(&r);
    check_stills(&outputs).await;
}

#[tokio::test]
async fn cancelled_pipeline_leaves_nothing_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mkv = make_h264_aac(dir.path(), "in.mkv", &[]);
    let info = probe(&mkv).await;
    let token = tokio_util::sync::CancellationToken::new();
    token.cancel();
    let out = dir.path().join("out");
    let opts = opts().with_cancel(token);
    let err = run_pipeline(
        &tools(),
        &dailies_media::Source::file(&mkv),
        &info,
        &Plan::Remux {
            audio: AudioPlan::Copy,
        },
        &out,
        &opts,
        &mut |_| {},
    )
    .await
    .expect_err("cancelled");
    assert!(
        matches!(err, dailies_media::MediaError::Cancelled),
        "{err:?}"
    );
    assert!(!err.is_permanent());
    assert_no_partials(&out);
    assert!(!out.join("playable.mp4").exists());
}
