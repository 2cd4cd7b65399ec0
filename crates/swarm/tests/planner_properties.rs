//! Property tests: whatever happens to the swarm, the planner never breaks its rules, and once
//! the turmoil stops it brings every live peer to completion.

use proptest::prelude::*;

use dailies_swarm::{
    ChunkHash, ChunkMeta, ChunkSet, Failure, Order, PeerId, PlannerConfig, Slots, SwarmState, plan,
};

#[derive(Debug, Clone)]
enum Action {
    Plan,
    Complete(usize),
    Fail(usize, u8),
    Leave(u32),
    Join(u32, Vec<bool>, u32, u32),
    ChangeManifest(Vec<bool>),
    Wait(f64),
}

fn action(peers: u32, chunks: usize) -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => Just(Action::Plan),
        3 => any::<usize>().prop_map(Action::Complete),
        1 => (any::<usize>(), 0u8..3).prop_map(|(i, k)| Action::Fail(i, k)),
        1 => (1..=peers).prop_map(Action::Leave),
        1 => (1..=peers, prop::collection::vec(any::<bool>(), chunks), 1u32..4, 1u32..4)
            .prop_map(|(p, has, u, d)| Action::Join(p, has, u, d)),
        1 => prop::collection::vec(prop::bool::weighted(0.2), chunks).prop_map(Action::ChangeManifest),
        1 => (0.0f64..50.0).prop_map(Action::Wait),
    ]
}

fn meta(chunks: usize, generation: u32) -> Vec<ChunkMeta> {
    (0..chunks)
        .map(|i| ChunkMeta {
            hash: ChunkHash::of(format!("{i}/{generation}").as_bytes()),
            size: 1_000_000 + (i as u64 % 3) * 1000,
        })
        .collect()
}

fn set(bits: &[bool], len: usize) -> ChunkSet {
    let mut s = ChunkSet::empty(len);
    for (i, &b) in bits.iter().enumerate().take(len) {
        if b {
            s.insert(i);
        }
    }
    s
}

/// Checks every order against the state it was planned from, then applies them.
fn plan_and_apply(state: &mut SwarmState, cfg: &PlannerConfig, now: f64, seed: u64) -> usize {
    let orders = plan(state, cfg, now, seed);
    let mut started = 0;
    for order in &orders {
        if let Order::Start(s) = order {
            let from = state.peer(s.from).expect("uploader exists");
            let to = state.peer(s.to).expect("downloader exists");
            assert!(
                from.has.contains(s.chunk),
                "assigned a chunk the uploader lacks"
            );
            assert!(
                !to.has.contains(s.chunk),
                "assigned a chunk the downloader has"
            );
            assert!(!to.source, "a source never downloads");
            assert_ne!(s.from, s.to);
            assert!(s.deadline > now && s.expected_end > now);
            started += 1;
        }
    }
    for order in &orders {
        state.apply(order, now);
    }
    if let Err(e) = state.check() {
        panic!("after planning: {e}");
    }
    started
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_planner_keeps_its_rules_and_always_finishes(
        chunks in 1usize..24,
        peers in 1u32..8,
        seed in any::<u64>(),
        fill in any::<bool>(),
        initial in prop::collection::vec(prop::collection::vec(any::<bool>(), 24), 8),
        slots in prop::collection::vec((1u32..4, 1u32..4), 8),
        actions in prop::collection::vec(action(7, 24), 0..80),
    ) {
        let cfg = if fill {
            PlannerConfig { busy_fraction: f64::INFINITY, ..PlannerConfig::default() }
        } else {
            PlannerConfig::default()
        };
        let mut generation = 0;
        let mut state = SwarmState::new(meta(chunks, generation));
        state.add_peer(PeerId(0), ChunkSet::empty(chunks), true, Slots { upload: slots[0].0, download: 1 });
        for p in 1..=peers {
            let (u, d) = slots[p as usize];
            state.add_peer(PeerId(p), set(&initial[p as usize], chunks), false, Slots { upload: u, download: d });
        }
        state.check().unwrap();
        let mut now = 0.0;
        let mut step = 0u64;
        for a in actions {
            step += 1;
            match a {
                Action::Plan => {
                    plan_and_apply(&mut state, &cfg, now, seed ^ step);
                }
                Action::Complete(i) => {
                    let ids: Vec<_> = state.transfers().map(|t| t.id).collect();
                    if !ids.is_empty() {
                        now += 0.01;
                        state.complete(ids[i % ids.len()], now);
                    }
                }
                Action::Fail(i, kind) => {
                    let ids: Vec<_> = state.transfers().map(|t| t.id).collect();
                    if !ids.is_empty() {
                        now += 0.01;
                        let why = [Failure::Error, Failure::TimedOut, Failure::Corrupt][kind as usize];
                        state.fail(ids[i % ids.len()], now, 1000, why);
                    }
                }
                Action::Leave(p) if p <= peers => {
                    state.remove_peer(PeerId(p));
                }
                Action::Join(p, has, u, d) if p <= peers => {
                    let len = state.chunks().len();
                    state.add_peer(PeerId(p), set(&has, len), false, Slots { upload: u, download: d });
                }
                Action::ChangeManifest(replace) => {
                    generation += 1;
                    let fresh = meta(chunks, generation);
                    let mut next = state.chunks().to_vec();
                    for (i, r) in replace.iter().enumerate().take(next.len()) {
                        if *r {
                            next[i] = fresh[i];
                        }
                    }
                    state.replace_chunks(next);
                }
                Action::Wait(dt) => now += dt,
                Action::Leave(_) | Action::Join(..) => {}
            }
            if let Err(e) = state.check() {
                panic!("after {step} steps: {e}");
            }
        }

        // The turmoil stops: transfers now end as planned (every seventh fails) and the swarm
        // must complete.
        let live_peers = state.peers().filter(|p| !p.source).count();
        let limit = 50 + 6 * chunks * (live_peers + 1);
        let mut rounds = 0;
        let mut failures = 0u64;
        while !state.is_done() {
            rounds += 1;
            prop_assert!(rounds <= limit, "not done after {limit} rounds");
            step += 1;
            plan_and_apply(&mut state, &cfg, now, seed ^ step);
            let mut in_flight: Vec<_> = state.transfers().map(|t| (t.expected_end, t.id)).collect();
            prop_assert!(!in_flight.is_empty() || state.is_done(), "stuck with nothing to do");
            in_flight.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            for (end, id) in in_flight {
                if state.transfer(id).is_none() {
                    continue; // cancelled as a duplicate
                }
                now = now.max(end);
                failures += 1;
                if failures.is_multiple_of(7) {
                    state.fail(id, now, 0, Failure::Error);
                } else {
                    state.complete(id, now);
                }
                state.check().unwrap();
            }
        }
        for p in state.peers() {
            prop_assert!(p.source || p.has.is_full());
        }
    }
}
