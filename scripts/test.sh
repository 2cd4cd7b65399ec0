#!/usr/bin/env bash
# Runs every check and test: formatting, clippy, then the whole test suite twice, on SQLite and
# on PostgreSQL. Installs what it needs (ffmpeg, sqlite3, PostgreSQL, cargo-nextest, tus clients,
# the BitTorrent clients aria2 and python3-libtorrent, chromium with chromium-driver, and moto).
set -euo pipefail
cd "$(dirname "$0")/.."
# python3-libtorrent and aria2: the real BitTorrent clients that crates/torrent is tested against.
# chromium and chromium-driver: the real browser the web client's tests drive; x265: the
# external encoder the encode tests configure; nginx: docs/nginx-sso.conf runs in front of the
# server in tests/nginx_sso.rs.
source scripts/deps.sh sqlite3 postgresql-client python3-libtorrent aria2 chromium chromium-driver x265 nginx
export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo-nextest >/dev/null 2>&1 || cargo install cargo-nextest --locked
# Third-party tus clients (tuspy, tus-js-client) that the upload tests drive.
crates/server/tests/clients/install.sh
# moto, the local S3 server that crates/s3's and the server's storage tests run against (a missing moto fails them).
DAILIES_TEST_MOTO="$(scripts/moto.sh)"
export DAILIES_TEST_MOTO

# PostgreSQL: DAILIES_TEST_POSTGRES if given; else a local server with trust auth; else install
# and start one with a dedicated test role.
pg_ok() { psql "$1" -qtAc 'SELECT 1' >/dev/null 2>&1; }
if [ -z "${DAILIES_TEST_POSTGRES:-}" ]; then
  if pg_ok "postgres://postgres@127.0.0.1:5432/test"; then
    DAILIES_TEST_POSTGRES="postgres://postgres@127.0.0.1:5432/test"
  else
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
    fi
    pg_isready -q -h 127.0.0.1 || $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
    $SUDO runuser -u postgres -- psql -qc "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dailies_test') THEN
        CREATE ROLE dailies_test LOGIN CREATEDB PASSWORD 'dailies_test';
      END IF; END \$\$;"
    DAILIES_TEST_POSTGRES="postgres://dailies_test:dailies_test@127.0.0.1:5432/postgres"
  fi
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== tests (the server's on SQLite)"
env -u DAILIES_TEST_POSTGRES cargo nextest run --workspace --locked
# Only the server touches a database; the library crates have run above.
echo "== the server's tests on PostgreSQL"
DAILIES_TEST_POSTGRES="$DAILIES_TEST_POSTGRES" cargo nextest run -p dailies --locked
