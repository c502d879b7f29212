"""The resource graph the program registers for a realistic inventory and demand (Pulumi mocks)."""

from __future__ import annotations

import datetime
import json

import pulumi
import pytest

from components.centralized_secrets import CentralizedSecrets, CentralizedSecretsArgs
from components.outputs import OUTPUT_COUNTS, OUTPUT_MASTERS, OUTPUT_REPLICAS
from kecs_secrets.config import LayoutSettings
from kecs_secrets.layout import plan_layout
from kecs_secrets.model import Reference
from kecs_secrets.ownership import ANNOTATION_MARK, ownership_mark
from providers.source_values import COMPACT_KEYS
from tests.program.conftest import FAKE_KEY
from tests.unit.conftest import REGION, parameter, secret

STACK = "kecs-secrets/test"
SECRET_SIG_KEY, SECRET_SIG_VALUE = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"
CANARY_KEY_ID, CANARY_SECRET_KEY = b"akid-canary-5c1e0b7a", b"secret-key-canary-9f2d4e61"
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


def build(
    rbac_mode: str = "cluster-role", ssm_kind: str = "secret", leftovers: tuple = (), kept: frozenset = frozenset(), marks=None
) -> CentralizedSecrets:
    layout = plan_layout(ITEMS, DEMAND, LayoutSettings(stack=STACK, rbac_mode=rbac_mode, ssm_kind=ssm_kind), REGION)
    return CentralizedSecrets(
        "kecs-secrets",
        CentralizedSecretsArgs(layout, "kecs-system", "http://localhost:4566", REGION, kubeconfig="kc", leftovers=leftovers,
                               kept=kept, stack=STACK, marks=marks or {}),
    )


def _pickled_providers(mocks) -> dict[str, tuple[object, bytes]]:
    """Each dynamic resource's provider as the program sends it (``__provider``): the unpickled object and the pickle."""
    import base64

    import dill

    found = {}
    for resource in mocks.resources:
        if resource.typ.startswith("pulumi-python:dynamic/"):
            sent = resource.inputs["__provider"]
            if isinstance(sent, dict):  # sent as a Pulumi secret (the SDK's default): its signature and its value
                assert sent[SECRET_SIG_KEY] == SECRET_SIG_VALUE
                sent = sent["value"]
            pickled = base64.b64decode(sent)
            found[f"{resource.typ}::{resource.name}"] = (dill.loads(pickled), pickled)
    assert {typ.split("::")[0] for typ in found} >= {"pulumi-python:dynamic/kecs:SourceValues", "pulumi-python:dynamic/kecs:LeftoverSweep"}
    return found


def k8s_objects(mocks, typ):
    return {
        (r.inputs["metadata"].get("namespace", ""), r.inputs["metadata"]["name"]): r
        for r in mocks.of_type(typ)
    }


@pulumi.runtime.test
def test_masters_one_per_source_item_all_secrets_by_default(mocks, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CANARY_KEY_ID.decode())
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CANARY_SECRET_KEY.decode())
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
        # The provider pickle goes with every dynamic resource (base64 of dill's bytes): what it unpickles to is a
        # provider with no state of its own, and its bytes hold no credential of the environment it was made in.
        for resource, (provider, pickled) in _pickled_providers(mocks).items():
            assert vars(provider) == {}, resource
            for credential in (CANARY_KEY_ID, CANARY_SECRET_KEY, b"secret_access_key", b"access_key_id"):
                assert credential not in pickled.lower(), resource

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


_WHEN = datetime.datetime(2025, 8, 12, 13, 38, 45, tzinfo=datetime.UTC)


class _Listing:
    """What the program's adapters give it, in place of LocalStack, the cluster, the state and the files."""

    def __init__(self, *_args, **_kwargs) -> None:
        pass

    def start(self, *_args, **_kwargs):
        return self

    @classmethod
    def listing(cls, _settings):
        return cls()

    def list_secrets(self, prefixes=()):
        return [{"Name": "db-creds", "ARN": DB_ARN, "LastChangedDate": _WHEN,
                 "SecretVersionsToStages": {"cur-id": ["AWSCURRENT"]}}]

    def describe_parameters(self, path, prefixes=()):
        return [{"Name": "app-param", "Type": "String", "Version": 1, "LastModifiedDate": _WHEN}]

    def parameter_tags(self, name):
        return {}

    def account(self):
        return "000000000000"

    def namespaces(self):
        return {"kecs-system": {}, "default-us-east-1": {"kecs.dev/type": "ecs-cluster", "kecs.dev/cluster": "default", "kecs.dev/region": REGION}}

    def post_event(self, event):
        """An update writes an Event on each pod whose reference is not served: none here (no pod is a tenant)."""

    def pods(self):
        return []

    def objects(self, kind, namespace):
        return []

    def read(self):
        from kecs_secrets.model import StackState

        return StackState()

    def documents(self, pattern):
        return []


