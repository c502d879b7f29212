"""Demand from a live ECS API: which task definitions are in use in each cluster, and the secrets they reference.

What counts as in use, per cluster: each service's ``taskDefinition`` and the ``taskDefinition`` of every
deployment still rolling out (status PRIMARY or ACTIVE), and the ``taskDefinitionArn`` of every pending or
running task; with ``allRevisions``, also every ACTIVE revision of the families in use. Every field through
which ECS resolves a secret counts (:data:`SECRET_FIELDS`), and its demand goes to the ECS cluster namespace
``<cluster>-<region>``.

This is tenant demand (whoever may register task definitions and run services brings it): a malformed
entry is skipped and reported on itself, never fails the run, and every reference names where it came
from (cluster, service or task, task definition ARN, container, field). The origin of every reference
made here starts with :data:`ECS_ORIGIN`, so rules about tenant demand can recognise it.

:func:`read_ecs_demand` walks the API through the :class:`~kecs_secrets.ports.EcsApi` port, fetching each
distinct task definition once; :func:`ecs_references` and :func:`task_definition_secrets` are pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from kecs_secrets.config import EcsDemandSettings
from kecs_secrets.demand import StackScope, demand_namespace_problem
from kecs_secrets.model import ECS_DEMAND, Reference
from kecs_secrets.naming import ecs_cluster_namespace, is_dns1123_label
from kecs_secrets.ports import EcsApi

__all__ = [
    "ECS_ORIGIN",
    "SECRET_FIELDS",
    "EcsDemand",
    "EcsUser",
    "SecretField",
    "counted_references",
    "ecs_references",
    "is_ecs_origin",
    "read_ecs_demand",
    "task_definition_secrets",
]

ECS_ORIGIN = "ECS "
# The three places of a container definition through which ECS resolves a secret.
SECRET_FIELDS = (
    "secrets[].valueFrom",
    "repositoryCredentials.credentialsParameter",
    "logConfiguration.secretOptions[].valueFrom",
)
_KIND_ORDER = {"service": 0, "deployment": 1, "task": 2, "revision": 3}
_LIVE_DEPLOYMENTS = ("PRIMARY", "ACTIVE")


def is_ecs_origin(origin: str) -> bool:
    """Whether a reference's origin is the ECS API (tenant demand)."""
    return origin.startswith(ECS_ORIGIN)


