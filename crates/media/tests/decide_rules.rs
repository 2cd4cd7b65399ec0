//! decide() on hand-built MediaInfo: every rule without touching ffmpeg.

use dailies_media::{AudioPlan, Limits, MediaInfo, Plan, StreamInfo, StreamKind, decide};

fn video(codec: &str, w: u32, h: u32) -> StreamInfo {
    StreamInfo {
        index: 0,
        kind: StreamKind::Video,
        codec: Some(codec.into()),
        profile: Some("High".into()),
        pix_fmt: Some("yuv420p".into()),
        bit_depth: Some(8),
        width: Some(w),
        height: Some(h),
        sample_aspect_ratio: None,
        rotation_deg: 0,
        frame_rate: Some(25.0),
        r_frame_rate: Some(25.0),
        variable_frame_rate: false,
        field_order: Some("progressive".into()),
        channels: None,
        channel_layout: None,
        sample_rate: None,
        bit_rate: None,
        duration_s: Some(10.0),
        nb_frames: Some(250),
        attached_pic: false,
    }
}

fn audio(codec: &str, channels: u32) -> StreamInfo {
    StreamInfo {
        index: 1,
        kind: StreamKind::Audio,
        codec: Some(codec.into()),
        profile: None,
        pix_fmt: None,
        bit_depth: None,
        width: None,
        height: None,
        sample_aspect_ratio: None,
        rotation_deg: 0,
        frame_rate: None,
        r_frame_rate: None,
        variable_frame_rate: false,
        field_order: None,
        channels: Some(channels),
        channel_layout: None,
        sample_rate: Some(48000),
        bit_rate: None,
        duration_s: Some(10.0),
        nb_frames: None,
        attached_pic: false,
    }
}

fn media(format: &str, streams: Vec<StreamInfo>) -> MediaInfo {
    MediaInfo {
        format_name: format.into(),
        format_long_name: None,
        duration_s: Some(10.0),
        bit_rate: None,
        size_bytes: Some(1_000_000),
        streams,
        start_time_s: Some(0.0),
    }
}

const MP4: &str = "mov,mp4,m4a,3gp,3g2,mj2";

fn transcode(info: &MediaInfo) -> dailies_media::TranscodeSpec {
    match decide(info, &Limits::default(), true) {
        Ok(Plan::Transcode(spec)) => spec,
        other => panic!("expected transcode, got {other:?}"),
    }
}

#[test]
fn browser_video_with_other_sound_is_remuxed_with_aac() {
    for (codec, channels, want) in [("pcm_s16le", 2, 2), ("opus", 1, 1), ("ac3", 6, 2)] {
        let info = media(MP4, vec![video("h264", 1280, 720), audio(codec, channels)]);
        match decide(&info, &Limits::default(), true) {
            Ok(Plan::Remux {
                audio: AudioPlan::Aac { channels: c, .. },
            }) => assert_eq!(c, want, "{codec}"),
            other => panic!("{codec}: {other:?}"),
        }
    }
}

#[test]
fn keep_remux_by_container_and_faststart() {
    let info = media(MP4, vec![video("h264", 1920, 1080), audio("aac", 2)]);
    assert_eq!(decide(&info, &Limits::default(), true), Ok(Plan::Keep));
    assert_eq!(
        decide(&info, &Limits::default(), false),
        Ok(Plan::Remux {
            audio: AudioPlan::Copy
        })
    );
    let mkv = media(
        "matroska,webm",
        vec![video("h264", 1920, 1080), audio("aac", 2)],
    );
    assert_eq!(
        decide(&mkv, &Limits::default(), true),
        Ok(Plan::Remux {
            audio: AudioPlan::Copy
        })
    );
    // No audio and extra tracks are fine; rotation is honoured by browsers in MP4.
    let mut rotated = video("h264", 1920, 1080);
    rotated.rotation_deg = 90;
    let mut data = audio("none", 0);
    data.kind = StreamKind::Data;
    data.codec = None;
    assert_eq!(
        decide(&media(MP4, vec![rotated, data]), &Limits::default(), true),
        Ok(Plan::Keep)
    );
}

#[test]
fn non_browser_video_is_transcoded() {
    for (codec, pix, profile) in [
        ("hevc", "yuv420p10le", "Main 10"),
        ("h264", "yuv420p10le", "High 10"),
        ("h264", "yuv422p", "High 4:2:2"),
        ("prores", "yuv422p10le", "Standard"),
        ("vp9", "yuv420p", "Profile 0"),
    ] {
        let mut v = video(codec, 1280, 720);
        v.pix_fmt = Some(pix.into());
        v.profile = Some(profile.into());
        let spec = transcode(&media(MP4, vec![v, audio("aac", 2)]));
        assert_eq!((spec.width, spec.height), (1280, 720), "{codec}");
        assert_eq!(spec.audio, AudioPlan::Copy);
        assert!(spec.video_bitrate_kbps > 0);
    }
}

#[test]
fn too_tall_is_downscaled_never_upscaled() {
    let spec = transcode(&media(MP4, vec![video("h264", 3840, 2160)]));
    assert_eq!((spec.width, spec.height), (1920, 1080));
    assert_eq!(spec.audio, AudioPlan::None);
    let small = transcode(&media(MP4, vec![video("mpeg4", 320, 240)]));
    assert_eq!((small.width, small.height), (320, 240));
    // Portrait phone footage: the short side is what is limited.
    let mut portrait = video("hevc", 3840, 2160);
    portrait.rotation_deg = 90;
    let spec = transcode(&media(MP4, vec![portrait]));
    assert_eq!((spec.width, spec.height), (1080, 1920));
}

