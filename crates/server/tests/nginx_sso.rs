//! docs/nginx-sso.conf, run by the real nginx (Debian's `nginx` package) as an ordinary process
//! in front of dailies: people nginx signs in become dailies users (admins as its map says),
//! headers a client forges are replaced by nginx, and the same headers sent to dailies directly
//! from an address that is not a trusted proxy are ignored.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use common::{Server, call, free_port};

/// nginx with the documented config, paths and ports replaced for the test.
struct Nginx {
    child: Child,
    port: u16,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_nginx(dir: &Path, dailies_port: u16) -> Nginx {
    let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("nginx is needed for this test: apt-get install nginx");
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/nginx-sso.conf"
    ))
    .unwrap();
    let port = free_port();
    let htpasswd = dir.join("htpasswd");
    // nginx reads {PLAIN} entries; a real deployment would use htpasswd's hashes.
    std::fs::write(
        &htpasswd,
        "admin:{PLAIN}admin-secret\ngina:{PLAIN}gina-secret\n",
    )
    .unwrap();
    let mut site = doc
        .replace("listen 8443;", &format!("listen 127.0.0.1:{port};"))
        .replace("/etc/nginx/dailies.htpasswd", htpasswd.to_str().unwrap())
        .replace(
            "proxy_pass http://127.0.0.1:8080;",
            // nginx connects from 127.0.0.2, the only trusted proxy, so the test's own direct
            // requests (from 127.0.0.1) are untrusted.
            &format!("proxy_pass http://127.0.0.1:{dailies_port};\n        proxy_bind 127.0.0.2;"),
        );
    assert!(
        site.contains(&format!("127.0.0.1:{dailies_port}")),
        "the doc's proxy_pass line changed"
    );
    assert!(
        site.contains(htpasswd.to_str().unwrap()),
        "the doc's auth_basic_user_file changed"
    );
    site = site.replace('\r', "");
    let tmp = dir.join("nginx");
    std::fs::create_dir_all(tmp.join("logs")).unwrap();
    let conf = format!(
        "worker_processes 1;\npid {tmp}/nginx.pid;\nerror_log {tmp}/logs/error.log info;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log {tmp}/logs/access.log;\n  client_body_temp_path {tmp}/body;\n  \
         proxy_temp_path {tmp}/proxy;\n  fastcgi_temp_path {tmp}/fastcgi;\n  uwsgi_temp_path {tmp}/uwsgi;\n  \
         scgi_temp_path {tmp}/scgi;\n{site}\n}}\n",
        tmp = tmp.display()
    );
    let conf_path = tmp.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let child = Command::new(nginx)
        .arg("-p")
        .arg(&tmp)
        .arg("-c")
        .arg(&conf_path)
        .arg("-e")
        .arg(tmp.join("logs/error.log"))
        .args(["-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut n = Nginx { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = n.child.try_wait() {
            let log = std::fs::read_to_string(tmp.join("logs/error.log")).unwrap_or_default();
            panic!("nginx exited with {status}: {log}");
        }
        assert!(Instant::now() < deadline, "nginx did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    n.port = port;
    n
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

#[test]
fn nginx_signs_people_in_and_forged_headers_do_nothing() {
    let server = Server::start("trusted_proxies = [\"127.0.0.2/32\"]");
    let nginx = start_nginx(server.dir.path(), server.port);
    let via = |path: &str| format!("http://127.0.0.1:{}{path}", nginx.port);

    // Nobody passes nginx without signing in, whatever headers they send.
    let forged = [
        ("X-Remote-User-Id", "admin"),
        ("X-Remote-User-Name", "admin"),
        ("X-Remote-User-Is-Admin", "true"),
    ];
    assert_eq!(call("GET", &via("/api/me"), &forged, None).status, 401);

    // gina signs in at nginx; her forged admin header is replaced by nginx's map.
    let gina = basic("gina", "gina-secret");
    let mut headers = vec![("Authorization", gina.as_str())];
    headers.extend_from_slice(&forged);
    let me = call("GET", &via("/api/me"), &headers, None);
    assert_eq!(me.status, 200, "{}", String::from_utf8_lossy(&me.body));
    let me = me.json();
    assert_eq!(me["name"], "gina");
    assert_eq!(me["is_admin"], false);
    assert_eq!(me["auth"], "proxy");
    assert_eq!(
        call("GET", &via("/api/users"), &headers, None).status,
        404,
        "not an admin"
    );

    // admin is one by nginx's map.
    let admin = basic("admin", "admin-secret");
    let me = call("GET", &via("/api/me"), &[("Authorization", &admin)], None).json();
    assert_eq!(me["name"], "admin");
    assert_eq!(me["is_admin"], true);
    let users = call(
        "GET",
        &via("/api/users"),
        &[("Authorization", &admin)],
        None,
    );
    assert_eq!(users.status, 200);
    let names: Vec<String> = users.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["admin", "gina"]);
    // A state change through the proxy carries the CSRF header like any browser request.
    assert_eq!(
        call(
            "POST",
            &via("/api/tokens"),
            &[("Authorization", &gina)],
            Some(r#"{"label":"x"}"#)
        )
        .status,
        403
    );
    assert_eq!(
        call(
            "POST",
            &via("/api/tokens"),
            &[("Authorization", &gina), ("X-CSRF-Token", "proxy")],
            Some(r#"{"label":"x"}"#)
        )
        .status,
        201
    );

    // Straight to dailies from 127.0.0.1, not a trusted proxy: the headers are ignored.
    assert_eq!(
        call("GET", &format!("{}/api/me", server.base), &forged, None).status,
        401
    );
    assert_eq!(
        server.sql("SELECT COUNT(*) FROM users WHERE external_id IS NOT NULL"),
        "2"
    );
}
