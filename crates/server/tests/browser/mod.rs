//! A real browser for the web client's tests: Debian's chromium, headless, driven through
//! chromedriver's WebDriver protocol (a few JSON calls, spoken here with ureq).
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::free_port;

/// The key under which WebDriver names an element.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    _profile: tempfile::TempDir,
}

fn call(method: &str, url: &str, body: Option<Value>) -> Value {
    let (status, v) = call_status(method, url, body);
    assert!(status < 400, "{method} {url}: {status} {v}");
    v["value"].clone()
}

/// The WebDriver answer's status and whole body, whatever the status.
fn call_status(method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into();
    let res = match (method, body) {
        ("GET", _) => agent.get(url).call(),
        ("DELETE", _) => agent.delete(url).call(),
        (_, Some(b)) => agent.post(url).send_json(b),
        (_, None) => agent.post(url).send_json(json!({})),
    }
    .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = res.status().as_u16();
    let v: Value = res.into_body().read_json().unwrap_or(Value::Null);
    (status, v)
}

impl Browser {
    /// Starts chromedriver and a headless chromium with an empty profile.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Like [`Browser::start`], with more command-line switches for chromium
    /// (`--force-dark-mode`, say).
    pub fn start_with(extra_args: &[&str]) -> Self {
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("chromium is needed for the web client tests (Debian package chromium)");
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "chromedriver is needed for the web client tests (Debian package chromium-driver)",
            );
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while ureq::get(&format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        args.extend(extra_args.iter().map(|a| a.to_string()));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": args,
            },
        }}});
        let session = call("POST", &format!("{base}/session"), Some(caps))["sessionId"]
            .as_str()
            .expect("a WebDriver session")
            .to_owned();
        Browser {
            driver,
            base,
            session,
            _profile: profile,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.base, self.session)
    }

    pub fn goto(&self, url: &str) {
        call("POST", &self.url("/url"), Some(json!({ "url": url })));
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page; returns its value.
    pub fn run(&self, script: &str, args: Value) -> Value {
        call(
            "POST",
            &self.url("/execute/sync"),
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Runs `script` asynchronously: it ends by calling `arguments[arguments.length - 1]` with
    /// its value (a promise's result, say).
    pub fn run_async(&self, script: &str, args: Value) -> Value {
        call(
            "POST",
            &self.url("/execute/async"),
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// The window's size in CSS pixels.
    pub fn set_size(&self, width: u32, height: u32) {
        call(
            "POST",
            &self.url("/window/rect"),
            Some(json!({ "width": width, "height": height })),
        );
    }

    /// A PNG of the visible page.
    pub fn screenshot(&self) -> Vec<u8> {
        use base64::Engine;
        let b64 = call("GET", &self.url("/screenshot"), None);
        base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap()
    }

    /// Reloads the page.
    pub fn reload(&self) {
        call("POST", &self.url("/refresh"), None);
    }

    /// The first element matching a CSS selector, as a WebDriver element reference.
    pub fn find(&self, css: &str) -> Value {
        call(
            "POST",
            &self.url("/element"),
            Some(json!({ "using": "css selector", "value": css })),
        )
    }

    fn element_id(&self, css: &str) -> String {
        self.find(css)[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_owned()
    }

    /// Clicks the element as a user would (it must be visible and not covered). A page that
    /// redraws the element between finding and clicking it gets the new one clicked.
    pub fn click(&self, css: &str) {
        for _ in 0..5 {
            let id = self.element_id(css);
            let url = self.url(&format!("/element/{id}/click"));
            let (status, v) = call_status("POST", &url, None);
            if status < 400 {
                return;
            }
            assert_eq!(
                v["value"]["error"], "stale element reference",
                "POST {url}: {status} {v}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{css} kept being redrawn before it could be clicked");
    }

    /// Types `text` into the element; for a file input, `text` is a file's path.
    pub fn send_keys(&self, css: &str, text: &str) {
        let id = self.element_id(css);
        call(
            "POST",
            &self.url(&format!("/element/{id}/value")),
            Some(json!({ "text": text })),
        );
    }

    /// Presses one key (a character or a WebDriver key code such as `\u{E014}`, right arrow)
    /// on whatever has the focus.
    pub fn press(&self, key: &str) {
        let actions = json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
            {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key},
        ]}]});
        call("POST", &self.url("/actions"), Some(actions));
        call("DELETE", &self.url("/actions"), None);
    }

    /// Drags the mouse through `points`, offsets from the element's centre, button held.
    pub fn drag_on(&self, css: &str, points: &[(i64, i64)]) {
        let id = self.element_id(css);
        let origin = json!({ ELEMENT: id });
        let mut steps = Vec::new();
        for (i, (x, y)) in points.iter().enumerate() {
            steps.push(
                json!({"type": "pointerMove", "origin": origin, "x": x, "y": y, "duration": 50}),
            );
            if i == 0 {
                steps.push(json!({"type": "pointerDown", "button": 0}));
            }
        }
        steps.push(json!({"type": "pointerUp", "button": 0}));
        let actions = json!({"actions": [{"type": "pointer", "id": "mouse",
            "parameters": {"pointerType": "mouse"}, "actions": steps}]});
        call("POST", &self.url("/actions"), Some(actions));
        call("DELETE", &self.url("/actions"), None);
    }

    /// Emulated network conditions (chromedriver's extension): latency in ms, throughputs in
    /// bytes per second.
    pub fn throttle(&self, latency_ms: u64, bytes_per_s: u64) {
        call(
            "POST",
            &self.url("/chromium/network_conditions"),
            Some(json!({"network_conditions": {
                "offline": false, "latency": latency_ms,
                "download_throughput": bytes_per_s, "upload_throughput": bytes_per_s,
            }})),
        );
    }

    /// Back to the real network.
    pub fn unthrottle(&self) {
        call("DELETE", &self.url("/chromium/network_conditions"), None);
    }

    /// Polls `script` until it returns something truthy; returns that.
    pub fn wait_for(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + crate::common::PATIENCE;
        loop {
            let v = self.run(script, json!([]));
            if !(v.is_null() || v == json!(false) || v == json!("") || v == json!([])) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "the page never showed {what}; page text:\n{}",
                self.run("return document.body.innerText", json!([]))
            );
            std::thread::sleep(Duration::from_millis(150));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = ureq::delete(&format!("{}/session/{}", self.base, self.session)).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
