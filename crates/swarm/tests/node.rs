//! The swarm over loopback, in-process: master and peers as tokio tasks, real sockets.
//! No timing assertions: waits poll for a state and only give up after a generous limit.

mod common;

use std::fs;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use common::{assert_same_tree, random_tree, snapshot};
use dailies_swarm::node::protocol::{self, ToPeer};
use dailies_swarm::node::{
    Error, MasterConfig, MasterHandle, PeerConfig, PeerHandle, start_master, start_peer,
};
use dailies_swarm::{HashCache, Manifest, Slots};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

const TOKEN: &str = "s3cret";
const CHUNK: u64 = 64 * 1024;

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn master_config(dir: &Path) -> MasterConfig {
    let mut cfg = MasterConfig::new(dir, loopback(), TOKEN);
    cfg.chunk_size = CHUNK;
    cfg.rescan_every = Duration::from_millis(100);
    cfg
}

fn peer_config(master: &MasterHandle, dir: &Path) -> PeerConfig {
    PeerConfig::new(master.advertise.clone(), dir, loopback(), TOKEN)
}

/// Polls `cond` until it holds; panics (rather than hang) after two minutes.
async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..2400 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("gave up waiting until {what}");
}

async fn finish(peer: PeerHandle) {
    tokio::time::timeout(Duration::from_secs(120), peer.wait())
        .await
        .expect("peer never finished")
        .expect("peer failed");
}

fn manifest_id(dir: &Path) -> String {
    let (m, _) = Manifest::build(dir, CHUNK, &mut HashCache::in_memory()).unwrap();
    m.id().to_hex()
}