#[test]
fn anamorphic_becomes_square_pixels() {
    let mut v = video("mpeg2video", 720, 576);
    v.sample_aspect_ratio = Some((64, 45));
    let spec = transcode(&media("mpeg", vec![v]));
    assert_eq!((spec.width, spec.height), (1024, 576));
}

#[test]
fn interlaced_vfr_and_high_fps() {
    let mut i = video("h264", 1920, 1080);
    i.field_order = Some("tt".into());
    let spec = transcode(&media(MP4, vec![i]));
    assert!(spec.deinterlace);

    let mut vfr = video("vp9", 1280, 720);
    vfr.frame_rate = Some(23.6);
    vfr.r_frame_rate = Some(60.0);
    vfr.variable_frame_rate = true;
    let spec = transcode(&media("matroska,webm", vec![vfr]));
    assert!(spec.vfr_to_cfr);
    assert_eq!(spec.fps, Some(24.0));

    let mut fast = video("prores", 1920, 1080);
    fast.frame_rate = Some(119.88);
    fast.r_frame_rate = Some(119.88);
    let spec = transcode(&media(MP4, vec![fast]));
    assert!((spec.fps.expect("capped") - 59.94).abs() < 1e-9);
}

#[test]
fn audio_rules() {
    let surround = transcode(&media(
        MP4,
        vec![video("prores", 640, 360), audio("pcm_s24le", 6)],
    ));
    assert_eq!(
        surround.audio,
        AudioPlan::Aac {
            channels: 2,
            bitrate_kbps: 160
        }
    );
    let mono = transcode(&media(
        MP4,
        vec![video("hevc", 640, 360), audio("pcm_s16le", 1)],
    ));
    assert_eq!(
        mono.audio,
        AudioPlan::Aac {
            channels: 1,
            bitrate_kbps: 96
        }
    );
    let aac51 = transcode(&media(MP4, vec![video("hevc", 640, 360), audio("aac", 6)]));
    assert_eq!(
        aac51.audio,
        AudioPlan::Aac {
            channels: 2,
            bitrate_kbps: 160
        }
    );
    // H.264 with MP3: only the audio is converted; the picture is copied.
    let mp3 = decide(
        &media(MP4, vec![video("h264", 640, 360), audio("mp3", 2)]),
        &Limits::default(),
        true,
    );
    assert!(
        matches!(
            mp3,
            Ok(Plan::Remux {
                audio: AudioPlan::Aac { .. }
            })
        ),
        "{mp3:?}"
    );
}

#[test]
fn rejections_read_like_sentences() {
    let reject = |info: &MediaInfo, limits: &Limits| {
        decide(info, limits, true).expect_err("must reject").reason
    };
    let l = Limits::default();
    assert!(
        reject(&media("mp3", vec![audio("mp3", 2)]), &l)
            .starts_with("This file has sound but no picture")
    );
    let mut cover = video("mjpeg", 500, 500);
    cover.attached_pic = true;
    assert!(reject(&media("mp3", vec![audio("mp3", 2), cover]), &l).contains("no picture"));
    assert!(reject(&media("png_pipe", vec![video("png", 640, 360)]), &l).contains("still image"));
    let mut single = video("mjpeg", 640, 360);
    single.nb_frames = Some(1);
    assert!(reject(&media(MP4, vec![single]), &l).contains("still image"));
    assert!(reject(&media(MP4, vec![video("h264", 0, 1080)]), &l).contains("how big"));
    let mut no_dims = video("h264", 1, 1);
    no_dims.width = None;
    assert!(reject(&media(MP4, vec![no_dims]), &l).contains("how big"));
    assert!(
        reject(&media(MP4, vec![video("h264", 100_000, 100_000)]), &l)
            .contains("absurd resolution 100000x100000")
    );
    let mut no_len = media(MP4, vec![video("h264", 640, 360)]);
    no_len.duration_s = None;
    no_len.streams[0].duration_s = None;
    assert!(reject(&no_len, &l).contains("how long"));
    let mut zero_len = media(MP4, vec![video("h264", 640, 360)]);
    zero_len.duration_s = Some(0.0);
    zero_len.streams[0].duration_s = Some(0.0);
    assert!(reject(&zero_len, &l).contains("how long"));
    let short_limit = Limits {
        max_duration_s: Some(5.0),
        ..Limits::default()
    };
    assert_eq!(
        reject(&media(MP4, vec![video("h264", 640, 360)]), &short_limit),
        "This video is 10 s long; this server accepts videos up to 5 s."
    );
    assert!(reject(&media("data", vec![]), &l).contains("no video"));
}

#[test]
fn plan_round_trips_as_json() {
    let spec = transcode(&media(
        MP4,
        vec![video("hevc", 640, 360), audio("pcm_s16le", 2)],
    ));
    let plan = Plan::Transcode(spec);
    let text = serde_json::to_string(&plan).expect("ser");
    let back: Plan = serde_json::from_str(&text).expect("de");
    assert_eq!(back, plan);
}
