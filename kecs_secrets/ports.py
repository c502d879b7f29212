"""What the core needs from the outside world, as narrow interfaces (the adapters in ``providers/`` implement them).

Tests implement them with fakes, so every planning rule runs without LocalStack or a cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from kecs_secrets.isolation import PodEvent
from kecs_secrets.model import StackState

__all__ = ["ClusterReader", "DocumentSource", "EcsApi", "EventWriter", "MetadataSource", "StateReader", "ValueReader"]


class MetadataSource(Protocol):
    """Metadata of secrets and parameters (names, ARNs, versions, types), never values.

    Any failure raises :class:`~kecs_secrets.errors.SourceUnavailableError`: a partial listing must
    never be mistaken for the truth.
    """

    def list_secrets(self, prefixes: tuple[str, ...] = ()) -> Iterable[Mapping[str, Any]]: ...

    def describe_parameters(self, path: str, prefixes: tuple[str, ...] = ()) -> Iterable[Mapping[str, Any]]: ...

    def parameter_tags(self, name: str) -> Mapping[str, str]: ...

    def account(self) -> str: ...


class ClusterReader(Protocol):
    """Read-only view of the cluster, metadata only: ``pods`` and ``objects`` give ``{"metadata": {...}}``
    per object (the core never needs a Secret's data, so an adapter never has to fetch it).

    A server that cannot be reached raises :class:`~kecs_secrets.errors.ClusterUnavailableError` (a
    preview may go on without the cluster checks); refused credentials or permissions raise
    :class:`~kecs_secrets.errors.ClusterAuthError`, any other refusal
    :class:`~kecs_secrets.errors.ClusterRequestError` (both fail every run).
    """

    def namespaces(self) -> Mapping[str, Mapping[str, str]]:
        """Every namespace, with its labels (name -> labels)."""
        ...

    def pods(self) -> list[Mapping[str, Any]]: ...

    def objects(self, kind: str, namespace: str | None) -> list[Mapping[str, Any]]: ...


class EventWriter(Protocol):
    """Writes an Event on a pod (an update only, never a preview). A failure raises a
    :class:`~kecs_secrets.errors.KecsSecretsError`, which the caller turns into a warning: an Event
    that cannot be written never fails the run."""

    def post_event(self, event: PodEvent) -> None: ...


class DocumentSource(Protocol):
    """JSON documents by path or glob (task definition files): ``[(shown path, parsed document), ...]``.

    A glob that matches nothing gives an empty list; an unreadable or invalid file raises
    :class:`~kecs_secrets.errors.ConfigError` naming it.
    """

    def documents(self, pattern: str) -> list[tuple[str, Any]]: ...


class ValueReader(Protocol):
    """Values, read only by the dynamic provider: the secret at ``version`` / the parameter at ``version``.

    A missing item or version raises :class:`~kecs_secrets.errors.SourceGoneError`.
    """

    def read_secret(self, arn: str, version: str) -> Mapping[str, Any]: ...

    def read_parameter(self, name: str, version: str) -> Mapping[str, Any]: ...


class StateReader(Protocol):
    """The stack's own state, as the last run left it (never a value).

    Failures raise :class:`~kecs_secrets.errors.StateUnavailableError`.
    """

    def read(self) -> StackState: ...


class EcsApi(Protocol):
    """The read side of an ECS API (KECS's own, or AWS), in the API's own shapes (``describe_*`` answers).

    Paging and batching are the adapter's (the API's limits); any failure raises
    :class:`~kecs_secrets.errors.SourceUnavailableError` naming the call and the endpoint, never a partial answer:
    a demand source that could not be read must never look like "nobody needs anything".
    """

    def clusters(self) -> list[str]:
        """Every cluster's ARN."""
        ...

    def services(self, cluster: str) -> list[Mapping[str, Any]]:
        """Every service of ``cluster`` (name or ARN), described."""
        ...

    def tasks(self, cluster: str) -> list[Mapping[str, Any]]:
        """Every pending or running task of ``cluster`` (desired status RUNNING), described."""
        ...

    def task_definition(self, arn: str) -> Mapping[str, Any]:
        """One task definition (any status), described."""
        ...

    def active_revisions(self, family: str) -> list[str]:
        """The ARNs of the ACTIVE revisions of ``family`` (exactly that family, not every family it prefixes)."""
        ...
