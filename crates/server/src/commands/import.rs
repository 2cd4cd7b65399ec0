//! `dailies import FILE... --user NAME`: copy local files in through the same door as the drop
//! folder, then process them here (or let a running server do it) with a progress bar.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Result, bail};
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::db::users;
use crate::db::videos::{self, status};
use crate::ingest::register::{Incoming, IngestError, Registered, Transfer, register_file};
use crate::jobs::worker;

pub async fn import(app: &App, files: &[PathBuf], user: &str, wait: bool) -> Result<()> {
    let owner = users::get_or_create(&app.db, user).await?;
    let mut ids = Vec::new();
    let mut problems = 0;
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let incoming = Incoming {
            raw_video: None,
            known_hashes: None,
            path,
            original_filename: &name,
            owner: &owner,
            transfer: Transfer::Copy,
            source: "import",
        };
        match register_file(app, incoming).await {
            Ok(Registered::New { video_id }) => {
                println!("{name}: registered as video {video_id}");
                ids.push((video_id, name));
            }
            Ok(Registered::Duplicate { video_id }) => {
                println!("{name}: already here as video {video_id}; not imported again");
            }
            Err(IngestError::Vanished) => {
                eprintln!("{name}: no such file");
                problems += 1;
            }
            Err(e) => {
                eprintln!("{name}: {e:#}");
                problems += 1;
            }
        }
    }
    if wait && !ids.is_empty() {
        problems += wait_until_done(app, &ids).await?;
    }
    if problems > 0 {
        bail!(
            "{problems} of {} file(s) could not be imported",
            files.len()
        );
    }
    Ok(())
}

/// Processes the queue in this process while drawing progress; returns how many failed.
async fn wait_until_done(app: &App, ids: &[(String, String)]) -> Result<usize> {
    let shutdown = CancellationToken::new();
    let all_done = Arc::new(AtomicBool::new(false));
    let done_flag = all_done.clone();
    let runner = tokio::spawn(worker::run_until(
        app.clone(),
        shutdown.clone(),
        move || done_flag.load(Ordering::SeqCst),
    ));
    let tty = std::io::stderr().is_terminal();
    // Made once: a signal arriving between two polls must not be lost.
    let interrupted = crate::commands::serve::shutdown_signal();
    tokio::pin!(interrupted);
    let mut last_lines: Vec<String> = Vec::new();
    let failed = loop {
        let mut lines = Vec::new();
        let mut finished = 0;
        let mut failed = 0;
        for (id, name) in ids {
            let v = videos::get(&app.db, id).await?;
            let (state, progress, error) = match &v {
                Some(v) => (
                    v.status.as_str(),
                    v.progress.unwrap_or(0.0),
                    v.error.clone(),
                ),
                None => ("gone", 0.0, None),
            };
            if matches!(state, status::READY | status::FAILED | "gone") {
                finished += 1;
            }
            if state != status::READY {
                failed += usize::from(state == status::FAILED || state == "gone");
            }
            lines.push(render(name, state, progress, error.as_deref()));
        }
        if lines != last_lines {
            if tty {
                if !last_lines.is_empty() {
                    eprint!("\x1b[{}A", last_lines.len());
                }
                for l in &lines {
                    eprintln!("\x1b[2K{l}");
                }
            } else {
                for (i, l) in lines.iter().enumerate() {
                    if last_lines.get(i) != Some(l) {
                        eprintln!("{l}");
                    }
                }
            }
            let _ = std::io::stderr().flush();
            last_lines = lines;
        }
        if finished == ids.len() {
            break failed;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(300)) => {}
            _ = &mut interrupted => {
                shutdown.cancel();
                let _ = runner.await;
                bail!("interrupted; the remaining videos stay queued and finish on the next start");
            }
        }
    };
    all_done.store(true, Ordering::SeqCst);
    shutdown.cancel();
    let _ = runner.await;
    Ok(failed)
}

fn render(name: &str, state: &str, progress: f64, error: Option<&str>) -> String {
    const WIDTH: usize = 30;
    match state {
        status::PROCESSING => {
            let filled = ((progress.clamp(0.0, 1.0) * WIDTH as f64).round() as usize).min(WIDTH);
            format!(
                "[{}{}] {:>3.0}% {name}",
                "#".repeat(filled),
                " ".repeat(WIDTH - filled),
                progress * 100.0
            )
        }
        status::READY => format!("[{}] ready {name}", "#".repeat(WIDTH)),
        status::FAILED => format!("failed: {name}: {}", error.unwrap_or("unknown error")),
        other => format!("[{}] {other} {name}", " ".repeat(WIDTH)),
    }
}
