#!/usr/bin/env bash
# Builds the Pulumi engine pieces a Python program of this project needs, from Go modules only:
#   pulumi                         the CLI        (github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
#   pulumi-language-python         Python language host (our own, toolchain/pulumi/cmd/pulumi-language-python)
#   pulumi-language-python-exec    } helper scripts copied from the github.com/pulumi/pulumi/sdk/v3
#   pulumi-resource-pulumi-python  } module zip (the exec shim; the dynamic-provider launcher)
#   pulumi-resource-kubernetes     Kubernetes provider (github.com/pulumi/pulumi-kubernetes/provider/v4)
# into ${XDG_CACHE_HOME:-$HOME/.cache}/kecs-secrets/toolchain/pulumi-<key>/bin, where <key> hashes the
# pinned versions (toolchain/versions.env), the wrapper modules (toolchain/pulumi, toolchain/pulumi-kubernetes),
# this script and the Go version. A complete bin dir is reused as is; a new one is built in a temporary
# directory and renamed into place, so an interrupted build never looks complete.
#
# stdout: only the absolute bin dir. Progress and errors: stderr. Network: the Go module proxy only.
# Usually called through scripts/toolchain.sh: PATH="$(scripts/toolchain.sh pulumi):$PATH".
# Use it with: PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true and a
# PULUMI_BACKEND_URL=file://... backend; plugins are found on PATH (do not set PULUMI_IGNORE_AMBIENT_PLUGINS).
set -euo pipefail

log() { printf 'toolchain/pulumi: %s\n' "$*" >&2; }
die() { printf 'toolchain/pulumi: ERROR: %s\n' "$*" >&2; exit 1; }

script=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
root=$(cd "$(dirname "$script")/../.." && pwd)
versions_file=$root/toolchain/versions.env
cli_mod=$root/toolchain/pulumi
k8s_mod=$root/toolchain/pulumi-kubernetes

command -v go >/dev/null || die "go is not on PATH (Go >= 1.26 is needed)"
command -v sha256sum >/dev/null || die "sha256sum is not on PATH"
[[ -f $versions_file ]] || die "missing $versions_file"

# --- pinned versions --------------------------------------------------------------------------------
pin() { # pin NAME: the value of NAME=... in versions.env (last one wins), or die
  local v
  v=$(sed -n "s/^$1=//p" "$versions_file" | tail -n1 | tr -d '[:space:]')
  [[ -n $v ]] || die "$versions_file has no $1=..."
  printf '%s' "$v"
}
CLI_VERSION=$(pin PULUMI_CLI_VERSION)
K8S_MODULE_VERSION=$(pin PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION)
K8S_SDK_MODULE_VERSION=$(pin PULUMI_KUBERNETES_SDK_MODULE_VERSION)
K8S_VERSION=$(pin PULUMI_KUBERNETES_PROVIDER_VERSION)

# The wrapper go.mod files are what the build really uses: they must agree with versions.env.
requires() { # requires GOMOD MODULE VERSION
  grep -Eq "^[[:space:]]*(require[[:space:]]+)?$2[[:space:]]+$3([[:space:]]|$)" "$1" ||
    die "$1 does not require $2 $3 (toolchain/versions.env says so): update one of them"
}
requires "$cli_mod/go.mod" github.com/pulumi/pulumi/pkg/v3 "$CLI_VERSION"
requires "$cli_mod/go.mod" github.com/pulumi/pulumi/sdk/v3 "$CLI_VERSION"
requires "$k8s_mod/go.mod" github.com/pulumi/pulumi-kubernetes/provider/v4 "$K8S_MODULE_VERSION"
requires "$k8s_mod/go.mod" github.com/pulumi/pulumi-kubernetes/sdk/v4 "$K8S_SDK_MODULE_VERSION"

# Only the Go module proxy, and nothing may change go.mod/go.sum (they are complete and committed).
export GOPROXY=https://proxy.golang.org GONOPROXY='' GOPRIVATE='' GONOSUMDB='' GOFLAGS=-mod=readonly GOWORK=off
export CGO_ENABLED=0

# --- cache key ----------------------------------------------------------------------------------------
wrapper_files() { # the inputs of the build, in a stable order (generated *-embed.json excluded)
  (cd "$root" && find toolchain/pulumi toolchain/pulumi-kubernetes -type f \
    \( -name go.mod -o -name go.sum -o -name '*.go' \) | LC_ALL=C sort)
}
key=$(
  {
    grep -E '^PULUMI_[A-Z_]*=' "$versions_file" | LC_ALL=C sort
    go env GOVERSION GOOS GOARCH
    while IFS= read -r f; do printf '%s\n' "$f"; cat "$root/$f"; done < <(wrapper_files)
    cat "$script"
  } | sha256sum | cut -c1-16
)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/kecs-secrets/toolchain
out=$cache/pulumi-$key
bin=$out/bin
expected=(pulumi pulumi-language-python pulumi-language-python-exec pulumi-resource-pulumi-python
  pulumi-resource-kubernetes)

complete() {
  [[ -f $out/.complete ]] || return 1
  local f
  for f in "${expected[@]}"; do [[ -x $bin/$f ]] || return 1; done
}
if complete; then
  log "up to date: $bin"
  printf '%s\n' "$bin"
  exit 0
fi

mkdir -p "$cache"
# One build per key at a time; a second caller waits and then finds the result.
if command -v flock >/dev/null; then
  exec 9>"$cache/pulumi-$key.lock"
  flock 9
  if complete; then
    log "built meanwhile by another process: $bin"
    printf '%s\n' "$bin"
    exit 0
  fi
