"""Who may stop a run: the one rule that sorts demand into the owner's (strict) and the tenants' (isolated),
what an isolated problem leaves behind (an ``Unserved`` reference) and the Events that report it on its pod.

The stack owner writes the config and the task definition files: a bad reference there is the owner's
mistake and fails the preview by name. Everyone else who asks for secrets (pods, and every demand source
added later) is a tenant: a problem with one of their references skips that reference (or the one
replica it needs), is reported by name and origin, and never stops the run for anybody else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kecs_secrets.errors import KecsSecretsError
from kecs_secrets.model import CONFIG_DEMAND, TASK_DEFINITION_DEMAND, Reference

__all__ = [
    "EVENT_REASON",
    "OWNER_DEMAND",
    "PodEvent",
    "Unserved",
    "is_isolated",
    "pod_events",
    "post_pod_events",
    "skipped_line",
]

# The demand sources the stack owner writes; every other one (pods, and any source added later) is a tenant's.
OWNER_DEMAND = frozenset({CONFIG_DEMAND, TASK_DEFINITION_DEMAND})
# The reason of the Event put on a pod whose reference is not served.
EVENT_REASON = "SecretReferenceNotServed"
_MESSAGE_LIMIT = 1024  # what events.k8s.io allows for a note; core/v1 takes it too
_NAME_LIMIT = 253


def is_isolated(demander: str) -> bool:
    """True when a problem with demand from ``demander`` is isolated to it (tenants), False when it stops the run (the owner)."""
    return demander not in OWNER_DEMAND


def skipped_line(problem: str) -> str:
    """The warning line of an isolated problem: the problem (naming the reference and its origin), and what happened to it."""
    return f"{problem}; skipped, the rest of the run goes on"


@dataclass(frozen=True, order=True)
class Unserved:
    """A tenant's reference that this run does not serve, and why (one line, naming no value)."""

    reference: Reference
    why: str


@dataclass(frozen=True, order=True)
class PodEvent:
    """A Warning Event on a pod: one of its references is not served. ``name`` is the same on every run for
    the same pod and reference, so a later run updates that Event instead of adding another one."""

    namespace: str
    pod: str
    pod_uid: str
    name: str
    message: str
    reason: str = EVENT_REASON
    reporter: str = ""  # the stack that reports it (several stacks may serve one namespace)


def _event_name(ref: Reference, reporter: str) -> str:
    digest = hashlib.sha256(f"{reporter}\0{ref.pod_uid}\0{ref.value_from}\0{ref.origin}".encode()).hexdigest()[:16]
    suffix = f".kecs-{digest}"
    return ref.pod[: _NAME_LIMIT - len(suffix)].rstrip(".-") + suffix


def pod_events(unserved: Iterable[Unserved], reporter: str = "") -> list[PodEvent]:
    """One Event per pod and reference (every reason it is not served, in one message), for the references pods declare;
    ``reporter`` (the stack) is named in the message and the Event's name, so stacks never update each other's Events."""
    whys: dict[tuple[Reference, str, str], list[str]] = {}
    for entry in sorted(unserved):
        ref = entry.reference
        if ref.pod and entry.why not in (seen := whys.setdefault((ref, ref.pod, ref.pod_uid), [])):
            seen.append(entry.why)
    events = []
    for (ref, _, _), reasons in whys.items():
        by = f" by kecs-secrets stack {reporter}" if reporter else ""
        message = f"reference {ref.value_from!r} ({ref.origin}) is not served{by}: {'; '.join(reasons)}"
        if len(message) > _MESSAGE_LIMIT:
            message = message[: _MESSAGE_LIMIT - 3] + "..."
        events.append(PodEvent(ref.namespace, ref.pod, ref.pod_uid, _event_name(ref, reporter), message, reporter=reporter))
    return sorted(events)


def post_pod_events(events: Iterable[PodEvent], post: Callable[[PodEvent], None], warn: Callable[[str], None]) -> int:
    """Post each Event; one that cannot be written is a warning, never a failed run. Returns how many were written."""
    written = 0
    for event in events:
        try:
            post(event)
            written += 1
        except KecsSecretsError as err:
            warn(f"could not put Event {event.reason} on pod {event.namespace}/{event.pod}: {err}")
    return written
