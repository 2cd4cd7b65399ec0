//! Media processing for dailies: ffprobe/ffmpeg run as guarded child processes (never linked), a
//! typed view of what ffprobe reports, a pure decision on how to make a file browser-playable, and
//! a pipeline that writes the playable rendition, poster and scrub sprite with as few decodes as
//! practical.
//!
//! No database, no HTTP: the server owns scheduling, retries and storage layout.

mod bitrate;
mod command;
mod decide;
mod elementary;
mod encode;
mod error;
mod external;
mod faststart;
mod info;
mod input_position;
mod mpegts;
mod paths;
mod pipeline;
mod poster;
mod probe;
mod process;
mod process_chain;
mod progress;
mod source;
mod sprite;
mod staging;
mod thumbnails;
mod tools;

pub use bitrate::video_bitrate_kbps;
pub use command::{RunOptions, run_ffmpeg};
pub use decide::{AudioPlan, Limits, Plan, Rejection, TranscodeSpec, decide};
pub use elementary::StreamError;
pub use encode::{
    AudioChoice, Codec, Container, EncodeRequest, EncodeSpec, Encoders, Offer, Quality,
    encode_args, probe_encoders, run_encode,
};
pub use error::MediaError;
pub use external::{ExternalEncoder, run_external_encode};
pub use faststart::is_streamable_mp4;
pub use info::{MediaInfo, StreamInfo, StreamKind};
pub use paths::ffmpeg_path_arg;
pub use pipeline::{
    PLAYABLE_FILE, POSTER_FILE, PipelineOutputs, SPRITE_FILE, X264_PRESET, bare_transcode_args,
    run_pipeline,
};
pub use poster::PosterPlan;
pub use probe::probe;
pub use progress::{Progress, ProgressParser};
pub use source::{
    FrameRate, MAX_RAW_DIMENSION, MAX_RAW_FPS, MIN_RAW_DIMENSION, RAW_FPS_KEY, RAW_HEIGHT_KEY,
    RAW_PIX_FMT_KEY, RAW_WIDTH_KEY, RawFormatError, RawPixelFormat, RawVideoFormat, Source,
    is_raw_yuv_name,
};
pub use sprite::SpriteGeometry;
pub use thumbnails::{
    MAX_THUMBNAILS, ThumbnailPlan, ThumbnailRequest, run_thumbnails, thumbnail_name,
};
pub use tools::Tools;
