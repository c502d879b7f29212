#!/usr/bin/env python3
"""Benchmark of the watch mode (`kecs-secrets watch`) against a plain `pulumi up` started at the same moment.

    .venv/bin/python -m bench.watch [--sizes 50,3,10 1000,20,100] [--runs 5] [--interval 10]
                                    [--options 1000,20,100 | --options none] [--option-runs 5] [--out bench/results.md]

Against real LocalStack, the real control plane and the real Pulumi CLI (found or started as bench/run.py does),
on bench/run.py's data set (N secrets, N SecureStrings, M ECS cluster namespaces needing K of them each) with
`podDemand: true`, and one pod per namespace that lacks it needing the secret the rotation phase rotates (so that
secret has a replica in every namespace). Every update runs with `PULUMI_SKIP_CHECKPOINTS=true` and Pulumi's
default parallelism (the watch passes no --parallel; neither does the plain `pulumi up` it is compared with).

Phases, each repetition measuring the watch and then the plain `pulumi up` on the same stack:
- pod -> replica: from creating a Pending pod that needs a secret its namespace lacks (a namespace that already
  has replicas and RBAC) until that replica exists (the API server polled every 50 ms);
- rotation -> replicas: from PutSecretValue until every replica of that secret holds the new value.
A repetition starts `kecs-secrets watch --interval I --settle 600` (its first full update is not timed), waits
until it is idle, measures the pod phase, then the rotation phase (each update's log line is read too; the pod is
made and the value put after a random wait of up to I seconds, so at a random moment of the watch's poll cycle), stops
the watch (SIGTERM: no follow-up full update has started), and measures the same two phases with a plain
`pulumi up --skip-preview` (the Automation API's up, as the watch's own) started right after the pod was created
or the value put, with a new pod and a new value. The watch's follow-up full updates are left out: they come
--settle seconds after a focused update and change no figure here.

--options: at that size, one pod -> replica per option, each from a new pod in a served namespace, the options
in turn: (i) full = a full `pulumi up` (what the watch does without focus); (ii) targets = `pulumi up --target`
the namespace's objects (kecs_secrets.targets.focus_targets) with the whole program registered; (iii) focused =
the same targets with KECS_SECRETS_FOCUS set, the program run by the CLI; (iv) inline = what the watch does: its
update (providers/stack_updates.py) with the program run in this process, only the new replica focused, the state
read and the source listing started as the update begins. A failing option is reported with Pulumi's error line.
The last inline update's engine events give a breakdown of where its time goes; --engine-profile
records the CLI's own CPU profile of each option's update (`python -m bench.profile --engine DIR --size N-M-K
--phase pod-replica` charges it to state load and save, step generation, provider calls, ...).

Results: printed, and written as the section "## Watch mode" of --out (the rest of the file is kept). Exits 1 if
a replica or a value did not arrive within the bound, or a watch update was not the focused one expected.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import json
import os
import platform
import re
import secrets as random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi.runtime
from pulumi import automation as auto

from bench.run import ENGINE_PROFILE_VAR, REGION, TUNED_ENV, Dataset, engine_profiling_cli, measure, parse_size
from bench.sections import WATCH_SECTION as SECTION
from bench.sections import replace_section
from kecs_cli.commands.watch import InlineProgram
from kecs_secrets.focus import FOCUS_ENV, Focus
from kecs_secrets.layout import Layout
from kecs_secrets.model import SECRETSMANAGER
from kecs_secrets.targets import VALUE_READER, focus_targets
from kecs_secrets.values import encode_data, secret_data
from providers.stack_config import load_settings, read_stack_file
from providers.stack_updates import Stack
from tests.support.cluster import KubeAdmin, start_cluster
from tests.support.localstack import ensure_localstack
from tests.support.stack import ProjectStack, RunLog, pulumi_home

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POD, ROTATION = "pod -> replica", "rotation -> replicas"
WATCH, PLAIN = "watch", "plain up"
OPTIONS = ("full", "targets", "focused", "inline")
POLL = 0.05  # seconds between looks at the API server
LINE = re.compile(r"^watch: trigger=(\S+) stack=\S+ scope=(full|focused) duration=([0-9.]+)s changes=(\S+) result=(\S+)$", re.M)


# ---- figures ------------------------------------------------------------------------------------------------


def spread(values: Sequence[float]) -> str:
    """``median s (min-max)``, or ``-`` for no value."""
    if not values:
        return "-"
    return f"{statistics.median(values):.1f} s ({min(values):.1f}-{max(values):.1f})"


def ratio(a: Sequence[float], b: Sequence[float]) -> str:
    """Median over median, or ``-``."""
    if not a or not b or not statistics.median(b):
        return "-"
    return f"{statistics.median(a) / statistics.median(b):.2f}x"


def goal_met(values: Sequence[float], goal: float) -> str:
    if not values:
        return "no figure"
    worst = max(values)
    return "yes" if statistics.median(values) <= goal and worst <= goal else (
        f"median {'yes' if statistics.median(values) <= goal else 'no'}, max {'yes' if worst <= goal else 'no'}"
    )


@dataclass
class Figures:
    """Per size: seconds per (phase, side), the watch's update durations, the plain ups' durations, options."""

    size: tuple[int, int, int]
    times: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    updates: dict[tuple[str, str], list[float]] = field(default_factory=dict)  # (phase, side) -> the update's own duration
    options: dict[str, list[float]] = field(default_factory=dict)  # option -> pod -> replica seconds
    option_updates: dict[str, list[float]] = field(default_factory=dict)  # option -> the update's duration
    option_errors: dict[str, str] = field(default_factory=dict)
    breakdown: list[tuple[str, float]] = field(default_factory=list)
    breakdown_note: str = ""
    failures: list[str] = field(default_factory=list)

    def add(self, into: dict, key: Any, value: float | None) -> None:
        if value is not None:
            into.setdefault(key, []).append(value)


def section(figures: Sequence[Figures], header: str, interval: float) -> str:
    lines = [SECTION, "", header, "",
             "| N, M, K | phase | watch | plain `pulumi up` | watch ÷ plain | goal | goal met (median, max) | watch's update "
             "| plain up's whole run |",
             "|---|---|---|---|---|---|---|---|---|"]
    goals = {POD: 5.0, ROTATION: interval + 5.0}
    for f in figures:
        size = ", ".join(map(str, f.size))
        for phase in (POD, ROTATION):
            w, p = f.times.get((phase, WATCH), []), f.times.get((phase, PLAIN), [])
            lines.append(f"| {size} | {phase} | {spread(w)} | {spread(p)} | **{ratio(w, p)}** | <= {goals[phase]:g} s | "
                         f"{goal_met(w, goals[phase])} | {spread(f.updates.get((phase, WATCH), []))} | "
                         f"{spread(f.updates.get((phase, PLAIN), []))} |")
    lines += ["", "Cells: median (min-max) over the repetitions. watch / plain `pulumi up`: from the pod's creation (the "
              "PutSecretValue) until the replica exists (every replica holds the new value). watch's update: the duration its "
              "log line gives (the focused update); plain up's whole run: start to end of the `pulumi up`."]
    opts = [f for f in figures if f.options or f.option_errors]
    if opts:
        lines += ["", "Design options (issue 24 point 4), one pod -> replica each:", "",
                  "| N, M, K | option | pod -> replica | the update's whole run | result |", "|---|---|---|---|---|"]
        for f in opts:
            size = ", ".join(map(str, f.size))
            for option in OPTIONS:
                result = f.option_errors.get(option, "succeeded")
                lines.append(f"| {size} | {OPTION_TEXT[option]} | {spread(f.options.get(option, []))} | "
                             f"{spread(f.option_updates.get(option, []))} | {result} |")
    for f in figures:
        if f.breakdown:
            lines += ["", f"Where one of the watch's updates (option iv) spends its time at {', '.join(map(str, f.size))} "
                      "(engine events as they reach the Automation API, seconds from the update's start):", ""]
            lines += [f"- {what}: {at:.1f} s" for what, at in f.breakdown]
            lines += ["", f.breakdown_note] if f.breakdown_note else []
    fails = [line for f in figures for line in f.failures]
    if fails:
        lines += ["", "Failures:", "", *(f"- {line}" for line in fails)]
    return "\n".join(lines) + "\n"


OPTION_TEXT = {
    "full": "(i) full `pulumi up`",
    "targets": "(ii) `pulumi up --target` the namespace's objects, whole program registered",
    "focused": "(iii) focused update (KECS_SECRETS_FOCUS + the same targets)",
    "inline": "(iv) the watch's update: the program inline, the replica alone focused, state and listing started ahead",
}


# ---- the scene --------------------------------------------------------------------------------------------


class UpdateFailed(Exception):
    """An update run the watch's way failed: Pulumi's error lines."""



class TimedLog(RunLog):
    """A run's events with when each reached the Automation API: the first event of each kind and each resource's steps."""

    def __init__(self) -> None:
        super().__init__()
        self.first: dict[str, float] = {}

    def on_event(self, event: auto.EngineEvent) -> None:
        now = time.monotonic()
        for kind in ("prelude_event", "resource_pre_event", "res_outputs_event", "summary_event", "diagnostic_event"):
            if getattr(event, kind, None) is not None:
                self.first.setdefault(kind, now)
        super().on_event(event)


class WatchProcess:
    """`kecs-secrets watch` on the scene's stack, its output in a file; stopped with SIGTERM."""

    def __init__(self, stack: ProjectStack, log: Path, interval: float) -> None:
        self.log = log
        env = {**os.environ, **stack.env, "PULUMI_HOME": str(pulumi_home())}
        command = [os.path.join(ROOT, ".venv", "bin", "kecs-secrets"), "watch", "--stack", stack.name,
                   "--interval", f"{interval:g}", "--settle", "600"]
        self.handle = log.open("a", encoding="utf-8")
        self.offset = log.stat().st_size
        self.process = subprocess.Popen(command, cwd=stack.workdir, env=env, stdout=self.handle, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def lines(self) -> list[tuple[str, ...]]:
        return LINE.findall(self.log.read_text(encoding="utf-8")[self.offset :])

    def next_line(self, after: int, bound: float) -> tuple[str, ...] | None:
        """The first log line past the first ``after`` ones, within ``bound`` seconds (None if none came)."""
        deadline = time.monotonic() + bound
        while time.monotonic() < deadline and self.process.poll() is None:
            lines = self.lines()
            if len(lines) > after:
                return lines[after]
            time.sleep(0.2)
        return None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=600)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.handle.close()


