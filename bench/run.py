#!/usr/bin/env python3
"""Benchmark: this project against the same objects made by a plain Pulumi program (the floor) and by a direct script.

    .venv/bin/python -m bench.run [--sizes 50,3,10 500,10,50 1000,20,100] [--runs 3]
                                  [--programs ours floor [floor+readers] [LABEL=DIR ...]]
                                  [--compare checkpoints@500,10,50 | --compare none] [--compare-runs 1]

Against real LocalStack and the real control plane (both started if needed) and the real Pulumi CLI.
For each size it seeds N Secrets Manager secrets and N SSM SecureStrings and M ECS cluster namespaces
each needing K of them. On that one data set, one after the other in each run, it measures:
- ours: this project (the program in this checkout);
- floor: bench/floor, a plain Pulumi program that makes exactly the same Kubernetes objects (names,
  labels, annotations, data) with static data through the same CLI, Kubernetes provider build and
  provider settings, and no dynamic provider. It is what any Pulumi program pays for these objects;
- floor+readers (optional): the floor plus one trivial dynamic resource per master (no I/O) feeding
  its data: what per-item dynamic resources cost by themselves;
- floor+drain (optional): the floor ending as the project's program does (components/registrations.py),
  i.e. with the workaround of the SDK's end-of-program wait: what that gives any Pulumi program;
- LABEL=DIR (optional): the project program of another checkout (e.g. `git worktree add DIR main`),
  for before/after figures of a change in the same invocation;
- baseline: a direct script (boto3 + the Kubernetes API): list, read and create; a no-change sync
  (list the source metadata and the cluster objects, compare, change nothing); the same after one
  value changed (reads that value, rewrites its master and replicas); delete.
Phases: the first `up`, a no-change `preview`, a no-change `up`, an `up` after one value changed, and
`destroy`: wall time and peak memory (RSS summed over the whole process tree: CLI, language host,
program, providers), medians of --runs runs; state size (bytes of the stack's checkpoint after the
first `up`); LocalStack calls per API (through a counting proxy), Kubernetes API calls
(apiserver_request_total) and CPU seconds per process; for the `up` after one change, how far into
the run the changed master's and replicas' updates started and ended (from the engine's events), i.e.
how soon a changed value reaches the cluster. --phases measures only some phases. Ratios to the floor
and to the baseline come from the same invocation. Main runs use PULUMI_SKIP_CHECKPOINTS=true and --parallel 32; --compare
adds runs in another mode (checkpoints = Pulumi's defaults, a checkpoint after every step: the first
`up` only; provider-qps = the Kubernetes provider's own client limit) for ours and the floor.
After each size's timed runs (so no phase includes it), bench/ecs_calls.py counts the ECS calls of one demand
read at that size in its terms (M clusters, services and tasks per cluster stated) against the documented count.
Results: printed, and written to bench/results.md (after every size), drawn beside it as bench/results.svg
(bench/plot.py). Exits 1 if a no-change preview or up of the project read a secret value, or if the ECS calls
differ from the documented count. The default invocation takes about an hour on a quiet 2-core machine,
a third of it the checkpoints comparison at 500,10,50 (`--compare checkpoints@200,5,20`: minutes).

LocalStack and the control plane are found or started as for the tests (tests/support): with
LOCALSTACK_ENDPOINT and KECS_KUBECONFIG it uses running ones, else it starts its own on ports the kernel
picks (state in a temporary directory) and stops them at exit.
"""

from __future__ import annotations

import argparse
import datetime as dt
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
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import psutil
from prometheus_client.parser import text_string_to_metric_families

from bench import ecs_calls, plot, sections
from components.objects import DELETION_POLICY
from kecs_secrets.config import parse_config
from kecs_secrets.layout import Layout
from kecs_secrets.model import ANNOTATION_SOURCE_VERSION, SECRETSMANAGER
from kecs_secrets.planning import make_plan
from kecs_secrets.values import encode_data, parameter_data, secret_data
from providers.aws_source import BotoSource
from providers.kube import KubeReader
from providers.task_definitions import TaskDefinitionFiles
from tests.support.cluster import KubeAdmin, start_cluster
from tests.support.counting_proxy import VALUE_READS, CountingProxy
from tests.support.localstack import ensure_localstack
from tests.support.stack import ProjectStack, RunLog, toolchain_path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLOOR_DIR = os.path.join(ROOT, "bench", "floor")

REGION = "us-east-1"
CHANGE = "up after 1 change"
PHASES = ("first up", "no-change preview", "no-change up", CHANGE, "destroy")
SELECTED_PHASES: list[str] = []  # --phases: only these (the first `up` always runs: the others need its stack)
NO_CHANGE = ("no-change preview", "no-change up")
TUNED_ENV = {"PULUMI_SKIP_CHECKPOINTS": "true"}
# mode -> (environment, --parallel, stack config overrides, phases measured)
MODES: dict[str, tuple[dict[str, str], int | None, dict[str, int], tuple[str, ...]]] = {
    # What the project recommends for CI and benchmarks: checkpoint only at the end, more parallelism,
    # and the project's defaults (kubeClientQps 1000).
    "tuned": (TUNED_ENV, 32, {}, PHASES),
    # A user's plain `pulumi up`: Pulumi's defaults (a checkpoint after every step, default parallelism).
    "checkpoints": ({}, None, {}, ("first up",)),
    # The Kubernetes provider's own client limit (50 requests/s, burst 120).
    "provider-qps": (TUNED_ENV, 32, {"kubeClientQps": 50, "kubeClientBurst": 120}, PHASES),
}


