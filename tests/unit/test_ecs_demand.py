"""The ECS demand source and restartOnChange's decisions, on answers recorded from a real ECS API (moto's server).

``fixtures/ecs_shapes.json`` is written by ``python -m tests.support.record_ecs_shapes``: cluster ``web`` with
service ``api`` moved from ``web:1`` to ``web:2`` (its deployment of ``web:1`` still listed), a deleted service
``old`` (INACTIVE), two tasks of ``job:1`` (all three secret fields), and an empty cluster ``idle``.
"""

from __future__ import annotations

import copy
import json
import os
import re
from typing import Any

import pytest

from kecs_secrets.config import EcsDemandSettings, parse_config
from kecs_secrets.ecs_demand import counted_references, ecs_references, is_ecs_origin, read_ecs_demand, task_definition_secrets
from kecs_secrets.errors import ConfigError, SourceUnavailableError
from kecs_secrets.planning import make_plan
from kecs_secrets.restarts import restart_candidates, restart_targets, services_to_restart
from tests.unit.test_planning import MASTER_NS, STACK, FakeCluster, FakeFiles, FakeSource, FakeState, secret

with open(os.path.join(os.path.dirname(__file__), "fixtures", "ecs_shapes.json"), encoding="utf-8") as _file:
    SHAPES: dict[str, Any] = json.load(_file)

TD = "arn:aws:ecs:us-east-1:000000000000:task-definition/"
SM = "arn:aws:secretsmanager:us-east-1:000000000000:secret:"
REGION = "us-east-1"


class FakeEcs:
    """EcsApi over the recorded answers; counts the task definitions it is asked for; fails on request."""

    def __init__(self, shapes: dict[str, Any] = SHAPES, failing: str = "") -> None:
        self.shapes, self.failing = shapes, failing
        self.described: list[str] = []

    def _check(self, call: str) -> None:
        if call == self.failing:
            raise SourceUnavailableError(f"cannot read ECS {call} from http://fake-ecs: ServerException")

    def clusters(self):
        self._check("ListClusters")
        return self.shapes["clusters"]

    def services(self, cluster):
        self._check("DescribeServices")
        return self.shapes["services"].get(cluster, [])

    def tasks(self, cluster):
        self._check("DescribeTasks")
        return self.shapes["tasks"].get(cluster, [])

    def task_definition(self, arn):
        self._check("DescribeTaskDefinition")
        self.described.append(arn)
        found = self.shapes["task_definitions"][arn]
        return found

    def active_revisions(self, family):
        return self.shapes["revisions"].get(family, [])


def enabled(**fields: Any) -> EcsDemandSettings:
    return EcsDemandSettings(enabled=True, region=REGION, **fields)


def test_in_use_are_services_their_rollouts_and_running_tasks_never_a_deleted_service():
    api = FakeEcs()
    demand = read_ecs_demand(api, enabled())
    tasks = sorted(t["taskArn"].rsplit("/", 1)[-1] for t in SHAPES["tasks"]["web"])
    assert [(u.cluster, u.kind, u.name, u.task_definition) for u in demand.users] == [
        ("web", "service", "api", f"{TD}web:2"),  # moto answers "web:2" as given: the description gives the ARN
        ("web", "deployment", "api", f"{TD}web:1"),
        *[("web", "task", task, f"{TD}job:1") for task in tasks],
    ]
    assert sorted(api.described) == [f"{TD}job:1", f"{TD}web:1", "web:2"]  # each once; gone:1 (INACTIVE service) never


def test_every_field_through_which_ecs_resolves_a_secret_counts_with_its_origin():
    refs, warnings = ecs_references(read_ecs_demand(FakeEcs(), enabled()))
    first_task = min(t["taskArn"].rsplit("/", 1)[-1] for t in SHAPES["tasks"]["web"])
    job = f"ECS task web/{first_task} and 1 more, task definition {TD}job:1, container app"
    assert warnings == []
    assert sorted((r.namespace, r.value_from, r.origin) for r in refs) == sorted([
        ("web-us-east-1", "/app/log-key", f"{job}, logConfiguration.secretOptions[0].valueFrom (LOG_KEY)"),
        ("web-us-east-1", "arn:aws:ssm:us-east-1:000000000000:parameter/app/param", f"{job}, secrets[0].valueFrom (PARAM)"),
        ("web-us-east-1", f"{SM}registry-AbCdEf", f"{job}, repositoryCredentials.credentialsParameter"),
        ("web-us-east-1", f"{SM}db-AbCdEf:password::",
         f"ECS service web/api, task definition {TD}web:2, container app, secrets[0].valueFrom (DB_PASSWORD)"),
        ("web-us-east-1", f"{SM}api-token-XyZ123",
         f"ECS service web/api, task definition {TD}web:2, container app, secrets[1].valueFrom (API_TOKEN)"),
        ("web-us-east-1", f"{SM}db-AbCdEf:password::",
         f"ECS service web/api (a deployment in progress), task definition {TD}web:1, container app, secrets[0].valueFrom (DB_PASSWORD)"),
    ])
    assert all(is_ecs_origin(r.origin) for r in refs)


