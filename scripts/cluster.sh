#!/usr/bin/env bash
# A local Kubernetes control plane (etcd + kube-apiserver + kube-controller-manager) on loopback, for tests.
# No kubelet, no scheduler: objects (namespaces, secrets, configmaps, RBAC, ...) work; pods never run.
#
#   scripts/cluster.sh start [DIR]        start (or keep) the control plane; state, logs, pid files in DIR
#   scripts/cluster.sh stop [DIR]         stop it (state is kept; start again resumes it)
#   scripts/cluster.sh status [DIR]       show processes and readiness (exit 0 ready, 3 stopped, 1 degraded)
#   scripts/cluster.sh kubeconfig [DIR]   print the path of the admin kubeconfig (DIR/kubeconfig)
#   scripts/cluster.sh token [DIR]        print the static bearer token the API server also accepts (user
#                                         kecs-token-admin, group system:masters; DIR/pki/tokens.csv), for tests of
#                                         kubeconfigs with token or exec-plugin users
#   scripts/cluster.sh ecs-namespace CLUSTER REGION [DIR]
#                                         create namespace <cluster>-<region> with the KECS labels (idempotent)
#   scripts/cluster.sh system-namespace [DIR]   create namespace kecs-system (idempotent)
#   scripts/cluster.sh api METHOD PATH [JSON-BODY] [DIR]
#                                         call the API as the admin (curl with the admin client cert), print the
#                                         body; fails on HTTP >= 400. PATCH bodies are JSON merge patches
#                                         (KECS_CONTENT_TYPE overrides the Content-Type)
#
# DIR defaults to $KECS_CLUSTER_DIR or <repo>/.state/cluster (gitignored). Ports (127.0.0.1 only), override
# with the environment at start; they are recorded in DIR/cluster.env for the other subcommands:
#   KECS_APISERVER_PORT=16443  KECS_ETCD_CLIENT_PORT=12379  KECS_ETCD_PEER_PORT=12380  KECS_KCM_PORT=16257
# Binaries: $KECS_KUBE_BIN if set, else scripts/toolchain/kube.sh (builds or reuses the pinned versions from the
# cache or PATH), else etcd/kube-apiserver/kube-controller-manager from PATH.
# Authentication: client certificates (DIR/pki: CA, serving cert for 127.0.0.1/localhost, admin cert in
# O=system:masters, service-account signing keys; made with openssl), bearer tokens of service accounts, and
# one static token (--token-auth-file DIR/pki/tokens.csv, random, made once). Authorization: Node,RBAC.
# No kubectl is needed: the api subcommand and the KECS namespace helpers use curl.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

log() { echo "cluster.sh: $*" >&2; }
die() { echo "cluster.sh: error: $*" >&2; exit 1; }

