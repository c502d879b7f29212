"""A stack made before ownership marks takes them in one `up`, every object updated in place, none replaced.

Release 9f93119 marked its objects with the stack annotation alone. One `up` of the current program on
its state gives every Kubernetes object its ownership mark (an annotation: an in-place update, the same
uid), under the key the value reader already holds: no value is read again, no object is created,
replaced or deleted, and the preview shows exactly these updates. The run after it changes nothing.
"""

from __future__ import annotations

import json

import pytest

from kecs_secrets.ownership import ANNOTATION_MARK, mark_verifies
from tests.support.counting_proxy import VALUE_READS, CountingProxy
from tests.support.real import ROOT
from tests.support.releases import export_release, remove_upgrade_scene, upgrade_data
from tests.support.stack import ProjectStack

pytestmark = pytest.mark.e2e

RELEASE = "9f93119"  # the last release without ownership marks
REGION = "us-east-1"
READER_TYPE = "pulumi-python:dynamic/kecs:SourceValues"


def _objects(stack: ProjectStack) -> dict[str, dict]:
    """Every Kubernetes object in the (decrypted) state, by URN: its outputs' metadata."""
    return {
        r["urn"]: r["outputs"]["metadata"]
        for r in stack.stack.export_stack().deployment["resources"]
        if r["type"].startswith("kubernetes:") and "metadata" in (r.get("outputs") or {})
    }


def _key(stack: ProjectStack) -> bytes:
    (reader,) = [r for r in stack.stack.export_stack().deployment["resources"] if r["type"] == READER_TYPE]
    key = reader["outputs"]["fingerprint_key"]  # a secret: {sig: ..., "plaintext": "<JSON>"} in a decrypted export
    return bytes.fromhex(json.loads(key["plaintext"]) if isinstance(key, dict) else key)


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory, endpoint, kubeconfig, kube, aws):
    base = tmp_path_factory.mktemp("marks-upgrade")
    previous = export_release(RELEASE, base)
    data = upgrade_data(kube, aws, REGION)
    p, master_ns, web = data.p, data.master_ns, data.web
    stack = None
    try:
        with CountingProxy(endpoint) as proxy:
            data.seed()
            config = {
                "endpoint": proxy.endpoint, "region": REGION, "masterNamespace": master_ns,
                "namePrefixes": [f"{p}/", f"/{p}/"], "kubeconfig": kubeconfig,
                "demand": {web: [f"{p}/db", f"/{p}/token"]},
            }
            stack = ProjectStack(base, f"marks-{p}", config, program_root=previous)
            stack.up()
            before = _objects(stack)

            stack.use_program(ROOT)
            proxy.take()
            _, preview = stack.preview()
            _, upgrade = stack.up()
            calls = proxy.take()
            after = _objects(stack)
            key = _key(stack)
            _, next_preview = stack.preview()
            _, next_up = stack.up()
            live = {(ns, name): kube.secret(ns, name) for ns, name in ((master_ns, f"sm-{p}-db"), (web, f"sm-{p}-db"))}
        yield {
            "stack": f"kecs-secrets/{stack.name}", "before": before, "after": after, "key": key, "preview": preview,
            "upgrade": upgrade, "calls": calls, "next_preview": next_preview, "next_up": next_up, "live": live,
        }
    finally:
        remove_upgrade_scene(stack, kube, (master_ns, web), data.sm, data.arns.values(), data.ssm, data.params)


def test_the_release_made_objects_without_marks(upgraded):
    assert len(upgraded["before"]) >= 6  # 3 masters, 2 replicas, the reader's ServiceAccount, RoleBinding, ClusterRole
    assert all(ANNOTATION_MARK not in (m.get("annotations") or {}) for m in upgraded["before"].values())


def test_one_up_marks_every_object_in_place_and_the_preview_says_so(upgraded):
    every = set(upgraded["before"])
    for log in (upgraded["preview"], upgraded["upgrade"]):
        changed = log.changed_by_the_program()
        assert changed == {urn: "update" for urn in every}, changed
    assert set(upgraded["after"]) == every
    assert {urn: m["uid"] for urn, m in upgraded["after"].items()} == {urn: m["uid"] for urn, m in upgraded["before"].items()}
    assert not set(upgraded["calls"]) & VALUE_READS, upgraded["calls"]


def test_every_mark_is_the_stacks_own_for_exactly_that_object(upgraded):
    for urn, metadata in upgraded["after"].items():
        kind = urn.split("::")[2].rsplit(":", 1)[-1]
        mark = metadata["annotations"][ANNOTATION_MARK]
        assert mark_verifies(upgraded["key"], upgraded["stack"], kind, metadata.get("namespace", ""), metadata["name"], mark), urn
    marks = {o["metadata"]["annotations"][ANNOTATION_MARK] for o in upgraded["live"].values()}
    assert len(marks) == 2  # the master and its replica: one name, two namespaces, two marks


def test_the_run_after_the_upgrade_changes_nothing(upgraded):
    assert upgraded["next_preview"].changed() == {}
    assert upgraded["next_up"].changed() == {}
