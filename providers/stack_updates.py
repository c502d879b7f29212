"""One stack of the program, updated through the Pulumi Automation API the way the watch mode needs it.

The program runs in this process (an inline program: the function the watch gives, which runs the project's own
program, kecs_program.program.run), in the project directory and with its Pulumi.yaml: no interpreter to start and
nothing to import per update. Before each update the stack's lock is looked at (providers/pulumi_lock.py): a stale
lock of this host's is removed and said, a held one is reported and nothing runs. A focused update
(kecs_secrets/focus.py) hands the program its focus and targets exactly its objects (kecs_secrets/targets.py); a full
update may run with CrossGuard policy packs. Only Pulumi's own ``error:`` lines come back from a failed update (the
program's errors carry no value), and the update's change counts.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pulumi import automation as auto
from pulumi.automation._stack import StackInitMode  # the mode auto.Stack's own create_or_select passes

from kecs_secrets.errors import ConfigError
from kecs_secrets.focus import Focus
from kecs_secrets.stack_lock import LockVerdict
from kecs_secrets.targets import focus_targets
from providers.pulumi_lock import check_stack_lock, remove_stale_locks

__all__ = ["Stack", "Update"]

_MAX_ERROR_LINES = 10


def _qualified(stack: str, work_dir: Path) -> str:
    """The stack's name as the file backend files it: ``organization/<project>/<stack>``."""
    if stack.count("/") == 2:
        return stack
    return f"organization/{_project(work_dir)}/{stack.rsplit('/', 1)[-1]}"


def _project(work_dir: Path) -> str:
    try:
        with (work_dir / "Pulumi.yaml").open(encoding="utf-8") as handle:
            return str((yaml.safe_load(handle) or {}).get("name", ""))
    except OSError as err:
        raise ConfigError(f"{work_dir / 'Pulumi.yaml'}: {err.strerror}; run the watch in the project directory") from None


def _error_lines(error: auto.CommandError) -> list[str]:
    """Pulumi's own error lines (what `pulumi up` shows), at most a few; the program's errors carry no value."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip().startswith("error:")]  # the Diagnostics
    return list(dict.fromkeys(lines))[:_MAX_ERROR_LINES]


@dataclass
class Update:
    """What one update did: its result, its change counts, and Pulumi's error lines."""

    succeeded: bool
    changes: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    locked: str = ""  # the lock that kept it from running (nothing was done)


class _Stack(auto.Stack):
    """``auto.Stack`` without the two ``pulumi stack output`` runs its ``up`` makes after the update, each loading
    the whole state again (1.8 s of a focused update at 1,000 masters and 2,000 replicas, measured with
    bench/watch.py): the watch needs no output, the program tells it the layout. The update's summary (its change
    counts) still comes from ``pulumi stack history``, which reads no state."""

    def outputs(self) -> auto.OutputMap:
        return {}


class Stack:
    """One stack of the program in ``work_dir``, updated with ``program`` (called with the focus, None for a full
    update) run inline, its lock checked first."""

    def __init__(self, name: str, work_dir: Path, policy_packs: list[str], program: Callable[[Focus | None], None]) -> None:
        self.name, self.work_dir = name, work_dir
        self.project = _project(work_dir)
        self.qualified = _qualified(name, work_dir)
        self.backend_url = os.environ.get("PULUMI_BACKEND_URL")
        self.policy_packs = [str(Path(p).resolve()) for p in policy_packs]
        self.program = program
        self._focus: Focus | None = None
        self._stack: auto.Stack | None = None

    def _auto(self) -> auto.Stack:
        if self._stack is None:
            # The project's Pulumi.yaml and stack files as they are (no project settings passed, so none written).
            workspace = auto.LocalWorkspace(work_dir=str(self.work_dir), program=lambda: self.program(self._focus))
            self._stack = _Stack(self.name, workspace, StackInitMode.CREATE_OR_SELECT)
        return self._stack

    def lock(self, say: Callable[[str], None]) -> str:
        """'' when the update may run (a stale lock of ours removed and said first), else the held lock's report."""
        decision = check_stack_lock(self.backend_url, self.qualified)
        if decision is not None and decision.verdict is LockVerdict.HELD:
            return decision.report()
        if decision is not None and decision.verdict is LockVerdict.STALE:
            removed = remove_stale_locks(self.backend_url, self.qualified, decision)
            say(f"{decision.report()}; removed {', '.join(removed) or 'nothing (already gone)'}")
            self._clear_pending_creates(say)
        return ""

    def _clear_pending_creates(self, say: Callable[[str], None]) -> None:
        """The interrupted update's pending creates leave the state (``pulumi refresh --clear-pending-creates``,
        targeted at the stack alone: no object is read). Otherwise every later update warns about them and the
        state keeps them; the objects they made are taken over again or swept by the next update (their marks)."""
        stack = self.name.rsplit("/", 1)[-1]
        try:
            exported = self._auto().export_stack().deployment or {}
            if not exported.get("pending_operations"):
                return
            self._auto().refresh(clear_pending_creates=True, target=[f"urn:pulumi:{stack}::{self.project}::pulumi:pulumi:Stack::"
                                                                     f"{self.project}-{stack}"], color="never")
        except auto.CommandError as error:
            say(f"after the takeover, the pending operations could not be cleared: {'; '.join(_error_lines(error)) or 'refresh failed'}")
            return
        say("after the takeover: the interrupted update's pending operations are cleared; this update takes over or sweeps their objects")

    def update(self, focus: Focus | None, say: Callable[[str], None],
               on_event: Callable[[auto.EngineEvent], None] | None = None) -> Update:
        """One update, full (``focus`` None) or focused; a held lock: nothing runs (``Update.locked`` says whose).
        ``on_event``: the update's engine events as they come (the benchmark's breakdown; the watch passes none)."""
        held = self.lock(say)
        if held:
            return Update(False, locked=held)
        stack = self._auto()
        self._focus = focus
        try:
            if focus is None:
                result = stack.up(show_secrets=False, suppress_outputs=True, color="never", policy_packs=self.policy_packs or None,
                                  on_event=on_event)
            else:
                result = stack.up(target=focus_targets(self.name.rsplit("/", 1)[-1], self.project, focus),
                                  show_secrets=False, suppress_outputs=True, color="never", on_event=on_event)
        except auto.ConcurrentUpdateError:
            return Update(False, locked=f"stack lock held: another update of stack {self.qualified} began meanwhile")
        except auto.CommandError as error:
            return Update(False, errors=_error_lines(error))
        finally:
            self._focus = None
        return Update(True, dict(result.summary.resource_changes or {}))
