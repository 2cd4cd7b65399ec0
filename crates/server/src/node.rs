//! This process as a node of a deployment: it registers in the `nodes` table with its roles,
//! the job kinds it claims and what its workers can run, heartbeats while it runs, and says
//! when it stops. Admins read the table through `GET /api/nodes`.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::db::nodes::{self, Node};
use crate::db::now_ms;

/// How often a node says it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(10);
/// A node silent this long is shown as lost (it died without saying so).
pub const LOST_AFTER_MS: i64 = 35_000;
/// Nodes not heard of for a day are forgotten.
pub const FORGET_AFTER_MS: i64 = 86_400_000;

/// What this process is: an API node (serving HTTP at `listen`), a worker, or both.
pub struct Roles {
    pub api: Option<String>,
    pub worker: bool,
}

/// Registers this process, then heartbeats until `shutdown`, then marks it stopped.
pub async fn run(app: App, roles: Roles, shutdown: CancellationToken) {
    let mut names = Vec::new();
    if roles.api.is_some() {
        names.push("api".to_owned());
    }
    let (kinds, capabilities) = if roles.worker {
        names.push("worker".to_owned());
        let kinds = crate::jobs::worker::enabled_kinds(&app)
            .into_iter()
            .map(str::to_owned)
            .collect();
        (kinds, crate::jobs::capabilities::local(&app).await)
    } else {
        (Vec::new(), Vec::new())
    };
    let now = now_ms();
    let me = Node {
        id: app.node_id.to_string(),
        host: host_name(),
        pid: i64::from(std::process::id()),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        roles: names,
        kinds,
        capabilities,
        listen: roles.api,
        started_at: now,
        heartbeat_at: now,
        stopped_at: None,
    };
    if let Err(e) = nodes::register(&app.db, &me).await {
        tracing::warn!(error = %format!("{e:#}"), "cannot register this node");
    }
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(HEARTBEAT) => {}
        }
        if let Err(e) = nodes::heartbeat(&app.db, &me.id).await {
            tracing::warn!(error = %format!("{e:#}"), "node heartbeat failed");
        }
    }
    if let Err(e) = nodes::stopped(&app.db, &me.id).await {
        tracing::warn!(error = %format!("{e:#}"), "cannot mark this node stopped");
    }
}

/// The machine's name, for people reading the node list (never used to reach it).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// `up`, `lost` (silent too long) or `stopped`.
pub fn status(node: &Node, now_ms: i64) -> &'static str {
    if node.stopped_at.is_some() {
        "stopped"
    } else if now_ms - node.heartbeat_at > LOST_AFTER_MS {
        "lost"
    } else {
        "up"
    }
}
