#!/usr/bin/env python3
"""A short human summary of what the stack made in the cluster, read from the Kubernetes API.

    .venv/bin/python -m scripts.summary [--kubeconfig PATH] [--master-namespace kecs-system]

Lists masters, replicas per namespace and reader ServiceAccounts: the objects that carry the
``kecs-secrets.io/stack`` annotation (made by a stack of this project, whichever); among them, a Secret or
ConfigMap labelled ``kecs.io/replicated-from`` is a replica, one in the master namespace a master.
Prints names, kinds, sources and data keys; never a value.
"""

from __future__ import annotations

import argparse
import os
import sys

from kecs_secrets.errors import KecsSecretsError
from kecs_secrets.model import ANNOTATION_SOURCE_NAME, ANNOTATION_STACK, LABEL_REPLICATED_FROM, LABEL_SOURCE
from providers.kube import KubeReader

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG", os.path.join(ROOT, ".state/cluster/kubeconfig")))
    parser.add_argument("--master-namespace", default="kecs-system")
    args = parser.parse_args()
    try:
        kube = KubeReader(args.kubeconfig)
        namespaces = sorted(kube.namespaces())
        masters, replicas, readers = [], {}, []
        for ns in namespaces:
            for kind in ("Secret", "ConfigMap"):
                for obj in kube.objects(kind, ns):
                    meta = obj["metadata"]
                    if ANNOTATION_STACK not in (meta.get("annotations") or {}):
                        continue
                    keys = sorted((obj.get("data") or {}) | (obj.get("binaryData") or {}))
                    row = (kind, meta["name"], meta.get("labels", {}).get(LABEL_SOURCE, "?"),
                           meta["annotations"].get(ANNOTATION_SOURCE_NAME, "?"), keys)
                    if LABEL_REPLICATED_FROM in (meta.get("labels") or {}):
                        replicas.setdefault(ns, []).append(row)
                    elif ns == args.master_namespace:
                        masters.append(row)
            for sa in kube.objects("ServiceAccount", ns):
                if ANNOTATION_STACK in (sa["metadata"].get("annotations") or {}):
                    readers.append(f"{ns}/{sa['metadata']['name']}")
    except KecsSecretsError as err:
        print(f"{type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print(f"{len(masters)} masters in {args.master_namespace}:")
    for kind, name, source, source_name, keys in masters:
        print(f"  {kind:9} {name:45} {source:14} {source_name[:60]!r} keys={','.join(keys)}")
    total = sum(len(rows) for rows in replicas.values())
    print(f"{total} replicas in {len(replicas)} namespaces:")
    for ns, rows in replicas.items():
        print(f"  {ns}: " + ", ".join(f"{name} ({kind})" for kind, name, *_ in rows))
    print(f"{len(readers)} reader ServiceAccounts: {', '.join(readers)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