@dataclass(frozen=True)
class Program:
    label: str
    floor: bool  # bench/floor (with readers or not) rather than the project program
    root: str = ROOT  # the checkout the project program comes from
    readers: bool = False
    drain: bool = False  # the floor ends as the project's program does (components/registrations.py)

    def files(self) -> dict[str, str] | None:
        """The floor's files; None for the project program (found in ``root``)."""
        if not self.floor:
            return None
        files = {name: os.path.join(FLOOR_DIR, name) for name in ("Pulumi.yaml", "__main__.py", "echo.py")}
        return {**files, ".venv": os.path.join(ROOT, ".venv")}


OURS = Program("ours", floor=False)
FLOOR = Program("floor", floor=True)
FLOOR_READERS = Program("floor+readers", floor=True, readers=True)
FLOOR_DRAIN = Program("floor+drain", floor=True, drain=True)
NAMED = {p.label: p for p in (OURS, FLOOR, FLOOR_READERS, FLOOR_DRAIN)}


def process_kind(cmdline: str) -> str:
    """Which part of a Pulumi run a process is, from its command line."""
    if "pulumi-language-python-exec" in cmdline:
        return "program"
    if "pulumi-resource-kubernetes" in cmdline:
        return "kubernetes provider"
    if "pulumi.dynamic" in cmdline or "dynamic/__main__" in cmdline:
        return "dynamic provider"
    if "pulumi-language-python" in cmdline:
        return "language host"
    if cmdline.split(" ", 1)[0].endswith("/pulumi") or cmdline.startswith("pulumi "):
        # The project program reads its stack's state with `pulumi stack export` (providers/pulumi_state.py).
        return "state export (CLI)" if " stack export" in cmdline else "engine (CLI)"
    return "other"


class ProcessTreeSampler:
    """Samples this process's descendants (psutil) every 50 ms: peak summed RSS, and CPU seconds per process kind."""

    def __init__(self) -> None:
        self.peak = 0
        self._cpu: dict[int, tuple[str, float]] = {}  # pid -> (kind, last seen CPU seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def cpu(self) -> dict[str, float]:
        """CPU seconds per process kind (processes that ended lose at most their last 50 ms)."""
        result: dict[str, float] = {}
        for kind, seconds in self._cpu.values():
            result[kind] = result.get(kind, 0.0) + seconds
        return result

    def _sample(self, me: psutil.Process) -> None:
        total = 0
        for process in me.children(recursive=True):
            try:
                with process.oneshot():
                    total += process.memory_info().rss
                    times = process.cpu_times()
                    known = self._cpu.get(process.pid)
                    kind = known[0] if known else process_kind(" ".join(process.cmdline()))
                    self._cpu[process.pid] = (kind, times.user + times.system)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        self.peak = max(self.peak, total)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            self._sample(me)
            self._stop.wait(0.05)

    def __enter__(self) -> ProcessTreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def apiserver_counts(kube: KubeAdmin) -> Counter:
    """Kubernetes API requests so far per verb and resource (the API server's apiserver_request_total)."""
    counts: Counter = Counter()
    for family in text_string_to_metric_families(kube.text("/metrics")):
        for sample in family.samples:
            if sample.name == "apiserver_request_total" and sample.labels.get("resource") in COUNTED_RESOURCES:
                counts[f"{sample.labels.get('verb')} {sample.labels.get('resource')}"] += int(sample.value)
    return counts


COUNTED_RESOURCES = ("secrets", "configmaps", "serviceaccounts", "rolebindings", "clusterroles", "roles", "namespaces", "pods")


def value_reads(localstack_calls: Mapping[str, int]) -> int:
    return sum(count for api, count in localstack_calls.items() if api in VALUE_READS)


def diff_counts(after: Counter, before: Counter) -> dict[str, int]:
    return {k: after[k] - before[k] for k in sorted(after) if after[k] - before[k] > 0}


