"""The resource graph the program registers for a realistic inventory and demand (Pulumi mocks)."""

from __future__ import annotations

import json

import pulumi
import pytest

from components.centralized_secrets import CentralizedSecrets, CentralizedSecretsArgs
from components.outputs import OUTPUT_COUNTS, OUTPUT_MASTERS, OUTPUT_REPLICAS
from kecs_secrets.config import LayoutSettings
from kecs_secrets.layout import plan_layout
from kecs_secrets.model import Reference
from providers.source_values import COMPACT_KEYS
from tests.unit.conftest import REGION, parameter, secret

STACK = "kecs-secrets/test"
SECRET_SIG_KEY, SECRET_SIG_VALUE = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"
DB_ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-creds-A1b2C3"
ITEMS = [
    secret("db-creds", "A1b2C3", version="cur-id"),
    secret("myapp/prod/db.v2", "Xy12Zq"),
    parameter("/app/db/password", "SecureString"),
    parameter("/app/feature-flags", "StringList"),
    parameter("app-param", "String"),
]
DEMAND = [
    Reference("default-us-east-1", f"{DB_ARN}:username::", "td web.json"),
    Reference("default-us-east-1", "/app/db/password", "td web.json"),
    Reference("default-us-east-1", "app-param", "td web.json"),
    Reference("batch-us-east-1", f"{DB_ARN}:password::", "config"),
]


def build(rbac_mode: str = "cluster-role", ssm_kind: str = "secret", leftovers: tuple = (), kept: frozenset = frozenset()) -> CentralizedSecrets:
    layout = plan_layout(ITEMS, DEMAND, LayoutSettings(stack=STACK, rbac_mode=rbac_mode, ssm_kind=ssm_kind), REGION)
    return CentralizedSecrets(
        "kecs-secrets",
        CentralizedSecretsArgs(layout, "kecs-system", "http://localhost:4566", REGION, kubeconfig="kc", leftovers=leftovers, kept=kept),
    )


def k8s_objects(mocks, typ):
    return {
        (r.inputs["metadata"].get("namespace", ""), r.inputs["metadata"]["name"]): r
        for r in mocks.of_type(typ)
    }


@pulumi.runtime.test
def test_masters_one_per_source_item_all_secrets_by_default(mocks):
    secrets = build()

    def check(_):
        found = k8s_objects(mocks, "kubernetes:core/v1:Secret")
        assert {k for k in found if k[0] == "kecs-system"} == {
            ("kecs-system", "sm-db-creds"), ("kecs-system", "sm-myapp-prod-db.v2"), ("kecs-system", "ssm-app-db-password"),
            ("kecs-system", "ssm-app-feature-flags"), ("kecs-system", "ssm-app-param"),
        }
        assert k8s_objects(mocks, "kubernetes:core/v1:ConfigMap") == {}
        master = found[("kecs-system", "sm-db-creds")].inputs
        assert master["type"] == "Opaque"
        assert master["metadata"]["labels"] == {"kecs.io/managed-by": "kecs", "kecs.io/source": "secretsmanager"}
        assert master["metadata"]["annotations"]["kecs.io/source-version"] == "cur-id"
        assert master["metadata"]["annotations"]["kecs-secrets.io/stack"] == STACK
        # The data reaches the Secret as a Pulumi secret (the SDK's secret signature), never as plain text.
        assert master["data"] == {SECRET_SIG_KEY: SECRET_SIG_VALUE, "value": {"value": "ZmFrZQ=="}}
        (reader,) = mocks.of_type("pulumi-python:dynamic/kecs:SourceValues")
        values = {item[1]: dict(zip(COMPACT_KEYS, item, strict=True)) for item in reader.inputs["items"].values()}
        assert set(values) == {"db-creds", "myapp/prod/db.v2", "/app/db/password", "/app/feature-flags", "app-param"}
        assert values["db-creds"]["json_keys"] == ["password", "username"]
        assert (reader.inputs["endpoint"], reader.inputs["region"]) == ("http://localhost:4566", REGION)  # once, not per item
        assert values["app-param"]["encoding"] == "base64"
        assert values["db-creds"]["encoding"] == "base64"
        # The provider pickle goes with every dynamic resource; it must carry no credential.
        assert "secret_access_key" not in str(reader.inputs)

    return pulumi.Output.all(*[r.urn for r in secrets.resources]).apply(check)


