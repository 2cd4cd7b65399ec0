//! The planner in isolation: rarest first, slots, timeouts, retries, the end game, peers coming
//! and going, manifest changes, determinism.

use dailies_swarm::{
    CancelReason, ChunkHash, ChunkMeta, ChunkSet, Failure, Order, PeerId, PlannerConfig, Slots,
    StartOrder, SwarmState, TransferId, plan,
};

const MB: u64 = 1_000_000;

fn chunks(n: usize, generation: u8) -> Vec<ChunkMeta> {
    (0..n)
        .map(|i| ChunkMeta {
            hash: ChunkHash::of(&[i as u8, (i >> 8) as u8, generation]),
            size: 10 * MB,
        })
        .collect()
}

fn slots(up: u32, down: u32) -> Slots {
    Slots {
        upload: up,
        download: down,
    }
}

fn holding(n: usize, held: &[usize]) -> ChunkSet {
    let mut s = ChunkSet::empty(n);
    for &c in held {
        s.insert(c);
    }
    s
}

fn starts(orders: &[Order]) -> Vec<&StartOrder> {
    orders
        .iter()
        .filter_map(|o| match o {
            Order::Start(s) => Some(s),
            _ => None,
        })
        .collect()
}

fn apply_all(state: &mut SwarmState, orders: &[Order], now: f64) {
    for o in orders {
        state.apply(o, now);
    }
    state.check().unwrap();
}

const SRC: PeerId = PeerId(0);

/// Every free slot used, whatever the rates: for tests about slots and choices.
fn fill_slots() -> PlannerConfig {
    PlannerConfig {
        busy_fraction: f64::INFINITY,
        ..PlannerConfig::default()
    }
}

#[test]
fn the_source_fills_its_upload_slots_and_peers_respect_theirs() {
    let n = 8;
    let mut state = SwarmState::new(chunks(n, 0));
    state.add_peer(SRC, ChunkSet::empty(n), true, slots(3, 1));
    for p in 1..=5 {
        state.add_peer(PeerId(p), ChunkSet::empty(n), false, slots(2, 2));
    }
    let orders = plan(&state, &fill_slots(), 0.0, 1);
    let s = starts(&orders);
    assert_eq!(s.len(), 3, "three source slots, nobody else holds anything");
    assert!(s.iter().all(|o| o.from == SRC));
    let mut chunks: Vec<usize> = s.iter().map(|o| o.chunk).collect();
    chunks.dedup();
    assert_eq!(chunks.len(), 3, "three different chunks go out first");
    let mut receivers: Vec<PeerId> = s.iter().map(|o| o.to).collect();
    receivers.sort();
    receivers.dedup();
    assert_eq!(receivers.len(), 3, "spread over three peers");
    apply_all(&mut state, &orders, 0.0);
    assert!(starts(&plan(&state, &fill_slots(), 0.0, 2)).is_empty());
}

#[test]
fn the_rarest_chunk_goes_first() {
    let n = 3;
    let mut state = SwarmState::new(chunks(n, 0));
    // Chunk 0 is on three peers, chunk 1 on one, chunk 2 on two: peer 4 holds 0, 1 and 2.
    state.add_peer(PeerId(1), holding(n, &[0]), false, slots(1, 1));
    state.add_peer(PeerId(2), holding(n, &[0, 2]), false, slots(1, 1));
    state.add_peer(PeerId(4), holding(n, &[0, 1, 2]), false, slots(1, 1));
    state.add_peer(PeerId(5), ChunkSet::empty(n), false, slots(1, 1));
    // Only peer 4 may upload (the others' slots are not needed: 5 is the only one missing 0).
    let orders = plan(&state, &PlannerConfig::default(), 0.0, 7);
    let to_5: Vec<_> = starts(&orders)
        .into_iter()
        .filter(|o| o.to == PeerId(5))
        .collect();
    assert_eq!(to_5.len(), 1);
    assert_eq!(to_5[0].chunk, 1, "chunk 1 has one holder");
}

#[test]
fn in_flight_transfers_count_towards_rarity() {
    let n = 2;
    let mut state = SwarmState::new(chunks(n, 0));
    state.add_peer(PeerId(1), holding(n, &[0, 1]), false, slots(4, 1));
    for p in 2..=4 {
        state.add_peer(PeerId(p), ChunkSet::empty(n), false, slots(1, 1));
    }
    let orders = plan(&state, &fill_slots(), 0.0, 3);
    let mut per_chunk = [0; 2];
    for s in starts(&orders) {
        per_chunk[s.chunk] += 1;
    }
    // Three downloaders, two equally rare chunks: 2 + 1, never 3 + 0.
    per_chunk.sort();
    assert_eq!(per_chunk, [1, 2]);
}

