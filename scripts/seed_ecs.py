#!/usr/bin/env python3
"""Register the demo task definitions in an ECS API and run one service of each, as KECS users would.

    .venv/bin/python scripts/seed_ecs.py --endpoint URL [--region R] PATTERN:CLUSTER ...

Each PATTERN (a glob of task definition JSON files, the ``register-task-definition --cli-input-json`` shape)
goes to cluster CLUSTER: the cluster is made if missing, each file is registered and a service named after its
family runs it (desired count 1). Idempotent: a family whose latest revision already has the file's container
definitions is not registered again, and its service is left as it is; a changed file makes a new revision and
moves the service to it; a service of the cluster that no file names any more (an edge-case file the seed
removed) is deleted. `make demo` runs it against moto's server (LocalStack community has no ECS API); the
dev stack then reads its demand from there (kecs-secrets:ecsDemand). Prints names only.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
from collections.abc import Iterable
from typing import Any

import boto3

# The fields of a task definition file that RegisterTaskDefinition takes (moto and AWS alike).
FIELDS = ("family", "containerDefinitions", "executionRoleArn", "taskRoleArn", "networkMode", "requiresCompatibilities", "cpu", "memory")


def _latest(ecs: Any, family: str) -> dict[str, Any] | None:
    arns = ecs.list_task_definitions(familyPrefix=family, status="ACTIVE", sort="DESC").get("taskDefinitionArns") or []
    mine = sorted((a for a in arns if a.rsplit("/", 1)[-1].rsplit(":", 1)[0] == family), key=lambda a: int(a.rsplit(":", 1)[1]))
    return ecs.describe_task_definition(taskDefinition=mine[-1])["taskDefinition"] if mine else None


def seed(ecs: Any, path: str, cluster: str) -> str:
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    family = document["family"]
    latest = _latest(ecs, family)
    same = latest is not None and [c.get("secrets") for c in latest["containerDefinitions"]] == [
        c.get("secrets") for c in document["containerDefinitions"]
    ]
    arn = latest["taskDefinitionArn"] if same and latest else ecs.register_task_definition(
        **{k: document[k] for k in FIELDS if k in document}
    )["taskDefinition"]["taskDefinitionArn"]
    found = [s for s in ecs.describe_services(cluster=cluster, services=[family])["services"] if s.get("status") == "ACTIVE"]
    if not found:
        ecs.create_service(cluster=cluster, serviceName=family, taskDefinition=arn, desiredCount=1)
        return f"{cluster}/{family}: service created on {arn.rsplit('/', 1)[-1]}"
    if found[0]["taskDefinition"] != arn:
        ecs.update_service(cluster=cluster, service=family, taskDefinition=arn)
        return f"{cluster}/{family}: service moved to {arn.rsplit('/', 1)[-1]}"
    return f"{cluster}/{family}: unchanged ({arn.rsplit('/', 1)[-1]})"


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("sources", nargs="+", metavar="PATTERN:CLUSTER")
    args = parser.parse_args(list(argv) if argv is not None else None)
    ecs = boto3.client("ecs", endpoint_url=args.endpoint, region_name=args.region,
                       aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
                       aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"))
    for source in args.sources:
        pattern, _, cluster = source.rpartition(":")
        ecs.create_cluster(clusterName=cluster)
        families = set()
        for path in sorted(glob.glob(pattern)):
            print(f"ecs: {seed(ecs, path, cluster)}")
            with open(path, encoding="utf-8") as handle:
                families.add(json.load(handle)["family"])
        for gone in _services(ecs, cluster) - families:
            ecs.update_service(cluster=cluster, service=gone, desiredCount=0)
            ecs.delete_service(cluster=cluster, service=gone)
            print(f"ecs: {cluster}/{gone}: service deleted (no task definition file names it any more)")
    return 0


def _services(ecs: Any, cluster: str) -> set[str]:
    """The names of the cluster's ACTIVE services."""
    arns = [a for page in ecs.get_paginator("list_services").paginate(cluster=cluster) for a in page["serviceArns"]]
    found = [s for i in range(0, len(arns), 10) for s in ecs.describe_services(cluster=cluster, services=arns[i : i + 10])["services"]]
    return {s["serviceName"] for s in found if s.get("status") == "ACTIVE"}


if __name__ == "__main__":
    sys.exit(main())
