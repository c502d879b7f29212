"""Environments beyond the demo: the kubeconfigs real clusters hand out, and a second AWS-like environment.

1. A kubeconfig whose user is an exec credential plugin (as EKS, GKE and AKS give) runs preview, up and
   destroy; the plugin is run by the program's cluster checks and by the Kubernetes provider alike.
   A wrong token fails preview and up with ClusterAuthError naming the context and the user, and changes
   nothing; the same configuration given as two files in KUBECONFIG works.
2. A staging stack (Pulumi.staging.yaml: moto's server with its own account id and region, its own master
   namespace) converges side by side with a dev stack (LocalStack) on the same cluster; with podDemand and
   pods in both regions' namespaces, each serves only its own region's pods and neither replicates into the
   other's namespaces; destroying staging leaves every dev object byte-identical (resourceVersion and uid).
"""

from __future__ import annotations

import base64
import os
import secrets as random
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from pulumi import automation as auto

from tests.support import kubeconfigs as kc
from tests.support.cluster import KubeAdmin, cluster_token
from tests.support.localstack import ACCOUNT as LOCALSTACK_ACCOUNT
from tests.support.moto import moto_server
from tests.support.real import ROOT
from tests.support.stack import ProjectStack

pytestmark = pytest.mark.e2e

STACK_ANNOTATION = "kecs-secrets.io/stack"
STAGING_ACCOUNT = "111111111111"  # moto's answer as the staging account (MOTO_ACCOUNT_ID)


def committed_config(stack: str) -> dict[str, Any]:
    """The settings of a committed stack file (Pulumi.<stack>.yaml), without the project prefix."""
    with open(os.path.join(ROOT, f"Pulumi.{stack}.yaml"), encoding="utf-8") as handle:
        config = yaml.safe_load(handle)["config"]
    return {key.split(":", 1)[1]: value for key, value in config.items() if key.startswith("kecs-secrets:")}


def managed(kube: KubeAdmin, namespace: str, kind: str) -> dict[str, Mapping[str, Any]]:
    """name -> object, for the objects of one kind in a namespace that some stack made."""
    listed = kube.get(f"/api/v1/namespaces/{namespace}/{kind}") or {"items": []}
    return {o["metadata"]["name"]: o for o in listed["items"] if STACK_ANNOTATION in (o["metadata"].get("annotations") or {})}


