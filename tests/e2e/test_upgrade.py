"""A stack made by the previous release moves to KECS's names and to Secrets in one `up`, creating before deleting.

The previous release (commit 89d196e: runs of separators collapsed into one '-', SSM String/StringList as
ConfigMaps) makes the stack; the current program then runs one `up` on the same state. The new objects
(new names, and Secrets where ConfigMaps were) must exist before any old one goes: the engine's steps say
so, and a watcher polling the cluster during the run never sees a replica missing from both its old and
its new form. A rename deletes the old master, so renamed masters count against the deletion guard: the 4
renames here need maxMasterDeletions 4 (ConfigMaps that become Secrets keep their names: no deletion).
"""

from __future__ import annotations

import json
import secrets as random
import threading
import time

import pytest

from kecs_secrets.naming import kubernetes_name
from tests.support.real import ROOT
from tests.support.releases import export_release, remove_upgrade_scene
from tests.support.stack import ProjectStack

pytestmark = pytest.mark.e2e

PREVIOUS_RELEASE = "89d196e"
REGION = "us-east-1"


class Watcher(threading.Thread):
    """Polls the Secrets and ConfigMaps of some namespaces while a run goes on: [(kind, namespace, name), ...] per poll."""

    def __init__(self, kube, namespaces):
        super().__init__(daemon=True)
        self.kube, self.namespaces = kube, namespaces
        self.polls: list[set[tuple[str, str, str]]] = []
        self.stop = threading.Event()

    def snapshot(self):
        """One poll. The lists are not one instant: ConfigMaps are listed before Secrets because the moves go from
        ConfigMap to Secret (or Secret to Secret, in one list), so an old ConfigMap missing from its list was deleted
        before the Secrets are listed, after its new Secret was made; listing the other way round could see neither."""
        seen = set()
        for ns in self.namespaces:
            for kind, path in (("ConfigMap", "configmaps"), ("Secret", "secrets")):
                for o in self.kube.get(f"/api/v1/namespaces/{ns}/{path}")["items"]:
                    seen.add((kind, ns, o["metadata"]["name"]))
        return seen

    def run(self):
        while not self.stop.is_set():
            self.polls.append(self.snapshot())
            time.sleep(0.05)


@pytest.fixture(scope="module")
def upgrade(tmp_path_factory, endpoint, kubeconfig, kube, aws):
    base = tmp_path_factory.mktemp("upgrade")
    previous = export_release(PREVIOUS_RELEASE, base)
    p = f"e2e{random.token_hex(3)}"
    sm, ssm = aws("secretsmanager"), aws("ssm")
    master_ns, web = f"{p}-system", f"web-{p}-{REGION}"
    kube.create_namespace(master_ns)
    kube.create_ecs_namespace(f"web-{p}", REGION)
    arns, params = {}, []
    stack = None
    try:
        for name in ("svc/db--main", "team/app__key", "x_/y", "a+b", "plain"):
            arns[name] = sm.create_secret(Name=f"{p}/{name}", SecretString=f"v-{random.token_hex(6)}")["ARN"]
        for name, kind in (("/app/db.host", "String"), ("/cfg/list", "StringList"), ("/db/password", "SecureString")):
            ssm.put_parameter(Name=f"/{p}{name}", Type=kind, Value="a,b" if kind == "StringList" else f"v-{random.token_hex(6)}")
            params.append(f"/{p}{name}")
        task = {"family": "web", "containerDefinitions": [{"name": "app", "secrets": [
            *({"name": f"S{i}", "valueFrom": arn} for i, arn in enumerate(arns.values())),
            *({"name": f"P{i}", "valueFrom": f"arn:aws:ssm:{REGION}:000000000000:parameter{name}"} for i, name in enumerate(params)),
        ]}]}
        config = {
            "endpoint": endpoint,
            "region": REGION,
            "masterNamespace": master_ns,
            "namePrefixes": [f"{p}/", f"/{p}/"],
            "kubeconfig": kubeconfig,
            "taskDefinitions": [{"path": "task-definitions/web.json", "cluster": f"web-{p}"}],
            "maxMasterDeletions": 4,  # the 4 renamed masters (see moves()): every deletion counts, renames included
        }
        stack = ProjectStack(base, f"upgrade-{p}", config, {"task-definitions/web.json": json.dumps(task)}, program_root=previous)
        _, first = stack.up()
        before = Watcher(kube, [master_ns, web]).snapshot()
        stack.use_program(ROOT)
        watcher = Watcher(kube, [master_ns, web])
        watcher.start()
        try:
            _, second = stack.up()
        finally:
            watcher.stop.set()
            watcher.join()
        after = Watcher(kube, [master_ns, web]).snapshot()
        yield {"p": p, "master_ns": master_ns, "web": web, "before": before, "after": after, "polls": watcher.polls,
               "first": first, "second": second}
    finally:
        remove_upgrade_scene(stack, kube, (master_ns, web), sm, arns.values(), ssm, params)


