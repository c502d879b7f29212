"""A real stack lock, taken by the real Pulumi CLI during ``pulumi up``: while the CLI runs it is held; after the
CLI is killed (SIGKILL, as a crash or an OOM kill would) it is our own stale lock, removing it alone makes the
stack usable again, and while a lock of another host or an unreadable one is there nothing is taken over."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from kecs_secrets.stack_lock import LockVerdict
from providers.pulumi_lock import check_stack_lock, lock_directory, read_locks, remove_stale_locks
from tests.support.tiny_stack import STACK, WAIT_SECONDS, pulumi, tiny_project

# A program that says it runs (the CLI holds the lock by then) and waits until the test releases it.
PROGRAM = """\
import os, pathlib, time
pathlib.Path(os.environ["LOCK_TEST_STARTED"]).touch()
release = pathlib.Path(os.environ["LOCK_TEST_RELEASE"])
for _ in range(6000):
    if release.exists():
        break
    time.sleep(0.05)
"""


def _project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    return tiny_project(tmp_path, PROGRAM, LOCK_TEST_STARTED=str(tmp_path / "started"), LOCK_TEST_RELEASE=str(tmp_path / "release"))


def _up(project: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return pulumi(project, env, "up", "--yes", "--skip-preview", "--stack", STACK)


def _start_up_and_wait_for_the_program(project: Path, env: dict[str, str], tmp_path: Path) -> subprocess.Popen[bytes]:
    output = tmp_path / "up.log"
    with output.open("wb") as log:
        update = subprocess.Popen(
            ["pulumi", "up", "--yes", "--skip-preview", "--non-interactive", "--stack", STACK],
            cwd=project, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    deadline = time.monotonic() + WAIT_SECONDS
    while not (tmp_path / "started").exists():
        assert update.poll() is None, f"pulumi up ended before its program ran: {output.read_text(encoding='utf-8')}"
        assert time.monotonic() < deadline, "the program of pulumi up never ran"
        time.sleep(0.05)
    return update


def test_a_running_update_holds_its_lock_and_a_killed_one_leaves_a_lock_we_take_over(tmp_path):
    project, env = _project(tmp_path)
    url = env["PULUMI_BACKEND_URL"]
    update = _start_up_and_wait_for_the_program(project, env, tmp_path)
    try:
        held = check_stack_lock(url, STACK)
        assert held is not None and held.verdict is LockVerdict.HELD, held
        (lock,) = held.held
        assert (lock.pid, lock.hostname) == (update.pid, socket.gethostname()) and lock.timestamp is not None
        assert "its Pulumi process is running" in held.report()
        assert remove_stale_locks(url, STACK, held) == [] and read_locks(lock_directory(url, STACK)) == [lock]
    finally:
        os.killpg(update.pid, signal.SIGKILL)  # the CLI, its language host and the program: the group this test started
        update.wait()

    refused = _up(project, env)
    assert refused.returncode != 0 and "currently locked" in refused.stderr  # Pulumi never clears it by itself

    stale = check_stack_lock(url, STACK)
    assert stale is not None and stale.verdict is LockVerdict.STALE and stale.stale == (lock,), stale
    assert "its process is gone" in stale.report()
    assert remove_stale_locks(url, STACK, stale) == [lock.name]
    assert list(lock_directory(url, STACK).iterdir()) == []  # the sidecar went with it
    assert check_stack_lock(url, STACK).verdict is LockVerdict.FREE

    (tmp_path / "release").touch()
    done = _up(project, env)
    assert done.returncode == 0, done.stderr


def test_a_lock_of_another_host_in_the_cli_format_is_held_and_never_removed(tmp_path):
    project, env = _project(tmp_path)
    url = env["PULUMI_BACKEND_URL"]
    update = _start_up_and_wait_for_the_program(project, env, tmp_path)
    directory = lock_directory(url, STACK)
    try:
        (real,) = list(directory.glob("*.json"))
        document = json.loads(real.read_text(encoding="utf-8"))
    finally:
        os.killpg(update.pid, signal.SIGKILL)
        update.wait()
    assert set(document) == {"pid", "username", "hostname", "timestamp"}  # the format this reads
    real.write_text(json.dumps({**document, "hostname": f"not-{socket.gethostname()}"}), encoding="utf-8")
    (directory / "unreadable.json").write_text("{", encoding="utf-8")
    (directory / "dead.json").write_text(json.dumps(document), encoding="utf-8")  # ours, its CLI killed

    decision = check_stack_lock(url, STACK)
    assert decision.verdict is LockVerdict.HELD and [lock.name for lock in decision.stale] == ["dead.json"] and len(decision.held) == 2
    assert "taken on another host" in decision.report() and "not a lock file this can read" in decision.report()
    assert remove_stale_locks(url, STACK, decision) == []  # nothing is taken over while a lock is held
    assert sorted(path.name for path in directory.glob("*.json")) == sorted([real.name, "unreadable.json", "dead.json"])
    assert check_stack_lock("s3://bucket", STACK) is None and check_stack_lock(None, STACK) is None
