//! The tracker through its public face (query string + client address → bencoded body), and
//! property tests that no query, however malformed, gets anything but a bencoded answer.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use dailies_torrent::InfoHashes;
use dailies_torrent::bencode::{self, Value};
use dailies_torrent::percent::encode;
use dailies_torrent::tracker::{
    AnnounceEvent, AnnounceRequest, RequestError, Tracker, TrackerConfig, parse_announce,
};
use proptest::prelude::*;

const HYBRID: InfoHashes = InfoHashes {
    v1: Some([0x11; 20]),
    v2: Some([0x22; 32]),
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn announce_query(hash: &[u8], peer: u8, port: u16, left: u64, event: &str) -> String {
    format!(
        "info_hash={}&peer_id={}&port={port}&uploaded=0&downloaded=0&left={left}&event={event}",
        encode(hash),
        encode(&[peer; 20])
    )
}

fn failure_reason(body: &[u8]) -> Option<String> {
    let v = bencode::decode(body).expect("tracker bodies are always bencode");
    v.get("failure reason")
        .and_then(Value::as_str)
        .map(str::to_string)
}

fn tracker() -> Tracker {
    let t = Tracker::new(TrackerConfig::default());
    t.allow_torrent(&HYBRID);
    t
}

#[test]
fn private_tracker_refuses_unknown_torrents() {
    let t = tracker();
    let body = t.announce(
        &announce_query(&[0x99; 20], 1, 6881, 5, "started"),
        ip("10.0.0.1"),
    );
    assert_eq!(
        failure_reason(&body).as_deref(),
        Some("unregistered torrent")
    );
}

#[test]
fn open_tracker_tracks_anything() {
    let t = Tracker::new(TrackerConfig {
        private: false,
        ..TrackerConfig::default()
    });
    let body = t.announce(
        &announce_query(&[0x99; 20], 1, 6881, 5, "started"),
        ip("10.0.0.1"),
    );
    assert_eq!(failure_reason(&body), None);
}

#[test]
fn v1_and_v2_swarms_of_a_hybrid_torrent_are_both_tracked() {
    let t = tracker();
    let v1 = HYBRID.v1.unwrap();
    let v2 = HYBRID.v2_truncated().unwrap();
    for (hash, peer) in [(&v1[..], 1), (&v2[..], 2)] {
        let body = t.announce(
            &announce_query(hash, peer, 6881, 5, "started"),
            ip("10.0.0.1"),
        );
        assert_eq!(failure_reason(&body), None);
    }
    t.revoke_torrent(&HYBRID);
    let body = t.announce(&announce_query(&v1, 1, 6881, 5, ""), ip("10.0.0.1"));
    assert_eq!(
        failure_reason(&body).as_deref(),
        Some("unregistered torrent")
    );
}

#[test]
fn a_leecher_gets_the_seeder_in_compact_form_and_scrape_counts_them() {
    let t = tracker();
    let hash = HYBRID.v1.unwrap();
    let seeder = t.announce(
        &announce_query(&hash, 1, 6881, 0, "started"),
        ip("192.168.1.10"),
    );
    let seeder = bencode::decode(&seeder).unwrap();
    assert_eq!(seeder.get("peers").and_then(Value::as_bytes), Some(&[][..]));
    assert_eq!(seeder.get("interval").and_then(Value::as_int), Some(900));

    let leecher = t.announce(
        &(announce_query(&hash, 2, 51413, 1000, "started") + "&compact=1&numwant=10"),
        ip("192.168.1.20"),
    );
    let leecher = bencode::decode(&leecher).unwrap();
    assert_eq!(
        leecher.get("peers").and_then(Value::as_bytes),
        Some(&[192, 168, 1, 10, 0x1a, 0xe1][..])
    );
    assert_eq!(leecher.get("complete").and_then(Value::as_int), Some(1));
    assert_eq!(leecher.get("incomplete").and_then(Value::as_int), Some(1));

    t.announce(
        &announce_query(&hash, 2, 51413, 0, "completed"),
        ip("192.168.1.20"),
    );
    let scrape = t.scrape(
        &format!(
            "info_hash={}&info_hash={}",
            encode(&hash),
            encode(&[0x99; 20])
        ),
        ip("192.168.1.30"),
    );
    let scrape = bencode::decode(&scrape).unwrap();
    let files = scrape.get("files").and_then(Value::as_dict).unwrap();
    // The unknown hash is simply absent.
    assert_eq!(files.len(), 1);
    let entry = files.get(&hash[..]).unwrap();
    assert_eq!(entry.get("complete").and_then(Value::as_int), Some(2));
    assert_eq!(entry.get("incomplete").and_then(Value::as_int), Some(0));
    assert_eq!(entry.get("downloaded").and_then(Value::as_int), Some(1));
}

#[test]
fn numwant_is_capped() {
    let t = Tracker::new(TrackerConfig {
        max_numwant: 3,
        rate_burst: 1000,
        ..TrackerConfig::default()
    });
    t.allow_torrent(&HYBRID);
    let hash = HYBRID.v1.unwrap();
    for i in 0..10u8 {
        t.announce(
            &announce_query(&hash, i, 6881, 5, "started"),
            ip(&format!("10.0.0.{i}")),
        );
    }
    let body = t.announce(
        &(announce_query(&hash, 99, 6881, 5, "started") + "&numwant=1000"),
        ip("10.0.1.1"),
    );
    let v = bencode::decode(&body).unwrap();
    assert_eq!(
        v.get("peers").and_then(Value::as_bytes).map(<[u8]>::len),
        Some(3 * 6)
    );
}

#[test]
fn peers_that_stop_announcing_expire() {
    let t = tracker();
    let hash = HYBRID.v1.unwrap();
    let t0 = Instant::now();
    t.announce_at(
        &announce_query(&hash, 1, 6881, 0, "started"),
        ip("10.0.0.1"),
        t0,
    );
    let ttl = t.config().peer_ttl;
    let later = t0 + ttl + Duration::from_secs(1);
    let body = t.announce_at(
        &announce_query(&hash, 2, 6881, 5, "started"),
        ip("10.0.0.2"),
        later,
    );
    let v = bencode::decode(&body).unwrap();
    assert_eq!(v.get("peers").and_then(Value::as_bytes), Some(&[][..]));
    assert_eq!(v.get("complete").and_then(Value::as_int), Some(0));
}

#[test]
fn a_flooding_address_is_refused_then_let_back_in() {
    let t = Tracker::new(TrackerConfig {
        rate_burst: 3,
        rate_per_second: 1.0,
        ..TrackerConfig::default()
    });
    t.allow_torrent(&HYBRID);
    let q = announce_query(&HYBRID.v1.unwrap(), 1, 6881, 5, "");
    let t0 = Instant::now();
    for _ in 0..3 {
        assert_eq!(failure_reason(&t.announce_at(&q, ip("10.0.0.1"), t0)), None);
    }
    let refused = t.announce_at(&q, ip("10.0.0.1"), t0);
    assert_eq!(
        failure_reason(&refused).as_deref(),
        Some("too many requests, slow down")
    );
    // Another address is unaffected, and the first recovers with time.
    assert_eq!(failure_reason(&t.announce_at(&q, ip("10.0.0.2"), t0)), None);
    let later = t0 + Duration::from_secs(2);
    assert_eq!(
        failure_reason(&t.announce_at(&q, ip("10.0.0.1"), later)),
        None
    );
}

#[test]
fn every_malformed_request_gets_a_failure_reason() {
    let t = tracker();
    let hash = HYBRID.v1.unwrap();
    let good = announce_query(&hash, 1, 6881, 5, "started");
    let cases = [
        ("", "missing info_hash"),
        ("info_hash=abc", "info_hash must be 20 bytes, got 3"),
        (
            &good.replace("port=6881", "port=0"),
            "port must be a number from 1 to 65535",
        ),
        (
            &good.replace("port=6881", "port=70000"),
            "port must be a number from 1 to 65535",
        ),
        (&good.replace("&left=5", ""), "missing left"),
        (
            &good.replace("event=started", "event=go"),
            "event must be started, stopped, completed, paused or empty",
        ),
        (&(good.clone() + "&port=1"), "port given more than once"),
        (&(good.clone() + "&x=%4"), "bad percent escape in the query"),
    ];
    for (query, reason) in cases {
        let body = t.announce(query, ip("10.0.0.1"));
        assert_eq!(failure_reason(&body).as_deref(), Some(reason), "{query}");
    }
    let scrape = t.scrape("", ip("10.0.0.1"));
    assert_eq!(
        failure_reason(&scrape).as_deref(),
        Some("scrape needs at least one info_hash")
    );
}

fn event_name(e: AnnounceEvent) -> &'static str {
    match e {
        AnnounceEvent::None => "",
        AnnounceEvent::Started => "started",
        AnnounceEvent::Completed => "completed",
        AnnounceEvent::Stopped => "stopped",
        AnnounceEvent::Paused => "paused",
    }
}

