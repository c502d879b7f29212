"""The ClusterReader port over the official Kubernetes Python client: read-only, and metadata only.

Where the cluster is and who we are come from the client's own loader, the way kubectl finds them:
the stack's ``kecs-secrets:kubeconfig`` (one file), else ``$KUBECONFIG``
(several files are merged, missing ones skipped), else ``~/.kube/config``, else the in-cluster service
account. So every user a cluster hands out works: client certificates, ``token``, ``tokenFile``, exec
credential plugins (EKS, GKE, AKS), auth providers (oidc), with contexts, ``proxy-url`` and
``tls-server-name``. This is the same search the Kubernetes provider makes with the same settings.

Lists ask the API server for ``PartialObjectMetadataList``: only metadata crosses the wire, never a
Secret's data. Failures: 401/403 raise :class:`ClusterAuthError` naming the context and the user (they
fail preview and update alike); a server that cannot be reached (or answers 429/5xx) raises
:class:`ClusterUnavailableError` (a preview may go on without the cluster checks); any other answer
raises :class:`ClusterRequestError`; a kubeconfig that cannot be used raises :class:`ConfigError`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import ssl
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.kube_config import KubeConfigLoader, KubeConfigMerger

from kecs_secrets.errors import ClusterAuthError, ClusterRequestError, ClusterUnavailableError, ConfigError
from kecs_secrets.isolation import PodEvent

__all__ = ["METADATA_ONLY", "ClusterIdentity", "KubeReader", "connect"]

METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
FULL_OBJECTS = "application/json"
PAGE_SIZE = 500
REQUEST_TIMEOUT = 15.0  # seconds, per request
DEFAULT_KUBECONFIG = "~/.kube/config"
EVENT_COMPONENT = "kecs-secrets"  # the source and reporting component of the Events it puts on pods


@dataclass(frozen=True)
class ClusterIdentity:
    """Who talks to which API server, as errors name it (no credential in it)."""

    server: str
    context: str
    user: str
    source: str  # "kubeconfig <paths>" or "in-cluster service account"

    def __str__(self) -> str:
        return f"user {self.user!r} of context {self.context!r} ({self.source})"


# ---- connecting -------------------------------------------------------------------------------------------


def _kubeconfig_files(configured: str) -> str | None:
    """The kubeconfig file list to load (``:``-joined), or None for the in-cluster service account."""
    if configured:
        # One file, as the Kubernetes provider takes it (several files: leave it empty and use KUBECONFIG).
        path = os.path.expanduser(configured)
        if not os.path.isfile(path):
            raise ConfigError(f"config kecs-secrets:kubeconfig: {path!r} is not a readable file")
        return path
    env = os.environ.get("KUBECONFIG", "")
    if env:
        paths = [os.path.expanduser(p) for p in env.split(os.pathsep) if p]
        if not any(os.path.isfile(p) for p in paths):
            raise ConfigError(f"KUBECONFIG={env!r} names no existing file")
        return env
    if os.path.isfile(os.path.expanduser(DEFAULT_KUBECONFIG)):
        return os.path.expanduser(DEFAULT_KUBECONFIG)
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return None
    raise ConfigError(
        "no kubeconfig: set kecs-secrets:kubeconfig or KUBECONFIG, create ~/.kube/config, or run in a pod (in-cluster service account)"
    )


class _Captured(logging.Handler):
    """Collects what the client's loader logs (it logs an exec plugin's failure and goes on without credentials)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _capture_loader_errors() -> Iterator[_Captured]:
    handler = _Captured()
    root = logging.getLogger()
    root.addHandler(handler)  # with a handler in place, logging.error() does not print to stderr either
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def _first_line(text: str, limit: int = 300) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[:limit] + "..."


