//! Every route, as every kind of requester: anonymous, the video's owner, another user, an
//! admin, a view-link holder and a comment-link holder. The route list is read from the
//! `.route(` calls in the source, so a new route without a row here fails this test.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use common::{PATIENCE, Server, call};

const ROLES: [&str; 6] = ["anon", "other", "view", "comment", "owner", "admin"];

/// Every (method, path) the source declares, e.g. ("GET", "/api/videos/{id}").
fn declared_routes() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut stack = vec![std::path::PathBuf::from(root)];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let mut rest = text.as_str();
            while let Some(at) = rest.find(".route(") {
                rest = &rest[at + ".route(".len()..];
                let open = rest.find('"').unwrap();
                let close = open + 1 + rest[open + 1..].find('"').unwrap();
                let route = rest[open + 1..close].to_owned();
                // The handlers: up to the paren that closes `.route(`.
                let mut depth = 1;
                let mut end = 0;
                for (i, c) in rest.char_indices() {
                    match c {
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                end = i;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                let handlers = &rest[close..end];
                for m in ["get", "post", "patch", "put", "delete", "head", "options"] {
                    let bare = format!("{m}(");
                    let chained = format!(".{m}(");
                    let starts = handlers
                        .trim_start_matches([',', ' ', '\n', '"'])
                        .starts_with(&bare);
                    if starts || handlers.contains(&chained) {
                        out.insert((m.to_uppercase(), route.clone()));
                    }
                }
            }
        }
    }
    out
}

/// One row: a request and the status each role gets, in the order of [`ROLES`].
struct Row {
    method: &'static str,
    route: &'static str,
    /// The concrete path; `{name}` placeholders are filled per role from the fixtures.
    path: &'static str,
    body: Option<&'static str>,
    expect: [u16; 6],
}

const fn row(
    method: &'static str,
    route: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    expect: [u16; 6],
) -> Row {
    Row {
        method,
        route,
        path,
        body,
        expect,
    }
}

