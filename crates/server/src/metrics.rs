//! Prometheus metrics at `/metrics` (admins' bearer token, as Prometheus's `authorization`
//! scrape setting sends it). This process counts what passes through it (HTTP requests, upload
//! bytes, jobs it ran); the queue and node figures are read from the database at each scrape, so
//! every API node reports the whole deployment's queue.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Result;
use sqlx::Row;

use crate::db::Db;

/// Upper bounds of the latency buckets, in seconds.
const HTTP_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const JOB_BUCKETS: &[f64] = &[1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 14_400.0];

#[derive(Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, buckets: &[f64], value: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; buckets.len()];
        }
        for (i, bound) in buckets.iter().enumerate() {
            if value <= *bound {
                self.counts[i] += 1;
            }
        }
        self.sum += value;
        self.count += 1;
    }

    fn write(&self, out: &mut String, name: &str, labels: &str, buckets: &[f64]) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, n) in buckets.iter().zip(&self.counts) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

/// This process's counters.
#[derive(Default)]
pub struct Metrics {
    http: Mutex<BTreeMap<(String, String), Histogram>>,
    jobs: Mutex<BTreeMap<(String, String), Histogram>>,
    upload_bytes: AtomicU64,
}

/// Label values come from our own route templates and job kinds, but are escaped anyway.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// One HTTP request: `route` is the matched template (`/api/videos/{id}`), never the raw path.
    pub fn http_request(&self, method: &str, route: &str, elapsed: Duration) {
        let mut h = self.http.lock().unwrap_or_else(|e| e.into_inner());
        h.entry((method.to_owned(), route.to_owned()))
            .or_default()
            .observe(HTTP_BUCKETS, elapsed.as_secs_f64());
    }

    /// One job attempt run by this process, with how it ended (`done`, `failed`, `retrying`,
    /// `cancelled`).
    pub fn job_finished(&self, kind: &str, outcome: &str, elapsed: Duration) {
        let mut h = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        h.entry((kind.to_owned(), outcome.to_owned()))
            .or_default()
            .observe(JOB_BUCKETS, elapsed.as_secs_f64());
    }

    pub fn upload_bytes(&self, n: u64) {
        self.upload_bytes.fetch_add(n, Ordering::Relaxed);
    }

    /// The exposition text: this process's counters, then the deployment's queue and nodes.
    pub async fn render(&self, db: &Db) -> Result<String> {
        let mut out = String::new();
        out.push_str("# HELP dailies_http_request_duration_seconds HTTP requests by route.\n");
        out.push_str("# TYPE dailies_http_request_duration_seconds histogram\n");
        for ((method, route), h) in self.http.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let labels = format!("method=\"{}\",route=\"{}\"", label(method), label(route));
            h.write(
                &mut out,
                "dailies_http_request_duration_seconds",
                &labels,
                HTTP_BUCKETS,
            );
        }
        out.push_str("# HELP dailies_job_duration_seconds Job attempts run by this process.\n");
        out.push_str("# TYPE dailies_job_duration_seconds histogram\n");
        for ((kind, outcome), h) in self.jobs.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let labels = format!("kind=\"{}\",outcome=\"{}\"", label(kind), label(outcome));
            h.write(
                &mut out,
                "dailies_job_duration_seconds",
                &labels,
                JOB_BUCKETS,
            );
        }
        out.push_str("# HELP dailies_upload_bytes_total Bytes received by resumable uploads.\n");
        out.push_str("# TYPE dailies_upload_bytes_total counter\n");
        let _ = writeln!(
            out,
            "dailies_upload_bytes_total {}",
            self.upload_bytes.load(Ordering::Relaxed)
        );

        out.push_str("# HELP dailies_jobs Jobs in the queue by kind and state.\n");
        out.push_str("# TYPE dailies_jobs gauge\n");
        let rows = sqlx::query(
            "SELECT kind, state, COUNT(*) AS n FROM jobs GROUP BY kind, state ORDER BY kind, state",
        )
        .fetch_all(&db.pool)
        .await?;
        for r in &rows {
            let (kind, state, n): (String, String, i64) =
                (r.try_get("kind")?, r.try_get("state")?, r.try_get("n")?);
            let _ = writeln!(
                out,
                "dailies_jobs{{kind=\"{}\",state=\"{}\"}} {n}",
                label(&kind),
                label(&state)
            );
        }
        out.push_str("# HELP dailies_queue_depth Jobs waiting for a worker now.\n");
        out.push_str("# TYPE dailies_queue_depth gauge\n");
        let depth: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM jobs WHERE state = 'queued' AND run_after <= $1 AND cancel_requested = 0",
        )
        .bind(crate::db::now_ms())
        .fetch_one(&db.pool)
        .await?
        .try_get("n")?;
        let _ = writeln!(out, "dailies_queue_depth {depth}");

        out.push_str("# HELP dailies_nodes Nodes of the deployment by status.\n");
        out.push_str("# TYPE dailies_nodes gauge\n");
        let now = crate::db::now_ms();
        let nodes = crate::db::nodes::seen_since(db, now - crate::node::FORGET_AFTER_MS).await?;
        for status in ["up", "lost", "stopped"] {
            let n = nodes
                .iter()
                .filter(|node| crate::node::status(node, now) == status)
                .count();
            let _ = writeln!(out, "dailies_nodes{{status=\"{status}\"}} {n}");
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative() {
        let mut h = Histogram::default();
        for v in [0.003, 0.02, 0.02, 7.0, 60.0] {
            h.observe(HTTP_BUCKETS, v);
        }
        let mut out = String::new();
        h.write(&mut out, "x", "route=\"/a\"", HTTP_BUCKETS);
        assert!(
            out.contains("x_bucket{route=\"/a\",le=\"0.005\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("x_bucket{route=\"/a\",le=\"0.025\"} 3\n"),
            "{out}"
        );
        assert!(
            out.contains("x_bucket{route=\"/a\",le=\"10\"} 4\n"),
            "{out}"
        );
        assert!(
            out.contains("x_bucket{route=\"/a\",le=\"+Inf\"} 5\n"),
            "{out}"
        );
        assert!(out.contains("x_count{route=\"/a\"} 5\n"), "{out}");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