@pulumi.runtime.test
def test_replicas_exactly_where_needed_with_adr_metadata(mocks):
    secrets = build()

    def check(_):
        replicas = {
            k: r for k, r in {**k8s_objects(mocks, "kubernetes:core/v1:Secret"), **k8s_objects(mocks, "kubernetes:core/v1:ConfigMap")}.items()
            if k[0] != "kecs-system"
        }
        assert set(replicas) == {
            ("default-us-east-1", "sm-db-creds"),
            ("default-us-east-1", "ssm-app-db-password"),
            ("default-us-east-1", "ssm-app-param"),
            ("batch-us-east-1", "sm-db-creds"),
        }
        meta = replicas[("batch-us-east-1", "sm-db-creds")].inputs["metadata"]
        assert meta["labels"] == {
            "kecs.io/managed-by": "kecs", "kecs.io/replicated-from": "kecs-system", "kecs.io/source": "secretsmanager",
        }
        assert meta["annotations"]["kecs.io/source-namespace"] == "kecs-system"
        assert meta["annotations"]["kecs.io/last-replicated"] == "2025-08-12T13:38:45Z"
        assert replicas[("default-us-east-1", "ssm-app-param")].typ == "kubernetes:core/v1:Secret"

    return pulumi.Output.all(*[r.urn for r in secrets.resources]).apply(check)


@pulumi.runtime.test
def test_by_sensitivity_makes_string_parameters_configmaps_with_text_data(mocks):
    secrets = build(ssm_kind="by-sensitivity")

    def check(_):
        maps = k8s_objects(mocks, "kubernetes:core/v1:ConfigMap")
        assert set(maps) == {
            ("kecs-system", "ssm-app-feature-flags"), ("kecs-system", "ssm-app-param"), ("default-us-east-1", "ssm-app-param"),
        }
        (reader,) = mocks.of_type("pulumi-python:dynamic/kecs:SourceValues")
        values = {item[1]: dict(zip(COMPACT_KEYS, item, strict=True)) for item in reader.inputs["items"].values()}
        assert values["app-param"]["encoding"] == "text"
        assert values["/app/db/password"]["encoding"] == "base64"

    return pulumi.Output.all(*[r.urn for r in secrets.resources]).apply(check)


@pulumi.runtime.test
def test_rbac_cluster_role_mode(mocks):
    secrets = build()

    def check(_):
        (role,) = mocks.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
        assert role.inputs["metadata"]["name"] == "kecs-system-secret-reader"
        # By name, and only the masters some namespace receives (not sm-myapp-prod-db.v2 nor ssm-app-feature-flags).
        assert role.inputs["rules"] == [{
            "apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"],
            "resourceNames": ["sm-db-creds", "ssm-app-db-password", "ssm-app-param"],
        }]
        accounts = k8s_objects(mocks, "kubernetes:core/v1:ServiceAccount")
        assert set(accounts) == {
            ("default-us-east-1", "kecs-secret-reader-default-us-east-1"),
            ("batch-us-east-1", "kecs-secret-reader-batch-us-east-1"),
        }
        bindings = k8s_objects(mocks, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
        binding = bindings[("kecs-system", "kecs-secret-reader-batch-us-east-1")].inputs
        assert binding["metadata"]["labels"]["kecs.io/for-namespace"] == "batch-us-east-1"
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "kecs-system-secret-reader"}
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kecs-secret-reader-batch-us-east-1", "namespace": "batch-us-east-1"}]
        assert mocks.of_type("kubernetes:rbac.authorization.k8s.io/v1:Role") == []

    return pulumi.Output.all(*[r.urn for r in secrets.resources]).apply(check)


