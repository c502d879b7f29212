"""Every error the program raises on purpose, through the real CLI: one line naming the culprit, never a traceback.

One row per error class of :mod:`kecs_secrets.errors` (a test checks that no class is missing). Each row
makes the situation for real (LocalStack, the control plane, a proxy in front of LocalStack where the
source must fail only for value reads), runs `pulumi preview` (or `pulumi up` for the errors the value
reader raises inside the dynamic provider) on a stack of its own, and asserts the error line.
"""

from __future__ import annotations

import json
import os
import secrets as random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from pulumi import automation as auto

from kecs_secrets import errors
from kecs_secrets.ownership import ANNOTATION_MARK, MARK_HEX_LENGTH
from tests.support import kubeconfigs as kc
from tests.support.counting_proxy import CountingProxy
from tests.support.stack import ProjectStack, toolchain_path

pytestmark = pytest.mark.e2e

BATCH_READ = "secretsmanager.BatchGetSecretValue"


@dataclass
class Env:
    """What a row may use: names, the data set, the cluster, and a place for a proxy and a kubeconfig."""

    p: str
    endpoint: str
    kubeconfig: str
    kube: Any
    master_ns: str
    web: str
    db_arn: str
    stack_name: str = ""
    workdir: Any = None
    cleanups: list[Callable[[], Any]] = field(default_factory=list)
    command_root: str | None = None  # another Pulumi installation to run (a wrapper), if any


@dataclass(frozen=True)
class Row:
    error: type[errors.KecsSecretsError] | None  # None: the Pulumi CLI's own check, before the program runs
    config: Callable[[Env], dict[str, Any]]  # changes to the base config
    line: Callable[[Env], str]  # the message after "<ErrorClass>: " (the whole line for the CLI's own checks)
    setup: Callable[[Env], Any] = lambda env: None  # may return a context manager (entered for the run)
    command: str = "preview"
    where: str = "program"  # or "provider": raised inside the dynamic provider
    # Runs after a first `up` with the base config (the row's config applies after it): for errors about an earlier run.
    after_up: Callable[[Env], Any] | None = None


def _unmanaged_secret(env: Env) -> None:
    # In the master namespace: an object under a replica's name in a tenant namespace only skips that replica.
    path = f"/api/v1/namespaces/{env.master_ns}/secrets"
    env.kube.post(path, {"metadata": {"name": f"sm-{env.p}-db"}, "stringData": {"value": "theirs"}})
    env.cleanups.append(lambda: env.kube.delete(f"{path}/sm-{env.p}-db"))


def _master_made_earlier(env: Env) -> None:
    """A master this stack made on an earlier run (its annotation and an ownership mark say so), which the source no longer
    lists. The program cannot verify a mark (only the sweep, with the key, can): the guard counts it all the same."""
    path = f"/api/v1/namespaces/{env.master_ns}/configmaps"
    annotations = {"kecs-secrets.io/stack": f"kecs-secrets/{env.stack_name}", ANNOTATION_MARK: "0" * MARK_HEX_LENGTH}
    body = {"metadata": {"name": f"ssm-{env.p}-gone", "annotations": annotations}}
    env.kube.post(path, body)
    env.cleanups.append(lambda: env.kube.delete(f"{path}/ssm-{env.p}-gone"))


def _unreachable_kubeconfig(env: Env) -> None:
    path = env.workdir / "unreachable-kubeconfig"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9", "insecure-skip-tls-verify": True}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
    }), encoding="utf-8")


def _replica_recreated_by_someone_else(env: Env) -> None:
    """The replica the first run made is deleted through the API and recreated by hand, without the stack annotation."""
    path = f"/api/v1/namespaces/{env.web}/secrets"
    env.kube.delete(f"{path}/sm-{env.p}-db")
    env.kube.post(path, {"metadata": {"name": f"sm-{env.p}-db"}, "stringData": {"value": "theirs"}})
    # The teardown's plain `pulumi destroy` deletes it by name (the limit `make destroy`'s check covers): it may be gone.
    env.cleanups.append(lambda: env.kube.get(f"{path}/sm-{env.p}-db") and env.kube.delete(f"{path}/sm-{env.p}-db"))


