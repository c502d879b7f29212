"""What the watch's observations ask for: a pod's missing replicas, the source items that changed, moved ECS demand."""

from __future__ import annotations

import dataclasses

from kecs_secrets.focus import Focus
from kecs_secrets.watch_demand import demand_focus, ecs_demand_focus, missing_replicas, source_change, versions
from tests.unit.conftest import parameter, secret

NS = "web-us-east-1"
DB = secret("app/db", "Ab12Cd")
TOKEN = parameter("/app/token")


def pod(annotations: dict[str, str], namespace: str = NS) -> dict:
    return {"metadata": {"namespace": namespace, "name": "p", "uid": "u1", "annotations": annotations}}


def test_a_pod_asks_for_the_names_kecs_references_that_its_namespace_lacks() -> None:
    needs = pod({
        "kecs.dev/secret-0-arn": f"app:DB_USER:{DB.arn}:username::",
        "kecs.dev/secret-1-arn": f"app:TOKEN:{TOKEN.arn}",
        "kecs.dev/secret-2-arn": "app:BARE:/app/bare",  # a bare name: KECS passes it on as no secretKeyRef
        "unrelated": "x",
    })
    assert missing_replicas(needs, {}) == {"sm-app-db", "ssm-app-token"}
    assert missing_replicas(needs, {NS: ["sm-app-db"]}) == {"ssm-app-token"}
    assert missing_replicas(needs, {NS: ["sm-app-db", "ssm-app-token"]}) == frozenset()
    assert missing_replicas(needs, {"other-us-east-1": ["sm-app-db", "ssm-app-token"]}) == {"sm-app-db", "ssm-app-token"}


def test_a_pods_demand_focuses_the_missing_replicas_alone_where_the_namespace_holds_replicas_else_the_namespace() -> None:
    served = {"a-us-east-1": frozenset({"sm-x"}), "b-us-east-1": frozenset()}
    assert demand_focus("a-us-east-1", {"sm-y", "sm-z"}, served) == Focus(
        replicas=frozenset({("a-us-east-1", "sm-y"), ("a-us-east-1", "sm-z")}))
    # no replica there yet: its component and RBAC are still to be made, which only a namespace focus makes
    assert demand_focus("b-us-east-1", {"sm-y"}, served) == Focus(namespaces=frozenset({"b-us-east-1"}))
    assert demand_focus("c-us-east-1", {"sm-y"}, served) == Focus(namespaces=frozenset({"c-us-east-1"}))


def test_a_malformed_annotation_or_no_annotation_asks_for_nothing() -> None:
    assert missing_replicas(pod({"kecs.dev/secret-0-arn": "no-colons"}), {}) == frozenset()
    assert missing_replicas(pod({}), {}) == frozenset()
    assert missing_replicas({"metadata": {}}, {}) == frozenset()


def test_a_new_version_focuses_its_master_and_an_item_that_comes_or_goes_is_a_full_update() -> None:
    before = versions([DB, TOKEN])
    masters = {DB.key: "sm-app-db", TOKEN.key: "ssm-app-token"}
    assert not source_change(before, before, masters)
    rotated = versions([dataclasses.replace(DB, version="v-2"), TOKEN])
    change = source_change(before, rotated, masters)
    assert not change.full and change.focus == Focus(masters=frozenset({"sm-app-db"}))
    remade = versions([DB, dataclasses.replace(TOKEN, stamp="2026-01-01T00:00:00.000001Z")])  # deleted and made again
    assert source_change(before, remade, masters).focus == Focus(masters=frozenset({"ssm-app-token"}))
    assert source_change(before, versions([DB]), masters).full
    assert source_change(before, versions([DB, TOKEN, parameter("/app/new")]), masters).full
    assert source_change(before, rotated, {TOKEN.key: "ssm-app-token"}).full, "a changed item with no master yet"


def test_moved_ecs_demand_focuses_exactly_the_namespaces_whose_references_changed() -> None:
    before = {"a": frozenset({"x"}), "b": frozenset({"y"})}
    assert ecs_demand_focus(before, before) == Focus()
    after = {"a": frozenset({"x"}), "b": frozenset({"y", "z"}), "c": frozenset({"x"})}
    assert ecs_demand_focus(before, after) == Focus(namespaces=frozenset({"b", "c"}))
    assert ecs_demand_focus(before, {"a": frozenset({"x"})}) == Focus(namespaces=frozenset({"b"}))
