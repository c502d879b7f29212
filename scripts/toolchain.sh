#!/usr/bin/env bash
# Builds (or reuses from the cache) every toolchain component from Go modules and prints a PATH fragment.
#   scripts/toolchain.sh            build what is missing, print "dir1:dir2" (the bin dirs) on stdout
#   scripts/toolchain.sh pulumi     only the Pulumi CLI, Python language host + helpers, Kubernetes provider
#   scripts/toolchain.sh kube       only etcd, kube-apiserver, kube-controller-manager
# Pinned versions: toolchain/versions.env. Cache: ${XDG_CACHE_HOME:-$HOME/.cache}/kecs-secrets/toolchain.
# Progress goes to stderr; stdout is only the PATH fragment, so: PATH="$(scripts/toolchain.sh):$PATH".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
what=${1:-all}
dirs=()
case "$what" in
  all)    dirs+=("$("$here/toolchain/pulumi.sh")") ; dirs+=("$("$here/toolchain/kube.sh")") ;;
  pulumi) dirs+=("$("$here/toolchain/pulumi.sh")") ;;
  kube)   dirs+=("$("$here/toolchain/kube.sh")") ;;
  *) echo "usage: $0 [all|pulumi|kube]" >&2; exit 2 ;;
esac
(IFS=:; echo "${dirs[*]}")
