"""Converge the stack whenever a pod needs a secret or a source value changes; or once (--once, for CI and cron).

    kecs-secrets watch [--stack dev] [--interval 10] [--resync 600] [--metrics-port 9100]   (long-running)
    kecs-secrets watch --once [--stack dev]

Run in the project directory with the environment of `pulumi up` (backend URL, passphrase or secrets
provider, kubeconfig, AWS settings): it runs the same program on the same stack and state, through the
Pulumi Automation API (the program runs in this process: an inline program), one update at a time. Triggers: a
watch on pods (a pod whose kecs.dev/secret-<i>-arn annotations name a replica its namespace lacks: a focused update
of those replicas, or of the namespace when it holds none yet), a poll of the source's
metadata every --interval seconds, or at once on a --queue-url message (a changed value: a focused update of its
replicas, the master following in the full update; an item that came or went: a full update), the ECS API's
demand when ecsDemand is on (a focused update of the namespaces whose demand moved), the stack config and task
definition files (a full update), and a full update every --resync seconds and --settle seconds after focused ones.
One line per update on stdout:
`watch: trigger=pod-demand stack=dev scope=focused duration=2.1s changes=create:1,same:3 result=succeeded`.
A lock left by a Pulumi process of this host that is gone (a watch killed mid-update) is taken over; any
other lock is reported once and waited on, never removed. Failures back off (1 s doubling to 5 min, with
jitter); an unreachable source, ECS API or cluster deletes nothing: the update fails before any change and
is retried. SIGTERM/SIGINT: the update running ends first, then the watch exits 0. Never prints a value.
"""

from __future__ import annotations

import argparse
import gc
import os
import queue
import random
import runpy
import signal
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi.runtime

from kecs_cli.commands import DEFAULT_EXIT_CODES
from kecs_secrets.config import Settings
from kecs_secrets.errors import ConfigError, KecsSecretsError
from kecs_secrets.focus import Focus
from kecs_secrets.layout import Layout
from kecs_secrets.watch import Cycle, Scheduler, Trigger
from kecs_secrets.watch_demand import demand_focus, ecs_demand_focus, missing_replicas, source_change
from providers.aws_source import BotoSource
from providers.pulumi_state import PulumiStackState, checkpoint_file
from providers.stack_config import load_settings, read_stack_file
from providers.stack_updates import Stack, Update

EXIT_CODES = {
    **DEFAULT_EXIT_CODES,
    0: "--once: the update succeeded (the log line says what changed); long-running: stopped by SIGTERM/SIGINT",
    1: "--once: the update failed (Pulumi's error lines on stderr, then the log line with result=failed); or the stack "
       "config is wrong: one line on stderr",
    2: "wrong usage (unknown option, missing argument)",
    3: "--once: the stack is locked by a running Pulumi process or by another host: the lock is reported on stderr and left alone",
}
_LOCK_RECHECK = 2.0  # seconds between looks at a held lock


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", default="dev", help="the stack to converge (default: dev)")
    parser.add_argument("--once", action="store_true", help="run one full converge and exit (for CI and cron)")
    parser.add_argument("--interval", type=_seconds, default=10.0, help="seconds between polls of the source and the ECS API (default: 10)")
    parser.add_argument("--resync", type=_seconds, default=600.0, help="seconds between full converges for drift (default: 600)")
    parser.add_argument("--settle", type=_seconds, default=60.0,
                        help="seconds after a focused update before the full converge that follows it (default: 60)")
    parser.add_argument("--metrics-port", type=int, default=None,
                        help="serve Prometheus metrics (/metrics), /healthz and /readyz on this port (default: off)")
    parser.add_argument("--queue-url", default="",
                        help="an SQS queue fed by EventBridge rules on Secrets Manager/SSM changes: each message makes the "
                             "source poll look at once (long polling; the poll every --interval stays the backstop)")
    parser.add_argument("--leader-elect", action="store_true",
                        help="run updates only while holding a Kubernetes Lease (several replicas, one updating)")
    parser.add_argument("--lease-namespace", default=os.environ.get("POD_NAMESPACE", "kecs-secrets-watch"),
                        help="the Lease's namespace (default: $POD_NAMESPACE, else kecs-secrets-watch)")
    parser.add_argument("--lease-name", default="", help="the Lease's name (default: kecs-secrets-watch-<stack>)")
    parser.add_argument("--policy-pack", action="append", default=[], metavar="DIR",
                        help="run full updates with this CrossGuard policy pack (repeatable)")


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds in (0, 86400]")
    return value


