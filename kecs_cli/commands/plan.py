"""Print the layout a stack would converge to, without Pulumi: a dry run of the planning step.

    kecs-secrets plan [--stack dev]                 (`make plan`)

Reads Pulumi.<stack>.yaml of the project directory, the inventory (metadata only), the demand and the
stack's state (the names its masters hold: they keep them), checks the cluster when it can, and prints
masters, replicas and RBAC. Never prints a value. Without the state (no such stack yet, no CLI) it names
items as on a fresh stack, with a warning saying so.
"""

from __future__ import annotations

import argparse
import os
import sys

import pulumi.runtime

from kecs_cli import PROJECT_ROOT
from kecs_cli.commands import DEFAULT_EXIT_CODES
from kecs_secrets.planning import make_plan
from providers.aws_source import BotoSource
from providers.ecs_source import EcsSource
from providers.kube import KubeReader
from providers.pulumi_state import PulumiStackState
from providers.stack_config import load_settings, read_stack_file
from providers.task_definitions import TaskDefinitionFiles

ROOT = str(PROJECT_ROOT)
EXIT_CODES = {**DEFAULT_EXIT_CODES, 0: "the layout was printed (warnings, if any, on stderr and after it)"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", default="dev", help="the stack whose Pulumi.<stack>.yaml is read (default: dev)")


def run(args: argparse.Namespace) -> int:
    os.chdir(ROOT)
    # The same typed getters as the program: the stack file's values go where the CLI would put them.
    pulumi.runtime.set_all_config(read_stack_file(f"Pulumi.{args.stack}.yaml"))
    settings = load_settings()
    cluster = KubeReader(settings.kubeconfig, settings.kube_context) if settings.check_cluster else None
    plan = make_plan(settings, f"kecs-secrets/{args.stack}", BotoSource(settings.endpoint, settings.region), cluster,
                     TaskDefinitionFiles(ROOT), dry_run=True, state=PulumiStackState(args.stack, cwd=ROOT),
                     warn=lambda m: print(f"warning: {m}", file=sys.stderr),
                     ecs=EcsSource(settings.ecs_demand.endpoint, settings.ecs_demand.region) if settings.ecs_demand.enabled else None)
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
