#!/usr/bin/env bash
# moto (a local AWS emulator from PyPI) for the AWS provider's integration tests (crates/cloud-aws).
#
#   scripts/moto.sh install   create the virtual environment and install moto[server] (once)
#   scripts/moto.sh start     install if needed, start moto_server on 127.0.0.1 in the background unless
#                             ours already answers, and print `export SWELL_MOTO_ENDPOINT=...` (plus
#                             SWELL_MOTO_STARTED=1 when this call started it)
#   scripts/moto.sh endpoint  print the endpoint URL
#   scripts/moto.sh stop      stop the server this script started (by its recorded pid)
#
# Usage from a shell: eval "$(scripts/moto.sh start)"; cargo test -p swell-cloud-aws; scripts/moto.sh stop
# Environment: SWELL_MOTO_PORT (5055), SWELL_MOTO_DIR (target/moto: venv, pid file, log), PYTHON (python3).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${SWELL_MOTO_DIR:-$root/target/moto}"
venv="$dir/venv"
port="${SWELL_MOTO_PORT:-5055}"
pidfile="$dir/moto.pid"
log="$dir/moto.log"
endpoint="http://127.0.0.1:$port"
# The version the provider's tests were written against (its gaps are listed in docs/aws.md).
moto_version="5.2.5"

answers() {
  "$venv/bin/python" - "$endpoint" <<'PY' >/dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=2).read()
PY
}

ours_running() {
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

install() {
  if [ -x "$venv/bin/moto_server" ]; then
    return 0
  fi
  mkdir -p "$dir"
  echo "moto.sh: installing moto[server]==$moto_version into $venv" >&2
  "${PYTHON:-python3}" -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$moto_version" >&2
}

start() {
  install
  if ours_running && answers; then
    echo "export SWELL_MOTO_ENDPOINT=$endpoint"
    return 0
  fi
  if answers; then
    echo "moto.sh: something not started by this script already answers on $endpoint; set SWELL_MOTO_PORT" >&2
    exit 1
  fi
  echo "moto.sh: starting moto_server on $endpoint (log: $log)" >&2
  nohup "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 100); do
    if answers; then
      # SWELL_MOTO_STARTED tells a caller (make test) that it started moto and should stop it.
      echo "export SWELL_MOTO_ENDPOINT=$endpoint SWELL_MOTO_STARTED=1"
      return 0
    fi
    if ! ours_running; then
      echo "moto.sh: moto_server exited; its log:" >&2
      cat "$log" >&2
      exit 1
    fi
    sleep 0.2
  done
  echo "moto.sh: moto_server did not answer on $endpoint within 20 s; its log:" >&2
  cat "$log" >&2
  exit 1
}

stop() {
  if ours_running; then
    kill "$(cat "$pidfile")"
    echo "moto.sh: stopped moto_server" >&2
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  endpoint) echo "$endpoint" ;;
  stop) stop ;;
  *)
    echo "usage: $0 install|start|endpoint|stop" >&2
    exit 2
    ;;
esac
