//! End-to-end: camera and editor formats seen in real uploads, generated with ffmpeg's lavfi
//! sources, through probe, decide and the pipeline. Each test asserts what the uploader notices:
//! the result plays in every browser, lasts as long as the source and has matching stills.

mod common;

use std::path::Path;

use common::*;
use dailies_media::{AudioPlan, MediaInfo, PipelineOutputs, Plan, StreamKind, is_streamable_mp4};

/// 320x180 test pattern at 25 fps, as the first input.
const PATTERN: [&str; 4] = ["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25"];

/// A 440 Hz tone at 48 kHz, as an extra lavfi input.
const TONE: [&str; 4] = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"];

fn args<'a>(parts: &[&[&'a str]]) -> Vec<&'a str> {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}

/// The rendition plays in every browser: H.264 8-bit 4:2:0, even size, faststart MP4, and AAC
/// sound with `channels` channels (or no sound at all when `None`).
async fn assert_plays_in_browsers(outputs: &PipelineOutputs, channels: Option<u32>) -> MediaInfo {
    let path = outputs.rendition.clone().expect("a rendition was written");
    let r = probe(&path).await;
    assert_eq!(outputs.rendition_info.as_ref(), Some(&r));
    assert_browser_mp4(&r);
    assert!(
        is_streamable_mp4(&path).await.expect("walk boxes"),
        "moov must come first"
    );
    match channels {
        Some(n) => {
            let a = r.primary_audio().expect("audio");
            assert_eq!(a.codec.as_deref(), Some("aac"));
            assert_eq!(a.channels, Some(n));
        }
        None => assert!(r.primary_audio().is_none()),
    }
    r
}

fn assert_duration_close(source: &MediaInfo, rendition: &MediaInfo) {
    let (s, r) = (
        source.best_duration_s().expect("source duration"),
        rendition.best_duration_s().expect("rendition duration"),
    );
    assert!((s - r).abs() <= 0.15, "source {s} s, rendition {r} s");
}

/// Tiles keep the picture's shape (the sheet itself is checked by `check_stills`).
fn assert_tiles_match(outputs: &PipelineOutputs, (w, h): (u32, u32)) {
    let g = &outputs.sprite_geometry;
    let want = f64::from(g.tile_width) * f64::from(h) / f64::from(w);
    assert!(
        (f64::from(g.tile_height) - want).abs() <= 2.0,
        "{g:?} for a {w}x{h} picture"
    );
}

/// Constant frame rate: the average rate equals the base rate within 1%.
fn assert_constant_rate(info: &MediaInfo) {
    let v = info.primary_video().expect("video");
    let (avg, r) = (
        v.frame_rate.expect("avg_frame_rate"),
        v.r_frame_rate.expect("r_frame_rate"),
    );
    assert!((avg - r).abs() / r <= 0.01, "avg {avg} vs r {r}");
    assert!(!v.variable_frame_rate);
}

#[tokio::test]
async fn dnxhr_mov_with_pcm_is_transcoded() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Avid/Resolve intermediate: DNxHR LB ("low bandwidth", the smallest DNxHR profile) 4:2:2.
    let mov = make(
        dir.path(),
        "edit.mov",
        &args(&[
            &["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25"],
            &TONE,
            &["-t", "2", "-c:v", "dnxhd", "-profile:v", "dnxhr_lb"],
            &["-pix_fmt", "yuv422p", "-c:a", "pcm_s16le"],
        ]),
    );
    let (info, plan) = plan_for(&mov).await;
    let v = info.primary_video().expect("video");
    assert_eq!(v.codec.as_deref(), Some("dnxhd"));
    let Plan::Transcode(spec) = &plan else {
        panic!("expected transcode, got {plan:?}");
    };
    assert_eq!((spec.width, spec.height), (640, 360));
    assert!(!spec.deinterlace && !spec.vfr_to_cfr);
    assert_eq!(
        spec.audio,
        AudioPlan::Aac {
            channels: 1,
            bitrate_kbps: 96
        }
    );
    let out = dir.path().join("out");
    let outputs = run(&mov, &info, &plan, &out).await;
    let r = assert_plays_in_browsers(&outputs, Some(1)).await;
    let rv = r.primary_video().expect("video");
    assert_eq!((rv.width, rv.height), (Some(640), Some(360)));
    assert_duration_close(&info, &r);
    assert_constant_rate(&r);
    check_stills(&outputs).await;
    assert_tiles_match(&outputs, (640, 360));
}