def fingerprint(kube: KubeAdmin, namespaces: list[str], master_namespace: str) -> dict[tuple[str, str, str], tuple[str, str]]:
    """(kind, namespace, name) -> (resourceVersion, uid) of every object of these namespaces and of the stack's
    ClusterRole: equal fingerprints mean nothing was written (any write bumps resourceVersion)."""
    result = {}
    for ns in namespaces:
        paths = [f"/api/v1/namespaces/{ns}/{kind}" for kind in ("secrets", "configmaps", "serviceaccounts")]
        paths.append(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings")
        for path in paths:
            for o in (kube.get(path) or {"items": []})["items"]:
                result[(path.rsplit("/", 1)[1], ns, o["metadata"]["name"])] = (o["metadata"]["resourceVersion"], o["metadata"]["uid"])
    role = kube.get(f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{master_namespace}-secret-reader")
    if role is not None:
        result[("clusterroles", "", role["metadata"]["name"])] = (role["metadata"]["resourceVersion"], role["metadata"]["uid"])
    return result


def decoded(secret: Mapping[str, Any]) -> dict[str, bytes]:
    return {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}


def failure_text(caught: pytest.ExceptionInfo[auto.CommandError]) -> str:
    return str(caught.value)


# ---- 1. kubeconfigs ---------------------------------------------------------------------------------------


class Scene:
    """One secret and one parameter under a random prefix, a master namespace and one ECS namespace."""

    def __init__(self, prefix: str, aws, kube: KubeAdmin) -> None:
        self.p, self.kube = prefix, kube
        self.sm, self.ssm = aws("secretsmanager"), aws("ssm")
        self.master_ns = f"{prefix}-system"
        self.web = kube.create_ecs_namespace(f"web-{prefix}", "us-east-1")
        kube.create_namespace(self.master_ns)
        self.value = f"pw-{random.token_hex(8)}"
        self.sm.create_secret(Name=f"{prefix}/db", SecretString=self.value)
        self.ssm.put_parameter(Name=f"/{prefix}/level", Type="String", Value="debug")
        self.sm.create_secret(Name=f"{prefix}/later", SecretString="later")

    def config(self, endpoint: str, kubeconfig_path: str) -> dict[str, Any]:
        return {
            "endpoint": endpoint,
            "region": "us-east-1",
            "masterNamespace": self.master_ns,
            "namePrefixes": [f"{self.p}/", f"/{self.p}/"],
            "kubeconfig": kubeconfig_path,
            "demand": {self.web: [f"{self.p}/db", f"/{self.p}/level"]},
        }

    def forget(self) -> None:
        for name in (f"{self.p}/db", f"{self.p}/later"):
            self.sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
        self.ssm.delete_parameter(Name=f"/{self.p}/level")
        for ns in (self.master_ns, self.web):
            self.kube.delete_namespace(ns)


@pytest.fixture(scope="module")
def exec_stack(tmp_path_factory, endpoint, kubeconfig, kube, aws) -> Iterator[tuple[Scene, ProjectStack, kc.ExecPlugin, Path]]:
    prefix = f"env{random.token_hex(3)}"
    scene = Scene(prefix, aws, kube)
    base = tmp_path_factory.mktemp("exec-kubeconfig")
    plugin = kc.ExecPlugin(base / "plugin", cluster_token())
    exec_kubeconfig = kc.write(base / "kubeconfig-exec", kc.kubeconfig(kc.admin_cluster(kubeconfig), plugin.user, context="eks-like", user_name="exec-user"))
    stack = ProjectStack(base / "stack", f"env-{prefix}", scene.config(endpoint, exec_kubeconfig))
    yield scene, stack, plugin, base
    try:
        stack.update_config(kubeconfig=exec_kubeconfig)
        stack.remove()
    finally:
        scene.forget()


def test_a_exec_plugin_kubeconfig_previews_and_ups(exec_stack):
    scene, stack, plugin, _ = exec_stack
    kube = scene.kube
    preview, _ = stack.preview()
    assert preview.change_summary.get("create", 0) > 0
    assert managed(kube, scene.master_ns, "secrets") == {}
    stack.up()
    sm_db, ssm_level = f"sm-{scene.p}-db", f"ssm-{scene.p}-level"
    # Every SSM parameter is a Secret by default (ssmKind), as KECS pods read it.
    assert set(managed(kube, scene.master_ns, "secrets")) == {sm_db, f"sm-{scene.p}-later", ssm_level}
    assert decoded(managed(kube, scene.web, "secrets")[sm_db]) == {"value": scene.value.encode()}
    assert set(managed(kube, scene.web, "secrets")) == {sm_db, ssm_level}
    callers = plugin.callers()
    # The program's checks (Python) and the Kubernetes provider (Go, client-go) both ran the plugin.
    assert any(c.startswith("python") for c in callers), callers
    assert any(c.startswith("pulumi-resource") for c in callers), callers


def test_b_a_wrong_token_fails_preview_and_up_naming_context_and_user_and_changes_nothing(exec_stack):
    scene, stack, _, base = exec_stack
    wrong = kc.write(base / "kubeconfig-wrong", kc.kubeconfig(kc.admin_cluster(stack.config["kubeconfig"]), {"token": "not-a-token"},
                                                         context="staging-admin", user_name="ci-deployer"))  # fmt: skip
    before = fingerprint(scene.kube, [scene.master_ns, scene.web], scene.master_ns)
    good = stack.config["kubeconfig"]
    # Something to do, so that a run that went on would change the cluster.
    stack.update_config(kubeconfig=wrong, demand={scene.web: [f"{scene.p}/db", f"/{scene.p}/level", f"{scene.p}/later"]})
    try:
        for run in (stack.preview, stack.up):
            with pytest.raises(auto.CommandError) as caught:
                run()
            text = failure_text(caught)
            assert "ClusterAuthError" in text, text
            assert "HTTP 401" in text and "user 'ci-deployer' of context 'staging-admin'" in text, text
            assert "cluster checks skipped" not in text
    finally:
        stack.update_config(kubeconfig=good, demand=scene.config("", "")["demand"])
    assert fingerprint(scene.kube, [scene.master_ns, scene.web], scene.master_ns) == before


def test_c_kubeconfig_given_as_two_files_works(exec_stack):
    scene, stack, _, base = exec_stack
    config = kc.kubeconfig(kc.admin_cluster(stack.config["kubeconfig"]), {"token": cluster_token()}, context="split", user_name="token-user")
    files = kc.split(config, base / "split" / "clusters.yaml", base / "split" / "users.yaml")
    env = stack.stack.workspace.env_vars
    env["KUBECONFIG"] = files
    exec_kubeconfig = stack.config["kubeconfig"]
    try:
        stack.update_config(kubeconfig="", demand={scene.web: [f"{scene.p}/db", f"/{scene.p}/level", f"{scene.p}/later"]})
        _, log = stack.up()
        assert set(managed(scene.kube, scene.web, "secrets")) == {f"sm-{scene.p}-db", f"sm-{scene.p}-later", f"ssm-{scene.p}-level"}
        # Switching from one kubeconfig to another replaced nothing (the provider's clusterIdentifier is fixed).
        assert not [urn for urn, op in log.changed().items() if "replace" in op], log.changed()
    finally:
        del env["KUBECONFIG"]
        stack.update_config(kubeconfig=exec_kubeconfig)


def test_d_destroy_with_the_exec_plugin_removes_everything(exec_stack):
    scene, stack, plugin, _ = exec_stack
    # `destroy` runs the provider with the settings of the last update (not the config file): an update on the
    # exec-plugin kubeconfig first, as after any change of kubeconfig.
    stack.up()
    calls = len(plugin.callers())
    stack.destroy()
    assert any(c.startswith("pulumi-resource") for c in plugin.callers()[calls:]), plugin.callers()
    for ns in (scene.master_ns, scene.web):
        assert managed(scene.kube, ns, "secrets") == {}
        assert managed(scene.kube, ns, "configmaps") == {}
        assert managed(scene.kube, ns, "serviceaccounts") == {}


# ---- 2. a second environment ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def environments(tmp_path_factory, endpoint, kubeconfig, kube):
    """A dev stack against LocalStack and the staging stack against moto (another account and region)."""
    prefix = f"stg{random.token_hex(3)}"
    staging_settings = committed_config("staging")
    region = staging_settings["region"]
    dev_ns, staging_ns = f"{prefix}-dev", f"{prefix}-{staging_settings['masterNamespace']}"
    dev_web = kube.create_ecs_namespace(f"web-{prefix}", "us-east-1")
    staging_web = kube.create_ecs_namespace(f"web-{prefix}", region)
    for ns in (dev_ns, staging_ns):
        kube.create_namespace(ns)
    credentials = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
    with moto_server(account=STAGING_ACCOUNT) as moto_endpoint:
        sources = {
            "dev": (endpoint, "us-east-1", LOCALSTACK_ACCOUNT),
            "staging": (moto_endpoint, region, STAGING_ACCOUNT),
        }
        values, arns = {}, {}
        for env, (url, env_region, _) in sources.items():
            sm = boto3.client("secretsmanager", endpoint_url=url, region_name=env_region, **credentials)
            ssm = boto3.client("ssm", endpoint_url=url, region_name=env_region, **credentials)
            values[env] = f"{env}-{random.token_hex(6)}"
            # The same names in both environments, different values.
            sm.create_secret(Name=f"{prefix}/db", SecretString=values[env])
            ssm.put_parameter(Name=f"/{prefix}/level", Type="String", Value=env)
            # Only pods ask for this one.
            values[f"{env}-extra"] = f"{env}-extra-{random.token_hex(6)}"
            arns[env] = sm.create_secret(Name=f"{prefix}/extra", SecretString=values[f"{env}-extra"])["ARN"]
        # The committed stacks' demand from files and from the demo's ECS API are the demo's; here demand is the test's own.
        common = {"namePrefixes": [f"{prefix}/", f"/{prefix}/"], "kubeconfig": kubeconfig, "taskDefinitions": [], "ecsDemand": {}}
        dev = ProjectStack(tmp_path_factory.mktemp("dev"), "dev", {
            **committed_config("dev"), **common, "endpoint": endpoint, "masterNamespace": dev_ns,
            "demand": {dev_web: [f"{prefix}/db", f"/{prefix}/level"]},
        })  # fmt: skip
        staging = ProjectStack(tmp_path_factory.mktemp("staging"), "staging", {
            **staging_settings, **common, "endpoint": moto_endpoint, "masterNamespace": staging_ns,
            # An ARN of the staging account and region: resolved against moto's inventory, never LocalStack's.
            "demand": {staging_web: [f"{prefix}/db", f"arn:aws:ssm:{region}:{STAGING_ACCOUNT}:parameter/{prefix}/level"]},
        })  # fmt: skip
        world = {
            "prefix": prefix, "values": values, "sources": sources, "dev": dev, "staging": staging, "arns": arns,
            "dev_namespaces": [dev_ns, dev_web], "staging_namespaces": [staging_ns, staging_web], "pods": [],
        }  # fmt: skip
        try:
            yield world
        finally:
            try:
                for path in world["pods"]:  # first: another stack with podDemand must not see them (namespaces go slowly)
                    kube.delete(path)
                staging.remove()
            finally:
                try:
                    dev.remove()
                finally:
                    for ns in (dev_ns, staging_ns, dev_web, staging_web):
                        kube.delete_namespace(ns)
                    lsm = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1", **credentials)
                    for name in (f"{prefix}/db", f"{prefix}/extra"):
                        lsm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
                    boto3.client("ssm", endpoint_url=endpoint, region_name="us-east-1", **credentials).delete_parameter(Name=f"/{prefix}/level")


def test_e_dev_and_staging_converge_side_by_side(environments, kube):
    w = environments
    p = w["prefix"]
    w["dev"].up()
    w["staging"].up()
    for env in ("dev", "staging"):
        master_ns, web = w[f"{env}_namespaces"]
        _, region, account = w["sources"][env]
        master = managed(kube, master_ns, "secrets")[f"sm-{p}-db"]
        assert decoded(master) == {"value": w["values"][env].encode()}
        assert master["metadata"]["annotations"]["kecs.io/source-arn"].startswith(f"arn:aws:secretsmanager:{region}:{account}:secret:{p}/db-")
        assert master["metadata"]["annotations"][STACK_ANNOTATION] == f"kecs-secrets/{env}"
        assert decoded(managed(kube, master_ns, "secrets")[f"ssm-{p}-level"]) == {"value": env.encode()}
        assert decoded(managed(kube, web, "secrets")[f"sm-{p}-db"]) == {"value": w["values"][env].encode()}
        assert kube.get(f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{master_ns}-secret-reader") is not None
    assert_apart(w, kube)


def assert_apart(w, kube: KubeAdmin) -> None:
    """Neither stack made anything in the other's namespaces."""
    for env, other in (("dev", "staging"), ("staging", "dev")):
        for ns in w[f"{other}_namespaces"]:
            for kind in ("secrets", "configmaps", "serviceaccounts"):
                owners = {o["metadata"]["annotations"][STACK_ANNOTATION] for o in managed(kube, ns, kind).values()}
                assert f"kecs-secrets/{env}" not in owners


def kecs_pod(kube: KubeAdmin, w, namespace: str, name: str, value_froms: list[str]) -> None:
    """A pod as KECS makes it for a task whose secrets are ``value_froms`` (Pending: no kubelet runs here)."""
    annotations = {f"kecs.dev/secret-{i}-arn": f"app:VAR{i}:{value}" for i, value in enumerate(value_froms)}
    annotations["kecs.dev/secret-count"] = str(len(value_froms))
    kube.post(f"/api/v1/namespaces/{namespace}/pods", {
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"automountServiceAccountToken": False, "containers": [{"name": "app", "image": "busybox"}]},
    })  # fmt: skip
    w["pods"].append(f"/api/v1/namespaces/{namespace}/pods/{name}")


def test_e2_with_pod_demand_each_stack_serves_only_its_regions_pods(environments, kube):
    """Pods of dev's region and of staging's region on one cluster: each stack serves its own, ignores the others'
    (no replica, no warning, no failure on an ARN of the other account and region)."""
    w = environments
    p = w["prefix"]
    _, dev_web = w["dev_namespaces"]
    _, staging_web = w["staging_namespaces"]
    # Each task names its own environment's secrets: a bare name both sources have, and an ARN of its own account.
    kecs_pod(kube, w, dev_web, "dev-task", [f"{p}/extra", w["arns"]["dev"]])
    kecs_pod(kube, w, staging_web, "staging-task", [f"{p}/extra", w["arns"]["staging"]])
    for env in ("dev", "staging"):
        # clusters: only this test's ECS cluster (other tests' pods may share the cluster); both regions have it.
        w[env].update_config(podDemand=True, clusters=[f"web-{p}"])
        _, log = w[env].up()
        text = "\n".join(log.text)
        assert "dev-task" not in text and "staging-task" not in text, text[-3000:]  # no line about any pod
    for env in ("dev", "staging"):
        _, web = w[f"{env}_namespaces"]
        replicas = managed(kube, web, "secrets")
        assert set(replicas) == {f"sm-{p}-db", f"ssm-{p}-level", f"sm-{p}-extra"}
        assert decoded(replicas[f"sm-{p}-extra"]) == {"value": w["values"][f"{env}-extra"].encode()}
        assert {o["metadata"]["annotations"][STACK_ANNOTATION] for o in replicas.values()} == {f"kecs-secrets/{env}"}
    assert_apart(w, kube)
    # Both converged: a second run of each changes nothing.
    for env in ("dev", "staging"):
        preview, _ = w[env].preview()
        assert set(preview.change_summary) <= {"same"}, (env, preview.change_summary)


def test_f_destroying_staging_leaves_dev_byte_identical(environments, kube):
    w = environments
    dev_master_ns = w["dev_namespaces"][0]
    before = fingerprint(kube, w["dev_namespaces"], dev_master_ns)
    assert before
    w["staging"].destroy()
    for ns in w["staging_namespaces"]:
        for kind in ("secrets", "configmaps", "serviceaccounts"):
            assert managed(kube, ns, kind) == {}
    assert kube.get(f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{w['staging_namespaces'][0]}-secret-reader") is None
    assert fingerprint(kube, w["dev_namespaces"], dev_master_ns) == before
    # And dev still sees nothing to do.
    preview, _ = w["dev"].preview()
    assert set(preview.change_summary) <= {"same"}, preview.change_summary
