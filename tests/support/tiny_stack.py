"""A tiny Pulumi project of its own for a test: a Python program of a few lines in a temporary directory, with a
file backend and passphrase of its own, run by the real CLI (on PATH, as `make test` puts it)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support.real import ROOT
from tests.support.stack import pulumi_env

PROJECT = "tiny"
STACK = f"organization/{PROJECT}/dev"
WAIT_SECONDS = 120  # a bound for a broken run to fail, never a timing a test depends on


def tiny_project(tmp_path: Path, program: str, **env: str) -> tuple[Path, dict[str, str]]:
    """The project directory (its stack ``dev`` made) and the environment to run the CLI in it."""
    backend, project = tmp_path / "backend", tmp_path / "project"
    backend.mkdir()
    project.mkdir()
    (project / "Pulumi.yaml").write_text(
        f"name: {PROJECT}\nruntime:\n  name: python\n  options:\n    virtualenv: {os.path.join(ROOT, '.venv')}\n", encoding="utf-8"
    )
    (project / "__main__.py").write_text(program, encoding="utf-8")
    full_env = {**os.environ, **pulumi_env(backend, "tiny"), "PULUMI_HOME": str(tmp_path / "home"), **env}
    done = pulumi(project, full_env, "stack", "init", STACK)
    assert done.returncode == 0, done.stderr
    return project, full_env


def pulumi(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The Pulumi CLI, run to its end in ``project``."""
    return subprocess.run(["pulumi", *args, "--non-interactive"], cwd=project, env=env, capture_output=True, text=True, timeout=WAIT_SECONDS, check=False)