def _last(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


@dataclass(frozen=True, order=True)
class EcsUser:
    """One user of a task definition in a cluster: a service (its current one, or a deployment's), a task, or a
    revision of a family in use (``allRevisions``)."""

    cluster: str  # the cluster's name
    kind: str  # "service" | "deployment" | "task" | "revision"
    name: str  # service name, task id, or family
    task_definition: str  # ARN
    arn: str = ""  # the service's or task's ARN

    def shown(self) -> str:
        if self.kind == "deployment":
            return f"service {self.cluster}/{self.name} (a deployment in progress)"
        if self.kind == "revision":
            return f"ACTIVE revision of family {self.name} in use in cluster {self.cluster}"
        return f"{self.kind} {self.cluster}/{self.name}"


@dataclass(frozen=True)
class SecretField:
    """One secret reference in a task definition: which container, which field, what it names."""

    container: str
    field: str  # e.g. "secrets[0] DB_PASSWORD", "repositoryCredentials.credentialsParameter"
    value_from: str


@dataclass(frozen=True)
class EcsDemand:
    """What one run read from the ECS API: the users of task definitions, and the task definitions themselves."""

    region: str
    users: tuple[EcsUser, ...] = ()
    task_definitions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # ARN -> described

    def services(self) -> list[EcsUser]:
        """Each service with its current task definition (what ``restartOnChange`` restarts)."""
        return [user for user in self.users if user.kind == "service"]


def read_ecs_demand(api: EcsApi, settings: EcsDemandSettings) -> EcsDemand:
    """Walk the API: clusters, their services and tasks, then each distinct task definition once.

    Failures of the API propagate (the adapter raises SourceUnavailableError): nothing is guessed.
    """
    clusters = list(settings.clusters) or sorted(_last(arn) for arn in api.clusters())
    users: set[EcsUser] = set()
    for cluster in clusters:
        for service in api.services(cluster):
            if service.get("status") == "INACTIVE" or not isinstance(service.get("serviceName"), str):
                continue
            name, arn = service["serviceName"], str(service.get("serviceArn", ""))
            current = service.get("taskDefinition")
            if isinstance(current, str) and current:
                users.add(EcsUser(cluster, "service", name, current, arn))
            for deployment in service.get("deployments") or ():
                used = deployment.get("taskDefinition") if isinstance(deployment, Mapping) else None
                if isinstance(used, str) and used and used != current and deployment.get("status") in _LIVE_DEPLOYMENTS:
                    users.add(EcsUser(cluster, "deployment", name, used, arn))
        for task in api.tasks(cluster):
            used, arn = task.get("taskDefinitionArn"), str(task.get("taskArn", ""))
            if isinstance(used, str) and used and task.get("desiredStatus", "RUNNING") == "RUNNING":
                users.add(EcsUser(cluster, "task", _last(arn), used, arn))
    # A service may name its task definition "family:revision": its full ARN is what the description says.
    described: dict[str, Mapping[str, Any]] = {}
    canonical: dict[str, str] = {}
    for given in sorted({user.task_definition for user in users}):
        document = api.task_definition(given)
        arn = document.get("taskDefinitionArn")
        canonical[given] = arn if isinstance(arn, str) and arn else given
        described[canonical[given]] = document
    users = {replace(user, task_definition=canonical[user.task_definition]) for user in users}
    if settings.all_revisions:
        users |= _revisions(api, users, described)
    return EcsDemand(settings.region, tuple(sorted(users, key=_user_order)), described)


def _revisions(api: EcsApi, users: Iterable[EcsUser], described: dict[str, Mapping[str, Any]]) -> set[EcsUser]:
    """Every ACTIVE revision of each family in use, as a user in each cluster that uses the family (described once)."""
    in_use: dict[str, set[str]] = {}
    for user in users:
        family = described.get(user.task_definition, {}).get("family")
        if isinstance(family, str) and family:
            in_use.setdefault(family, set()).add(user.cluster)
    found: set[EcsUser] = set()
    for family in sorted(in_use):
        for arn in api.active_revisions(family):
            if arn not in described:
                described[arn] = api.task_definition(arn)
            found |= {EcsUser(cluster, "revision", family, arn) for cluster in in_use[family]}
    return found


def _user_order(user: EcsUser) -> tuple[str, int, str, str]:
    return (user.cluster, _KIND_ORDER.get(user.kind, 9), user.name, user.task_definition)


def task_definition_secrets(document: Any) -> tuple[list[SecretField], list[str]]:
    """The secret references of one described task definition, and one problem line per malformed entry (skipped)."""
    if not isinstance(document, Mapping) or not isinstance(document.get("containerDefinitions"), list):
        return [], ["it has no list 'containerDefinitions'"]
    found: list[SecretField] = []
    problems: list[str] = []
    for index, container in enumerate(document["containerDefinitions"]):
        if not isinstance(container, Mapping):
            problems.append(f"containerDefinitions[{index}] is not an object")
            continue
        name = container.get("name") if isinstance(container.get("name"), str) else f"#{index}"
        entries = [(f"secrets[{i}]", s) for i, s in enumerate(_list(container, "secrets", problems, name))]
        credentials = container.get("repositoryCredentials")
        if credentials is not None:
            entries.append(("repositoryCredentials", credentials))
        log = container.get("logConfiguration")
        if isinstance(log, Mapping):
            entries += [(f"logConfiguration.secretOptions[{i}]", s) for i, s in enumerate(_list(log, "secretOptions", problems, name))]
        for where, entry in entries:
            key = "credentialsParameter" if where == "repositoryCredentials" else "valueFrom"
            value = entry.get(key) if isinstance(entry, Mapping) else None
            if not isinstance(value, str) or not value.strip():
                problems.append(f"container {name} {where} has no string '{key}'")
                continue
            label = entry.get("name") if where != "repositoryCredentials" else None
            shown = f"{where}.{key}" + (f" ({label})" if isinstance(label, str) else "")
            found.append(SecretField(name, shown, value))
    return found, problems


def _list(holder: Mapping[str, Any], key: str, problems: list[str], container: str) -> list[Any]:
    value = holder.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(f"container {container} {key} is not a list")
        return []
    return value


def ecs_references(demand: EcsDemand) -> tuple[list[Reference], list[str]]:
    """One reference per (namespace, task definition, field), naming its first user (and how many more share it);
    one warning per task definition with malformed entries (those entries are skipped, the rest counts)."""
    groups: dict[tuple[str, str], list[EcsUser]] = {}
    for user in demand.users:
        groups.setdefault((ecs_cluster_namespace(user.cluster, demand.region), user.task_definition), []).append(user)
    refs: list[Reference] = []
    warnings: list[str] = [
        f"{ECS_ORIGIN}cluster {cluster!r} ignored: its namespace {namespace!r} is not a valid namespace name"
        for cluster, namespace in sorted({(u.cluster, ecs_cluster_namespace(u.cluster, demand.region)) for u in demand.users})
        if not is_dns1123_label(namespace)
    ]
    groups = {key: users for key, users in groups.items() if is_dns1123_label(key[0])}
    for arn in sorted({user.task_definition for user in demand.users}):
        fields, problems = task_definition_secrets(demand.task_definitions.get(arn))
        if problems:
            users = sorted({u.shown() for u in demand.users if u.task_definition == arn})
            warnings.append(
                f"{ECS_ORIGIN}task definition {arn} (used by {', '.join(users)}): skipped entries: {'; '.join(problems)}"
            )
        for (namespace, used), users in sorted(groups.items()):
            if used != arn:
                continue
            first = min(users, key=_user_order)
            more = f" and {len(users) - 1} more" if len(users) > 1 else ""
            for found in fields:
                origin = f"{ECS_ORIGIN}{first.shown()}{more}, task definition {arn}, container {found.container}, {found.field}"
                refs.append(Reference(namespace, found.value_from, origin, ECS_DEMAND))
    return refs, warnings


def counted_references(
    refs: Iterable[Reference],
    namespaces: Mapping[str, Mapping[str, str]] | None,
    *,
    allowed: Iterable[str] = (),
    refused: Iterable[str] = (),
    scope: StackScope | None = None,
) -> tuple[list[Reference], list[str]]:
    """The references whose namespace may receive secrets, and one warning per namespace whose demand is ignored.

    ``namespaces`` None (an offline preview, no cluster) keeps every reference. A namespace outside ``scope``
    (another region's, or a cluster the stack does not serve) is another stack's: its demand is dropped quietly.
    """
    refs = list(refs)
    if namespaces is None:
        return refs, []
    allowed, refused = tuple(allowed), tuple(refused)
    problems = {ns: demand_namespace_problem(ns, namespaces, allowed, refused) for ns in {ref.namespace for ref in refs}}
    if scope is not None:
        theirs = {ns for ns, problem in problems.items() if not problem and ns not in allowed and scope.problem(namespaces[ns])}
        refs = [ref for ref in refs if ref.namespace not in theirs]
    warnings = [
        f"{ECS_ORIGIN}demand for namespace {ns!r} ignored: it may not receive secrets ({problem})"
        for ns, problem in sorted(problems.items())
        if problem
    ]
    return [ref for ref in refs if not problems[ref.namespace]], warnings