def wait_until(check: Callable[[], bool], started: float, bound: float) -> float | None:
    """Seconds from ``started`` (time.monotonic()) until ``check()`` holds, polled every POLL s; None past ``bound``."""
    while True:
        if check():
            return time.monotonic() - started
        if time.monotonic() - started > bound:
            return None
        time.sleep(POLL)


class Scene:
    """bench/run.py's data set with podDemand on, its stack made, and the pods and values the phases need."""

    def __init__(self, size: tuple[int, int, int], endpoint: str, kubeconfig: str, kube: KubeAdmin, tmp: Path,
                 engine_profile: Path | None = None) -> None:
        self.data = Dataset(*size, endpoint, kube)
        self.kube = kube
        self.name = f"watch-{self.data.p}"
        self.layout: Layout = self.data.layout(f"kecs-secrets/{self.name}")
        self.masters = {m.item.arn: m for m in self.layout.masters if m.item.source == SECRETSMANAGER}
        self.rotated = self.data.arns[0]
        self.pods = 0
        self._inline: tuple[InlineProgram, Stack] | None = None
        config = {**self.data.config(endpoint, kubeconfig), "podDemand": True}
        # The rotated secret in every namespace: its own demand covers one, a pod asks for it in each other one.
        for ns, refs in self.data.demand.items():
            if self.rotated not in refs:
                self.pod(ns, self.rotated)
        self.has = {ns: {self.rotated, *refs} for ns, refs in self.data.demand.items()}  # namespace -> the ARNs it has
        self.engine_profile = engine_profile
        command_root = engine_profiling_cli(engine_profile) if engine_profile else None
        self.stack = ProjectStack(tmp / self.name, self.name, config, extra_env=TUNED_ENV, command_root=command_root)
        self.stack.up(parallel=32)  # the first up: not timed

    def inline(self, focus: Focus, log: TimedLog) -> None:
        """One update as the watch makes it (providers/stack_updates.py, the program inline) in this process, which
        takes the stack's environment and directory for it (the program reads them as the watch's does)."""
        saved, cwd = dict(os.environ), os.getcwd()
        os.environ.update({**self.stack.env, "PULUMI_HOME": str(pulumi_home())})
        os.chdir(self.stack.workdir)
        try:
            if self._inline is None:
                program = InlineProgram(self.stack.workdir)
                self._inline = (program, Stack(self.name, self.stack.workdir, [], program))
            program, stack = self._inline
            pulumi.runtime.set_all_config(read_stack_file(str(self.stack.workdir / f"Pulumi.{self.name}.yaml")))
            program.begin(load_settings(), stack.qualified)
            update = stack.update(focus, print, on_event=log.on_event)
        finally:
            os.chdir(cwd)
            os.environ.clear()
            os.environ.update(saved)
        if not update.succeeded:
            raise UpdateFailed("\n".join(update.errors) or update.locked or "error: the update failed")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stack.destroy(parallel=32)
        with contextlib.suppress(Exception):
            self.stack.stack.workspace.remove_stack(self.name, force=True)
        self.data.cleanup()

    def pod(self, namespace: str, arn: str) -> None:
        self.pods += 1
        self.kube.post(f"/api/v1/namespaces/{namespace}/pods", {
            "metadata": {"name": f"bench-pod-{self.pods}", "annotations": {"kecs.dev/secret-0-arn": f"app:DB:{arn}"}},
            "spec": {"automountServiceAccountToken": False, "containers": [{"name": "app", "image": "busybox"}]},
        })

    def fresh(self) -> tuple[str, str]:
        """A served namespace (in turn) and a secret it has no replica of yet (its master exists, as every item's does;
        at 1000, 20, 100 every item has a replica in some namespace already): (namespace, secret ARN)."""
        namespace = self.data.namespaces[self.pods % len(self.data.namespaces)]
        arn = next(a for a in self.data.arns if a not in self.has[namespace])
        self.has[namespace].add(arn)
        return namespace, arn

    def has_replica(self, namespace: str, arn: str) -> Callable[[], bool]:
        name, kind = self.masters[arn].name, self.masters[arn].kind
        path = f"/api/v1/namespaces/{namespace}/{'secrets' if kind == 'Secret' else 'configmaps'}/{name}"
        return lambda: self.kube.get(path) is not None

    def begin(self, phase: str) -> Callable[[], bool]:
        """Start ``phase`` now (a new pod asking for a replica its namespace lacks, or a new value); its arrival check."""
        if phase == POD:
            namespace, arn = self.fresh()
            self.pod(namespace, arn)
            return self.has_replica(namespace, arn)
        return self.rotate()

    def rotate(self) -> Callable[[], bool]:
        """Put a new value of the rotated secret; the check that every replica of it holds that value."""
        master = self.masters[self.rotated]
        string = json.dumps({"username": "user0", "password": random.token_hex(12)})
        shaped = secret_data(string, None, master.json_keys, name=master.item.name)
        wanted = encode_data(shaped, "base64" if master.kind == "Secret" else "text")
        kind = "secrets" if master.kind == "Secret" else "configmaps"
        pending = set(self.data.namespaces)
        self.data.sm.put_secret_value(SecretId=self.rotated, SecretString=string)

        def check() -> bool:
            # One list of that name in every namespace per look (not one read per namespace): the looks every POLL s
            # cost the CPU the watch and the plain up share on this machine as little as they can.
            found = self.kube.get(f"/api/v1/{kind}?fieldSelector=metadata.name%3D{master.name}") or {}
            for item in found.get("items") or []:
                if dict(item.get("data") or {}) == wanted:
                    pending.discard(item["metadata"]["namespace"])
            return not pending

        return check


