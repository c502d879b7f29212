"""The ClusterReader adapter (providers/kube.py, over the official Kubernetes client): how it finds the cluster
and the user, and, against the real control plane, metadata-only lists and the errors a run shows."""

from __future__ import annotations

import base64
import secrets as random

import pytest

import providers.kube as kube_module
from kecs_secrets.errors import ClusterAuthError, ClusterUnavailableError, ConfigError
from providers.kube import KubeReader
from tests.support.cluster import KubeAdmin, cluster_token, start_cluster
from tests.support.kubeconfigs import ExecPlugin, admin_cluster, kubeconfig, split, write
from tests.support.real import free_ports

OFFLINE = {"server": "https://127.0.0.1:9", "insecure-skip-tls-verify": True}


@pytest.fixture
def no_ambient_config(monkeypatch, tmp_path):
    """No KUBECONFIG, no ~/.kube/config, not in a pod."""
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


# ---- finding the cluster and the user (no server needed) ----------------------------------------------------


def test_a_configured_kubeconfig_that_does_not_exist_is_a_config_error(tmp_path):
    missing = tmp_path / "nope" / "kubeconfig"
    with pytest.raises(ConfigError, match=rf"kecs-secrets:kubeconfig: '{missing}' is not a readable file"):
        KubeReader(str(missing))


def test_an_unknown_context_is_a_config_error_listing_the_contexts(tmp_path):
    path = write(tmp_path / "kc", kubeconfig(OFFLINE, {"token": "t"}, context="one"))
    with pytest.raises(ConfigError, match=r"no context named 'two' \(contexts: one\)"):
        KubeReader(path, "two")


def test_the_context_and_user_are_named(tmp_path):
    path = write(tmp_path / "kc", kubeconfig(OFFLINE, {"token": "t"}, context="ctx-a", user_name="alice"))
    reader = KubeReader(path)
    assert (reader.identity.context, reader.identity.user, reader.identity.server) == ("ctx-a", "alice", "https://127.0.0.1:9")
    reader.close()


def test_kubeconfig_files_are_merged_and_the_first_current_context_wins(tmp_path, monkeypatch, no_ambient_config):
    """As kubectl and client-go (the Kubernetes provider) do; the Python client alone would take the last one."""
    first = kubeconfig({**OFFLINE, "server": "https://127.0.0.1:10"}, {"token": "a"}, context="first", user_name="ua")
    second = kubeconfig(OFFLINE, {"token": "b"}, context="second", user_name="ub")
    second["clusters"][0]["name"] = second["contexts"][0]["context"]["cluster"] = "other-cluster"
    monkeypatch.setenv("KUBECONFIG", f"{write(tmp_path / 'a', first)}:{tmp_path / 'missing'}:{write(tmp_path / 'b', second)}")
    reader = KubeReader("")
    assert (reader.identity.context, reader.identity.user, reader.identity.server) == ("first", "ua", "https://127.0.0.1:10")
    assert KubeReader("", "second").identity.server == "https://127.0.0.1:9"


def test_a_kubeconfig_split_over_two_files_loads(tmp_path, monkeypatch, no_ambient_config):
    monkeypatch.setenv("KUBECONFIG", split(kubeconfig(OFFLINE, {"token": "t"}), tmp_path / "clusters", tmp_path / "users"))
    assert KubeReader("").identity.context == "kecs-test"


def test_nothing_to_connect_with_is_a_config_error(no_ambient_config):
    with pytest.raises(ConfigError, match="no kubeconfig"):
        KubeReader("")


def test_in_a_pod_the_service_account_is_used(no_ambient_config, monkeypatch):
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    # The loader reads the mounted token; outside a pod it is missing, and the error says where it looked.
    with pytest.raises(ConfigError, match="in-cluster service account"):
        KubeReader("")


def test_a_failing_exec_plugin_is_an_auth_error_naming_context_and_user(tmp_path):
    plugin = tmp_path / "fails"
    plugin.write_text("#!/bin/sh\necho 'token expired: run the login command' >&2\nexit 3\n", encoding="utf-8")
    plugin.chmod(0o755)
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(plugin), "interactiveMode": "Never"}}
    path = write(tmp_path / "kc", kubeconfig(OFFLINE, user, context="eks-prod", user_name="arn:aws:eks:user"))
    with pytest.raises(ClusterAuthError, match=r"user 'arn:aws:eks:user' of context 'eks-prod'.*process returned 3.*token expired"):
        KubeReader(path)


