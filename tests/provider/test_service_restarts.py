"""kecs:ServiceRestarts' provider against a real ECS API (moto's server): which services get a new deployment, and how many calls."""

from __future__ import annotations

import pytest

from kecs_secrets.errors import SourceUnavailableError
from providers.service_restarts import SERVICE_RESTARTS_ID, ServiceRestartsProvider
from tests.support.ecs import ECS, ecs_api, register
from tests.support.moto import moto_server

REGION = "us-east-1"


@pytest.fixture
def scene():
    with moto_server(account="000000000000") as moto, ecs_api(moto) as api:
        api.client.create_cluster(clusterName="web")
        task = register(api.client, "web", [{"name": "X", "valueFrom": "/x"}])
        services = {}
        for name, pairs in (("reads-password", [["sm-db", "password"]]), ("reads-user", [["sm-db", "user"]]),
                            ("reads-all", [["sm-db", "value"]]), ("reads-other", [["sm-other", "value"]])):
            arn = api.client.create_service(cluster="web", serviceName=name, taskDefinition=task, desiredCount=1)["service"]["serviceArn"]
            services[arn] = {"cluster": "web", "name": name, "selects": pairs}
        api.calls()
        yield api, services


def deployment(api, name):
    return api.client.describe_services(cluster="web", services=[name])["services"][0]["deployments"][0]["id"]


def props(api, services, db: tuple[str, str, str, str]):
    version, password, user, value = db
    seen = {
        "sm-db": {"version": version, "prints": {"password": password, "user": user, "value": value}},
        "sm-other": {"version": "o1", "prints": {"value": "other"}},
    }
    return {"endpoint": api.endpoint, "region": REGION, "services": services, "seen": seen}


def test_create_restarts_nothing_and_a_no_change_is_no_change(scene):
    api, services = scene
    first = ServiceRestartsProvider().create(props(api, services, ("v1", "p1", "u1", "w1")))
    assert first.id == SERVICE_RESTARTS_ID and first.outs["restarted"] == []
    assert ServiceRestartsProvider().diff(first.id, first.outs, props(api, services, ("v1", "p1", "u1", "w1"))).changes is False
    assert api.calls() == {}


def test_a_rotated_key_restarts_exactly_the_services_reading_it_one_call_each(scene):
    api, services = scene
    before = {s["name"]: deployment(api, s["name"]) for s in services.values()}
    olds = ServiceRestartsProvider().create(props(api, services, ("v1", "p1", "u1", "w1"))).outs
    news = props(api, services, ("v2", "p2", "u1", "w2"))
    assert ServiceRestartsProvider().diff(SERVICE_RESTARTS_ID, olds, news).changes is True
    api.calls()
    updated = ServiceRestartsProvider().update(SERVICE_RESTARTS_ID, olds, news)
    assert updated.outs["restarted"] == ["web/reads-all", "web/reads-password"]
    assert api.calls() == {"UpdateService": 2}
    after = {s["name"]: deployment(api, s["name"]) for s in services.values()}
    assert {name for name in before if before[name] != after[name]} == {"reads-all", "reads-password"}


def test_a_service_gone_meanwhile_is_skipped_and_a_refused_restart_fails_in_one_line(scene):
    api, services = scene
    olds = ServiceRestartsProvider().create(props(api, services, ("v1", "p1", "u1", "w1"))).outs
    news = props(api, services, ("v2", "p2", "u2", "w2"))
    # (moto keeps a deleted service, INACTIVE, and updates it: AWS answers ServiceNotActiveException.)
    api.proxy.fail = {f"{ECS}UpdateService": (400, "ServiceNotActiveException")}
    assert ServiceRestartsProvider().update(SERVICE_RESTARTS_ID, olds, news).outs["restarted"] == []
    api.proxy.fail = {f"{ECS}UpdateService": (400, "AccessDeniedException")}
    with pytest.raises(ExceptionGroup) as caught:
        ServiceRestartsProvider().update(SERVICE_RESTARTS_ID, olds, news)
    api.proxy.fail = {}
    assert sorted(str(e) for e in caught.value.exceptions) == [
        f"cannot restart ECS service web/{name} (UpdateService at {api.endpoint}): AccessDeniedException"
        for name in ("reads-all", "reads-password", "reads-user")
    ]
    assert all(isinstance(e, SourceUnavailableError) for e in caught.value.exceptions)
