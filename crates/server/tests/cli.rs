//! The command line as an admin uses it: users, tokens, probe, import, migrate, and the global
//! `--data-dir` / `--database` options with their environment variables.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::*;

/// A data dir (and database) with no server running.
struct Site {
    dir: tempfile::TempDir,
    db: TestDb,
}

impl Site {
    fn new() -> Self {
        Site {
            dir: tempfile::tempdir().unwrap(),
            db: TestDb::new(),
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `dailies` with `--data-dir` (and `--database` on PostgreSQL) given as flags.
    fn run(&self, args: &[&str]) -> Output {
        let mut c = Command::new(BIN);
        c.env_remove("DAILIES_DATA_DIR")
            .env_remove("DAILIES_DATABASE")
            .env_remove("DAILIES_CONFIG");
        c.arg("--data-dir").arg(self.data());
        if let Some(url) = &self.db.url {
            c.args(["--database", url]);
        }
        c.args(args).output().unwrap()
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn users_and_tokens() {
    let site = Site::new();
    let out = site.run(&["user", "add", "alice"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let again = site.run(&["user", "add", "alice"]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    let bad = site.run(&["user", "add", "../root"]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("not a valid user name"));
    assert!(
        site.run(&["user", "add", "boss", "--admin"])
            .status
            .success()
    );

    let out = site.run(&["token", "create", "alice"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let token = stdout(&out).lines().last().unwrap().to_owned();
    assert!(token.starts_with("dly_") && token.len() > 40, "{token}");
    let missing = site.run(&["token", "create", "nobody"]);
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("no user named 'nobody'"));

    // The token works against a server on the same data, and only its hash was stored.
    if !site.db.is_postgres() {
        for file in ["dailies.db", "dailies.db-wal"] {
            let bytes = std::fs::read(site.data().join(file)).unwrap_or_default();
            assert!(
                !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
                "plain token stored in {file}"
            );
        }
    }
}

#[test]
fn probe_prints_media_info_and_the_decision() {
    let site = Site::new();
    let src = tempfile::tempdir().unwrap();
    let clip = make_clip(
        src.path(),
        "c.mkv",
        1.0,
        "testsrc2=size=320x240:rate=25",
        H264_AAC,
    );
    let out = site.run(&["probe", clip.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["decision"]["action"], "remux");
    assert_eq!(v["media"]["streams"][0]["width"], 320);

    let text = src.path().join("notes.mov");
    std::fs::write(&text, "not a video").unwrap();
    let out = site.run(&["probe", text.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("could not be read as a video") || stderr(&out).contains("not"),
        "{}",
        stderr(&out)
    );
    let out = site.run(&["probe", "/nonexistent/file.mov"]);
    assert!(!out.status.success());
}

#[test]
fn import_copies_files_in_and_waits_until_ready() {
    let site = Site::new();
    let src = tempfile::tempdir().unwrap();
    let clip = playable_mp4(src.path(), "Interview A.mp4");
    let before = std::fs::read(&clip).unwrap();
    let out = site.run(&["import", clip.to_str().unwrap(), "--user", "carol"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        stderr(&out).contains("ready Interview A.mp4"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read(&clip).unwrap(),
        before,
        "the original stays where it was, untouched"
    );
    let id = stdout(&out)
        .split("video ")
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    let folder = site.data().join("media").join(&id);
    assert_eq!(std::fs::read(folder.join("original.mp4")).unwrap(), before);
    assert!(folder.join("poster.jpg").exists() && folder.join("sprite.jpg").exists());

    // The same content again is recognised; a missing file is an error, not a crash.
    let out = site.run(&["import", clip.to_str().unwrap(), "--user", "carol"]);
    assert!(out.status.success());
    assert!(
        stdout(&out).contains(&format!("already here as video {id}")),
        "{}",
        stdout(&out)
    );
    let out = site.run(&["import", "/no/such/file.mov", "--user", "carol"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no such file"), "{}", stderr(&out));

    // Unusable input ends as failed with the reason, and the file lands in rejected/.
    let junk = src.path().join("junk.mov");
    std::fs::write(&junk, vec![7u8; 10_000]).unwrap();
    let out = site.run(&["import", junk.to_str().unwrap(), "--user", "carol"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("failed: junk.mov"),
        "{}",
        stderr(&out)
    );
    assert!(site.data().join("rejected/junk.mov.reason.txt").exists());
    assert!(junk.exists(), "an import never moves the caller's file");
}

#[test]
fn global_options_come_from_flags_or_the_environment() {
    let site = Site::new();
    assert!(site.run(&["migrate"]).status.success());
    if !site.db.is_postgres() {
        assert!(
            site.data().join("dailies.db").exists(),
            "--data-dir was honoured"
        );
    }
    // The same through the environment.
    let other = tempfile::tempdir().unwrap();
    let mut c = Command::new(BIN);
    c.env("DAILIES_DATA_DIR", other.path())
        .env_remove("DAILIES_CONFIG")
        .env_remove("DAILIES_DATABASE");
    if let Some(url) = &site.db.url {
        c.env("DAILIES_DATABASE", url);
    }
    let out = c.args(["user", "add", "dave"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    if !site.db.is_postgres() {
        assert!(other.path().join("dailies.db").exists());
    }

    // Bad settings are named.
    let out = Command::new(BIN)
        .env("DAILIES_MAX_HEIGHT", "tall")
        .args(["--data-dir", other.path().to_str().unwrap(), "migrate"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("max_height"), "{}", stderr(&out));
    let out = Command::new(BIN)
        .args([
            "--database",
            "mysql://x",
            "--data-dir",
            other.path().to_str().unwrap(),
            "migrate",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("unsupported database URL"));
}

#[test]
fn serve_takes_its_listen_address_from_the_config_file_unless_a_flag_says_otherwise() {
    let site = Site::new();
    let port_file = free_port();
    let port_flag = free_port();
    std::fs::create_dir_all(site.data()).unwrap();
    std::fs::write(
        site.data().join("dailies.toml"),
        format!("listen = \"127.0.0.1:{port_file}\"\n"),
    )
    .unwrap();
    let mut c = Command::new(BIN);
    c.env_remove("DAILIES_LISTEN")
        .arg("--data-dir")
        .arg(site.data());
    if let Some(url) = &site.db.url {
        c.args(["--database", url]);
    }
    let mut child = c
        .args(["serve", "--listen", &format!("127.0.0.1:{port_flag}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let ok = wait_health(port_flag);
    let _ = child.kill();
    let _ = child.wait();
    assert!(ok, "the --listen flag wins over the file");
}

fn wait_health(port: u16) -> bool {
    for _ in 0..300 {
        if ureq::get(&format!("http://127.0.0.1:{port}/api/health"))
            .call()
            .is_ok()
        {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

#[test]
fn first_start_makes_an_administrator_even_when_users_exist() {
    let site = Site::new();
    assert!(site.run(&["user", "add", "alice"]).status.success());
    let port = free_port();
    let mut c = Command::new(BIN);
    c.arg("--data-dir").arg(site.data());
    if let Some(url) = &site.db.url {
        c.args(["--database", url]);
    }
    let mut child = c
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_health(port));
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Created the administrator 'admin'"), "{text}");
    let link = text
        .lines()
        .find(|l| l.contains("/login/once/"))
        .unwrap_or_else(|| panic!("a one-time login link: {text}"));
    assert!(
        link.trim()
            .starts_with(&format!("http://127.0.0.1:{port}/login/once/")),
        "{link}"
    );
    assert!(!text.contains("dly_"), "no API token is printed: {text}");
}
