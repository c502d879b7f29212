#!/usr/bin/env bash
# Installs the Pulumi plugins built here from Go modules into a PULUMI_HOME, the way Pulumi installs any
# plugin (`pulumi plugin install resource kubernetes <version> --file <binary>`), so that the engine takes
# them from its plugin cache instead of PATH (where every run warns "using pulumi-resource-kubernetes from
# $PATH").
#
#   scripts/plugins.sh install [PULUMI_HOME]   install what is missing or differs (default: $PULUMI_HOME)
#   scripts/plugins.sh version                 print the Kubernetes plugin version the program asks for
#
# Runs then set PULUMI_IGNORE_AMBIENT_PLUGINS=true, so that the engine does not look on PATH for provider
# plugins at all. The Python language host and the dynamic-provider launcher (pulumi-resource-pulumi-python)
# are plugins Pulumi bundles with its CLI: the engine finds them next to the `pulumi` binary it runs, with
# no warning, so they need no install.
#
# Version: the engine loads a provider plugin of exactly the version the program's SDK asks for. The
# pinned Python SDK pulumi-kubernetes (requirements.lock) asks for its own version (4.24.1). The provider
# built here is PULUMI_KUBERNETES_PROVIDER_VERSION of toolchain/versions.env (4.25.0-dev..., a commit just
# before 4.25.0), newer than that, which the engine accepts (it warns only when a plugin reports a version
# below the one asked for); so it is installed under the version the SDK asks for, and reports its own.
#
# Idempotent: a plugin whose installed binary is identical to the toolchain's (cmp) is left alone.
# Progress goes to stderr; stdout stays empty (install) or is the version (version).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

log() { echo "plugins.sh: $*" >&2; }
die() { echo "plugins.sh: error: $*" >&2; exit 1; }

requested_version() { # the plugin version the pinned pulumi-kubernetes SDK asks the engine for
  local v
  v=$(sed -n 's/^pulumi[-_]kubernetes==\([^[:space:];]*\).*/\1/p' "$root/requirements.lock")
  [[ -n $v ]] || die "requirements.lock pins no pulumi-kubernetes (pulumi_kubernetes==VERSION)"
  echo "$v"
}

built_version() { # the version the toolchain's provider reports (toolchain/versions.env)
  sed -n 's/^PULUMI_KUBERNETES_PROVIDER_VERSION=//p' "$root/toolchain/versions.env" | tail -n 1
}

install() {
  local home=${1:-${PULUMI_HOME:-}} bin version have
  [[ -n $home ]] || die "no PULUMI_HOME (give it as an argument or in the environment)"
  local err
  err=$(mktemp)
  # The toolchain's progress is shown only if it fails (a no-op run says "up to date").
  bin=$("$root/scripts/toolchain.sh" pulumi 2>"$err" | cut -d: -f1) || { cat "$err" >&2; rm -f "$err"; die "scripts/toolchain.sh pulumi failed"; }
  rm -f "$err"
  [[ -x $bin/pulumi && -x $bin/pulumi-resource-kubernetes ]] || die "$bin lacks pulumi or pulumi-resource-kubernetes"
  version=$(requested_version)
  have=$home/plugins/resource-kubernetes-v$version/pulumi-resource-kubernetes
  if [[ -x $have ]] && cmp -s "$have" "$bin/pulumi-resource-kubernetes"; then
    return 0
  fi
  mkdir -p "$home"
  log "installing pulumi-resource-kubernetes $(built_version) as plugin kubernetes $version into $home"
  # The CLI's own plugin install (no download: --file); --reinstall replaces a binary of an older toolchain.
  PULUMI_HOME=$home PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true \
    "$bin/pulumi" plugin install resource kubernetes "$version" --file "$bin/pulumi-resource-kubernetes" --reinstall \
    --non-interactive >&2 || die "pulumi plugin install resource kubernetes $version failed"
  cmp -s "$have" "$bin/pulumi-resource-kubernetes" || die "after the install, $have is not the toolchain's provider"
}

case "${1:-}" in
  install) install "${2:-}" ;;
  version) requested_version ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