def test_a_malformed_entry_is_skipped_and_reported_on_its_task_definition_the_rest_counts():
    shapes = copy.deepcopy(SHAPES)
    container = shapes["task_definitions"][f"{TD}job:1"]["containerDefinitions"][0]
    container["secrets"].append({"name": "BROKEN"})
    container["repositoryCredentials"] = {"credentialsParameter": 7}
    refs, warnings = ecs_references(read_ecs_demand(FakeEcs(shapes), enabled()))
    assert [w.split(": skipped entries: ")[1] for w in warnings] == [
        "container app secrets[1] has no string 'valueFrom'; container app repositoryCredentials has no string 'credentialsParameter'"
    ]
    assert warnings[0].startswith(f"ECS task definition {TD}job:1 (used by task web/")
    assert {r.value_from for r in refs if "job:1" in r.origin} == {"/app/log-key", "arn:aws:ssm:us-east-1:000000000000:parameter/app/param"}


@pytest.mark.parametrize("document", [None, {}, {"containerDefinitions": "x"}, {"containerDefinitions": [3]}])
def test_a_task_definition_of_the_wrong_shape_gives_no_reference_and_a_problem(document):
    found, problems = task_definition_secrets(document)
    assert found == [] and len(problems) == 1


def test_a_cluster_whose_name_gives_no_valid_namespace_is_ignored_with_a_warning():
    shapes = copy.deepcopy(SHAPES)
    shapes["services"]["Web_Cluster"] = shapes["services"].pop("web")
    shapes["tasks"]["Web_Cluster"] = shapes["tasks"].pop("web")
    refs, warnings = ecs_references(read_ecs_demand(FakeEcs(shapes), enabled(clusters=("Web_Cluster",))))
    assert refs == []
    assert warnings == ["ECS cluster 'Web_Cluster' ignored: its namespace 'Web_Cluster-us-east-1' is not a valid namespace name"]


def test_all_revisions_adds_each_active_revision_of_the_families_in_use_described_once():
    api = FakeEcs()
    demand = read_ecs_demand(api, enabled(all_revisions=True))
    revisions = sorted((u.name, u.task_definition) for u in demand.users if u.kind == "revision")
    assert revisions == [("job", f"{TD}job:1"), ("web", f"{TD}web:1"), ("web", f"{TD}web:2")]
    assert len(api.described) == len(set(api.described)) == 3


def test_named_clusters_are_the_only_ones_read():
    api = FakeEcs(failing="ListClusters")
    assert read_ecs_demand(api, enabled(clusters=("idle",))).users == ()


def test_demand_for_a_namespace_that_may_not_receive_secrets_is_ignored_with_one_warning():
    refs, _ = ecs_references(read_ecs_demand(FakeEcs(), enabled()))
    kept, warnings = counted_references(refs, {"other": {}}, refused=(MASTER_NS,))
    assert kept == []
    assert warnings == ["ECS demand for namespace 'web-us-east-1' ignored: it may not receive secrets (it does not exist in the cluster)"]
    assert counted_references(refs, None) == (refs, [])  # an offline preview has no namespaces to check


SOURCE = FakeSource([secret("db"), {**secret("api-token"), "ARN": f"{SM}api-token-XyZ123"}, secret("registry")])


def plan(ecs=None, **raw: Any):
    config = {"masterNamespace": MASTER_NS, "ecsDemand": {"enabled": True, "clusters": ["web"]}, **raw}
    return make_plan(parse_config(config), STACK, SOURCE, FakeCluster(), FakeFiles(), dry_run=True, state=FakeState(),
                     ecs=ecs or FakeEcs(_only_sm()))


def _only_sm() -> dict[str, Any]:
    """The recorded scene without the SSM references (the fake source has secrets only)."""
    shapes = copy.deepcopy(SHAPES)
    container = shapes["task_definitions"][f"{TD}job:1"]["containerDefinitions"][0]
    container["secrets"], container["logConfiguration"]["secretOptions"] = [], []
    return shapes


def test_ecs_demand_gives_its_namespace_exactly_the_replicas_it_references():
    result = plan()
    assert result.layout.replicas_by_namespace() == {"web-us-east-1": ["sm-api-token", "sm-db", "sm-registry"]}
    assert result.ecs is not None and result.layout.origins["web-us-east-1"].startswith("ECS ")


def test_an_ecs_failure_fails_the_plan_before_anything_and_is_never_read_as_no_demand():
    with pytest.raises(SourceUnavailableError, match="cannot read ECS DescribeServices from http://fake-ecs"):
        plan(FakeEcs(_only_sm(), failing="DescribeServices"))


