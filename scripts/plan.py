#!/usr/bin/env python3
"""Print the layout a stack would converge to, without Pulumi: a dry run of the planning step.

    .venv/bin/python -m scripts.plan [--stack dev]

Reads Pulumi.<stack>.yaml, the inventory (metadata only) and the demand, checks the cluster when it
can, and prints masters, replicas and RBAC. Never prints a value.
"""

from __future__ import annotations

import argparse
import os
import sys

import pulumi.runtime

from kecs_secrets.errors import KecsSecretsError
from kecs_secrets.planning import make_plan
from providers.aws_source import BotoSource
from providers.ecs_source import EcsSource
from providers.kube import KubeReader
from providers.stack_config import load_settings, read_stack_file
from providers.task_definitions import TaskDefinitionFiles

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev")
    args = parser.parse_args()
    os.chdir(ROOT)
    try:
        # The same typed getters as the program: the stack file's values go where the CLI would put them.
        pulumi.runtime.set_all_config(read_stack_file(f"Pulumi.{args.stack}.yaml"))
        settings = load_settings()
        cluster = KubeReader(settings.kubeconfig, settings.kube_context) if settings.check_cluster else None
        plan = make_plan(settings, f"kecs-secrets/{args.stack}", BotoSource(settings.endpoint, settings.region), cluster,
                         TaskDefinitionFiles(ROOT), dry_run=True, warn=lambda m: print(f"warning: {m}", file=sys.stderr),
                         ecs=EcsSource(settings.ecs_demand.endpoint, settings.ecs_demand.region) if settings.ecs_demand.enabled else None)
    except KecsSecretsError as err:
        print(f"{type(err).__name__}: {err}", file=sys.stderr)
        return 1
    layout = plan.layout
    print(f"masters in {settings.master_namespace} ({len(layout.masters)}):")
    for m in layout.masters:
        keys = f" keys {list(m.json_keys)}" if m.json_keys else ""
        print(f"  {m.kind:9} {m.name}  <- {m.item.source} {m.item.name!r} v{m.item.version}{keys}")
    print(f"replicas ({len(layout.replicas)}):")
    for ns, names in layout.replicas_by_namespace().items():
        print(f"  {ns}: {', '.join(names)}")
    print("rbac:")
    for r in layout.rbac:
        print(f"  {r.namespace}: ServiceAccount {r.service_account}, RoleBinding {r.role_binding} -> {r.role_kind} {r.role_name}")
    for warning in plan.warnings:
        print(f"warning: {warning}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
