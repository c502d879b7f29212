#!/usr/bin/env bash
# LocalStack (Secrets Manager, SSM, STS, KMS) on the host, without Docker.
#
#   scripts/localstack.sh install    create (or reuse) LocalStack's own virtualenv in the user cache
#   scripts/localstack.sh start      install if needed, start in the background, wait until healthy
#   scripts/localstack.sh stop       stop what `start` started (the whole process group), remove the pid file
#   scripts/localstack.sh status     print "running ..." (exit 0) or "not running" (exit 1)
#   scripts/localstack.sh endpoint   print http://127.0.0.1:PORT
#   scripts/localstack.sh freeze     (maintainers) rewrite scripts/localstack-constraints.txt from the venv
#
# localstack-core needs Python >= 3.13: looked for under $(pyenv root)/versions/3.1[3-9]*, then python3.13,
# python3.14 on PATH ($KECS_LOCALSTACK_PYTHON overrides); without one, `start` fails and says so.
# KECS_AWS_EMULATOR=moto is the explicit opt-in for moto's server instead (`moto[server]`, same Secrets
# Manager/SSM/STS/KMS APIs, in a venv of the ordinary python3); nothing falls back to it on its own.
#
# Installs are keyed by the pinned versions (+ the constraints file + Python minor), guarded by a lock,
# and marked complete by a file written last (an interrupted install is rebuilt). LocalStack runs with
# DNS server, persistence, analytics events and certificate download off, so it needs no network.
# State is in-memory: `stop` forgets every secret and parameter.
#
# Environment:
#   LOCALSTACK_PORT            port on 127.0.0.1 (default 4566)
#   LOCALSTACK_STATE_DIR       pid file, log, LocalStack's volume/filesystem dirs (default <repo>/.state/localstack,
#                              or .state/localstack-PORT for another port)
#   LOCALSTACK_START_TIMEOUT   seconds to wait for health (default 120)
#   XDG_CACHE_HOME             venvs live in ${XDG_CACHE_HOME:-$HOME/.cache}/kecs-secrets/
# Progress and errors go to stderr; `endpoint` and `status` print to stdout.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)

# ---- pinned versions (the cache key is derived from these and from the constraints file) ------------
LOCALSTACK_VERSION=2026.3.0
LOCALSTACK_REQS=("localstack-core[runtime]==$LOCALSTACK_VERSION" 'cbor2<6' 'pyopenssl<24.3' 'cryptography<44' 'service_identity<24.2')
LOCALSTACK_CONSTRAINTS="$here/localstack-constraints.txt"   # full frozen set; used with -c when present
MOTO_VERSION=5.2.5
MOTO_REQS=("moto[server]==$MOTO_VERSION")
SERVICES=secretsmanager,ssm,sts,kms,sqs

port=${LOCALSTACK_PORT:-4566}
# One state dir per port, so emulators on two ports never share a pid file, log or filesystem root.
if [ "$port" = 4566 ]; then default_state=$repo/.state/localstack; else default_state=$repo/.state/localstack-$port; fi
state=${LOCALSTACK_STATE_DIR:-$default_state}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/kecs-secrets
timeout=${LOCALSTACK_START_TIMEOUT:-120}
choice=${KECS_AWS_EMULATOR:-localstack}
pidfile=$state/localstack.pid
kindfile=$state/kind
logfile=$state/localstack.log
endpoint=http://127.0.0.1:$port

log() { echo "localstack.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# ---- python discovery --------------------------------------------------------------------------------
is_py313() { [ -n "$1" ] && "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 13) else 1)' >/dev/null 2>&1; }

find_python313() {
  local c root
  if [ -n "${KECS_LOCALSTACK_PYTHON:-}" ]; then
    is_py313 "$KECS_LOCALSTACK_PYTHON" && { echo "$KECS_LOCALSTACK_PYTHON"; return 0; }
    die "KECS_LOCALSTACK_PYTHON=$KECS_LOCALSTACK_PYTHON is not a Python >= 3.13"
  fi
  root=$(pyenv root 2>/dev/null || true)
  [ -n "$root" ] || root=${PYENV_ROOT:-$HOME/.pyenv}
  # 3.13 (the verified one, newest patch first), then later minors
  local v
  # shellcheck disable=SC2012  # pyenv version dirs have plain names
  for v in $(ls -d "$root"/versions/3.13* 2>/dev/null | sort -V -r) $(ls -d "$root"/versions/3.1[4-9]* 2>/dev/null | sort -V); do
    for c in "$v"/bin/python3.1[3-9]; do
      is_py313 "$c" && { echo "$c"; return 0; }
    done
  done
  for c in python3.13 python3.14 python3.15; do
    c=$(command -v "$c" 2>/dev/null) || continue
    is_py313 "$c" && { echo "$c"; return 0; }   # pyenv shims for versions not selected fail here
  done
  return 1
}

pick_kind() {
  case "$choice" in
    localstack) find_python313 >/dev/null || die "LocalStack needs Python >= 3.13 and none was found (set KECS_LOCALSTACK_PYTHON; KECS_AWS_EMULATOR=moto opts in to moto instead)"; echo localstack ;;
    moto) echo moto ;;
    *) die "KECS_AWS_EMULATOR must be localstack or moto (got '$choice')" ;;
  esac
}