components=(etcd kube-apiserver kube-controller-manager)
timeout=${KECS_CLUSTER_TIMEOUT:-120}
service_cidr=${KECS_SERVICE_CIDR:-10.96.0.0/16}
service_ip=${KECS_SERVICE_IP:-10.96.0.1}
sa_issuer=${KECS_SA_ISSUER:-https://kubernetes.default.svc.cluster.local}
# Controllers: namespace deletion, garbage collection, default ServiceAccounts and the kube-root-ca.crt
# ConfigMap in every namespace, aggregated ClusterRoles (admin/edit/view), as in a real cluster.
# No service-account token controller (no token Secrets; bound tokens come from the TokenRequest API).
kcm_controllers=${KECS_KCM_CONTROLLERS:-namespace-controller,garbage-collector-controller,serviceaccount-controller,root-ca-certificate-publisher-controller,clusterrole-aggregation-controller}

set_dir() { # set_dir [DIR]: resolve the state dir (absolute; only start creates it) and load its recorded ports
  local d=${1:-${KECS_CLUSTER_DIR:-$root/.state/cluster}}
  [[ $cmd == start ]] && mkdir -p "$d"
  dir=$(realpath -m "$d")
  pki=$dir/pki
  if [[ -f $dir/cluster.env ]]; then
    # shellcheck disable=SC1091
    . "$dir/cluster.env"
  fi
  apiserver_port=${KECS_APISERVER_PORT:-${apiserver_port:-16443}}
  etcd_client_port=${KECS_ETCD_CLIENT_PORT:-${etcd_client_port:-12379}}
  etcd_peer_port=${KECS_ETCD_PEER_PORT:-${etcd_peer_port:-12380}}
  kcm_port=${KECS_KCM_PORT:-${kcm_port:-16257}}
  server=https://127.0.0.1:$apiserver_port
}

# ---------------------------------------------------------------------------------------------- processes
pid_of() { # pid_of NAME: prints the pid if NAME runs from this DIR
  local f=$dir/$1.pid pid
  [[ -f $f ]] || return 1
  pid=$(cat "$f")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  # Guard against pid reuse: the process must be NAME and must have been started for this DIR.
  tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n 1 | grep -q "/$1\$" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$dir/" || return 1
  echo "$pid"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

launch() { # launch NAME BINARY ARGS...: run in the background in its own session, log and pid in DIR
  local name=$1; shift
  : >>"$dir/$name.log"
  echo "---- $(date -u +%FT%TZ) start" >>"$dir/$name.log"
  # shellcheck disable=SC2016 # $$ and $@ belong to the inner sh
  setsid sh -c 'echo $$ >"$0"; exec "$@"' "$dir/$name.pid" "$@" </dev/null >>"$dir/$name.log" 2>&1 &
  local i
  for i in $(seq 50); do [[ -s $dir/$name.pid ]] && break; sleep 0.1; done
}

tail_logs() {
  local c
  for c in "${components[@]}"; do
    [[ -f $dir/$c.log ]] || continue
    echo "----- last lines of $dir/$c.log" >&2
    tail -n "${1:-25}" "$dir/$c.log" >&2
  done
}

find_bins() {
  local b d
  if [[ -n ${KECS_KUBE_BIN:-} ]]; then
    bin=$KECS_KUBE_BIN
  elif d=$("$here/toolchain/kube.sh"); then
    bin=$d
  else
    log "scripts/toolchain/kube.sh failed; trying the binaries on PATH"
    d=$(command -v kube-apiserver) || die "no kube-apiserver: build one with scripts/toolchain/kube.sh"
    bin=$(dirname "$d")
  fi
  for b in "${components[@]}"; do
    [[ -x $bin/$b ]] || die "$bin/$b is missing or not executable"
  done
}

# ---------------------------------------------------------------------------------------------- PKI
gen_pki() {
  [[ -f $pki/admin.crt && -f $pki/apiserver.crt && -f $pki/sa.key ]] && return 0
  command -v openssl >/dev/null || die "openssl is needed to make the certificates"
  log "generating certificates in $pki"
  rm -rf "$pki"
  mkdir -p "$pki" && chmod 700 "$pki"
  (
    cd "$pki"
    exec 2>openssl.log
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -keyout ca.key -out ca.crt -subj "/CN=kecs-secrets-local-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    cert() { # cert NAME SUBJECT EXTENSIONS
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2"
      printf '%s\n' "$3" >"$1.ext"
      openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -out "$1.crt" -extfile "$1.ext"
      rm -f "$1.csr" "$1.ext"
    }
    cert apiserver "/CN=kube-apiserver" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:$service_ip,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    cert admin "/O=system:masters/CN=kecs-admin" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key
    openssl pkey -in sa.key -pubout -out sa.pub
    chmod 600 ./*.key
  ) || { cat "$pki/openssl.log" >&2 2>/dev/null; die "openssl failed (see above)"; }
}

gen_token() { # the static token file for --token-auth-file (token,user,uid,"groups")
  [[ -s $pki/tokens.csv ]] && return 0
  command -v openssl >/dev/null || die "openssl is needed to make the static token"
  (umask 077 && printf '%s,kecs-token-admin,kecs-token-admin,"system:masters"\n' "$(openssl rand -hex 24)" >"$pki/tokens.csv")
}

write_kubeconfig() {
  local tmp=$dir/.kubeconfig.tmp
  cat >"$tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: kecs-local
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 <"$pki/ca.crt")
users:
- name: kecs-admin
  user:
    client-certificate-data: $(base64 -w0 <"$pki/admin.crt")
    client-key-data: $(base64 -w0 <"$pki/admin.key")
contexts:
- name: kecs-local
  context:
    cluster: kecs-local
    user: kecs-admin
current-context: kecs-local
EOF
  chmod 600 "$tmp"
  mv -f "$tmp" "$dir/kubeconfig"
}

# ---------------------------------------------------------------------------------------------- API
api_curl() { # api_curl ARGS... : curl as the admin against the API server
  curl -sS --max-time 30 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "$@"
}

ready() { [[ $(api_curl --max-time 5 "$server/readyz" 2>/dev/null) == ok ]]; }

etcd_healthy() { [[ $(curl -s --max-time 2 "http://127.0.0.1:$etcd_client_port/health" 2>/dev/null) == *'"health":"true"'* ]]; }

kcm_healthy() { [[ $(curl -sk --max-time 5 "https://127.0.0.1:$kcm_port/healthz" 2>/dev/null) == ok ]]; }

api() { # api METHOD PATH [BODY] [CONTENT-TYPE]: prints the body; fails on HTTP >= 400 (body on stderr)
  local method=$1 path=$2 body=${3:-} ctype=${4:-application/json} out code
  [[ -f $pki/admin.crt ]] || die "no cluster in $dir (run: $0 start $dir)"
  local -a args=(-X "$method" -H "Accept: application/json" -w '\n%{http_code}')
  [[ -n $body ]] && args+=(-H "Content-Type: $ctype" --data-binary "$body")
  out=$(api_curl "${args[@]}" "$server$path") || die "cannot reach the API server at $server (is it started? $0 status)"
  code=${out##*$'\n'}
  out=${out%$'\n'*}
  if ((code >= 400)); then
    echo "$out" >&2
    return 22
  fi
  echo "$out"
}

ensure_namespace() { # ensure_namespace NAME LABELS-JSON
  local name=$1 labels=$2 body err rc=0
  [[ $name =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ && ${#name} -le 63 ]] ||
    die "'$name' is not a valid namespace name (lowercase letters, digits and '-', at most 63 characters)"
  body="{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$name\",\"labels\":$labels}}"
  err=$(api POST /api/v1/namespaces "$body" 2>&1 >/dev/null) || rc=$?
  if ((rc == 0)); then
    log "namespace $name created"
  elif [[ $err =~ \"reason\":\ *\"AlreadyExists\" ]]; then
    api PATCH "/api/v1/namespaces/$name" "{\"metadata\":{\"labels\":$labels}}" application/merge-patch+json >/dev/null ||
      die "could not label namespace $name"
    log "namespace $name exists; labels ensured"
  else
    echo "$err" >&2
    die "could not create namespace $name"
  fi
  echo "$name"
}

# ---------------------------------------------------------------------------------------------- commands
wait_for() { # wait_for WHAT CHECK COMPONENT...: until CHECK succeeds; fail early if a COMPONENT exits
  local what=$1 check=$2 c t0=$SECONDS
  shift 2
  log "waiting up to ${timeout}s for $what"
  until "$check"; do
    for c in "$@"; do
      pid_of "$c" >/dev/null || { tail_logs 40; die "$c exited (log: $dir/$c.log)"; }
    done
    if ((SECONDS - t0 >= timeout)); then
      tail_logs 40
      api_curl --max-time 5 "$server/readyz?verbose" 2>&1 | grep -v '^\[+\]' >&2 || true
      die "$what not ready after ${timeout}s (logs in $dir)"
    fi
    sleep 0.25
  done
}

start() {
  local all=1 c t_start=$SECONDS
  for c in "${components[@]}"; do pid_of "$c" >/dev/null || all=0; done
  if ((all)) && ready && kcm_healthy; then
    log "already running and ready ($server, kubeconfig $dir/kubeconfig)"
    return 0
  fi
  find_bins
  gen_pki
  gen_token
  printf 'apiserver_port=%s\netcd_client_port=%s\netcd_peer_port=%s\nkcm_port=%s\n' \
    "$apiserver_port" "$etcd_client_port" "$etcd_peer_port" "$kcm_port" >"$dir/cluster.env"
  write_kubeconfig

  if ! pid_of etcd >/dev/null; then
    port_busy "$etcd_client_port" && die "port 127.0.0.1:$etcd_client_port is in use by another process (set KECS_ETCD_CLIENT_PORT)"
    port_busy "$etcd_peer_port" && die "port 127.0.0.1:$etcd_peer_port is in use by another process (set KECS_ETCD_PEER_PORT)"
    mkdir -p "$dir/etcd" && chmod 700 "$dir/etcd"
    log "starting etcd on 127.0.0.1:$etcd_client_port"
    launch etcd "$bin/etcd" --name=kecs --data-dir="$dir/etcd" \
      --listen-client-urls="http://127.0.0.1:$etcd_client_port" --advertise-client-urls="http://127.0.0.1:$etcd_client_port" \
      --listen-peer-urls="http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer_port" \
      --initial-cluster="kecs=http://127.0.0.1:$etcd_peer_port" --initial-cluster-state=new \
      --log-level=warn --quota-backend-bytes=$((2 * 1024 * 1024 * 1024))
    wait_for "etcd on 127.0.0.1:$etcd_client_port" etcd_healthy etcd
  fi

  if ! pid_of kube-apiserver >/dev/null; then
    port_busy "$apiserver_port" && die "port 127.0.0.1:$apiserver_port is in use by another process (set KECS_APISERVER_PORT)"
    log "starting kube-apiserver on $server"
    launch kube-apiserver "$bin/kube-apiserver" \
      --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$apiserver_port" \
      --etcd-servers="http://127.0.0.1:$etcd_client_port" \
      --cert-dir="$pki" --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
      --client-ca-file="$pki/ca.crt" --token-auth-file="$pki/tokens.csv" --authorization-mode=Node,RBAC \
      --service-account-issuer="$sa_issuer" --service-account-key-file="$pki/sa.pub" \
      --service-account-signing-key-file="$pki/sa.key" \
      --service-cluster-ip-range="$service_cidr" --endpoint-reconciler-type=none \
      --profiling=false --v="${KECS_APISERVER_V:-0}"
  fi
  # The controller manager reads its authentication config from the API server at startup and exits if
  # it cannot, so it starts only once the API server is ready.
  wait_for "$server/readyz" ready etcd kube-apiserver

  if ! pid_of kube-controller-manager >/dev/null; then
    port_busy "$kcm_port" && die "port 127.0.0.1:$kcm_port is in use by another process (set KECS_KCM_PORT)"
    log "starting kube-controller-manager (controllers: $kcm_controllers)"
    launch kube-controller-manager "$bin/kube-controller-manager" \
      --kubeconfig="$dir/kubeconfig" --authentication-kubeconfig="$dir/kubeconfig" \
      --authorization-kubeconfig="$dir/kubeconfig" \
      --bind-address=127.0.0.1 --secure-port="$kcm_port" --cert-dir="$dir/kcm-certs" \
      --controllers="$kcm_controllers" --leader-elect=false --use-service-account-credentials=false \
      --root-ca-file="$pki/ca.crt" --service-cluster-ip-range="$service_cidr" \
      --profiling=false --v="${KECS_KCM_V:-0}"
  fi

  wait_for "the controller manager" kcm_healthy "${components[@]}"
  log "ready in $((SECONDS - t_start))s: $server, kubeconfig $dir/kubeconfig"
}

stop_group() { # stop_group NAME...: SIGTERM them together, wait up to 30s, then SIGKILL what is left
  local c pid i t0=$SECONDS
  local -a names=() pids=()
  for c in "$@"; do
    if pid=$(pid_of "$c"); then
      names+=("$c") pids+=("$pid")
      kill -TERM "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/$c.pid"
  done
  ((${#pids[@]})) || return 0
  for i in $(seq 300); do kill -0 "${pids[@]}" 2>/dev/null || break; sleep 0.1; done
  for i in "${!pids[@]}"; do
    # kill -0 with several pids succeeds if any is alive; check one by one
    if kill -0 "${pids[i]}" 2>/dev/null; then
      sleep 0.5
      if kill -0 "${pids[i]}" 2>/dev/null; then
        log "${names[i]} (pid ${pids[i]}) did not exit 30s after SIGTERM; killing it"
        kill -KILL "${pids[i]}" 2>/dev/null || true
        continue
      fi
    fi
    log "stopped ${names[i]} (pid ${pids[i]}) in $((SECONDS - t0))s"
  done
  stopped=1
}

stop() {
  local stopped=0
  # The API server and the controller manager together, then etcd under them.
  stop_group kube-controller-manager kube-apiserver
  stop_group etcd
  if ((stopped)); then log "stopped (state kept in $dir)"; else log "nothing running in $dir"; fi
}

status() {
  local c pid n=0
  for c in "${components[@]}"; do
    if pid=$(pid_of "$c"); then
      echo "$c: running (pid $pid, rss $(awk '/VmRSS/{print $2, $3}' "/proc/$pid/status"))"
      n=$((n + 1))
    else
      echo "$c: stopped"
    fi
  done
  if ((n == 0)); then echo "cluster: stopped ($dir)"; return 3; fi
  if ((n == ${#components[@]})) && ready && kcm_healthy; then
    echo "cluster: ready ($server, kubeconfig $dir/kubeconfig)"
    return 0
  fi
  echo "cluster: degraded ($dir)"
  return 1
}

cmd=${1:-}
[[ $# -gt 0 ]] && shift
case "$cmd" in
  start) set_dir "${1:-}"; start ;;
  stop) set_dir "${1:-}"; stop ;;
  status) set_dir "${1:-}"; status ;;
  kubeconfig)
    set_dir "${1:-}"
    [[ -f $dir/kubeconfig ]] || die "no kubeconfig in $dir (run: $0 start${1:+ $1})"
    echo "$dir/kubeconfig" ;;
  token)
    set_dir "${1:-}"
    [[ -s $pki/tokens.csv ]] || die "no static token in $dir (run: $0 start${1:+ $1})"
    cut -d, -f1 "$pki/tokens.csv" | head -n 1 ;;
  ecs-namespace)
    [[ $# -ge 2 ]] || die "usage: $0 ecs-namespace CLUSTER REGION [DIR]"
    set_dir "${3:-}"
    ensure_namespace "$1-$2" \
      "{\"kecs.dev/managed\":\"true\",\"kecs.dev/cluster\":\"$1\",\"kecs.dev/region\":\"$2\",\"kecs.dev/type\":\"ecs-cluster\"}" ;;
  system-namespace)
    set_dir "${1:-}"
    ensure_namespace kecs-system '{}' ;;
  api)
    [[ $# -ge 2 ]] || die "usage: $0 api METHOD PATH [JSON-BODY] [DIR]"
    set_dir "${4:-}"
    ctype=${KECS_CONTENT_TYPE:-application/json}
    [[ $1 == PATCH && -z ${KECS_CONTENT_TYPE:-} ]] && ctype=application/merge-patch+json
    api "$1" "$2" "${3:-}" "$ctype" ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2 ;;
esac
