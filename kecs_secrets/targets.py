"""The type tokens of the components, and the URNs a focused update targets (``pulumi up --target``), one glob per part of the focus.

What the engine does with them (checked against the CLI pinned here, tests/e2e/test_watch.py): a targeted
object the program registers is created or updated; a targeted object it does not register is deleted;
an object that is not targeted is left exactly as the state has it (registered or not); a new object that
is not targeted is not created. ``**`` matches any run of characters, ``*`` any run within one part of the
URN, and a glob matches the whole URN. So the targets below are exactly the objects of the focus, whatever
their kind: the program registers every one of them the layout wants (CentralizedSecrets with a focus),
and each of them the layout no longer wants is deleted, as a full update would.

Always targeted: the stack (its outputs), the value reader (new values), the shared ClusterRole (it names
the masters namespaces receive). Never: the leftover sweep and the service restarts, which the full
update after the focused one runs.
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

    A focused master's replicas are targeted in every namespace, their namespaces' components are not: they
    exist already (a rotation changes objects that exist). One the focus would have to make (a rotation that
    lets a namespace with no replica yet receive one) stops the focused update with an error at that replica
    (its parent is not targeted); what it changed before is what a full update changes too, and the watch
    then runs a full update.
    """
    base = f"urn:pulumi:{stack}::{project}::"
    top = f"{base}{CENTRALIZED_SECRETS}"
    targets = [
        f"{base}pulumi:pulumi:Stack::{project}-{stack}",
        f"{top}${MASTERS}${VALUE_READER}",
        f"{top}${READER_CLUSTER_ROLE}::*",
        f"{top}${READER_CLUSTER_ROLE}$**",
    ]
    for namespace in sorted(focus.namespaces):
        targets += [
            f"{top}${NAMESPACE_REPLICAS}::{namespace}",
            f"{top}${NAMESPACE_REPLICAS}$**::{namespace}/*",
            f"{top}${NAMESPACE_READER}::{namespace}",
            f"{top}${NAMESPACE_READER}$**::*/{reader_name(namespace)}",
        ]
    for master in sorted(focus.masters):
        targets += [f"{top}${MASTERS}$**::{master}", f"{top}${NAMESPACE_REPLICAS}$**::*/{master}"]
    return targets