class Dataset:
    def __init__(self, n: int, m: int, k: int, endpoint: str, kube: KubeAdmin) -> None:
        self.n, self.m, self.k = n, m, k
        self.endpoint = endpoint
        self.p = f"bench{random.token_hex(3)}"
        self.sm = boto3.client(
            "secretsmanager", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test"
        )
        self.ssm = boto3.client("ssm", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")
        self.kube = kube
        self.master_ns = f"{self.p}-system"
        self.namespaces = [f"c{i}-{self.p}-{REGION}" for i in range(m)]
        with ThreadPoolExecutor(8) as pool:
            self.arns = list(pool.map(self._secret, range(n)))
            list(pool.map(self._parameter, range(n)))
        kube.create_namespace(self.master_ns)
        for i in range(m):
            kube.create_ecs_namespace(f"c{i}-{self.p}", REGION)
        refs = [*self.arns, *(f"/{self.p}/param-{i:05d}" for i in range(n))]
        self.demand = ecs_calls.demand(refs, self.namespaces, k)

    def _secret(self, i: int) -> str:
        value = json.dumps({"username": f"user{i}", "password": random.token_hex(12)})
        return self.sm.create_secret(Name=f"{self.p}/secret-{i:05d}", SecretString=value)["ARN"]

    def _parameter(self, i: int) -> None:
        self.ssm.put_parameter(Name=f"/{self.p}/param-{i:05d}", Type="SecureString", Value=random.token_hex(12))

    def change_one(self) -> None:
        self.sm.put_secret_value(SecretId=self.arns[0], SecretString=json.dumps({"username": "user0", "password": random.token_hex(12)}))

    def config(self, endpoint: str, kubeconfig: str) -> dict:
        return {
            "endpoint": endpoint,
            "region": REGION,
            "masterNamespace": self.master_ns,
            "kubeconfig": kubeconfig,
            "namePrefixes": [f"{self.p}/", f"/{self.p}/"],
            "demand": self.demand,
            "maxMasterDeletions": 2 * self.n,
        }

    def layout(self, stack: str) -> Layout:
        """The layout the project's core plans for this data set (listing metadata only, no cluster checks)."""
        settings = parse_config(self.config(self.endpoint, ""))
        source = BotoSource(self.endpoint, REGION)
        return make_plan(settings, stack, source, None, TaskDefinitionFiles(ROOT), dry_run=True).layout

    def values(self, layout: Layout, only: set[str] | None = None) -> dict[str, dict[str, str]]:
        """master name -> its data, read directly (batch calls), shaped by the project's core as the provider does."""
        wanted = [m for m in layout.masters if only is None or m.name in only]
        result: dict[str, dict[str, str]] = {}
        secrets_ = [m for m in wanted if m.item.source == SECRETSMANAGER]
        for start in range(0, len(secrets_), 20):
            chunk = {m.item.arn: m for m in secrets_[start : start + 20]}
            for got in self.sm.batch_get_secret_value(SecretIdList=list(chunk))["SecretValues"]:
                m = chunk[got["ARN"]]
                data = secret_data(got.get("SecretString"), got.get("SecretBinary"), m.json_keys, name=m.item.name)
                result[m.name] = encode_data(data, "base64" if m.kind == "Secret" else "text")
        params = [m for m in wanted if m.item.source != SECRETSMANAGER]
        for start in range(0, len(params), 10):
            chunk = {m.item.name: m for m in params[start : start + 10]}
            for got in self.ssm.get_parameters(Names=list(chunk), WithDecryption=True)["Parameters"]:
                m = chunk[got["Name"]]
                result[m.name] = encode_data(parameter_data(got["Type"], got["Value"]), "base64" if m.kind == "Secret" else "text")
        return result

    def cleanup(self) -> None:
        for ns in [self.master_ns, *self.namespaces]:
            self.kube.delete_namespace(ns)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda arn: self.sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True), self.arns))
            names = [f"/{self.p}/param-{i:05d}" for i in range(self.n)]
            list(pool.map(lambda chunk: self.ssm.delete_parameters(Names=chunk), [names[i : i + 10] for i in range(0, len(names), 10)]))


# ---- the objects, rendered once for the floor program and the direct script ------------------------------

_API = {
    "Secret": ("v1", "/api/v1/namespaces/{ns}/secrets"),
    "ConfigMap": ("v1", "/api/v1/namespaces/{ns}/configmaps"),
    "ServiceAccount": ("v1", "/api/v1/namespaces/{ns}/serviceaccounts"),
    "RoleBinding": ("rbac.authorization.k8s.io/v1", "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings"),
    "Role": ("rbac.authorization.k8s.io/v1", "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles"),
    "ClusterRole": ("rbac.authorization.k8s.io/v1", "/apis/rbac.authorization.k8s.io/v1/clusterroles"),
}


def collection(body: Mapping[str, Any]) -> str:
    return _API[body["kind"]][1].format(ns=body["metadata"].get("namespace", ""))