/// PAL DV as a camcorder writes it: 720x576 with 16:15 pixels (shown 768x576), bottom field
/// first, two-channel 48 kHz PCM.
fn dv_pal_args(extra: &[&'static str]) -> Vec<&'static str> {
    let mut a = args(&[
        &["-f", "lavfi", "-i", "testsrc2=size=720x576:rate=25"],
        &TONE,
        &["-t", "2", "-c:v", "dvvideo", "-s", "720x576"],
        &["-pix_fmt", "yuv420p", "-r", "25"],
        &["-ar", "48000", "-ac", "2", "-c:a", "pcm_s16le"],
    ]);
    a.extend_from_slice(extra);
    a
}

#[tokio::test]
async fn raw_dv_pal_is_transcoded_with_square_pixels() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dv = make(dir.path(), "tape.dv", &dv_pal_args(&[]));
    let (info, plan) = plan_for(&dv).await;
    let v = info.primary_video().expect("video");
    assert_eq!(v.codec.as_deref(), Some("dvvideo"));
    // The DV header carries the 4:3 PAL pixel aspect.
    assert_eq!(v.sample_aspect_ratio, Some((16, 15)));
    assert_eq!(info.display_size(), Some((768, 576)));
    let Plan::Transcode(spec) = &plan else {
        panic!("expected transcode, got {plan:?}");
    };
    assert_eq!((spec.width, spec.height), (768, 576));
    // ffprobe reports no field order for raw DV, yet SD DV is always interlaced: it must be
    // deinterlaced all the same.
    assert!(v.is_interlaced(), "{:?}", v.field_order);
    assert!(spec.deinterlace);
    assert_eq!(
        spec.audio,
        AudioPlan::Aac {
            channels: 2,
            bitrate_kbps: 160
        }
    );
    let out = dir.path().join("out");
    let outputs = run(&dv, &info, &plan, &out).await;
    let r = assert_plays_in_browsers(&outputs, Some(2)).await;
    let rv = r.primary_video().expect("video");
    assert_eq!((rv.width, rv.height), (Some(768), Some(576)));
    assert_eq!(rv.sample_aspect_ratio, None, "square pixels");
    assert!(!rv.is_interlaced(), "{:?}", rv.field_order);
    assert_duration_close(&info, &r);
    assert_constant_rate(&r);
    check_stills(&outputs).await;
    assert_tiles_match(&outputs, (768, 576));
}

#[tokio::test]
async fn dv_in_quicktime_with_bottom_field_first_is_deinterlaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    // QuickTime stores the field order in its `fiel` atom, so here ffprobe does report it.
    let mov = make(
        dir.path(),
        "capture.mov",
        &dv_pal_args(&["-flags", "+ildct", "-field_order", "bb"]),
    );
    let (info, plan) = plan_for(&mov).await;
    let v = info.primary_video().expect("video");
    assert_eq!(v.field_order.as_deref(), Some("bb"));
    let Plan::Transcode(spec) = &plan else {
        panic!("expected transcode, got {plan:?}");
    };
    assert!(spec.deinterlace);
    assert!(!spec.vfr_to_cfr);
    // One frame per frame (bwdif send_frame): the rate stays 25, not 50.
    assert_eq!(spec.fps, None);
    let out = dir.path().join("out");
    let outputs = run(&mov, &info, &plan, &out).await;
    let r = assert_plays_in_browsers(&outputs, Some(2)).await;
    let rv = r.primary_video().expect("video");
    assert!(!rv.is_interlaced(), "{:?}", rv.field_order);
    let fps = rv.frame_rate.expect("fps");
    assert!((fps - 25.0).abs() < 0.25, "{fps}");
    assert_duration_close(&info, &r);
    assert_constant_rate(&r);
    check_stills(&outputs).await;
}

