//! A Server-Sent Events client for tests, reading `/api/events` as a browser's EventSource does.

use std::io::{BufRead, BufReader};
use std::time::Duration;

use serde_json::{Value, json};

use super::Server;

/// A Server-Sent Events stream read line by line, as a browser's EventSource would.
pub struct Sse {
    lines: Box<dyn BufRead + Send>,
}

/// Opens `/api/events?{query}`, optionally resuming with `Last-Event-ID`; returns the status and
/// the stream (on 200). An empty `token` sends no `Authorization` (a share link in the query).
pub fn sse(server: &Server, token: &str, query: &str, last_id: Option<&str>) -> (u16, Option<Sse>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_per_read(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut req = agent.get(format!("{}/api/events?{query}", server.base));
    if !token.is_empty() {
        req = req.header("Authorization", format!("Bearer {token}"));
    }
    if let Some(id) = last_id {
        req = req.header("Last-Event-ID", id);
    }
    let res = req.call().unwrap();
    let status = res.status().as_u16();
    if status != 200 {
        return (status, None);
    }
    assert_eq!(
        res.headers().get("content-type").unwrap(),
        "text/event-stream"
    );
    let reader = res.into_body().into_reader();
    (
        status,
        Some(Sse {
            lines: Box::new(BufReader::new(reader)),
        }),
    )
}

impl Sse {
    /// The next event: its `id:` and its JSON.
    pub fn next(&mut self) -> (i64, Value) {
        let mut id = None;
        let mut data = String::new();
        loop {
            let mut line = String::new();
            let n = self
                .lines
                .read_line(&mut line)
                .expect("the event stream broke");
            assert!(n > 0, "the event stream ended");
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if let Some(id) = id {
                    let v: Value = serde_json::from_str(&data).unwrap();
                    assert_eq!(v["id"], json!(id), "id: and the JSON agree");
                    return (id, v);
                }
                continue;
            }
            if let Some(v) = line.strip_prefix("id:") {
                id = Some(v.trim().parse::<i64>().unwrap());
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.trim_start());
            }
        }
    }

    /// Events until one satisfies `last` (included).
    pub fn until(&mut self, last: impl Fn(&Value) -> bool) -> Vec<(i64, Value)> {
        let mut out = Vec::new();
        loop {
            let e = self.next();
            let done = last(&e.1);
            out.push(e);
            if done {
                return out;
            }
        }
    }
}

/// Every event `token` may see from now on, gathered by a background thread.
pub fn collect_events(
    server: &Server,
    token: &str,
) -> std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>> {
    let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (status, stream) = sse(server, token, "", None);
    assert_eq!(status, 200);
    let mut stream = stream.unwrap();
    let sink = events.clone();
    std::thread::spawn(move || {
        loop {
            let (_, e) = stream.next();
            sink.lock().unwrap().push(e);
        }
    });
    events
}