def render(layout: Layout, master_ns: str, data: Mapping[str, Mapping[str, str]] | None) -> list[dict[str, Any]]:
    """Every object the project's components make for ``layout``, as Kubernetes API bodies.

    Each entry: ``resource`` (the logical name the components give it), ``master`` and ``version`` for
    masters and replicas, and ``body``. Without ``data`` the data objects carry none (a sync compares first).
    """

    def body(kind: str, name: str, ns: str, labels: Mapping[str, str], annotations: Mapping[str, str], **fields: Any) -> dict:
        metadata = {"name": name, **({"namespace": ns} if ns else {}), "labels": dict(labels)}
        metadata["annotations"] = {**annotations, **DELETION_POLICY}
        return {"apiVersion": _API[kind][0], "kind": kind, "metadata": metadata, **fields}

    def data_fields(kind: str, master: str) -> dict:
        fields: dict[str, Any] = {"type": "Opaque"} if kind == "Secret" else {}
        if data is not None:
            fields["data"] = dict(data[master])
        return fields

    objects: list[dict[str, Any]] = []
    for m in layout.masters:
        objects.append({"resource": m.name, "master": m.name, "version": m.item.version,
                        "body": body(m.kind, m.name, master_ns, m.labels, m.annotations, **data_fields(m.kind, m.name))})
    for r in layout.replicas:
        version = r.annotations[ANNOTATION_SOURCE_VERSION]
        objects.append({"resource": f"{r.namespace}/{r.name}", "master": r.master, "version": version,
                        "body": body(r.kind, r.name, r.namespace, r.labels, r.annotations, **data_fields(r.kind, r.master))})
    if layout.cluster_role is not None:
        plan = layout.cluster_role
        rules = [rule.as_api() for rule in plan.rules]
        objects.append({"resource": plan.name, "body": body("ClusterRole", plan.name, "", plan.labels, plan.annotations, rules=rules)})
    for plan in layout.rbac:
        sa = body("ServiceAccount", plan.service_account, plan.namespace, plan.labels, plan.annotations, automountServiceAccountToken=False)
        objects.append({"resource": f"{plan.namespace}/{plan.service_account}", "body": sa})
        if plan.role_kind == "Role":
            rules = [rule.as_api() for rule in plan.rules]
            role = body("Role", plan.role_name, master_ns, plan.labels, plan.annotations, rules=rules)
            objects.append({"resource": f"{master_ns}/{plan.role_name}", "body": role})
        binding = body(
            "RoleBinding", plan.role_binding, master_ns, plan.labels, plan.annotations,
            roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": plan.role_kind, "name": plan.role_name},
            subjects=[{"kind": "ServiceAccount", "name": plan.service_account, "namespace": plan.namespace}],
        )
        objects.append({"resource": f"{master_ns}/{plan.role_binding}", "body": binding})
    return objects


def write_floor_spec(path: Path, data: Dataset, stack: str) -> None:
    """The floor program's input: the objects the project would make, with their data (read here, not timed)."""
    layout = data.layout(stack)
    path.write_text(json.dumps({"objects": render(layout, data.master_ns, data.values(layout))}), encoding="utf-8")


# ---- the direct script (baseline) ---------------------------------------------------------------------------


class DirectScript:
    """The same objects with boto3 and the Kubernetes API and nothing else: create, sync, delete."""

    def __init__(self, data: Dataset) -> None:
        self.data = data
        self.stack = f"kecs-secrets/direct-{data.p}"
        self.objects: list[dict[str, Any]] = []

    def _each(self, fn: Callable[[dict[str, Any]], Any], objects: Sequence[dict[str, Any]]) -> None:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(fn, objects))

    def create(self) -> None:
        """List the metadata, plan, read every value (batch calls), create every object."""
        layout = self.data.layout(self.stack)
        self.objects = render(layout, self.data.master_ns, self.data.values(layout))
        self._each(lambda o: self.data.kube.post(collection(o["body"]), o["body"]), self.objects)

    def sync(self) -> int:
        """List the metadata and the cluster's objects, compare; read and rewrite only what changed. Returns how many."""
        kube = self.data.kube
        layout = self.data.layout(self.stack)
        wanted = render(layout, self.data.master_ns, None)
        live: dict[tuple[str, str, str], Mapping[str, Any]] = {}
        with KubeReader(kube.kubeconfig) as reader:  # metadata-only lists, as the program's own reader makes them
            for ns in [self.data.master_ns, *self.data.namespaces]:
                for kind in ("Secret", "ConfigMap", "ServiceAccount", "RoleBinding"):
                    for obj in reader.objects(kind, ns):
                        live[(kind, ns, obj["metadata"]["name"])] = obj["metadata"]
            for obj in reader.objects("ClusterRole", None):
                live[("ClusterRole", "", obj["metadata"]["name"])] = obj["metadata"]

        def key(o: Mapping[str, Any]) -> tuple[str, str, str]:
            return (o["body"]["kind"], o["body"]["metadata"].get("namespace", ""), o["body"]["metadata"]["name"])

        stale = [o for o in wanted if key(o) not in live or (
            "version" in o and (live[key(o)].get("annotations") or {}).get(ANNOTATION_SOURCE_VERSION) != o["version"])]
        masters = {o["master"] for o in stale if "master" in o}
        if not stale:
            return 0
        values = self.data.values(layout, masters)
        fresh = render(layout, self.data.master_ns, {**{m: {} for m in (x.name for x in layout.masters)}, **values})
        by_key = {key(o): o for o in fresh}
        for o in stale:
            body = by_key[key(o)]["body"]
            if key(o) in live:
                kube.put(f"{collection(body)}/{body['metadata']['name']}", body)
            else:
                kube.post(collection(body), body)
        self.objects = fresh
        return len(stale)

    def delete(self) -> None:
        self._each(lambda o: self.data.kube.delete(f"{collection(o['body'])}/{o['body']['metadata']['name']}"), self.objects)
        self.objects = []


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def direct_run(data: Dataset) -> dict[str, float]:
    script = DirectScript(data)
    result = {"first up": timed(script.create)}
    result["no-change preview"] = result["no-change up"] = timed(lambda: _expect(script.sync(), 0))
    data.change_one()
    result["up after 1 change"] = timed(lambda: _expect(script.sync(), 1 + sum(1 for refs in data.demand.values() if data.arns[0] in refs)))
    result["destroy"] = timed(script.delete)
    return result


