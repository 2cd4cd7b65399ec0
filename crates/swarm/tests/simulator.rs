//! The simulator end to end: every kind of swarm completes, never faster than the theoretical
//! bound allows, and the same seed replays the same run.

use dailies_swarm::{GIGABIT, Preset, Scenario, SwarmState, render_table, simulate};

fn run(s: &Scenario, seed: u64) -> dailies_swarm::SimReport {
    simulate(s, seed, None, &mut |_, _| {}).expect("simulation completes")
}

#[test]
fn every_preset_completes_and_never_beats_the_bound() {
    for preset in Preset::ALL {
        for (peers, seed) in [(1, 1), (3, 2), (12, 3)] {
            let s = Scenario::preset(preset, peers, 24, seed);
            let r = run(&s, seed);
            assert!(
                r.ratio >= 1.0,
                "{} peers={peers}: completion {} below the bound {}",
                preset.name(),
                r.completion,
                r.bound
            );
            let needed = s.peers.iter().filter(|p| p.stays()).count() as u64 * 24;
            assert!(
                r.transfers >= needed.min(24),
                "{}: too few transfers",
                preset.name()
            );
            if let Some((fast, fast_bound)) = r.fast {
                assert!(fast >= fast_bound * 0.999 && fast <= r.completion);
            }
        }
    }
}

#[test]
fn the_same_seed_replays_the_same_run() {
    let s = Scenario::preset(Preset::Hostile, 15, 30, 7);
    assert_eq!(run(&s, 7), run(&s, 7));
}

#[test]
fn a_scenario_file_with_switches_joins_departures_and_a_manifest_change_completes() {
    let text = "\
chunks 40
chunk_size 8MiB
fail_rate 0.05
source up=1Gbit down=1Gbit
switch remote uplink=200Mbit
peers 4 up=1Gbit down=1Gbit
peers 3 up=1Gbit down=1Gbit switch=remote
peer up=100Mbit down=100Mbit join=0.5s
peer leave=0.3s rejoin=1s
peer leave=0.2s
change at=0.4s fraction=0.25
";
    let s = Scenario::parse(text).unwrap();
    let r = run(&s, 3);
    assert!(r.ratio >= 1.0);
    assert!(r.failed > 0, "5 % of the transfers break");
    // The shared uplink makes the remote peers slower than the bound assumes.
    assert!(r.completion > r.bound);
}

#[test]
fn a_swarm_where_nobody_but_the_source_can_upload_still_completes() {
    let mut s = Scenario::preset(Preset::Equal, 4, 10, 1);
    for p in &mut s.peers {
        p.up = GIGABIT / 1e4;
    }
    let r = run(&s, 1);
    // The source must send everything to everyone itself: 4 × F / u_s.
    assert!(r.completion >= 4.0 * s.bytes() / s.source.up * 0.99);
}

#[test]
fn the_table_shows_one_line_per_node_with_its_share() {
    let s = Scenario::preset(Preset::Equal, 3, 10, 1);
    let mut last = String::new();
    let mut frames = 0;
    let mut draw = |now: f64, state: &SwarmState| {
        frames += 1;
        last = render_table(state, now, 80);
    };
    run_with(&s, &mut draw);
    assert!(frames > 2, "frames during the run and one at the end");
    let lines: Vec<&str> = last.lines().collect();
    assert_eq!(
        lines.len(),
        1 + 4,
        "a header and the source plus three peers"
    );
    for line in &lines[1..] {
        assert!(line.contains("|##########|"), "{line}");
        assert!(line.contains("100.0%"), "{line}");
    }
}

fn run_with(s: &Scenario, draw: &mut dyn FnMut(f64, &SwarmState)) {
    simulate(s, 1, Some(1.0), draw).unwrap();
}
