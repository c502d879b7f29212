"""A focused update registers exactly the objects of its focus, with the inputs a full update gives them, and the
targets the watch passes name exactly those objects (Pulumi mocks; tests/e2e/test_watch.py runs them for real)."""

from __future__ import annotations

import re

import pulumi
import pytest

from components.centralized_secrets import CentralizedSecrets, CentralizedSecretsArgs
from kecs_secrets import targets as types
from kecs_secrets.config import LayoutSettings
from kecs_secrets.focus import Focus
from kecs_secrets.layout import plan_layout
from kecs_secrets.targets import focus_targets
from tests.program.test_resource_graph import DEMAND, ITEMS, STACK
from tests.unit.conftest import REGION

DEFAULT, BATCH = "default-us-east-1", "batch-us-east-1"


def build(focus: Focus | None) -> CentralizedSecrets:
    layout = plan_layout(ITEMS, DEMAND, LayoutSettings(stack=STACK), REGION)
    args = CentralizedSecretsArgs(layout, "kecs-system", "http://localhost:4566", REGION, kubeconfig="kc", stack=STACK, focus=focus)
    return CentralizedSecrets("kecs-secrets", args)


def registered() -> dict[str, dict]:
    """URN -> inputs of every resource registered so far (components included), each URN as the engine makes it.

    Pulumi's mocks put only the parent's own type before a child's (``Masters$kubernetes:...``); the engine puts
    the parent's whole chain (``CentralizedSecrets$Masters$kubernetes:...``), which the targets name.
    """
    monitor = pulumi.runtime.settings.get_monitor()
    inner = (types.MASTERS, types.NAMESPACE_REPLICAS, types.NAMESPACE_READER, types.READER_CLUSTER_ROLE)
    engine_urns = {}
    for urn, registration in monitor.resources.items():
        stack, project, typ, name = urn.split("::", 3)
        if typ.split("$")[0] in inner and "$" in typ:
            typ = f"{types.CENTRALIZED_SECRETS}${typ}"
        engine_urns["::".join((stack, project, typ, name))] = registration.state
    return engine_urns


def glob(pattern: str) -> re.Pattern[str]:
    """Pulumi's target glob: ``**`` any run of characters, ``*`` any run within one part (no ``::``), whole URN."""
    parts = (re.escape(piece).replace(r"\*", "[^:]*") for piece in pattern.split("**"))
    return re.compile(".*".join(parts) + r"\Z")


def targeted(urn: str, targets: list[str]) -> bool:
    return any(glob(target).match(urn) for target in targets)


def objects(urns) -> set[str]:
    """The Kubernetes objects among ``urns``, as ``<type>::<resource name>``."""
    return {f"{urn.split('::')[2].split('$')[-1]}::{urn.split('::')[-1]}" for urn in urns if "$kubernetes:" in urn}


def run(focus: Focus | None):
    secrets = build(focus)
    return pulumi.Output.all(*[r.urn for r in secrets.resources]).apply(lambda _: registered())


@pulumi.runtime.test
def test_a_namespace_focus_registers_its_replicas_rbac_and_the_masters_they_need_and_targets_exactly_its_objects(mocks):
    focus = Focus(namespaces=frozenset({BATCH}))

    def check(found):
        assert objects(found) == {
            f"kubernetes:core/v1:Secret::{BATCH}/sm-db-creds",
            f"kubernetes:core/v1:ServiceAccount::{BATCH}/kecs-secret-reader-{BATCH}",
            f"kubernetes:rbac.authorization.k8s.io/v1:RoleBinding::kecs-system/kecs-secret-reader-{BATCH}",
            "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole::kecs-system-secret-reader",
            "kubernetes:core/v1:Secret::sm-db-creds",  # the master its replica's RBAC waits for (registered, not targeted)
        }
        targets = focus_targets("test", "kecs-secrets", focus)
        hit = {urn for urn in found if targeted(urn, targets)}
        assert objects(hit) == objects(found) - {
            "kubernetes:core/v1:Secret::sm-db-creds", "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole::kecs-system-secret-reader",
        }
        assert any(urn.endswith("::values") for urn in hit), "the value reader is always targeted"

    return run(focus).apply(check)


