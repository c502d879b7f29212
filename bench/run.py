#!/usr/bin/env python3
"""Benchmark: how `pulumi up` / `preview` / `destroy` scale with secrets (N), namespaces (M) and demand (K).

    .venv/bin/python -m bench.run [--sizes 50,3,10 500,10,50 1000,20,100] [--runs 3]
                                  [--compare default@50,3,10 provider-qps@500,10,50 | --compare none]

Against real LocalStack and the real control plane (both started if needed) and the real Pulumi CLI.
For each size it seeds N Secrets Manager secrets and N SSM SecureStrings, M ECS cluster namespaces each
needing K of them, then measures (median of --runs runs) wall time and peak memory (RSS summed over the
whole process tree: CLI, language host, program, providers) of: the first `up`, a no-change `preview`,
a no-change `up`, an `up` after one value changed, and `destroy`. It counts LocalStack calls per API
(through a counting proxy) and Kubernetes API calls (apiserver_request_total). A baseline script makes
the same objects with boto3 and the Kubernetes API directly; our times are printed as ratios to it.
The main variant ("tuned") runs at every size; --compare adds "before" variants at chosen sizes, in the
same invocation, to show what each cheap optimisation buys. Results: printed, and written to
bench/results.md. Exits 1 if a no-change preview or up read a secret value.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import secrets as random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3

from kecs_secrets.naming import assign_names
from tests.support.cluster import KubeAdmin, start_cluster
from tests.support.counting_proxy import VALUE_READS, CountingProxy
from tests.support.localstack import ensure_localstack
from tests.support.stack import ProjectStack

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

REGION = "us-east-1"
PHASES = ("first up", "no-change preview", "no-change up", "up after 1 change", "destroy")
TUNED_ENV = {"PULUMI_SKIP_CHECKPOINTS": "true"}
# name -> (environment, --parallel, stack config overrides)
VARIANTS: dict[str, tuple[dict[str, str], int | None, dict[str, int]]] = {
    # What the project recommends for CI and benchmarks: checkpoint only at the end, more parallelism,
    # and the project's defaults (kubeClientQps 1000).
    "tuned": (TUNED_ENV, 32, {}),
    # Before: the Kubernetes provider's own client limit (50 requests/s, burst 120).
    "provider-qps": (TUNED_ENV, 32, {"kubeClientQps": 50, "kubeClientBurst": 120}),
    # Before: Pulumi's defaults (a checkpoint after every step, default parallelism).
    "default": ({}, None, {}),
}
NO_CHANGE = ("no-change preview", "no-change up")


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
        return "engine (CLI)"
    return "other"


class ProcessTreeSampler:
    """Samples this process's descendants every 50 ms: peak summed RSS, and CPU seconds per process kind."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self) -> None:
        self.peak = 0
        self._cpu: dict[int, tuple[str, float]] = {}  # pid -> (kind, last seen CPU seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _descendants(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as handle:
                        ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
                    children.setdefault(ppid, []).append(int(entry))
                except (OSError, ValueError, IndexError):
                    continue
        found, todo = [], [os.getpid()]
        while todo:
            pid = todo.pop()
            for child in children.get(pid, []):
                found.append(child)
                todo.append(child)
        return found

    def _rss(self, pid: int) -> int:
        try:
            with open(f"/proc/{pid}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _sample_cpu(self, pid: int) -> None:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            seconds = (int(fields[11]) + int(fields[12])) / self.TICK
            kind = self._cpu[pid][0] if pid in self._cpu else None
            if kind is None:
                with open(f"/proc/{pid}/cmdline", "rb") as handle:
                    kind = process_kind(handle.read().replace(b"\0", b" ").decode(errors="replace"))
            self._cpu[pid] = (kind, seconds)
        except (OSError, ValueError, IndexError):
            pass

    def cpu(self) -> dict[str, float]:
        """CPU seconds per process kind (processes that ended lose at most their last 50 ms)."""
        result: dict[str, float] = {}
        for kind, seconds in self._cpu.values():
            result[kind] = result.get(kind, 0.0) + seconds
        return result

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = self._descendants()
            self.peak = max(self.peak, sum(self._rss(pid) for pid in pids))
            for pid in pids:
                self._sample_cpu(pid)
            self._stop.wait(0.05)

    def __enter__(self) -> ProcessTreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def apiserver_counts(kube: KubeAdmin) -> Counter:
    counts: Counter = Counter()
    pattern = re.compile(r"^apiserver_request_total\{([^}]*)\} (\d+(?:\.\d+)?(?:e\+\d+)?)$")
    for line in kube.text("/metrics").splitlines():
        match = pattern.match(line)
        if not match:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        if labels.get("resource") in (
            "secrets",
            "configmaps",
            "serviceaccounts",
            "rolebindings",
            "clusterroles",
            "roles",
            "namespaces",
            "pods",
        ):
            counts[f"{labels.get('verb')} {labels.get('resource')}"] += int(float(match.group(2)))
    return counts


def value_reads(localstack_calls: Mapping[str, int]) -> int:
    return sum(count for api, count in localstack_calls.items() if api in VALUE_READS)


def diff_counts(after: Counter, before: Counter) -> dict[str, int]:
    return {k: after[k] - before[k] for k in sorted(after) if after[k] - before[k] > 0}


class Dataset:
    def __init__(self, n: int, m: int, k: int, endpoint: str, kube: KubeAdmin) -> None:
        self.n, self.m, self.k = n, m, k
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
        self.demand = {ns: [refs[(i * k + j) % len(refs)] for j in range(k)] for i, ns in enumerate(self.namespaces)}

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

    def cleanup(self) -> None:
        for ns in [self.master_ns, *self.namespaces]:
            self.kube.delete_namespace(ns)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda arn: self.sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True), self.arns))
            names = [f"/{self.p}/param-{i:05d}" for i in range(self.n)]
            list(pool.map(lambda chunk: self.ssm.delete_parameters(Names=chunk), [names[i : i + 10] for i in range(0, len(names), 10)]))


