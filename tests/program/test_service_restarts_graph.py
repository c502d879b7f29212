"""restartOnChange in the resource graph (Pulumi mocks): one kecs:ServiceRestarts after the replicas its services read."""

from __future__ import annotations

import pulumi

import components.centralized_secrets as centralized
from components.centralized_secrets import CentralizedSecrets, CentralizedSecretsArgs
from components.outputs import OUTPUT_RESTARTED
from kecs_secrets.config import LayoutSettings
from kecs_secrets.layout import plan_layout
from kecs_secrets.restarts import RestartTarget
from tests.program.test_resource_graph import DEMAND, ITEMS, STACK
from tests.unit.conftest import REGION

TYPE = "pulumi-python:dynamic/kecs:ServiceRestarts"
WEB = RestartTarget("default", "web", "arn:aws:ecs:us-east-1:000000000000:service/default/web", "default-us-east-1",
                    (("sm-db-creds", "username"), ("ssm-app-db-password", "value")))


def build(restarts):
    layout = plan_layout(ITEMS, DEMAND, LayoutSettings(stack=STACK), REGION)
    return CentralizedSecrets("kecs-secrets", CentralizedSecretsArgs(
        layout, "kecs-system", "http://localhost:4566", REGION, kubeconfig="kc", restarts=restarts,
        ecs_endpoint="http://ecs", ecs_region=REGION,
    ))


@pulumi.runtime.test
def test_restarts_watch_what_each_service_reads_after_its_replicas_are_written(mocks, monkeypatch):
    recorded: dict[str, pulumi.ResourceOptions] = {}
    real = centralized.ServiceRestarts

    def init(self, name, *, opts=None, **kwargs):
        recorded[name] = opts
        real.__init__(self, name, opts=opts, **kwargs)

    spy = type("ServiceRestarts", (real,), {"__init__": init}, module="kecs", name="ServiceRestarts")
    monkeypatch.setattr(centralized, "ServiceRestarts", spy)
    secrets = build((WEB,))
    assert sorted(d._name for d in recorded["restarts"].depends_on) == [
        "default-us-east-1/sm-db-creds", "default-us-east-1/ssm-app-db-password",
    ]

    def check(_):
        (restarts,) = mocks.of_type(TYPE)
        assert restarts.inputs["services"] == {WEB.arn: {"cluster": "default", "name": "web", "selects": [
            ["sm-db-creds", "username"], ["ssm-app-db-password", "value"],
        ]}}
        assert (restarts.inputs["endpoint"], restarts.inputs["region"]) == ("http://ecs", REGION)
        # The mocks' reader gives every master the fingerprint 0...0 and no JSON-key fingerprints.
        assert restarts.inputs["seen"] == {
            "sm-db-creds": {"version": "cur-id", "prints": {}},  # (a None is not sent)
            "ssm-app-db-password": {"version": "1", "prints": {"value": "0" * 64}},
        }

    return pulumi.Output.all(*[r.urn for r in secrets.resources], secrets.outputs[OUTPUT_RESTARTED]).apply(check)


@pulumi.runtime.test
def test_without_restart_on_change_there_is_no_restarts_resource(mocks):
    secrets = build(None)

    def check(_):
        assert mocks.of_type(TYPE) == [] and OUTPUT_RESTARTED not in secrets.outputs

    return pulumi.Output.all(*[r.urn for r in secrets.resources]).apply(check)