@pulumi.runtime.test
def test_rbac_cluster_role_names_secrets_and_configmaps_in_rules_of_their_own(mocks):
    secrets = build(ssm_kind="by-sensitivity")

    def check(_):
        (role,) = mocks.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
        assert role.inputs["rules"] == [
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"],
             "resourceNames": ["sm-db-creds", "ssm-app-db-password"]},
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"], "resourceNames": ["ssm-app-param"]},
        ]  # fmt: skip

    return pulumi.Output.all(*[r.urn for r in secrets.resources]).apply(check)


@pulumi.runtime.test
def test_rbac_need_to_know_mode(mocks):
    secrets = build("need-to-know")

    def check(_):
        assert mocks.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole") == []
        roles = k8s_objects(mocks, "kubernetes:rbac.authorization.k8s.io/v1:Role")
        role = roles[("kecs-system", "kecs-secret-reader-default-us-east-1")].inputs
        assert role["rules"] == [{
            "apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"],
            "resourceNames": ["sm-db-creds", "ssm-app-db-password", "ssm-app-param"],
        }]
        batch = roles[("kecs-system", "kecs-secret-reader-batch-us-east-1")].inputs
        assert batch["rules"] == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"], "resourceNames": ["sm-db-creds"]}]

    return pulumi.Output.all(*[r.urn for r in secrets.resources]).apply(check)


@pulumi.runtime.test
def test_dependencies_and_provider_options(mocks):
    secrets = build()

    def check(_):
        (provider,) = mocks.of_type("pulumi:providers:kubernetes")
        assert provider.inputs["enableSecretMutable"] == "true" or provider.inputs["enableSecretMutable"] is True
        assert provider.inputs["enableConfigMapMutable"] in ("true", True)
        assert provider.inputs["clusterIdentifier"] == "kecs-secrets"
        assert json.loads(provider.inputs["kubeClientSettings"]) == {"qps": 1000, "burst": 2000}  # provider inputs are JSON text
        for obj in mocks.of_type("kubernetes:core/v1:Secret"):
            assert obj.inputs["metadata"]["annotations"]["pulumi.com/deletionPropagationPolicy"] == "background"
        types = {r.typ for r in mocks.resources}
        assert {"kecs:secrets:Masters", "kecs:secrets:NamespaceReplicas", "kecs:secrets:NamespaceReader"} <= types

    return pulumi.Output.all(*[r.urn for r in secrets.resources]).apply(check)


@pulumi.runtime.test
def test_outputs_name_things_and_hash_them_but_never_hold_values(mocks):
    secrets = build()

    def check(outputs):
        masters, replicas, counts = outputs
        assert counts == {"masters": 5, "replicas": 4, "namespaces": 2}
        assert replicas == {
            "batch-us-east-1": ["sm-db-creds"],
            "default-us-east-1": ["sm-db-creds", "ssm-app-db-password", "ssm-app-param"],
        }
        assert masters["sm-db-creds"] == {
            "kind": "Secret", "source": "secretsmanager", "sourceName": "db-creds", "version": "cur-id", "fingerprint": "0" * 64,
        }
        assert "ZmFrZQ==" not in str(outputs)

    return pulumi.Output.all(
        secrets.outputs[OUTPUT_MASTERS], secrets.outputs[OUTPUT_REPLICAS], secrets.outputs[OUTPUT_COUNTS]
    ).apply(check)


@pytest.mark.parametrize("bad", ["Bad_NS"])
def test_invalid_demand_never_reaches_resource_registration(mocks, bad):
    from kecs_secrets.errors import LayoutError

    with pytest.raises(LayoutError):
        plan_layout(ITEMS, [Reference(bad, "app-param", "config")], LayoutSettings(), REGION)
    assert mocks.resources == []