def _run_program(monkeypatch, demand: dict) -> tuple[list[str], dict]:
    """Run ``__main__.py`` itself under the mocks (an update, not a preview) with this ``demand`` and fakes for its
    adapters; return the RunError lines it raised and its globals."""
    import os
    import runpy

    from tests.support.real import ROOT

    for module, name in (("kecs_program.program", "BotoSource"), ("kecs_program.program", "PulumiStackState"),
                         ("providers.kube", "KubeReader"), ("kecs_program.program", "TaskDefinitionFiles")):
        monkeypatch.setattr(f"{module}.{name}", _Listing)
    pulumi.runtime.set_all_config({
        "kecs-secrets:endpoint": "http://localhost:4566", "kecs-secrets:region": REGION, "kecs-secrets:kubeconfig": "kc",
        "kecs-secrets:demand": json.dumps(demand),
    })
    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    errors: list[str] = []
    found: dict = {}

    @pulumi.runtime.test  # awaits every registration the program sent before it stopped
    def program():
        try:
            found.update(runpy.run_path(os.path.join(ROOT, "__main__.py"), run_name="__main__"))
        except pulumi.RunError as err:
            errors.append(str(err))

    try:
        program()
    finally:
        pulumi.runtime.set_all_config({})
    return errors, found


class _Ahead(_Listing):
    """A listing started before the run (the watch's), at ``started``, which lists one more secret than the run's own."""

    def __init__(self, started: float) -> None:
        self.started = started

    def started_for(self, endpoint, region, prefixes, ssm_paths):
        return self.started

    def list_secrets(self, prefixes=()):
        return [*super().list_secrets(prefixes), {"Name": "ahead", "ARN": DB_ARN.replace("db-creds", "ahead"), "LastChangedDate": _WHEN,
                                                  "SecretVersionsToStages": {"v": ["AWSCURRENT"]}}]


class _EarlyState(_Listing):
    """A state read before the run (the watch's), written at 100.0, current or not."""

    def __init__(self, current: bool) -> None:
        self.current = current
        self.stack = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"  # the run's own stack

    def unchanged(self):
        return self.current

    def read(self):
        from kecs_secrets.model import StackState

        return StackState(written=100.0)


@pytest.mark.parametrize(("started", "current", "ahead_used"), [(200.0, True, True), (50.0, True, False), (200.0, False, False)])
def test_what_the_watch_started_ahead_is_used_only_when_it_is_at_least_as_new_as_the_state(mocks, monkeypatch, started, current,
                                                                                          ahead_used):
    """The listing begun before the state was last written, or a state read that is no longer the stack's, is not
    used: the run reads its own (here: without the secret only the early listing has)."""
    from kecs_program.program import run
    from kecs_secrets.layout import Layout

    for module, name in (("kecs_program.program", "BotoSource"), ("kecs_program.program", "PulumiStackState"),
                         ("providers.kube", "KubeReader"), ("kecs_program.program", "TaskDefinitionFiles")):
        monkeypatch.setattr(f"{module}.{name}", _Listing)
    pulumi.runtime.set_all_config({"kecs-secrets:endpoint": "http://localhost:4566", "kecs-secrets:region": REGION,
                                   "kecs-secrets:kubeconfig": "kc"})
    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    learned: list[Layout] = []

    @pulumi.runtime.test
    def program():
        run(None, _Ahead(started), learned.append, _EarlyState(current))

    try:
        program()
    finally:
        pulumi.runtime.set_all_config({})
    assert len(learned) == 1
    assert ("sm-ahead" in {m.name for m in learned[0].masters}) is ahead_used


@pytest.mark.parametrize("bad", ["Bad_NS", "x" * 70])
def test_invalid_demand_never_reaches_resource_registration(mocks, monkeypatch, bad):
    """The program itself runs: a demand for a namespace Kubernetes refuses stops it before any registration."""
    errors, _ = _run_program(monkeypatch, {bad: ["app-param"], "default-us-east-1": ["db-creds"]})
    assert len(errors) == 1 and errors[0].startswith("LayoutError: ") and bad in errors[0], errors
    assert [f"{r.typ}::{r.name}" for r in mocks.resources] == []


def test_the_same_program_run_with_valid_demand_registers_the_layout(mocks, monkeypatch):
    """The harness of the test above can see registrations: the same run with only the valid demand makes them."""
    errors, found = _run_program(monkeypatch, {"default-us-east-1": ["db-creds"]})
    assert errors == []
    assert {("kecs-system", "sm-db-creds"), ("kecs-system", "ssm-app-param"), ("default-us-east-1", "sm-db-creds")} == set(
        k8s_objects(mocks, "kubernetes:core/v1:Secret")
    )
    assert "focus" in found and found["focus"] is None, "__main__.py ran the program without a focus: a full update"


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

    secrets = build(leftovers=(("Secret", "kecs-system", "sm-gone", "uid-1", "mark-1"),))

    def check(_):
        (sweep,) = mocks.of_type("pulumi-python:dynamic/kecs:LeftoverSweep")
        assert sweep.inputs["objects"] == [["Secret", "kecs-system", "sm-gone", "uid-1", "mark-1"]]
        assert sweep.inputs["kubeconfig"] == os.path.abspath("kc")
        # The stack and its key, to verify each candidate's mark with (the key stays a secret input).
        assert sweep.inputs["stack"] == STACK
        assert sweep.inputs["key"] == {SECRET_SIG_KEY: SECRET_SIG_VALUE, "value": FAKE_KEY}

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


