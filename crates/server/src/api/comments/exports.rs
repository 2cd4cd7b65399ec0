//! A video's comments as files for other tools: `comments.csv` for spreadsheets and
//! `comments.edl`, markers an editor imports into DaVinci Resolve or Premiere. Deleted comments
//! are left out; the EDL has the time-coded ones only.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{rights, sort_for_reading};
use crate::api::access::Requester;
use crate::api::error::ApiError;
use crate::api::files::content_disposition;
use crate::app::App;
use crate::comments::csv;
use crate::comments::edl::{self, Marker};
use crate::comments::smpte::TimecodeRate;
use crate::db::comments::{self, Comment};
use crate::db::videos::Video;

/// The timeline start DaVinci Resolve gives a new timeline.
const DEFAULT_START: &str = "01:00:00:00";

async fn readable_comments(
    app: &App,
    caller: &Requester,
    id: &str,
) -> Result<(Video, Vec<Comment>), ApiError> {
    let video = rights::readable_video(app, caller, id).await?;
    let mut list = comments::for_video(&app.db, &video.id).await?;
    list.retain(|c| !c.deleted);
    sort_for_reading(&mut list);
    Ok((video, list))
}

fn download(body: String, content_type: &'static str, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, content_disposition(name)),
        ],
        body,
    )
        .into_response()
}

/// The frame a snapped time falls on.
fn frame_of(t: f64, fps: f64) -> i64 {
    (t * fps).round() as i64
}

pub async fn csv(
    State(app): State<App>,
    caller: Requester,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (video, list) = readable_comments(&app, &caller, &id).await?;
    let rate = video.fps.and_then(TimecodeRate::for_fps);
    let mut out = csv::record(&[
        "id",
        "parent_id",
        "timecode_s",
        "timecode",
        "author",
        "text",
        "has_drawing",
        "created_at",
        "edited_at",
    ]);
    for c in &list {
        let timecode = match (c.timecode_s, rate, video.fps) {
            (Some(t), Some(rate), Some(fps)) => rate.format(frame_of(t, fps)),
            _ => String::new(),
        };
        out.push_str(&csv::record(&[
            c.id.clone(),
            c.parent_id.clone().unwrap_or_default(),
            c.timecode_s.map(|t| format!("{t:.3}")).unwrap_or_default(),
            timecode,
            c.author_name.clone(),
            c.text.clone(),
            if c.drawing_file.is_some() {
                "yes"
            } else {
                "no"
            }
            .to_owned(),
            iso_utc(c.created_at),
            c.edited_at.map(iso_utc).unwrap_or_default(),
        ]));
    }
    Ok(download(
        out,
        "text/csv; charset=utf-8; header=present",
        &format!("{}.comments.csv", video.title),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EdlQuery {
    /// The timeline's first timecode (`HH:MM:SS:FF`).
    start: Option<String>,
    /// A share link's secret; read by [`crate::api::access::Requester`], named here so the
    /// strict query parser accepts it.
    #[allow(dead_code)]
    share: Option<String>,
}

pub async fn edl(
    State(app): State<App>,
    caller: Requester,
    Path(id): Path<String>,
    query: Result<Query<EdlQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (video, list) = readable_comments(&app, &caller, &id).await?;
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let (fps, rate) = video
        .fps
        .and_then(|fps| TimecodeRate::for_fps(fps).map(|r| (fps, r)))
        .ok_or_else(|| {
            ApiError::Conflict(
                "this video's frame rate is not known yet (it is still being processed)".into(),
            )
        })?;
    let start = rate
        .parse(q.start.as_deref().unwrap_or(DEFAULT_START))
        .map_err(|e| ApiError::BadRequest(format!("start: {e}")))?;
    let markers: Vec<Marker> = list
        .iter()
        .filter_map(|c| {
            c.timecode_s.map(|t| Marker {
                frame: frame_of(t, fps),
                text: format!("{}: {}", c.author_name, c.text),
            })
        })
        .collect();
    Ok(download(
        edl::write(&video.title, rate, start, &markers),
        "text/plain; charset=utf-8",
        &format!("{}.edl", video.title),
    ))
}

/// Milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (UTC), which spreadsheets read.
fn iso_utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days to a civil date (Howard Hinnant's algorithm, proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::iso_utc;

    #[test]
    fn dates() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_utc(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(iso_utc(1_796_228_332_999), "2026-12-02T16:18:52Z");
    }
}
