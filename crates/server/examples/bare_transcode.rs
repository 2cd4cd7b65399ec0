//! Bare ffmpeg baselines for `scripts/bench.sh` (not a test, not shipped).
//!
//! ```text
//! bare_transcode transcode IN OUT   run the pipeline's transcode alone (no poster, no sprite),
//!                                   with the exact arguments the server uses; prints the args
//!                                   and `bare_transcode_s=SECONDS` (ffmpeg run only, no probe)
//! bare_transcode pipeline IN DIR    run `dailies_media::run_pipeline` alone (what the server's
//!                                   job runs after its probe), print `pipeline_s=SECONDS`: splits
//!                                   pipeline overhead from server overhead when investigating
//! bare_transcode stills IN          print the poster and sprite filters the pipeline would use
//!                                   for IN (KEY=VALUE lines), so the benchmark can run them as
//!                                   plain ffmpeg commands
//! ```
//!
//! Settings come from the server's defaults (`max_height`, CPU budget → ffmpeg threads), which
//! is what `dailies serve` uses when the config file does not override them.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use dailies::config::Config;
use dailies_media::{self as media, Plan, PosterPlan, RunOptions, SpriteGeometry, Tools};

fn tools(config: &Config) -> Tools {
    config.tools()
}

async fn plan_for(
    tools: &Tools,
    config: &Config,
    input: &Path,
) -> Result<(media::MediaInfo, Plan)> {
    let info = media::probe(tools, &media::Source::file(input), Duration::from_secs(60))
        .await
        .with_context(|| format!("cannot probe {}", input.display()))?;
    let faststart = media::is_streamable_mp4(input).await.unwrap_or(false);
    let plan =
        media::decide(&info, &config.limits(), faststart).map_err(|r| anyhow::anyhow!(r.reason))?;
    Ok((info, plan))
}

async fn transcode(config: &Config, input: &Path, output: &Path) -> Result<()> {
    let tools = tools(config);
    let (info, plan) = plan_for(&tools, config, input).await?;
    let Plan::Transcode(spec) = plan else {
        bail!("{} needs no transcode (plan {plan:?})", input.display());
    };
    let args =
        media::bare_transcode_args(&tools, &media::Source::file(input), &info, &spec, output)?;
    let shown: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    println!("threads={}", tools.threads);
    println!("args=ffmpeg [run_ffmpeg defaults] {}", shown.join(" "));
    let start = Instant::now();
    media::run_ffmpeg(
        &tools,
        &args,
        &RunOptions::new(Duration::from_secs(3600)),
        info.best_duration_s(),
        &mut |_| {},
    )
    .await?;
    println!("bare_transcode_s={:.3}", start.elapsed().as_secs_f64());
    Ok(())
}

async fn pipeline(config: &Config, input: &Path, dir: &Path) -> Result<()> {
    let tools = tools(config);
    let (info, plan) = plan_for(&tools, config, input).await?;
    let start = Instant::now();
    media::run_pipeline(
        &tools,
        &media::Source::file(input),
        &info,
        &plan,
        dir,
        &RunOptions::new(Duration::from_secs(3600)),
        &mut |_| {},
    )
    .await?;
    println!("pipeline_s={:.3}", start.elapsed().as_secs_f64());
    Ok(())
}

/// Same inputs as `run_pipeline` gives `PosterPlan::plan` / `SpriteGeometry::plan`, and the same
/// filter text as `poster.rs` / `sprite.rs` (their `filter()` is crate-private, so it is
/// repeated here; keep in step).
async fn stills(config: &Config, input: &Path) -> Result<()> {
    let tools = tools(config);
    let (info, plan) = plan_for(&tools, config, input).await?;
    let video = info.primary_video().context("no video stream")?;
    let (frame, fps) = match &plan {
        Plan::Transcode(spec) => ((spec.width, spec.height), spec.fps),
        _ => (info.display_size().context("no picture size")?, None),
    };
    let fps = fps
        .or(video.frame_rate)
        .or(video.r_frame_rate)
        .filter(|f| f.is_finite() && *f > 0.0)
        .unwrap_or(30.0);
    let duration = info.best_duration_s().unwrap_or(0.0);
    let g = SpriteGeometry::plan(duration, frame.0, frame.1);
    let p = PosterPlan::plan(duration, fps, frame.0, frame.1);
    println!("PLAN={}", plan.name());
    println!("THREADS={}", tools.threads);
    println!("VIDEO_INDEX={}", video.index);
    // The same filter chains the pipeline uses, to run as separate plain commands.
    println!("SPRITE_VF={}", g.filter());
    println!("POSTER_VF={}", p.filter());
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = Config::default();
    let res = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["transcode", input, output] => {
            transcode(&config, Path::new(input), Path::new(output)).await
        }
        ["pipeline", input, dir] => pipeline(&config, Path::new(input), Path::new(dir)).await,
        ["stills", input] => stills(&config, Path::new(input)).await,
        _ => {
            eprintln!("usage: bare_transcode transcode IN OUT | pipeline IN DIR | stills IN");
            return ExitCode::from(2);
        }
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
