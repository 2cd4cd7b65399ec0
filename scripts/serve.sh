#!/usr/bin/env bash
# Quick start: installs what is missing, builds dailies and runs it with its defaults
# (http://127.0.0.1:8080, data in ./data, SQLite). Extra arguments go to `dailies serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
exec cargo run --release -p dailies -- serve "$@"