def connect(kubeconfig: str = "", context: str = "") -> tuple[client.ApiClient, ClusterIdentity]:
    """An API client and who it is, from the kubeconfig (or the in-cluster service account) as described above."""
    files = _kubeconfig_files(kubeconfig)
    configuration = client.Configuration()
    if files is None:
        try:
            config.load_incluster_config(client_configuration=configuration)
        except ConfigException as err:
            raise ConfigError(f"in-cluster service account: {_first_line(str(err))}") from None
        identity = ClusterIdentity(configuration.host, "(in-cluster)", "(service account)", "in-cluster service account")
        return client.ApiClient(configuration), identity
    source = f"kubeconfig {files}"
    try:
        merged = KubeConfigMerger(files)
    except (ConfigException, OSError) as err:
        raise ConfigError(f"{source}: {_first_line(str(err))}") from None
    except Exception as err:  # a YAML error of any kind
        raise ConfigError(f"{source}: not a valid kubeconfig ({type(err).__name__})") from None
    if merged.config is None:
        raise ConfigError(f"{source}: no configuration in it")
    contexts = {str(entry.get("name")): entry.get("context") or {} for entry in _entries(merged.config, "contexts")}
    # As kubectl and client-go (so the Kubernetes provider) do: the first file that sets current-context wins.
    name = context or next((str(c) for path in merged.paths if (c := (merged.config_files[path] or {}).get("current-context"))), "")
    if name not in contexts:
        known = ", ".join(sorted(contexts)) or "none"
        what = f"no context named {name!r}" if name else "no current-context and no kecs-secrets:kubeContext"
        raise ConfigError(f"{source}: {what} (contexts: {known})")
    user = str(contexts[name].get("user") or "(none)")
    with _capture_loader_errors() as captured:
        try:
            loader = KubeConfigLoader(config_dict=merged.config, active_context=name, config_base_path=None)
            loader.load_and_set(configuration)
        except ConfigException as err:
            raise ConfigError(f"{source}, context {name!r}: {_first_line(str(err))}") from None
        except (ValueError, TypeError, OSError) as err:  # undecodable *-data, unreadable certificate files
            problem = f"{type(err).__name__}: {_first_line(str(err))}"
            raise ConfigError(f"{source}, context {name!r}: user {user!r} or its cluster: {problem}") from None
    _check_tls_material(configuration, f"{source}, context {name!r}")
    identity = ClusterIdentity(configuration.host, name, user, source)
    if captured.messages:
        # The loader logs and swallows a failing exec credential plugin (and a few other credential problems).
        raise ClusterAuthError(f"no credentials for {identity}: {_first_line(captured.messages[0])}")
    return client.ApiClient(configuration), identity


