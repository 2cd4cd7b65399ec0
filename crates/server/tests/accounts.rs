//! Accounts on SQLite and PostgreSQL: the first-start login link, passwords, sessions with
//! CSRF, logout, rate-limited sign-in, API tokens, the admins' user API, the CLI, reverse-proxy
//! headers (believed only from trusted addresses) and share links. Every bad input is tried.

mod common;

use common::{Server, call};
use serde_json::{Value, json};

fn url(server: &Server, path: &str) -> String {
    format!("{}{path}", server.base)
}

fn login(server: &Server, name: &str, password: &str) -> common::Answer {
    call(
        "POST",
        &url(server, "/api/login"),
        &[],
        Some(&json!({ "name": name, "password": password }).to_string()),
    )
}

/// The `Cookie` header value for a successful sign-in's `Set-Cookie`.
fn cookie_of(a: &common::Answer) -> String {
    a.header("set-cookie")
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no cookie: {:?}", a.headers))
        .to_owned()
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[test]
fn first_start_link_password_login_csrf_logout() {
    let server = Server::start("");
    let link = server.first_login_link.clone();
    assert!(link.contains("/login/once/"), "printed: {link:?}");

    // The link works once, sets an HttpOnly SameSite=Lax cookie (not Secure over http) and
    // redirects to the page.
    let first = call("GET", &link, &[], None);
    assert_eq!(first.status, 303);
    assert_eq!(first.header("location"), Some("/"));
    let set = first.header("set-cookie").unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "{set}");
    assert_eq!(call("GET", &link, &[], None).status, 404, "used up");
    // Malformed and unknown codes look the same.
    for bad in ["x", "0000000000000000000000000000000z", "../../etc"] {
        assert_eq!(
            call(
                "GET",
                &url(&server, &format!("/login/once/{bad}")),
                &[],
                None
            )
            .status,
            404
        );
    }

    let cookie = cookie_of(&first);
    let me = call(
        "GET",
        &url(&server, "/api/me"),
        &[("Cookie", &cookie)],
        None,
    );
    assert_eq!(me.status, 200);
    let me = me.json();
    assert_eq!(me["name"], "admin");
    assert_eq!(me["is_admin"], true);
    assert_eq!(me["has_password"], false);
    assert_eq!(me["auth"], "session");
    let csrf = me["csrf_token"].as_str().unwrap().to_owned();

    // Choosing the first password needs no current one, but needs the CSRF token.
    let body = json!({ "new": "correct horse battery" }).to_string();
    let pw = url(&server, "/api/me/password");
    assert_eq!(
        call("POST", &pw, &[("Cookie", &cookie)], Some(&body)).status,
        403
    );
    assert_eq!(
        call(
            "POST",
            &pw,
            &[("Cookie", &cookie), ("X-CSRF-Token", "wrong")],
            Some(&body)
        )
        .status,
        403
    );
    let short = json!({ "new": "short" }).to_string();
    assert_eq!(
        call(
            "POST",
            &pw,
            &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
            Some(&short)
        )
        .status,
        422
    );
    assert_eq!(
        call(
            "POST",
            &pw,
            &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
            Some("{bad")
        )
        .status,
        400
    );
    assert_eq!(
        call(
            "POST",
            &pw,
            &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
            Some(&body)
        )
        .status,
        204
    );
    // From now on the current password is required.
    let change = json!({ "current": "wrong password", "new": "another long one" }).to_string();
    assert_eq!(
        call(
            "POST",
            &pw,
            &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
            Some(&change)
        )
        .status,
        403
    );
    let no_current = json!({ "new": "another long one" }).to_string();
    assert_eq!(
        call(
            "POST",
            &pw,
            &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
            Some(&no_current)
        )
        .status,
        403
    );

    // Sign in with the password.
    assert_eq!(login(&server, "admin", "wrong password").status, 401);
    assert_eq!(
        login(&server, "nobody", "correct horse battery").status,
        401
    );
    assert_eq!(
        call("POST", &url(&server, "/api/login"), &[], Some("{not json")).status,
        400
    );
    assert_eq!(
        call(
            "POST",
            &url(&server, "/api/login"),
            &[],
            Some(r#"{"name": 1}"#)
        )
        .status,
        422
    );
    let ok = login(&server, "admin", "correct horse battery");
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["name"], "admin");
    let session = cookie_of(&ok);
    let csrf2 = ok.json()["csrf_token"].as_str().unwrap().to_owned();

    // Cookie requests: GET needs no CSRF token, a POST does; a bearer token needs none.
    let tokens = url(&server, "/api/tokens");
    assert_eq!(
        call("GET", &tokens, &[("Cookie", &session)], None).status,
        200
    );
    let label = json!({ "label": "laptop" }).to_string();
    assert_eq!(
        call("POST", &tokens, &[("Cookie", &session)], Some(&label)).status,
        403
    );
    assert_eq!(
        call(
            "POST",
            &tokens,
            &[("Cookie", &session), ("X-CSRF-Token", &csrf)],
            Some(&label)
        )
        .status,
        403,
        "another session's CSRF token"
    );
    let made = call(
        "POST",
        &tokens,
        &[("Cookie", &session), ("X-CSRF-Token", &csrf2)],
        Some(&label),
    );
    assert_eq!(made.status, 201);
    let auth = bearer(&server.admin_token);
    assert_eq!(
        call("POST", &tokens, &[("Authorization", &auth)], Some(&label)).status,
        201
    );

    // Logout ends the session (and needs the CSRF token too).
    let logout = url(&server, "/api/logout");
    assert_eq!(
        call("POST", &logout, &[("Cookie", &session)], None).status,
        403
    );
    let out = call(
        "POST",
        &logout,
        &[("Cookie", &session), ("X-CSRF-Token", &csrf2)],
        None,
    );
    assert_eq!(out.status, 204);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(
        call(
            "GET",
            &url(&server, "/api/me"),
            &[("Cookie", &session)],
            None
        )
        .status,
        401
    );
    // A forged or unknown cookie is nobody.
    assert_eq!(
        call(
            "GET",
            &url(&server, "/api/me"),
            &[("Cookie", "dailies_session=dly_forged")],
            None
        )
        .status,
        401
    );
}