def _state_unreadable(env: Env) -> None:
    """The Pulumi CLI, except that `pulumi stack export` (how the program reads its state) fails.

    The Automation API puts the directory of the CLI it runs first on PATH, so the program finds this wrapper.
    The backend URL gets an option (which the CLI accepts), so the program reads its state through the CLI, as
    with any backend other than a plain local directory, instead of from the checkpoint file.
    """
    real = os.path.join(toolchain_path().split(":")[0], "pulumi")
    wrapper = env.workdir / "wrapped-pulumi" / "bin" / "pulumi"
    wrapper.parent.mkdir(parents=True)
    wrapper.write_text(
        "#!/bin/sh\n"
        'case " $* " in *" stack export "*) echo "error: injected by the test" >&2; exit 1;; esac\n'
        'case "$PULUMI_BACKEND_URL" in *\\?*) ;; *) PULUMI_BACKEND_URL="$PULUMI_BACKEND_URL?no_tmp_dir=true"; export PULUMI_BACKEND_URL;; esac\n'
        f'exec "{real}" "$@"\n',
        encoding="utf-8",
    )
    wrapper.chmod(0o755)
    env.command_root = str(wrapper.parent.parent)


def _refused_kubeconfig(env: Env) -> None:
    """The test cluster, but a token it does not know (HTTP 401)."""
    kc.write(env.workdir / "refused-kubeconfig", kc.kubeconfig(kc.admin_cluster(env.kubeconfig), {"token": "not-a-token"},
                                                                context="ctx-r", user_name="user-r"))  # fmt: skip