def _check_tls_material(configuration: client.Configuration, where: str) -> None:
    """A certificate authority or client certificate that is not PEM is a kubeconfig error, not an unreachable server."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # only to parse them: not the system's certificates too
    try:
        if configuration.ssl_ca_cert:
            context.load_verify_locations(cafile=configuration.ssl_ca_cert)
    except (ssl.SSLError, OSError, ValueError):
        raise ConfigError(f"{where}: the cluster's certificate authority is not a PEM certificate") from None
    try:
        if configuration.cert_file and configuration.key_file:
            context.load_cert_chain(configuration.cert_file, configuration.key_file)
    except (ssl.SSLError, OSError, ValueError):
        raise ConfigError(f"{where}: the user's client certificate or key is not valid") from None


def _entries(merged: Any, section: str) -> list[Mapping[str, Any]]:
    """The dict entries of one section (clusters, contexts, users) of a merged kubeconfig."""
    entries = []
    for entry in merged.value.get(section) or []:
        value = getattr(entry, "value", entry)
        if isinstance(value, Mapping):
            entries.append(value)
    return entries


# ---- reading ----------------------------------------------------------------------------------------------

# kind -> (API group, namespaced list method, cluster-wide list method)
_LISTS: dict[str, tuple[str, str | None, str]] = {
    "Namespace": ("core", None, "list_namespace"),
    "Pod": ("core", "list_namespaced_pod", "list_pod_for_all_namespaces"),
    "Secret": ("core", "list_namespaced_secret", "list_secret_for_all_namespaces"),
    "ConfigMap": ("core", "list_namespaced_config_map", "list_config_map_for_all_namespaces"),
    "ServiceAccount": ("core", "list_namespaced_service_account", "list_service_account_for_all_namespaces"),
    "RoleBinding": ("rbac", "list_namespaced_role_binding", "list_role_binding_for_all_namespaces"),
    "Role": ("rbac", "list_namespaced_role", "list_role_for_all_namespaces"),
    "ClusterRole": ("rbac", None, "list_cluster_role"),
}


class KubeReader:
    """The ClusterReader port (lists through the official client, metadata only unless asked otherwise) and the
    EventWriter port (the only write the program makes outside Pulumi's resources: Events on pods)."""

    def __init__(self, kubeconfig: str = "", context: str = "") -> None:
        self._api, self.identity = connect(kubeconfig, context)
        self._groups = {"core": client.CoreV1Api(self._api), "rbac": client.RbacAuthorizationV1Api(self._api)}

    def close(self) -> None:
        self._api.close()

    def __enter__(self) -> KubeReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def namespaces(self) -> dict[str, dict[str, str]]:
        """Every namespace, with its labels (name -> labels)."""
        return {ns["metadata"]["name"]: dict(ns["metadata"].get("labels") or {}) for ns in self._list("Namespace", None)}

    @property
    def api_client(self) -> client.ApiClient:
        """The official client's ApiClient, for tools that also write (the KECS stand-in, tests); never the program."""
        return self._api

    def pods(self, *, metadata_only: bool = True) -> list[Mapping[str, Any]]:
        """Every pod's metadata (its annotations carry the demand), or whole pods with ``metadata_only=False``."""
        return list(self._list("Pod", None, metadata_only=metadata_only))

    def objects(self, kind: str, namespace: str | None, *, metadata_only: bool = True) -> list[Mapping[str, Any]]:
        """Objects of one kind in one namespace (or cluster-wide): ``{"metadata": ...}`` each, unless
        ``metadata_only=False`` asks for whole objects (a Secret's data included: the program never does)."""
        if kind not in _LISTS:
            raise ValueError(f"unknown kind {kind!r}")
        return list(self._list(kind, namespace, metadata_only=metadata_only))

    def _list(self, kind: str, namespace: str | None, *, metadata_only: bool = True) -> Iterator[Mapping[str, Any]]:
        group, namespaced, everywhere = _LISTS[kind]
        api = self._groups[group]
        call: Callable[..., Any]
        if namespace and namespaced:
            call, args, where = getattr(api, namespaced), (namespace,), f"{kind} in namespace {namespace}"
        else:
            call, args, where = getattr(api, everywhere), (), f"{kind} (all namespaces)"
        headers = {"Accept": METADATA_ONLY if metadata_only else FULL_OBJECTS}
        token: str | None = None
        while True:
            page = self._read(call, args, where, headers=headers, limit=PAGE_SIZE, _continue=token)
            yield from page.get("items") or []
            token = (page.get("metadata") or {}).get("continue") or None
            if not token:
                return

    def _read(self, call: Callable[..., Any], args: tuple[str, ...], where: str, **options: Any) -> dict[str, Any]:
        server = self.identity.server
        try:
            response = call(*args, _preload_content=False, _request_timeout=REQUEST_TIMEOUT, _headers=options.pop("headers"), **options)
            return json.loads(response.data)
        except ApiException as err:
            raise self._answer_error(err, where) from None
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise ClusterUnavailableError(f"cannot reach the Kubernetes API at {server}: {_network_reason(err)}") from None
        except ValueError:
            raise ClusterRequestError(f"Kubernetes API {server}: listing {where} gave an answer that is not JSON") from None

    def post_event(self, event: PodEvent) -> None:
        """The EventWriter port: a core/v1 Warning Event on the pod (``kubectl describe pod`` shows it).

        Its name is the same on every run for the same pod and reference: when a run before made it, the
        Event is updated (count + 1, last time, message) instead of adding another. Failures raise
        :class:`ClusterUnavailableError` or :class:`ClusterRequestError` (the caller warns and goes on).
        """
        core, where = self._groups["core"], f"writing Event {event.namespace}/{event.name}"
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {
            "metadata": {"name": event.name, "namespace": event.namespace},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "namespace": event.namespace, "name": event.pod, "uid": event.pod_uid},
            "type": "Warning",
            "reason": event.reason,
            "message": event.message,
            "source": {"component": EVENT_COMPONENT},
            "reportingComponent": EVENT_COMPONENT,
            "reportingInstance": event.reporter or EVENT_COMPONENT,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        options = {"_request_timeout": REQUEST_TIMEOUT}
        try:
            try:
                core.create_namespaced_event(event.namespace, body, **options)
            except ApiException as err:
                if err.status != 409:
                    raise
                earlier = core.read_namespaced_event(event.name, event.namespace, **options)
                update = {"count": (earlier.count or 1) + 1, "lastTimestamp": now, "message": event.message}
                core.patch_namespaced_event(event.name, event.namespace, update, **options)
        except ApiException as err:
            detail = _status_message(err.body)
            raise ClusterRequestError(
                f"Kubernetes API {self.identity.server}, {where}: HTTP {err.status}" + (f": {detail}" if detail else "")
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise ClusterUnavailableError(f"cannot reach the Kubernetes API at {self.identity.server}: {_network_reason(err)}") from None

    def _answer_error(self, err: ApiException, where: str) -> Exception:
        status, server = err.status or 0, self.identity.server
        detail = _status_message(err.body)
        if status in (401, 403):
            verdict = "refused the credentials of" if status == 401 else "denies the permission to list it to"
            return ClusterAuthError(
                f"Kubernetes API {server}, listing {where}: HTTP {status}, the server {verdict} {self.identity}"
                + (f": {detail}" if detail else "")
            )
        if status == 0:  # the client's own failures (TLS handshake): the server was not reached
            return ClusterUnavailableError(f"cannot reach the Kubernetes API at {server}: {_first_line(str(err.reason))}")
        if status == 429 or status >= 500:
            return ClusterUnavailableError(f"Kubernetes API {server}, listing {where}: HTTP {status}" + (f": {detail}" if detail else ""))
        return ClusterRequestError(f"Kubernetes API {server}, listing {where}: HTTP {status}" + (f": {detail}" if detail else ""))


def _network_reason(err: Exception) -> str:
    """Why a connection failed, without urllib3's object reprs: "[Errno 111] Connection refused", "Read timed out"."""
    reason = getattr(err, "reason", None) or err
    text = str(reason)
    errno = re.search(r"\[Errno -?\d+\][^\n)]*", text)
    if errno:
        return errno.group(0).strip()
    return _first_line(text.split(">: ", 1)[-1])


def _status_message(body: Any) -> str:
    """The message of a Kubernetes Status answer (it names the user and the verb, never a value)."""
    try:
        return _first_line(str(json.loads(body).get("message") or ""))
    except (TypeError, ValueError, AttributeError):
        return ""
