"""Safety at the edges, tried as an attacker and as an unlucky operator would, with the real CLI, LocalStack and control plane.

Each test owns its data set, namespaces and stack:
- who may ask: pod demand only from ECS cluster namespaces, config demand for others refused by name;
- `checkCluster: false` never turns an update into one without the deletion guard and the ownership checks;
- an object in state that someone recreated under its name is never deleted (up and destroy);
- after a killed `up` and the README's recovery, nothing of the stack that is not wanted remains;
- a JSON key the secret lacks fails at preview, naming the reference and its origin, and changes nothing;
- provider failures are one line per item, never a Python traceback;
- a tenant's bad pod or object is skipped and reported on itself (a warning, an Event on the pod) while the rest converges.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets as random
import subprocess
import time

import psutil
import pytest
from pulumi import automation as auto

from tests.support.cluster import wait_for
from tests.support.counting_proxy import VALUE_READS, CountingProxy
from tests.support.processes import kill_tree
from tests.support.real import ROOT
from tests.support.stack import ProjectStack, pulumi_home

pytestmark = pytest.mark.e2e

REGION = "us-east-1"
STACK_ANNOTATION = "kecs-secrets.io/stack"


class Scene:
    """One test's data set (names carry a random prefix), its namespaces and its stack."""

    def __init__(self, tmp_path, endpoint, kubeconfig, kube, aws):
        self.p = f"s{random.token_hex(3)}"
        self.tmp, self.endpoint, self.kubeconfig, self.kube = tmp_path, endpoint, kubeconfig, kube
        self.sm = aws("secretsmanager")
        self.master_ns = f"{self.p}-system"
        kube.create_namespace(self.master_ns)
        self.web = kube.create_ecs_namespace(f"web-{self.p}", REGION)
        self.namespaces = [self.master_ns, self.web]
        self.arns: dict[str, str] = {}
        self.pods: list[str] = []  # API paths of the pods this scene made
        self.stack: ProjectStack | None = None

    def secret(self, name: str, value: str) -> str:
        self.arns[name] = self.sm.create_secret(Name=f"{self.p}/{name}", SecretString=value)["ARN"]
        return self.arns[name]

    def delete_secret(self, name: str) -> None:
        self.sm.delete_secret(SecretId=self.arns.pop(name), ForceDeleteWithoutRecovery=True)

    def namespace(self, name: str, ecs: bool = False) -> str:
        if ecs:
            name = self.kube.create_ecs_namespace(name, REGION)
        else:
            self.kube.create_namespace(name)
        self.namespaces.append(name)
        return name

    def pod(self, namespace: str, name: str, annotations: dict[str, str]) -> None:
        self.pods.append(f"/api/v1/namespaces/{namespace}/pods/{name}")
        self.kube.post(f"/api/v1/namespaces/{namespace}/pods", {
            "metadata": {"name": name, "annotations": annotations},
            "spec": {"automountServiceAccountToken": False, "containers": [{"name": "app", "image": "busybox"}]},
        })

    def master(self, name: str) -> str:
        return f"sm-{self.p}-{name}"

    def make_stack(self, **config) -> ProjectStack:
        base = {
            "endpoint": self.endpoint, "region": REGION, "masterNamespace": self.master_ns,
            "namePrefixes": [f"{self.p}/"], "ssmPaths": [f"/{self.p}/"], "kubeconfig": self.kubeconfig,
        }
        self.stack = ProjectStack(self.tmp / "stack", f"e2e-{self.p}", {**base, **config})
        return self.stack

    def ours(self, namespace: str, kind: str = "secrets") -> set[str]:
        """Names of the objects in ``namespace`` that carry this stack's annotation."""
        return {
            o["metadata"]["name"]
            for o in self.kube.get(f"/api/v1/namespaces/{namespace}/{kind}")["items"]
            if (o["metadata"].get("annotations") or {}).get(STACK_ANNOTATION) == f"kecs-secrets/{self.stack.name}"
        }

    def snapshot(self) -> dict:
        """(kind, namespace, name) -> resourceVersion of every object in this scene's namespaces, and its ClusterRoles."""
        result = {}
        for ns in self.namespaces:
            for kind in ("secrets", "configmaps", "serviceaccounts"):
                for o in self.kube.get(f"/api/v1/namespaces/{ns}/{kind}")["items"]:
                    result[(kind, ns, o["metadata"]["name"])] = o["metadata"]["resourceVersion"]
            for kind in ("rolebindings", "roles"):
                for o in self.kube.get(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/{kind}")["items"]:
                    result[(kind, ns, o["metadata"]["name"])] = o["metadata"]["resourceVersion"]
        for o in self.kube.get("/apis/rbac.authorization.k8s.io/v1/clusterroles")["items"]:
            if o["metadata"]["name"].startswith(self.master_ns):
                result[("clusterroles", "", o["metadata"]["name"])] = o["metadata"]["resourceVersion"]
        return result

    def close(self) -> None:
        for path in self.pods:  # first: another stack with podDemand must not see them (namespaces go slowly)
            if self.kube.get(path) is not None:
                self.kube.delete(path)
            wait_for(lambda path=path: self.kube.get(path) is None, what=f"pod {path} gone")
        try:
            if self.stack is not None:
                self.stack.remove()
        finally:
            for ns in self.namespaces:
                self.kube.delete_namespace(ns)
            for arn in self.arns.values():
                self.sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)