# ---- virtualenvs ---------------------------------------------------------------------------------------
py_minor() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }

venv_dir() {   # venv_dir KIND PYTHON -> path of the venv keyed by pinned versions + python minor
  local kind=$1 py=$2 key
  if [ "$kind" = localstack ]; then
    key=$( { printf '%s\n' "${LOCALSTACK_REQS[@]}"; cat "$LOCALSTACK_CONSTRAINTS" 2>/dev/null || true; py_minor "$py"; } | sha256sum | cut -c1-12)
    echo "$cache/localstack-$LOCALSTACK_VERSION-py$(py_minor "$py")-$key"
  else
    key=$( { printf '%s\n' "${MOTO_REQS[@]}"; py_minor "$py"; } | sha256sum | cut -c1-12)
    echo "$cache/moto-$MOTO_VERSION-py$(py_minor "$py")-$key"
  fi
}

kind_python() {   # the interpreter a venv of KIND is built from
  if [ "$1" = localstack ]; then find_python313; else command -v python3 || die "no python3 on PATH"; fi
}

install_kind() {   # install_kind KIND -> prints the venv dir; reuses it when its marker exists
  local kind=$1 py dir t0
  py=$(kind_python "$kind")
  dir=$(venv_dir "$kind" "$py")
  if [ -f "$dir/.kecs-installed" ]; then echo "$dir"; return 0; fi
  mkdir -p "$cache"
  # One installer at a time (two test sessions may race); the marker is written last, so a venv
  # without it is an interrupted install and is rebuilt from scratch.
  exec 9>"$dir.lock"
  flock 9
  if [ ! -f "$dir/.kecs-installed" ]; then
    t0=$(date +%s)
    log "installing $kind into $dir (python $("$py" -V 2>&1 | cut -d' ' -f2)) ..."
    rm -rf "$dir"
    "$py" -m venv "$dir"
    "$dir/bin/python" -m pip install -q --upgrade pip >&2 || log "warning: could not upgrade pip; going on"
    if [ "$kind" = localstack ]; then
      if [ -f "$LOCALSTACK_CONSTRAINTS" ]; then
        "$dir/bin/python" -m pip install -q -c "$LOCALSTACK_CONSTRAINTS" "${LOCALSTACK_REQS[@]}" >&2
      else
        "$dir/bin/python" -m pip install -q "${LOCALSTACK_REQS[@]}" >&2
      fi
      "$dir/bin/python" -c 'import localstack.runtime.main' || die "localstack does not import in $dir"
    else
      "$dir/bin/python" -m pip install -q "${MOTO_REQS[@]}" >&2
      [ -x "$dir/bin/moto_server" ] || die "moto_server missing in $dir"
    fi
    date -u +%FT%TZ >"$dir/.kecs-installed"
    log "installed $kind in $(( $(date +%s) - t0 )) s, $(du -sh "$dir" | cut -f1)"
  fi
  exec 9>&-
  echo "$dir"
}