def _expect(got: int, wanted: int) -> None:
    if got != wanted:
        raise AssertionError(f"direct sync rewrote {got} objects, expected {wanted}")


# ---- the Pulumi programs ----------------------------------------------------------------------------------


PROFILE: dict[str, Path] = {}  # "dir": where --profile writes py-spy's collapsed stacks
ENGINE_PROFILE: dict[str, Path] = {}  # "dir": where --engine-profile writes the CLI's pprof profiles
ENGINE_PROFILE_VAR = "KECS_BENCH_ENGINE_PROFILE"
KEEP_STATES: dict[str, Path] = {}  # "dir": where --keep-states copies each program's checkpoint after its first `up`
WRAPPER = """#!/bin/sh
# The real Pulumi CLI, with --profiling while the benchmark measures a step (bench/run.py --engine-profile).
if [ -n "${%s:-}" ]; then
  exec "%s" --profiling "$%s" "$@"
fi
exec "%s" "$@"
"""


def engine_profiling_cli(directory: Path) -> str:
    """A directory with bin/pulumi: a wrapper of the toolchain's CLI that adds ``--profiling PREFIX`` when
    ENGINE_PROFILE_VAR is set, so the engine's CPU profile of each measured step lands in ``directory``
    (PREFIX.<pid>.cpu, .mem, .trace; summarise with `go tool pprof -top PREFIX.<pid>.cpu`)."""
    real = os.path.join(toolchain_path().split(":")[0], "pulumi")
    wrapper = directory / "cli" / "bin" / "pulumi"
    wrapper.parent.mkdir(parents=True, exist_ok=True)
    wrapper.write_text(WRAPPER % (ENGINE_PROFILE_VAR, real, ENGINE_PROFILE_VAR, real), encoding="utf-8")
    wrapper.chmod(0o755)
    return str(wrapper.parent.parent)


def measure(fn: Callable[[], Any], profile_as: str = "") -> tuple[float, int, dict[str, float]]:
    spy = None
    if PROFILE and profile_as:
        # Every Python process under this one (the program, the dynamic provider), sampled while the step runs.
        out = PROFILE["dir"] / f"{profile_as}.txt"
        command = [os.path.join(ROOT, ".venv", "bin", "py-spy"), "record", "--pid", str(os.getpid()), "--subprocesses",
                   "--nonblocking", "--gil", "--rate", "100", "--format", "raw", "--output", str(out)]
        spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
    try:
        with ProcessTreeSampler() as sampler:
            started = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - started
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=120)
    return elapsed, sampler.peak, sampler.cpu()


@dataclass
class Measured:
    times: dict[str, list[float]]
    peaks: dict[str, list[int]]
    state: list[int]
    calls: dict[str, dict]
    reads: dict[str, int]  # the most value reads any run made, per phase
    reached: list[tuple[float, float]]  # per run: when the changed objects' updates started and ended, into the run

    @classmethod
    def empty(cls) -> Measured:
        return cls({}, {}, [], {}, {}, [])


DATA_TYPES = ("kubernetes:core/v1:Secret", "kubernetes:core/v1:ConfigMap")


def changes_reached(log: RunLog, begun: float) -> tuple[float, float] | None:
    """Seconds from ``begun`` (the run's start) to the first update of a master or replica and to the end of the last:
    how soon a changed value reaches the cluster, which a run's wall time alone does not say."""
    urns = [urn for urn, op in log.ops.items() if op == "update" and urn.split("::")[2].rsplit("$", 1)[-1] in DATA_TYPES]
    if not urns or any(("done", urn) not in log.at for urn in urns):
        return None
    return min(log.at[("start", u)] for u in urns) - begun, max(log.at[("done", u)] for u in urns) - begun