# ---- the phases -------------------------------------------------------------------------------------------------


def bound_for(size: tuple[int, int, int], interval: float) -> float:
    """How long a replica or value may take before the run counts as failed (never a goal: a broken run's end)."""
    return 120.0 + interval + size[0] * 0.3


def watch_repetition(scene: Scene, figures: Figures, log: Path, interval: float, bound: float, run: int) -> None:
    watch = WatchProcess(scene.stack, log, interval)
    try:
        first = watch.next_line(0, bound + 600)
        if first is None or first[4] != "succeeded":
            figures.failures.append(f"watch run {run + 1}: its first update did not succeed ({first})")
            return
        for phase in (POD, ROTATION):
            done = len(watch.lines())
            # The pod appears, or the value changes, at a random moment of the watch's poll cycle (--interval), not
            # always at the same distance from the watch's last update (which would make the figure that distance's
            # artefact: a poll comes due during an update and runs right after it).
            time.sleep(random.randbelow(1000) / 1000 * interval)
            started = time.monotonic()
            check = scene.begin(phase)
            took = wait_until(check, started, bound)
            line = watch.next_line(done, bound)
            print(f"  {figures.size} run {run + 1}: watch: {phase}: "
                  f"{'-' if took is None else f'{took:.1f}s'}; its update: {line}", flush=True)
            if took is None:
                figures.failures.append(f"{figures.size} watch run {run + 1}: {phase}: nothing arrived within {bound:.0f} s; "
                                        f"lines {watch.lines()}")
                continue
            figures.add(figures.times, (phase, WATCH), took)
            trigger = "pod-demand" if phase == POD else "source-change"
            if line is None or trigger not in line[0] or line[1] != "focused" or line[4] != "succeeded":
                figures.failures.append(f"{figures.size} watch run {run + 1}: {phase}: expected a focused {trigger} update, "
                                        f"the watch logged {line}")
            else:
                figures.add(figures.updates, (phase, WATCH), float(line[2]))
    finally:
        watch.stop()


