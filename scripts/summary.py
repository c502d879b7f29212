#!/usr/bin/env python3
"""A short human summary of what the stack made in the cluster, read from the Kubernetes API.

    .venv/bin/python -m scripts.summary [--kubeconfig PATH] [--master-namespace kecs-system]

Lists masters, replicas per namespace and reader ServiceAccounts: the objects that carry the
``kecs-secrets.io/stack`` annotation (made by a stack of this project, whichever); among them, a Secret or
ConfigMap labelled ``kecs.io/replicated-from`` is a replica, one in the master namespace a master. Then
every secretKeyRef of every pod KECS made (pods with kecs.dev/secret-count) and whether it resolves: a Secret
of that name in the pod's namespace with that key (scripts/kecs_pods.py). Prints names, kinds, sources and
data keys; never a value.
"""

from __future__ import annotations

import argparse
import os
import sys

from kecs_secrets.errors import KecsSecretsError
from kecs_secrets.model import ANNOTATION_SOURCE_NAME, ANNOTATION_STACK, LABEL_REPLICATED_FROM, LABEL_SOURCE
from providers.kube import KubeReader
from scripts.kecs_pods import check_pods, cluster_secrets

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
                # Whole objects: the data keys are shown (never a value).
                for obj in kube.objects(kind, ns, metadata_only=False):
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
        pods = kube.pods(metadata_only=False)  # the containers' env holds the secretKeyRefs
        pod_refs = check_pods(pods, cluster_secrets(kube, (p["metadata"]["namespace"] for p in pods)))
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
    resolving = sum(1 for r in pod_refs if r.resolves)
    shown_pods = sorted({(r.namespace, r.pod) for r in pod_refs})
    print(f"KECS pods: {len(shown_pods)}; {resolving} of {len(pod_refs)} secretKeyRefs resolve "
          "(a Secret of that name in the pod's namespace, with that key):")
    for ns, pod in shown_pods:
        print(f"  {ns}/{pod}:")
        for r in (r for r in pod_refs if (r.namespace, r.pod) == (ns, pod)):
            state = "ok" if r.resolves else f"NOT FOUND: {r.problem}"
            print(f"    {r.container}/{r.env} -> {r.name}/{r.key}: {state}")
    if resolving < len(pod_refs):
        print("  (the run's warnings, also the stack output `warnings`, say why a reference cannot be served)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
