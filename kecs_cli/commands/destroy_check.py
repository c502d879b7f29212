"""Before `pulumi destroy`: is every object in the stack's state still provably the stack's own?

    kecs-secrets destroy-check [--stack dev]     (run by `make destroy` first)

`pulumi destroy` deletes by name whatever the state holds and does not run the program, so the
program's own check cannot protect it. This reads the state (`pulumi stack export`, secrets stay
encrypted) and the cluster the stack config names, and fails naming every object whose live object
lacks this stack's annotation or has another uid than the state recorded, with the
`pulumi state delete` command that forgets it without touching the cluster. Never prints a value.
Run it in the project directory with the environment the Pulumi CLI needs (backend, passphrase).
"""

from __future__ import annotations

import argparse

import pulumi.runtime
import yaml

from kecs_cli.commands import DEFAULT_EXIT_CODES
from kecs_secrets.planning import snapshot_cluster
from kecs_secrets.preflight import check_ownership
from providers.kube import KubeReader
from providers.pulumi_state import PulumiStackState
from providers.stack_config import load_settings, read_stack_file


def _project() -> str:
    with open("Pulumi.yaml", encoding="utf-8") as handle:
        return str((yaml.safe_load(handle) or {}).get("name", ""))


EXIT_CODES = {
    **DEFAULT_EXIT_CODES,
    0: "every object in the state is the stack's own (or gone): `pulumi destroy` may go on",
    1: "an object is not provably the stack's own (OwnershipError, naming it and the `pulumi state delete` that forgets it), "
       "or the state or the cluster could not be read: one line on stderr",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", default="dev", help="the stack whose state and Pulumi.<stack>.yaml are read (default: dev)")


def run(args: argparse.Namespace) -> int:
    # The same typed getters as the program: the stack file's values go where the CLI would put them.
    pulumi.runtime.set_all_config(read_stack_file(f"Pulumi.{args.stack}.yaml"))
    settings = load_settings()
    state = PulumiStackState(args.stack).read()
    cluster = KubeReader(settings.kubeconfig, settings.kube_context)
    namespaces = cluster.namespaces()
    snapshot = snapshot_cluster(cluster, namespaces, {(obj.kind, obj.namespace) for obj in state.objects})
    check_ownership(state.objects, snapshot, f"{_project()}/{args.stack}")
    print(f"destroy check: the {len(state.objects)} Kubernetes objects in the state of stack {args.stack!r} are its own (or gone)")
    return 0