fn any_request() -> impl Strategy<Value = AnnounceRequest> {
    (
        any::<[u8; 20]>(),
        any::<[u8; 20]>(),
        1..=u16::MAX,
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        prop_oneof![
            Just(AnnounceEvent::None),
            Just(AnnounceEvent::Started),
            Just(AnnounceEvent::Completed),
            Just(AnnounceEvent::Stopped),
            Just(AnnounceEvent::Paused),
        ],
        proptest::option::of(0..10_000u64),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(
                info_hash,
                peer_id,
                port,
                uploaded,
                downloaded,
                left,
                event,
                numwant,
                compact,
                no_peer_id,
            )| {
                AnnounceRequest {
                    info_hash,
                    peer_id,
                    port,
                    uploaded,
                    downloaded,
                    left,
                    event,
                    numwant,
                    compact,
                    no_peer_id,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn a_well_formed_query_parses_to_what_it_says(r in any_request(), extra in "[a-z]{1,8}=[a-z0-9]{0,8}") {
        let mut parts = vec![
            format!("info_hash={}", encode(&r.info_hash)),
            format!("peer_id={}", encode(&r.peer_id)),
            format!("port={}", r.port),
            format!("uploaded={}", r.uploaded),
            format!("downloaded={}", r.downloaded),
            format!("left={}", r.left),
            format!("event={}", event_name(r.event)),
            format!("compact={}", u8::from(r.compact)),
            format!("no_peer_id={}", u8::from(r.no_peer_id)),
        ];
        if let Some(n) = r.numwant {
            parts.push(format!("numwant={n}"));
        }
        let known = ["info_hash", "peer_id", "port", "uploaded", "downloaded", "left", "event", "compact", "no_peer_id", "numwant"];
        if !known.contains(&extra.split('=').next().unwrap_or("")) {
            parts.insert(3, extra);
        }
        prop_assert_eq!(parse_announce(&parts.join("&")), Ok(r));
    }

    #[test]
    fn any_query_string_gets_a_request_or_a_failure_reason(query in ".{0,300}") {
        match parse_announce(&query) {
            Ok(_) => {}
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
        let t = Tracker::new(TrackerConfig { private: false, rate_burst: 1_000_000, ..TrackerConfig::default() });
        let body = t.announce(&query, ip("10.0.0.1"));
        let v = bencode::decode(&body).expect("bencoded body");
        prop_assert!(v.get("failure reason").is_some() || v.get("interval").is_some());
        let body = t.scrape(&query, ip("10.0.0.1"));
        let v = bencode::decode(&body).expect("bencoded body");
        prop_assert!(v.get("failure reason").is_some() || v.get("files").is_some());
    }

    #[test]
    fn mangled_announces_never_panic(
        r in any_request(),
        cut in 0usize..400,
        junk in "[%&=+a-zA-Z0-9]{0,12}",
    ) {
        let q = format!(
            "info_hash={}&peer_id={}&port={}&uploaded=0&downloaded=0&left={}",
            encode(&r.info_hash), encode(&r.peer_id), r.port, r.left
        );
        let cut = cut.min(q.len());
        let mangled = format!("{}{}{}", &q[..cut], junk, &q[cut..]);
        let result = parse_announce(&mangled);
        prop_assert!(result.is_ok() || matches!(result, Err(ref e) if !e.to_string().is_empty()));
    }
}

#[test]
fn parse_errors_are_typed() {
    assert_eq!(
        parse_announce(&announce_query(&[1; 19], 1, 6881, 0, "")),
        Err(RequestError::BadInfoHashLength(19))
    );
}
