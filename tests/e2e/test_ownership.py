"""Ownership that a copy cannot forge, with the real CLI, LocalStack and control plane.

The stack annotation travels with every ``kubectl get -o yaml``; the ownership mark binds the stack to one
kind, namespace and name under the stack's own key. Copies of the stack's objects (another name, another
namespace, a cloned ClusterRole) carry both, and survive ``up`` and ``make destroy`` (the destroy check,
then ``pulumi destroy``), each named in a warning; an object of the stack that its state lost is still
removed by the sweep, because its own mark verifies.
"""

from __future__ import annotations

import secrets as random
from collections.abc import Mapping
from typing import Any

import pytest

from kecs_secrets.ownership import ANNOTATION_MARK
from tests.e2e.test_safety import STACK_ANNOTATION, Scene, cli, destroy_check

pytestmark = pytest.mark.e2e

RBAC = "/apis/rbac.authorization.k8s.io/v1"


@pytest.fixture
def scene(tmp_path, endpoint, kubeconfig, kube, aws):
    made = Scene(tmp_path, endpoint, kubeconfig, kube, aws)
    yield made
    made.close()


def copy_of(obj: Mapping[str, Any], namespace: str, name: str) -> dict[str, Any]:
    """What `kubectl get -o yaml`, a changed name or namespace and `kubectl create -f` make: labels and annotations copied."""
    metadata = {k: v for k, v in obj["metadata"].items() if k in ("labels", "annotations")}
    body = {k: v for k, v in obj.items() if k not in ("metadata", "status")}
    return {**body, "metadata": {**metadata, "name": name, **({"namespace": namespace} if namespace else {})}}


def test_a_copied_object_carrying_the_stack_annotation_survives_up_and_make_destroy(scene):
    s, kube = scene, scene.kube
    s.secret("s1", f"one-{random.token_hex(4)}")
    s.secret("s2", f"two-{random.token_hex(4)}")
    api = s.namespace(f"api-{s.p}", ecs=True)  # another ECS cluster namespace, which demands nothing
    stack = s.make_stack(demand={s.web: [f"{s.p}/s1", f"{s.p}/s2"]})
    stack.up()
    one, two = s.master("s1"), s.master("s2")
    replica = kube.secret(s.web, one)
    master = kube.secret(s.master_ns, one)
    assert replica["metadata"]["annotations"][STACK_ANNOTATION] == f"kecs-secrets/{stack.name}"
    assert replica["metadata"]["annotations"][ANNOTATION_MARK] != master["metadata"]["annotations"][ANNOTATION_MARK]

    # Copies, under names the stack's naming could make and under one it could not.
    copies = {
        (s.web, f"{one}-copy"): kube.post(f"/api/v1/namespaces/{s.web}/secrets", copy_of(replica, s.web, f"{one}-copy")),
        (api, one): kube.post(f"/api/v1/namespaces/{api}/secrets", copy_of(replica, api, one)),
        (s.master_ns, f"{one}-x"): kube.post(f"/api/v1/namespaces/{s.master_ns}/secrets", copy_of(master, s.master_ns, f"{one}-x")),
    }
    role = kube.get(f"{RBAC}/clusterroles/{s.master_ns}-secret-reader")
    clone = f"{s.p}-cloned-reader"
    kube.post(f"{RBAC}/clusterroles", copy_of(role, "", clone))
    try:
        # A replica of the stack that its state lost (and the layout no longer wants): its own mark verifies.
        urn = next(
            r["urn"] for r in stack.stack.export_stack().deployment["resources"]
            if r["type"] == "kubernetes:core/v1:Secret" and r["urn"].endswith(f"::{s.web}/{two}")
        )
        assert cli(stack, "state", "delete", urn, "--yes").returncode == 0
        stack.update_config(demand={s.web: [f"{s.p}/s1"]})

        _, log = stack.up()
        text = "\n".join(log.text)
        assert kube.secret(s.web, two) is None, "the stack's own leftover was not swept"
        assert f"deleted by this run: Secret {s.web}/{two}" in text
        for (namespace, name), made in copies.items():
            assert kube.secret(namespace, name)["metadata"]["uid"] == made["metadata"]["uid"], name
            assert f"Secret {namespace}/{name}" in text, f"{name} not named"
        assert kube.get(f"{RBAC}/clusterroles/{clone}") is not None
        assert f"ClusterRole {clone}" in text
        assert "left alone" in text

        # The next run changes nothing and still deletes none of them.
        _, log = stack.up()
        assert log.changed() == {}
        assert all(kube.secret(namespace, name) is not None for namespace, name in copies)

        # `make destroy`: its check, then `pulumi destroy`.
        check = destroy_check(stack)
        assert check.returncode == 0, check.stderr
        destroyed = cli(stack, "destroy", "--yes")
        assert destroyed.returncode == 0, destroyed.stderr
        assert kube.secret(s.web, one) is None and kube.secret(s.master_ns, one) is None
        for (namespace, name), made in copies.items():
            assert kube.secret(namespace, name)["metadata"]["uid"] == made["metadata"]["uid"], name
        assert kube.get(f"{RBAC}/clusterroles/{clone}") is not None
    finally:
        kube.delete(f"{RBAC}/clusterroles/{clone}")


def test_adopt_existing_never_takes_an_object_another_stack_marks_as_its_own(scene):
    s, kube = scene, scene.kube
    s.secret("s1", f"one-{random.token_hex(4)}")
    # Another stack's object (its annotation and a mark) in the way of a replica this stack wants.
    theirs = kube.post(f"/api/v1/namespaces/{s.web}/secrets", {
        "metadata": {"name": s.master("s1"), "annotations": {STACK_ANNOTATION: "kecs-secrets/other", ANNOTATION_MARK: "0" * 32}},
        "stringData": {"value": "theirs"},
    })
    stack = s.make_stack(demand={s.web: [f"{s.p}/s1"]}, adoptExisting=True)
    before = s.snapshot()
    result = cli(stack, "up", "--yes")
    assert result.returncode != 0
    assert f"OwnershipError: these objects already exist and another stack marks them as its own: Secret {s.web}/{s.master('s1')}" in result.stdout + result.stderr
    assert s.snapshot() == before
    assert kube.secret(s.web, s.master("s1"))["metadata"]["uid"] == theirs["metadata"]["uid"]



def test_a_copy_under_a_name_the_stack_comes_to_want_is_never_taken_over_and_stops_nobody(scene):
    """A copy of a replica (its mark included) put under a name the stack comes to want: the mark is the one the state
    records for the original, so it is provably a copy; in a tenant namespace it skips that replica only, by name."""
    s, kube = scene, scene.kube
    s.secret("s1", f"one-{random.token_hex(4)}")
    stack = s.make_stack(demand={s.web: [f"{s.p}/s1"]})
    stack.up()
    one = s.master("s1")
    api = s.namespace(f"api-{s.p}", ecs=True)
    copy = kube.post(f"/api/v1/namespaces/{api}/secrets", copy_of(kube.secret(s.web, one), api, one))
    stack.update_config(demand={s.web: [f"{s.p}/s1"], api: [f"{s.p}/s1"]})
    result = cli(stack, "up", "--yes")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"Secret {api}/{one} already exists and was not made by this stack: that replica is skipped" in output
    assert "Traceback" not in output
    assert kube.secret(s.web, one)["metadata"]["annotations"][ANNOTATION_MARK]  # the original is the stack's, as before
    after = kube.secret(api, one)
    assert (after["metadata"]["uid"], after["metadata"]["resourceVersion"]) == (copy["metadata"]["uid"], copy["metadata"]["resourceVersion"])