#[test]
fn login_links_expire_and_passwords_from_the_cli() {
    let server = Server::start("");
    let (ok, _, err) = server.cli(&["user", "add", "carol", "--password-stdin"], "short\n");
    assert!(!ok, "a short password is refused");
    assert!(err.contains("at least"), "{err}");
    assert_eq!(
        server.sql("SELECT COUNT(*) FROM users WHERE name = 'carol'"),
        "0"
    );
    let (ok, _, err) = server.cli(
        &["user", "add", "carol", "--password-stdin"],
        "first password\n",
    );
    assert!(ok, "{err}");
    assert_eq!(login(&server, "carol", "first password").status, 200);
    let (ok, _, err) = server.cli(
        &["user", "passwd", "carol", "--password-stdin"],
        "second password\n",
    );
    assert!(ok, "{err}");
    assert_eq!(login(&server, "carol", "first password").status, 401);
    assert_eq!(login(&server, "carol", "second password").status, 200);
    let (ok, _, err) = server.cli(
        &["user", "passwd", "nobody", "--password-stdin"],
        "whatever long\n",
    );
    assert!(!ok && err.contains("no user named"), "{err}");

    // An expired link does not sign in.
    let link = server.login_link("carol");
    server.sql("UPDATE login_links SET expires_at = 1");
    assert_eq!(call("GET", &link, &[], None).status, 404);
    let (ok, _, err) = server.cli(&["user", "login-link", "nobody"], "");
    assert!(!ok && err.contains("no user named"), "{err}");
    // A fresh one does.
    let (cookie, _) = server.session_from_link(&server.login_link("carol"));
    let me = call(
        "GET",
        &url(&server, "/api/me"),
        &[("Cookie", &cookie)],
        None,
    )
    .json();
    assert_eq!(me["name"], "carol");
    assert_eq!(me["is_admin"], false);
}

#[test]
fn sign_in_is_rate_limited_per_name() {
    let server = Server::start("");
    let (ok, _, err) = server.cli(
        &["user", "add", "bob", "--password-stdin"],
        "bobs password\n",
    );
    assert!(ok, "{err}");
    for _ in 0..5 {
        assert_eq!(login(&server, "bob", "guess guess").status, 401);
    }
    let refused = login(&server, "bob", "bobs password");
    assert_eq!(refused.status, 429, "even the right password waits");
    let wait: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!(wait > 0);
    // Someone else from the same address is not locked out by bob's failures.
    let (ok, _, err) = server.cli(
        &["user", "add", "dave", "--password-stdin"],
        "daves password\n",
    );
    assert!(ok, "{err}");
    assert_eq!(login(&server, "dave", "daves password").status, 200);
}