def test_replicas_do_not_wait_for_their_master_and_every_object_uses_the_explicit_provider(mocks, monkeypatch):
    """Dependencies are resource options, which mocks do not see: record them at construction.

    A replica takes its data from the value reader, as its master does: it need not wait for the master.
    """
    recorded: dict[str, pulumi.ResourceOptions] = {}
    _spy_secrets(monkeypatch, lambda name, opts, kwargs: recorded.__setitem__(name, opts))
    build()
    master_opts = recorded["sm-db-creds"]
    replica_opts = recorded["batch-us-east-1/sm-db-creds"]
    assert not replica_opts.depends_on and not master_opts.depends_on
    assert master_opts.provider is replica_opts.provider is not None
    assert master_opts.parent is not None and replica_opts.parent is not None


@pulumi.runtime.test
def test_the_one_value_reader_waits_for_nothing_and_an_empty_sweep_without_leftovers(mocks):
    """The reader makes the fingerprint key itself: no other resource, no input that waits for one."""
    secrets = build()

    def check(_):
        assert mocks.of_type("pulumi-python:dynamic/kecs:FingerprintKey") == []
        (reader,) = mocks.of_type("pulumi-python:dynamic/kecs:SourceValues")
        assert len(reader.inputs["items"]) == 5
        assert "fingerprint_key" not in reader.inputs
        assert reader.inputs["selected_by"]["sm-db-creds"] == {
            "password": f"reference '{DB_ARN}:password::' from config",
            "username": f"reference '{DB_ARN}:username::' from td web.json",
        }
        (sweep,) = mocks.of_type("pulumi-python:dynamic/kecs:LeftoverSweep")
        assert sweep.inputs["objects"] == []

    return pulumi.Output.all(*[r.urn for r in secrets.resources]).apply(check)


@pulumi.runtime.test
def test_leftovers_are_handed_to_one_sweep_with_their_uids(mocks):
    import os

    secrets = build(leftovers=(("Secret", "kecs-system", "sm-gone", "uid-1"),))

    def check(_):
        (sweep,) = mocks.of_type("pulumi-python:dynamic/kecs:LeftoverSweep")
        assert sweep.inputs["objects"] == [["Secret", "kecs-system", "sm-gone", "uid-1"]]
        assert sweep.inputs["kubeconfig"] == os.path.abspath("kc")

    return pulumi.Output.all(*[r.urn for r in secrets.resources]).apply(check)


def test_a_namespaces_reader_waits_for_the_masters_it_reads(mocks, monkeypatch):
    """A run that fails on a value (say a JSON key the secret lacks) must not have changed that namespace's RBAC first."""
    import pulumi_kubernetes as k8s

    recorded: dict[str, pulumi.ResourceOptions] = {}
    for kind in ("ServiceAccount",):
        real = getattr(k8s.core.v1, kind)
        monkeypatch.setattr(k8s.core.v1, kind, type(kind, (real,), {"__init__": _spy(real, recorded)}))
    real_role = k8s.rbac.v1.Role
    monkeypatch.setattr(k8s.rbac.v1, "Role", type("Role", (real_role,), {"__init__": _spy(real_role, recorded)}))
    build("need-to-know")
    for name in ("batch-us-east-1/kecs-secret-reader-batch-us-east-1", "kecs-system/kecs-secret-reader-batch-us-east-1"):
        assert sorted(d._name for d in recorded[name].depends_on) == ["sm-db-creds"], name
    default_sa = recorded["default-us-east-1/kecs-secret-reader-default-us-east-1"]
    assert sorted(d._name for d in default_sa.depends_on) == ["sm-db-creds", "ssm-app-db-password", "ssm-app-param"]


def _spy(real, recorded):
    def init(self, resource_name, *args, opts=None, **kwargs):
        recorded[resource_name] = opts
        real.__init__(self, resource_name, *args, opts=opts, **kwargs)

    return init


