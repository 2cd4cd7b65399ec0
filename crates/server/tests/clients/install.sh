#!/usr/bin/env bash
# Installs the third-party tus clients that tests/tus_clients.rs drives against a real server:
# tuspy (Python, tus-py-client) and tus-js-client (Node.js, versions pinned in package-lock.json).
# Safe to run again: does nothing that is already done. Called by scripts/test.sh.
#
# Python: tuspy is installed into the python3 on PATH when pip may do so; where pip refuses
# (Debian's "externally managed" system Python) it goes into a virtualenv in .venv/ here, which
# the tests prefer when it exists. DAILIES_TEST_PYTHON / DAILIES_TEST_NODE override the
# interpreters the tests use.
set -euo pipefail
cd "$(dirname "$0")"

TUSPY_VERSION="1.1.0"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    $SUDO apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

# --- Python + tuspy ---------------------------------------------------------------------------
command -v python3 >/dev/null 2>&1 || { echo "installing python3"; apt_install python3 python3-pip python3-venv; }
has_tuspy() { "$1" -c 'import tusclient.client, tusclient.storage.filestorage' >/dev/null 2>&1; }
if [ -x .venv/bin/python3 ] && has_tuspy .venv/bin/python3; then
  :
elif has_tuspy python3; then
  :
else
  echo "installing tuspy $TUSPY_VERSION"
  if ! python3 -m pip install --quiet --disable-pip-version-check "tuspy==$TUSPY_VERSION" 2>/dev/null \
      || ! has_tuspy python3; then
    # pip missing, or the system Python refuses global installs (PEP 668): use a virtualenv.
    python3 -m venv .venv >/dev/null 2>&1 || { apt_install python3-venv; rm -rf .venv; python3 -m venv .venv; }
    .venv/bin/python3 -m pip install --quiet --disable-pip-version-check "tuspy==$TUSPY_VERSION"
  fi
fi

# --- Node.js + tus-js-client --------------------------------------------------------------------
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "installing nodejs and npm"
  apt_install nodejs npm
fi
if [ ! -f node_modules/tus-js-client/package.json ] \
    || ! cmp -s package-lock.json node_modules/.package-lock.json.installed; then
  echo "installing tus-js-client (npm ci)"
  npm ci --silent --no-audit --no-fund
  cp package-lock.json node_modules/.package-lock.json.installed
fi
