"""Plain data types shared by the inventory, the demand sources, the layout and the components."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "ANNOTATION_LAST_CHANGED",
    "ANNOTATION_LAST_REPLICATED",
    "ANNOTATION_SOURCE_ARN",
    "ANNOTATION_SOURCE_NAME",
    "ANNOTATION_SOURCE_NAMESPACE",
    "ANNOTATION_SOURCE_TYPE",
    "ANNOTATION_SOURCE_VERSION",
    "ANNOTATION_STACK",
    "CONFIG_DEMAND",
    "DATA_KEY_PATTERN",
    "ECS_DEMAND",
    "LABEL_FOR_NAMESPACE",
    "LABEL_MANAGED_BY",
    "LABEL_REPLICATED_FROM",
    "LABEL_SOURCE",
    "POD_DEMAND",
    "SECRETSMANAGER",
    "SSM",
    "SSM_TYPES",
    "TASK_DEFINITION_DEMAND",
    "WHOLE_VALUE_KEY",
    "Reference",
    "SourceItem",
    "StackState",
    "StateObject",
    "StateValue",
    "is_data_key",
]

SECRETSMANAGER = "secretsmanager"
SSM = "ssm"
SSM_TYPES = ("String", "StringList", "SecureString")
# The data key that holds a whole secret or parameter.
WHOLE_VALUE_KEY = "value"
# What any data key may look like: the API server's own rule for Secret and ConfigMap keys (IsConfigMapKey in
# k8s.io/apimachinery validation: at most 253 of these characters, not "." or "..", not starting with "..").
DATA_KEY_PATTERN = re.compile(r"[-._a-zA-Z0-9]{1,253}")


def is_data_key(key: str) -> bool:
    """Whether the API server takes ``key`` as a key of a Secret's or ConfigMap's data (the whole string)."""
    return bool(DATA_KEY_PATTERN.fullmatch(key)) and key not in (".", "..") and not key.startswith("..")

LABEL_MANAGED_BY = "kecs.io/managed-by"
LABEL_SOURCE = "kecs.io/source"
LABEL_REPLICATED_FROM = "kecs.io/replicated-from"
LABEL_FOR_NAMESPACE = "kecs.io/for-namespace"
ANNOTATION_LAST_REPLICATED = "kecs.io/last-replicated"
ANNOTATION_SOURCE_NAMESPACE = "kecs.io/source-namespace"
ANNOTATION_SOURCE_NAME = "kecs.io/source-name"
ANNOTATION_SOURCE_ARN = "kecs.io/source-arn"
ANNOTATION_SOURCE_VERSION = "kecs.io/source-version"
ANNOTATION_SOURCE_TYPE = "kecs.io/source-type"
ANNOTATION_LAST_CHANGED = "kecs.io/last-changed"
# Which stack made an object: how the program tells its own objects from anyone else's.
ANNOTATION_STACK = "kecs-secrets.io/stack"


@dataclass(frozen=True, order=True)
class SourceItem:
    """Metadata of one secret or parameter (never its value).

    ``version`` is the AWSCURRENT version id (Secrets Manager) or the parameter version (SSM);
    ``last_changed`` is the source's own last-changed time in RFC 3339 (UTC).
    ``item_type`` is ``secret`` for Secrets Manager, the parameter Type for SSM.
    ``stamp`` is that same last-changed time to the microsecond: with the ARN and the version it tells one value
    from another even where the version alone does not (an SSM parameter deleted and made again starts at
    version 1 again; a secret deleted and made again under its name).
    """

    source: str
    name: str
    arn: str
    version: str
    last_changed: str
    item_type: str
    tags: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    stamp: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.name)


# The demand sources a Reference can come from (``Reference.demander``); kecs_secrets.isolation says which are the owner's.
CONFIG_DEMAND = "config"
TASK_DEFINITION_DEMAND = "task-definition"
POD_DEMAND = "pod"
ECS_DEMAND = "ecs"  # the live ECS API (kecs-secrets:ecsDemand)


@dataclass(frozen=True, order=True)
class Reference:
    """One demand for a secret: a namespace needs what ``value_from`` names.

    ``origin`` says where the demand came from (config key, file, pod), for error messages; ``demander``
    names the demand source (``CONFIG_DEMAND``, ``TASK_DEFINITION_DEMAND``, ``POD_DEMAND``, or any
    added later), which decides whether a problem with it stops the run (see kecs_secrets.isolation).
    ``pod`` and ``pod_uid`` name the pod that declares it (pod demand), so that an Event can be put on it.
    """

    namespace: str
    value_from: str
    origin: str
    demander: str = CONFIG_DEMAND
    pod: str = field(default="", compare=False)
    pod_uid: str = field(default="", compare=False)


@dataclass(frozen=True, order=True)
class StateObject:
    """A Kubernetes object recorded in the stack's state: what Pulumi would update or delete, by name.

    ``uid`` is the uid the state recorded (empty when unknown); ``urn`` names it for ``pulumi state delete``.
    """

    kind: str
    namespace: str  # "" for a cluster-scoped object
    name: str
    urn: str = field(default="", compare=False)
    uid: str = field(default="", compare=False)
    # What the last run asked for (a Secret's or ConfigMap's inputs): its annotations, and whether it gave data.
    annotations: Mapping[str, str] = field(default_factory=dict, compare=False)
    has_data: bool = field(default=False, compare=False)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace, self.name)


@dataclass(frozen=True)
class StateValue:
    """What the state recorded of a value reader: the item and version whose data it holds, that data's keys (never the
    value), and, when known, the master it is for and the item's ``stamp`` at that version (None: an older state)."""

    arn: str
    version: str
    keys: tuple[str, ...]
    master: str = ""
    stamp: str | None = None
    # What the reader was asked for (arn, version, stamp) when it holds another version (that one could not be used).
    asked: tuple[str, str, str] | None = None


@dataclass(frozen=True)
class StackState:
    """The part of the stack's state the preflight needs: its Kubernetes objects and its value readers."""

    objects: tuple[StateObject, ...] = ()
    values: tuple[StateValue, ...] = ()
    written: float | None = None  # when the state was last written (its manifest's time, epoch seconds), if known
