//! Benchmark client for live updates (run by `scripts/bench_live.sh`, which starts the server):
//! N Server-Sent Events and N WebSocket subscribers on loopback; renames of one video make
//! events; prints the delivery latency (median and p99, from the request to each subscriber's
//! receipt) and the server's memory per subscriber. Figures, not a test.
//!
//! Environment: BENCH_URL, BENCH_TOKEN, BENCH_PID (the server's), BENCH_VIDEO, BENCH_SUBSCRIBERS
//! (per protocol, default 1000), BENCH_EVENTS (default 30).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use tungstenite::client::IntoClientRequest;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

fn rss_kb(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Receipt times of the benchmark's events, by title.
type Seen = Arc<Mutex<Vec<(String, Instant)>>>;
/// Subscribers whose stream ended before every event arrived, by protocol.
type Ended = Arc<Mutex<(usize, usize)>>;

fn title_of(json: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    v["data"]["title"].as_str().map(str::to_owned)
}

fn main() {
    let url = env("BENCH_URL");
    let token = env("BENCH_TOKEN");
    let pid = env("BENCH_PID");
    let video = env("BENCH_VIDEO");
    let n: usize = std::env::var("BENCH_SUBSCRIBERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let events: usize = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();

    let before = rss_kb(&pid);
    let ready = Arc::new(Barrier::new(2 * n + 1));
    let seen: Seen = Arc::default();
    let ended: Ended = Arc::default();
    let mut threads = Vec::new();
    for _ in 0..n {
        {
            let (addr, token, seen, ready) =
                (addr.clone(), token.clone(), seen.clone(), ready.clone());
            let ended = ended.clone();
            threads.push(std::thread::Builder::new().stack_size(128 << 10).spawn(move || {
            let mut s = TcpStream::connect(&addr).expect("connect");
            write!(s, "GET /api/events?kind=video.updated HTTP/1.0\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n").unwrap();
            let mut r = BufReader::new(s);
            let mut line = String::new();
            // Status line and headers.
            while r.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                line.clear();
            }
            ready.wait();
            let mut got = 0;
            while got < events {
                line.clear();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    ended.lock().unwrap().0 += 1;
                    return;
                }
                if let Some(data) = line.strip_prefix("data:")
                    && let Some(t) = title_of(data.trim())
                {
                    seen.lock().unwrap().push((t, Instant::now()));
                    got += 1;
                }
            }
        }).unwrap());
        }
        let (url, token, seen, ready, ended) = (
            url.clone(),
            token.clone(),
            seen.clone(),
            ready.clone(),
            ended.clone(),
        );
        threads.push(
            std::thread::Builder::new()
                .stack_size(128 << 10)
                .spawn(move || {
                    let mut req = format!(
                        "{}/api/ws?kind=video.updated",
                        url.replace("http://", "ws://")
                    )
                    .into_client_request()
                    .unwrap();
                    req.headers_mut()
                        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
                    let (mut socket, _) = tungstenite::connect(req).expect("websocket");
                    let _ = socket.read(); // {"type":"subscribed"}
                    ready.wait();
                    let mut got = 0;
                    while got < events {
                        match socket.read() {
                            Ok(tungstenite::Message::Text(t)) => {
                                if let Some(title) = title_of(t.as_str()) {
                                    seen.lock().unwrap().push((title, Instant::now()));
                                    got += 1;
                                }
                            }
                            Ok(_) => {}
                            Err(e) => {
                                eprintln!("websocket subscriber: {e}");
                                ended.lock().unwrap().1 += 1;
                                return;
                            }
                        }
                    }
                })
                .unwrap(),
        );
    }
    ready.wait();
    std::thread::sleep(Duration::from_millis(500));
    let connected = rss_kb(&pid);

    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    let mut sent = Vec::new();
    for i in 0..events {
        let title = format!("bench {i}");
        let t = Instant::now();
        agent
            .patch(format!("{url}/api/videos/{video}"))
            .header("Authorization", format!("Bearer {token}"))
            .send_json(serde_json::json!({ "title": title }))
            .expect("rename");
        sent.push((title, t));
        std::thread::sleep(Duration::from_millis(100));
    }
    for t in threads {
        let _ = t.join();
    }
    let seen = seen.lock().unwrap();
    let mut lat: Vec<f64> = seen
        .iter()
        .filter_map(|(title, at)| {
            sent.iter()
                .find(|(t, _)| t == title)
                .map(|(_, s)| at.duration_since(*s).as_secs_f64() * 1000.0)
        })
        .collect();
    lat.sort_by(|a, b| a.total_cmp(b));
    let pick = |q: f64| lat[((lat.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "live_delivery_ms: median {:.1} p99 {:.1} max {:.1} ({} deliveries to {} SSE + {} WebSocket subscribers, {} events)",
        pick(0.5),
        pick(0.99),
        lat.last().copied().unwrap_or(0.0),
        lat.len(),
        n,
        n,
        events
    );
    let ended = *ended.lock().unwrap();
    if ended != (0, 0) {
        println!(
            "live_ended_early: {} SSE, {} WebSocket subscribers",
            ended.0, ended.1
        );
    }
    println!(
        "live_server_memory: {:.1} KB per subscriber (VmRSS {} MB before, {} MB with {} subscribers)",
        (connected.saturating_sub(before)) as f64 / (2 * n) as f64,
        before / 1024,
        connected / 1024,
        2 * n
    );
}
