//! The drop folder end to end: a file copied into `incoming/` becomes a playable video, and a
//! file that cannot be used ends in `rejected/` with a reason while the server carries on.

mod common;

use common::*;

#[test]
fn playable_clip_becomes_ready_with_poster_and_sprite() {
    let server = Server::start("");
    let src = tempfile::tempdir().unwrap();
    let clip = playable_mp4(src.path(), "clip.mp4");
    server.drop_file(Some("alice"), "clip.mp4", &clip);
    let v = server.wait_settled("clip.mp4");
    assert_eq!(v["status"], "ready", "{v:#}");
    assert_eq!(v["owner"], "alice");
    assert_eq!(v["processing"], "keep");
    assert_eq!(v["width"], 320);
    assert_eq!(v["video_codec"], "h264");
    assert!(v["sprite"]["count"].as_u64().unwrap() > 0);
    // The original is kept untouched.
    let id = v["id"].as_str().unwrap();
    let kept = std::fs::read(server.data().join("media").join(id).join("original.mp4")).unwrap();
    assert_eq!(kept, std::fs::read(&clip).unwrap());
    assert!(!server.data().join("incoming/alice/clip.mp4").exists());
}