def plain_repetition(scene: Scene, figures: Figures, bound: float, run: int) -> None:
    for phase in (POD, ROTATION):
        started = time.monotonic()
        check = scene.begin(phase)
        took, whole, error = timed_update(scene, check, started, bound)
        print(f"  {figures.size} run {run + 1}: plain up: {phase}: {'-' if took is None else f'{took:.1f}s'} "
              f"(the up: {whole:.1f}s{', ' + error if error else ''})", flush=True)
        if took is None:
            figures.failures.append(f"{figures.size} plain up run {run + 1}: {phase}: nothing arrived ({error or 'no error'})")
            continue
        figures.add(figures.times, (phase, PLAIN), took)
        figures.add(figures.updates, (phase, PLAIN), whole)


def timed_update(scene: Scene, check: Callable[[], bool], started: float, bound: float, targets: list[str] | None = None,
                 focus: Focus | None = None, log: TimedLog | None = None,
                 run_up: Callable[[], None] | None = None) -> tuple[float | None, float, str]:
    """Start an up now (in a thread; ``run_up`` instead of the scene's CLI program if given), poll ``check`` from
    ``started``; (seconds until it held or None, the up's whole run, Pulumi's first error line or '')."""
    outcome: dict[str, Any] = {}
    env = scene.stack.stack.workspace.env_vars
    if focus is not None:
        env[FOCUS_ENV] = focus.to_env()

    def up() -> None:
        begun = time.monotonic()
        try:
            if run_up is not None:
                run_up()
            else:
                scene.stack.up(log=log, **({"target": targets} if targets else {}))
        except (auto.CommandError, UpdateFailed) as error:
            lines = [line.strip() for line in str(error).splitlines() if line.strip().startswith("error:")]
            outcome["error"] = (lines or [str(error).strip().splitlines()[-1]])[0][:300]
        finally:
            outcome["whole"] = time.monotonic() - begun

    thread = threading.Thread(target=up, daemon=True)
    try:
        thread.start()
        took = wait_until(lambda: check() or "whole" in outcome, started, bound)  # the up ended: its last look follows
        thread.join()
    finally:
        env.pop(FOCUS_ENV, None)
    if not check():
        took = None
    return took, outcome["whole"], outcome.get("error", "")


