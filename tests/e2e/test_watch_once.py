"""`kecs-secrets watch --once` drives this project's program like `pulumi up` (real CLI, LocalStack, cluster): the
first cycle makes the master and the replica a namespace demands, the second changes nothing, each prints one log
line and never a value."""

from __future__ import annotations

import os
import re
import secrets as random
import subprocess

from tests.support.real import ROOT
from tests.support.stack import ProjectStack, pulumi_home
from tests.support.tiny_stack import WAIT_SECONDS

REGION = "us-east-1"
LOG_LINE = re.compile(r"watch: trigger=manual stack=(\S+) duration=\d+\.\ds changes=(\S+) result=(succeeded|failed)")


def _changes(text: str) -> dict[str, int]:
    return {op: int(count) for op, count in (pair.split(":") for pair in text.split(","))}


def test_one_cycle_converges_the_stack_and_a_second_changes_nothing(tmp_path, endpoint, kubeconfig, kube, aws):
    prefix = f"e2e{random.token_hex(3)}"
    master_ns, value = f"{prefix}-system", f"watch-{random.token_hex(8)}"
    kube.create_namespace(master_ns)
    namespace = kube.create_ecs_namespace(f"c{prefix}", REGION)
    sm = aws("secretsmanager")
    sm.create_secret(Name=f"{prefix}/db", SecretString=value)
    config = {
        "endpoint": endpoint, "region": REGION, "masterNamespace": master_ns, "namePrefixes": [f"{prefix}/"],
        "kubeconfig": kubeconfig, "demand": {namespace: [f"{prefix}/db"]},
    }
    stack = ProjectStack(tmp_path / "stack", f"e2e-{prefix}", config)
    env = {**os.environ, **stack.env, "PULUMI_HOME": str(pulumi_home())}
    command = [os.path.join(ROOT, ".venv", "bin", "kecs-secrets"), "watch", "--once", "--stack", stack.name]
    try:
        runs = [subprocess.run(command, cwd=stack.workdir, env=env, capture_output=True, text=True, timeout=WAIT_SECONDS * 3, check=False)
                for _ in range(2)]
        for run in runs:
            assert run.returncode == 0, run.stderr[-4000:]
            assert value not in run.stdout + run.stderr
        first, second = (LOG_LINE.fullmatch(run.stdout.strip()) for run in runs)
        assert first and second, [run.stdout for run in runs]
        assert first.group(1) == stack.name and first.group(3) == "succeeded"
        assert _changes(first.group(2)).get("create", 0) >= 2  # the master and the replica (and the RBAC)
        assert set(_changes(second.group(2))) == {"same"}, second.group(0)
        assert kube.secret(master_ns, f"sm-{prefix}-db") is not None and kube.secret(namespace, f"sm-{prefix}-db") is not None
    finally:
        try:
            stack.remove()
        finally:
            for ns in (master_ns, namespace):
                kube.delete_namespace(ns)
            sm.delete_secret(SecretId=f"{prefix}/db", ForceDeleteWithoutRecovery=True)
