"""``run``: one run of the program (``pulumi up`` / ``preview``), from the stack settings to the registered layout.

Called by ``__main__.py`` (the language host runs it) and by the watch mode in its own process (an inline program
of the Automation API), with the same code either way. The watch passes what only it has: the focus of a focused
update (kecs_secrets/focus.py), the source listing it started when the update began (so the listing runs while
the CLI starts and loads the state), and a callback that learns the planned layout.
"""

from __future__ import annotations

from collections.abc import Callable

import pulumi

from components.centralized_secrets import CentralizedSecrets, CentralizedSecretsArgs
from components.registrations import start_registrations
from kecs_secrets.errors import KecsSecretsError
from kecs_secrets.focus import Focus
from kecs_secrets.isolation import pod_events, post_pod_events
from kecs_secrets.layout import Layout
from kecs_secrets.planning import make_plan
from kecs_secrets.preflight import shown
from kecs_secrets.restarts import restart_candidates, restart_targets
from providers.aws_source import BotoSource
from providers.ecs_source import EcsSource
from providers.pulumi_state import PulumiStackState
from providers.stack_config import load_settings
from providers.task_definitions import TaskDefinitionFiles

__all__ = ["run"]


def run(
    focus: Focus | None = None,
    listing: BotoSource | None = None,
    learned: Callable[[Layout], None] | None = None,
    state: PulumiStackState | None = None,
) -> None:
    """Plan the layout and register it (only the focus's part when ``focus`` is given; kecs_secrets/targets.py).

    What the watch started before this run, while the CLI started: ``state``, this stack's state read from its
    checkpoint file, used only if that file is still the same now (the update holds the stack's lock); ``listing``,
    the source's listings, used only when they list what the settings say and began after the state was last
    written, so that they are at least as new as the state. Otherwise the run reads them itself. ``learned``:
    called with the planned layout.
    """
    qualified = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
    if state is None or state.stack != qualified or not state.unchanged():
        # The state export and the source listings run in the background while the Kubernetes client loads.
        state = PulumiStackState(qualified).start()
    try:
        settings = load_settings()
        stack = f"{pulumi.get_project()}/{pulumi.get_stack()}"
        started = None if listing is None else listing.started_for(settings.endpoint, settings.region, settings.name_prefixes,
                                                                      settings.ssm_paths)
        source = listing if listing is not None and started is not None else BotoSource.listing(settings)
        cluster = None
        if settings.check_cluster:
            from providers.kube import KubeReader  # the Kubernetes client loads while the source is listed

            cluster = KubeReader(settings.kubeconfig, settings.kube_context)
        if started is not None and not _newer_than_state(started, state):
            # The state changed after that listing began (an update ran meanwhile): list again, after it.
            source = BotoSource.listing(settings)
        plan = make_plan(
            settings,
            stack,
            source,
            cluster,
            TaskDefinitionFiles("."),
            dry_run=pulumi.runtime.is_dry_run(),
            state=state,
            warn=pulumi.log.warn,
            ecs=EcsSource(settings.ecs_demand.endpoint, settings.ecs_demand.region) if settings.ecs_demand.enabled else None,
        )
    except KecsSecretsError as err:
        # A clean, one-line failure before any resource is registered: nothing changes.
        raise pulumi.RunError(f"{type(err).__name__}: {err}") from None

    for warning in plan.warnings:
        pulumi.log.warn(warning)
    if cluster is not None and not pulumi.runtime.is_dry_run():
        # Each tenant reference this run does not serve is told on its pod (an update only: a preview writes nothing).
        post_pod_events(pod_events(plan.layout.unserved, stack), cluster.post_event, pulumi.log.warn)
    if plan.adopt:
        # Server-side apply takes these over: from now on they belong to this stack (and go with `destroy`).
        pulumi.log.warn("adopting existing objects: " + ", ".join(f"{k} {ns + '/' if ns else ''}{n}" for k, ns, n in sorted(plan.adopt)))
    if focus is not None:
        pulumi.log.info(
            f"focused update (the watch): namespaces {sorted(focus.namespaces)}, masters {sorted(focus.masters)}, "
            f"replicas {sorted('/'.join(pair) for pair in focus.replicas)}; every other object is left as the state has it"
        )
    elif plan.leftovers:
        # Left by an interrupted run: not in the state (so Pulumi cannot delete them) and not wanted; kecs:LeftoverSweep
        # deletes those whose ownership mark verifies, and the run names what it deleted and what it left alone.
        pulumi.log.info(
            "objects marked as this stack's that its state does not hold and the layout does not want (left by an interrupted "
            "run?): this run deletes those whose ownership mark verifies: " + ", ".join(shown(obj) for obj in plan.leftovers)
        )
    if plan.renamed:
        # Old and new names are different resources: the new master and replicas are created before the old ones go.
        pulumi.log.info("masters renamed (new name made first, old one deleted last): " + ", ".join(f"{a} -> {b}" for a, b in plan.renamed))
    masters_namespace = settings.master_namespace
    leftover_masters = {name for kind, ns, name, *_ in plan.leftovers if ns == masters_namespace and kind in ("Secret", "ConfigMap")}
    gone = [name for name in plan.deletions if name not in {old for old, _ in plan.renamed} | leftover_masters]
    if gone:
        pulumi.log.info(f"masters this run deletes (no longer in the source): {gone}")

    restarts = None
    if settings.ecs_demand.restart_on_change and plan.ecs is not None:
        restarts = restart_targets(plan.ecs, plan.layout, settings.region)
        if pulumi.runtime.is_dry_run():
            would = restart_candidates(restarts, plan.changed)
            pulumi.log.info(f"restartOnChange: ECS services restarted if the value (or JSON key) they read changed: {would or 'none'}")

    secrets = CentralizedSecrets(
        "kecs-secrets",
        CentralizedSecretsArgs(
            layout=plan.layout,
            master_namespace=settings.master_namespace,
            endpoint=settings.endpoint,
            region=settings.region,
            kubeconfig=settings.kubeconfig,
            kube_context=settings.kube_context,
            kube_client_qps=settings.kube_client_qps,
            kube_client_burst=settings.kube_client_burst,
            adopt=plan.adopt,
            leftovers=plan.leftovers,
            kept=plan.kept,
            stack=stack,
            marks=plan.marks,
            claims=plan.claims,
            held=plan.held,
            restarts=restarts,
            ecs_endpoint=settings.ecs_demand.endpoint,
            ecs_region=settings.ecs_demand.region,
            focus=focus,
        ),
    )
    if secrets.sweep is not None and plan.leftovers:

        def _report(outcome: tuple[list[str], list[str]]) -> None:
            deleted, skipped = outcome
            if deleted:
                pulumi.log.warn(
                    "objects of this stack that its state did not hold and the layout does not want (left by an interrupted "
                    "run), deleted by this run: " + ", ".join(deleted)
                )
            if skipped:
                pulumi.log.warn(
                    "objects carrying this stack's annotation with an ownership mark that does not verify for their kind, "
                    "namespace and name (copies, or marked under another key): not this stack's, left alone: " + ", ".join(skipped)
                )

        secrets.sweep.outcome().apply(_report)
    for key, value in secrets.outputs.items():
        pulumi.export(key, value)
    if learned is not None:
        learned(plan.layout)
    start_registrations()


def _newer_than_state(started: float, state: PulumiStackState) -> bool:
    """Whether a listing begun at ``started`` (epoch seconds) began after the state was last written (the state is
    read under the update's lock). A state that tells no time, or cannot be read (make_plan then says why), does not."""
    try:
        written = state.read().written
    except KecsSecretsError:
        return False
    return written is not None and started > written
