//! Real fixtures that must be transcoded, rejected, or refused at probe time.

mod common;

use common::*;
use dailies_media::{Limits, MediaError, Plan, decide, is_streamable_mp4};

#[tokio::test]
async fn interlaced_mpeg2_is_deinterlaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mpg = make(
        dir.path(),
        "inter.mpg",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25",
            "-t",
            "1",
            "-c:v",
            "mpeg2video",
            "-flags",
            "+ilme+ildct",
            "-field_order",
            "tt",
            "-top",
            "1",
        ],
    );
    let info = probe(&mpg).await;
    let v = info.primary_video().expect("video");
    assert!(v.is_interlaced(), "{:?}", v.field_order);
    assert!(!v.variable_frame_rate);
    match decide(&info, &Limits::default(), false) {
        Ok(Plan::Transcode(spec)) => {
            assert!(spec.deinterlace);
            assert!(!spec.vfr_to_cfr);
        }
        other => panic!("expected transcode, got {other:?}"),
    }
}

#[tokio::test]
async fn vp9_webm_is_transcoded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let webm = make(
        dir.path(),
        "in.webm",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=25",
            "-f",
            "lavfi",
            "-i",
            "sine=sample_rate=48000",
            "-t",
            "1",
            "-c:v",
            "libvpx-vp9",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
            "-b:v",
            "200k",
            "-c:a",
            "libopus",
        ],
    );
    let info = probe(&webm).await;
    let faststart = is_streamable_mp4(&webm).await.expect("walk");
    assert!(!faststart);
    match decide(&info, &Limits::default(), faststart) {
        Ok(Plan::Transcode(spec)) => {
            assert_eq!((spec.width, spec.height), (320, 180));
            assert!(matches!(
                spec.audio,
                dailies_media::AudioPlan::Aac { channels: 1, .. }
            ));
        }
        other => panic!("expected transcode, got {other:?}"),
    }
}

#[tokio::test]
async fn audio_only_is_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m4a = make(
        dir.path(),
        "sound.m4a",
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=sample_rate=48000",
            "-t",
            "1",
            "-c:a",
            "aac",
        ],
    );
    let info = probe(&m4a).await;
    let err = decide(&info, &Limits::default(), true).expect_err("rejected");
    assert!(
        err.reason.starts_with("This file has sound but no picture"),
        "{err}"
    );
}

#[tokio::test]
async fn png_named_mp4_is_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let png = make(
        dir.path(),
        "still.png",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180",
            "-frames:v",
            "1",
        ],
    );
    let fake = dir.path().join("holiday.mp4");
    std::fs::rename(&png, &fake).expect("rename");
    let info = probe(&fake).await;
    let err = decide(&info, &Limits::default(), false).expect_err("rejected");
    assert!(err.reason.contains("still image"), "{err}");
}

#[tokio::test]
async fn non_media_files_fail_permanently() {
    let dir = tempfile::tempdir().expect("tempdir");
    let zero = dir.path().join("zero.mp4");
    std::fs::write(&zero, b"").expect("write");
    let random = dir.path().join("random.mov");
    // Deterministic pseudo-random bytes (xorshift) so failures reproduce.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    std::fs::write(&random, bytes).expect("write");
    let text_mp4 = dir.path().join("notes.mp4");
    let text_txt = dir.path().join("notes.txt");
    let text: String = (0..200)
        .map(|i| format!("line {i} of some notes\n"))
        .collect();
    std::fs::write(&text_mp4, &text).expect("write");
    std::fs::write(&text_txt, &text).expect("write");
    let dash = dir.path().join("-i.mp4");
    std::fs::write(&dash, b"nothing").expect("write");

    for path in [&zero, &random, &text_mp4, &text_txt, &dash] {
        let err = dailies_media::probe(&tools(), &dailies_media::Source::file(path), PROBE_TIMEOUT)
            .await
            .expect_err("must not probe as media");
        assert!(err.is_permanent(), "{}: {err:?}", path.display());
        let msg = err.user_message();
        assert!(
            !msg.contains(&*dir.path().to_string_lossy()),
            "path leaked: {msg}"
        );
    }
    let missing = dailies_media::probe(
        &tools(),
        &dailies_media::Source::file(dir.path().join("nope.mp4")),
        PROBE_TIMEOUT,
    )
    .await
    .expect_err("missing");
    assert!(matches!(missing, MediaError::Io(_)));
}
