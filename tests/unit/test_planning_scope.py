"""Several stacks on one cluster: ``make_plan`` serves only the ECS cluster namespaces of the stack's region and clusters."""

from __future__ import annotations

from typing import Any

import pytest

from kecs_secrets.errors import LayoutError
from kecs_secrets.planning import make_plan
from tests.unit.test_planning import ACCOUNT, MASTER_NS, STACK, WHEN, FakeCluster, FakeFiles, FakeSource, FakeState, settings

DEV, STAGING = "us-east-1", "eu-west-1"


def source(region: str) -> FakeSource:
    """The same names in every region (as dev and staging have them), each with its region's ARN."""
    secrets = [
        {
            "Name": name,
            "ARN": f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{name}-AbCdEf",
            "SecretVersionsToStages": {"v-1": ["AWSCURRENT"]},
            "LastChangedDate": WHEN,
        }
        for name in ("app/db", "app/token")
    ]
    return FakeSource(secrets, [{"Name": "/app/password", "Type": "SecureString", "Version": 1, "LastModifiedDate": WHEN}])


LABELS = {
    f"{cluster}-{region}": {"kecs.dev/type": "ecs-cluster", "kecs.dev/cluster": cluster, "kecs.dev/region": region}
    for cluster in ("web", "batch")
    for region in (DEV, STAGING)
}


class SharedCluster(FakeCluster):
    """One cluster holding ECS cluster namespaces of two regions, labelled as KECS labels them."""

    def __init__(self, pods=()) -> None:
        super().__init__(namespaces=(MASTER_NS, *LABELS), pods=pods)

    def namespaces(self):
        super().namespaces()
        return {name: LABELS.get(name, {}) for name in self._namespaces}


def pod(namespace: str, name: str, value_from: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace, "annotations": {"kecs.dev/secret-0-arn": f"app:V:{value_from}"}}}


# A dev task and a staging task, each in its region's namespace, each naming its own account's secrets.
PODS = [
    pod("web-us-east-1", "dev-bare", "app/db"),
    pod("web-us-east-1", "dev-arn", f"arn:aws:secretsmanager:{DEV}:{ACCOUNT}:secret:app/token-AbCdEf"),
    pod("web-eu-west-1", "staging-bare", "/app/password"),
    pod("batch-eu-west-1", "staging-batch", "app/db"),
]


def plan(region: str, **config: Any):
    warnings: list[str] = []
    result = make_plan(settings(region=region, podDemand=True, **config), STACK, source(region), SharedCluster(PODS), FakeFiles(),
                       dry_run=False, state=FakeState(), warn=warnings.append)  # fmt: skip
    return result, warnings


def test_each_stack_serves_only_the_pods_of_its_own_region_and_says_nothing_about_the_others():
    dev, dev_warned = plan(DEV)
    staging, staging_warned = plan(STAGING)
    assert dev.layout.replicas_by_namespace() == {"web-us-east-1": ["sm-app-db", "sm-app-token"]}
    assert staging.layout.replicas_by_namespace() == {"batch-eu-west-1": ["sm-app-db"], "web-eu-west-1": ["ssm-app-password"]}
    assert [r.namespace for r in staging.layout.rbac] == ["batch-eu-west-1", "web-eu-west-1"]
    assert (dev.warnings, staging.warnings, dev_warned, staging_warned) == ((), (), [], [])


def test_clusters_narrow_a_stack_to_the_ecs_clusters_it_names():
    staging, _ = plan(STAGING, clusters=["web"])
    assert staging.layout.replicas_by_namespace() == {"web-eu-west-1": ["ssm-app-password"]}
    assert staging.warnings == ()


def test_allowed_namespaces_stay_the_explicit_override():
    staging, _ = plan(STAGING, clusters=["web"], allowedNamespaces=["batch-eu-west-1"])
    assert set(staging.layout.replicas_by_namespace()) == {"batch-eu-west-1", "web-eu-west-1"}


@pytest.mark.parametrize(
    ("config", "culprit"),
    [
        ({"demand": {"web-us-east-1": ["app/db"]}}, "namespace 'web-us-east-1' (from config kecs-secrets:demand.web-us-east-1[0])"),
        ({"taskDefinitions": [{"path": "td.json", "cluster": "web", "region": DEV}]}, "namespace 'web-us-east-1' (from task definition td.json"),
        ({"demand": {"batch-eu-west-1": ["app/db"]}, "clusters": ["web"]}, "namespace 'batch-eu-west-1' (from config"),
    ],
    ids=["config demand", "task definition", "cluster not named"],
)
def test_the_owners_demand_for_another_stacks_namespace_is_an_error_naming_it(config, culprit):
    files = FakeFiles({"td.json": [("td.json", {"containerDefinitions": [{"name": "app", "secrets": [{"name": "V", "valueFrom": "app/db"}]}]})]})
    with pytest.raises(LayoutError) as caught:
        make_plan(settings(region=STAGING, **config), STACK, source(STAGING), SharedCluster(), files, dry_run=True, state=FakeState())
    assert str(caught.value).startswith(culprit), caught.value
    assert "is not served by this stack" in str(caught.value)