#[test]
fn the_same_state_and_seed_give_the_same_orders() {
    let n = 20;
    let mut state = SwarmState::new(chunks(n, 0));
    state.add_peer(SRC, ChunkSet::empty(n), true, slots(2, 1));
    for p in 1..=10 {
        state.add_peer(
            PeerId(p),
            holding(n, &[p as usize, 2 * p as usize]),
            false,
            slots(2, 2),
        );
    }
    let cfg = PlannerConfig::default();
    assert_eq!(plan(&state, &cfg, 1.0, 42), plan(&state, &cfg, 1.0, 42));
}

#[test]
fn a_timed_out_transfer_is_cancelled_and_retried_from_someone_else() {
    let n = 1;
    let mut state = SwarmState::new(chunks(n, 0));
    state.add_peer(PeerId(1), holding(n, &[0]), false, slots(1, 1));
    state.add_peer(PeerId(2), holding(n, &[0]), false, slots(1, 1));
    state.add_peer(PeerId(3), ChunkSet::empty(n), false, slots(1, 1));
    let cfg = PlannerConfig::default();
    let first = plan(&state, &cfg, 0.0, 1);
    apply_all(&mut state, &first, 0.0);
    let s = starts(&first)[0].clone();
    assert!(s.deadline >= cfg.min_timeout);
    // Nothing happens before the deadline...
    assert!(plan(&state, &cfg, s.deadline - 0.5, 2).is_empty());
    // ...then the transfer is cancelled and the chunk asked from the other holder.
    let later = plan(&state, &cfg, s.deadline, 3);
    assert!(later.contains(&Order::Cancel {
        id: s.id,
        reason: CancelReason::TimedOut
    }));
    let retry = starts(&later);
    assert_eq!(retry.len(), 1);
    assert_ne!(retry[0].from, s.from);
    assert_eq!(retry[0].to, PeerId(3));
    apply_all(&mut state, &later, s.deadline);
}

#[test]
fn timeouts_follow_the_expected_duration_and_grow_with_each_failure() {
    let n = 1;
    let mut state = SwarmState::new(chunks(n, 0));
    state.add_peer(SRC, ChunkSet::empty(n), true, slots(1, 1));
    state.add_peer(PeerId(1), ChunkSet::empty(n), false, slots(1, 1));
    let cfg = PlannerConfig {
        min_timeout: 0.0,
        ..PlannerConfig::default()
    };
    let first = plan(&state, &cfg, 0.0, 1);
    apply_all(&mut state, &first, 0.0);
    let s = starts(&first)[0].clone();
    // 10 MB at the assumed 100 MB/s: 0.1 s expected, three times that allowed.
    assert!((s.expected_end - 0.1).abs() < 1e-9);
    assert!((s.deadline - 0.3).abs() < 1e-9);
    state.fail(s.id, 0.05, 0, Failure::Error);
    let second = plan(&state, &cfg, 0.05, 2);
    let s2 = starts(&second)[0];
    assert_eq!(s2.from, SRC, "the source stays available after a failure");
    assert!(s2.deadline - 0.05 > 2.0 * (s.deadline - 0.0) - 1e-9);
}

#[test]
fn a_peer_that_failed_to_deliver_a_chunk_is_not_asked_for_it_again() {
    let n = 1;
    let mut state = SwarmState::new(chunks(n, 0));
    state.add_peer(SRC, ChunkSet::empty(n), true, slots(1, 1));
    state.add_peer(PeerId(1), holding(n, &[0]), false, slots(1, 1));
    state.add_peer(PeerId(2), ChunkSet::empty(n), false, slots(2, 2));
    let cfg = PlannerConfig::default();
    // Occupy the source so the first choice is peer 1.
    state.add_peer(PeerId(3), ChunkSet::empty(n), false, slots(1, 1));
    let orders = plan(&state, &cfg, 0.0, 1);
    apply_all(&mut state, &orders, 0.0);
    let from_peer: Vec<_> = starts(&orders)
        .into_iter()
        .filter(|s| s.from == PeerId(1))
        .cloned()
        .collect();
    assert_eq!(from_peer.len(), 1);
    let failed = &from_peer[0];
    state.fail(failed.id, 1.0, 0, Failure::Error);
    state.check().unwrap();
    for seed in 0..20 {
        for s in starts(&plan(&state, &cfg, 1.0, seed)) {
            assert!(
                !(s.from == PeerId(1) && s.to == failed.to),
                "asked the failing peer again"
            );
        }
    }
}

