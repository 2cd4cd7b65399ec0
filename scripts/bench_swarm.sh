#!/usr/bin/env bash
# Benchmark: how close does the swarm planner come to the theoretical limit? Runs the simulator
# (crates/swarm, the same planner the master uses) over a matrix of scenarios and prints, per
# scenario and swarm size, completion time / Kumar–Ross bound
#   max(F/u_s, F/d_min, N·F/(u_s + Σu_i))
# as the median (and min, max) over seeds. Not a test: nothing here fails on a slow result.
#
#   scripts/bench_swarm.sh                     # the full matrix (a few minutes on 2 cores)
#   PEERS=2,10 SEEDS=3 scripts/bench_swarm.sh  # a quick look
#
# Scenarios (64 MiB chunks, CHUNKS of them, gigabit links unless said otherwise):
#   equal    every node on gigabit                                           goal ≤ 1.15
#   mixed    uploads 100 Mbit, 1 or 2.5 Gbit; downloads 1 or 2.5 Gbit        goal ≤ 1.15
#   slow     5 % of the peers (at least one) 100× slower                     goal ≤ 1.5
#   failing  2 % of the transfers break midway                               goal ≤ 1.5
#   churn    10 % join late, 10 % leave and come back, 5 % leave for good    goal ≤ 1.5
#   hostile  all of the above at once                                        goal ≤ 1.5
# With slow peers the bound is F/d_min, set by the slow peers themselves, so the "fast median"
# column also gives the ratio of the other peers' completion to the bound computed without the
# slow ones; the goal is judged on the larger of the two.
set -euo pipefail
cd "$(dirname "$0")/.."

PEERS=${PEERS:-2,10,50,200}
SEEDS=${SEEDS:-5}
CHUNKS=${CHUNKS:-200}
PRESETS=${PRESETS:-equal,mixed,slow,failing,churn,hostile}

cargo build --release --quiet -p dailies-swarm --example swarm_bench
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
echo "swarm simulation: completion / bound, median of $SEEDS seeds, $CHUNKS chunks of 64 MiB"
"$target_dir/release/examples/swarm_bench" --peers "$PEERS" --seeds "$SEEDS" --chunks "$CHUNKS" \
    --presets "$PRESETS"
