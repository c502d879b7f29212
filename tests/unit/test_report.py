"""`kecs-secrets summary`'s renderings from fixture data: the text, the JSON report, the Mermaid diagram."""

from __future__ import annotations

import json
import re

from kecs_cli.commands.kecs_pods import PodReference
from kecs_cli.report import JSON_VERSION, Stored, Summary, to_json, to_mermaid, to_text

SUMMARY = Summary(
    master_namespace="kecs-system",
    masters=(
        Stored("Secret", "kecs-system", "sm-app-db", "secretsmanager", "app/db", ("password", "value")),
        Stored("Secret", "kecs-system", "ssm-app-host", "ssm", "/app/host", ("value",)),
    ),
    replicas=(
        Stored("Secret", "default-us-east-1", "sm-app-db", "secretsmanager", "app/db", ("password", "value")),
        Stored("Secret", "default-us-east-1", "ssm-app-host", "ssm", "/app/host", ("value",)),
        Stored("Secret", "batch-us-east-1", "sm-app-db", "secretsmanager", "app/db", ("password", "value")),
    ),
    readers=("batch-us-east-1/kecs-secret-reader-batch-us-east-1", "default-us-east-1/kecs-secret-reader-default-us-east-1"),
    pod_refs=(
        PodReference("default-us-east-1", "web-task", "app", "DB_PASSWORD", "sm-app-db", "password", ""),
        PodReference("default-us-east-1", "web-task", "app", "DB_HOST", "ssm-app-host", "value", ""),
        PodReference("batch-us-east-1", "job-task", "job", "DB", "sm-app-db", "value", ""),
        PodReference("batch-us-east-1", "job-task", "job", "DUP", "sm-dup-x", "value", "no Secret 'sm-dup-x' in batch-us-east-1"),
    ),
)


def test_the_text_is_what_make_summary_prints():
    lines = to_text(SUMMARY)
    assert lines[0] == "2 masters in kecs-system:"
    assert lines[3] == "3 replicas in 2 namespaces:"
    assert lines[4] == "  default-us-east-1: sm-app-db (Secret), ssm-app-host (Secret)"
    assert lines[7] == "KECS pods: 2; 3 of 4 secretKeyRefs resolve (a Secret of that name in the pod's namespace, with that key):"
    assert "  batch-us-east-1/job-task:" in lines
    assert "    job/DUP -> sm-dup-x/value: NOT FOUND: no Secret 'sm-dup-x' in batch-us-east-1" in lines
    assert "    app/DB_PASSWORD -> sm-app-db/password: ok" in lines
    assert lines[-1].startswith("  (the run's warnings")


def test_the_json_report_holds_the_counts_the_layout_and_every_reference():
    report = json.loads(json.dumps(to_json(SUMMARY)))  # JSON all the way down
    assert report["version"] == JSON_VERSION
    assert report["counts"] == {"masters": 2, "replicas": 3, "replicaNamespaces": 2, "readers": 2, "kecsPods": 2,
                                "secretKeyRefs": 4, "resolving": 3}
    assert report["masters"][0] == {"kind": "Secret", "name": "sm-app-db", "source": "secretsmanager", "sourceName": "app/db",
                                    "keys": ["password", "value"]}
    assert sorted(report["replicas"]) == ["batch-us-east-1", "default-us-east-1"]
    assert [r["name"] for r in report["replicas"]["default-us-east-1"]] == ["sm-app-db", "ssm-app-host"]
    unresolved = [r for r in report["secretKeyRefs"] if not r["resolves"]]
    assert unresolved == [{"namespace": "batch-us-east-1", "pod": "job-task", "container": "job", "env": "DUP", "secret": "sm-dup-x",
                           "key": "value", "resolves": False, "problem": "no Secret 'sm-dup-x' in batch-us-east-1"}]


def mermaid_block(markdown: str) -> list[str]:
    match = re.search(r"```mermaid\n(.*?)\n```", markdown, re.S)
    assert match, markdown
    return match.group(1).splitlines()