def baseline(data: Dataset, endpoint: str) -> dict[str, float]:
    """The same objects made with boto3 and the Kubernetes API and nothing else (then deleted)."""
    import base64

    kube, ns0 = data.kube, data.master_ns
    started = time.perf_counter()
    secrets_listed = [
        s for page in data.sm.get_paginator("list_secrets").paginate() for s in page["SecretList"] if s["Name"].startswith(f"{data.p}/")
    ]
    params = [
        p
        for page in data.ssm.get_paginator("describe_parameters").paginate()
        for p in page["Parameters"]
        if p["Name"].startswith(f"/{data.p}/")
    ]
    values: dict[tuple[str, str], bytes] = {}
    ids = [s["ARN"] for s in secrets_listed]
    for i in range(0, len(ids), 20):
        for got in data.sm.batch_get_secret_value(SecretIdList=ids[i : i + 20])["SecretValues"]:
            values[("secretsmanager", got["Name"])] = got["SecretString"].encode()
    names = [p["Name"] for p in params]
    for i in range(0, len(names), 10):
        for got in data.ssm.get_parameters(Names=names[i : i + 10], WithDecryption=True)["Parameters"]:
            values[("ssm", got["Name"])] = got["Value"].encode()
    k8s_names = assign_names(values)
    by_arn = {s["ARN"]: ("secretsmanager", s["Name"]) for s in secrets_listed}

    def make(ns_name: tuple[str, str]) -> None:
        ns, key = ns_name
        body = {"metadata": {"name": k8s_names[key]}, "data": {"value": base64.b64encode(values[key]).decode()}}
        kube.post(f"/api/v1/namespaces/{ns}/secrets", body)

    jobs = [(ns0, key) for key in values]
    for ns, refs in data.demand.items():
        jobs += [(ns, by_arn[r] if r in by_arn else ("ssm", r)) for r in refs]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(make, jobs))
    role = f"{ns0}-secret-reader"
    kube.post(
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        {
            "metadata": {"name": role},
            "rules": [{"apiGroups": [""], "resources": ["secrets", "configmaps"], "verbs": ["get", "list", "watch"]}],
        },
    )
    for ns in data.namespaces:
        kube.post(f"/api/v1/namespaces/{ns}/serviceaccounts", {"metadata": {"name": f"kecs-secret-reader-{ns}"}})
        kube.post(
            f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns0}/rolebindings",
            {
                "metadata": {"name": f"kecs-secret-reader-{ns}"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                "subjects": [{"kind": "ServiceAccount", "name": f"kecs-secret-reader-{ns}", "namespace": ns}],
            },
        )
    create = time.perf_counter() - started
    started = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda job: kube.delete(f"/api/v1/namespaces/{job[0]}/secrets/{k8s_names[job[1]]}"), jobs))
    kube.delete(f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{role}")
    for ns in data.namespaces:
        kube.delete(f"/api/v1/namespaces/{ns}/serviceaccounts/kecs-secret-reader-{ns}")
        kube.delete(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns0}/rolebindings/kecs-secret-reader-{ns}")
    return {"create": create, "delete": time.perf_counter() - started}


def measure(fn) -> tuple[float, int, dict[str, float]]:
    with ProcessTreeSampler() as sampler:
        started = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - started
    return elapsed, sampler.peak, sampler.cpu()


def run_size(n: int, m: int, k: int, runs: int, variant: str, endpoint: str, kubeconfig: str, kube: KubeAdmin) -> dict:
    env, parallel, overrides = VARIANTS[variant]
    data = Dataset(n, m, k, endpoint, kube)
    times: dict[str, list[float]] = {p: [] for p in PHASES}
    peaks: dict[str, list[int]] = {p: [] for p in PHASES}
    calls: dict[str, dict] = {}
    most_reads: dict[str, int] = {}  # the most value reads any run made, per phase
    base: list[dict] = []
    options = {"parallel": parallel} if parallel else {}
    try:
        with CountingProxy(endpoint) as proxy, tempfile.TemporaryDirectory() as tmp:
            for run in range(runs):
                stack = ProjectStack(
                    Path(tmp) / f"run{run}",
                    f"bench-{data.p}-{run}",
                    {**data.config(proxy.endpoint, kubeconfig), **overrides},
                    extra_env=env,
                )
                steps = {
                    "first up": lambda s=stack: s.up(**options),
                    "no-change preview": lambda s=stack: s.preview(**options),
                    "no-change up": lambda s=stack: s.up(**options),
                    "up after 1 change": lambda s=stack: (data.change_one(), s.up(**options)),
                    "destroy": lambda s=stack: s.destroy(**options),
                }
                for phase, step in steps.items():
                    proxy.take()
                    before = apiserver_counts(kube)
                    elapsed, peak, cpu = measure(step)
                    times[phase].append(elapsed)
                    peaks[phase].append(peak)
                    localstack = proxy.take()
                    most_reads[phase] = max(most_reads.get(phase, 0), value_reads(localstack))
                    calls[phase] = {
                        "localstack": localstack,
                        "kubernetes": diff_counts(apiserver_counts(kube), before),
                        "cpu": {kind: round(s, 1) for kind, s in sorted(cpu.items(), key=lambda kv: -kv[1]) if s >= 0.05},
                    }
                    print(f"  {variant} N={n} M={m} K={k} run {run + 1}: {phase}: {elapsed:.1f}s, peak {peak / 2**20:.0f} MiB", flush=True)
                stack.stack.workspace.remove_stack(stack.name, force=True)
                base.append(baseline(data, endpoint))
    finally:
        data.cleanup()
    return {
        "size": (n, m, k),
        "variant": variant,
        "time": {p: statistics.median(v) for p, v in times.items()},
        "peak": {p: statistics.median(v) for p, v in peaks.items()},
        "calls": calls,
        "value_reads": most_reads,
        "baseline": {key: statistics.median(b[key] for b in base) for key in ("create", "delete")},
    }


def table(results: list[dict]) -> str:
    lines = [
        "| N, M, K | variant | " + " | ".join(PHASES) + " | baseline create / delete | first up ÷ baseline | destroy ÷ baseline |",
        "|---|---|" + "---|" * len(PHASES) + "---|---|---|",
    ]
    for r in results:
        cells = [f"{r['time'][p]:.1f} s / {r['peak'][p] / 2**20:.0f} MiB" for p in PHASES]
        b = r["baseline"]
        lines.append(
            f"| {', '.join(map(str, r['size']))} | {r['variant']} | "
            + " | ".join(cells)
            + f" | {b['create']:.1f} s / {b['delete']:.1f} s | "
            + f"{r['time']['first up'] / b['create']:.1f}x | {r['time']['destroy'] / b['delete']:.1f}x |"
        )
    lines.append("")
    lines.append(
        "Calls per phase (last run): LocalStack by API, Kubernetes by verb and resource (apiserver-wide, so the"
        " namespace cleanup of the previous size can show up), and CPU seconds by process:"
    )
    lines.append("")
    for r in results:
        lines.append(f"- N, M, K = {', '.join(map(str, r['size']))} ({r['variant']}):")
        for phase, c in r["calls"].items():
            reads = value_reads(c["localstack"])
            localstack, kubernetes = json.dumps(c["localstack"], sort_keys=True), json.dumps(c["kubernetes"], sort_keys=True)
            cpu = ", ".join(f"{kind} {s:.1f}" for kind, s in c["cpu"].items())
            lines.append(f"  - {phase}: value reads {reads}; LocalStack {localstack}; Kubernetes {kubernetes}; CPU s: {cpu}")
    return "\n".join(lines)


def parse_size(text: str) -> tuple[int, int, int]:
    n, m, k = (int(x) for x in text.split(","))
    return n, m, k


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["50,3,10", "500,10,50", "1000,20,100"], help="N,M,K for the tuned variant")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--compare",
        nargs="+",
        default=["default@50,3,10", "provider-qps@500,10,50"],
        help=f"extra variant@N,M,K runs (variants: {', '.join(v for v in VARIANTS if v != 'tuned')}), or 'none'",
    )
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results.md"))
    args = parser.parse_args()
    plan = [("tuned", parse_size(size)) for size in args.sizes]
    for entry in [] if args.compare == ["none"] else args.compare:
        variant, _, size = entry.partition("@")
        if variant not in VARIANTS or not size:
            parser.error(f"--compare {entry!r}: expected <variant>@N,M,K with a variant in {list(VARIANTS)}")
        plan.append((variant, parse_size(size)))
    plan.sort(key=lambda entry: (entry[1], list(VARIANTS).index(entry[0])))
    endpoint = ensure_localstack()
    kubeconfig = start_cluster()
    kube = KubeAdmin(kubeconfig)
    header = (
        f"Benchmark of {dt.date.today().isoformat()} on {platform.machine()} with {os.cpu_count()} cores and "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB; median of {args.runs} runs; "
        "each cell: wall time / peak RSS of the whole process tree.\n"
        "Variants: tuned = `PULUMI_SKIP_CHECKPOINTS=true`, `--parallel 32`, project defaults (kubeClientQps 1000); "
        "provider-qps = tuned but the Kubernetes provider's own client limit (50/s, burst 120); "
        "default = Pulumi's defaults (checkpoint after every step, default parallelism).\n\n"
    )
    results = []
    for variant, (n, m, k) in plan:
        results.append(run_size(n, m, k, args.runs, variant, endpoint, kubeconfig, kube))
        # Written after every size, so a long run that is stopped keeps what it measured.
        Path(args.out).write_text(header + table(results) + "\n", encoding="utf-8")
    print(header + table(results))
    reading = [(r["size"], r["variant"], p) for r in results for p in NO_CHANGE if r["value_reads"].get(p)]
    if reading:
        print(f"FAIL: a no-change run read secret values: {reading}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
