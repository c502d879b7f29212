"""A watch on every pod (metadata is enough: the demand is in annotations), with the official client's ``watch``.

Lists once, then watches from the list's resourceVersion; after a disconnect it resumes from the last
resourceVersion it saw (bookmarks keep it fresh), after ``410 Gone`` (the version has been compacted) it lists
again; a watch that has said nothing, not even a bookmark, for ``silence`` seconds is dropped and started
again (a stalled connection can look alive for a long time). Every pod seen goes to ``on_pod`` (with
True when it was deleted); every restart is counted by reason through ``on_restart``; ``last_contact`` is when the API server
last answered, for the readiness check.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import ReadTimeoutError

from providers.kube import connect

__all__ = ["PodWatch"]

log = logging.getLogger(__name__)

SERVER_TIMEOUT = 60  # seconds the API server keeps one watch open before it ends it (then we resume)
RETRY_SECONDS = 2.0


class PodWatch:
    def __init__(
        self,
        kubeconfig: str,
        context: str,
        on_pod: Callable[[Mapping[str, Any], bool], None],
        on_restart: Callable[[str], None] = lambda reason: None,
        silence: float = 90.0,
    ) -> None:
        self._kubeconfig, self._context = kubeconfig, context
        self._on_pod, self._on_restart, self._silence = on_pod, on_restart, silence
        self._stop = threading.Event()
        self.last_contact = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="pod-watch", daemon=True)

    def start(self) -> PodWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        version: str | None = None  # the last resourceVersion seen (None: list first)
        api: client.CoreV1Api | None = None
        while not self._stop.is_set():
            try:
                if api is None:
                    api = client.CoreV1Api(connect(self._kubeconfig, self._context)[0])
                if version is None:
                    version = self._list(api)
                for seen in self._watch(api, version):
                    version = seen
            except ApiException as err:
                if err.status == 410:  # Gone: the version was compacted away; list again
                    version = None
                    self._on_restart("gone")
                    continue
                self._on_restart("error")
                log.warning("pod watch: HTTP %s from the API server; retrying in %.0fs", err.status, RETRY_SECONDS)
                self._stop.wait(RETRY_SECONDS)
            except ReadTimeoutError:  # nothing, not even a bookmark, for `silence` seconds: start again from version
                self._on_restart("silent")
                api = None
            except Exception as err:  # the API server away, a reset connection: wait, resume from version
                self._on_restart("disconnected")
                log.warning("pod watch: %s; retrying in %.0fs", type(err).__name__, RETRY_SECONDS)
                api = None
                self._stop.wait(RETRY_SECONDS)

    def _list(self, api: client.CoreV1Api) -> str:
        listed = api.list_pod_for_all_namespaces(_request_timeout=30)
        self.last_contact = time.monotonic()
        for pod in listed.items:
            self._on_pod(api.api_client.sanitize_for_serialization(pod), False)
        return str(listed.metadata.resource_version)

    def _watch(self, api: client.CoreV1Api, version: str) -> Iterator[str]:
        """Watch from ``version`` until the server ends the watch (after SERVER_TIMEOUT); yields each version seen."""
        for event in watch.Watch().stream(
            api.list_pod_for_all_namespaces,
            resource_version=version,
            allow_watch_bookmarks=True,
            timeout_seconds=SERVER_TIMEOUT,
            deserialize=False,
            _request_timeout=(10, self._silence),  # read timeout: silence this long drops the connection
        ):
            self.last_contact = time.monotonic()
            if self._stop.is_set():
                return
            pod = event.get("object") or {}
            seen = (pod.get("metadata") or {}).get("resourceVersion")
            if event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                self._on_pod(pod, event.get("type") == "DELETED")
            if seen:
                yield str(seen)
        self.last_contact = time.monotonic()
