"""The ECS calls of one demand read at the benchmark's sizes, in the benchmark's terms.

    .venv/bin/python -m bench.ecs_calls [--sizes 1000,20,100 ...] [--services 20] [--tasks-per-service 10]

At size N, M, K the benchmark's M namespaces are M ECS clusters ``<cluster>-<region>``, each needing K of the
2N references (``demand``, the same rule bench/run.py seeds). Here each cluster gets ``--services`` services
(one task definition family each, its own revision: that many distinct task definitions per cluster), whose
task definitions together reference the cluster's K secrets (reference j goes to service j mod S), and each
service runs ``--tasks-per-service`` tasks of its task definition (moto's ``run_task``, FARGATE). One real
read (providers.ecs_source.EcsSource through kecs_secrets.ecs_demand, clusters not named) goes through a
proxy that enforces AWS's page and batch limits and counts the calls (tests/support/ecs.py), in front of
moto's server on a free port. The calls must equal the documented count (docs/demand.md), ``expected``:
ListClusters ceil(C/100); per cluster ListServices max(1, ceil(S/100)), DescribeServices ceil(S/10),
ListTasks max(1, ceil(T/100)), DescribeTasks ceil(T/100); DescribeTaskDefinition once per distinct ARN;
and the references read must be exactly each namespace's K. Any difference is a failure (exit 1).
No value is read and nothing is timed: the benchmark's timed phases do not include this step.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kecs_secrets.config import EcsDemandSettings
from kecs_secrets.ecs_demand import ecs_references, read_ecs_demand
from providers.ecs_source import EcsSource
from tests.support.ecs import BATCHES, PAGE_MAX, ecs_api, register, run_tasks
from tests.support.moto import moto_server

__all__ = ["EcsCalls", "demand", "expected", "measure", "section", "table"]

REGION = "us-east-1"
ACCOUNT = "000000000000"
SERVICES = 20  # per cluster
TASKS_PER_SERVICE = 10
OPERATIONS = ("ListClusters", "ListServices", "DescribeServices", "ListTasks", "DescribeTasks", "DescribeTaskDefinition")


def demand(refs: Sequence[str], namespaces: Sequence[str], k: int) -> dict[str, list[str]]:
    """What the benchmark's namespaces need: namespace i the K references from i*K on (wrapping around)."""
    return {ns: [refs[(i * k + j) % len(refs)] for j in range(k)] for i, ns in enumerate(namespaces)}


def expected(clusters: int, services: int, tasks: int, task_definitions: int) -> dict[str, int]:
    """The documented call count of one read of ``clusters`` unnamed clusters, each with ``services`` services and
    ``tasks`` running tasks, using ``task_definitions`` distinct task definitions in all. The page and batch sizes are
    AWS's (as the test proxy enforces them), not the adapter's own constants, so an adapter that asks for smaller
    pages or batches differs from it."""
    return {
        "ListClusters": max(1, math.ceil(clusters / PAGE_MAX)),
        "ListServices": clusters * max(1, math.ceil(services / PAGE_MAX)),
        "DescribeServices": clusters * math.ceil(services / BATCHES["DescribeServices"][1]),
        "ListTasks": clusters * max(1, math.ceil(tasks / PAGE_MAX)),
        "DescribeTasks": clusters * math.ceil(tasks / BATCHES["DescribeTasks"][1]),
        "DescribeTaskDefinition": task_definitions,
    }


@dataclass(frozen=True)
class EcsCalls:
    """One measured read: the size, what each cluster holds, the calls counted and the calls documented."""

    size: tuple[int, int, int]
    services: int  # per cluster
    tasks: int  # per cluster
    task_definitions: int  # distinct, in all
    calls: Mapping[str, int]
    expected: Mapping[str, int]
    problems: tuple[str, ...] = ()  # the references read that differ from the benchmark's demand

    def failures(self) -> list[str]:
        n, m, k = self.size
        wrong = [f"{op}: {self.calls.get(op, 0)} calls, documented {self.expected.get(op, 0)}"
                 for op in sorted({*self.calls, *self.expected}) if self.calls.get(op, 0) != self.expected.get(op, 0)]
        return [f"ECS calls at N, M, K = {n}, {m}, {k}: {why}" for why in [*wrong, *self.problems]]


