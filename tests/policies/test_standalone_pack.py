"""The policy pack on its own, as someone outside this checkout would run it.

`policies/` and the core's wheel (`pip wheel <checkout> --no-deps`) are copied to a temporary directory; the pack's
virtualenv (`venv/`, the one PulumiPolicy.yaml names) is made from `policies/requirements.txt` alone, with
`--find-links` to that wheel. Then the real `pulumi preview --policy-pack <that directory>` runs on a stack
of this program (it passes) and on the broken fixture (it fails, with every policy).
"""

from __future__ import annotations

import json
import os
import secrets as random
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.policies.conftest import ALL_POLICY_NAMES, ROOT
from tests.policies.test_policy_pack_preview import broken_project, reported
from tests.support.cluster import KubeAdmin, start_cluster
from tests.support.localstack import ensure_localstack
from tests.support.stack import ProjectStack

PIP_TIMEOUT = 900


def run(*args: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=PIP_TIMEOUT, check=False)
    assert done.returncode == 0, f"{' '.join(map(str, args))}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("standalone-pack")
    # The core's wheel, built from a copy of what the distribution holds (setuptools builds in the source tree).
    source = work / "core"
    source.mkdir()
    shutil.copy(Path(ROOT) / "pyproject.toml", source)
    shutil.copytree(Path(ROOT) / "kecs_secrets", source / "kecs_secrets", ignore=shutil.ignore_patterns("__pycache__"))
    wheels = work / "wheels"
    run(sys.executable, "-m", "pip", "wheel", source, "--no-deps", "--disable-pip-version-check", "-q", "-w", wheels)
    assert [w.name for w in wheels.iterdir()] == ["kecs_secrets-0.1.0-py3-none-any.whl"]
    directory = work / "pack"
    shutil.copytree(Path(ROOT) / "policies", directory, ignore=shutil.ignore_patterns("venv", "__pycache__"))
    run(sys.executable, "-m", "venv", directory / "venv")
    pip = directory / "venv" / "bin" / "pip"
    run(pip, "install", "--disable-pip-version-check", "-q", "-r", directory / "requirements.txt", "--find-links", wheels)
    return directory


def test_the_pack_virtualenv_holds_only_what_requirements_txt_names(pack: Path) -> None:
    python = pack / "venv" / "bin" / "python"
    where = run(python, "-c", "import kecs_secrets, pulumi_policy; print(kecs_secrets.__file__)", cwd=pack).strip()
    assert where.startswith(str(pack / "venv")), where  # the wheel's copy, not this checkout's
    for absent in ("boto3", "kubernetes", "pulumi_kubernetes", "components", "providers"):
        done = subprocess.run([python, "-c", f"import {absent}"], cwd=pack, capture_output=True, timeout=60, check=False)
        assert done.returncode != 0, f"{absent} is importable in the pack's virtualenv"


def test_the_broken_fixture_fails_with_every_policy(pack: Path, tmp_path: Path) -> None:
    project = broken_project(tmp_path, pack, project_venv_on_path=False)
    code, output = project.preview()
    assert code != 0, output
    assert reported(output) == Counter(ALL_POLICY_NAMES), output


@pytest.fixture
def program_stack(tmp_path: Path) -> Iterator[tuple[ProjectStack, str]]:
    """A stack of this program over a small data set in LocalStack and namespaces in the control plane."""
    import boto3

    endpoint, kubeconfig = ensure_localstack(), start_cluster()
    kube = KubeAdmin(kubeconfig)
    p = f"pack{random.token_hex(3)}"
    sm = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    made = sm.create_secret(Name=f"{p}/db", SecretString=json.dumps({"user": "u", "password": random.token_hex(8)}))
    master_ns = f"{p}-system"
    kube.create_namespace(master_ns)
    web = kube.create_ecs_namespace(f"web-{p}", "us-east-1")
    config = {
        "endpoint": endpoint,
        "masterNamespace": master_ns,
        "namePrefixes": [f"{p}/"],
        "kubeconfig": kubeconfig,
        "demand": {web: [f"{made['ARN']}:password::"]},
    }
    stack = ProjectStack(tmp_path / "program", f"pack-{p}", config)
    try:
        yield stack, master_ns
    finally:
        try:
            stack.remove()
        finally:
            sm.delete_secret(SecretId=made["ARN"], ForceDeleteWithoutRecovery=True)
            for namespace in (master_ns, web):
                kube.delete_namespace(namespace)


def test_a_stack_of_this_program_passes(pack: Path, program_stack: tuple[ProjectStack, str]) -> None:
    stack, master_ns = program_stack
    with open(pack / "config.json", encoding="utf-8") as handle:
        config = json.load(handle)
    for settings in config.values():
        if isinstance(settings, dict) and "masterNamespace" in settings:
            settings["masterNamespace"] = master_ns  # this stack's master namespace
    config_file = stack.base / "policy-config.json"
    config_file.write_text(json.dumps(config), encoding="utf-8")
    # The program runs in the project's .venv (its Pulumi.yaml says so); the pack in its own venv/.
    assert os.path.isdir(pack / "venv")
    _, log = stack.preview(policy_packs=[str(pack)], policy_pack_configs=[str(config_file)])
    text = "\n".join(log.text)
    assert "kecs-secrets-policies" in text
    assert "mandatory" not in text and "advisory" not in text, text[-3000:]
