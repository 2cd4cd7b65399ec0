#!/usr/bin/env bash
# Takes the README's screenshots of the real pages (crates/server/tests/screenshots.rs) in
# Debian's chromium and writes them to docs/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh chromium chromium-driver
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dailies-target}"
DAILIES_SCREENSHOTS_DIR="$PWD/docs/screenshots" \
  cargo nextest run -p dailies --test screenshots --run-ignored only