/// A screen recording: one second at 25 fps, then one second at 5 fps (nothing moved), in 4:4:4
/// so the picture must be re-encoded.
fn screen_recording(dir: &Path, name: &str) -> std::path::PathBuf {
    make(
        dir,
        name,
        &args(&[
            &PATTERN,
            &["-t", "2"],
            &["-vf", "setpts='if(lt(N,25),N/25,(N-25)/5+1)/TB'"],
            &[
                "-fps_mode",
                "vfr",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
            ],
            &["-pix_fmt", "yuv444p"],
        ]),
    )
}

async fn check_vfr_source_comes_out_constant(name: &str) -> (MediaInfo, Plan) {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = screen_recording(dir.path(), name);
    let (info, plan) = plan_for(&src).await;
    let v = info.primary_video().expect("video");
    let Plan::Transcode(spec) = &plan else {
        panic!("expected transcode, got {plan:?}");
    };
    assert_eq!((spec.width, spec.height), (320, 180));
    assert_eq!(spec.audio, AudioPlan::None);
    assert_eq!(spec.vfr_to_cfr, v.variable_frame_rate, "{v:?}");
    if spec.vfr_to_cfr {
        let fps = spec.fps.expect("a constant rate is forced");
        assert!((1.0..=60.0).contains(&fps), "{fps}");
    }
    let out = dir.path().join("out");
    let outputs = run(&src, &info, &plan, &out).await;
    let r = assert_plays_in_browsers(&outputs, None).await;
    assert_constant_rate(&r);
    assert_duration_close(&info, &r);
    check_stills(&outputs).await;
    assert_tiles_match(&outputs, (320, 180));
    (info, plan)
}

#[tokio::test]
async fn vfr_quicktime_screen_recording_becomes_constant_rate() {
    // MP4/MOV keep real per-frame durations: the probe sees avg 16.3 fps against a 25 fps base.
    let (info, plan) = check_vfr_source_comes_out_constant("screen.mov").await;
    assert!(info.primary_video().expect("video").variable_frame_rate);
    let Plan::Transcode(spec) = plan else {
        unreachable!()
    };
    assert!(spec.vfr_to_cfr);
}

#[tokio::test]
async fn vfr_mkv_screen_recording_becomes_constant_rate() {
    // Matroska stores a nominal default duration, so ffprobe reports avg == r == 25 and the
    // probe cannot see the VFR; the MP4 output must be constant-rate all the same.
    check_vfr_source_comes_out_constant("screen.mkv").await;
}

#[tokio::test]
async fn timecode_track_is_dropped_on_remux() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mov = make_h264_aac(dir.path(), "camera.mov", &["-timecode", "01:00:00:00"]);
    let (info, plan) = plan_for(&mov).await;
    assert!(
        info.streams.iter().any(|s| s.kind == StreamKind::Data),
        "fixture needs a tmcd data track: {:?}",
        info.streams
    );
    // moov at the end (no +faststart), so the file is remuxed, picture and sound copied.
    assert_eq!(
        plan,
        Plan::Remux {
            audio: AudioPlan::Copy
        }
    );
    let out = dir.path().join("out");
    let outputs = run(&mov, &info, &plan, &out).await;
    let r = assert_plays_in_browsers(&outputs, Some(1)).await;
    assert_eq!(
        r.streams.iter().map(|s| s.kind).collect::<Vec<_>>(),
        vec![StreamKind::Video, StreamKind::Audio],
        "no data/tmcd stream: {:?}",
        r.streams
    );
    let (src_v, out_v) = (
        info.primary_video().expect("v"),
        r.primary_video().expect("v"),
    );
    assert_eq!(src_v.nb_frames, out_v.nb_frames, "picture copied");
    assert_duration_close(&info, &r);
    check_stills(&outputs).await;
}

