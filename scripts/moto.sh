#!/usr/bin/env bash
# Installs moto (a local S3 imitation that crates/s3's tests run against) into a virtualenv in
# $HOME/.cache/dailies-moto, and prints the path of its moto_server. Safe to run again: does
# nothing when the pinned version is already there. Progress goes to stderr, so
#   export DAILIES_TEST_MOTO="$(scripts/moto.sh)"
# works. Called by scripts/test.sh.
set -euo pipefail

MOTO_VERSION="5.2.6"
VENV="$HOME/.cache/dailies-moto"
SERVER="$VENV/bin/moto_server"

installed() {
  [ -x "$SERVER" ] && [ "$("$VENV/bin/python3" -c 'import moto; print(moto.__version__)' 2>/dev/null)" = "$MOTO_VERSION" ]
}

if ! installed; then
  echo "installing moto $MOTO_VERSION into $VENV" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  command -v python3 >/dev/null 2>&1 || {
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3 python3-venv >&2
  }
  if [ ! -x "$VENV/bin/pip" ]; then
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    python3 -m venv "$VENV" >&2 2>/dev/null || {
      $SUDO apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >&2
      rm -rf "$VENV"
      python3 -m venv "$VENV" >&2
    }
  fi
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
  installed || { echo "moto $MOTO_VERSION did not install into $VENV" >&2; exit 1; }
fi
echo "$SERVER"
