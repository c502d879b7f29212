"""The type tokens of the components, and the URNs a focused update targets (``pulumi up --target``), one glob per part of the focus.

What the engine does with them (the CLI pinned here; tests/e2e/test_watch.py runs them): a targeted object
the program registers is created or updated; a targeted object it does not register is deleted; an object
that is not targeted is left as the state has it, registered or not, unless it depends on a targeted one
(or is the child of one) and is not registered: then the update stops with "will be destroyed but was not
specified in --target list". ``**`` matches any run of characters, ``*`` any run within one part of the URN,
and a glob matches the whole URN.

So the targets are exactly the objects pods read and their namespace's RBAC, and nothing that others
depend on: a focused namespace's replicas, ServiceAccount, Role and RoleBinding (and their components), a
focused master's replicas in every namespace, a focused replica alone, and the value reader (the new values). Not targeted, so
brought up to date by the full update that follows (--settle): the masters themselves (each namespace's
RBAC waits for the masters it reads), the shared ClusterRole (every RoleBinding depends on it), the stack's
outputs (the stack is every object's parent), the leftover sweep and the service restarts. The program
registers those it must for the targeted ones to be made (CentralizedSecrets with a focus).
"""

from __future__ import annotations

from kecs_secrets.focus import Focus
from kecs_secrets.naming import reader_name

__all__ = [
    "CENTRALIZED_SECRETS", "MASTERS", "NAMESPACE_READER", "NAMESPACE_REPLICAS", "READER_CLUSTER_ROLE", "VALUE_READER", "focus_targets",
]

# The components' type tokens (components/ registers them): a child's URN holds its parents', so targets name them.
CENTRALIZED_SECRETS = "kecs:secrets:CentralizedSecrets"
MASTERS = "kecs:secrets:Masters"
NAMESPACE_REPLICAS = "kecs:secrets:NamespaceReplicas"
NAMESPACE_READER = "kecs:secrets:NamespaceReader"
READER_CLUSTER_ROLE = "kecs:secrets:ReaderClusterRole"

VALUE_READER = "pulumi-python:dynamic/kecs:SourceValues::values"  # providers/source_values.py: module kecs, name SourceValues


def focus_targets(stack: str, project: str, focus: Focus) -> list[str]:
    """The ``--target`` globs of ``focus`` in stack ``stack`` of ``project``.

    A focused master's replicas are targeted in every namespace, and a focused replica in its own; their namespaces'
    components are not: they exist already (a rotation changes objects that exist; a replica alone is focused only in
    a namespace that holds replicas already, so its component and RBAC exist). One the focus would have to make (a rotation that
    lets a namespace with no replica yet receive one) stops the focused update with an error at that replica
    (its parent is not targeted); what it changed before is what a full update changes too, and the watch
    then runs a full update.
    """
    top = f"urn:pulumi:{stack}::{project}::{CENTRALIZED_SECRETS}"
    targets = [
        f"{top}${MASTERS}${VALUE_READER}",
    ]
    for namespace in sorted(focus.namespaces):
        targets += [
            f"{top}${NAMESPACE_REPLICAS}::{namespace}",
            f"{top}${NAMESPACE_REPLICAS}$**::{namespace}/*",
            f"{top}${NAMESPACE_READER}::{namespace}",
            f"{top}${NAMESPACE_READER}$**::*/{reader_name(namespace)}",
        ]
    for master in sorted(focus.masters):
        targets.append(f"{top}${NAMESPACE_REPLICAS}$**::*/{master}")
    for namespace, master in sorted(focus.replicas):
        targets.append(f"{top}${NAMESPACE_REPLICAS}$**::{namespace}/{master}")
    return targets