def _log_line(cycle: Cycle, finished: float, stack: str, changes: Mapping[str, int], result: str) -> str:
    """One update's line: its triggers, the stack, full or focused (not said for --once), duration, changes, result."""
    triggers = ",".join(sorted(kind.value for kind in cycle.triggers))
    counted = ",".join(f"{op}:{count}" for op, count in sorted(changes.items())) or "none"
    once = set(cycle.triggers) == {Trigger.MANUAL}
    scope = "" if once else f" scope={'full' if cycle.focus is None else 'focused'}"
    return f"watch: trigger={triggers} stack={stack}{scope} duration={finished - cycle.started:.1f}s changes={counted} result={result}"


class InlineProgram:
    """The project's program, run in this process by each update. When the project directory's ``__main__.py`` is
    this installation's, that is kecs_program.program.run, given the focus, the source listing the watch started
    when the update began (``begin``), and a callback that keeps the layout it planned (``layout``). Any other
    ``__main__.py`` (another version of the program, a project of its own) runs as the language host would run it,
    as ``__main__`` (without a focus: the watch then learns no layout and runs full updates only)."""

    def __init__(self, work_dir: Path) -> None:
        self.main = work_dir / "__main__.py"
        self.ours = _same_file(self.main, Path(__file__).resolve().parents[2] / "__main__.py")
        self.listing: BotoSource | None = None
        self.state: PulumiStackState | None = None
        self.layout: Layout | None = None

    def begin(self, settings: Settings | None, stack: str) -> None:
        """Before an update of ``stack`` (organization/project/name): start reading its state from its checkpoint file
        (a local file backend) and listing the source as ``settings`` say. The program uses each only if it is still
        current then (kecs_program.program.run)."""
        self.layout, self.listing, self.state = None, None, None
        if not self.ours or settings is None:
            return
        self.listing = BotoSource.listing(settings)
        state = PulumiStackState(stack)
        self.state = state.start() if checkpoint_file(state.backend_url, stack) is not None else None

    def __call__(self, focus: Focus | None) -> None:
        listing, state = self.listing, self.state  # each taken once, by this update
        self.listing = self.state = None
        if not self.ours:
            runpy.run_path(str(self.main), run_name="__main__")
            return
        from kecs_program.program import run as run_program

        run_program(focus, listing, self._planned, state)

    def _planned(self, layout: Layout) -> None:
        self.layout = layout


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve().samefile(b)
    except OSError:
        return False


def run(args: argparse.Namespace) -> int:
    program = InlineProgram(Path.cwd())
    stack = Stack(args.stack, Path.cwd(), args.policy_pack, program)
    if args.once:
        return _once(stack)
    return Watch(stack, program, args).run()


def _once(stack: Stack) -> int:
    scheduler = Scheduler(random=lambda: 0.0)  # one cycle: no retry, so no jitter to draw
    scheduler.trigger(Trigger.MANUAL, time.monotonic())
    scheduler.start(time.monotonic())
    update = stack.update(None, print)
    if update.locked:
        print(update.locked, file=sys.stderr)
        return 3
    for line in update.errors:
        print(line, file=sys.stderr)
    outcome = scheduler.finish(time.monotonic(), succeeded=update.succeeded)
    print(_log_line(outcome.cycle, outcome.finished, stack.name, update.changes, "succeeded" if update.succeeded else "failed"))
    return 0 if update.succeeded else 1