# ---- against the real control plane --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def admin_kubeconfig() -> str:
    return start_cluster()


@pytest.fixture(scope="module")
def admin(admin_kubeconfig) -> KubeAdmin:
    return KubeAdmin(admin_kubeconfig)


@pytest.fixture
def namespace(admin):
    name = f"kr-{random.token_hex(4)}"
    admin.create_namespace(name)
    yield name
    admin.delete_namespace(name)


def test_lists_carry_metadata_only_never_a_secrets_data(admin, admin_kubeconfig, namespace):
    admin.post(f"/api/v1/namespaces/{namespace}/secrets", {"metadata": {"name": "s", "annotations": {"a": "b"}},
                                                              "data": {"k": base64.b64encode(b"never-listed").decode()}})  # fmt: skip
    reader = KubeReader(admin_kubeconfig)
    listed = reader.objects("Secret", namespace)
    assert [(o["metadata"]["name"], o["metadata"]["annotations"]) for o in listed] == [("s", {"a": "b"})]
    assert all(o.get("kind") == "PartialObjectMetadata" and "data" not in o for o in listed)
    # The same list asked for whole objects does carry the data: the Accept header is what keeps it away.
    assert reader.objects("Secret", namespace, metadata_only=False)[0]["data"] == {"k": base64.b64encode(b"never-listed").decode()}
    assert namespace in reader.namespaces()


def test_lists_follow_continue_tokens(admin, admin_kubeconfig, namespace, monkeypatch):
    for i in range(5):
        admin.post(f"/api/v1/namespaces/{namespace}/configmaps", {"metadata": {"name": f"c{i}"}})
    monkeypatch.setattr(kube_module, "PAGE_SIZE", 2)
    names = {o["metadata"]["name"] for o in KubeReader(admin_kubeconfig).objects("ConfigMap", namespace)}
    assert {f"c{i}" for i in range(5)} <= names


def test_token_file_and_exec_plugin_users_read(admin_kubeconfig, tmp_path, namespace):
    token = cluster_token()
    cluster = admin_cluster(admin_kubeconfig)
    (tmp_path / "token").write_text(token, encoding="utf-8")
    with_file = write(tmp_path / "kc-file", kubeconfig(cluster, {"tokenFile": "token"}))  # relative to the kubeconfig
    assert namespace in KubeReader(with_file).namespaces()
    plugin = ExecPlugin(tmp_path / "plugin", token)
    with_exec = write(tmp_path / "kc-exec", kubeconfig(cluster, plugin.user))
    assert namespace in KubeReader(with_exec).namespaces()
    assert len(plugin.callers()) == 1


def test_a_wrong_token_is_an_auth_error_naming_context_and_user(admin_kubeconfig, tmp_path):
    path = write(tmp_path / "kc", kubeconfig(admin_cluster(admin_kubeconfig), {"token": "wrong"}, context="ctx", user_name="bob"))
    with pytest.raises(ClusterAuthError, match=r"HTTP 401, the server refused the credentials of user 'bob' of context 'ctx'"):
        KubeReader(path).namespaces()


def test_a_user_without_permission_is_an_auth_error(admin, admin_kubeconfig, tmp_path, namespace):
    admin.post(f"/api/v1/namespaces/{namespace}/serviceaccounts", {"metadata": {"name": "nobody"}})
    token = admin.service_account_token(namespace, "nobody")
    path = write(tmp_path / "kc", kubeconfig(admin_cluster(admin_kubeconfig), {"token": token}, user_name="nobody"))
    with pytest.raises(ClusterAuthError, match=r"HTTP 403, the server denies the permission.*user 'nobody'.*cannot list resource"):
        KubeReader(path).objects("Secret", namespace)


def test_an_unreachable_server_is_unavailable(admin_kubeconfig, tmp_path):
    (port,) = free_ports(1)
    cluster = {**admin_cluster(admin_kubeconfig), "server": f"https://127.0.0.1:{port}"}
    path = write(tmp_path / "kc", kubeconfig(cluster, {"token": "t"}))
    with pytest.raises(ClusterUnavailableError, match=rf"cannot reach the Kubernetes API at https://127.0.0.1:{port}"):
        KubeReader(path).namespaces()

