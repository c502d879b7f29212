"""The whole lifecycle of one stack, checked through the Kubernetes API (not through Pulumi's outputs).

One scenario, `test_one_stack_from_empty_to_destroyed`, runs the steps below in the order it lists them
on one stack: each step starts from the state the previous one left (the scenario says which). The steps
are plain functions, not tests, so pytest never runs them alone or in another order.
"""

from __future__ import annotations

import base64
import json
import os
import secrets as random

import pytest
from pulumi import automation as auto

from tests.support.leaks import needles
from tests.support.real import ROOT
from tests.support.stack import ProjectStack, RunLog

pytestmark = pytest.mark.e2e

STACK_ANNOTATION = "kecs-secrets.io/stack"


def names(kube, namespace, kind):
    path = f"/api/v1/namespaces/{namespace}/{kind}"
    return {
        o["metadata"]["name"]
        for o in kube.get(path)["items"]
        if STACK_ANNOTATION in (o["metadata"].get("annotations") or {})
    }


def snapshot(kube, namespaces):
    """name -> resourceVersion of every object in these namespaces (and our ClusterRoles)."""
    result = {}
    for ns in namespaces:
        for kind in ("secrets", "configmaps", "serviceaccounts"):
            for o in kube.get(f"/api/v1/namespaces/{ns}/{kind}")["items"]:
                result[(kind, ns, o["metadata"]["name"])] = o["metadata"]["resourceVersion"]
        for o in kube.get(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings")["items"]:
            result[("rolebindings", ns, o["metadata"]["name"])] = o["metadata"]["resourceVersion"]
    for o in kube.get("/apis/rbac.authorization.k8s.io/v1/clusterroles")["items"]:
        if o["metadata"]["name"].endswith("-secret-reader"):
            result[("clusterroles", "", o["metadata"]["name"])] = o["metadata"]["resourceVersion"]
    return result


def decoded(secret):
    return {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}


class World:
    """The data set and namespaces of one lifecycle run (all names carry a random prefix)."""

    def __init__(self, prefix, aws, kube):
        self.p = prefix
        self.sm, self.ssm, self.kube = aws("secretsmanager"), aws("ssm"), kube
        self.values: dict[str, bytes] = {}
        self.master_ns = f"{prefix}-system"
        self.web = f"web-{prefix}-us-east-1"
        self.batch = f"batch-{prefix}-us-east-1"
        self.pods = f"pods-{prefix}-us-east-1"
        kube.create_namespace(self.master_ns)
        kube.create_ecs_namespace(f"web-{prefix}", "us-east-1")
        kube.create_ecs_namespace(f"batch-{prefix}", "us-east-1")
        kube.create_ecs_namespace(f"pods-{prefix}", "us-east-1")
        token = random.token_hex(8)
        self.db = self.secret("db-creds", json.dumps({"username": "admin", "password": f"pw-{token}"}))
        self.api = self.secret("api.Token", f"tok-{token}")
        self.blob_value = bytes([0, 255, 1, 254]) + token.encode()
        self.blob = self.sm.create_secret(Name=f"{prefix}/blob", SecretBinary=self.blob_value)
        self.values["blob"] = self.blob_value
        self.param("db/password", "SecureString", f"ssm-pw-{token}")
        self.param("feature-flags", "StringList", "a,b,c")
        self.param("app-param", "String", "plain-config")
        # Objects nobody manages: destroy must leave them exactly as they are.
        self.unmanaged = {}
        for ns in (self.master_ns, self.web):
            for kind, body in (
                ("secrets", {"metadata": {"name": "unmanaged-secret"}, "stringData": {"k": "v"}}),
                ("configmaps", {"metadata": {"name": "unmanaged-config"}, "data": {"k": "v"}}),
            ):
                made = kube.post(f"/api/v1/namespaces/{ns}/{kind}", body)
                self.unmanaged[(kind, ns, body["metadata"]["name"])] = made["metadata"]["resourceVersion"]

    def forget(self):
        """Delete what this run put into LocalStack (whatever the tests already deleted)."""
        for page in self.sm.get_paginator("list_secrets").paginate():
            for item in page["SecretList"]:
                if item["Name"].startswith(f"{self.p}/"):
                    self.sm.delete_secret(SecretId=item["ARN"], ForceDeleteWithoutRecovery=True)
        names = [p["Name"] for page in self.ssm.get_paginator("describe_parameters").paginate() for p in page["Parameters"]]
        mine = [n for n in names if n.startswith(f"/{self.p}/")]
        for i in range(0, len(mine), 10):
            self.ssm.delete_parameters(Names=mine[i : i + 10])

    def secret(self, name, value):
        self.values[name] = value.encode()
        return self.sm.create_secret(Name=f"{self.p}/{name}", SecretString=value)

    def param(self, name, kind, value):
        if kind == "SecureString":
            self.values[name] = value.encode()
        self.ssm.put_parameter(Name=f"/{self.p}/{name}", Type=kind, Value=value)

    def task_definition(self):
        return json.dumps({
            "family": "web",
            "containerDefinitions": [{
                "name": "app",
                "secrets": [
                    {"name": "DB_USER", "valueFrom": f"{self.db['ARN']}:username::"},
                    {"name": "DB_PASSWORD", "valueFrom": f"{self.db['ARN']}:password::"},
                    {"name": "SSM_PW", "valueFrom": f"arn:aws:ssm:us-east-1:000000000000:parameter/{self.p}/db/password"},
                    {"name": "FLAGS", "valueFrom": f"/{self.p}/feature-flags"},
                    {"name": "BLOB", "valueFrom": self.blob["ARN"]},
                ],
            }],
        })

    def config(self, endpoint, kubeconfig):
        return {
            "endpoint": endpoint,
            "region": "us-east-1",
            "masterNamespace": self.master_ns,
            "namePrefixes": [f"{self.p}/", f"/{self.p}/"],
            "kubeconfig": kubeconfig,
            "taskDefinitions": [{"path": "task-definitions/web.json", "cluster": f"web-{self.p}"}],
            "demand": {self.batch: [f"{self.p}/api.Token", f"/{self.p}/app-param"]},
            # ADR 21's kinds (String/StringList as ConfigMaps), now an explicit setting; the default (every
            # parameter a Secret, as KECS pods read it) is covered by test_kecs_pods.py.
            "ssmKind": "by-sensitivity",
        }

    def master(self, name):
        return f"sm-{self.p}-{name}" if not name.startswith("/") else f"ssm-{self.p}-{name[1:]}"


@pytest.fixture
def lifecycle(tmp_path_factory, endpoint, kubeconfig, kube, aws):
    prefix = f"e2e{random.token_hex(3)}"
    world = World(prefix, aws, kube)
    stack = ProjectStack(
        tmp_path_factory.mktemp("lifecycle"),
        f"e2e-{prefix}",
        world.config(endpoint, kubeconfig),
        {"task-definitions/web.json": world.task_definition()},
    )
    logs: list = []
    yield world, stack, logs
    try:
        stack.remove()
    finally:
        for ns in (world.master_ns, world.web, world.batch, world.pods):
            kube.delete_namespace(ns)
        world.forget()


def p(world, suffix):
    return f"{world.p}-{suffix}"


def up_from_empty_creates_exactly_the_layout(world, stack, logs):
    kube = world.kube
    _, log = stack.up()
    logs.append(log)
    sm_db, sm_api, sm_blob = f"sm-{p(world, 'db-creds')}", f"sm-{p(world, 'api.token')}", f"sm-{p(world, 'blob')}"
    ssm_pw, ssm_flags, ssm_param = f"ssm-{p(world, 'db-password')}", f"ssm-{p(world, 'feature-flags')}", f"ssm-{p(world, 'app-param')}"
    assert names(kube, world.master_ns, "secrets") == {sm_db, sm_api, sm_blob, ssm_pw}
    assert names(kube, world.master_ns, "configmaps") == {ssm_flags, ssm_param}
    assert names(kube, world.web, "secrets") == {sm_db, ssm_pw, sm_blob}
    assert names(kube, world.web, "configmaps") == {ssm_flags}
    assert names(kube, world.batch, "secrets") == {sm_api}
    assert names(kube, world.batch, "configmaps") == {ssm_param}

    master = kube.secret(world.master_ns, sm_db)
    assert decoded(master) == {
        "value": world.values["db-creds"], "username": b"admin", "password": json.loads(world.values["db-creds"])["password"].encode(),
    }
    assert master["metadata"]["labels"] == {"kecs.io/managed-by": "kecs", "kecs.io/source": "secretsmanager"}
    annotations = master["metadata"]["annotations"]
    assert annotations["kecs.io/source-name"] == f"{world.p}/db-creds"
    assert annotations["kecs.io/source-arn"] == world.db["ARN"]
    assert annotations["kecs.io/source-version"] == world.db["VersionId"]
    assert decoded(kube.secret(world.master_ns, sm_blob)) == {"value": world.blob_value}
    assert kube.configmap(world.master_ns, ssm_flags)["data"] == {"value": "a,b,c", "items": '["a","b","c"]'}
    assert decoded(kube.secret(world.master_ns, ssm_pw))["value"] == world.values["db/password"]

    replica = kube.secret(world.web, sm_db)
    assert decoded(replica) == decoded(master)
    assert replica["metadata"]["labels"] == {
        "kecs.io/managed-by": "kecs", "kecs.io/replicated-from": world.master_ns, "kecs.io/source": "secretsmanager",
    }
    assert replica["metadata"]["annotations"]["kecs.io/source-namespace"] == world.master_ns
    assert replica["metadata"]["annotations"]["kecs.io/last-replicated"] == annotations["kecs.io/last-changed"]

    for ns in (world.web, world.batch):
        account = kube.get(f"/api/v1/namespaces/{ns}/serviceaccounts/kecs-secret-reader-{ns}")
        assert account is not None
        binding = kube.get(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{world.master_ns}/rolebindings/kecs-secret-reader-{ns}")
        assert binding["metadata"]["labels"]["kecs.io/for-namespace"] == ns
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": f"{world.master_ns}-secret-reader"}
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": f"kecs-secret-reader-{ns}", "namespace": ns}]
    role = kube.get(f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{world.master_ns}-secret-reader")
    # By name: the masters some namespace receives, each under its own resource; nothing else of the master namespace.
    read = ["get", "list", "watch"]
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": read, "resourceNames": sorted([sm_api, sm_blob, sm_db, ssm_pw])},
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": read, "resourceNames": sorted([ssm_flags, ssm_param])},
    ]
    assert kube.get(f"/api/v1/namespaces/{world.pods}/serviceaccounts/kecs-secret-reader-{world.pods}") is None


def no_change_preview_and_up_report_zero_changes(world, stack, logs):
    before = snapshot(world.kube, [world.master_ns, world.web, world.batch])
    preview, log = stack.preview()
    logs.append(log)
    assert log.changed() == {}
    assert set(preview.change_summary) == {"same"}
    result, log = stack.up()
    logs.append(log)
    assert log.changed() == {}
    assert set(result.summary.resource_changes) == {"same"}
    assert snapshot(world.kube, [world.master_ns, world.web, world.batch]) == before


def policy_pack_passes_on_the_real_stack(world, stack, logs):
    """`pulumi preview --policy-pack policies`, as CI and pull requests run it, on the real program."""
    with open(os.path.join(ROOT, "policies", "config.json"), encoding="utf-8") as handle:
        config = json.load(handle)
    for settings in config.values():
        if isinstance(settings, dict) and "masterNamespace" in settings:
            settings["masterNamespace"] = world.master_ns  # this stack's master namespace
    config["kecs-no-secret-in-configmap"]["ssmKind"] = "by-sensitivity"  # as this stack sets it
    config_file = stack.base / "policy-config.json"
    config_file.write_text(json.dumps(config), encoding="utf-8")
    _, log = stack.preview(policy_packs=[os.path.join(ROOT, "policies")], policy_pack_configs=[str(config_file)])
    logs.append(log)
    text = "\n".join(log.text)
    assert "kecs-secrets-policies" in text
    assert "mandatory" not in text and "advisory" not in text, text[-3000:]


def new_value_updates_that_master_and_its_replicas_in_place_and_nothing_else(world, stack, logs):
    kube = world.kube
    sm_db = f"sm-{p(world, 'db-creds')}"
    uids = {ns: kube.secret(ns, sm_db)["metadata"]["uid"] for ns in (world.master_ns, world.web)}
    before = snapshot(kube, [world.master_ns, world.web, world.batch])
    new_value = json.dumps({"username": "admin", "password": f"pw2-{random.token_hex(8)}"})
    world.values["db-creds-2"] = new_value.encode()
    world.sm.put_secret_value(SecretId=world.db["ARN"], SecretString=new_value)
    _, log = stack.up()
    logs.append(log)
    changed = log.changed()
    assert set(changed.values()) == {"update"}, changed
    touched = sorted(urn.rsplit("::", 1)[1] for urn in changed)
    # The stack's one value reader ("values") reads the new version; of the objects, exactly its master and its replica.
    assert touched == sorted(["values", sm_db, f"{world.web}/{sm_db}"])
    for ns in (world.master_ns, world.web):
        secret = kube.secret(ns, sm_db)
        assert secret["metadata"]["uid"] == uids[ns], "updated in place, not replaced"
        assert decoded(secret)["value"] == new_value.encode()
        assert decoded(secret)["password"] == json.loads(new_value)["password"].encode()
    after = snapshot(kube, [world.master_ns, world.web, world.batch])
    differing = {key for key in before if before[key] != after.get(key)}
    assert differing == {("secrets", world.master_ns, sm_db), ("secrets", world.web, sm_db)}


def empty_source_is_never_read_as_delete_everything(world, stack, logs):
    before = snapshot(world.kube, [world.master_ns, world.web, world.batch])
    prefixes = stack.config["namePrefixes"]
    stack.update_config(namePrefixes=[f"{world.p}-nothing-matches/"], demand={}, taskDefinitions=[])
    refused = RunLog()
    logs.append(refused)  # what a refused run prints is scanned for values too
    try:
        with pytest.raises(auto.CommandError) as caught:
            stack.up(log=refused)
        assert "DeletionGuardError: the source lists no items, so this run would delete all 6 masters" in str(caught.value)
    finally:
        stack.update_config(namePrefixes=prefixes, demand=world.config("", "")["demand"], taskDefinitions=world.config("", "")["taskDefinitions"])
    assert snapshot(world.kube, [world.master_ns, world.web, world.batch]) == before


def rbac_by_subject_access_review(world, stack, logs):
    kube = world.kube
    web_sa = f"system:serviceaccount:{world.web}:kecs-secret-reader-{world.web}"
    sm_db, ssm_flags = f"sm-{p(world, 'db-creds')}", f"ssm-{p(world, 'feature-flags')}"
    for sa in (web_sa, f"system:serviceaccount:{world.batch}:kecs-secret-reader-{world.batch}"):
        for verb in ("get", "list", "watch"):
            # Its stack's masters, by name (list and watch only with the field selector metadata.name=<master>)...
            assert kube.can(sa, verb, "secrets", world.master_ns, sm_db)
            assert kube.can(sa, verb, "configmaps", world.master_ns, ssm_flags)
            # ...and nothing else of the master namespace: not every secret, not a Secret or ConfigMap that is no
            # master, not a ConfigMap under a Secret master's name.
            assert not kube.can(sa, verb, "secrets", world.master_ns)
            assert not kube.can(sa, verb, "configmaps", world.master_ns)
            assert not kube.can(sa, verb, "secrets", world.master_ns, "unmanaged-secret")
            assert not kube.can(sa, verb, "configmaps", world.master_ns, "unmanaged-config")
            assert not kube.can(sa, verb, "configmaps", world.master_ns, sm_db)
    for verb in ("create", "update", "patch", "delete"):
        assert not kube.can(web_sa, verb, "secrets", world.master_ns)
        assert not kube.can(web_sa, verb, "secrets", world.master_ns, sm_db)
    assert not kube.can(web_sa, "get", "secrets", world.batch), "another namespace's replicas"
    assert not kube.can(web_sa, "get", "pods", world.master_ns)


def need_to_know_mode_narrows_to_the_needed_masters(world, stack, logs):
    kube = world.kube
    stack.update_config(rbacMode="need-to-know")
    _, log = stack.up()
    logs.append(log)
    web_sa = f"system:serviceaccount:{world.web}:kecs-secret-reader-{world.web}"
    assert kube.can(web_sa, "get", "secrets", world.master_ns, f"sm-{p(world, 'db-creds')}")
    assert not kube.can(web_sa, "get", "secrets", world.master_ns, f"sm-{p(world, 'api.token')}")
    assert not kube.can(web_sa, "update", "secrets", world.master_ns, f"sm-{p(world, 'db-creds')}")
    assert not kube.can(web_sa, "get", "secrets", world.master_ns, "unmanaged-secret")
    assert not kube.can(web_sa, "get", "configmaps", world.master_ns, f"sm-{p(world, 'db-creds')}")  # a rule per resource
    assert kube.get(f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{world.master_ns}-secret-reader") is None
    stack.update_config(rbacMode="cluster-role")
    _, log = stack.up()
    logs.append(log)
    assert kube.can(web_sa, "get", "secrets", world.master_ns, f"sm-{p(world, 'api.token')}")


def unreachable_localstack_fails_clearly_and_changes_nothing(world, stack, logs):
    before = snapshot(world.kube, [world.master_ns, world.web, world.batch])
    good = stack.config["endpoint"]
    stack.update_config(endpoint="http://127.0.0.1:9")  # nothing listens there: LocalStack is down
    try:
        with pytest.raises(auto.CommandError) as caught:
            stack.up()
        assert "SourceUnavailableError: cannot read Secrets Manager ListSecrets from http://127.0.0.1:9" in str(caught.value)
        logs.append(type("L", (), {"text": [str(caught.value)]})())
    finally:
        stack.update_config(endpoint=good)
    assert snapshot(world.kube, [world.master_ns, world.web, world.batch]) == before


def unmanaged_object_in_a_tenant_namespace_skips_that_replica_unless_adopted(world, stack, logs):
    kube = world.kube
    name = f"ssm-{p(world, 'app-param')}"
    path = f"/api/v1/namespaces/{world.web}/configmaps/{name}"
    theirs = kube.post(f"/api/v1/namespaces/{world.web}/configmaps", {"metadata": {"name": name}, "data": {"value": "theirs"}})
    batch_before = snapshot(kube, [world.batch])
    batch_demand = stack.config["demand"][world.batch]
    stack.update_config(demand={world.batch: batch_demand, world.web: [f"/{world.p}/app-param"]})
    try:
        # Someone's object in a namespace that receives replicas skips that replica only: named, left alone, the rest converges.
        _, log = stack.up()
        logs.append(log)
        line = f"ConfigMap {world.web}/{name} already exists and was not made by this stack: that replica is skipped"
        assert any(line in text for text in log.text)
        assert kube.get(path)["metadata"]["resourceVersion"] == theirs["metadata"]["resourceVersion"]
        assert snapshot(kube, [world.batch]) == batch_before
        # Adoption is explicit: server-side apply takes the object over, and it belongs to the stack from then on.
        stack.update_config(adoptExisting=True)
        _, log = stack.up()
        logs.append(log)
        adopted = kube.get(path)
        assert adopted["data"]["value"] == "plain-config"
        assert adopted["metadata"]["annotations"][STACK_ANNOTATION] == f"kecs-secrets/{stack.name}"
        stack.update_config(adoptExisting=False, demand={world.batch: batch_demand})
        _, log = stack.up()
        logs.append(log)
        assert kube.get(path) is None
    finally:
        stack.update_config(adoptExisting=False, demand={world.batch: batch_demand})
        if kube.get(path) is not None:
            kube.delete(path)


def pods_with_kecs_annotations_receive_their_replicas(world, stack, logs):
    kube = world.kube
    kube.post(f"/api/v1/namespaces/{world.pods}/pods", {
        "metadata": {
            "name": "task-1",
            "annotations": {
                "kecs.dev/secret-count": "2",
                "kecs.dev/secret-1-arn": f"app:DB_USER:{world.db['ARN']}:username::",
                "kecs.dev/secret-2-arn": f"app:PW:/{world.p}/db/password",
            },
        },
        "spec": {"automountServiceAccountToken": False, "containers": [{"name": "app", "image": "busybox"}]},
    })
    stack.update_config(podDemand=True)
    _, log = stack.up()
    logs.append(log)
    assert names(kube, world.pods, "secrets") == {f"sm-{p(world, 'db-creds')}", f"ssm-{p(world, 'db-password')}"}
    assert kube.get(f"/api/v1/namespaces/{world.pods}/serviceaccounts/kecs-secret-reader-{world.pods}") is not None


def secret_deleted_in_localstack_loses_master_and_replicas(world, stack, logs):
    kube = world.kube
    sm_api = f"sm-{p(world, 'api.token')}"
    stack.update_config(demand={world.batch: [f"/{world.p}/app-param"]})  # the reference goes with the secret
    world.sm.delete_secret(SecretId=world.api["ARN"], ForceDeleteWithoutRecovery=True)
    _, log = stack.up()
    logs.append(log)
    assert kube.secret(world.master_ns, sm_api) is None
    assert kube.secret(world.batch, sm_api) is None
    assert names(kube, world.batch, "configmaps") == {f"ssm-{p(world, 'app-param')}"}


def namespace_without_demand_loses_replicas_and_rbac(world, stack, logs):
    kube = world.kube
    stack.update_config(demand={})
    _, log = stack.up()
    logs.append(log)
    assert names(kube, world.batch, "configmaps") == set()
    assert names(kube, world.batch, "secrets") == set()
    assert kube.get(f"/api/v1/namespaces/{world.batch}/serviceaccounts/kecs-secret-reader-{world.batch}") is None
    assert kube.get(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{world.master_ns}/rolebindings/kecs-secret-reader-{world.batch}") is None
    assert names(kube, world.web, "secrets")  # the others keep theirs


def destroy_removes_everything_the_stack_made_and_nothing_else(world, stack, logs):
    kube = world.kube
    logs.append(stack.destroy())
    for ns in (world.master_ns, world.web, world.batch, world.pods):
        assert names(kube, ns, "secrets") == set()
        assert names(kube, ns, "configmaps") == set()
        assert names(kube, ns, "serviceaccounts") == set()
    assert kube.get(f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{world.master_ns}-secret-reader") is None
    rolebindings = kube.get(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{world.master_ns}/rolebindings")["items"]
    assert [b["metadata"]["name"] for b in rolebindings] == []
    for (kind, ns, name), version in world.unmanaged.items():
        still = kube.get(f"/api/v1/namespaces/{ns}/{kind}/{name}")
        assert still is not None and still["metadata"]["resourceVersion"] == version


def no_secret_value_in_state_or_cli_output(world, stack, logs):
    """Every run above, refused ones included, stdout and stderr; every file of the backend."""
    blobs = [path.read_bytes() for path in stack.state_files()]
    assert blobs, "the backend holds the stack's state files"
    output = "\n".join(log.printed() if isinstance(log, RunLog) else "\n".join(log.text) for log in logs).encode()
    assert output
    for needle in needles(world.values.values(), public={"admin"}):
        assert needle not in output, "a secret value appears in CLI output"
        for blob in blobs:
            assert needle not in blob, "a secret value appears in plain text in state"


def test_one_stack_from_empty_to_destroyed(lifecycle):
    """Every step of a stack's life, in this order; the comments say what each step leaves behind."""
    world, stack, logs = lifecycle
    # Converge: web (task definition) and batch (config demand) get their replicas, RBAC per namespace.
    up_from_empty_creates_exactly_the_layout(world, stack, logs)
    no_change_preview_and_up_report_zero_changes(world, stack, logs)
    policy_pack_passes_on_the_real_stack(world, stack, logs)
    new_value_updates_that_master_and_its_replicas_in_place_and_nothing_else(world, stack, logs)
    # Refusals: each one fails, changes nothing and restores the config it changed.
    empty_source_is_never_read_as_delete_everything(world, stack, logs)
    unreachable_localstack_fails_clearly_and_changes_nothing(world, stack, logs)
    # RBAC: cluster-role mode as converged, then need-to-know and back to cluster-role.
    rbac_by_subject_access_review(world, stack, logs)
    need_to_know_mode_narrows_to_the_needed_masters(world, stack, logs)
    # An unmanaged object in a tenant namespace skipped (the rest converges), then adopted, then released with the demand.
    unmanaged_object_in_a_tenant_namespace_skips_that_replica_unless_adopted(world, stack, logs)
    # Shrinking: pod demand adds a namespace; a deleted secret and removed demand take things away.
    pods_with_kecs_annotations_receive_their_replicas(world, stack, logs)
    secret_deleted_in_localstack_loses_master_and_replicas(world, stack, logs)
    namespace_without_demand_loses_replicas_and_rbac(world, stack, logs)
    destroy_removes_everything_the_stack_made_and_nothing_else(world, stack, logs)
    # Over every run above: no value in the CLI output or the backend's files.
    no_secret_value_in_state_or_cli_output(world, stack, logs)