#[tokio::test]
async fn only_the_first_of_several_audio_tracks_is_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Two distinguishable tracks: 48 kHz mono first, then 44.1 kHz stereo.
    let mkv = make(
        dir.path(),
        "tracks.mkv",
        &args(&[
            &PATTERN,
            &TONE,
            &["-f", "lavfi", "-i", "sine=frequency=880:sample_rate=44100"],
            &["-t", "2", "-map", "0:v", "-map", "1:a", "-map", "2:a"],
            &[
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
            ],
            &["-c:a", "aac", "-ac:a:1", "2"],
        ]),
    );
    let (info, plan) = plan_for(&mkv).await;
    let audio: Vec<_> = info
        .streams
        .iter()
        .filter(|s| s.kind == StreamKind::Audio)
        .collect();
    assert_eq!(audio.len(), 2);
    assert_eq!(
        plan,
        Plan::Remux {
            audio: AudioPlan::Copy
        }
    );
    let out = dir.path().join("out");
    let outputs = run(&mkv, &info, &plan, &out).await;
    let r = assert_plays_in_browsers(&outputs, Some(1)).await;
    let out_audio: Vec<_> = r
        .streams
        .iter()
        .filter(|s| s.kind == StreamKind::Audio)
        .collect();
    assert_eq!(out_audio.len(), 1, "{:?}", r.streams);
    assert_eq!(out_audio[0].sample_rate, Some(48_000), "the first track");
    assert_eq!(r.streams.len(), 2);
    assert_duration_close(&info, &r);
    check_stills(&outputs).await;
}

/// H.264 + 5.1 AAC: the picture plays everywhere and so does the sound (browsers downmix AAC
/// 5.1 themselves), so decide() treats it like stereo AAC: `Keep` when faststart, `Remux` with
/// the sound copied, all six channels, otherwise.
#[tokio::test]
async fn surround_aac_in_mp4_is_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let surround = |name: &str, extra: &[&str]| {
        let mut a = args(&[
            &PATTERN,
            &TONE,
            &["-t", "2"],
            &[
                "-filter_complex",
                "[1:a]pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0[a]",
            ],
            &["-map", "0:v", "-map", "[a]"],
            &[
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
            ],
            &["-c:a", "aac"],
        ]);
        a.extend_from_slice(extra);
        make(dir.path(), name, &a)
    };
    let fast = surround("fast.mp4", &["-movflags", "+faststart"]);
    let slow = surround("slow.mp4", &[]);

    let (info, plan) = plan_for(&fast).await;
    let a = info.primary_audio().expect("audio");
    assert_eq!(a.codec.as_deref(), Some("aac"));
    assert_eq!(a.channels, Some(6));
    assert_eq!(plan, Plan::Keep);
    // Kept means the original is served: it must itself be a browser MP4.
    assert_browser_mp4(&info);
    let out = dir.path().join("out-fast");
    let outputs = run(&fast, &info, &plan, &out).await;
    assert!(outputs.rendition.is_none() && outputs.rendition_info.is_none());
    check_stills(&outputs).await;
    assert_tiles_match(&outputs, (320, 180));

    let (info, plan) = plan_for(&slow).await;
    assert_eq!(
        plan,
        Plan::Remux {
            audio: AudioPlan::Copy
        }
    );
    let out = dir.path().join("out-slow");
    let outputs = run(&slow, &info, &plan, &out).await;
    let r = assert_plays_in_browsers(&outputs, Some(6)).await;
    assert_duration_close(&info, &r);
    check_stills(&outputs).await;
}