# ---- health ----------------------------------------------------------------------------------------------
# healthy -> 0 when the emulator at $endpoint answers and every needed service is available
# (a moto server counts only with the KECS_AWS_EMULATOR=moto opt-in).
healthy() {
  local body
  if body=$(curl -fsS -m 3 "$endpoint/_localstack/health" 2>/dev/null); then
    echo "$body" | SERVICES=$SERVICES python3 -c '
import json, os, sys
s = json.load(sys.stdin).get("services", {})
ok = all(s.get(n) in ("available", "running") for n in os.environ["SERVICES"].split(","))
sys.exit(0 if ok else 1)'
    return
  fi
  [ "$choice" = moto ] && curl -fsS -m 3 -o /dev/null "$endpoint/moto-api/data.json" 2>/dev/null
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

our_pid() {   # prints the pid from the pid file if that process is alive
  local pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "$pid"; return 0; fi
  rm -f "$pidfile"
  return 1
}

# ---- commands ------------------------------------------------------------------------------------------
cmd_install() { local kind; kind=$(pick_kind); install_kind "$kind" >/dev/null; }

cmd_start() {
  local kind dir pid t0 waited=0
  if healthy; then log "already running and healthy at $endpoint"; return 0; fi
  # Two starts at once (two test sessions) must not both launch: the second waits here, then finds it healthy.
  mkdir -p "$state"
  exec 8>"$state/start.lock"
  flock 8
  if healthy; then log "already running and healthy at $endpoint"; return 0; fi
  if pid=$(our_pid); then
    log "pid $pid (from $pidfile) is starting; waiting for it"
  else
    port_in_use && die "port $port is in use by something that is not a healthy LocalStack/moto (set LOCALSTACK_PORT)"
    kind=$(pick_kind)
    dir=$(install_kind "$kind")
    mkdir -p "$state/vol" "$state/root"
    : >"$logfile"
    t0=$(date +%s%3N)
    if [ "$kind" = localstack ]; then
      log "starting LocalStack $LOCALSTACK_VERSION at $endpoint (log: $logfile)"
      # setsid: its own process group, so `stop` can end it and every child by the group id.
      env GATEWAY_LISTEN="127.0.0.1:$port" \
          LOCALSTACK_HOST="127.0.0.1:$port" \
          SERVICES="$SERVICES" \
          LOCALSTACK_VOLUME_DIR="$state/vol" \
          FILESYSTEM_ROOT="$state/root" \
          PERSISTENCE=0 \
          DNS_ADDRESS=0 \
          SKIP_SSL_CERT_DOWNLOAD=1 \
          DISABLE_EVENTS=1 \
          OUTBOUND_HTTP_PROXY= OUTBOUND_HTTPS_PROXY= \
          setsid "$dir/bin/python" -m localstack.runtime.main </dev/null >>"$logfile" 2>&1 8>&- 9>&- &
    else
      log "KECS_AWS_EMULATOR=moto: starting moto_server $MOTO_VERSION at $endpoint (log: $logfile)"
      # LocalStack's account id, so ARNs look the same under both emulators.
      MOTO_ACCOUNT_ID=000000000000 setsid "$dir/bin/moto_server" -H 127.0.0.1 -p "$port" </dev/null >>"$logfile" 2>&1 8>&- 9>&- &
    fi
    pid=$!
    echo "$pid" >"$pidfile"
    echo "$kind" >"$kindfile"
  fi
  t0=${t0:-$(date +%s%3N)}
  while ! healthy; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$pidfile"
      log "the emulator (pid $pid) exited before it was healthy; last lines of $logfile:"
      tail -n 40 "$logfile" >&2 || true
      exit 1
    fi
    if [ "$waited" -ge $(( timeout * 2 )) ]; then
      log "not healthy after ${timeout} s (LOCALSTACK_START_TIMEOUT); last lines of $logfile:"
      tail -n 40 "$logfile" >&2 || true
      cmd_stop || true
      exit 1
    fi
    sleep 0.5
    waited=$(( waited + 1 ))
  done
  log "$(cat "$kindfile" 2>/dev/null || echo emulator) healthy at $endpoint after $(( $(date +%s%3N) - t0 )) ms (pid $pid)"
}

cmd_stop() {
  local pid _
  if ! pid=$(our_pid); then
    rm -f "$pidfile"
    if healthy; then log "something answers at $endpoint but was not started by this script ($pidfile); left alone"
    else log "not running"; fi
    return 0
  fi
  log "stopping pid $pid (process group)"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  if kill -0 "$pid" 2>/dev/null || pgrep -g "$pid" >/dev/null 2>&1; then
    log "still alive after 10 s; sending SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  log "stopped"
}

cmd_status() {
  local pid kind
  kind=$(cat "$kindfile" 2>/dev/null || echo unknown)
  if healthy; then
    if pid=$(our_pid); then echo "running ($kind, pid $pid) at $endpoint"
    else echo "running at $endpoint (not started by this script)"; fi
    return 0
  fi
  if pid=$(our_pid); then echo "starting or unhealthy ($kind, pid $pid) at $endpoint"; return 1; fi
  echo "not running ($endpoint)"
  return 1
}

cmd_freeze() {
  local dir
  dir=$(install_kind localstack)
  {
    echo "# Frozen working set for localstack-core $LOCALSTACK_VERSION (pip freeze of its venv; Python $(py_minor "$dir/bin/python"))."
    echo "# Regenerate: rm this file; scripts/localstack.sh freeze. Used by scripts/localstack.sh as pip -c."
    "$dir/bin/python" -m pip freeze --all --exclude-editable | grep -v -E '^(pip|setuptools|wheel)=='
  } >"$LOCALSTACK_CONSTRAINTS.tmp"
  mv "$LOCALSTACK_CONSTRAINTS.tmp" "$LOCALSTACK_CONSTRAINTS"
  log "wrote $LOCALSTACK_CONSTRAINTS"
}

case "${1:-}" in
  install)  cmd_install ;;
  start)    cmd_start ;;
  stop)     cmd_stop ;;
  status)   cmd_status ;;
  endpoint) echo "$endpoint" ;;
  freeze)   cmd_freeze ;;
  *) echo "usage: $0 install|start|stop|status|endpoint|freeze" >&2; exit 2 ;;
esac