def labels(lines: list[str]) -> dict[str, str]:
    """node id -> its label."""
    return {m.group(1): m.group(2) for line in lines if (m := re.match(r'\s+(\w+)\(?\["(.*)"\]\)?', line))}


def boxes_of(lines: list[str]) -> dict[str, str]:
    """node id -> the label of the subgraph (namespace) it is drawn in."""
    where, box = {}, ""
    for line in lines:
        if m := re.match(r'\s+subgraph \w+\["(.*)"\]', line):
            box = m.group(1)
        elif m := re.match(r"\s+(\w+)\(?\[", line):
            where[m.group(1)] = box
    return where


def test_the_mermaid_diagram_shows_which_namespace_holds_which_masters_replicas_and_which_references_resolve():
    markdown = to_mermaid(SUMMARY)
    assert markdown.startswith("**kecs-secrets layout**: 2 masters in `kecs-system`, 3 replicas in 2 namespaces; "
                               "3 of 4 secretKeyRefs of 2 KECS pods resolve.")
    lines = mermaid_block(markdown)
    assert lines[0] == "flowchart LR"
    names = labels(lines)
    by_label = {label: node for node, label in names.items()}
    # A box per namespace, the masters' first.
    boxes = [m.group(1) for line in lines if (m := re.match(r'\s+subgraph \w+\["(.*)"\]', line))]
    assert boxes == ["kecs-system (masters)", "batch-us-east-1", "default-us-east-1"]
    # master -> each of its replicas: sm-app-db in both namespaces, ssm-app-host in one.
    arrows = [(m.group(1), m.group(2)) for line in lines if (m := re.match(r"\s+(\w+) --> (\w+)$", line))]
    # replica -> pod, labelled with the env var and key; the unresolved one dashed, from a node marked missing.
    where = boxes_of(lines)
    resolved = {(names[m.group(1)], where[m.group(1)], m.group(2), names[m.group(3)], where[m.group(3)])
                for line in lines if (m := re.match(r'\s+(\w+) -->\|"(.*)"\| (\w+)$', line))}
    assert resolved == {
        ("sm-app-db", "default-us-east-1", "DB_PASSWORD: password", "pod web-task", "default-us-east-1"),
        ("ssm-app-host", "default-us-east-1", "DB_HOST: value", "pod web-task", "default-us-east-1"),
        ("sm-app-db", "batch-us-east-1", "DB: value", "pod job-task", "batch-us-east-1"),
    }
    assert {(names[a], where[a], names[b], where[b]) for a, b in arrows} == {
        ("sm-app-db (Secret)", "kecs-system (masters)", "sm-app-db", "default-us-east-1"),
        ("sm-app-db (Secret)", "kecs-system (masters)", "sm-app-db", "batch-us-east-1"),
        ("ssm-app-host (Secret)", "kecs-system (masters)", "ssm-app-host", "default-us-east-1"),
    }
    dashed = [line.strip() for line in lines if " -.->|" in line]
    assert dashed == [f'{by_label["sm-dup-x: missing"]} -.->|"DUP: value"| {by_label["pod job-task"]}']
    assert any(line.strip().endswith(":::missing") and "sm-dup-x: missing" in line for line in lines)
    assert markdown.rstrip().endswith("- `batch-us-east-1/job-task` job/DUP → `sm-dup-x/value`: no Secret 'sm-dup-x' in batch-us-east-1")


def test_mermaid_labels_are_quoted_and_escaped():
    odd = Summary("kecs-system", (), (), (), (
        PodReference("web-us-east-1", "api-task", "app", "X", 'sm-ops+alerts=main@team.example"<b>', "value", "no Secret"),))
    lines = mermaid_block(to_mermaid(odd))
    assert any('"sm-ops+alerts=main@team.example#quot;#lt;b#gt;: missing"' in line for line in lines), lines
    assert all('"' not in label for label in labels(lines).values())