@pytest.mark.parametrize("ran", [True, False])
@pulumi.runtime.test
def test_the_sweeps_outcome_is_this_runs_or_else_nothing_was_deleted(mocks, monkeypatch, ran):
    """The sweep does not run when no candidate's mark verifies: its outputs are then an earlier run's, never reported."""
    record = mocks.new_resource

    def new_resource(args):
        id_, outputs = record(args)
        if args.typ == "pulumi-python:dynamic/kecs:LeftoverSweep":
            earlier = [["Secret", "kecs-system", "sm-gone", "uid-0", "m"]]
            outputs.update({"deleted": ["Secret kecs-system/sm-gone"], "skipped": []} if ran else
                           {"objects": earlier, "deleted": ["Secret kecs-system/sm-gone"], "skipped": []})
        return id_, outputs

    monkeypatch.setattr(mocks, "new_resource", new_resource)
    secrets = build(leftovers=(("Secret", "kecs-system", "sm-gone", "uid-1", "m"), ("Secret", "web", "sm-copy", "uid-2", "m")))

    def check(outcome):
        assert outcome == ((["Secret kecs-system/sm-gone"], []) if ran else ([], ["Secret kecs-system/sm-gone", "Secret web/sm-copy"]))

    return secrets.sweep.outcome().apply(check)


@pulumi.runtime.test
def test_every_object_carries_the_mark_of_its_kind_namespace_and_name_kept_as_the_state_recorded_it(mocks, monkeypatch):
    """A recorded mark is given as it is (known in any preview, waits for nothing); any other is made under the reader's
    key, without recording the reader as a dependency, and is not a secret (the metadata stays readable in the state)."""
    marks: dict[str, object] = {}

    def mark_of(meta):  # an object taking its data from the reader has its annotations from there too (an Output)
        given = meta.annotations
        return given.apply(lambda a: a[ANNOTATION_MARK]) if isinstance(given, pulumi.Output) else given[ANNOTATION_MARK]

    _spy_secrets(monkeypatch, lambda name, opts, kwargs: marks.__setitem__(name, mark_of(kwargs["metadata"])))

    def as_secret(outputs):  # the key as the engine returns it (additionalSecretOutputs): a secret
        outputs["fingerprint_key"] = {SECRET_SIG_KEY: SECRET_SIG_VALUE, "value": outputs["fingerprint_key"]}

    _on_reader_registered(monkeypatch, mocks, as_secret)
    secrets = build(marks={("Secret", "batch-us-east-1", "sm-db-creds"): "recorded-mark"})
    recorded = pulumi.Output.from_input(marks.pop("batch-us-east-1/sm-db-creds"))
    assert {"sm-db-creds", "default-us-east-1/sm-db-creds"} <= set(marks)

    async def facts():
        return {name: (await m.resources(), await m.is_secret()) for name, m in marks.items()}

    def check(args):
        found, recorded_mark = args[0], args[1]
        assert recorded_mark == "recorded-mark"
        for name, (resources, is_secret) in found.items():
            assert resources == set() and not is_secret, name
        key = bytes.fromhex(FAKE_KEY)
        registered = [r for r in mocks.resources if r.typ.startswith("kubernetes:") and "metadata" in r.inputs]
        kinds = {r.typ.rsplit(":", 1)[1] for r in registered}
        assert kinds == {"Secret", "ServiceAccount", "RoleBinding", "ClusterRole"}
        for r in registered:
            kind, meta = r.typ.rsplit(":", 1)[1], r.inputs["metadata"]
            namespace, name = meta.get("namespace", ""), meta["name"]
            expected = "recorded-mark" if (kind, namespace, name) == ("Secret", "batch-us-east-1", "sm-db-creds") else \
                ownership_mark(key, STACK, kind, namespace, name)
            assert meta["annotations"][ANNOTATION_MARK] == expected, (kind, namespace, name)

    return pulumi.Output.all(pulumi.Output.from_input(facts()), recorded, *[r.urn for r in secrets.resources]).apply(check)


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


def test_a_wanted_object_outside_the_state_is_taken_over_only_if_its_mark_is_the_one_the_stack_makes_for_it():
    """An interrupted run's object verifies; a copy put under a wanted name fails, in one line, before it is written."""
    from components.objects import _mark

    key = bytes.fromhex(FAKE_KEY)
    own = ownership_mark(key, STACK, "Secret", "web", "sm-x")
    assert _mark(FAKE_KEY, STACK, "Secret", "web", "sm-x", own) == own
    assert _mark(FAKE_KEY, STACK, "Secret", "web", "sm-x", None) == own
    copied = ownership_mark(key, STACK, "Secret", "other", "sm-x")
    with pytest.raises(pulumi.RunError, match=r"^UnmanagedObjectError: Secret web/sm-x already exists and was not made by this stack"):
        _mark(FAKE_KEY, STACK, "Secret", "web", "sm-x", copied)