def _not_an_api_kubeconfig(env: Env) -> None:
    """The admin kubeconfig with a server URL under which the API server serves nothing (HTTP 404)."""
    with open(env.kubeconfig, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    config["clusters"][0]["cluster"]["server"] += "/not-an-api"
    kc.write(env.workdir / "not-an-api-kubeconfig", config)


def _server(env: Env) -> str:
    return kc.admin_cluster(env.kubeconfig)["server"]


def _failing_value_reads(status: int, code: str) -> Callable[[Env], Any]:
    def setup(env: Env) -> CountingProxy:
        proxy = CountingProxy(env.endpoint, fail={BATCH_READ: (status, code)})
        env.endpoint = proxy.endpoint
        return proxy

    return setup


ROWS = {
    "unknown-config-key": Row(
        errors.ConfigError,
        lambda env: {"podDemnd": True},
        lambda env: "unknown config key kecs-secrets:podDemnd (closest known key: kecs-secrets:podDemand)",
    ),
    "config-type": Row(
        None,
        lambda env: {"podDemand": "yes"},
        lambda env: f"validating stack config: Stack '{env.stack_name}' with configuration key 'kecs-secrets:podDemand' "
        "must be of type 'boolean'",
    ),
    "config-choice": Row(
        errors.ConfigError,
        lambda env: {"rbacMode": "sideways"},
        lambda env: "config kecs-secrets:rbacMode must be one of ['cluster-role', 'need-to-know']",
    ),
    "unresolved-reference": Row(
        errors.ReferenceResolutionError,
        lambda env: {"demand": {env.web: [f"{env.p}/nope"]}},
        lambda env: f"reference '{env.p}/nope' from config kecs-secrets:demand.{env.web}[0]: no SSM parameter or Secrets Manager secret with that name",
    ),
    "denied-namespace": Row(
        errors.LayoutError,
        lambda env: {"demand": {"kube-system": [f"{env.p}/db"]}},
        lambda env: "namespace 'kube-system' from config kecs-secrets:demand.kube-system[0] is on the deny list "
        "['kube-system', 'kube-public', 'kube-node-lease', 'default']",
    ),
    "unmanaged-object": Row(
        errors.UnmanagedObjectError,
        lambda env: {},
        lambda env: f"these objects already exist and were not made by this stack: Secret {env.master_ns}/sm-{env.p}-db. "
        "Rename or remove them, or set kecs-secrets:adoptExisting=true to take them over",
        setup=_unmanaged_secret,
    ),
    "deletion-guard": Row(
        errors.DeletionGuardError,
        lambda env: {"namePrefixes": [f"{env.p}-nothing/"], "demand": {}},
        lambda env: "the source lists no items, so this run would delete all 1 masters; "
        "set kecs-secrets:allowMassDeletion=true if that is really wanted",
        setup=_master_made_earlier,
    ),
    "source-unreachable": Row(
        errors.SourceUnavailableError,
        lambda env: {"endpoint": "http://127.0.0.1:9"},
        lambda env: "cannot read Secrets Manager ListSecrets from http://127.0.0.1:9: EndpointConnectionError",
    ),
    "cluster-unreachable": Row(
        errors.ClusterUnavailableError,
        lambda env: {"podDemand": True, "kubeconfig": str(env.workdir / "unreachable-kubeconfig")},
        lambda env: "cannot reach the Kubernetes API at https://127.0.0.1:9: [Errno 111] Connection refused",
        setup=_unreachable_kubeconfig,
    ),
    "cluster-refuses-credentials": Row(
        errors.ClusterAuthError,
        lambda env: {"kubeconfig": str(env.workdir / "refused-kubeconfig")},
        lambda env: f"Kubernetes API {_server(env)}, listing Namespace (all namespaces): HTTP 401, the server refused the "
        f"credentials of user 'user-r' of context 'ctx-r' (kubeconfig {env.workdir / 'refused-kubeconfig'}): Unauthorized",
        setup=_refused_kubeconfig,
    ),
    "cluster-refuses-request": Row(
        errors.ClusterRequestError,
        lambda env: {"kubeconfig": str(env.workdir / "not-an-api-kubeconfig")},
        lambda env: f"Kubernetes API {_server(env)}/not-an-api, listing Namespace (all namespaces): HTTP 404",
        setup=_not_an_api_kubeconfig,
    ),
    "json-key-missing-in-value": Row(
        errors.ValueShapeError,
        lambda env: {"demand": {env.web: [f"{env.db_arn}:port::"]}},
        lambda env: f"reference '{env.db_arn}:port::' from config kecs-secrets:demand.{env.web}[0]: "
        f"secret '{env.p}/db' has no JSON field 'port'",
        command="preview",  # the value reader's check reads a new secret at preview
        where="provider",
    ),
    "value-gone": Row(
        errors.SourceGoneError,
        lambda env: {"endpoint": env.endpoint},
        lambda env: f"secretsmanager item '{env.p}/db' not found (ResourceNotFoundException)",
        setup=_failing_value_reads(400, "ResourceNotFoundException"),
        command="up",
        where="provider",
    ),
    "not-ours-any-more": Row(
        errors.OwnershipError,
        lambda env: {"demand": {}},
        lambda env: f"Secret {env.web}/sm-{env.p}-db: in this stack's state and due for deletion, but the live object is not "
        f"this stack's (no kecs-secrets.io/stack=kecs-secrets/{env.stack_name} annotation, or another uid); nothing was changed. "
        f"To forget it from the state without touching the cluster: pulumi state delete "
        f"'urn:pulumi:{env.stack_name}::kecs-secrets::kecs:secrets:CentralizedSecrets$kecs:secrets:NamespaceReplicas"
        f"$kubernetes:core/v1:Secret::{env.web}/sm-{env.p}-db' --yes",
        after_up=_replica_recreated_by_someone_else,
    ),
    "state-unreadable": Row(
        errors.StateUnavailableError,
        lambda env: {},
        lambda env: f"cannot read the state of stack 'organization/kecs-secrets/{env.stack_name}' with `pulumi stack export`: "
        "error: injected by the test",
        setup=_state_unreadable,
        command="up",
    ),
    "value-read-fails": Row(
        errors.SourceUnavailableError,
        lambda env: {"endpoint": env.endpoint},
        lambda env: f"cannot read secretsmanager item '{env.p}/db' from {env.endpoint}: InternalFailure",
        setup=_failing_value_reads(500, "InternalFailure"),
        command="up",
        where="provider",
    ),
}


def test_every_error_class_has_a_row():
    """A new error class needs a row here (the two abstract bases are never raised themselves)."""
    concrete = {getattr(errors, name) for name in errors.__all__} - {errors.KecsSecretsError, errors.RetryableError}
    assert concrete <= {row.error for row in ROWS.values() if row.error is not None}


@pytest.fixture(scope="module")
def data(endpoint, kube, aws):
    p = f"err{random.token_hex(3)}"
    sm = aws("secretsmanager")
    master_ns, web = f"{p}-system", f"web-{p}-us-east-1"
    kube.create_namespace(master_ns)
    kube.create_ecs_namespace(f"web-{p}", "us-east-1")
    made = [sm.create_secret(Name=f"{p}/db", SecretString=json.dumps({"username": "admin", "password": random.token_hex(8)}))]
    yield p, master_ns, web, made[0]["ARN"]
    for secret in made:
        sm.delete_secret(SecretId=secret["ARN"], ForceDeleteWithoutRecovery=True)
    for namespace in (master_ns, web):
        kube.delete_namespace(namespace)


@pytest.mark.parametrize("row_id", list(ROWS))
def test_error_reaches_the_user_as_one_line(row_id, data, endpoint, kubeconfig, kube, tmp_path):
    row = ROWS[row_id]
    p, master_ns, web, db_arn = data
    env = Env(p, endpoint, kubeconfig, kube, master_ns, web, db_arn, stack_name=f"err-{row_id}-{p}", workdir=tmp_path)
    stack = None
    try:
        proxy = row.setup(env)
        if proxy is not None:
            env.cleanups.append(lambda: proxy.__exit__(None, None, None))
            proxy.__enter__()
        config = {
            "endpoint": env.endpoint,
            "region": "us-east-1",
            "masterNamespace": master_ns,
            "namePrefixes": [f"{p}/"],
            "kubeconfig": kubeconfig,
            "demand": {web: [f"{p}/db"]},
            **row.config(env),
        }
        if row.after_up is not None:
            base = {k: v for k, v in config.items() if k not in row.config(env)}
            stack = ProjectStack(tmp_path / "stack", env.stack_name, {**base, "demand": {web: [f"{p}/db"]}}, command_root=env.command_root)
            stack.up()
            row.after_up(env)
            stack.set_config(config)
        else:
            stack = ProjectStack(tmp_path / "stack", env.stack_name, config, command_root=env.command_root)
        run = stack.preview if row.command == "preview" else stack.up
        with pytest.raises(auto.CommandError) as caught:
            run()
        text = str(caught.value)
        expected = row.line(env) if row.error is None else f"{row.error.__name__}: {row.line(env)}"
        # The CLI's output lines (CommandError puts "stdout: " / "stderr: " before the first of each).
        lines = [line.strip().removeprefix("stdout: ").removeprefix("stderr: ") for line in text.splitlines()]
        assert f"error: {expected}" in lines, text[-4000:]
        assert "Traceback" not in text, text[-4000:]
        if row.where == "provider":
            assert kube.secret(master_ns, f"sm-{p}-db") is None, "no master is made from a value that could not be read"
    finally:
        try:
            if stack is not None:
                stack.remove()
        finally:
            for cleanup in reversed(env.cleanups):
                cleanup()