@pulumi.runtime.test
def test_a_master_focus_registers_its_replicas_everywhere_and_targets_only_them(mocks):
    focus = Focus(masters=frozenset({"sm-db-creds"}))

    def check(found):
        assert objects(found) == {
            f"kubernetes:core/v1:Secret::{DEFAULT}/sm-db-creds",
            f"kubernetes:core/v1:Secret::{BATCH}/sm-db-creds",
            "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole::kecs-system-secret-reader",
        }
        targets = focus_targets("test", "kecs-secrets", focus)
        assert objects(urn for urn in found if targeted(urn, targets)) == objects(found) - {
            "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole::kecs-system-secret-reader",
        }

    return run(focus).apply(check)


@pulumi.runtime.test
def test_a_replica_focus_registers_that_replica_alone_and_targets_only_it(mocks):
    """A pod's demand in a namespace that holds replicas: its other replicas and its RBAC are left as they are."""
    focus = Focus(replicas=frozenset({(DEFAULT, "ssm-app-param")}))

    def check(found):
        assert objects(found) == {
            f"kubernetes:core/v1:Secret::{DEFAULT}/ssm-app-param",
            "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole::kecs-system-secret-reader",
        }
        targets = focus_targets("test", "kecs-secrets", focus)
        hit = {urn for urn in found if targeted(urn, targets)}
        assert objects(hit) == {f"kubernetes:core/v1:Secret::{DEFAULT}/ssm-app-param"}
        assert any(urn.endswith("::values") for urn in hit), "the value reader is always targeted"

    return run(focus).apply(check)


REPLICA_FOCUS = Focus(replicas=frozenset({(DEFAULT, "ssm-app-param")}))


@pytest.mark.parametrize("focus", [Focus(namespaces=frozenset({BATCH})), Focus(masters=frozenset({"sm-db-creds"})), REPLICA_FOCUS])
def test_the_targets_of_a_focus_never_name_an_object_outside_it_in_the_full_layout(focus):
    """Against every object a full update registers: the targets hit the focus's objects only."""
    found: dict[str, dict] = {}

    @pulumi.runtime.test
    def full(mocks):
        return run(None).apply(found.update)

    from tests.program.conftest import RecordingMocks

    pulumi.runtime.set_mocks(RecordingMocks(), project="kecs-secrets", stack="test", preview=False)
    full(None)
    targets = focus_targets("test", "kecs-secrets", focus)
    hit = objects(urn for urn in found if targeted(urn, targets))
    if focus.namespaces:
        expected = {o for o in objects(found) if f"::{BATCH}/" in o or o.endswith(f"/kecs-secret-reader-{BATCH}")}
    elif focus.replicas:
        expected = {o for o in objects(found) if o.endswith(f"::{DEFAULT}/ssm-app-param")}
    else:
        expected = {o for o in objects(found) if o.endswith("/sm-db-creds") and "::kecs-system/" not in o}
    assert hit == expected and expected


@pulumi.runtime.test
def test_objects_registered_in_a_focus_have_the_inputs_of_a_full_update(mocks):
    focus = Focus(namespaces=frozenset({BATCH}), masters=frozenset({"ssm-app-param"}), replicas=frozenset({(DEFAULT, "sm-db-creds")}))
    focused: dict[str, dict] = {}

    def then_full(found):
        focused.update(found)
        pulumi.runtime.settings.get_monitor().resources.clear()
        return run(None)

    def check(full):
        assert objects(focused) < objects(full)
        for urn, state in focused.items():
            assert state == full[urn], urn

    return run(focus).apply(then_full).apply(check)
