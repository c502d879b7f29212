"""The URNs a focused update targets (``pulumi up --target``), one glob per part of the focus.

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

from components import types
from kecs_secrets.focus import Focus
from kecs_secrets.naming import reader_name

__all__ = ["VALUE_READER", "focus_targets"]

VALUE_READER = "pulumi-python:dynamic/kecs:SourceValues::values"  # providers/source_values.py: module kecs, name SourceValues


def focus_targets(stack: str, project: str, focus: Focus) -> list[str]:
    """The ``--target`` globs of ``focus`` in stack ``stack`` of ``project``.

    A focused master's replicas are targeted in every namespace, their namespaces' components are not: they
    exist already (a rotation changes objects that exist), and one the focus would have to make (a rotation
    that lets a namespace with no replica yet receive one) makes the focused update fail before any change
    (its child would depend on an untargeted parent): the watch then runs a full update.
    """
    base = f"urn:pulumi:{stack}::{project}::"
    top = f"{base}{types.CENTRALIZED_SECRETS}"
    targets = [
        f"{base}pulumi:pulumi:Stack::{project}-{stack}",
        f"{top}${types.MASTERS}${VALUE_READER}",
        f"{top}${types.READER_CLUSTER_ROLE}::*",
        f"{top}${types.READER_CLUSTER_ROLE}$**",
    ]
    for namespace in sorted(focus.namespaces):
        targets += [
            f"{top}${types.NAMESPACE_REPLICAS}::{namespace}",
            f"{top}${types.NAMESPACE_REPLICAS}$**::{namespace}/*",
            f"{top}${types.NAMESPACE_READER}::{namespace}",
            f"{top}${types.NAMESPACE_READER}$**::*/{reader_name(namespace)}",
        ]
    for master in sorted(focus.masters):
        targets += [f"{top}${types.MASTERS}$**::{master}", f"{top}${types.NAMESPACE_REPLICAS}$**::*/{master}"]
    return targets