def run_program(program: Program, mode: str, run: int, data: Dataset, proxy: CountingProxy, kubeconfig: str, tmp: Path,
                into: Measured) -> None:
    env, parallel, overrides, phases = MODES[mode]
    phases = tuple(phase for phase in phases if not SELECTED_PHASES or phase in SELECTED_PHASES)
    options = {"parallel": parallel} if parallel else {}
    name = f"{re.sub(r'[^a-z0-9]+', '-', program.label.lower())}-{data.p}-{run}"
    spec = tmp / f"{name}.spec.json"
    if program.floor:
        write_floor_spec(spec, data, f"kecs-secrets/{name}")
        config: dict[str, Any] = {"floorSpec": str(spec), "floorReaders": program.readers, "floorDrain": program.drain,
                                  "kubeconfig": kubeconfig, **overrides}
    else:
        config = {**data.config(proxy.endpoint, kubeconfig), **overrides}
    command_root = engine_profiling_cli(ENGINE_PROFILE["dir"]) if ENGINE_PROFILE else None
    stack = ProjectStack(tmp / name, name, config, extra_env=env, program_root=program.root, program=program.files(),
                         command_root=command_root)

    def change() -> None:
        data.change_one()
        if program.floor:
            write_floor_spec(spec, data, f"kecs-secrets/{name}")

    logs: dict[str, RunLog] = {}

    def logged(phase: str, run_step: Callable[[], Any]) -> Callable[[], None]:
        def step() -> None:
            out = run_step()
            logs[phase] = out[1] if isinstance(out, tuple) else out

        return step

    steps: dict[str, tuple[Callable[[], Any] | None, Callable[[], Any]]] = {
        "first up": (None, logged("first up", lambda: stack.up(**options))),
        "no-change preview": (None, logged("no-change preview", lambda: stack.preview(**options))),
        "no-change up": (None, logged("no-change up", lambda: stack.up(**options))),
        CHANGE: (change, logged(CHANGE, lambda: stack.up(**options))),
        "destroy": (None, logged("destroy", lambda: stack.destroy(**options))),
    }
    try:
        for phase in phases:
            prepare, step = steps[phase]
            if prepare:
                prepare()
            proxy.take()
            before = apiserver_counts(data.kube)
            profile_as = f"{program.label}-{data.n}-{data.m}-{data.k}-{mode}-{run}-{phase.replace(' ', '-')}"
            if ENGINE_PROFILE:
                stack.stack.workspace.env_vars[ENGINE_PROFILE_VAR] = str(ENGINE_PROFILE["dir"] / profile_as)
            begun = time.monotonic()
            try:
                elapsed, peak, cpu = measure(step, profile_as)
            finally:
                stack.stack.workspace.env_vars.pop(ENGINE_PROFILE_VAR, None)
            log = logs.pop(phase, None)
            reached = changes_reached(log, begun) if log is not None and phase == CHANGE else None
            # After the last resource (the stack's own outputs aside) the run still has to end: the stack outputs, the
            # final checkpoint, the CLI's exit. How long that tail is, per program, is in the progress line.
            resources = [t for (_, urn), t in (log.at.items() if log is not None else ()) if "::pulumi:pulumi:Stack::" not in urn]
            last = max(resources) - begun if resources else None
            if reached:
                into.reached.append(reached)
            into.times.setdefault(phase, []).append(elapsed)
            into.peaks.setdefault(phase, []).append(peak)
            if phase == "first up":
                into.state.append(stack.checkpoint_bytes())
                if KEEP_STATES:
                    stack.keep_checkpoint(KEEP_STATES["dir"] / f"{program.label}-{data.n}-{data.m}-{data.k}-{mode}-{run}.json")
            localstack = proxy.take()
            into.reads[phase] = max(into.reads.get(phase, 0), value_reads(localstack))
            into.calls[phase] = {
                "localstack": localstack,
                "kubernetes": diff_counts(apiserver_counts(data.kube), before),
                "cpu": {kind: round(s, 1) for kind, s in sorted(cpu.items(), key=lambda kv: -kv[1]) if s >= 0.05},
            }
            reach = f", changed objects updated {reached[0]:.1f}-{reached[1]:.1f} s into it" if reached else ""
            reach += f", last resource event {last:.1f} s into it" if last is not None else ""
            print(f"  {program.label} ({mode}) N={data.n} M={data.m} K={data.k} run {run + 1}: {phase}: {elapsed:.1f}s, "
                  f"peak {peak / 2**20:.0f} MiB{reach}", flush=True)
    finally:
        if "destroy" not in phases:
            stack.stack.workspace.env_vars.update(TUNED_ENV)  # clean up without timing it
            stack.destroy(parallel=32)
        stack.stack.workspace.remove_stack(stack.name, force=True)


def run_group(size: tuple[int, int, int], mode: str, programs: Sequence[Program], runs: int, baseline: bool,
              endpoint: str, kubeconfig: str, kube: KubeAdmin) -> dict:
    n, m, k = size
    data = Dataset(n, m, k, endpoint, kube)
    measured = {p.label: Measured.empty() for p in programs}
    direct: list[dict[str, float]] = []
    try:
        with CountingProxy(endpoint) as proxy, tempfile.TemporaryDirectory() as tmp:
            for run in range(runs):
                # The order turns each run, so no program always runs first (or right after another one).
                order = list(programs[run % len(programs):]) + list(programs[: run % len(programs)])
                for program in order:
                    run_program(program, mode, run, data, proxy, kubeconfig, Path(tmp), measured[program.label])
                if baseline:
                    direct.append(direct_run(data))
    finally:
        data.cleanup()
    return {
        "size": size,
        "mode": mode,
        "programs": {
            label: {
                "time": {p: statistics.median(v) for p, v in r.times.items()},
                "peak": {p: statistics.median(v) for p, v in r.peaks.items()},
                "state": statistics.median(r.state) if r.state else 0,
                "calls": r.calls,
                "value_reads": r.reads,
                "reached": tuple(statistics.median(x) for x in zip(*r.reached, strict=True)) if r.reached else None,
            }
            for label, r in measured.items()
        },
        "baseline": {p: statistics.median(d[p] for d in direct) for p in PHASES} if direct else None,
    }