def options(scene: Scene, figures: Figures, runs: int, bound: float, save: Callable[[], None]) -> None:
    project = "kecs-secrets"
    for run in range(runs):
        order = list(OPTIONS[run % len(OPTIONS) :]) + list(OPTIONS[: run % len(OPTIONS)])
        for option in order:
            namespace, arn = scene.fresh()
            focus = Focus(namespaces=frozenset({namespace}))
            targets = None if option == "full" else focus_targets(scene.name, project, focus)
            log = TimedLog()
            run_up = None
            if option == "inline":
                run_up = functools.partial(scene.inline, Focus(replicas=frozenset({(namespace, scene.masters[arn].name)})), log)
            if scene.engine_profile:  # the CLI's own CPU profile of this update (bench/run.py's wrapper of the CLI)
                name = f"{option}-{'-'.join(map(str, figures.size))}-watch-{run}-pod-replica"
                scene.stack.stack.workspace.env_vars[ENGINE_PROFILE_VAR] = str(scene.engine_profile / name)
            started = time.monotonic()
            scene.pod(namespace, arn)
            check = scene.has_replica(namespace, arn)
            step = functools.partial(timed_update, scene, check, started, bound, targets, focus if option == "focused" else None, log,
                                     run_up)
            try:
                (took, whole, error), cpu = _with_cpu(step)
            finally:
                scene.stack.stack.workspace.env_vars.pop(ENGINE_PROFILE_VAR, None)
            print(f"  {figures.size} option {option} run {run + 1}: pod -> replica {'-' if took is None else f'{took:.1f}s'}, "
                  f"the up {whole:.1f}s{', ' + error if error else ''}; CPU s {cpu}", flush=True)
            if error:
                figures.option_errors[option] = f"failed: {error}"
            figures.add(figures.options, option, took)
            figures.add(figures.option_updates, option, whole)
            if option == "inline" and took is not None:
                figures.breakdown = breakdown(log, started, scene, namespace, arn, whole)
                figures.breakdown_note = breakdown_note(log, cpu)
        save()