class Watch:
    """The long-running mode: watchers put triggers on a queue; this thread runs one update at a time."""

    def __init__(self, stack: Stack, program: InlineProgram, args: argparse.Namespace) -> None:
        self.stack, self.program, self.args = stack, program, args
        self.settings = self._settings()
        self.scheduler = Scheduler(random=random.Random().random)
        self.triggers: queue.Queue[tuple[Trigger, float, Focus | None]] = queue.Queue()
        self.stopping = threading.Event()
        self.served: dict[str, frozenset[str]] = {}  # namespace -> replicas the last update left there
        self.masters: dict[tuple[str, str], str] = {}  # (source, name) -> master
        self.loaded = threading.Event()  # the first update succeeded: served and masters are known
        self.pods: dict[str, Mapping[str, Any]] = {}  # uid -> a pod that declares demand (the latest seen)
        self.asked: dict[str, set[str]] = {}  # pod uid -> the names already asked for: never again for that pod
        self.pods_lock = threading.Lock()
        self.contacts: dict[str, tuple[float, float]] = {}  # watcher -> (last contact, allowed silence)
        self.metrics: Any = None
        self.held_reported = ""
        self.wake = threading.Event()  # a queue message: poll now
        self.idle = threading.Event()  # no update running or due: the polls run only then (the run loop sets it)
        self.idle.set()
        self.election: Any = None  # --leader-elect: updates run only while it leads

    # -- setup ------------------------------------------------------------------------------------------------

    def _settings(self) -> Settings:
        pulumi.runtime.set_all_config(read_stack_file(str(self.stack.work_dir / f"Pulumi.{self.stack.name.rsplit('/', 1)[-1]}.yaml")))
        return load_settings()

    def say(self, line: str) -> None:
        print(line, flush=True)

    def warn(self, line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    def trigger(self, kind: Trigger, focus: Focus | None = None, at: float | None = None) -> None:
        self.triggers.put((kind, time.monotonic() if at is None else at, focus))

    def _start_watchers(self) -> None:
        if self.args.metrics_port is not None:
            from providers.watch_metrics import WatchMetrics, serve

            self.metrics = WatchMetrics()
            try:
                serve(self.args.metrics_port, self.metrics, self._stuck)
            except OSError as err:
                raise ConfigError(f"--metrics-port {self.args.metrics_port}: cannot serve there ({err.strerror})") from None
        threading.Thread(target=self._poll_loop, name="source-poll", daemon=True).start()
        if self.args.queue_url:
            from providers.queue_listener import QueueListener

            problems: dict[str, str] = {}
            queue_listener = QueueListener(self.args.queue_url, self.settings.endpoint, self.settings.region, self._on_messages,
                                           lambda problem: self._polled("queue", problems, problem, recover=False))
            self._queue = queue_listener.start()
            self.contacts["queue"] = (time.monotonic(), 120.0)
            threading.Thread(target=self._track, args=("queue", self._queue, 120.0), daemon=True).start()
        if self.settings.pod_demand and self.settings.check_cluster:
            from providers.pod_watch import PodWatch

            allowed = max(120.0, 2 * self.args.interval)
            watch = PodWatch(self.settings.kubeconfig, self.settings.kube_context, self._on_pod, self._on_restart)
            self._pod_watch = watch.start()
            self.contacts["pod-watch"] = (time.monotonic(), allowed)
            threading.Thread(target=self._track, args=("pod-watch", self._pod_watch, allowed), daemon=True).start()

    def _track(self, name: str, watcher: Any, allowed: float) -> None:
        """Keep the readiness check's view of a watcher's last contact with its API current."""
        while not self.stopping.wait(1.0):
            self.contacts[name] = (watcher.last_contact, allowed)

    def _on_messages(self, count: int) -> None:
        if self.metrics is not None:
            self.metrics.polls.labels("queue", "messages").inc(count)
        self.wake.set()

    def _stuck(self) -> list[str]:
        now = time.monotonic()
        return [name for name, (last, allowed) in self.contacts.items() if now - last > allowed]

    def _on_restart(self, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.restarts.labels("pod-watch", reason).inc()

    # -- triggers -----------------------------------------------------------------------------------------------

    def _on_pod(self, pod: Mapping[str, Any], deleted: bool = False) -> None:
        """A pod listed, added or changed: a focused update of its namespace when it names a replica it lacks."""
        meta = pod.get("metadata") or {}
        uid = str(meta.get("uid") or "")
        if deleted or not any(str(key).startswith("kecs.dev/secret-") for key in (meta.get("annotations") or {})):
            with self.pods_lock:
                self.pods.pop(uid, None)
                self.asked.pop(uid, None)
            return
        with self.pods_lock:
            self.pods[uid] = pod
        if self.loaded.is_set():
            self._ask(uid, pod)

    def _ask(self, uid: str, pod: Mapping[str, Any]) -> None:
        namespace = str((pod.get("metadata") or {}).get("namespace", ""))
        with self.pods_lock:  # the pod watch's thread and the update loop both ask
            asked = self.asked.setdefault(uid, set())
            wanted = missing_replicas(pod, self.served) - asked
            asked |= wanted
        if wanted:
            self.trigger(Trigger.POD_DEMAND, demand_focus(namespace, wanted, self.served))

    def _poll_loop(self) -> None:
        """Every --interval seconds: the source's metadata, the ECS API's demand, the config and task definition files."""
        from providers.watch_sources import CachingEcsSource, ecs_demand_by_namespace, source_versions

        versions: dict[tuple[str, str], Any] | None = None
        demand: dict[str, frozenset[str]] | None = None
        files = self._files_digest()
        ecs_settings = self.settings.ecs_demand
        ecs = CachingEcsSource(ecs_settings.endpoint, ecs_settings.region) if ecs_settings.enabled else None
        allowed = max(60.0, 6 * self.args.interval)
        self.contacts["source-poll"] = (time.monotonic(), allowed)
        problems: dict[str, str] = {}
        first = True
        while not self.stopping.is_set():
            # While an update runs or is due the polls wait (the one before the first update excepted: the baseline):
            # what they would find could only be served after it, and the update's own listing and program then
            # have the CPU and the source to themselves. A poll due meanwhile runs as soon as the update ends.
            while not first and not self.idle.wait(1.0) and not self.stopping.is_set():
                self.contacts["source-poll"] = (time.monotonic(), allowed)  # waiting for the update, not stuck
            first = False
            started = time.monotonic()
            try:
                now_versions = source_versions(self.settings)
                if versions is not None:
                    change = source_change(versions, now_versions, self.masters)
                    if change:
                        self.trigger(Trigger.SOURCE_CHANGE, None if change.full else change.focus)
                versions = now_versions
                self.contacts["source-poll"] = (time.monotonic(), allowed)
                self._polled("source", problems, None)
            except KecsSecretsError as err:
                self._polled("source", problems, f"{type(err).__name__}: {err}")
            except Exception as err:  # anything unforeseen: said once, and the poll goes on
                self._polled("source", problems, type(err).__name__)
            if ecs is not None:
                try:
                    now_demand = ecs_demand_by_namespace(ecs, self.settings)
                    if demand is not None and (moved := ecs_demand_focus(demand, now_demand)):
                        self.trigger(Trigger.ECS_DEMAND, moved)
                    demand = now_demand
                    self._polled("ecs", problems, None)
                except KecsSecretsError as err:
                    self._polled("ecs", problems, f"{type(err).__name__}: {err}")
                except Exception as err:  # anything unforeseen: said once, and the poll goes on
                    self._polled("ecs", problems, type(err).__name__)
            now_files = self._files_digest()
            if now_files != files:
                files = now_files
                self.trigger(Trigger.FILES)
                try:  # the polls follow the new settings; wrong ones fail the update, which says why
                    self.settings = self._settings()
                    ecs_settings = self.settings.ecs_demand
                    ecs = CachingEcsSource(ecs_settings.endpoint, ecs_settings.region) if ecs_settings.enabled else None
                except KecsSecretsError as err:
                    self.warn(f"watch: the stack config cannot be read, the polls keep the settings they had: {err}")
            self.wake.wait(max(0.0, self.args.interval - (time.monotonic() - started)))
            self.wake.clear()

    def _polled(self, poller: str, problems: dict[str, str], problem: str | None, recover: bool = True) -> None:
        """Count a poll; say a problem once when it starts and once when it is over (never every interval); a
        source that answers again (``recover``) triggers an update at once."""
        if self.metrics is not None:
            self.metrics.polls.labels(poller, "failed" if problem else "succeeded").inc()
        if problem and problems.get(poller) != problem:
            self.warn(f"watch: {poller} poll failed, nothing changes until it answers again: {problem}")
        elif not problem and poller in problems:
            self.warn(f"watch: {poller} poll answers again")
            if recover:
                self.trigger(Trigger.RECOVERED)  # converge now, not after the backoff the failed updates built up
        if problem:
            problems[poller] = problem
        else:
            problems.pop(poller, None)

    def _files_digest(self) -> str:
        from providers.watch_sources import owner_files_digest

        stack = self.stack.name.rsplit("/", 1)[-1]
        return owner_files_digest(self.stack.work_dir, stack, [source.path for source in self.settings.task_definitions])

    # -- the loop -------------------------------------------------------------------------------------------------

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stopping.set())
        self._start_watchers()
        if self.args.leader_elect:
            from providers.leader import LeaderElection

            lease = self.args.lease_name or f"kecs-secrets-watch-{self.stack.name.rsplit('/', 1)[-1]}"
            self.election = LeaderElection(
                self.settings.kubeconfig, self.settings.kube_context, self.args.lease_namespace, lease,
                on_started=self._leading, on_stopped=lambda: self.say(f"watch: no longer leading (Lease {lease})"), warn=self.warn,
            )
            self.election.start()
            self.say(f"watch: waiting for the Lease {self.args.lease_namespace}/{lease} as {self.election.identity}")
        self.say(f"watch: stack={self.stack.name} interval={self.args.interval:g}s resync={self.args.resync:g}s "
                 f"pods={'watched' if self.settings.pod_demand else 'off (podDemand is false)'} "
                 f"ecs={'polled' if self.settings.ecs_demand.enabled else 'off'}")
        self.trigger(Trigger.RESYNC)  # the first update: a full converge
        while not self.stopping.is_set():
            self._drain()
            now = time.monotonic()
            self._gauges(now)
            if not self.scheduler.due(now):
                self.idle.set()  # nothing to run now: the polls may run (an update due right after one keeps them waiting)
                start = self.scheduler.next_start()
                wait = 0.5 if start is None else min(0.5, max(0.0, start - now))
                try:
                    kind, at, focus = self.triggers.get(timeout=wait)
                    self.scheduler.trigger(kind, at, focus)
                except queue.Empty:
                    pass
                continue
            if self.election is not None and not self.election.is_leader():
                self.idle.set()
                self.stopping.wait(1.0)  # triggers wait (and coalesce) until this process leads
                continue
            held = self.stack.lock(self.say)
            if held:
                self.idle.set()
                if held != self.held_reported:
                    self.warn(f"{held}; waiting for it")
                    self.held_reported = held
                self.stopping.wait(_LOCK_RECHECK)
                continue
            self.held_reported = ""
            self._cycle(self.scheduler.start(now))
        self.wake.set()
        if self.election is not None:
            self.election.stop(release=True)  # the next leader need not wait for the Lease to expire
        self.say("watch: stopped")
        return 0

    def _leading(self) -> None:
        self.say(f"watch: leading (Lease {self.election.namespace}/{self.election.name} as {self.election.identity})")
        self.trigger(Trigger.RESYNC)  # a new leader converges fully first: the last one may have stopped mid-way

    def _drain(self) -> None:
        while True:
            try:
                kind, at, focus = self.triggers.get_nowait()
            except queue.Empty:
                return
            self.scheduler.trigger(kind, at, focus)

    def _gauges(self, now: float) -> None:
        if self.metrics is not None:
            self.metrics.pending.set(self.scheduler.waiting(now))
            self.metrics.staleness.set(self.scheduler.staleness(now))

    def _cycle(self, cycle: Cycle) -> None:
        if cycle.focus is not None and not self.served:
            # No namespace holds a replica yet, so the shared ClusterRole is still to be made: every RoleBinding
            # depends on it, so only a full update may make it (kecs_secrets/targets.py).
            cycle = self.scheduler.widen()
        self.idle.clear()
        try:
            self.program.begin(self.settings, self.stack.qualified)
            update = self.stack.update(cycle.focus, self.say)
            if not update.succeeded and cycle.focus is not None and not update.locked:
                # A focused update that failed (e.g. it would have had to make a namespace's component): the full one.
                self._report(cycle, update, time.monotonic())
                cycle = self.scheduler.widen()
                self.program.begin(self.settings, self.stack.qualified)
                update = self.stack.update(None, self.say)
        finally:
            # The program ran in this process: its objects (thousands per full update) are garbage now. Collected
            # here, between updates, instead of by a collection the next update's program would trigger and wait for.
            gc.collect()
        now = time.monotonic()
        self.scheduler.finish(now, succeeded=update.succeeded)
        self._report(cycle, update, now)
        if not update.succeeded:
            return
        if self.program.layout is not None:
            self._learn(self.program.layout, cycle.focus)
        if cycle.focus is not None:
            self.trigger(Trigger.FOLLOW_UP, at=now + self.args.settle)
        else:
            self.trigger(Trigger.RESYNC, at=now + self.args.resync)

    def _report(self, cycle: Cycle, update: Update, now: float) -> None:
        for line in update.errors:
            self.warn(line)
        if update.locked:
            self.warn(f"{update.locked}; waiting for it")
        result = "succeeded" if update.succeeded else ("waiting-for-lock" if update.locked else "failed")
        self.say(_log_line(cycle, now, self.stack.name, update.changes, result))
        if self.metrics is None:
            return
        label = ",".join(sorted(kind.value for kind in cycle.triggers))
        self.metrics.updates.labels(label, result).inc()
        self.metrics.duration.labels("full" if cycle.focus is None else "focused").observe(now - cycle.started)
        if update.succeeded:
            self.metrics.last_success.set(time.time())
            for kind, since in cycle.triggers.items():
                self.metrics.latency.labels(kind.value).observe(max(0.0, now - since))

    def _learn(self, layout: Layout, focus: Focus | None) -> None:
        """What the stack now holds: the replicas per namespace and each item's master (the layout the update planned).

        A focused update made only its part of the layout: the other namespaces keep what the watch knew of them (a
        replica planned there is not made until they are focused or the full update runs, so a pod asking for it must
        still be heard)."""
        planned = {ns: frozenset(names) for ns, names in layout.replicas_by_namespace().items()}
        if focus is None:
            self.served = planned
        else:
            served = {ns: names for ns, names in self.served.items() if ns not in focus.namespaces}
            served.update({ns: planned[ns] for ns in focus.namespaces if ns in planned})
            for ns, name in focus.replicas:
                if name in planned.get(ns, ()):
                    served[ns] = served.get(ns, frozenset()) | {name}
            self.served = served
        self.masters = {(m.item.source, m.item.name): m.name for m in layout.masters}
        self.loaded.set()
        with self.pods_lock:
            pods = list(self.pods.items())
        for uid, pod in pods:  # pods seen before the stack's outputs were known, or during the update
            self._ask(uid, pod)
