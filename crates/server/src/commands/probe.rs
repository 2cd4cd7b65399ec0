//! `dailies probe FILE`: what ffprobe finds, and what processing would do with it.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use dailies_media as media;
use serde_json::json;

use crate::config::Config;
use crate::jobs::process_video::plan_name;

pub async fn probe(config: &Config, file: &Path) -> Result<()> {
    let (_, threads) = config.cpu_budget();
    let tools = media::Tools::new(&config.ffmpeg, &config.ffprobe, threads);
    let info = media::probe(
        &tools,
        file,
        Duration::from_secs_f64(config.probe_timeout_secs),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{}\n{e}", e.user_message()))?;
    let limits = media::Limits {
        max_height: config.max_height,
        max_pixels: config.max_pixels,
        max_duration_s: (config.max_duration_s > 0.0).then_some(config.max_duration_s),
    };
    let faststart = media::moov_before_mdat(file).await.unwrap_or(false);
    let decision = match media::decide(&info, &limits, faststart) {
        Ok(plan) => json!({ "action": plan_name(&plan), "plan": format!("{plan:?}") }),
        Err(r) => json!({ "action": "reject", "reason": r.reason }),
    };
    let out = json!({ "media": info, "decision": decision });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