def moves(p):
    """(old kind, old name) -> (new kind, new name) for this data set; same for masters and replicas."""
    return {
        ("Secret", f"sm-{p}-svc-db-main"): ("Secret", f"sm-{p}-svc-db--main"),
        ("Secret", f"sm-{p}-team-app-key"): ("Secret", f"sm-{p}-team-app--key"),
        ("Secret", f"sm-{p}-x-y"): ("Secret", f"sm-{p}-x--y"),
        ("Secret", f"sm-{p}-a-b"): ("Secret", kubernetes_name("secretsmanager", f"{p}/a+b")),
        ("ConfigMap", f"ssm-{p}-app-db.host"): ("Secret", f"ssm-{p}-app-db.host"),
        ("ConfigMap", f"ssm-{p}-cfg-list"): ("Secret", f"ssm-{p}-cfg-list"),
    }


def test_the_previous_release_made_the_old_names_and_kinds(upgrade):
    p, before = upgrade["p"], upgrade["before"]
    for ns in (upgrade["master_ns"], upgrade["web"]):
        for kind, name in moves(p):
            assert (kind, ns, name) in before, (kind, ns, name)
        assert ("Secret", ns, f"sm-{p}-plain") in before and ("Secret", ns, f"ssm-{p}-db-password") in before


def test_one_up_moves_everything_to_the_new_names_and_kinds(upgrade):
    p, after = upgrade["p"], upgrade["after"]
    for ns in (upgrade["master_ns"], upgrade["web"]):
        for (old_kind, old), (new_kind, new) in moves(p).items():
            assert (old_kind, ns, old) not in after
            assert (new_kind, ns, new) in after
        assert ("Secret", ns, f"sm-{p}-plain") in after and ("Secret", ns, f"ssm-{p}-db-password") in after
    text = "\n".join(upgrade["second"].text)
    assert f"masters renamed (new name made first, old one deleted last): sm-{p}-a-b -> " in text
    assert "DeletionGuardError" not in text


def test_every_new_object_exists_before_any_old_one_is_deleted(upgrade):
    steps = [(phase, op, urn.rsplit("::", 1)[1], urn.split("::")[2]) for phase, op, urn in upgrade["second"].steps]
    kube_steps = [s for s in steps if s[3].split("$")[-1].startswith("kubernetes:core/v1:")]
    created = [i for i, (phase, op, _, _) in enumerate(kube_steps) if phase == "done" and op == "create"]
    deleted = [i for i, (phase, op, _, _) in enumerate(kube_steps) if phase == "start" and op == "delete"]
    assert len(created) == len(deleted) == 2 * len(moves(upgrade["p"])), kube_steps
    assert max(created) < min(deleted), kube_steps
    assert not [s for s in steps if s[1] in ("replace", "create-replacement", "delete-replaced")], steps
    for _, op, name, _ in kube_steps:
        if name.endswith((f"sm-{upgrade['p']}-plain", f"ssm-{upgrade['p']}-db-password")):
            assert op in ("same", "update"), (op, name)
    print("\nengine steps of the upgrading `up` (Kubernetes objects):")
    for phase, op, name, typ in kube_steps:
        if op != "same":
            print(f"  {phase:5} {op:7} {typ.split('$')[-1]} {name}")


def test_no_replica_is_ever_missing_from_both_its_old_and_its_new_form(upgrade):
    polls, p = upgrade["polls"], upgrade["p"]
    assert len(polls) >= 3, "the watcher saw the run"
    for ns in (upgrade["master_ns"], upgrade["web"]):
        for (old_kind, old), (new_kind, new) in moves(p).items():
            appeared = False
            for index, seen in enumerate(polls):
                has_new = (new_kind, ns, new) in seen
                assert has_new or (old_kind, ns, old) in seen, f"poll {index}: neither {old_kind} {ns}/{old} nor {new_kind} {ns}/{new}"
                assert has_new or not appeared, f"poll {index}: {new_kind} {ns}/{new} vanished again"
                appeared = appeared or has_new
    print(f"\nwatcher: {len(polls)} polls of {upgrade['master_ns']} and {upgrade['web']} during the `up`, none with a gap")