def _with_cpu(step: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    """The step's result and CPU seconds by process: its child processes, and this one (the program when it runs inline,
    and the benchmark's own polling of the API server)."""
    out: dict[str, Any] = {}
    own = time.process_time()
    _, _, cpu = measure(lambda: out.setdefault("result", step()))
    cpu = {**cpu, "this process": time.process_time() - own}
    return out["result"], {kind: round(seconds, 1) for kind, seconds in sorted(cpu.items(), key=lambda kv: -kv[1]) if seconds >= 0.05}


def breakdown(log: TimedLog, started: float, scene: Scene, namespace: str, arn: str, whole: float) -> list[tuple[str, float]]:
    """Marks of one focused update, seconds from its start: what the CLI, the program and the engine spend."""
    replica = f"::{namespace}/{scene.masters[arn].name}"
    marks: list[tuple[str, float | None]] = [
        ("first engine event (the CLI started, its plugins and the stack's state loaded)", log.first.get("prelude_event")),
        # The Python SDK sends registrations when the program's synchronous part (imports, planning) yields, so the
        # stack resource and the component arrive together.
        ("the program's first registrations (the program, run in the watch's process, planned: the state read and the "
         "source listing started as the update began, the cluster read)", _at(log, "start", "::pulumi:pulumi:Stack::")),
        ("the value reader's step started", _at(log, "start", VALUE_READER)),
        ("the value reader's step done", _at(log, "done", VALUE_READER)),
        ("the new replica's create started", _at(log, "start", replica, end=True)),
        ("the new replica's create done", _at(log, "done", replica, end=True)),
        ("the last resource event (the engine's steps for the objects the program did not register)",
         max((t for (_, urn), t in log.at.items() if "::pulumi:pulumi:Stack::" not in urn), default=None)),
        ("the summary event (the update over; the CLI then saves the state and its history)", log.first.get("summary_event")),
    ]
    result = [(what, at - started) for what, at in marks if at is not None]
    after = "after the update the Automation API runs `pulumi stack history` for the update's summary"
    result.append((f"the update returned ({after})", whole))
    return result


def breakdown_note(log: RunLog, cpu: Mapping[str, float]) -> str:
    steps = ", ".join(f"{op} {n}" for op, n in sorted(_count(log.ops.values()).items()))
    return f"Steps: {len(log.ops)} ({steps}); CPU seconds by process: {', '.join(f'{k} {v}' for k, v in cpu.items())}."


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def _at(log: RunLog, phase: str, part: str, end: bool = False) -> float | None:
    """When the first ``phase`` event of a URN holding (``end``: ending in) ``part`` arrived."""
    times = [t for (p, urn), t in log.at.items() if p == phase and (urn.endswith(part) if end else part in urn)]
    return min(times) if times else None


# ---- the run ------------------------------------------------------------------------------------------------


def run_size(figures: Figures, runs: int, interval: float, option_runs: int, endpoint: str, kubeconfig: str,
             kube: KubeAdmin, save: Callable[[], None], engine_profile: Path | None = None) -> None:
    """Measure ``figures.size`` into ``figures``, calling ``save`` after every repetition (a stopped run keeps them)."""
    size = figures.size
    bound = bound_for(size, interval)
    with tempfile.TemporaryDirectory() as tmp:
        scene = Scene(size, endpoint, kubeconfig, kube, Path(tmp), engine_profile)
        try:
            log = Path(tmp) / "watch.log"
            log.touch()
            for run in range(runs):
                watch_repetition(scene, figures, log, interval, bound, run)
                plain_repetition(scene, figures, bound, run)
                save()
            if option_runs:
                options(scene, figures, option_runs, bound, save)
        finally:
            scene.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["50,3,10", "1000,20,100"], help="N,M,K of the watch phases, or none")
    parser.add_argument("--runs", type=int, default=5, help="repetitions per size (watch, then plain up); medians")
    parser.add_argument("--interval", type=float, default=10.0, help="the watch's --interval (its default: 10)")
    parser.add_argument("--options", default="1000,20,100", help="N,M,K of the design options' runs, or none")
    parser.add_argument("--option-runs", type=int, default=5, help="runs of each design option")
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results.md"))
    parser.add_argument("--engine-profile", metavar="DIR", type=Path,
                        help="also record the Pulumi CLI's CPU profile of each design option's update into DIR; summarise with "
                        "`python -m bench.profile --engine DIR --size N-M-K --phase pod-replica`. Profiling costs CPU: "
                        "do not compare times of such a run")
    args = parser.parse_args(argv)
    if args.engine_profile:
        args.engine_profile = args.engine_profile.resolve()
        args.engine_profile.mkdir(parents=True, exist_ok=True)
    sizes = [] if args.sizes == ["none"] else [parse_size(s) for s in args.sizes]
    option_size = None if args.options == "none" else parse_size(args.options)
    plan = [(size, args.runs, args.option_runs if size == option_size else 0) for size in sizes]
    if option_size is not None and option_size not in sizes:
        plan.append((option_size, 0, args.option_runs))
    endpoint = ensure_localstack()
    kubeconfig = start_cluster()
    kube = KubeAdmin(kubeconfig)
    started = time.monotonic()
    header = (f"Watch benchmark of {dt.date.today().isoformat()} on {platform.machine()} with {os.cpu_count()} cores and "
              f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB: `python -m bench.watch "
              f"{' '.join(sys.argv[1:] if argv is None else argv)}` ("
              + (f"{args.runs} repetitions per size, each the watch (--interval {args.interval:g}) then a plain `pulumi up`; "
                 if sizes else "")
              + (f"design options: {args.option_runs} runs each; " if option_size else "")
              + f"PULUMI_SKIP_CHECKPOINTS=true, default parallelism; region {REGION}).")
    figures: list[Figures] = []
    out = Path(args.out)

    def save() -> None:
        text = section(figures, header + f" Took {(time.monotonic() - started) / 60:.0f} minutes.", args.interval)
        out.write_text(replace_section(out.read_text(encoding="utf-8") if out.exists() else "", text), encoding="utf-8")

    for size, runs, option_runs in plan:
        figures.append(Figures(size))
        run_size(figures[-1], runs, args.interval, option_runs, endpoint, kubeconfig, kube, save, args.engine_profile)
        save()
    print(section(figures, header, args.interval))
    return 1 if any(f.failures for f in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
