"""A short human summary of what the stack made in the cluster, read from the Kubernetes API.

    kecs-secrets summary [--kubeconfig PATH] [--master-namespace kecs-system] [--json PATH] [--mermaid PATH]   (`make summary`)

Lists masters, replicas per namespace and reader ServiceAccounts: the objects that carry the
``kecs-secrets.io/stack`` annotation (made by a stack of this project, whichever); among them, a Secret or
ConfigMap labelled ``kecs.io/replicated-from`` is a replica, one in the master namespace a master. Then
every secretKeyRef of every pod KECS made (pods with kecs.dev/secret-count) and whether it resolves: a Secret
of that name in the pod's namespace with that key (`kecs-secrets kecs-pods`). Prints names, kinds, sources and
data keys; never a value. --json writes the same as a JSON report, --mermaid the layout as a Mermaid diagram in
Markdown (which namespaces hold which masters' replicas, which references resolve), e.g. for a pull request
comment; with PATH `-` that one goes to stdout instead of the text.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from kecs_cli.commands import DEFAULT_EXIT_CODES
from kecs_cli.commands.kecs_pods import check_pods, cluster_secrets, default_kubeconfig
from kecs_cli.report import Stored, Summary, to_json, to_mermaid, to_text
from kecs_secrets.model import ANNOTATION_SOURCE_NAME, ANNOTATION_STACK, LABEL_REPLICATED_FROM, LABEL_SOURCE
from providers.kube import KubeReader

EXIT_CODES = {
    **DEFAULT_EXIT_CODES,
    0: "the summary (and each file asked for) was written, whether or not every reference resolves",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kubeconfig", default=default_kubeconfig(), help="default: $KUBECONFIG, else .state/cluster/kubeconfig")
    parser.add_argument("--master-namespace", default="kecs-system", help="where the masters are (default: kecs-system)")
    parser.add_argument("--json", metavar="PATH", help="also write the summary as JSON to PATH (`-`: stdout, instead of the text)")
    parser.add_argument("--mermaid", metavar="PATH",
                        help="also write the layout as a Mermaid diagram in Markdown to PATH (`-`: stdout, instead of the text)")


def collect(kube: KubeReader, master_namespace: str) -> Summary:
    """What the cluster holds of the stack's objects, and the KECS pods' references."""
    masters, replicas, readers = [], [], []
    for ns in sorted(kube.namespaces()):
        for kind in ("Secret", "ConfigMap"):
            # Whole objects: the data keys are shown (never a value).
            for obj in kube.objects(kind, ns, metadata_only=False):
                meta = obj["metadata"]
                if ANNOTATION_STACK not in (meta.get("annotations") or {}):
                    continue
                keys = tuple(sorted((obj.get("data") or {}) | (obj.get("binaryData") or {})))
                row = Stored(kind, ns, meta["name"], meta.get("labels", {}).get(LABEL_SOURCE, "?"),
                             meta["annotations"].get(ANNOTATION_SOURCE_NAME, "?"), keys)
                if LABEL_REPLICATED_FROM in (meta.get("labels") or {}):
                    replicas.append(row)
                elif ns == master_namespace:
                    masters.append(row)
        for sa in kube.objects("ServiceAccount", ns):
            if ANNOTATION_STACK in (sa["metadata"].get("annotations") or {}):
                readers.append(f"{ns}/{sa['metadata']['name']}")
    pods = kube.pods(metadata_only=False)  # the containers' env holds the secretKeyRefs
    pod_refs = check_pods(pods, cluster_secrets(kube, (p["metadata"]["namespace"] for p in pods)))
    return Summary(master_namespace, tuple(masters), tuple(replicas), tuple(readers), tuple(pod_refs))


def _write(path: str, text: str) -> None:
    if path == "-":
        sys.stdout.write(text)
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def run(args: argparse.Namespace) -> int:
    if args.json == "-" and args.mermaid == "-":
        print("error: only one of --json and --mermaid can write to stdout", file=sys.stderr)
        return 2
    summary = collect(KubeReader(args.kubeconfig), args.master_namespace)
    if "-" not in (args.json, args.mermaid):
        print("\n".join(to_text(summary)))
    if args.json:
        _write(args.json, json.dumps(to_json(summary), indent=2) + "\n")
    if args.mermaid:
        _write(args.mermaid, to_mermaid(summary))
    return 0
