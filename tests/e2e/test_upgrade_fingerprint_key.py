"""A stack made by the release that kept the fingerprint key in a resource of its own moves to the reader's key.

Release f02489e kept the stack's fingerprint key in ``kecs:FingerprintKey`` and handed it to the value
reader as an input, which the reader echoed into its outputs. The current reader makes the key itself
and keeps it in its outputs, so on such a stack it already holds the same key. One `up` of the current
program on that state must delete the retired resource and nothing else (but for the ownership mark
every Kubernetes object takes, in place): no value is read, every fingerprint stays the same; and a value changed afterwards changes its own
fingerprint, master and replica, and nothing else. `pulumi up --replace` of the reader rotates the key:
every fingerprint changes, and no Kubernetes object does.
"""

from __future__ import annotations

import base64
import json
import secrets as random

import pytest

from kecs_secrets.naming import kubernetes_name
from tests.support.counting_proxy import VALUE_READS, CountingProxy
from tests.support.real import ROOT
from tests.support.releases import export_release, remove_upgrade_scene, upgrade_data
from tests.support.stack import ProjectStack

pytestmark = pytest.mark.e2e

KEY_RELEASE = "f02489e"  # the last release with kecs:FingerprintKey
REGION = "us-east-1"
KEY_TYPE = "pulumi-python:dynamic/kecs:FingerprintKey"
READER_TYPE = "pulumi-python:dynamic/kecs:SourceValues"


def _types(stack: ProjectStack) -> list[str]:
    return [r["type"] for r in stack.stack.export_stack().deployment["resources"]]


def _fingerprints(result) -> dict[str, str]:
    return {name: about["fingerprint"] for name, about in result.outputs["masters"].value.items()}


@pytest.fixture(scope="module")
def moved(tmp_path_factory, endpoint, kubeconfig, kube, aws):
    base = tmp_path_factory.mktemp("key-upgrade")
    previous = export_release(KEY_RELEASE, base)
    data = upgrade_data(kube, aws, REGION)
    p, sm, ssm, master_ns, web, arns, params = data.p, data.sm, data.ssm, data.master_ns, data.web, data.arns, data.params
    stack = None
    try:
        with CountingProxy(endpoint) as proxy:
            data.seed()
            task = {"family": "web", "containerDefinitions": [{"name": "app", "secrets": [
                {"name": "DB", "valueFrom": arns["db"]},
                {"name": "API", "valueFrom": arns["api"]},
                {"name": "TOKEN", "valueFrom": f"arn:aws:ssm:{REGION}:000000000000:parameter/{p}/token"},
            ]}]}
            config = {
                "endpoint": proxy.endpoint,
                "region": REGION,
                "masterNamespace": master_ns,
                "namePrefixes": [f"{p}/", f"/{p}/"],
                "kubeconfig": kubeconfig,
                "taskDefinitions": [{"path": "task-definitions/web.json", "cluster": f"web-{p}"}],
            }
            stack = ProjectStack(base, f"key-{p}", config, {"task-definitions/web.json": json.dumps(task)}, program_root=previous)
            first, _ = stack.up()
            types_before = _types(stack)

            stack.use_program(ROOT)
            proxy.take()
            _, preview = stack.preview()
            upgraded, upgrade = stack.up()
            upgrade_calls = proxy.take()
            types_after = _types(stack)

            new_db = f"new-{random.token_hex(6)}"
            sm.put_secret_value(SecretId=arns["db"], SecretString=new_db)
            changed, change = stack.up()
            change_calls = proxy.take()
            db = kubernetes_name("secretsmanager", f"{p}/db")
            replica = kube.secret(web, db)

            reader = next(r["urn"] for r in stack.stack.export_stack().deployment["resources"] if r["type"] == READER_TYPE)
            rotated, rotation = stack.up(replace=[reader])
            rotated_replica = kube.secret(web, db)
        yield {
            "p": p, "first": first, "upgraded": upgraded, "changed": changed, "preview": preview, "upgrade": upgrade,
            "change": change, "upgrade_calls": upgrade_calls, "change_calls": change_calls, "types_before": types_before,
            "types_after": types_after, "db": db, "new_db": new_db, "replica": replica,
            "reader": reader, "rotated": rotated, "rotation": rotation, "rotated_replica": rotated_replica,
        }
    finally:
        remove_upgrade_scene(stack, kube, (master_ns, web), sm, arns.values(), ssm, params)


def test_the_release_kept_the_key_in_a_resource_of_its_own(moved):
    assert moved["types_before"].count(KEY_TYPE) == 1 and moved["types_before"].count(READER_TYPE) == 1


def test_the_upgrade_deletes_the_key_resource_and_changes_nothing_else(moved):
    """Nothing else but the ownership mark each Kubernetes object takes in the same run, in place."""
    for log in (moved["preview"], moved["upgrade"]):
        changed = log.changed_by_the_program()
        deleted = [urn for urn, op in changed.items() if op == "delete"]
        assert len(deleted) == 1 and deleted[0].split("::")[2].endswith(f"${KEY_TYPE}"), changed
        marked = {urn: op for urn, op in changed.items() if urn not in deleted}
        assert marked and all(op == "update" and urn.split("::")[2].rsplit("$", 1)[-1].startswith("kubernetes:")
                              for urn, op in marked.items()), changed
    assert KEY_TYPE not in moved["types_after"] and moved["types_after"].count(READER_TYPE) == 1


def test_the_upgrade_reads_no_value_and_keeps_every_fingerprint(moved):
    assert not set(moved["upgrade_calls"]) & VALUE_READS, moved["upgrade_calls"]
    before, after = _fingerprints(moved["first"]), _fingerprints(moved["upgraded"])
    assert len(before) == 3 and all(len(fp) == 64 for fp in before.values())
    assert after == before


def test_a_value_changed_afterwards_changes_its_own_fingerprint_master_and_replica_only(moved):
    before, after, db = _fingerprints(moved["upgraded"]), _fingerprints(moved["changed"]), moved["db"]
    assert after[db] != before[db]
    assert {n: fp for n, fp in after.items() if n != db} == {n: fp for n, fp in before.items() if n != db}
    assert set(moved["change_calls"]) & VALUE_READS, moved["change_calls"]
    changed = moved["change"].changed()
    names = sorted((urn.split("::")[2].rsplit("$", 1)[-1], urn.rsplit("::", 1)[1], op) for urn, op in changed.items())
    assert names == sorted([
        (READER_TYPE, "values", "update"),
        ("kubernetes:core/v1:Secret", db, "update"),
        ("kubernetes:core/v1:Secret", f"{moved['replica']['metadata']['namespace']}/{db}", "update"),
    ]), names
    assert base64.b64decode(moved["replica"]["data"]["value"]).decode() == moved["new_db"]


def test_replacing_the_reader_rotates_the_key_and_changes_no_object(moved):
    before, after = _fingerprints(moved["changed"]), _fingerprints(moved["rotated"])
    assert set(after) == set(before) and all(after[n] != before[n] for n in before), (before, after)
    changed = moved["rotation"].changed()
    assert set(changed) == {moved["reader"]}, changed
    assert moved["rotated_replica"]["data"] == moved["replica"]["data"]