#[test]
fn corrupt_chunks_are_forgotten_and_repeat_offenders_never_asked_again() {
    let n = 4;
    let mut state = SwarmState::new(chunks(n, 0));
    state.add_peer(PeerId(1), ChunkSet::full(n), false, slots(4, 1));
    state.add_peer(SRC, ChunkSet::empty(n), true, slots(1, 1));
    let cfg = PlannerConfig {
        max_corrupt: 2,
        ..fill_slots()
    };
    for (round, victim) in [(0, 2), (1, 3)] {
        state.add_peer(PeerId(victim), ChunkSet::empty(n), false, slots(1, 4));
        let orders = plan(&state, &cfg, round as f64, round);
        apply_all(&mut state, &orders, round as f64);
        let bad: Vec<_> = starts(&orders)
            .into_iter()
            .filter(|s| s.from == PeerId(1))
            .cloned()
            .collect();
        assert!(!bad.is_empty(), "round {round}: the liar was asked");
        let chunk = bad[0].chunk;
        let holders_before = state.holders()[chunk];
        state.fail(bad[0].id, round as f64 + 0.5, 5, Failure::Corrupt);
        assert_eq!(state.holders()[chunk], holders_before - 1);
        assert!(!state.peer(PeerId(1)).unwrap().has.contains(chunk));
        state.check().unwrap();
    }
    state.add_peer(PeerId(9), ChunkSet::empty(n), false, slots(1, 4));
    for seed in 0..10 {
        assert!(
            starts(&plan(&state, &cfg, 5.0, seed))
                .iter()
                .all(|s| s.from != PeerId(1))
        );
    }
}

