import pytest

from kecs_secrets.config import LayoutSettings
from kecs_secrets.errors import LayoutError, UnmanagedObjectError
from kecs_secrets.layout import plan_layout
from kecs_secrets.preflight import (
    ClusterSnapshot,
    check_unmanaged,
    find_unmanaged,
    managed_masters,
    missing_namespaces,
    wanted_objects,
)
from tests.unit.conftest import REGION, parameter, ref

STACK = "kecs-secrets/dev"
OURS = {"annotations": {"kecs-secrets.io/stack": STACK}}


@pytest.fixture
def layout():
    items = [parameter("/db/password"), parameter("plain", "String")]
    settings = LayoutSettings(stack=STACK, ssm_kind="by-sensitivity")  # one master of each kind
    return plan_layout(items, [ref("web-us-east-1", "/db/password", "file td.json")], settings, REGION)


def test_wanted_objects_cover_masters_replicas_and_rbac(layout):
    assert wanted_objects(layout, "kecs-system") == sorted([
        ("Secret", "kecs-system", "ssm-db-password"),
        ("ConfigMap", "kecs-system", "ssm-plain"),
        ("Secret", "web-us-east-1", "ssm-db-password"),
        ("ServiceAccount", "web-us-east-1", "kecs-secret-reader-web-us-east-1"),
        ("RoleBinding", "kecs-system", "kecs-secret-reader-web-us-east-1"),
        ("ClusterRole", "", "kecs-system-secret-reader"),
    ])


def test_missing_demand_namespace_is_named_with_its_origin(layout):
    with pytest.raises(LayoutError, match=r"namespace 'web-us-east-1' \(from file td.json\) does not exist"):
        missing_namespaces(layout, "kecs-system", {"kecs-system"})


def test_missing_master_namespace(layout):
    with pytest.raises(LayoutError, match="master namespace 'kecs-system' does not exist"):
        missing_namespaces(layout, "kecs-system", {"web-us-east-1"})


def test_objects_of_this_stack_are_not_conflicts_but_anyone_elses_are(layout):
    snapshot = ClusterSnapshot(
        frozenset({"kecs-system", "web-us-east-1"}),
        {
            ("Secret", "kecs-system", "ssm-db-password"): OURS,
            ("Secret", "web-us-east-1", "ssm-db-password"): {"name": "ssm-db-password"},
            ("ConfigMap", "kecs-system", "ssm-plain"): {"annotations": {"kecs-secrets.io/stack": "kecs-secrets/prod"}},
            ("Secret", "web-us-east-1", "unrelated"): {},
        },
    )
    conflicts = find_unmanaged(wanted_objects(layout, "kecs-system"), snapshot, STACK)
    assert conflicts == [("ConfigMap", "kecs-system", "ssm-plain"), ("Secret", "web-us-east-1", "ssm-db-password")]
    with pytest.raises(UnmanagedObjectError, match="ConfigMap kecs-system/ssm-plain, Secret web-us-east-1/ssm-db-password"):
        check_unmanaged(conflicts, adopt=False)
    check_unmanaged(conflicts, adopt=True)


def test_managed_masters_are_those_annotated_with_this_stack():
    snapshot = ClusterSnapshot(
        frozenset({"kecs-system"}),
        {
            ("Secret", "kecs-system", "sm-a"): OURS,
            ("ConfigMap", "kecs-system", "ssm-b"): OURS,
            ("Secret", "kecs-system", "theirs"): {},
            ("Secret", "web", "sm-a"): OURS,
            ("ServiceAccount", "kecs-system", "x"): OURS,
        },
    )
    assert managed_masters(snapshot, "kecs-system", STACK) == ["sm-a", "ssm-b"]
