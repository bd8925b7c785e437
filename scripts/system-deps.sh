#!/usr/bin/env bash
# Installs the system packages the test suite needs on a bare Debian machine, once:
# Chromium for the browser tests, PostgreSQL and Java (for Spark) for the engine parity suite.
# Each is skipped when already present. Needs root (or sudo) only when something is missing.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)

if ((${#missing[@]})); then
  echo "system-deps: installing ${missing[*]}" >&2
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