//                anon other view comment owner admin
fn rows() -> Vec<Row> {
    vec![
        // Pages and public documents.
        row("GET", "/", "/", None, [200, 200, 200, 200, 200, 200]),
        row(
            "GET",
            "/jobs",
            "/jobs",
            None,
            [200, 200, 200, 200, 200, 200],
        ),
        row(
            "GET",
            "/admin",
            "/admin",
            None,
            [200, 200, 200, 200, 200, 200],
        ),
        // Pages are public; what they show comes from the API's checks.
        row(
            "GET",
            "/nodes",
            "/nodes",
            None,
            [200, 200, 200, 200, 200, 200],
        ),
        row(
            "GET",
            "/swarm",
            "/swarm",
            None,
            [200, 200, 200, 200, 200, 200],
        ),
        row(
            "GET",
            "/watch/{id}",
            "/watch/{video}",
            None,
            [200, 200, 200, 200, 200, 200],
        ),
        row(
            "GET",
            "/{script}",
            "/session.js",
            None,
            [200, 200, 200, 200, 200, 200],
        ),
        row(
            "GET",
            "/api/health",
            "/api/health",
            None,
            [200, 200, 200, 200, 200, 200],
        ),
        row(
            "GET",
            "/api/openapi.json",
            "/api/openapi.json",
            None,
            [200, 200, 200, 200, 200, 200],
        ),
        row(
            "GET",
            "/metrics",
            "/metrics",
            None,
            [401, 404, 401, 401, 404, 200],
        ),
        row(
            "GET",
            "/api/nodes",
            "/api/nodes",
            None,
            [401, 404, 401, 401, 404, 200],
        ),
        row(
            "GET",
            "/api/swarm",
            "/api/swarm",
            None,
            [401, 404, 401, 401, 404, 200],
        ),
        // Accounts.
        row(
            "POST",
            "/api/login",
            "/api/login",
            Some("{}"),
            [422, 422, 422, 422, 422, 422],
        ),
        row(
            "POST",
            "/api/logout",
            "/api/logout",
            None,
            [401, 204, 401, 401, 204, 204],
        ),
        row(
            "GET",
            "/api/me",
            "/api/me",
            None,
            [401, 200, 401, 401, 200, 200],
        ),
        row(
            "POST",
            "/api/me/password",
            "/api/me/password",
            Some(r#"{"new":"x"}"#),
            [401, 422, 401, 401, 422, 422],
        ),
        row(
            "GET",
            "/api/tokens",
            "/api/tokens",
            None,
            [401, 200, 401, 401, 200, 200],
        ),
        row(
            "POST",
            "/api/tokens",
            "/api/tokens",
            Some(r#"{"label":""}"#),
            [401, 422, 401, 401, 422, 422],
        ),
        row(
            "DELETE",
            "/api/tokens/{id}",
            "/api/tokens/{token}",
            None,
            [401, 204, 401, 401, 204, 204],
        ),
        row(
            "GET",
            "/api/users",
            "/api/users",
            None,
            [401, 404, 401, 401, 404, 200],
        ),
        row(
            "POST",
            "/api/users",
            "/api/users",
            Some(r#"{"name":"../x"}"#),
            [401, 404, 401, 401, 404, 422],
        ),
        row(
            "PATCH",
            "/api/users/{id}",
            "/api/users/{user}",
            Some(r#"{"is_admin":"x"}"#),
            [401, 404, 401, 401, 404, 422],
        ),
        row(
            "DELETE",
            "/api/users/{id}",
            "/api/users/{user}",
            None,
            [401, 404, 401, 401, 404, 204],
        ),
        row(
            "GET",
            "/login/once/{code}",
            "/login/once/{code}",
            None,
            [404, 404, 404, 404, 404, 303],
        ),
        // Share links.
        row(
            "GET",
            "/api/videos/{id}/shares",
            "/api/videos/{video}/shares",
            None,
            [401, 404, 403, 403, 200, 200],
        ),
        row(
            "POST",
            "/api/videos/{id}/shares",
            "/api/videos/{video}/shares",
            Some(r#"{"access":"x"}"#),
            [401, 404, 403, 403, 422, 422],
        ),
        row(
            "DELETE",
            "/api/shares/{id}",
            "/api/shares/{share}",
            None,
            [401, 404, 403, 403, 204, 204],
        ),
        row(
            "GET",
            "/s/{token}",
            "/s/{view_token}",
            None,
            [303, 303, 303, 303, 303, 303],
        ),
        // Videos and their files.
        row(
            "GET",
            "/api/videos",
            "/api/videos",
            None,
            [401, 200, 401, 401, 200, 200],
        ),
        row(
            "GET",
            "/api/videos/{id}",
            "/api/videos/{video}",
            None,
            [401, 404, 200, 200, 200, 200],
        ),
        row(
            "PATCH",
            "/api/videos/{id}",
            "/api/videos/{video}",
            Some(r#"{"bogus":1}"#),
            [401, 404, 401, 401, 422, 422],
        ),
        row(
            "DELETE",
            "/api/videos/{id}",
            "/api/videos/{doomed}",
            None,
            [401, 404, 401, 401, 204, 204],
        ),
        row(
            "GET",
            "/api/videos/{id}/{file}",
            "/api/videos/{video}/poster.jpg",
            None,
            [401, 404, 200, 200, 200, 200],
        ),
        row(
            "GET",
            "/api/videos/{id}/torrent",
            "/api/videos/{video}/torrent",
            None,
            [401, 404, 200, 200, 200, 200],
        ),
        row(
            "DELETE",
            "/api/videos/{id}/webseed-token",
            "/api/videos/{video}/webseed-token",
            None,
            [401, 404, 401, 401, 200, 200],
        ),
        // Secret-bearing and public BitTorrent routes: a wrong secret is 404 for everyone; the
        // tracker answers a bad query with a bencoded failure reason (200, as clients expect).
        row(
            "GET",
            "/api/webseed/{id}/{secret}/{file}",
            "/api/webseed/{video}/00000000000000000000000000000000/playable",
            None,
            [404, 404, 404, 404, 404, 404],
        ),
        row(
            "GET",
            "/announce",
            "/announce",
            None,
            [200, 200, 200, 200, 200, 200],
        ),
        row(
            "GET",
            "/scrape",
            "/scrape",
            None,
            [200, 200, 200, 200, 200, 200],
        ),
        // Encodes and thumbnails: viewing for link holders, requesting only for managers.
        row(
            "GET",
            "/api/videos/{id}/encodes",
            "/api/videos/{video}/encodes",
            None,
            [401, 404, 200, 200, 200, 200],
        ),
        row(
            "POST",
            "/api/videos/{id}/encodes",
            "/api/videos/{video}/encodes",
            Some("{}"),
            [401, 404, 401, 401, 422, 422],
        ),
        row(
            "GET",
            "/api/encodes/{id}",
            "/api/encodes/{encode}",
            None,
            [401, 404, 200, 200, 200, 200],
        ),
        row(
            "GET",
            "/api/encodes/{id}/download",
            "/api/encodes/{encode}/download",
            None,
            [401, 404, 200, 200, 200, 200],
        ),
        row(
            "GET",
            "/api/videos/{id}/thumbnails",
            "/api/videos/{video}/thumbnails",
            None,
            [401, 404, 200, 200, 200, 200],
        ),
        row(
            "POST",
            "/api/videos/{id}/thumbnails",
            "/api/videos/{video}/thumbnails",
            Some("{}"),
            [401, 404, 401, 401, 422, 422],
        ),
        row(
            "GET",
            "/api/thumbnails/{id}",
            "/api/thumbnails/{thumbs}",
            None,
            [401, 404, 200, 200, 200, 200],
        ),
        row(
            "GET",
            "/api/thumbnails/{id}/{file}",
            "/api/thumbnails/{thumbs}/{thumb_file}",
            None,
            [401, 404, 200, 200, 200, 200],
        ),
        // Comments: view to read, comment to post, the author edits, author/owner/admin delete.
        row(
            "GET",
            "/api/videos/{id}/comments",
            "/api/videos/{video}/comments",
            None,
            [401, 404, 200, 200, 200, 200],
        ),
        row(
            "POST",
            "/api/videos/{id}/comments",
            "/api/videos/{video}/comments",
            Some(r#"{"text":""}"#),
            [401, 404, 403, 422, 422, 422],
        ),
        row(
            "GET",
            "/api/videos/{id}/comments.csv",
            "/api/videos/{video}/comments.csv",
            None,
            [401, 404, 200, 200, 200, 200],
        ),
        row(
            "GET",
            "/api/videos/{id}/comments.edl",
            "/api/videos/{video}/comments.edl",
            None,
            [401, 404, 200, 200, 200, 200],
        ),
        row(
            "GET",
            "/api/comments/{id}",
            "/api/comments/{comment}",
            None,
            [401, 404, 200, 200, 200, 200],
        ),
        row(
            "PATCH",
            "/api/comments/{id}",
            "/api/comments/{comment}",
            Some(r#"{"text":"edited"}"#),
            [401, 404, 403, 403, 200, 403],
        ),
        row(
            "DELETE",
            "/api/comments/{id}",
            "/api/comments/{doomed_comment}",
            None,
            [401, 404, 403, 403, 204, 204],
        ),
        row(
            "GET",
            "/api/comments/{id}/drawing",
            "/api/comments/{comment}/drawing",
            None,
            [401, 404, 404, 404, 404, 404],
        ),
        // Live events: only about videos the requester may see (a bad kind ends the request
        // right after the check, so the stream does not stay open).
        row(
            "GET",
            "/api/events",
            "/api/events?video={video}&kind=nonsense",
            None,
            [401, 404, 400, 400, 400, 400],
        ),
        row(
            "GET",
            "/api/ws",
            "/api/ws?video={video}&kind=nonsense",
            None,
            [401, 404, 400, 400, 400, 400],
        ),
        // Jobs: the owner's and admins'.
        row(
            "GET",
            "/api/jobs",
            "/api/jobs",
            None,
            [401, 200, 401, 401, 200, 200],
        ),
        row(
            "GET",
            "/api/jobs/{id}",
            "/api/jobs/{job}",
            None,
            [401, 404, 401, 401, 200, 200],
        ),
        row(
            "POST",
            "/api/jobs/{id}/cancel",
            "/api/jobs/{job}/cancel",
            None,
            [401, 404, 401, 401, 409, 409],
        ),
        row(
            "POST",
            "/api/jobs/{id}/retry",
            "/api/jobs/{job}/retry",
            None,
            [401, 404, 401, 401, 409, 409],
        ),
        // Uploads (tus): discovery is open; everything else needs a user (then the protocol's
        // checks: no Upload-Length is 400, a PATCH without its content type 415; ownership of
        // uploads is tested in tus_protocol.rs).
        row(
            "OPTIONS",
            "/api/uploads",
            "/api/uploads",
            None,
            [204, 204, 204, 204, 204, 204],
        ),
        row(
            "POST",
            "/api/uploads",
            "/api/uploads",
            None,
            [401, 400, 401, 401, 400, 400],
        ),
        row(
            "OPTIONS",
            "/api/uploads/",
            "/api/uploads/",
            None,
            [204, 204, 204, 204, 204, 204],
        ),
        row(
            "POST",
            "/api/uploads/",
            "/api/uploads/",
            None,
            [401, 400, 401, 401, 400, 400],
        ),
        row(
            "POST",
            "/api/uploads/check",
            "/api/uploads/check",
            Some("{}"),
            [401, 422, 401, 401, 422, 422],
        ),
        row(
            "OPTIONS",
            "/api/uploads/{id}",
            "/api/uploads/{upload}",
            None,
            [204, 204, 204, 204, 204, 204],
        ),
        row(
            "HEAD",
            "/api/uploads/{id}",
            "/api/uploads/{upload}",
            None,
            [401, 404, 401, 401, 404, 404],
        ),
        row(
            "GET",
            "/api/uploads/{id}",
            "/api/uploads/{upload}",
            None,
            [401, 404, 401, 401, 404, 404],
        ),
        row(
            "PATCH",
            "/api/uploads/{id}",
            "/api/uploads/{upload}",
            None,
            [401, 415, 401, 401, 415, 415],
        ),
        row(
            "DELETE",
            "/api/uploads/{id}",
            "/api/uploads/{upload}",
            None,
            [401, 404, 401, 401, 404, 404],
        ),
    ]
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn every_route_answers_every_requester_as_the_rule_says() {
    let server = Server::start("");
    let alice = server.user_token("alice", false);
    let bob = server.user_token("bob", false);
    let admin = server.admin_token.clone();
    let bearer = |t: &str| format!("Bearer {t}");
    let (a, b) = (bearer(&alice), bearer(&bob));
    let api = |method: &str, path: &str, auth: &str, body: Option<&str>| {
        let r = call(
            method,
            &format!("{}{path}", server.base),
            &[("Authorization", auth)],
            body,
        );
        assert!(
            r.status < 300,
            "{method} {path}: {} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
        r.json()
    };

    // Alice's videos: one to look at, two to delete (one by her, one by an admin).
    for (i, name) in ["seen.mp4", "doomed1.mp4", "doomed2.mp4"]
        .iter()
        .enumerate()
    {
        // Different lengths, so the three are not one file to deduplication.
        let mut args: Vec<&str> = common::H264_AAC.to_vec();
        args.extend(["-movflags", "+faststart"]);
        let clip = common::make_clip(
            server.dir.path(),
            name,
            1.0 + i as f64,
            "testsrc2=size=160x90:rate=25",
            &args,
        );
        server.drop_file(Some("alice"), name, &clip);
    }
    let video = server.wait_settled("seen.mp4")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let doomed1 = server.wait_settled("doomed1.mp4")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let doomed2 = server.wait_settled("doomed2.mp4")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_for("the torrent", || {
        api("GET", &format!("/api/videos/{video}"), &a, None)["torrent_url"].is_string()
    });
    let encode = api(
        "POST",
        &format!("/api/videos/{video}/encodes"),
        &a,
        Some(r#"{"codec":"h264","container":"mp4","quality":{"crf":35},"preset":"ultrafast","max_height":144}"#),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let thumbs = api(
        "POST",
        &format!("/api/videos/{video}/thumbnails"),
        &a,
        Some(r#"{"count": 1, "width": 64}"#),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_for("the encode", || {
        api("GET", &format!("/api/encodes/{encode}"), &a, None)["state"] == "ready"
    });
    let mut thumb_file = String::new();
    wait_for("the thumbnails", || {
        let set = api("GET", &format!("/api/thumbnails/{thumbs}"), &a, None);
        match set["images"][0]["url"].as_str() {
            Some(u) => {
                thumb_file = u.rsplit('/').next().unwrap().to_owned();
                true
            }
            None => false,
        }
    });
    let comment = |text: &str| {
        api(
            "POST",
            &format!("/api/videos/{video}/comments"),
            &a,
            Some(&format!(r#"{{"text":"{text}"}}"#)),
        )["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let kept_comment = comment("kept");
    let share = |access: &str| {
        let s = api(
            "POST",
            &format!("/api/videos/{video}/shares"),
            &a,
            Some(&format!(r#"{{"access":"{access}"}}"#)),
        );
        (
            s["id"].as_str().unwrap().to_owned(),
            s["token"].as_str().unwrap().to_owned(),
        )
    };
    let (_, view_token) = share("view");
    let (_, comment_token) = share("comment");
    // Live events: a share link's holder hears about its video only. Alice comments on another
    // of her videos first; the holder's first event is the comment on the shared one.
    let (status, stream) = common::sse::sse(
        &server,
        "",
        &format!("kind=comment.*&share={view_token}"),
        None,
    );
    assert_eq!(status, 200);
    let mut stream = stream.unwrap();
    api(
        "POST",
        &format!("/api/videos/{doomed1}/comments"),
        &a,
        Some(r#"{"text":"elsewhere"}"#),
    );
    let here = comment("here");
    let (_, first) = stream.next();
    assert_eq!(first["video_id"], video.as_str(), "{first}");
    assert_eq!(first["data"]["id"], here.as_str(), "{first}");
    let (status, _) = common::sse::sse(
        &server,
        "",
        &format!("video={doomed1}&share={view_token}"),
        None,
    );
    assert_eq!(
        status, 404,
        "another video of the owner does not exist for the holder"
    );
    drop(stream);

    let job = server.sql(&format!(
        "SELECT id FROM jobs WHERE video_id = '{video}' AND kind = 'process'"
    ));

    // Per-role fixtures: destructive requests get a target of their own.
    let mut fixtures: HashMap<(&str, &str), String> = HashMap::new();
    for role in ROLES {
        let admin_auth = bearer(&admin);
        let token_owner = match role {
            "owner" => Some(&a),
            "admin" => Some(&admin_auth),
            "other" => Some(&b),
            _ => None,
        };
        let token_id = match token_owner {
            Some(t) => api("POST", "/api/tokens", t, Some(r#"{"label":"doomed"}"#))["id"]
                .as_str()
                .unwrap()
                .to_owned(),
            None => "0000000000000000".into(),
        };
        fixtures.insert((role, "token"), token_id);
        let doomed_user = api(
            "POST",
            "/api/users",
            &bearer(&admin),
            Some(&format!(r#"{{"name":"doomed-{role}"}}"#)),
        )["id"]
            .as_str()
            .unwrap()
            .to_owned();
        fixtures.insert((role, "user"), doomed_user);
        fixtures.insert((role, "share"), share("view").0);
        fixtures.insert((role, "doomed_comment"), comment(&format!("doomed {role}")));
        let doomed = match role {
            "owner" => doomed1.clone(),
            "admin" => doomed2.clone(),
            _ => doomed1.clone(),
        };
        fixtures.insert((role, "doomed"), doomed);
        let code = if role == "admin" {
            server
                .login_link("alice")
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned()
        } else {
            "0000000000000000000000000000000z".into()
        };
        fixtures.insert((role, "code"), code);
        for (k, v) in [
            ("video", &video),
            ("encode", &encode),
            ("thumbs", &thumbs),
            ("thumb_file", &thumb_file),
            ("comment", &kept_comment),
            ("job", &job),
            ("view_token", &view_token),
        ] {
            fixtures.insert((role, k), v.clone());
        }
        fixtures.insert((role, "upload"), "0000000000000000".into());
    }

    // Every declared route has a row, and every row a declared route.
    let declared = declared_routes();
    let rows = rows();
    let covered: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.method.to_owned(), r.route.to_owned()))
        .collect();
    let missing: Vec<_> = declared.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "routes without a row in tests/access.rs: {missing:?}"
    );
    let stale: Vec<_> = covered.difference(&declared).collect();
    assert!(
        stale.is_empty(),
        "rows for routes that do not exist: {stale:?}"
    );

    let mut wrong = Vec::new();
    for (i, role) in ROLES.iter().enumerate() {
        for r in &rows {
            let mut path = r.path.to_owned();
            for ((fr, key), value) in &fixtures {
                if fr == role {
                    path = path.replace(&format!("{{{key}}}"), value);
                }
            }
            assert!(!path.contains('{'), "unfilled {path}");
            // Every request speaks tus, so upload routes get past the protocol check to the
            // ownership check; other routes ignore the header.
            let mut headers: Vec<(&str, String)> = vec![("Tus-Resumable", "1.0.0".into())];
            match *role {
                "owner" => headers.push(("Authorization", a.clone())),
                "other" => headers.push(("Authorization", b.clone())),
                "admin" => headers.push(("Authorization", bearer(&admin))),
                "view" => headers.push(("X-Share-Token", view_token.clone())),
                "comment" => headers.push(("X-Share-Token", comment_token.clone())),
                _ => {}
            }
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let got = call(r.method, &format!("{}{path}", server.base), &h, r.body).status;
            if got != r.expect[i] {
                wrong.push(format!(
                    "{role:8} {} {path}: got {got}, expected {}",
                    r.method, r.expect[i]
                ));
            }
            // Media elements cannot send headers: the link's token in the query must work the
            // same on every GET (strict query parsers included).
            if *role == "view" && r.method == "GET" {
                let sep = if path.contains('?') { '&' } else { '?' };
                let with_query = format!("{path}{sep}share={view_token}");
                let got = call("GET", &format!("{}{with_query}", server.base), &[], None).status;
                if got != r.expect[i] {
                    wrong.push(format!(
                        "view(?share) GET {with_query}: got {got}, expected {}",
                        r.expect[i]
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "wrong answers:\n{}", wrong.join("\n"));
}