#[test]
fn a_departing_peer_cancels_its_transfers_and_its_chunks_stop_counting() {
    let n = 3;
    let mut state = SwarmState::new(chunks(n, 0));
    state.add_peer(SRC, ChunkSet::empty(n), true, slots(2, 1));
    state.add_peer(PeerId(1), holding(n, &[0]), false, slots(2, 2));
    state.add_peer(PeerId(2), ChunkSet::empty(n), false, slots(2, 2));
    let orders = plan(&state, &PlannerConfig::default(), 0.0, 1);
    apply_all(&mut state, &orders, 0.0);
    let involving: Vec<TransferId> = state
        .transfers()
        .filter(|t| t.from == PeerId(1) || t.to == PeerId(1))
        .map(|t| t.id)
        .collect();
    assert!(!involving.is_empty());
    let cancels = state.remove_peer(PeerId(1));
    let cancelled: Vec<TransferId> = cancels
        .iter()
        .map(|o| match o {
            Order::Cancel {
                id,
                reason: CancelReason::PeerLeft,
            } => *id,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(cancelled, involving);
    assert_eq!(state.holders()[0], 1, "only the source holds chunk 0 now");
    state.check().unwrap();
    // It comes back with what it has on disk.
    state.add_peer(PeerId(1), holding(n, &[0, 2]), false, slots(2, 2));
    assert_eq!(state.holders()[2], 2);
    state.check().unwrap();
}

#[test]
fn a_manifest_change_cancels_obsolete_transfers_and_keeps_what_still_matters() {
    let n = 4;
    let old = chunks(n, 0);
    let mut state = SwarmState::new(old.clone());
    state.add_peer(SRC, ChunkSet::empty(n), true, slots(4, 1));
    state.add_peer(PeerId(1), holding(n, &[0, 1]), false, slots(2, 4));
    state.add_peer(PeerId(2), ChunkSet::empty(n), false, slots(2, 4));
    let orders = plan(&state, &PlannerConfig::default(), 0.0, 1);
    apply_all(&mut state, &orders, 0.0);
    // New manifest: chunk 1 and 3 replaced, chunk 0 and 2 kept but in another order, one added.
    let fresh = chunks(6, 1);
    let new = vec![old[2], fresh[0], old[0], fresh[1], fresh[2]];
    let obsolete: Vec<TransferId> = state
        .transfers()
        .filter(|t| t.chunk == 1 || t.chunk == 3)
        .map(|t| t.id)
        .collect();
    let cancels = state.replace_chunks(new);
    let cancelled: Vec<TransferId> = cancels
        .iter()
        .filter_map(|o| match o {
            Order::Cancel {
                id,
                reason: CancelReason::Obsolete,
            } => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(cancelled, obsolete);
    state.check().unwrap();
    let p1 = state.peer(PeerId(1)).unwrap();
    assert_eq!(
        p1.has.iter().collect::<Vec<_>>(),
        vec![2],
        "old chunk 0 is now index 2"
    );
    assert!(state.peer(SRC).unwrap().has.is_full());
    // Surviving transfers were renumbered to the new indices.
    for t in state.transfers() {
        assert!(t.chunk == 0 || t.chunk == 2);
    }
}

#[test]
fn in_the_end_game_a_late_transfer_is_duplicated_and_the_loser_cancelled() {
    let n = 1;
    let mut state = SwarmState::new(chunks(n, 0));
    state.add_peer(PeerId(1), holding(n, &[0]), false, slots(1, 1));
    state.add_peer(PeerId(2), ChunkSet::empty(n), false, slots(1, 2));
    let cfg = PlannerConfig::default();
    let orders = plan(&state, &cfg, 0.0, 1);
    apply_all(&mut state, &orders, 0.0);
    let slow = starts(&orders)[0].clone();
    // A faster holder appears; the first transfer is already late.
    state.add_peer(PeerId(3), holding(n, &[0]), false, slots(1, 1));
    let now = slow.expected_end * 5.0;
    let orders = plan(&state, &cfg, now, 2);
    let dup = starts(&orders);
    assert_eq!(dup.len(), 1);
    assert_eq!(
        (dup[0].from, dup[0].to, dup[0].chunk),
        (PeerId(3), PeerId(2), 0)
    );
    apply_all(&mut state, &orders, now);
    let cancels = state.complete(dup[0].id, now + 0.1);
    assert_eq!(
        cancels,
        vec![Order::Cancel {
            id: slow.id,
            reason: CancelReason::Duplicate
        }]
    );
    assert!(state.is_done());
    state.check().unwrap();
}

#[test]
fn a_slow_downloader_gets_at_most_one_of_an_uploaders_slots() {
    let n = 6;
    let mut state = SwarmState::new(chunks(n, 0));
    state.add_peer(SRC, ChunkSet::empty(n), true, slots(2, 1));
    state.add_peer(PeerId(1), ChunkSet::empty(n), false, slots(2, 4));
    state.add_peer(PeerId(2), ChunkSet::empty(n), false, slots(2, 4));
    let cfg = PlannerConfig::default();
    // Teach the planner that peer 1 downloads at 1 MB/s and peer 2 at 100 MB/s.
    let mut now = 0.0;
    for _ in 0..2 {
        let orders = plan(&state, &cfg, now, 9);
        apply_all(&mut state, &orders, now);
        let ids: Vec<_> = state.transfers().map(|t| (t.id, t.to)).collect();
        for (id, to) in ids {
            let secs = if to == PeerId(1) { 10.0 } else { 0.1 };
            state.complete(id, now + secs);
        }
        now += 10.0;
        state.check().unwrap();
    }
    assert!(state.rates().download(PeerId(1)).unwrap() < 5.0 * MB as f64);
    // Now peer 2 is busy elsewhere (no room); the source must keep one slot free of peer 1.
    let orders = plan(&state, &cfg, now, 11);
    let to_slow = starts(&orders)
        .iter()
        .filter(|s| s.to == PeerId(1) && s.from == SRC)
        .count();
    assert!(to_slow <= 1, "slow peer got {to_slow} source slots");
}

#[test]
fn equal_peers_send_one_chunk_at_a_time_and_fast_uploaders_use_more_slots() {
    let n = 8;
    let mut state = SwarmState::new(chunks(n, 0));
    state.add_peer(SRC, ChunkSet::empty(n), true, slots(4, 1));
    for p in 1..=4 {
        state.add_peer(PeerId(p), ChunkSet::empty(n), false, slots(4, 4));
    }
    let cfg = PlannerConfig::default();
    let orders = plan(&state, &cfg, 0.0, 1);
    assert_eq!(
        starts(&orders).len(),
        1,
        "nothing known: one transfer is expected to use the whole upload"
    );
    // Then the source shows 100 MB/s over four concurrent transfers, and each of four peers
    // shows 25 MB/s on a transfer of its own: the peers are the limit, not the source.
    let n = 16;
    let mut state = SwarmState::new(chunks(n, 0));
    state.add_peer(SRC, ChunkSet::empty(n), true, slots(4, 1));
    for p in 1..=4 {
        state.add_peer(PeerId(p), ChunkSet::empty(n), false, slots(4, 4));
    }
    let mut id = 0;
    let mut send = |state: &mut SwarmState, to: u32, chunk: usize, at: f64| {
        id += 1;
        let order = Order::Start(StartOrder {
            id: TransferId(id),
            chunk,
            from: SRC,
            to: PeerId(to),
            expected_end: at + 0.1,
            deadline: at + 100.0,
        });
        state.apply(&order, at);
        TransferId(id)
    };
    let mut now = 0.0;
    for round in 0..2 {
        let batch: Vec<_> = (1..=4)
            .map(|p| send(&mut state, p, 8 * round + p as usize - 1, now))
            .collect();
        now += 0.4;
        for t in batch {
            state.complete(t, now);
        }
        if round == 0 {
            for p in 1..=4 {
                let t = send(&mut state, p, 4 + p as usize - 1, now);
                now += 0.4;
                state.complete(t, now);
            }
        }
    }
    state.check().unwrap();
    assert!(state.rates().upload(SRC).unwrap() >= 100.0 * MB as f64);
    assert!(state.rates().download(PeerId(1)).unwrap() <= 35.0 * MB as f64);
    // One such peer cannot take the source's whole upload: it feeds several at once.
    let orders = plan(&state, &cfg, now, 2);
    let from_source = starts(&orders).iter().filter(|s| s.from == SRC).count();
    assert!(from_source >= 2, "{from_source} transfers from the source");
    apply_all(&mut state, &orders, now);
}

#[test]
fn a_transfer_reported_far_behind_marks_its_uploader_slow_before_it_ends() {
    let n = 4;
    let mut state = SwarmState::new(chunks(n, 0));
    state.add_peer(SRC, ChunkSet::empty(n), true, slots(1, 1));
    state.add_peer(PeerId(1), ChunkSet::full(n), false, slots(1, 1));
    state.add_peer(PeerId(2), ChunkSet::empty(n), false, slots(2, 2));
    let start = |id: u64, chunk: usize, from: PeerId, at: f64| {
        Order::Start(StartOrder {
            id: TransferId(id),
            chunk,
            from,
            to: PeerId(2),
            expected_end: at + 0.1,
            deadline: at + 100.0,
        })
    };
    // Peer 2 shows it downloads at 100 MB/s.
    state.apply(&start(1, 0, SRC, 0.0), 0.0);
    state.complete(TransferId(1), 0.1);
    // Peer 1 then sends at 1 MB/s: after 0.5 s (five times the expected 0.1 s) only 0.5 MB.
    state.apply(&start(2, 1, PeerId(1), 1.0), 1.0);
    state.progress(TransferId(2), 500_000, 1.5);
    state.check().unwrap();
    let up = state
        .rates()
        .upload(PeerId(1))
        .expect("measured while running");
    assert!(up < 10.0 * MB as f64, "peer 1 looks like {up} B/s");
    assert!(state.rates().download(PeerId(2)).unwrap() >= 100.0 * MB as f64);
}

#[test]
fn a_slow_peer_alone_does_not_fill_the_sources_slots() {
    let n = 8;
    let mut state = SwarmState::new(chunks(n, 0));
    state.add_peer(SRC, ChunkSet::empty(n), true, slots(6, 1));
    state.add_peer(PeerId(1), ChunkSet::empty(n), false, slots(6, 6));
    state.add_peer(PeerId(2), ChunkSet::empty(n), false, slots(6, 6));
    let send = |id: u64, chunk: usize, to: u32, at: f64| {
        Order::Start(StartOrder {
            id: TransferId(id),
            chunk,
            from: SRC,
            to: PeerId(to),
            expected_end: at + 0.1,
            deadline: at + 100.0,
        })
    };
    // Peer 1 downloads at 100 MB/s, peer 2 at 1 MB/s.
    state.apply(&send(1, 0, 1, 0.0), 0.0);
    state.complete(TransferId(1), 0.1);
    state.apply(&send(2, 1, 2, 1.0), 1.0);
    state.complete(TransferId(2), 11.0);
    assert!(state.rates().download(PeerId(2)).unwrap() < 2.0 * MB as f64);
    // Peer 1 goes away: only the slow peer is left to serve.
    state.remove_peer(PeerId(1));
    let cfg = PlannerConfig::default();
    let orders = plan(&state, &cfg, 12.0, 1);
    assert_eq!(starts(&orders).len(), 1, "one transfer saturates peer 2");
    apply_all(&mut state, &orders, 12.0);
    // Peer 1 comes back and is served at once.
    state.add_peer(PeerId(1), holding(n, &[0]), false, slots(6, 6));
    let orders = plan(&state, &cfg, 13.0, 2);
    assert!(
        starts(&orders)
            .iter()
            .any(|s| s.to == PeerId(1) && s.from == SRC)
    );
}
