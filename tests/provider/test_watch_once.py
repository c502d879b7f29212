"""`kecs-secrets watch --once` with the real Pulumi CLI on a tiny project: one update and one log line; a stale
lock of our own (its CLI killed) taken over first; a live lock reported and left alone; a failed update said."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
from pathlib import Path

from providers.pulumi_lock import lock_directory
from tests.support.cluster import wait_for
from tests.support.processes import kill_tree
from tests.support.real import ROOT
from tests.support.tiny_stack import STACK, WAIT_SECONDS, pulumi, tiny_project

PROGRAM = """\
import os
import pulumi
if os.environ.get("TINY_FAIL"):
    raise pulumi.RunError("tiny: asked to fail")  # as the project's program reports its errors
pulumi.export("greeting", pulumi.Output.secret("not-printed-value"))
"""
LOG_LINE = re.compile(r"^watch: trigger=manual stack=dev duration=\d+\.\ds changes=(\S+) result=(succeeded|failed)$", re.M)


def _watch(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [os.path.join(ROOT, ".venv", "bin", "kecs-secrets"), "watch", *args]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=WAIT_SECONDS, check=False)


def _lock(env: dict[str, str], name: str, **fields: object) -> Path:
    directory = lock_directory(env["PULUMI_BACKEND_URL"], STACK)
    directory.mkdir(parents=True, exist_ok=True)
    document = {"pid": 0, "username": "ci", "hostname": socket.gethostname(), "timestamp": "2026-12-04T23:14:01.123456789Z", **fields}
    path = directory / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _reaped() -> int:
    """A pid that was a process of this test and is gone."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_one_cycle_updates_the_stack_and_prints_one_log_line(tmp_path):
    project, env = tiny_project(tmp_path, PROGRAM)
    first = _watch(project, env, "--once", "--stack", "dev")
    assert first.returncode == 0, first.stderr
    assert LOG_LINE.fullmatch(first.stdout.strip()).groups() == ("create:1", "succeeded")
    again = _watch(project, env, "--once", "--stack", "dev")
    assert again.returncode == 0, again.stderr
    assert LOG_LINE.fullmatch(again.stdout.strip()).groups() == ("same:1", "succeeded")
    assert "not-printed-value" not in first.stdout + first.stderr + again.stdout + again.stderr


def test_outside_a_project_it_is_one_line_naming_the_missing_file(tmp_path):
    for args in (("--stack", "dev"), ("--once", "--stack", "dev")):
        done = _watch(tmp_path, dict(os.environ), *args)
        assert done.returncode == 1 and done.stdout == "", done.stderr
        assert done.stderr.strip() == (
            f"ConfigError: {tmp_path / 'Pulumi.yaml'}: No such file or directory; run the watch in the project directory"
        ), done.stderr


def test_our_own_stale_lock_is_taken_over_and_the_update_runs(tmp_path):
    project, env = tiny_project(tmp_path, PROGRAM)
    stale = _lock(env, "killed.json", pid=_reaped())
    done = _watch(project, env, "--once", "--stack", "dev")
    assert done.returncode == 0, done.stderr
    first, last = done.stdout.strip().splitlines()  # nothing pending: nothing to clear
    assert first.startswith("stack lock stale: killed.json") and "its process is gone" in first and first.endswith("removed killed.json")
    assert LOG_LINE.fullmatch(last).groups() == ("create:1", "succeeded")
    assert not stale.exists()


def test_a_live_or_foreign_lock_is_reported_and_left_alone(tmp_path):
    project, env = tiny_project(tmp_path, PROGRAM)
    foreign = _lock(env, "foreign.json", pid=_reaped(), hostname=f"not-{socket.gethostname()}")
    dead = _lock(env, "dead.json", pid=_reaped())
    done = _watch(project, env, "--once", "--stack", "dev")
    assert done.returncode == 3 and done.stdout == ""
    assert done.stderr.startswith("stack lock held: foreign.json") and "taken on another host" in done.stderr
    assert foreign.exists() and dead.exists()  # nothing is taken over while a lock is held


def test_a_failed_update_prints_pulumis_error_and_the_log_line(tmp_path):
    project, env = tiny_project(tmp_path, PROGRAM, TINY_FAIL="1")
    done = _watch(project, env, "--once", "--stack", "dev")
    assert done.returncode == 1
    assert LOG_LINE.fullmatch(done.stdout.strip()).groups() == ("none", "failed")
    errors = done.stderr.splitlines()
    assert errors[0] == "error: tiny: asked to fail" and all(line.startswith("error: ") for line in errors), done.stderr


SLOW_PROGRAM = """\
import os
import time
import pulumi
from pulumi.dynamic import CreateResult, Resource, ResourceProvider

class Slow(ResourceProvider):
    def create(self, inputs):
        if os.environ.get("TINY_SLOW"):
            time.sleep(600)  # killed long before
        return CreateResult(id_="slow", outs={})

class SlowResource(Resource):
    def __init__(self, name):
        super().__init__(Slow(), name, {}, None)

SlowResource("slow")
"""


def test_an_update_killed_mid_create_is_recovered_with_no_pending_operation_left(tmp_path):
    """A real `pulumi up` SIGKILLed while it creates leaves its lock and a pending create in the state; the watch
    takes the lock over, clears the pending create (which would otherwise stay in the state, warned about by every
    update), and its update creates the object."""
    project, env = tiny_project(tmp_path, SLOW_PROGRAM)
    killed = subprocess.Popen(["pulumi", "up", "--yes", "--skip-preview", "--non-interactive"], cwd=project,
                              env={**env, "TINY_SLOW": "1"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: _pending(project, env), timeout=WAIT_SECONDS, what="the create under way")
    finally:
        kill_tree(killed)
    done = _watch(project, env, "--once", "--stack", "dev")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("stack lock stale:") and lines[1].startswith("after the takeover: the interrupted update's pending")
    assert LOG_LINE.fullmatch(lines[-1]).groups() == ("create:1,same:1", "succeeded")  # the object; the stack
    assert _pending(project, env) == []
    assert "Attempting to deploy or update resources with 1 pending operations" not in done.stdout + done.stderr


def _pending(project: Path, env: dict[str, str]) -> list:
    exported = pulumi(project, env, "stack", "export")
    return json.loads(exported.stdout)["deployment"].get("pending_operations") or [] if exported.returncode == 0 else []
