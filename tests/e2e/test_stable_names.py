"""Stable names through the real CLI: a look-alike created in LocalStack beside a converged master moves nothing.

A stack converges with `<p>/app0/db` (its master and replica are named `sm-<p>-app0-db`, exactly what KECS pods
reference); then someone creates `<p>/app0_db`, whose KECS name is the same. The next `up` leaves the existing
master and replica in place (same object, same uid, same item) and gives the newcomer a hashed name of its own,
with a warning naming the reference it cannot serve. maxMasterDeletions is 0: nothing is deleted.
"""

from __future__ import annotations

import secrets as random

import pytest

from components.outputs import OUTPUT_WARNINGS
from kecs_secrets.naming import kubernetes_name
from tests.support.stack import ProjectStack

pytestmark = pytest.mark.e2e

REGION = "us-east-1"


@pytest.fixture(scope="module")
def look_alike(tmp_path_factory, endpoint, kubeconfig, kube, aws):
    p = f"e2e{random.token_hex(3)}"
    sm = aws("secretsmanager")
    master_ns, web = f"{p}-system", f"web-{p}-{REGION}"
    kube.create_namespace(master_ns)
    kube.create_ecs_namespace(f"web-{p}", REGION)
    made, stack = [], None
    try:
        made.append(sm.create_secret(Name=f"{p}/app0/db", SecretString=f"real-{random.token_hex(6)}"))
        config = {
            "endpoint": endpoint,
            "region": REGION,
            "masterNamespace": master_ns,
            "namePrefixes": [f"{p}/"],
            "kubeconfig": kubeconfig,
            "demand": {web: [made[0]["ARN"]]},
            "maxMasterDeletions": 0,
        }
        stack = ProjectStack(tmp_path_factory.mktemp("stable-names"), f"stable-{p}", config)
        stack.up()
        name = f"sm-{p}-app0-db"
        before = {ns: kube.secret(ns, name) for ns in (master_ns, web)}
        made.append(sm.create_secret(Name=f"{p}/app0_db", SecretString=f"look-alike-{random.token_hex(6)}"))
        result, log = stack.up()
        after = {ns: kube.secret(ns, name) for ns in (master_ns, web)}
        hashed = kubernetes_name("secretsmanager", f"{p}/app0_db", round=1)
        yield {"p": p, "master_ns": master_ns, "web": web, "name": name, "hashed": hashed, "before": before, "after": after,
               "newcomer": kube.secret(master_ns, hashed), "result": result, "log": log}
    finally:
        if stack is not None:
            stack.remove()
        for secret in made:
            sm.delete_secret(SecretId=secret["ARN"], ForceDeleteWithoutRecovery=True)
        for namespace in (master_ns, web):
            kube.delete_namespace(namespace)


def test_the_existing_master_and_replica_keep_their_name_object_and_item(look_alike):
    p = look_alike["p"]
    for ns, before in look_alike["before"].items():
        after = look_alike["after"][ns]
        assert before is not None and after is not None, ns
        assert after["metadata"]["uid"] == before["metadata"]["uid"], "the same object, never recreated"
        assert after["metadata"]["annotations"]["kecs.io/source-name"] == f"{p}/app0/db"
        assert after["data"] == before["data"]


def test_the_newcomer_gets_a_hashed_name_and_a_warning_naming_the_reference_it_cannot_serve(look_alike):
    p, hashed = look_alike["p"], look_alike["hashed"]
    assert hashed.startswith(f"sm-{p}-app0-db-") and hashed != look_alike["name"]
    assert look_alike["newcomer"]["metadata"]["annotations"]["kecs.io/source-name"] == f"{p}/app0_db"
    line = (
        f"KECS pods cannot be served secretsmanager item '{p}/app0_db': they reference '{look_alike['name']}', which "
        f"secretsmanager item '{p}/app0/db' already holds (a master keeps its name while its item exists), so such a pod "
        f"reads that item instead; it is served as '{hashed}'"
    )
    assert line in look_alike["result"].outputs[OUTPUT_WARNINGS].value
    assert line in "\n".join(look_alike["log"].text)


def test_the_second_up_creates_the_newcomer_and_deletes_nothing(look_alike):
    changed = look_alike["log"].changed()
    assert "delete" not in changed.values() and "replace" not in changed.values(), changed
    created = sorted(urn.rsplit("::", 1)[1] for urn, op in changed.items() if op == "create")
    assert created == [look_alike["hashed"]], "only the newcomer's master is made (nothing demands it)"