def test_objects_that_keep_their_data_ignore_changes_to_it_and_the_others_take_the_readers_value(mocks, monkeypatch):
    """A kept object is registered with a placeholder the API server would refuse and ignore_changes on data (the
    engine puts the state's data in its place); every other object takes its data from the value reader."""
    from components.objects import KEPT_DATA

    recorded: dict[str, tuple[pulumi.ResourceOptions, object]] = {}
    _spy_secrets(monkeypatch, lambda name, opts, kwargs: recorded.__setitem__(name, (opts, kwargs.get("data"))))
    kept = frozenset({("Secret", "kecs-system", "sm-db-creds"), ("Secret", "batch-us-east-1", "sm-db-creds")})
    build(kept=kept)
    assert set(recorded) >= {"sm-db-creds", "batch-us-east-1/sm-db-creds", "default-us-east-1/sm-db-creds", "ssm-app-param"}
    for name, (opts, data) in recorded.items():
        ignored = list(opts.ignore_changes or [])
        if name in ("sm-db-creds", "batch-us-east-1/sm-db-creds"):
            assert ignored == ["data"], name
            assert data == KEPT_DATA, name
        else:
            assert ignored == [], name
            assert isinstance(data, pulumi.Output), name  # the reader's value
    # Not a valid data key (alphanumerics, '-', '_', '.'): the API server would refuse an object made from it.
    assert all(not key.replace("-", "").replace(".", "").replace("_", "").isalnum() for key in KEPT_DATA)


@pulumi.runtime.test
def test_objects_take_secret_data_from_the_reader_without_recording_it_as_a_dependency(mocks, monkeypatch):
    """The state records no reader URN per object (see components.masters._without_dependencies); the data stays secret."""
    data: dict[str, pulumi.Output] = {}
    _spy_secrets(monkeypatch, lambda name, opts, kwargs: data.__setitem__(name, kwargs["data"]))

    def as_secret(outputs):  # the values as the engine returns them (additionalSecretOutputs): a secret
        outputs["values"] = {SECRET_SIG_KEY: SECRET_SIG_VALUE, "value": outputs["values"]}

    _on_reader_registered(monkeypatch, mocks, as_secret)
    build()
    assert {"sm-db-creds", "batch-us-east-1/sm-db-creds"} <= set(data)

    async def facts():
        return {name: (await d.resources(), await d.is_secret(), await d.future()) for name, d in data.items()}

    def check(found):
        for name, (resources, is_secret, value) in found.items():
            assert resources == set() and is_secret, name
            assert value == {"value": "ZmFrZQ=="}, name

    return pulumi.Output.from_input(facts()).apply(check)


def test_the_reader_is_registered_before_the_objects_are_built(mocks, monkeypatch):
    """Its registration is sent while the program builds the objects that take their data from it (so it reads meanwhile)."""
    import threading

    reader_registered = threading.Event()
    _on_reader_registered(monkeypatch, mocks, lambda outputs: reader_registered.set())
    seen_at_first_object: list[bool] = []

    def first_object(name, opts, kwargs):
        if not seen_at_first_object:
            # The event loop does not run while this waits: only a registration already sent can arrive.
            seen_at_first_object.append(reader_registered.wait(timeout=10))

    _spy_secrets(monkeypatch, first_object)
    build()
    assert seen_at_first_object == [True]


def _spy_secrets(monkeypatch, seen) -> None:
    """Call ``seen(resource_name, opts, kwargs)`` as each Secret is constructed (mocks do not see resource options)."""
    import pulumi_kubernetes as k8s

    real = k8s.core.v1.Secret

    class SpySecret(real):
        def __init__(self, resource_name, *args, opts=None, **kwargs):
            seen(resource_name, opts, kwargs)
            super().__init__(resource_name, *args, opts=opts, **kwargs)

    monkeypatch.setattr(k8s.core.v1, "Secret", SpySecret)


def _on_reader_registered(monkeypatch, mocks, hook) -> None:
    """Call ``hook(outputs)`` (it may change them) when the mock monitor receives the value reader's registration."""
    record = mocks.new_resource

    def new_resource(args):
        id_, outputs = record(args)
        if args.typ == "pulumi-python:dynamic/kecs:SourceValues":
            hook(outputs)
        return id_, outputs

    monkeypatch.setattr(mocks, "new_resource", new_resource)