def test_an_unresolvable_ecs_reference_is_tenant_demand_skipped_by_itself_naming_its_origin():
    """ECS tasks are tenants' demand, like pods: a bad reference is skipped and named, the rest converges."""
    shapes = _only_sm()
    shapes["task_definitions"]["web:2"]["containerDefinitions"][0]["secrets"][1]["valueFrom"] = f"{SM}missing-AbCdEf"
    for setting in ("error", "warn"):  # unresolvedReferences governs the owner's demand only
        result = plan(FakeEcs(shapes), unresolvedReferences=setting)
        lines = [w for w in result.warnings if w.startswith(f"reference '{SM}missing-AbCdEf' from ECS service web/api")]
        assert len(lines) == 1 and re.search(r"task definition .*web:2, container app", lines[0]), result.warnings
        assert lines[0].endswith("skipped, the rest of the run goes on")
        assert result.layout.replicas_by_namespace()["web-us-east-1"]  # the task definition's other references are served


def test_enabled_without_an_ecs_api_is_refused():
    with pytest.raises(ConfigError, match="ecsDemand is enabled, but the program was given no ECS API"):
        make_plan(parse_config({"ecsDemand": {"enabled": True}}), STACK, SOURCE, FakeCluster(), FakeFiles(), dry_run=True)


# restartOnChange


def test_a_service_is_watched_for_the_keys_its_current_task_definition_reads():
    result = plan()
    (target,) = restart_targets(result.ecs, result.layout, REGION)
    assert (target.shown, target.namespace) == ("web/api", "web-us-east-1")
    assert target.selects == (("sm-api-token", "value"), ("sm-db", "password"))  # web:2's, not the rollout's web:1


def seen(version: str, **prints: str) -> dict[str, Any]:
    return {"version": version, "prints": prints}


SERVICES = {"svc-a": [["sm-db", "password"]], "svc-b": [["sm-db", "user"]], "svc-c": [["sm-db", "value"]], "svc-d": [["sm-other", "value"]]}
OLD = {"sm-db": seen("v1", password="p1", user="u1", value="w1"), "sm-other": seen("v1", value="o1")}


def test_a_rotated_json_key_restarts_exactly_the_services_that_read_it_or_the_whole_secret():
    new = {**OLD, "sm-db": seen("v2", password="p2", user="u1", value="w2")}
    assert services_to_restart(SERVICES, OLD, new) == ["svc-a", "svc-c"]


def test_nothing_changed_or_only_the_version_restarts_nothing():
    assert services_to_restart(SERVICES, OLD, OLD) == []
    same_value = {**OLD, "sm-db": seen("v2", password="p1", user="u1", value="w1")}
    assert services_to_restart(SERVICES, OLD, same_value) == []


def test_a_key_with_no_fingerprint_before_restarts_nothing():
    new = {**OLD, "sm-db": seen("v2", password="p2", user="u2", value="w2")}
    assert services_to_restart(SERVICES, {"sm-other": OLD["sm-other"]}, new) == []
    assert services_to_restart({"svc-e": [["sm-db", "port"]]}, OLD, new) == []


def test_the_preview_lists_the_services_reading_a_master_this_run_changes():
    result = plan()
    targets = restart_targets(result.ecs, result.layout, REGION)
    assert restart_candidates(targets, frozenset({"sm-db"})) == ["web/api"]
    assert restart_candidates(targets, frozenset({"sm-registry"})) == []


# settings


def test_ecs_settings_default_to_off_and_to_the_sources_endpoint_and_region():
    assert parse_config({}).ecs_demand == EcsDemandSettings(enabled=False, endpoint="http://localhost:4566", region=REGION)
    ecs = parse_config({"endpoint": "", "region": "eu-west-1", "ecsDemand": {"enabled": True, "clusters": ["b", "a"]}}).ecs_demand
    assert (ecs.endpoint, ecs.region, ecs.clusters) == ("", "eu-west-1", ("a", "b"))


@pytest.mark.parametrize(("value", "message"), [
    ({"enable": True}, "unknown field 'enable' (known fields: enabled, endpoint, region, clusters, allRevisions, restartOnChange; closest: 'enabled')"),
    ({"enabled": "yes"}, "ecsDemand.enabled must be of type boolean"),
    ({"clusters": "web"}, "ecsDemand.clusters must be of type array"),
    ({"clusters": ["a/b"]}, "ecsDemand.clusters entries must be ECS cluster names"),
    ({"clusters": ["Web"]}, "ecsDemand.clusters entry 'Web' gives an invalid namespace name"),
    ({"region": "mars"}, "ecsDemand.region is not an AWS region name"),
    ({"endpoint": "ftp://x"}, "ecsDemand.endpoint must be empty (real AWS) or an http(s) URL"),
    ({"restartOnChange": True}, "ecsDemand.restartOnChange needs config kecs-secrets:ecsDemand.enabled: true"),
])
def test_ecs_settings_are_strict(value, message):
    with pytest.raises(ConfigError) as caught:
        parse_config({"ecsDemand": value})
    assert message in str(caught.value)