# ---- the report ---------------------------------------------------------------------------------------------


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def _size(n: float) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 2**10:.0f} KB"


def table(results: list[dict]) -> str:
    lines = [
        "| N, M, K | mode | | " + " | ".join(PHASES) + " | state |",
        "|---|---|---|" + "---|" * len(PHASES) + "---|",
    ]
    for r in results:
        size, mode, programs = ", ".join(map(str, r["size"])), r["mode"], r["programs"]
        floor = programs.get(FLOOR.label)

        def row(label: str, cells: list[str], state: str = "", size: str = size, mode: str = mode) -> None:
            lines.append(f"| {size} | {mode} | {label} | " + " | ".join(cells) + f" | {state} |")

        for label, p in programs.items():
            row(label, [f"{p['time'][ph]:.1f} s / {p['peak'][ph] / 2**20:.0f} MiB" if ph in p["time"] else "-" for ph in PHASES],
                _size(p["state"]) if p["state"] else "-")
        for label, p in programs.items():
            if floor is None or label == FLOOR.label:
                continue
            row(f"**{label} ÷ floor**", [
                f"**{_ratio(p['time'][ph], floor['time'][ph])}** / {_ratio(p['peak'][ph], floor['peak'][ph])}" if ph in p["time"] else "-"
                for ph in PHASES
            ], f"**{_ratio(p['state'], floor['state'])}**")
        if r["baseline"]:
            b = r["baseline"]
            row("direct script", [f"{b[ph]:.1f} s" for ph in PHASES])
            for label in (OURS.label, FLOOR.label):
                if label in programs:
                    p = programs[label]
                    row(f"{label} ÷ direct", [_ratio(p["time"][ph], b[ph]) for ph in PHASES])
    lines.append("")
    lines.append(
        "Each program cell: wall time / peak RSS of the whole process tree (median); each ÷ floor cell: time ratio / peak-memory "
        "ratio; state: bytes of the stack's checkpoint after the first `up`. The direct script's no-change cells are one "
        "no-change sync (list, compare, change nothing)."
    )
    lines.append("")
    lines.append(
        "Calls per phase (last run): LocalStack by API, Kubernetes by verb and resource (apiserver-wide, so the"
        " namespace cleanup of the previous size can show up), and CPU seconds by process:"
    )
    lines.append("")
    for r in results:
        for label, p in r["programs"].items():
            lines.append(f"- N, M, K = {', '.join(map(str, r['size']))} ({label}, {r['mode']}):")
            for phase, c in p["calls"].items():
                reads = value_reads(c["localstack"])
                localstack, kubernetes = json.dumps(c["localstack"], sort_keys=True), json.dumps(c["kubernetes"], sort_keys=True)
                cpu = ", ".join(f"{kind} {s:.1f}" for kind, s in c["cpu"].items())
                reached = p.get("reached") if phase == CHANGE else None
                reach = f"; changed objects updated {reached[0]:.1f}-{reached[1]:.1f} s into the run (medians)" if reached else ""
                lines.append(f"  - {phase}: value reads {reads}; LocalStack {localstack}; Kubernetes {kubernetes}; CPU s: {cpu}{reach}")
    return "\n".join(lines)


def write_results(out: Path, text: str) -> None:
    """The results table, and its drawing beside it (bench/plot.py: results.md -> results.svg). The watch section
    bench/watch.py wrote into ``out`` stays (bench/sections.py)."""
    old = out.read_text(encoding="utf-8") if out.exists() else ""
    out.write_text(sections.keep_section(old, text), encoding="utf-8")
    plot.draw(plot.parse(text), out.with_suffix(".svg"))


def parse_size(text: str) -> tuple[int, int, int]:
    n, m, k = (int(x) for x in text.split(","))
    return n, m, k


