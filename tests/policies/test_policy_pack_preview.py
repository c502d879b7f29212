"""The pack with the REAL Pulumi CLI: `pulumi preview --policy-pack policies` of the deliberately broken fixture
(tests/policies/fixtures/broken) fails and reports every policy; configuration changes levels and settings.

The CLI, the Python language host, the analyzer launcher and the Kubernetes provider come from
`scripts/toolchain.sh pulumi` (built from Go modules, cached). If they cannot be had, the test is skipped
with the reason, except under CI=true where that is a failure. The aws:* resources of the fixture go to a
preview-only stub provider (tests/policies/fixtures/stub_aws_provider.py), as pulumi-resource-aws is not
available here. Everything runs offline: file backend in a temp dir, no plugin downloads, no update check.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.policies.conftest import ALL_POLICY_NAMES, CANARY, CANARY_B64, ROOT
from tests.support.real import is_ci

FIXTURE = Path(ROOT) / "tests" / "policies" / "fixtures" / "broken"
STUB_AWS = Path(ROOT) / "tests" / "policies" / "fixtures" / "stub_aws_provider.py"
VENV = Path(ROOT) / ".venv"
POLICY_PACK = Path(ROOT) / "policies"
STACK = "broken"
NEEDED = (
    "pulumi",
    "pulumi-language-python",
    "pulumi-resource-kubernetes",
    "pulumi-resource-pulumi-python",
)
TOOLCHAIN_TIMEOUT = int(os.environ.get("KECS_TOOLCHAIN_TIMEOUT", "5400"))
PREVIEW_TIMEOUT = 900
ALL_POLICIES = ALL_POLICY_NAMES
# "        - [mandatory] [severity: medium]  kecs-replica-metadata  (kubernetes:core/v1:Secret: team-b/sm-app-db)"
VIOLATION = re.compile(r"- \[(advisory|mandatory|remediate)\](?: \[severity: [a-z]+\])?\s+(kecs-[a-z0-9-]+)\s+\(")


def _unavailable(reason: str) -> None:
    if is_ci():
        pytest.fail(f"the real Pulumi CLI is required under CI: {reason}")
    pytest.skip(reason)


def _toolchain_bin() -> Path:
    script = Path(ROOT) / "scripts" / "toolchain.sh"
    if not script.exists():
        _unavailable(f"{script} does not exist")
    try:
        done = subprocess.run([str(script), "pulumi"], cwd=ROOT, capture_output=True, text=True, timeout=TOOLCHAIN_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        _unavailable(f"scripts/toolchain.sh pulumi did not finish in {TOOLCHAIN_TIMEOUT}s")
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        _unavailable(f"scripts/toolchain.sh pulumi failed (exit {done.returncode}): {done.stderr.strip()[-1500:]}")
    bin_dir = Path(lines[-1].split(":")[0])
    missing = [name for name in NEEDED if not os.access(bin_dir / name, os.X_OK)]
    if missing:
        _unavailable(f"{bin_dir} lacks {missing}")
    return bin_dir


@dataclass
class Project:
    directory: Path
    env: dict[str, str]
    pack: Path = POLICY_PACK

    def pulumi(self, *args: str, timeout: int = PREVIEW_TIMEOUT) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["pulumi", *args], cwd=self.directory, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )

    def preview(self, config: dict | None = None) -> tuple[int, str]:
        args = ["preview", "--non-interactive", "--stack", STACK, "--policy-pack", str(self.pack)]
        if config is not None:
            config_file = self.directory / "policy-config.json"
            config_file.write_text(json.dumps(config), encoding="utf-8")
            args += ["--policy-pack-config", str(config_file)]
        done = self.pulumi(*args)
        return done.returncode, done.stdout + done.stderr


def broken_project(work: Path, pack: Path = POLICY_PACK, *, project_venv_on_path: bool = True) -> Project:
    """A stack of the broken fixture in ``work``, previewed with the policy pack at ``pack``."""
    bin_dir = _toolchain_bin()
    directory = work / "broken"
    shutil.copytree(FIXTURE, directory)
    spec = (directory / "Pulumi.yaml").read_text(encoding="utf-8")
    (directory / "Pulumi.yaml").write_text(spec.replace("virtualenv: ../../../../.venv", f"virtualenv: {VENV}"), encoding="utf-8")

    stub_bin = work / "stub-bin"
    stub_bin.mkdir()
    wrapper = stub_bin / "pulumi-resource-aws"
    wrapper.write_text(f'#!/bin/sh\nexec "{VENV}/bin/python" -u "{STUB_AWS}" "$@"\n', encoding="utf-8")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)

    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env.update(
        {
            "PATH": os.pathsep.join([str(bin_dir), *([str(VENV / "bin")] if project_venv_on_path else []),
                                     *(p for p in os.environ.get("PATH", "").split(os.pathsep) if not p.startswith(str(VENV)))]),
            "PULUMI_BACKEND_URL": f"file://{work / 'backend'}",
            "PULUMI_HOME": str(work / "pulumi-home"),
            "PULUMI_CONFIG_PASSPHRASE": "policy-preview-test-only",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            # Provider plugins come from PULUMI_HOME only, installed there as Pulumi installs any plugin.
            "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
            "KECS_FIXTURE_RENDER_DIR": str(work / "rendered"),
        }
    )
    (work / "backend").mkdir()
    result = Project(directory, env, pack)
    installed = subprocess.run(
        [str(Path(ROOT) / "scripts" / "plugins.sh"), "install", env["PULUMI_HOME"]],
        cwd=ROOT, capture_output=True, text=True, timeout=TOOLCHAIN_TIMEOUT, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    # The stub answers for the version the pinned pulumi-aws SDK asks the engine for.
    done = result.pulumi("plugin", "install", "resource", "aws", version("pulumi_aws"), "--file", str(wrapper), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    done = result.pulumi("stack", "init", STACK, "--non-interactive", timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return result


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    yield broken_project(tmp_path_factory.mktemp("policy-preview"))


def reported(output: str) -> Counter[str]:
    """Violations (advisory or mandatory) by policy name; "[remediate]" lines are remediations, not violations."""
    return Counter(name for level, name in VIOLATION.findall(output) if level != "remediate")


def remediated(output: str) -> set[str]:
    return {name for level, name in VIOLATION.findall(output) if level == "remediate"}


def levels(output: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for level, name in VIOLATION.findall(output):
        found.setdefault(name, set()).add(level)
    return found


def test_preview_of_the_broken_fixture_fails_with_every_policy(project: Project) -> None:
    code, output = project.preview()
    assert code != 0, output
    assert reported(output) == Counter(ALL_POLICIES), output  # each exactly once: one violation per policy
    assert all(found == {"mandatory"} for found in levels(output).values()), output
    assert remediated(output) == set()
    assert CANARY not in output and CANARY_B64 not in output
    # Plugins come from PULUMI_HOME (installed with `pulumi plugin install`), so the engine never warns about PATH.
    assert "from $PATH" not in output, output


def test_config_sets_levels_and_settings(project: Project) -> None:
    """Every policy advisory and the stack listed as disposable: the preview passes and still reports the rest."""
    config: dict = {name: "advisory" for name in ALL_POLICIES}
    config["kecs-aws-secret-recovery-window"] = {"enforcementLevel": "advisory", "disposableStacks": [STACK]}
    code, output = project.preview(config)
    assert code == 0, output
    assert set(reported(output)) == ALL_POLICIES - {"kecs-aws-secret-recovery-window"}, output
    assert all(found == {"advisory"} for found in levels(output).values()), output
    assert CANARY not in output and CANARY_B64 not in output


def test_remediate_level_fixes_what_can_be_fixed(project: Project) -> None:
    """Remediation fills in the replica's source-namespace and sets a recovery window; the rest still fails."""
    config = {"kecs-replica-metadata": "remediate", "kecs-aws-secret-recovery-window": "remediate"}
    code, output = project.preview(config)
    assert code != 0, output
    assert remediated(output) == set(config), output
    assert set(reported(output)) == ALL_POLICIES - set(config), output
    assert CANARY not in output and CANARY_B64 not in output


def test_disposable_stack_tag(project: Project) -> None:
    done = project.pulumi("stack", "tag", "set", "disposable", "true", "--stack", STACK, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    try:
        code, output = project.preview()
    finally:
        project.pulumi("stack", "tag", "rm", "disposable", "--stack", STACK, timeout=120)
    assert code != 0, output
    assert set(reported(output)) == ALL_POLICIES - {"kecs-aws-secret-recovery-window"}, output


@pytest.mark.parametrize(
    ("ci", "outcome"),
    [
        pytest.param("true", pytest.fail.Exception, id="CI fails"),
        pytest.param("TRUE", pytest.fail.Exception, id="CI in any case fails"),  # the one rule of tests.support.real.is_ci
        pytest.param("", pytest.skip.Exception, id="locally skipped"),
    ],
)
def test_a_missing_cli_fails_only_under_ci(monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]) -> None:
    monkeypatch.setenv("CI", ci)
    try:
        _unavailable("no CLI here")
    except BaseException as err:  # a skip where a failure is due must fail this test, not skip it
        assert type(err) is outcome, f"{type(err).__name__} instead of {outcome.__name__}"
    else:
        raise AssertionError("a missing CLI was neither a failure nor a skip")
