"""The stack's state read from its checkpoint file in a local file backend gives what ``pulumi stack export``
gives, with the real CLI (plain and gzip checkpoints), and anything else falls back to the CLI."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from kecs_secrets.errors import StateUnavailableError
from providers.pulumi_state import PulumiStackState, checkpoint_file
from tests.support.stack import pulumi_env

STACK = "organization/kecs-secrets/state"
RESOURCES = [
    {"urn": "urn:pulumi:state::kecs-secrets::pulumi:pulumi:Stack::kecs-secrets-state", "custom": False, "type": "pulumi:pulumi:Stack"},
    {
        "urn": "urn:pulumi:state::kecs-secrets::kubernetes:core/v1:Secret::web/sm-db",
        "custom": True,
        "id": "web/sm-db",
        "type": "kubernetes:core/v1:Secret",
        "inputs": {
            "metadata": {"name": "sm-db", "namespace": "web", "annotations": {"kecs.io/source-version": "v1"}},
            "data": {"value": "c2VjcmV0"},
        },
        "outputs": {"metadata": {"name": "sm-db", "namespace": "web", "uid": "uid-1"}},
    },
    {
        "urn": "urn:pulumi:state::kecs-secrets::kubernetes:rbac.authorization.k8s.io/v1:ClusterRole::reader",
        "custom": True,
        "id": "reader",
        "type": "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
        "outputs": {"metadata": {"name": "kecs-system-secret-reader", "uid": "uid-2"}},
    },
]


def _stack_with_state(tmp_path: Path, gzip: bool) -> tuple[dict[str, str], Path]:
    """A real stack in a file backend, its state imported with the real CLI."""
    backend, project = tmp_path / "backend", tmp_path / "project"
    backend.mkdir()
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: kecs-secrets\nruntime: python\n", encoding="utf-8")
    env = {**os.environ, **pulumi_env(backend, "state-test"), "PULUMI_HOME": str(tmp_path / "home")}
    if gzip:
        env["PULUMI_DIY_BACKEND_GZIP"] = "true"
    deployment = tmp_path / "deployment.json"
    deployment.write_text(json.dumps({"version": 3, "deployment": {"manifest": {"time": "2026-11-29T00:00:00Z", "magic": "", "version": ""},
                                                                   "resources": RESOURCES}}), encoding="utf-8")
    for command in (["stack", "init", STACK], ["stack", "import", "--file", str(deployment), "--stack", STACK]):
        done = subprocess.run(["pulumi", *command, "--non-interactive"], cwd=project, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
    return env, project


@pytest.mark.parametrize("gzip", [False, True], ids=["json", "gzip"])
def test_the_checkpoint_file_gives_what_the_cli_export_gives(tmp_path, monkeypatch, gzip):
    env, project = _stack_with_state(tmp_path, gzip)
    monkeypatch.setenv("PATH", env["PATH"])
    for name in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_HOME", "PULUMI_DIY_BACKEND_GZIP"):
        monkeypatch.setenv(name, env.get(name, "false"))
    path = checkpoint_file(env["PULUMI_BACKEND_URL"], STACK)
    assert path is not None and path.name == ("state.json.gz" if gzip else "state.json")
    direct = PulumiStackState(STACK, cwd=str(project)).read()
    exported = PulumiStackState(STACK, cwd=str(project), backend_url="")._cli_export()
    assert direct == exported
    assert [(o.kind, o.namespace, o.name, o.uid, o.has_data) for o in direct.objects] == [
        ("ClusterRole", "", "kecs-system-secret-reader", "uid-2", False),
        ("Secret", "web", "sm-db", "uid-1", True),
    ]


def test_other_backends_and_layouts_go_through_the_cli(tmp_path):
    legacy = tmp_path / "legacy"
    (legacy / ".pulumi" / "stacks").mkdir(parents=True)
    (legacy / ".pulumi" / "stacks" / "state.json").write_text("{}", encoding="utf-8")
    assert checkpoint_file(f"file://{legacy}", STACK) is None  # no meta.yaml: the legacy layout
    assert checkpoint_file("s3://bucket/state", STACK) is None
    assert checkpoint_file("https://api.pulumi.com", STACK) is None
    assert checkpoint_file(f"file://{tmp_path}?no_tmp_dir=true", STACK) is None
    assert checkpoint_file(None, STACK) is None
    project = tmp_path / "project"
    (project / ".pulumi" / "stacks" / "kecs-secrets").mkdir(parents=True)
    (project / ".pulumi" / "meta.yaml").write_text("version: 1\n", encoding="utf-8")
    assert checkpoint_file(f"file://{project}", STACK) is None  # no checkpoint yet: the CLI says why
    (project / ".pulumi" / "stacks" / "kecs-secrets" / "state.json.zst").write_bytes(b"")
    (project / ".pulumi" / "stacks" / "kecs-secrets" / "state.json").write_text("{}", encoding="utf-8")
    assert checkpoint_file(f"file://{project}", STACK) is None  # zstd, which the CLI reads


def test_a_damaged_checkpoint_file_is_an_error_naming_the_stack_and_file(tmp_path):
    stacks = tmp_path / ".pulumi" / "stacks" / "kecs-secrets"
    stacks.mkdir(parents=True)
    (tmp_path / ".pulumi" / "meta.yaml").write_text("version: 1\n", encoding="utf-8")
    (stacks / "state.json").write_text('{"version": 3, "checkpoint": {"latest": {"resources": [', encoding="utf-8")
    with pytest.raises(StateUnavailableError, match=r"stack 'organization/kecs-secrets/state' in .*state\.json is not a valid checkpoint"):
        PulumiStackState(STACK, backend_url=f"file://{tmp_path}").read()


def test_a_state_read_before_an_update_counts_only_while_its_checkpoint_file_is_unchanged(tmp_path, monkeypatch):
    """What the watch reads while the CLI starts: still the state if the file is the same; not after the stack changed,
    and never when it came through `pulumi stack export` (nothing to compare)."""
    env, project = _stack_with_state(tmp_path, gzip=False)
    monkeypatch.setenv("PATH", env["PATH"])
    for name in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_HOME"):
        monkeypatch.setenv(name, env[name])
    early = PulumiStackState(STACK, cwd=str(project)).start()
    assert early.unchanged() and early.read().written is not None
    assert PulumiStackState(STACK, cwd=str(project), backend_url="").unchanged() is False  # read with the CLI
    done = subprocess.run(["pulumi", "config", "set", "x", "1", "--stack", STACK, "--non-interactive"], cwd=project, env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and early.unchanged(), "a config change is no state change"
    exported = subprocess.run(["pulumi", "stack", "export", "--stack", STACK, "--non-interactive"], cwd=project, env=env,
                              capture_output=True, text=True, check=True).stdout
    (tmp_path / "again.json").write_text(exported, encoding="utf-8")
    done = subprocess.run(["pulumi", "stack", "import", "--file", str(tmp_path / "again.json"), "--stack", STACK, "--non-interactive"],
                          cwd=project, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert not early.unchanged(), "the stack's state was written again after the read"
    assert PulumiStackState(STACK, cwd=str(project)).unchanged()


def test_the_manifest_time_is_when_the_state_was_written():
    from providers.pulumi_state import stack_state_from_export

    def written(time: object) -> float | None:
        return stack_state_from_export({"deployment": {"manifest": {"time": time}, "resources": []}}).written

    assert written("2026-12-05T03:07:26.467442093Z") == pytest.approx(1796440046.467442)
    assert written("2026-12-05T04:07:26+01:00") == 1796440046.0
    assert written("yesterday") is None and written(None) is None and written("2026-12-05T03:07:26") is None
