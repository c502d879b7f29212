"""Converge the stack once, as the watch mode's update: check the stack lock, run `pulumi up`, print one log line.

    kecs-secrets watch --once [--stack dev]     (in the project directory, with the environment of `pulumi up`)

One cycle of the watch mode, for CI and cron: a manual trigger, the stack lock decision, then one update
of the stack through the Pulumi Automation API (the program in the current directory, its stack config,
state and backend: the same as `pulumi up`), and one line on stdout:
`watch: trigger=manual stack=dev duration=4.2s changes=create:2,same:40 result=succeeded`.
With a local file backend, a lock left by a Pulumi process of this host that is gone (killed mid-update)
is removed first and said on stdout; a lock of a running Pulumi process or of another host is reported and
nothing is done (exit 3), never removed. Never prints a value: no stack outputs, Pulumi's output only on
failure, and then only its error lines. The long-running mode (without --once) is not built yet.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import yaml
from pulumi import automation as auto

from kecs_cli.commands import DEFAULT_EXIT_CODES
from kecs_secrets.stack_lock import LockVerdict
from kecs_secrets.watch import Outcome, Scheduler, Trigger
from providers.pulumi_lock import check_stack_lock, remove_stale_locks

EXIT_CODES = {
    **DEFAULT_EXIT_CODES,
    0: "the update succeeded (the log line says what changed)",
    1: "the update failed (Pulumi's error lines on stderr, then the log line with result=failed), or refused: one line on stderr",
    2: "wrong usage (unknown option, missing argument, no --once)",
    3: "the stack is locked by a running Pulumi process or by another host: the lock is reported on stderr and left alone",
}
_MAX_ERROR_LINES = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", default="dev", help="the stack to converge (default: dev)")
    parser.add_argument("--once", action="store_true", required=True,
                        help="run one converge cycle and exit (required: the long-running mode is not built yet)")


def _qualified(stack: str, work_dir: Path) -> str:
    """The stack's name as the file backend files it: ``organization/<project>/<stack>``."""
    if stack.count("/") == 2:
        return stack
    with (work_dir / "Pulumi.yaml").open(encoding="utf-8") as handle:
        project = str((yaml.safe_load(handle) or {}).get("name", ""))
    return f"organization/{project}/{stack.rsplit('/', 1)[-1]}"


def _log_line(outcome: Outcome, stack: str, changes: dict[str, int], result: str) -> str:
    triggers = ",".join(sorted(kind.value for kind in outcome.cycle.triggers))
    counted = ",".join(f"{op}:{count}" for op, count in sorted(changes.items())) or "none"
    return f"watch: trigger={triggers} stack={stack} duration={outcome.duration:.1f}s changes={counted} result={result}"


def _error_lines(error: auto.CommandError) -> list[str]:
    """Pulumi's own error lines (what `pulumi up` shows), at most a few; the program's errors carry no value."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip().startswith("error:")]  # the Diagnostics
    return list(dict.fromkeys(lines))[:_MAX_ERROR_LINES]


def run(args: argparse.Namespace) -> int:
    work_dir = Path.cwd()
    scheduler = Scheduler(random=lambda: 0.0)  # one cycle: no retry, so no jitter to draw
    scheduler.trigger(Trigger.MANUAL, time.monotonic())
    scheduler.start(time.monotonic())

    backend_url = os.environ.get("PULUMI_BACKEND_URL")
    qualified = _qualified(args.stack, work_dir)
    decision = check_stack_lock(backend_url, qualified)
    if decision is not None and decision.verdict is LockVerdict.HELD:
        print(decision.report(), file=sys.stderr)
        return 3
    if decision is not None and decision.verdict is LockVerdict.STALE:
        removed = remove_stale_locks(backend_url, qualified, decision)
        print(f"{decision.report()}; removed {', '.join(removed) or 'nothing (already gone)'}")

    try:
        stack = auto.create_or_select_stack(args.stack, work_dir=str(work_dir))
        result = stack.up(show_secrets=False, suppress_outputs=True, color="never")
    except auto.ConcurrentUpdateError:
        print(f"stack lock held: another update of stack {qualified} began meanwhile; nothing was done", file=sys.stderr)
        return 3
    except auto.CommandError as error:
        for line in _error_lines(error):
            print(line, file=sys.stderr)
        print(_log_line(scheduler.finish(time.monotonic(), succeeded=False), args.stack, {}, "failed"))
        return 1
    changes = dict(result.summary.resource_changes or {})
    print(_log_line(scheduler.finish(time.monotonic(), succeeded=True), args.stack, changes, "succeeded"))
    return 0
