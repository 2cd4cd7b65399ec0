//! `dailies probe FILE`: what ffprobe finds, and what processing would do with it.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use dailies_media as media;
use serde_json::json;

use crate::config::Config;

pub async fn probe(config: &Config, file: &Path) -> Result<()> {
    let tools = config.tools();
    // `dailies probe` takes a file that describes itself; a raw .yuv needs its format given
    // with an upload.
    let info = media::probe(
        &tools,
        &media::Source::file(file),
        Duration::from_secs_f64(config.probe_timeout_secs),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{}\n{e}", e.user_message()))?;
    let faststart = media::is_streamable_mp4(file).await.unwrap_or(false);
    let decision = match media::decide(&info, &config.limits(), faststart) {
        Ok(plan) => json!({ "action": plan.name(), "plan": format!("{plan:?}") }),
        Err(r) => json!({ "action": "reject", "reason": r.reason }),
    };
    let out = json!({ "media": info, "decision": decision });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
