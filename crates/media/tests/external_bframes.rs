//! External encoders with B-frames (x265 with its defaults; ffmpeg's libx264 writing raw H.264,
//! standing in for the x264 CLI): every frame arrives, at its own presentation time, in MP4 and
//! in MKV. Needs the `x265` command-line encoder.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use dailies_media::{
    AudioChoice, Codec, Container, EncodeSpec, ExternalEncoder, Quality, Source,
    run_external_encode,
};

const FRAMES: usize = 50;

fn encoder(program: &str, codec: Codec, args: &[&str]) -> ExternalEncoder {
    ExternalEncoder {
        program: program.into(),
        codec,
        args: args.iter().map(|s| s.to_string()).collect(),
    }
}

const X265: &[&str] = &[
    "--input",
    "-",
    "--y4m",
    "--output",
    "-",
    "--crf",
    "{crf}",
    "--preset",
    "{preset}",
    "--log-level",
    "error",
];

fn spec(codec: Codec, container: Container) -> EncodeSpec {
    EncodeSpec {
        codec,
        container,
        quality: Quality::Crf(26),
        preset: "medium".into(),
        max_height: None,
        fps: None,
        audio: AudioChoice::Aac,
        encoder: Some("x265".into()),
        outro: false,
    }
}

fn tool(program: &str, args: &[&str], file: &Path) -> String {
    let out = Command::new(program)
        .args(["-v", "error"])
        .args(args)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The video frames' presentation times as a decoder hands them out (in its output order).
fn frame_times(file: &Path) -> Vec<f64> {
    tool(
        "ffprobe",
        &[
            "-select_streams",
            "v",
            "-show_entries",
            "frame=best_effort_timestamp_time",
            "-of",
            "csv=p=0",
        ],
        file,
    )
    .lines()
    .filter_map(|l| l.split(',').next()?.trim().parse().ok())
    .collect()
}

/// The lowest per-frame PSNR of `file` against `source`, frames paired by time: a frame shown
/// at another frame's time (testsrc2 moves every frame) falls far below an encode's loss.
fn worst_psnr(file: &Path, source: &Path) -> f64 {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .arg("-i")
        .arg(source)
        .args(["-lavfi", "[0:v][1:v]psnr=stats_file=-", "-f", "null", "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stats = String::from_utf8_lossy(&out.stdout);
    let values: Vec<f64> = stats
        .lines()
        .filter_map(|l| {
            let v = l.split("psnr_avg:").nth(1)?.split_whitespace().next()?;
            Some(if v == "inf" { 99.0 } else { v.parse().ok()? })
        })
        .collect();
    assert_eq!(values.len(), FRAMES, "{stats}");
    values.into_iter().fold(f64::MAX, f64::min)
}

#[tokio::test(flavor = "multi_thread")]
async fn b_frames_keep_every_frame_at_its_time() {
    if Command::new("x265").arg("--version").output().is_err() {
        eprintln!("x265 is not installed; skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = make_h264_aac(dir.path(), "src.mp4", &[]);
    let info = probe(&src).await;
    let x265_keyint = [X265, &["--keyint", "12"]].concat();
    let x264: &[&str] = &[
        "-v",
        "error",
        "-f",
        "yuv4mpegpipe",
        "-i",
        "-",
        "-c:v",
        "libx264",
        "-preset",
        "{preset}",
        "-crf",
        "{crf}",
        "-bf",
        "3",
        "-f",
        "h264",
        "-",
    ];
    let x264_gop = [x264, &["-g", "12"]].concat();
    let encoders = [
        ("x265", encoder("x265", Codec::Hevc, X265)),
        // Open GOPs: CRA keyframes with leading pictures that are shown before them.
        ("x265-keyint12", encoder("x265", Codec::Hevc, &x265_keyint)),
        ("libx264", encoder("ffmpeg", Codec::H264, x264)),
        ("libx264-g12", encoder("ffmpeg", Codec::H264, &x264_gop)),
    ];
    for ((label, encoder), (container, ext)) in encoders
        .iter()
        .flat_map(|e| [(e, (Container::Mp4, "mp4")), (e, (Container::Mkv, "mkv"))])
    {
        let name = format!("{label}.{ext}");
        let out = dir.path().join(&name);
        run_external_encode(
            &tools(),
            encoder,
            &Source::file(&src),
            &info,
            &spec(encoder.codec, container),
            &out,
            &opts(),
            &mut |_| {},
        )
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));

        // The stream does reorder: some packets are shown later than they are decoded.
        let packets = tool(
            "ffprobe",
            &[
                "-select_streams",
                "v",
                "-show_entries",
                "packet=pts,dts",
                "-of",
                "csv=p=0",
            ],
            &out,
        );
        assert!(
            packets.lines().any(|l| {
                let mut t = l.split(',').map(|v| v.trim().parse::<i64>().ok());
                matches!((t.next(), t.next()), (Some(Some(p)), Some(Some(d))) if p > d)
            }),
            "{name}: no reordered packet (no B-frames?)\n{packets}"
        );

        let times = frame_times(&out);
        assert_eq!(times.len(), FRAMES, "{name}: {times:?}");
        // Matroska starts everything 21 ms late for the AAC encoder's priming samples (so does
        // a plain ffmpeg encode): times are counted from the first frame's.
        assert!(times[0] < 0.025, "{name}: {times:?}");
        for (i, t) in times.iter().enumerate() {
            assert!(
                (t - times[0] - i as f64 / 25.0).abs() < 1e-3,
                "{name}: frame {i} shown at {t}: {times:?}"
            );
        }
        let duration: f64 = tool(
            "ffprobe",
            &["-show_entries", "format=duration", "-of", "csv=p=0"],
            &out,
        )
        .trim()
        .parse()
        .unwrap();
        assert!((duration - 2.0).abs() < 0.05, "{name}: duration {duration}");
        let psnr = worst_psnr(&out, &src);
        assert!(
            psnr > 30.0,
            "{name}: a frame is at another's time (PSNR {psnr})"
        );
    }
}