def _refs(n: int) -> list[str]:
    """The benchmark's 2N references in its order (Secrets Manager ARNs, then SSM names), as ECS names them."""
    arns = [f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:bench/secret-{i:05d}-AbCdEf" for i in range(n)]
    return [*arns, *(f"/bench/param-{i:05d}" for i in range(n))]


def measure(size: tuple[int, int, int], services: int = SERVICES, tasks_per_service: int = TASKS_PER_SERVICE) -> EcsCalls:
    """Seed moto's ECS with the size's clusters, services and tasks, read the demand once, count the calls."""
    n, m, k = size
    clusters = [f"c{i}-bench" for i in range(m)]
    wanted = demand(_refs(n), [f"{c}-{REGION}" for c in clusters], k)
    with moto_server(account=ACCOUNT) as moto, ecs_api(moto, REGION) as api:
        ecs = api.client
        for cluster in clusters:
            ecs.create_cluster(clusterName=cluster)
            needed = wanted[f"{cluster}-{REGION}"]
            for s in range(services):
                secrets = [{"name": f"S{j}", "valueFrom": ref} for j, ref in enumerate(needed) if j % services == s]
                definition = register(ecs, f"{cluster}-svc{s:03d}", secrets)
                ecs.create_service(cluster=cluster, serviceName=f"svc{s:03d}", taskDefinition=definition, desiredCount=tasks_per_service)
                run_tasks(ecs, cluster, definition, tasks_per_service)
        api.calls()
        read = read_ecs_demand(EcsSource(api.endpoint, REGION), EcsDemandSettings(enabled=True, region=REGION))
        calls = api.calls()
    refs, warnings = ecs_references(read)
    got: dict[str, set[str]] = {}
    for ref in refs:
        got.setdefault(ref.namespace, set()).add(ref.value_from)
    problems = [*warnings] + [
        f"namespace {ns}: read {len(got.get(ns, set()))} references, the benchmark's demand is {len(set(refs_))}"
        for ns, refs_ in sorted(wanted.items()) if got.get(ns, set()) != set(refs_)
    ] + [f"namespace {ns}: read but not in the benchmark's demand" for ns in sorted(set(got) - set(wanted))]
    task_definitions = len(read.task_definitions)
    return EcsCalls(size, services, services * tasks_per_service, task_definitions, calls,
                    expected(m, services, services * tasks_per_service, m * services), tuple(problems))


def table(rows: Sequence[EcsCalls]) -> str:
    """Markdown: one row per size, the calls per operation against the documented count."""
    lines = [
        "| N, M, K (ECS) | clusters | services / cluster | tasks / cluster | task definitions | "
        + " | ".join(OPERATIONS) + " | total | documented |",
        "|---|---|---|---|---|" + "---|" * len(OPERATIONS) + "---|---|",
    ]
    for r in rows:
        cells = [str(r.calls.get(op, 0)) for op in OPERATIONS]
        total, documented = sum(r.calls.values()), sum(r.expected.values())
        verdict = f"{documented} (equal)" if not r.failures() else f"{documented} (**DIFFERS**)"
        lines.append(f"| {', '.join(map(str, r.size))} | {r.size[1]} | {r.services} | {r.tasks} | {r.task_definitions} | "
                     + " | ".join(cells) + f" | {total} | {verdict} |")
    return "\n".join(lines)


def section(rows: Sequence[EcsCalls], command: str = "") -> str:
    """The results' section: a heading, what each cluster holds, how it was made, the table ("" without rows)."""
    if not rows:
        return ""
    made = f" Made by `{command}`." if command else ""
    return (
        f"\n## ECS calls of one demand read\n\nEach of the M clusters has {rows[0].services} services, each running "
        f"{rows[0].tasks // rows[0].services} tasks of its own task definition; together they reference the K secrets of "
        "the cluster's namespace. One read by the ECS demand source (clusters not named) through a proxy enforcing AWS's "
        "page and batch limits, in front of moto's server (bench/ecs_calls.py); documented: the count docs/demand.md "
        f"gives.{made}\n\n" + table(rows) + "\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1000,20,100"], help="N,M,K (as bench.run's --sizes)")
    parser.add_argument("--services", type=int, default=SERVICES, help="services per cluster")
    parser.add_argument("--tasks-per-service", type=int, default=TASKS_PER_SERVICE, help="running tasks per service")
    args = parser.parse_args(argv)
    sizes = [tuple(int(x) for x in size.split(",")) for size in args.sizes]
    rows = [measure((n, m, k), args.services, args.tasks_per_service) for n, m, k in sizes]
    print(section(rows, "python -m bench.ecs_calls " + " ".join(sys.argv[1:] if argv is None else argv)))
    failures = [line for row in rows for line in row.failures()]
    for line in failures:
        print(f"FAIL: {line}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