fn in_sync(master: &MasterHandle, peers: &[&PeerHandle], id: &str) -> bool {
    master.status().manifest == id
        && peers.iter().all(|p| {
            let s = p.status();
            s.state == "synced" && s.manifest == id
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_peers_mirror_a_random_folder_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("master");
    random_tree(&m, 1, 3, 1_000_000);
    let before = snapshot(&m);
    // p2 holds junk in every shape: extra files and folders, a file where a folder belongs and
    // the other way round, a changed file, a longer clip.
    let p2 = tmp.path().join("p2");
    fs::create_dir_all(p2.join("extra/deep/er")).unwrap();
    fs::write(p2.join("extra/deep/er/x"), b"junk").unwrap();
    fs::write(p2.join("stray.txt"), b"junk").unwrap();
    fs::write(p2.join("day 2"), b"a file where a folder belongs").unwrap();
    fs::create_dir_all(p2.join("empty file/inside")).unwrap();
    fs::create_dir_all(p2.join("day 1/cam A")).unwrap();
    let mut clip = fs::read(m.join("day 1/cam A/clip 1.mov")).unwrap();
    clip[70_000] ^= 1;
    clip.extend_from_slice(b"trailing");
    fs::write(p2.join("day 1/cam A/clip 1.mov"), clip).unwrap();
    fs::write(p2.join("day 1/small 0.txt"), b"changed").unwrap();
    // p3 already holds a full copy: it only checks.
    let p3 = tmp.path().join("p3");
    copy_tree(&m, &p3);

    let master = start_master(master_config(&m)).await.unwrap();
    let mut peers = Vec::new();
    for name in ["p1", "p2", "p3"] {
        let mut cfg = peer_config(&master, &tmp.path().join(name));
        cfg.exit_when_synced = true;
        peers.push(start_peer(cfg).await.unwrap());
    }
    for p in peers {
        finish(p).await;
    }
    for name in ["p1", "p2", "p3"] {
        assert_same_tree(&m, &tmp.path().join(name));
    }
    assert_eq!(snapshot(&m), before, "the master's folder was modified");
    master.stop();
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_tree(&p, &dest);
        } else {
            fs::copy(&p, &dest).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn strangers_are_refused_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("master");
    random_tree(&m, 2, 1, 100_000);
    let master = start_master(master_config(&m)).await.unwrap();

    let mut cfg = peer_config(&master, &tmp.path().join("p"));
    cfg.token = "wrong".into();
    let err = start_peer(cfg).await.err().expect("a wrong token joined");
    assert!(matches!(err, Error::Refused(_)), "{err}");
    assert!(err.to_string().contains("token"), "{err}");

    let (m_manifest, _) = Manifest::build(&m, CHUNK, &mut HashCache::in_memory()).unwrap();
    let chunk = m_manifest.unique_chunks()[0].hash;
    let agent = dailies_swarm::node::fetch::agent();
    let base = master.advertise.clone();
    let codes = tokio::task::spawn_blocking(move || {
        let get = |path: &str, auth: Option<&str>| {
            let mut req = agent.get(format!("{base}{path}"));
            if let Some(a) = auth {
                req = req.header("Authorization", a);
            }
            req.call().unwrap().status().as_u16()
        };
        let chunk_path = format!("/chunk/{chunk}");
        [
            get("/status", None),
            get("/status", Some("Bearer wrong")),
            get(&chunk_path, None),
            get(&chunk_path, Some("Bearer wrong")),
            get(&chunk_path, Some("Bearer s3cret")),
            get("/status", Some("Bearer s3cret")),
            get("/chunk/..%2F..%2Fetc%2Fpasswd", Some("Bearer s3cret")),
        ]
    })
    .await
    .unwrap();
    assert_eq!(codes, [401, 403, 401, 403, 200, 200, 400]);
    master.stop();
}

async fn raw_socket(
    master: &MasterHandle,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let url = format!("{}/ws", master.advertise.replace("http://", "ws://"));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

/// The master's answer to what a raw client sent, or None when it just closed.
async fn answer(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Option<ToPeer> {
    loop {
        match tokio::time::timeout(Duration::from_secs(60), ws.next())
            .await
            .expect("the master neither answered nor closed")
        {
            Some(Ok(Message::Text(t))) => return Some(protocol::decode(&t).unwrap()),
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_messages_get_clear_errors_and_the_master_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("master");
    random_tree(&m, 3, 1, 200_000);
    let master = start_master(master_config(&m)).await.unwrap();

    let refused = |msg: Option<ToPeer>| match msg {
        Some(ToPeer::Refused { message }) => message,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let mut ws = raw_socket(&master).await;
    ws.send(Message::Text("{not json".into())).await.unwrap();
    let why = refused(answer(&mut ws).await);
    assert!(why.contains("hello"), "{why}");

    let mut ws = raw_socket(&master).await;
    let hello = r#"{"type":"hello","protocol":99,"advertise":"http://127.0.0.1:1","upload_slots":1,"download_slots":1}"#;
    ws.send(Message::Text(hello.into())).await.unwrap();
    let why = refused(answer(&mut ws).await);
    assert!(why.contains("protocol version mismatch"), "{why}");

    // A proper hello, then garbage: a clear refusal.
    let mut ws = raw_socket(&master).await;
    let hello = hello.replace("99", &protocol::PROTOCOL_VERSION.to_string());
    ws.send(Message::Text(hello.clone().into())).await.unwrap();
    assert!(matches!(
        answer(&mut ws).await,
        Some(ToPeer::Welcome { .. })
    ));
    assert!(matches!(
        answer(&mut ws).await,
        Some(ToPeer::Manifest { .. })
    ));
    ws.send(Message::Text(r#"{"type":"done","transfer":"x"}"#.into()))
        .await
        .unwrap();
    let why = refused(answer(&mut ws).await);
    assert!(why.contains("malformed"), "{why}");

    // Out-of-range chunk numbers and transfers that are not its own change nothing.
    let mut ws = raw_socket(&master).await;
    let hello2 = hello.replace("127.0.0.1:1", "127.0.0.1:2");
    ws.send(Message::Text(hello2.into())).await.unwrap();
    let _ = answer(&mut ws).await;
    let id = match answer(&mut ws).await {
        Some(ToPeer::Manifest { id, .. }) => id,
        other => panic!("{other:?}"),
    };
    let have = format!(r#"{{"type":"have","manifest":"{id}","chunks":[4000000000]}}"#);
    ws.send(Message::Text(have.into())).await.unwrap();
    ws.send(Message::Text(r#"{"type":"done","transfer":123456}"#.into()))
        .await
        .unwrap();
    // It leaves: a connected peer that never reports counts as not synced.
    drop(ws);

    // Oversized: the connection is dropped.
    let mut ws = raw_socket(&master).await;
    let huge = "x".repeat(protocol::MAX_PEER_MESSAGE + 10);
    let _ = ws.send(Message::Text(huge.into())).await;
    assert!(answer(&mut ws).await.is_none());

    // A manifest with an escaping path never decodes.
    let evil = format!(
        r#"{{"type":"manifest","id":"{id}","manifest":{{"chunk_size":1,"dirs":[],"files":[{{"path":"../../etc/x","size":0,"chunks":[]}}]}}}}"#
    );
    let err = protocol::decode::<ToPeer>(&evil).unwrap_err();
    assert!(err.to_string().contains("unsafe path"), "{err}");

    // And a real peer still gets the folder.
    let mut cfg = peer_config(&master, &tmp.path().join("p"));
    cfg.exit_when_synced = true;
    finish(start_peer(cfg).await.unwrap()).await;
    assert_same_tree(&m, &tmp.path().join("p"));
    master.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_peer_serving_corrupt_chunks_is_caught_and_its_data_never_spreads() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("master");
    random_tree(&m, 4, 2, 1_500_000);
    let mut mcfg = master_config(&m);
    // The master serves one transfer at a time, so peers must use each other.
    mcfg.slots = Slots {
        upload: 1,
        download: 0,
    };
    let master = start_master(mcfg).await.unwrap();
    let mut cfg = peer_config(&master, &tmp.path().join("hostile"));
    cfg.serve_corrupt_chunks = true;
    let hostile = start_peer(cfg).await.unwrap();
    let id = manifest_id(&m);
    wait_until("the hostile peer holds everything", || {
        in_sync(&master, &[&hostile], &id)
    })
    .await;
    let mut peers = Vec::new();
    for i in 0..3 {
        let mut cfg = peer_config(&master, &tmp.path().join(format!("p{i}")));
        cfg.exit_when_synced = true;
        peers.push(start_peer(cfg).await.unwrap());
    }
    for p in peers {
        finish(p).await;
    }
    for i in 0..3 {
        assert_same_tree(&m, &tmp.path().join(format!("p{i}")));
    }
    let status = master.status();
    assert!(status.corrupt_reports >= 1, "{status:?}");
    hostile.stop();
    master.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_change_in_the_master_folder_mid_sync_reaches_every_peer() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("master");
    random_tree(&m, 5, 2, 1_500_000);
    let master = start_master(master_config(&m)).await.unwrap();
    let mut peers = Vec::new();
    for i in 0..3 {
        let mut cfg = peer_config(&master, &tmp.path().join(format!("p{i}")));
        cfg.down_limit = Some(1_000_000.0);
        peers.push(start_peer(cfg).await.unwrap());
    }
    wait_until("a peer received something", || {
        peers.iter().any(|p| p.status().bytes_held > 0)
    })
    .await;
    fs::remove_file(m.join("day 1/cam A/clip 1.mov")).unwrap();
    fs::write(m.join("day 1/small 0.txt"), b"rewritten").unwrap();
    fs::create_dir_all(m.join("new folder/empty")).unwrap();
    fs::write(m.join("new folder/new.bin"), vec![7u8; 300_000]).unwrap();
    fs::remove_dir_all(m.join("empty/also empty")).unwrap();
    let id = manifest_id(&m);
    let refs: Vec<&PeerHandle> = peers.iter().collect();
    wait_until("every peer holds the new folder", || {
        in_sync(&master, &refs, &id)
    })
    .await;
    for i in 0..3 {
        assert_same_tree(&m, &tmp.path().join(format!("p{i}")));
    }
    for p in peers {
        p.stop();
    }
    master.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_peer_stopped_mid_sync_picks_up_where_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("master");
    random_tree(&m, 6, 2, 1_500_000);
    let master = start_master(master_config(&m)).await.unwrap();
    let dir = tmp.path().join("p");
    let mut cfg = peer_config(&master, &dir);
    cfg.down_limit = Some(1_000_000.0);
    let peer = start_peer(cfg.clone()).await.unwrap();
    wait_until("the peer received something", || {
        peer.status().bytes_held > 0
    })
    .await;
    peer.stop();
    cfg.down_limit = None;
    cfg.exit_when_synced = true;
    let peer = start_peer(cfg).await.unwrap();
    finish(peer).await;
    assert_same_tree(&m, &dir);
    master.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_peer_folder_can_be_another_masters_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("master");
    random_tree(&m, 7, 2, 600_000);
    let first = start_master(master_config(&m)).await.unwrap();
    let relay_dir = tmp.path().join("relay");
    let relay = start_peer(peer_config(&first, &relay_dir)).await.unwrap();
    // The second master starts on the relay's folder while it may still be filling up.
    let second = start_master(master_config(&relay_dir)).await.unwrap();
    let leaf = start_peer(peer_config(&second, &tmp.path().join("leaf")))
        .await
        .unwrap();
    let id = manifest_id(&m);
    wait_until("the chain delivered the folder", || {
        in_sync(&first, &[&relay], &id) && in_sync(&second, &[&leaf], &id)
    })
    .await;
    assert_same_tree(&m, &tmp.path().join("leaf"));
    for p in [relay, leaf] {
        p.stop();
    }
    first.stop();
    second.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_broken_transfer_resumes_mid_chunk_and_only_whole_lies_are_blamed() {
    use dailies_swarm::node::auth::Token;
    use dailies_swarm::node::fetch::{FetchError, FetchJob, agent, fetch};
    use dailies_swarm::node::limiter::Limiter;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("master");
    random_tree(&m, 8, 1, 200_000);
    let master = start_master(master_config(&m)).await.unwrap();
    let (manifest, _) = Manifest::build(&m, CHUNK, &mut HashCache::in_memory()).unwrap();
    let file = manifest
        .files
        .iter()
        .find(|f| f.size >= CHUNK)
        .unwrap()
        .clone();
    let whole = fs::read(file.path.under(&m)).unwrap()[..CHUNK as usize].to_vec();
    let hash = file.chunks[0];
    let base = master.advertise.clone();
    tokio::task::spawn_blocking(move || {
        let job = |partial: Vec<u8>, inherited: usize| FetchJob {
            base_url: base.clone(),
            hash,
            size: CHUNK,
            partial,
            inherited,
            cancel: Arc::new(AtomicBool::new(false)),
        };
        let (agent, token, limiter) = (agent(), Token::new(TOKEN), Limiter::new(None));
        let mut keep = Vec::new();
        // Half the chunk already here: the rest comes with a Range request.
        let half = whole[..CHUNK as usize / 2].to_vec();
        let got = fetch(&agent, &token, &limiter, job(half, 0), |_| {}, &mut keep).unwrap();
        assert_eq!(got, whole);
        // A bad first half from another uploader: a failure, but no one is called a liar.
        let mut bad = whole[..CHUNK as usize / 2].to_vec();
        bad[10] ^= 1;
        let n = bad.len();
        let err = fetch(
            &agent,
            &token,
            &limiter,
            job(bad.clone(), n),
            |_| {},
            &mut keep,
        );
        assert!(matches!(err, Err(FetchError::Failed { .. })), "{err:?}");
        // The same bad bytes from this very uploader: corrupt.
        let err = fetch(&agent, &token, &limiter, job(bad, 0), |_| {}, &mut keep);
        assert!(matches!(err, Err(FetchError::Corrupt { .. })), "{err:?}");
    })
    .await
    .unwrap();
    master.stop();
}

/// A fake master: accepts one peer, answers its hello, then sends `text`.
async fn fake_master(text: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let _hello = ws.next().await;
        let welcome = protocol::encode(&ToPeer::Welcome {
            protocol: protocol::PROTOCOL_VERSION,
            peer: 1,
        });
        ws.send(Message::Text(welcome.into())).await.unwrap();
        ws.send(Message::Text(text.into())).await.unwrap();
        // Keep the socket open until the peer gives up.
        while let Some(Ok(_)) = ws.next().await {}
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hostile_master_cannot_make_a_peer_write_outside_its_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("inner/peer");
    let id = "0".repeat(64);
    let evil = [
        // Escaping paths.
        format!(
            r#"{{"type":"manifest","id":"{id}","manifest":{{"chunk_size":4,"dirs":[],"files":[{{"path":"../../escaped","size":0,"chunks":[]}}]}}}}"#
        ),
        format!(
            r#"{{"type":"manifest","id":"{id}","manifest":{{"chunk_size":4,"dirs":[],"files":[{{"path":"/tmp/escaped","size":0,"chunks":[]}}]}}}}"#
        ),
        // A file inside a folder that is not listed, a chunk count that does not fit the size,
        // an absurd chunk size, a wrong id, and plain garbage.
        format!(
            r#"{{"type":"manifest","id":"{id}","manifest":{{"chunk_size":4,"dirs":[],"files":[{{"path":"a/b","size":0,"chunks":[]}}]}}}}"#
        ),
        format!(
            r#"{{"type":"manifest","id":"{id}","manifest":{{"chunk_size":4,"dirs":[],"files":[{{"path":"b","size":9,"chunks":[]}}]}}}}"#
        ),
        format!(
            r#"{{"type":"manifest","id":"{id}","manifest":{{"chunk_size":1099511627776,"dirs":[],"files":[]}}}}"#
        ),
        format!(
            r#"{{"type":"manifest","id":"{id}","manifest":{{"chunk_size":4,"dirs":[],"files":[]}}}}"#
        ),
        "[1,2,3".to_owned(),
    ];
    for text in evil {
        let url = fake_master(text.clone()).await;
        let peer = start_peer(PeerConfig::new(url, &dir, loopback(), TOKEN))
            .await
            .unwrap();
        let err = tokio::time::timeout(Duration::from_secs(60), peer.wait())
            .await
            .expect("the peer hung on a hostile manifest")
            .expect_err("the peer accepted a hostile manifest");
        assert!(
            matches!(err, Error::Protocol(_) | Error::Swarm(_)),
            "{text}: {err}"
        );
    }
    assert!(!tmp.path().join("escaped").exists());
    assert!(!tmp.path().join("inner/escaped").exists());
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
}