fi
rm -rf "$cache/.pulumi-$key.tmp."* # leftovers of interrupted builds (we hold the lock)
tmp=$(mktemp -d "$cache/.pulumi-$key.tmp.XXXXXX")
child=
trap 'rm -rf "$tmp"' EXIT
trap '[[ -z $child ]] || kill "$child" 2>/dev/null; exit 130' INT TERM
run() { # run the command in the background and wait, so that a signal stops it at once
  "$@" &
  child=$!
  local rc=0
  wait "$child" || rc=$?
  child=
  return "$rc"
}
mkdir -p "$tmp/bin" "$tmp/src"
# Build from a private copy of the wrapper modules: the generated embed files stay out of the work tree.
(cd "$root" && wrapper_files | while IFS= read -r f; do
  mkdir -p "$tmp/src/$(dirname "$f")" && cp "$f" "$tmp/src/$f"
done)
src_cli=$tmp/src/toolchain/pulumi
src_k8s=$tmp/src/toolchain/pulumi-kubernetes

log "building into $out ($(go env GOVERSION), GOPROXY=$GOPROXY)"
started=$SECONDS
step() { log "$1 ($((SECONDS - started))s elapsed)"; }

moddir() { # moddir WRAPPER_DIR MODULE: the module's directory in the module cache (downloads if needed)
  go -C "$1" mod download -json "$2" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p'
}

# 1. Pulumi CLI. Tags as in upstream's release build: pure-Go user lookup, no gRPC tracing.
pulumi_ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$CLI_VERSION"
step "go build pulumi $CLI_VERSION"
run go -C "$src_cli" build -trimpath -tags osusergo,grpcnotrace -ldflags "$pulumi_ldflags" \
  -o "$tmp/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi || die "building the Pulumi CLI failed"

# 2. Python language host (own code) and the helper scripts from the sdk/v3 module zip.
step "go build pulumi-language-python (sdk/v3 $CLI_VERSION)"
run go -C "$src_cli" build -trimpath -tags osusergo,grpcnotrace -ldflags "$pulumi_ldflags" \
  -o "$tmp/bin/pulumi-language-python" ./cmd/pulumi-language-python ||
  die "building the Python language host failed"
sdk_dir=$(moddir "$src_cli" "github.com/pulumi/pulumi/sdk/v3@$CLI_VERSION")
[[ -d $sdk_dir ]] || die "github.com/pulumi/pulumi/sdk/v3@$CLI_VERSION not found in the module cache"
for f in python/cmd/pulumi-language-python-exec python/dist/pulumi-resource-pulumi-python; do
  [[ -f $sdk_dir/$f ]] || die "$f is missing from github.com/pulumi/pulumi/sdk/v3@$CLI_VERSION"
  cp "$sdk_dir/$f" "$tmp/bin/" # the module cache is read-only and has no exec bits
  chmod 0755 "$tmp/bin/$(basename "$f")"
done
# Older SDKs shipped a launcher for Python policy packs; since the engine runs them through the
# language host (RunPlugin) it is gone from the zip. Copy it only if this version still has it.
if [[ -f $sdk_dir/python/dist/pulumi-analyzer-policy-python ]]; then
  cp "$sdk_dir/python/dist/pulumi-analyzer-policy-python" "$tmp/bin/"
  chmod 0755 "$tmp/bin/pulumi-analyzer-policy-python"
fi

# 3. Kubernetes provider: embed the schema shipped in the module zip, with our version in it.
step "go build pulumi-resource-kubernetes $K8S_VERSION (provider/v4 $K8S_MODULE_VERSION)"
k8s_dir=$(moddir "$src_k8s" "github.com/pulumi/pulumi-kubernetes/provider/v4@$K8S_MODULE_VERSION")
[[ -f $k8s_dir/cmd/pulumi-resource-kubernetes/schema.json ]] ||
  die "no cmd/pulumi-resource-kubernetes/schema.json in provider/v4@$K8S_MODULE_VERSION"
run go -C "$src_k8s" run ./cmd/genembed -src "$k8s_dir/cmd/pulumi-resource-kubernetes" \
  -out ./cmd/pulumi-resource-kubernetes -version "$K8S_VERSION" || die "preparing the provider schema failed"
run go -C "$src_k8s" build -trimpath -tags osusergo \
  -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_VERSION" \
  -o "$tmp/bin/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes ||
  die "building the Kubernetes provider failed"

# 4. Smoke test and record what was built.
got=$("$tmp/bin/pulumi" version 2>/dev/null) || die "the built pulumi does not run"
[[ $got == "$CLI_VERSION" ]] || die "built pulumi reports '$got', expected $CLI_VERSION"
{
  echo "pulumi=$CLI_VERSION (github.com/pulumi/pulumi/pkg/v3)"
  echo "pulumi-language-python=$CLI_VERSION (kecs-secrets toolchain/pulumi/cmd/pulumi-language-python, sdk/v3 $CLI_VERSION)"
  echo "helper scripts from github.com/pulumi/pulumi/sdk/v3@$CLI_VERSION"
  echo "pulumi-resource-kubernetes=$K8S_VERSION (github.com/pulumi/pulumi-kubernetes/provider/v4@$K8S_MODULE_VERSION)"
  echo "go=$(go env GOVERSION) built=$(date -u +%Y-%m-%dT%H:%M:%SZ) seconds=$((SECONDS - started))"
} >"$tmp/VERSIONS"
rm -rf "$tmp/src"
touch "$tmp/.complete"
rm -rf "$out" # an incomplete directory of the same key (complete ones returned above)
mv -T "$tmp" "$out"
trap - EXIT
step "done: $bin"
printf '%s\n' "$bin"
