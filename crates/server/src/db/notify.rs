//! PostgreSQL `LISTEN`: other nodes' inserts (events, claimable jobs) wake this process at once.
//! Triggers in the migrations send the notifications. Polling stays the fallback, so a dropped
//! connection only delays things until it is back.

use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

/// Calls `on_notify` with the payload of every notification on `channel` until `shutdown`,
/// reconnecting after errors. After each (re)connect it is called once with an empty payload:
/// anything may have happened while nobody listened.
pub async fn listen(
    url: String,
    channel: &'static str,
    shutdown: CancellationToken,
    on_notify: impl Fn(&str),
) {
    loop {
        let connect = async {
            let mut l = PgListener::connect(&url).await?;
            l.listen(channel).await?;
            Ok::<_, sqlx::Error>(l)
        };
        let listener = tokio::select! {
            _ = shutdown.cancelled() => return,
            l = connect => l,
        };
        match listener {
            Ok(mut l) => {
                // Anything may have happened while we were not listening.
                on_notify("");
                loop {
                    let got = tokio::select! {
                        _ = shutdown.cancelled() => return,
                        n = l.recv() => n,
                    };
                    match got {
                        Ok(n) => on_notify(n.payload()),
                        Err(e) => {
                            tracing::warn!(channel, error = %e, "notifications interrupted");
                            break;
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(channel, error = %e, "cannot listen for notifications"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
}
