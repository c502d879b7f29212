"""Record the answers of a real ECS API (moto's server) for the unit tests of the ECS demand source.

    .venv/bin/python -m tests.support.record_ecs_shapes tests/unit/fixtures/ecs_shapes.json

The scene: cluster ``web`` with service ``api`` moved from revision 1 to 2 of family ``web`` (its deployment
of revision 1 still listed), a deleted service (INACTIVE), and tasks of family ``job`` whose definition uses
all three secret fields; cluster ``idle`` with nothing in it.
"""

from __future__ import annotations

import json
import sys

from providers.ecs_source import EcsSource
from tests.support.ecs import ecs_client, register, run_tasks
from tests.support.moto import moto_server

SM = "arn:aws:secretsmanager:us-east-1:000000000000:secret:"


def record() -> dict:
    with moto_server(account="000000000000") as moto:
        ecs = ecs_client(moto)
        for cluster in ("web", "idle"):
            ecs.create_cluster(clusterName=cluster)
        register(ecs, "web", [{"name": "DB_PASSWORD", "valueFrom": f"{SM}db-AbCdEf:password::"}])
        register(ecs, "web", [
            {"name": "DB_PASSWORD", "valueFrom": f"{SM}db-AbCdEf:password::"},
            {"name": "API_TOKEN", "valueFrom": f"{SM}api-token-XyZ123"},
        ])
        register(ecs, "gone", [{"name": "OLD", "valueFrom": "/old/param"}])
        job = register(
            ecs, "job",
            [{"name": "PARAM", "valueFrom": "arn:aws:ssm:us-east-1:000000000000:parameter/app/param"}],
            repositoryCredentials={"credentialsParameter": f"{SM}registry-AbCdEf"},
            logConfiguration={"logDriver": "awsfirelens", "secretOptions": [{"name": "LOG_KEY", "valueFrom": "/app/log-key"}]},
        )
        ecs.create_service(cluster="web", serviceName="api", taskDefinition="web:1", desiredCount=1)
        ecs.update_service(cluster="web", service="api", taskDefinition="web:2")
        ecs.create_service(cluster="web", serviceName="old", taskDefinition="gone:1", desiredCount=0)
        ecs.delete_service(cluster="web", service="old")
        run_tasks(ecs, "web", job, 2)
        source = EcsSource(moto, "us-east-1")
        clusters = source.clusters()
        names = [arn.rsplit("/", 1)[-1] for arn in clusters]
        services = {name: source.services(name) for name in names}
        tasks = {name: source.tasks(name) for name in names}
        used = {s["taskDefinition"] for found in services.values() for s in found}
        used |= {d["taskDefinition"] for found in services.values() for s in found for d in s.get("deployments") or []}
        used |= {t["taskDefinitionArn"] for found in tasks.values() for t in found}
        definitions = {arn: source.task_definition(arn) for arn in sorted(used)}
        revisions = {family: source.active_revisions(family) for family in ("web", "job", "gone")}
        return {"clusters": clusters, "services": services, "tasks": tasks, "task_definitions": definitions, "revisions": revisions}


if __name__ == "__main__":
    with open(sys.argv[1], "w", encoding="utf-8") as out:
        json.dump(record(), out, indent=1, sort_keys=True, default=str)
        out.write("\n")
