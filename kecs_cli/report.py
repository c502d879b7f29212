"""What the stack made in a cluster and whether the KECS pods' references resolve, and its three renderings:
the text of `kecs-secrets summary`, a JSON report, and a Mermaid diagram in Markdown (for a pull request comment).

Pure: the summary command reads the cluster into a ``Summary``; everything here works on that. Names, kinds,
sources and data keys only: a ``Summary`` never holds a value.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kecs_cli.commands.kecs_pods import PodReference

__all__ = ["JSON_VERSION", "Stored", "Summary", "to_json", "to_mermaid", "to_text"]

JSON_VERSION = 1


@dataclass(frozen=True)
class Stored:
    """A Secret or ConfigMap the stack made: a master (in the master namespace) or a replica."""

    kind: str
    namespace: str
    name: str
    source: str
    source_name: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Summary:
    master_namespace: str
    masters: tuple[Stored, ...]
    replicas: tuple[Stored, ...]  # in namespace order
    readers: tuple[str, ...]  # "<namespace>/<ServiceAccount>"
    pod_refs: tuple[PodReference, ...]

    def replicas_by_namespace(self) -> dict[str, list[Stored]]:
        grouped: dict[str, list[Stored]] = {}
        for replica in self.replicas:
            grouped.setdefault(replica.namespace, []).append(replica)
        return grouped

    def pods(self) -> list[tuple[str, str]]:
        """(namespace, pod) of every KECS pod with a secretKeyRef, sorted."""
        return sorted({(r.namespace, r.pod) for r in self.pod_refs})

    @property
    def resolving(self) -> int:
        return sum(1 for r in self.pod_refs if r.resolves)


def to_text(summary: Summary) -> list[str]:
    """The lines `kecs-secrets summary` prints (`make summary`)."""
    lines = [f"{len(summary.masters)} masters in {summary.master_namespace}:"]
    for m in summary.masters:
        lines.append(f"  {m.kind:9} {m.name:45} {m.source:14} {m.source_name[:60]!r} keys={','.join(m.keys)}")
    grouped = summary.replicas_by_namespace()
    lines.append(f"{len(summary.replicas)} replicas in {len(grouped)} namespaces:")
    for ns, rows in grouped.items():
        lines.append(f"  {ns}: " + ", ".join(f"{r.name} ({r.kind})" for r in rows))
    lines.append(f"{len(summary.readers)} reader ServiceAccounts: {', '.join(summary.readers)}")
    lines.append(f"KECS pods: {len(summary.pods())}; {summary.resolving} of {len(summary.pod_refs)} secretKeyRefs resolve "
                 "(a Secret of that name in the pod's namespace, with that key):")
    for ns, pod in summary.pods():
        lines.append(f"  {ns}/{pod}:")
        for r in (r for r in summary.pod_refs if (r.namespace, r.pod) == (ns, pod)):
            state = "ok" if r.resolves else f"NOT FOUND: {r.problem}"
            lines.append(f"    {r.container}/{r.env} -> {r.name}/{r.key}: {state}")
    if summary.resolving < len(summary.pod_refs):
        lines.append("  (the run's warnings, also the stack output `warnings`, say why a reference cannot be served)")
    return lines


def _stored(objects: Iterable[Stored]) -> list[dict[str, Any]]:
    return [{"kind": o.kind, "name": o.name, "source": o.source, "sourceName": o.source_name, "keys": list(o.keys)} for o in objects]


def to_json(summary: Summary) -> dict[str, Any]:
    """The machine-readable report (`kecs-secrets summary --json PATH`); ``version`` changes when a field changes meaning."""
    return {
        "version": JSON_VERSION,
        "masterNamespace": summary.master_namespace,
        "counts": {
            "masters": len(summary.masters),
            "replicas": len(summary.replicas),
            "replicaNamespaces": len(summary.replicas_by_namespace()),
            "readers": len(summary.readers),
            "kecsPods": len(summary.pods()),
            "secretKeyRefs": len(summary.pod_refs),
            "resolving": summary.resolving,
        },
        "masters": _stored(summary.masters),
        "replicas": {ns: _stored(rows) for ns, rows in summary.replicas_by_namespace().items()},
        "readers": list(summary.readers),
        "secretKeyRefs": [
            {"namespace": r.namespace, "pod": r.pod, "container": r.container, "env": r.env, "secret": r.name, "key": r.key,
             "resolves": r.resolves, "problem": r.problem}
            for r in summary.pod_refs
        ],
    }


def _label(text: str) -> str:
    """A Mermaid node or edge label: quoted, with the characters Mermaid reads itself escaped."""
    return '"' + text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;") + '"'


def to_mermaid(summary: Summary) -> str:
    """Markdown: one sentence of counts and a Mermaid flowchart. Each namespace is a box; an arrow goes from a master
    to each of its replicas, and from the Secret a KECS pod's secretKeyRef names to the pod; a reference that does
    not resolve is a dashed arrow from a red "missing" node. Then the references that do not resolve, one per line."""
    ids: dict[tuple[str, str, str], str] = {}

    def node(kind: str, namespace: str, name: str) -> str:
        return ids.setdefault((kind, namespace, name), f"{kind[0]}{len(ids)}")

    grouped = summary.replicas_by_namespace()
    namespaces = sorted(set(grouped) | {ns for ns, _ in summary.pods()})
    lines = ["flowchart LR"]
    lines.append(f"  subgraph ns0[{_label(summary.master_namespace + ' (masters)')}]")
    for m in summary.masters:
        lines.append(f"    {node('master', m.namespace, m.name)}[{_label(f'{m.name} ({m.kind})')}]")
    lines.append("  end")
    edges, missing = [], []
    masters = {m.name for m in summary.masters}
    for index, ns in enumerate(namespaces, start=1):
        lines.append(f"  subgraph ns{index}[{_label(ns)}]")
        for r in grouped.get(ns, []):
            lines.append(f"    {node('replica', ns, r.name)}[{_label(r.name)}]")
            if r.name in masters:
                edges.append(f"  {node('master', summary.master_namespace, r.name)} --> {node('replica', ns, r.name)}")
        for pod_ns, pod in summary.pods():
            if pod_ns == ns:
                lines.append(f"    {node('pod', ns, pod)}([{_label('pod ' + pod)}])")
        for ref in (r for r in summary.pod_refs if r.namespace == ns):
            arrow = _label(f"{ref.env}: {ref.key}")
            if ref.resolves:
                if ("replica", ns, ref.name) not in ids:  # a Secret of that name the stack did not make
                    lines.append(f"    {node('replica', ns, ref.name)}[{_label(ref.name + ' (not made by the stack)')}]")
                edges.append(f"  {node('replica', ns, ref.name)} -->|{arrow}| {node('pod', ns, ref.pod)}")
            else:
                if ("x", ns, ref.name) not in ids:
                    lines.append(f"    {node('x', ns, ref.name)}[{_label(ref.name + ': missing')}]:::missing")
                edges.append(f"  {node('x', ns, ref.name)} -.->|{arrow}| {node('pod', ns, ref.pod)}")
                missing.append(f"- `{ref.namespace}/{ref.pod}` {ref.container}/{ref.env} → `{ref.name}/{ref.key}`: {ref.problem}")
        lines.append("  end")
    lines += edges
    lines.append("  classDef missing fill:#fdd,stroke:#c00,color:#600")
    head = (f"**kecs-secrets layout**: {len(summary.masters)} masters in `{summary.master_namespace}`, {len(summary.replicas)} "
            f"replicas in {len(grouped)} namespaces; {summary.resolving} of {len(summary.pod_refs)} secretKeyRefs of "
            f"{len(summary.pods())} KECS pods resolve.")
    out = [head, "", "```mermaid", *lines, "```"]
    if missing:
        out += ["", "References that do not resolve (the run's warnings say why):", "", *missing]
    return "\n".join(out) + "\n"