def parse_program(text: str) -> Program:
    if text in NAMED:
        return NAMED[text]
    label, _, directory = text.partition("=")
    if not directory or not os.path.isfile(os.path.join(directory, "__main__.py")):
        raise argparse.ArgumentTypeError(f"{text!r}: expected one of {list(NAMED)} or LABEL=DIR (a checkout of this project)")
    return Program(label, floor=False, root=os.path.abspath(directory))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], epilog="See the module docstring (bench/run.py) for what is measured."
    )
    parser.add_argument("--sizes", nargs="+", default=["50,3,10", "500,10,50", "1000,20,100"], help="N,M,K of the main (tuned) runs")
    parser.add_argument("--runs", type=int, default=3, help="runs per size (the table shows medians)")
    parser.add_argument("--programs", nargs="+", type=parse_program, default=[OURS, FLOOR],
                        help=f"{', '.join(NAMED)}, LABEL=DIR (another checkout's program); default: ours floor")
    parser.add_argument("--no-baseline", action="store_true", help="skip the direct script")
    parser.add_argument(
        "--compare",
        nargs="+",
        default=["checkpoints@500,10,50"],
        help=f"extra mode@N,M,K runs of ours and the floor (modes: {', '.join(m for m in MODES if m != 'tuned')}), or none",
    )
    parser.add_argument("--compare-runs", type=int, default=1, help="runs per --compare entry")
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results.md"))
    parser.add_argument("--profile", metavar="DIR", help="also record py-spy profiles (collapsed stacks) of every phase into DIR; "
                        "summarise them with `python -m bench.profile DIR/*.txt`. Sampling costs CPU: do not compare times of such a run")
    parser.add_argument("--engine-profile", metavar="DIR", help="also record the Pulumi CLI's own profiles (`pulumi --profiling`: "
                        "pprof CPU and memory profiles, an execution trace) of every phase into DIR; summarise them, ours against the "
                        "floor, with `python -m bench.profile --engine DIR --size N-M-K`")
    parser.add_argument("--keep-states", metavar="DIR", help="also copy each program's checkpoint after its first `up` into "
                        "DIR; compare two with `python -m bench.state DIR/ours-...json DIR/floor-...json`")
    parser.add_argument("--phases", nargs="+", metavar="PHASE", help="measure only these phases (quoted, e.g. "
                        "'up after 1 change'); the first `up` always runs, as the others need its stack")
    args = parser.parse_args()
    if args.phases:
        unknown = sorted(set(args.phases) - set(PHASES))
        if unknown:
            parser.error(f"--phases {unknown[0]!r}: expected some of {list(PHASES)}")
        SELECTED_PHASES.extend(["first up", *args.phases])
    if args.keep_states:
        KEEP_STATES["dir"] = Path(args.keep_states).resolve()
        KEEP_STATES["dir"].mkdir(parents=True, exist_ok=True)
    if args.engine_profile:
        ENGINE_PROFILE["dir"] = Path(args.engine_profile).resolve()
        ENGINE_PROFILE["dir"].mkdir(parents=True, exist_ok=True)
    if args.profile:
        PROFILE["dir"] = Path(args.profile)
        PROFILE["dir"].mkdir(parents=True, exist_ok=True)
    plan: list[tuple[tuple[int, int, int], str, list[Program], int, bool]] = [
        (parse_size(size), "tuned", list(args.programs), args.runs, not args.no_baseline) for size in args.sizes
    ]
    for entry in [] if args.compare == ["none"] else args.compare:
        mode, _, size = entry.partition("@")
        if mode not in MODES or mode == "tuned" or not size:
            parser.error(f"--compare {entry!r}: expected <mode>@N,M,K with a mode in {[m for m in MODES if m != 'tuned']}")
        compared = [p for p in args.programs if p.label in (OURS.label, FLOOR.label)] or [OURS, FLOOR]
        plan.append((parse_size(size), mode, compared, args.compare_runs, False))
    plan.sort(key=lambda entry: (entry[0], list(MODES).index(entry[1])))
    endpoint = ensure_localstack()
    kubeconfig = start_cluster()
    kube = KubeAdmin(kubeconfig)
    started = time.monotonic()
    header = (
        f"Benchmark of {dt.date.today().isoformat()} on {platform.machine()} with {os.cpu_count()} cores and "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB: `python -m bench.run {' '.join(sys.argv[1:])}`"
        f" (medians of {args.runs} runs; --compare runs: {args.compare_runs}).\n"
        "Modes: tuned = `PULUMI_SKIP_CHECKPOINTS=true`, `--parallel 32`, project defaults (kubeClientQps 1000); "
        "checkpoints = Pulumi's defaults (a checkpoint after every step, default parallelism), first `up` only; "
        "provider-qps = tuned but the Kubernetes provider's own client limit (50/s, burst 120). "
        "floor = bench/floor, the same objects from a plain Pulumi program with static data; "
        "floor+readers = the floor plus one trivial dynamic resource per master; direct script = boto3 + the Kubernetes API.\n\n"
    )
    results: list[dict] = []
    ecs: list[ecs_calls.EcsCalls] = []
    for size, mode, programs, runs, baseline in plan:
        results.append(run_group(size, mode, programs, runs, baseline, endpoint, kubeconfig, kube))
        if mode == "tuned" and size not in [row.size for row in ecs]:
            ecs.append(ecs_calls.measure(size))  # after the size's timed runs, on its own ECS API: no phase includes it
        # Written after every size, so a long run that is stopped keeps what it measured.
        took = f"\nTook {(time.monotonic() - started) / 60:.0f} minutes.\n"
        write_results(Path(args.out), header + table(results) + "\n" + ecs_calls.section(ecs) + took)
    print(header + table(results) + "\n" + ecs_calls.section(ecs))
    wrong = [line for row in ecs for line in row.failures()]
    for line in wrong:
        print(f"FAIL: {line}", file=sys.stderr)
    reading = [
        (r["size"], label, r["mode"], phase)
        for r in results for label, p in r["programs"].items() if label not in (FLOOR.label, FLOOR_READERS.label, FLOOR_DRAIN.label)
        for phase in NO_CHANGE if p["value_reads"].get(phase)
    ]
    if reading:
        print(f"FAIL: a no-change run read secret values: {reading}", file=sys.stderr)
    return 1 if reading or wrong else 0


if __name__ == "__main__":
    sys.exit(main())