@pytest.fixture
def scene(tmp_path, endpoint, kubeconfig, kube, aws):
    made = Scene(tmp_path, endpoint, kubeconfig, kube, aws)
    yield made
    made.close()


def cli_env(stack: ProjectStack, **extra: str) -> dict[str, str]:
    return {**os.environ, **stack.env, "PULUMI_HOME": str(pulumi_home()), **extra}


def cli(stack: ProjectStack, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """The Pulumi CLI in the stack's project directory, as a user types it."""
    return subprocess.run(
        ["pulumi", *args, "--stack", stack.name, "--non-interactive", "--color", "never"],
        cwd=stack.workdir, env=cli_env(stack), capture_output=True, text=True, timeout=timeout, check=False,
    )


def destroy_check(stack: ProjectStack) -> subprocess.CompletedProcess:
    """`make destroy`'s first step, run in the stack's project directory."""
    return subprocess.run(
        [os.path.join(ROOT, ".venv", "bin", "kecs-secrets"), "destroy-check", "--stack", stack.name],
        cwd=stack.workdir, env=cli_env(stack, PYTHONPATH=ROOT), capture_output=True, text=True, timeout=300, check=False,
    )


def state_delete_command(message: str) -> str:
    match = re.search(r"pulumi state delete '([^']+)' --yes", message)
    assert match, message[-2000:]
    return match.group(1)


def test_pod_demand_comes_only_from_ecs_cluster_namespaces(scene):
    s, kube = scene, scene.kube
    attacker = s.namespace(f"attacker-{s.p}")
    s.secret("s1", f"only-for-web-{random.token_hex(4)}")
    s.secret("s2", f"web-needs-{random.token_hex(4)}")
    s.pod(attacker, "evil", {"kecs.dev/secret-0-arn": f"c:E:{s.p}/s1"})
    s.pod(s.web, "broken", {"kecs.dev/secret-0-arn": "no-colons-at-all"})
    s.pod(s.web, "good", {"kecs.dev/secret-0-arn": f"app:E:{s.p}/s2"})
    # Pods of other tests' ECS namespaces may still be around on this shared cluster: their references are not ours.
    stack = s.make_stack(podDemand=True, unresolvedReferences="warn")

    _, log = stack.up()
    text = "\n".join(log.text)
    assert s.ours(attacker) == set(), "a pod in an unlabelled namespace pulled a secret"
    assert kube.get(f"/api/v1/namespaces/{attacker}/serviceaccounts/kecs-secret-reader-{attacker}") is None
    assert s.ours(s.web) == {s.master("s2")}, "the malformed pod must not block the others"
    assert f"pod {attacker}/evil ignored: its namespace '{attacker}' may not receive secrets" in text
    assert f"pod {s.web}/broken annotation kecs.dev/secret-0-arn: expected '<container>:<env-var>:<valueFrom>'; that pod is skipped" in text

    # Config demand for a namespace without KECS's labels: refused by name, nothing changes.
    before = s.snapshot()
    stack.update_config(demand={attacker: [f"{s.p}/s1"]})
    with pytest.raises(auto.CommandError) as caught:
        stack.up()
    assert (
        f"LayoutError: namespace '{attacker}' (from config kecs-secrets:demand.{attacker}[0]) is not an ECS cluster namespace"
        in str(caught.value)
    )
    assert s.snapshot() == before

    # The strict setting turns the malformed annotation into an error naming the pod.
    stack.update_config(demand={}, strictPodDemand=True)
    with pytest.raises(auto.CommandError) as caught:
        stack.up()
    assert f"ConfigError: pod {s.web}/broken annotation kecs.dev/secret-0-arn" in str(caught.value)
    assert s.snapshot() == before

    # The documented way to let another namespace ask.
    stack.update_config(strictPodDemand=False, allowedNamespaces=[attacker])
    stack.up()
    assert s.ours(attacker) == {s.master("s1")}


def test_check_cluster_false_only_makes_an_offline_preview(scene):
    s = scene
    for name in ("a", "b", "c"):
        s.secret(name, f"value-{random.token_hex(4)}")
    stack = s.make_stack(demand={s.web: [f"{s.p}/a"]})
    stack.up()
    assert s.ours(s.master_ns) == {s.master("a"), s.master("b"), s.master("c")}

    stack.update_config(checkCluster=False)
    preview, _ = stack.preview()  # an offline preview still shows the plan
    assert set(preview.change_summary) == {"same"}

    # Every source item gone and the cluster checks off: `up` must refuse, not delete 3 masters without a word.
    before = s.snapshot()
    stack.update_config(demand={})
    for name in ("a", "b", "c"):
        s.delete_secret(name)
    with pytest.raises(auto.CommandError) as caught:
        stack.up()
    message = str(caught.value)
    assert "ConfigError: config kecs-secrets:checkCluster=false only allows an offline preview" in message
    assert "Traceback" not in message
    assert s.snapshot() == before


def test_an_object_in_state_that_someone_recreated_is_never_deleted_by_up_or_destroy(scene):
    s, kube = scene, scene.kube
    s.secret("s1", f"one-{random.token_hex(4)}")
    s.secret("s2", f"two-{random.token_hex(4)}")
    stack = s.make_stack(demand={s.web: [f"{s.p}/s1", f"{s.p}/s2"]})
    stack.up()

    # A managed replica deleted through the API and recreated by hand, without the stack annotation.
    replica = s.master("s2")
    kube.delete(f"/api/v1/namespaces/{s.web}/secrets/{replica}")
    theirs = kube.post(f"/api/v1/namespaces/{s.web}/secrets", {"metadata": {"name": replica}, "stringData": {"k": "theirs"}})
    stack.update_config(demand={s.web: [f"{s.p}/s1"]})
    before = s.snapshot()
    with pytest.raises(auto.CommandError) as caught:
        stack.up()
    message = str(caught.value)
    assert f"OwnershipError: Secret {s.web}/{replica}: in this stack's state and due for deletion, but the live object is not" in message
    assert s.snapshot() == before
    # The documented step: forget it from the state, without touching the cluster; then the run goes through.
    forgotten = cli(stack, "state", "delete", state_delete_command(message), "--yes")
    assert forgotten.returncode == 0, forgotten.stderr
    stack.up()
    assert kube.secret(s.web, replica)["metadata"]["uid"] == theirs["metadata"]["uid"]

    # destroy: the check `make destroy` runs first finds the other replica recreated by hand.
    other = s.master("s1")
    kube.delete(f"/api/v1/namespaces/{s.web}/secrets/{other}")
    theirs_too = kube.post(f"/api/v1/namespaces/{s.web}/secrets", {"metadata": {"name": other}, "stringData": {"k": "theirs"}})
    check = destroy_check(stack)
    assert check.returncode == 1
    assert f"OwnershipError: Secret {s.web}/{other}: in this stack's state and due for deletion" in check.stderr
    assert cli(stack, "state", "delete", state_delete_command(check.stderr), "--yes").returncode == 0
    check = destroy_check(stack)
    assert check.returncode == 0, check.stderr
    stack.destroy()
    assert kube.secret(s.web, other)["metadata"]["uid"] == theirs_too["metadata"]["uid"]
    assert kube.secret(s.web, replica)["metadata"]["uid"] == theirs["metadata"]["uid"]
    assert s.ours(s.master_ns) == set() and s.ours(s.web) == set()


def _announced(lines: list[str]) -> set[str]:
    """Every object a line of the run announces as deleted, as 'Secret ns/name' (masters: in the master namespace)."""
    named = set()
    for line in lines:
        if "deleted by this run: " in line:
            named |= {part.strip() for part in line.split("deleted by this run: ", 1)[1].split(", ")}
        if "masters this run deletes" in line:
            named |= {f"master {name}" for name in re.findall(r"'([^']+)'", line.split(":", 1)[1])}
    return named


def _running(process: psutil.Process) -> bool:
    """Still there and not a zombie (a zombie waits for a parent that may not reap it; it holds nothing)."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_after_a_killed_up_and_the_recovery_nothing_unwanted_of_the_stack_remains(scene):
    s, kube = scene, scene.kube
    names = [f"k{i:02d}" for i in range(20)]
    # The Kubernetes provider's client limit spaces the creates (about 0.2 s apart) so that the kill below lands
    # among them: unthrottled, 20 creates can all be done between two looks at the cluster.
    stack = s.make_stack(maxMasterDeletions=20, kubeClientQps=5, kubeClientBurst=1)
    # The stack exists before the killed run: the key its state holds marks what that run makes, so the recovery can
    # verify those objects as the stack's own (a killed first run's key never reaches the state: see the README).
    s.secret("base", f"value-base-{random.token_hex(4)}")
    stack.up()
    base = s.ours(s.master_ns)
    for name in names:
        s.secret(name, f"value-{name}-{random.token_hex(4)}")

    # An `up` killed (SIGKILL, the whole process tree) while it creates masters one at a time. Without
    # checkpoints the state records none of them: every master it made is unknown to the state.
    process = subprocess.Popen(
        ["pulumi", "up", "--yes", "--skip-preview", "--parallel", "1", "--stack", stack.name, "--non-interactive"],
        cwd=stack.workdir, env=cli_env(stack, PULUMI_SKIP_CHECKPOINTS="true"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.monotonic() + 180
    try:
        while len(s.ours(s.master_ns) - base) < 4 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        alive = kill_tree(process)
    assert [p.pid for p in alive if _running(p)] == [], "processes of the killed up survived"
    made = s.ours(s.master_ns) - base
    assert 4 <= len(made) < len(names), f"the kill came too late or too early: {len(made)} masters"

    # Meanwhile the source changes: three of the masters the killed run made are no longer wanted.
    unwanted = sorted(made)[:3]
    for name in names:
        if s.master(name) in unwanted:
            s.delete_secret(name)
    wanted = {s.master(name) for name in s.arns}

    # The README's recovery.
    cancelled = cli(stack, "cancel", "--yes")
    assert cancelled.returncode == 0, cancelled.stderr
    _, log = stack.up()
    assert s.ours(s.master_ns) == wanted, "an object of this stack that is not wanted remains"
    announced = _announced(log.text)
    assert {f"Secret {s.master_ns}/{name}" for name in unwanted} <= announced
    for entry in announced:
        name = entry.rsplit(" ", 1)[-1].rsplit("/", 1)[-1]
        assert name not in s.ours(s.master_ns) and kube.secret(s.master_ns, name) is None, f"announced but not deleted: {entry}"

    # And the next run announces nothing and changes nothing.
    _, log = stack.up()
    assert _announced(log.text) == set()
    assert log.changed() == {}


def test_a_json_key_the_secret_lacks_fails_at_preview_naming_the_reference_and_changes_nothing(scene):
    s = scene
    batch = s.namespace(f"batch-{s.p}", ecs=True)
    with CountingProxy(s.endpoint) as proxy:
        db = s.secret("db", json.dumps({"user": "admin", "password": f"pw-{random.token_hex(4)}"}))
        good = f"{db}:user::"
        stack = s.make_stack(endpoint=proxy.endpoint, rbacMode="need-to-know", demand={s.web: [good]})
        stack.up()
        before = s.snapshot()

        # A new reference selects a key the secret does not have, while another namespace gains demand (a new Role).
        bad = f"{db}:nokey::"
        stack.update_config(demand={s.web: [good, bad], batch: [f"{db}:password::"]})
        proxy.take()
        expected = f"reference '{bad}' from config kecs-secrets:demand.{s.web}[1]: secret '{s.p}/db' has no JSON field 'nokey'"
        with pytest.raises(auto.CommandError) as caught:
            stack.preview()
        assert expected in str(caught.value)
        assert not set(proxy.take()) & VALUE_READS, "the unchanged secret's keys are known from state: no read"
        with pytest.raises(auto.CommandError) as caught:
            stack.up()
        assert expected in str(caught.value) and "Traceback" not in str(caught.value)
        assert s.snapshot() == before

        # A secret never read before: the provider's check reads it at preview and names the reference.
        fresh = s.secret("fresh", json.dumps({"a": "1"}))
        bad_fresh = f"{fresh}:nokey::"
        stack.update_config(demand={s.web: [good, bad_fresh]})
        expected = f"reference '{bad_fresh}' from config kecs-secrets:demand.{s.web}[1]: secret '{s.p}/fresh' has no JSON field 'nokey'"
        with pytest.raises(auto.CommandError) as caught:
            stack.preview()
        assert expected in str(caught.value)
        with pytest.raises(auto.CommandError) as caught:
            stack.up()
        assert expected in str(caught.value) and "Traceback" not in str(caught.value)
        assert s.snapshot() == before

        # Back to the good demand: a no-change run reads no value at all.
        s.delete_secret("fresh")
        stack.update_config(demand={s.web: [good]})
        proxy.take()
        _, log = stack.up()
        # (After a failed update the engine re-records its default provider for dynamic resources once: not a change of ours.)
        assert {urn: op for urn, op in log.changed().items() if "::pulumi:providers:pulumi-python::" not in urn} == {}
        assert not set(proxy.take()) & VALUE_READS
        assert s.snapshot() == before


def _error_lines(text: str, prefix: str) -> dict[str, list[str]]:
    """item name -> the error lines naming it (each from its error class on), for this scene's items."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        match = re.search(rf"\w+Error: .*'{re.escape(prefix)}/([^']+)'.*", line)
        if match:
            found.setdefault(match.group(1), []).append(match.group(0))
    return found


def _diagnostics(text: str) -> str:
    """The CLI's "Diagnostics:" section: each error once (the progress lines above repeat a resource's error as its
    status changes)."""
    section = text.split("\nDiagnostics:\n", 1)[1]
    return section.split("\nOutputs:\n", 1)[0].split("\nResources:\n", 1)[0]


def test_provider_failures_are_one_line_per_item_never_a_traceback(scene):
    s = scene
    proxy = CountingProxy(s.endpoint).__enter__()
    try:
        for name in ("a", "b", "c"):
            s.secret(name, f"value-{random.token_hex(4)}")
        stack = s.make_stack(endpoint=proxy.endpoint)
        stack.up()

        # Listing works but reading is refused: the update of the changed value fails in one line naming it.
        s.sm.put_secret_value(SecretId=s.arns["a"], SecretString="a newer value")
        proxy.fail = {api: (400, "AccessDeniedException") for api in VALUE_READS}
        with pytest.raises(auto.CommandError) as caught:
            stack.up()
        text = str(caught.value)
        assert "Traceback" not in text
        # Exactly one error line for the item that failed (its update), none anywhere for the two that did not change.
        assert _error_lines(_diagnostics(text), s.p) == {
            "a": [f"SourceUnavailableError: cannot read secretsmanager item '{s.p}/a' from {proxy.endpoint}: AccessDeniedException"],
        }, text[-3000:]
        assert set(_error_lines(text, s.p)) == {"a"}, text[-3000:]
    finally:
        proxy.__exit__(None, None, None)

    # LocalStack down (nothing listens where the stack reads): a refresh reports each value reader in one line.
    refreshed = cli(stack, "refresh", "--yes")
    text = refreshed.stdout + refreshed.stderr
    assert refreshed.returncode != 0
    assert "Traceback" not in text
    lines = _error_lines(_diagnostics(refreshed.stdout), s.p)
    assert sorted(lines) == ["a", "b", "c"], text[-3000:]
    for name in ("a", "b", "c"):
        assert len(lines[name]) == 1, text[-3000:]
        assert lines[name][0].startswith(f"SourceUnavailableError: cannot read secretsmanager item '{s.p}/{name}' from {proxy.endpoint}")
    # And `up` with LocalStack down stops in the program, in one line, before any change.
    with pytest.raises(auto.CommandError) as caught:
        stack.up()
    assert f"SourceUnavailableError: cannot read Secrets Manager ListSecrets from {proxy.endpoint}" in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_verbose_logging_prints_values_only_from_level_9_with_logflow_as_the_readme_says(scene):
    """The README's advice on verbosity, measured: what `pulumi up -v=N --logflow` prints of a changed value."""
    s = scene
    arn = s.secret("db", f"initial-{random.token_hex(8)}")
    stack = s.make_stack(demand={s.web: [f"{s.p}/db"]})
    stack.up()
    printed = {}
    for flags in (("-v=8", "--logflow"), ("-v=10",), ("-v=9", "--logflow")):
        value = f"canary-{random.token_hex(12)}"
        s.sm.put_secret_value(SecretId=arn, SecretString=value)
        run = cli(stack, "up", "--yes", "--skip-preview", "--logtostderr", *flags)
        assert run.returncode == 0, run.stderr[-2000:]
        text = run.stdout + run.stderr
        printed[flags] = (text.count(value), text.count(base64.b64encode(value.encode()).decode()))
    assert printed[("-v=8", "--logflow")] == (0, 0)
    assert printed[("-v=10",)] == (0, 0)
    assert printed[("-v=9", "--logflow")][0] == 0 and printed[("-v=9", "--logflow")][1] > 0, "the README says -v=9 --logflow prints base64 values"


def test_an_object_deleted_in_the_cluster_comes_back_with_its_value_from_up_with_refresh(scene):
    """Objects keep the data their state holds only while the cluster holds them at that version
    (kecs_secrets/freshness.py): a replica deleted by hand is made again, with the source's value, by
    `pulumi up --refresh` (as the README says), and the run after that changes nothing and reads nothing."""
    s = scene
    value = f"v-{random.token_hex(6)}"
    s.secret("db", value)
    with CountingProxy(s.endpoint) as proxy:
        stack = s.make_stack(endpoint=proxy.endpoint, demand={s.web: [f"{s.p}/db"]})
        stack.up()
        name = s.master("db")
        s.kube.delete(f"/api/v1/namespaces/{s.web}/secrets/{name}")
        assert s.kube.secret(s.web, name) is None
        stack.up(refresh=True)
        replica = s.kube.secret(s.web, name)
        assert replica is not None, "the deleted replica was not made again"
        assert base64.b64decode(replica["data"]["value"]) == value.encode()
        proxy.take()
        _, log = stack.up()
        assert log.changed() == {}
        assert not set(proxy.take()) & VALUE_READS


def _events_on(kube, namespace: str, pod: str) -> list[dict]:
    """The Events on a pod, as `kubectl describe pod` finds them."""
    return kube.get(f"/api/v1/namespaces/{namespace}/events?fieldSelector=involvedObject.name={pod}")["items"]


def test_a_pod_with_an_unknown_arn_never_stops_a_rotation_in_another_namespace_and_gets_an_event(scene):
    """Tenant demand is isolated: the bad references are skipped and reported (a warning line, the `warnings`
    output, an Event on the pod, written by `up` only), and the rotation another namespace waits for lands."""
    s, kube = scene, scene.kube
    batch = s.namespace(f"batch-{s.p}", ecs=True)
    db = s.secret("db", f"first-{random.token_hex(4)}")
    stack = s.make_stack(podDemand=True, demand={batch: [f"{s.p}/db"]})
    stack.up()
    name = s.master("db")

    rotated = f"rotated-{random.token_hex(4)}"
    s.sm.put_secret_value(SecretId=db, SecretString=rotated)
    unknown = db.rsplit(":", 1)[0] + f":{s.p}/nope-ZzZzZz"
    previous = f"{db}:user:AWSPREVIOUS:"
    s.pod(s.web, "bad", {"kecs.dev/secret-0-arn": f"app:A:{unknown}", "kecs.dev/secret-1-arn": f"app:B:{previous}"})
    _, log = stack.preview()
    assert _events_on(kube, s.web, "bad") == [], "a preview writes no Event"

    result, log = stack.up()
    text = "\n".join(log.text)
    assert base64.b64decode(kube.secret(batch, name)["data"]["value"]) == rotated.encode(), "the rotation did not land"
    assert s.ours(s.web) == set()
    origin = f"pod {s.web}/bad annotation kecs.dev/secret-0-arn"
    line = f"reference '{unknown}' from {origin}: no Secrets Manager secret with that ARN; skipped, the rest of the run goes on"
    assert line in text
    assert line in result.outputs["warnings"].value
    events = {e["message"]: e for e in _events_on(kube, s.web, "bad")}
    assert set(events) == {
        f"reference '{unknown}' ({origin}) is not served by kecs-secrets stack kecs-secrets/{stack.name}: "
        "no Secrets Manager secret with that ARN",
        f"reference '{previous}' (pod {s.web}/bad annotation kecs.dev/secret-1-arn) is not served by kecs-secrets stack "
        f"kecs-secrets/{stack.name}: "
        "version stage 'AWSPREVIOUS' is not served: replicas carry the AWSCURRENT version only",
    }
    assert {(e["type"], e["reason"], e["involvedObject"]["kind"], e["count"]) for e in events.values()} == {
        ("Warning", "SecretReferenceNotServed", "Pod", 1)
    }

    stack.up()  # the next run tells the pod again, on the same Event
    assert sorted(e["count"] for e in _events_on(kube, s.web, "bad")) == [2, 2]


def test_an_unmanaged_secret_under_a_replica_name_in_one_tenant_namespace_does_not_stop_the_others(scene):
    """Someone made a Secret under a replica's name in their own namespace: that replica is skipped (a warning,
    an Event on each pod asking for it), their Secret is left alone, and every other namespace converges."""
    s, kube = scene, scene.kube
    batch = s.namespace(f"batch-{s.p}", ecs=True)
    value = f"value-{random.token_hex(4)}"
    db = s.secret("db", value)
    name = s.master("db")
    theirs = kube.post(f"/api/v1/namespaces/{s.web}/secrets", {"metadata": {"name": name}, "stringData": {"value": "theirs"}})
    s.pod(s.web, "wants-db", {"kecs.dev/secret-0-arn": f"app:DB:{db}"})
    stack = s.make_stack(podDemand=True, demand={batch: [f"{s.p}/db"]})

    result, log = stack.up()
    text = "\n".join(log.text)
    assert base64.b64decode(kube.secret(batch, name)["data"]["value"]) == value.encode()
    kept = kube.secret(s.web, name)
    assert kept["metadata"]["uid"] == theirs["metadata"]["uid"]
    assert kept["metadata"]["resourceVersion"] == theirs["metadata"]["resourceVersion"], "their Secret was touched"
    line = f"Secret {s.web}/{name} already exists and was not made by this stack: that replica is skipped, the rest of the run goes on"
    assert line in text
    assert any(w.startswith(line) for w in result.outputs["warnings"].value)
    (event,) = _events_on(kube, s.web, "wants-db")
    assert event["reason"] == "SecretReferenceNotServed"
    assert event["message"] == (
        f"reference '{db}' (pod {s.web}/wants-db annotation kecs.dev/secret-0-arn) is not served by kecs-secrets stack "
        f"kecs-secrets/{stack.name}: "
        f"Secret {s.web}/{name} already exists and was not made by this stack"
    )