#[test]
fn tokens_are_listed_without_secrets_and_revoked() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let bob = server.user_token("bob", false);
    let a = bearer(&alice);
    let b = bearer(&bob);
    let tokens = url(&server, "/api/tokens");
    let made = call(
        "POST",
        &tokens,
        &[("Authorization", &a)],
        Some(r#"{"label":"ci"}"#),
    );
    assert_eq!(made.status, 201);
    let made = made.json();
    let secret = made["token"].as_str().unwrap().to_owned();
    let id = made["id"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("dly_"));
    let list = call("GET", &tokens, &[("Authorization", &a)], None);
    let text = String::from_utf8_lossy(&list.body).into_owned();
    assert!(
        !text.contains(&secret) && !text.contains("token_hash"),
        "{text}"
    );
    let labels: Vec<Value> = list.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["label"].clone())
        .collect();
    assert_eq!(labels, vec![json!("cli"), json!("ci")]);
    // Bad bodies.
    for (body, status) in [
        ("{", 400),
        (r#"{"label": ""}"#, 422),
        (r#"{"label": 5}"#, 422),
        (r#"{"label":"x","more":1}"#, 422),
    ] {
        assert_eq!(
            call("POST", &tokens, &[("Authorization", &a)], Some(body)).status,
            status,
            "{body}"
        );
    }
    // Bob cannot revoke Alice's token; Alice can, and then it stops working.
    let one = url(&server, &format!("/api/tokens/{id}"));
    assert_eq!(
        call("DELETE", &one, &[("Authorization", &b)], None).status,
        404
    );
    assert_eq!(
        call(
            "DELETE",
            &url(&server, "/api/tokens/nonsense"),
            &[("Authorization", &a)],
            None
        )
        .status,
        404
    );
    let new_auth = bearer(&secret);
    assert_eq!(
        call(
            "GET",
            &url(&server, "/api/me"),
            &[("Authorization", &new_auth)],
            None
        )
        .status,
        200
    );
    assert_eq!(
        call("DELETE", &one, &[("Authorization", &a)], None).status,
        204
    );
    assert_eq!(
        call(
            "GET",
            &url(&server, "/api/me"),
            &[("Authorization", &new_auth)],
            None
        )
        .status,
        401
    );
    assert_eq!(
        call("DELETE", &one, &[("Authorization", &a)], None).status,
        404
    );
    // Nobody at all.
    assert_eq!(call("GET", &tokens, &[], None).status, 401);
}

#[test]
fn admins_manage_users() {
    let server = Server::start("");
    let admin = bearer(&server.admin_token);
    let alice = bearer(&server.user_token("alice", false));
    let users = url(&server, "/api/users");
    assert_eq!(
        call("GET", &users, &[("Authorization", &alice)], None).status,
        404
    );
    assert_eq!(call("GET", &users, &[], None).status, 401);
    assert_eq!(
        call(
            "POST",
            &users,
            &[("Authorization", &alice)],
            Some(r#"{"name":"x"}"#)
        )
        .status,
        404
    );
    for (body, status) in [
        ("{", 400),
        (r#"{"name":"../x"}"#, 422),
        (r#"{"name":"erin","password":"short"}"#, 422),
        (r#"{"name":"erin","role":"x"}"#, 422),
        (r#"{"name":"alice"}"#, 409),
    ] {
        assert_eq!(
            call("POST", &users, &[("Authorization", &admin)], Some(body)).status,
            status,
            "{body}"
        );
    }
    let made = call(
        "POST",
        &users,
        &[("Authorization", &admin)],
        Some(r#"{"name":"erin","password":"erins password"}"#),
    );
    assert_eq!(made.status, 201);
    let erin = made.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(login(&server, "erin", "erins password").status, 200);
    let list = call("GET", &users, &[("Authorization", &admin)], None).json();
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "alice", "erin"]);

    let erin_url = url(&server, &format!("/api/users/{erin}"));
    assert_eq!(
        call(
            "PATCH",
            &erin_url,
            &[("Authorization", &alice)],
            Some(r#"{"is_admin":true}"#)
        )
        .status,
        404
    );
    assert_eq!(
        call(
            "PATCH",
            &erin_url,
            &[("Authorization", &admin)],
            Some(r#"{"is_admin":"yes"}"#)
        )
        .status,
        422
    );
    let promoted = call(
        "PATCH",
        &erin_url,
        &[("Authorization", &admin)],
        Some(r#"{"is_admin":true}"#),
    );
    assert_eq!(promoted.status, 200);
    assert_eq!(promoted.json()["is_admin"], true);
    assert_eq!(
        call(
            "PATCH",
            &url(&server, "/api/users/0000000000000000"),
            &[("Authorization", &admin)],
            Some("{}")
        )
        .status,
        404
    );

    // The last admin stays an admin, and nobody deletes themselves.
    let admin_id = call(
        "GET",
        &url(&server, "/api/me"),
        &[("Authorization", &admin)],
        None,
    )
    .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin_url = url(&server, &format!("/api/users/{admin_id}"));
    assert_eq!(
        call("DELETE", &admin_url, &[("Authorization", &admin)], None).status,
        409
    );
    assert_eq!(
        call(
            "PATCH",
            &erin_url,
            &[("Authorization", &admin)],
            Some(r#"{"is_admin":false}"#)
        )
        .status,
        200
    );
    assert_eq!(
        call(
            "PATCH",
            &admin_url,
            &[("Authorization", &admin)],
            Some(r#"{"is_admin":false}"#)
        )
        .status,
        409
    );

    // Deleting a user ends their sessions and tokens.
    let erin_session = cookie_of(&login(&server, "erin", "erins password"));
    assert_eq!(
        call("DELETE", &erin_url, &[("Authorization", &admin)], None).status,
        204
    );
    assert_eq!(
        call(
            "GET",
            &url(&server, "/api/me"),
            &[("Cookie", &erin_session)],
            None
        )
        .status,
        401
    );
    assert_eq!(
        call("DELETE", &erin_url, &[("Authorization", &admin)], None).status,
        404
    );
}

#[test]
fn https_public_url_makes_the_cookie_secure() {
    let server = Server::start("public_url = \"https://dailies.example\"");
    let (ok, _, err) = server.cli(
        &["user", "add", "fay", "--password-stdin"],
        "fays password\n",
    );
    assert!(ok, "{err}");
    let a = login(&server, "fay", "fays password");
    assert_eq!(a.status, 200);
    assert!(a.header("set-cookie").unwrap().contains("; Secure"));
    assert!(
        server
            .login_link("fay")
            .starts_with("https://dailies.example/login/once/")
    );
}

#[test]
fn proxy_headers_only_from_trusted_addresses() {
    let trusted = Server::start("trusted_proxies = [\"127.0.0.1/32\"]");
    let me = url(&trusted, "/api/me");
    let as_gina = [
        ("X-Remote-User-Id", "sso-42"),
        ("X-Remote-User-Name", "gina"),
        ("X-Remote-User-Is-Admin", "true"),
    ];
    let a = call("GET", &me, &as_gina, None);
    assert_eq!(a.status, 200);
    let first = a.json();
    assert_eq!(first["name"], "gina");
    assert_eq!(first["is_admin"], true);
    assert_eq!(first["auth"], "proxy");
    // The proxy renames and demotes: the same account follows.
    let renamed = call(
        "GET",
        &me,
        &[
            ("X-Remote-User-Id", "sso-42"),
            ("X-Remote-User-Name", "gina.b"),
        ],
        None,
    )
    .json();
    assert_eq!(renamed["id"], first["id"]);
    assert_eq!(renamed["name"], "gina.b");
    assert_eq!(renamed["is_admin"], false);
    // A bad name from the proxy is refused, and so is a state change without the CSRF header.
    assert_eq!(
        call(
            "GET",
            &me,
            &[
                ("X-Remote-User-Id", "sso-43"),
                ("X-Remote-User-Name", "../x")
            ],
            None
        )
        .status,
        400
    );
    let tokens = url(&trusted, "/api/tokens");
    let proxied = [
        ("X-Remote-User-Id", "sso-42"),
        ("X-Remote-User-Name", "gina.b"),
    ];
    assert_eq!(
        call("POST", &tokens, &proxied, Some(r#"{"label":"x"}"#)).status,
        403
    );
    let with_csrf = [
        ("X-Remote-User-Id", "sso-42"),
        ("X-Remote-User-Name", "gina.b"),
        ("X-CSRF-Token", "proxy"),
    ];
    assert_eq!(
        call("POST", &tokens, &with_csrf, Some(r#"{"label":"x"}"#)).status,
        201
    );
    // Without the headers the proxy's requests are anonymous.
    assert_eq!(call("GET", &me, &[], None).status, 401);

    // The same headers from an address that is not a trusted proxy are ignored.
    let untrusted = Server::start("trusted_proxies = [\"10.0.0.0/8\"]");
    assert_eq!(
        call("GET", &url(&untrusted, "/api/me"), &as_gina, None).status,
        401
    );
    assert_eq!(
        untrusted.sql("SELECT COUNT(*) FROM users WHERE name = 'gina'"),
        "0"
    );
}

#[test]
fn a_bad_trusted_proxy_setting_stops_the_server() {
    let mut server = Server::prepare("trusted_proxies = [\"127.0.0.1/40\"]");
    std::fs::write(
        server.dir.path().join("dailies.toml"),
        format!(
            "listen = \"127.0.0.1:{}\"\n{}\n",
            server.port, server.extra_config
        ),
    )
    .unwrap();
    let out = server.command().arg("serve").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("trusted_proxies"));
    server.child = None;
}

#[test]
fn share_links_view_comment_revoke_expire() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let bob = server.user_token("bob", false);
    let (a, b) = (bearer(&alice), bearer(&bob));
    let clip = common::playable_mp4(server.dir.path(), "share.mp4");
    server.drop_file(Some("alice"), "share.mp4", &clip);
    let video = server.wait_settled("share.mp4");
    assert_eq!(video["status"], "ready");
    let id = video["id"].as_str().unwrap().to_owned();
    let shares = url(&server, &format!("/api/videos/{id}/shares"));

    // Only those who manage the video share it; bad requests are refused.
    assert_eq!(
        call(
            "POST",
            &shares,
            &[("Authorization", &b)],
            Some(r#"{"access":"view"}"#)
        )
        .status,
        404
    );
    assert_eq!(
        call("POST", &shares, &[], Some(r#"{"access":"view"}"#)).status,
        401
    );
    for (body, status) in [
        ("{", 400),
        (r#"{"access":"edit"}"#, 422),
        (r#"{"access":"view","expires_in_s":-1}"#, 422),
        (r#"{"access":"view","expires_in_s":1e20}"#, 422),
        (r#"{"access":"view","label":"a\u0001b"}"#, 422),
    ] {
        assert_eq!(
            call("POST", &shares, &[("Authorization", &a)], Some(body)).status,
            status,
            "{body}"
        );
    }
    let make = |body: &str| {
        let r = call("POST", &shares, &[("Authorization", &a)], Some(body));
        assert_eq!(r.status, 201);
        r.json()
    };
    let view = make(r#"{"access":"view","label":"client"}"#);
    let comment = make(r#"{"access":"comment","label":"director","expires_in_s":3600}"#);
    let view_token = view["token"].as_str().unwrap().to_owned();
    let comment_token = comment["token"].as_str().unwrap().to_owned();
    assert!(
        view["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/s/{view_token}"))
    );
    let listed = call("GET", &shares, &[("Authorization", &a)], None);
    assert_eq!(listed.json()["items"].as_array().unwrap().len(), 2);
    assert!(
        !String::from_utf8_lossy(&listed.body).contains(&view_token),
        "secrets shown once"
    );

    // The page link opens the player with the token.
    let open = call("GET", &url(&server, &format!("/s/{view_token}")), &[], None);
    assert_eq!(open.status, 303);
    assert_eq!(
        open.header("location").unwrap(),
        format!("/watch/{id}?share={view_token}")
    );
    assert_eq!(
        call("GET", &url(&server, "/s/shr_nonsense"), &[], None).status,
        404
    );

    // A view link: the video, its media by query (as <video src> does), its comments; no
    // commenting, no managing, no other video, no library.
    let vh = [("X-Share-Token", view_token.as_str())];
    let show = url(&server, &format!("/api/videos/{id}"));
    assert_eq!(call("GET", &show, &vh, None).status, 200);
    assert_eq!(call("GET", &show, &[], None).status, 401);
    let media = url(
        &server,
        &format!("/api/videos/{id}/media?share={view_token}"),
    );
    assert_eq!(call("GET", &media, &[], None).status, 200);
    assert_eq!(
        call(
            "GET",
            &url(&server, &format!("/api/videos/{id}/original")),
            &vh,
            None
        )
        .status,
        404,
        "downloads not allowed"
    );
    let comments = url(&server, &format!("/api/videos/{id}/comments"));
    assert_eq!(call("GET", &comments, &vh, None).status, 200);
    assert_eq!(
        call("POST", &comments, &vh, Some(r#"{"text":"hi"}"#)).status,
        403
    );
    assert_eq!(
        call("PATCH", &show, &vh, Some(r#"{"title":"mine"}"#)).status,
        401
    );
    assert_eq!(
        call("POST", &shares, &vh, Some(r#"{"access":"comment"}"#)).status,
        403
    );
    assert_eq!(
        call("GET", &url(&server, "/api/videos"), &vh, None).status,
        401
    );
    assert_eq!(
        call("GET", &show, &[("X-Share-Token", "shr_forged")], None).status,
        401
    );
    // Bob sees nothing of it; with the link he views it like anyone.
    assert_eq!(
        call("GET", &show, &[("Authorization", &b)], None).status,
        404
    );
    assert_eq!(
        call(
            "GET",
            &show,
            &[("Authorization", &b), ("X-Share-Token", &view_token)],
            None
        )
        .status,
        200
    );

    // A comment link comments, under its label, and cannot edit afterwards.
    let ch = [("X-Share-Token", comment_token.as_str())];
    let posted = call("POST", &comments, &ch, Some(r#"{"text":"more grain"}"#));
    assert_eq!(posted.status, 201);
    let posted = posted.json();
    assert_eq!(posted["author"]["name"], "director (guest)");
    assert!(posted["author"]["id"].is_null());
    let cid = posted["id"].as_str().unwrap();
    let one = url(&server, &format!("/api/comments/{cid}"));
    assert_eq!(
        call("PATCH", &one, &ch, Some(r#"{"text":"less"}"#)).status,
        403
    );
    assert_eq!(call("DELETE", &one, &ch, None).status, 403);
    assert_eq!(
        call("DELETE", &one, &[("Authorization", &a)], None).status,
        204,
        "the owner moderates"
    );

    // Revoked: the link is dead everywhere.
    let view_id = view["id"].as_str().unwrap();
    let revoke = url(&server, &format!("/api/shares/{view_id}"));
    assert_eq!(
        call("DELETE", &revoke, &vh, None).status,
        403,
        "holders cannot revoke"
    );
    assert_eq!(
        call("DELETE", &revoke, &[("Authorization", &b)], None).status,
        404
    );
    assert_eq!(
        call("DELETE", &revoke, &[("Authorization", &a)], None).status,
        204
    );
    assert_eq!(call("GET", &show, &vh, None).status, 401);
    assert_eq!(call("GET", &media, &[], None).status, 401);
    assert_eq!(
        call("GET", &url(&server, &format!("/s/{view_token}")), &[], None).status,
        404
    );
    let listed = call("GET", &shares, &[("Authorization", &a)], None).json();
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == view_id && s["revoked_at"].is_i64())
    );

    // Alice owns a video, so she cannot be deleted out from under it.
    let admin = bearer(&server.admin_token);
    let alice_id = call(
        "GET",
        &url(&server, "/api/me"),
        &[("Authorization", &a)],
        None,
    )
    .json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        call(
            "DELETE",
            &url(&server, &format!("/api/users/{alice_id}")),
            &[("Authorization", &admin)],
            None
        )
        .status,
        409
    );

    // Expired: the same.
    assert_eq!(call("GET", &show, &ch, None).status, 200);
    server.sql("UPDATE shares SET expires_at = 1 WHERE access = 'comment'");
    assert_eq!(call("GET", &show, &ch, None).status, 401);
    assert_eq!(
        call("POST", &comments, &ch, Some(r#"{"text":"late"}"#)).status,
        401
    );
}

/// A second API node on the same database and data dir, killed when dropped.
struct SecondNode(std::process::Child);

impl Drop for SecondNode {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_session_from_one_api_node_works_on_another() {
    let server = Server::start("");
    let port = common::free_port();
    let _node = SecondNode(
        server
            .command()
            .args([
                "serve",
                "--workers",
                "0",
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .env("DAILIES_WATCH_INCOMING", "false")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let other = format!("http://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + common::PATIENCE;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the second node did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let (ok, _, err) = server.cli(
        &["user", "add", "hal", "--password-stdin"],
        "hals password\n",
    );
    assert!(ok, "{err}");
    let signed = login(&server, "hal", "hals password");
    let cookie = cookie_of(&signed);
    let csrf = signed.json()["csrf_token"].as_str().unwrap().to_owned();
    let me = call(
        "GET",
        &format!("{other}/api/me"),
        &[("Cookie", &cookie)],
        None,
    );
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["name"], "hal");
    // Signing out on the second node ends the session on the first.
    let out = call(
        "POST",
        &format!("{other}/api/logout"),
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
        None,
    );
    assert_eq!(out.status, 204);
    assert_eq!(
        call(
            "GET",
            &url(&server, "/api/me"),
            &[("Cookie", &cookie)],
            None
        )
        .status,
        401
    );
}
