"""Leader election through a coordination.k8s.io/v1 Lease, over the official client's ``kubernetes.leaderelection``.

Several watch processes of one stack (a Deployment's pods, old and new, during a rollout or after a node
failure) campaign for one Lease; only the holder runs updates. :class:`LeaderElection` runs the library's
election in a daemon thread and answers :meth:`LeaderElection.is_leader` for the loop to ask before it starts
an update. A process that loses the Lease stops leading (``on_stopped``) and campaigns again as a follower.

The library (kubernetes 37.0.0) is used as it is, with these minimal corrections in the adapter:

- ``LeaseLock`` talks through the process-wide default client (``client.CoordinationV1Api()``): it gets the
  API client of :func:`providers.kube.connect` instead (the program's kubeconfig search, in-cluster
  service account included).
- Its requests have no timeout and only ``ApiException`` is caught: a server that cannot be reached makes
  ``run()`` raise, the election thread ends without calling ``onstopped_leading``, and the process would go
  on believing it leads. Here every Lease request has a timeout and a network error becomes a failed
  attempt, as an error answer is: the leader stops leading after ``renew_deadline``, the follower retries.
- It reports failures only as INFO logs (a missing RBAC grant looks like waiting forever): each new failure
  is reported here once, as one project error line (``warn``), and again only after a success.
- The leader's renew deadline is checked between attempts only, so it can still believe it leads while an
  attempt hangs: :meth:`LeaderElection.is_leader` is also false once ``renew_deadline`` has passed since the
  last renewal the server accepted (counted from the moment it was sent), before any other candidate may
  take the Lease (``lease_seconds`` after it saw that renewal).
- It calls ``onstarted_leading`` in a thread of its own, which can run after that term already ended (the
  renewal failed at once): a late call is ignored, so ``leading`` is never set after ``on_stopped``.
- ``Config`` calls ``sys.exit`` on bad timings: they are checked first here (:class:`ConfigError`).
- It never gives the Lease back: :meth:`LeaderElection.stop` does (holder cleared), so a successor leads at
  once instead of after ``lease_seconds``.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.leaderelection import electionconfig, leaderelection
from kubernetes.leaderelection.resourcelock.leaselock import LeaseLock

from kecs_secrets.errors import ClusterAuthError, ClusterRequestError, ClusterUnavailableError, ConfigError, KecsSecretsError
from providers.kube import _network_reason, _status_message, connect

__all__ = ["DEFAULT_LEASE_SECONDS", "DEFAULT_RENEW_DEADLINE", "DEFAULT_RETRY_PERIOD", "LeaderElection", "check_timings", "default_identity"]

DEFAULT_LEASE_SECONDS = 15  # a follower takes an unrenewed Lease this long after it last saw it change
DEFAULT_RENEW_DEADLINE = 10  # the leader stops leading when it could not renew for this long
DEFAULT_RETRY_PERIOD = 2  # between renewals, and between a follower's attempts
JITTER = 1.2  # the library's: renew_deadline must exceed retry_period * JITTER

log = logging.getLogger(__name__)


def default_identity() -> str:
    """``<hostname>_<pid>``: a pod's name in a cluster (its hostname), unique among live candidates."""
    return f"{socket.gethostname()}_{os.getpid()}"


def check_timings(lease_seconds: float, renew_deadline: float, retry_period: float) -> None:
    """The library's rules (it would ``sys.exit``), as a ConfigError."""
    if min(lease_seconds, renew_deadline, retry_period) < 1:
        timings = f"lease {lease_seconds}s, renew deadline {renew_deadline}s, retry {retry_period}s"
        raise ConfigError(f"leader election: {timings}: each must be >= 1s")
    if lease_seconds <= renew_deadline:
        raise ConfigError(f"leader election: lease {lease_seconds}s must be longer than the renew deadline {renew_deadline}s")
    if renew_deadline <= JITTER * retry_period:
        raise ConfigError(f"leader election: renew deadline {renew_deadline}s must exceed {JITTER} x the retry period {retry_period}s")


class _Leases(client.CoordinationV1Api):
    """The three Lease calls the library's ``LeaseLock`` makes, each with a timeout, a network error turned into
    an ``ApiException`` (status 0: a failed attempt to the library), and failures reported once each."""

    def __init__(self, election: LeaderElection, api_client: client.ApiClient, timeout: float) -> None:
        super().__init__(api_client)
        self._election = election
        self._timeout = timeout

    def read_namespaced_lease(self, name: str, namespace: str, **kwargs: Any) -> Any:
        self._refuse_when_stopping()
        return self._call("reading", super().read_namespaced_lease, name, namespace, **kwargs)

    def create_namespaced_lease(self, namespace: str, body: Any, **kwargs: Any) -> Any:
        self._refuse_when_stopping()
        sent = time.monotonic()
        made = self._call("creating", super().create_namespaced_lease, namespace, body, **kwargs)
        self._election._renewed(made, sent)
        return made

    def replace_namespaced_lease(self, name: str, namespace: str, body: Any, **kwargs: Any) -> Any:
        self._refuse_when_stopping()
        sent = time.monotonic()
        written = self._call("renewing", super().replace_namespaced_lease, name, namespace, body, **kwargs)
        self._election._renewed(written, sent)
        return written

    def _refuse_when_stopping(self) -> None:
        """A stopped candidate asks and writes nothing more (to the library: a failed attempt)."""
        if self._election.stopping.is_set():
            raise ApiException(status=0, reason="stopped")

    def _call(self, doing: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("_request_timeout", self._timeout)
        try:
            answer = method(*args, **kwargs)
        except ApiException as err:
            # 404 on a read (no Lease yet) and 409 (another candidate wrote first) are the election's normal course.
            if not ((err.status == 404 and doing == "reading") or err.status == 409):
                self._election._failed(self._error(doing, err.status or 0, _status_message(err.body)))
            raise
        except (urllib3.exceptions.HTTPError, OSError) as err:
            reason = _network_reason(err)
            server = self.api_client.configuration.host
            self._election._failed(ClusterUnavailableError(f"cannot reach the Kubernetes API at {server}: {reason}"))
            raise ApiException(status=0, reason=reason) from None
        self._election._succeeded()
        return answer

    def _error(self, doing: str, status: int, detail: str) -> KecsSecretsError:
        election = self._election
        where = f"Kubernetes API {self.api_client.configuration.host}, {doing} Lease {election.namespace}/{election.name}: HTTP {status}"
        where += f": {detail}" if detail else ""
        if status in (401, 403):
            return ClusterAuthError(f"{where} (user {election.cluster_user})")
        if status == 429 or status >= 500:
            return ClusterUnavailableError(where)
        return ClusterRequestError(where)


class LeaderElection:
    """One candidate for one Lease. :meth:`start` campaigns in a daemon thread; :meth:`is_leader` says whether to
    start an update now; ``leading`` is set while it leads (to wait on). ``on_started`` / ``on_stopped`` are
    called once per term, from the election's threads: keep them short (set a flag, wake the loop)."""

    def __init__(
        self,
        kubeconfig: str,
        context: str | None,
        namespace: str,
        name: str,
        identity: str | None = None,
        on_started: Callable[[], None] | None = None,
        on_stopped: Callable[[], None] | None = None,
        *,
        lease_seconds: int = DEFAULT_LEASE_SECONDS,
        renew_deadline: int = DEFAULT_RENEW_DEADLINE,
        retry_period: int = DEFAULT_RETRY_PERIOD,
        warn: Callable[[str], None] = log.warning,
    ) -> None:
        check_timings(lease_seconds, renew_deadline, retry_period)
        if not namespace or not name:
            raise ConfigError("leader election: the Lease's namespace and name must be given")
        self.namespace, self.name = namespace, name
        self.identity = identity or default_identity()
        self.renew_deadline = renew_deadline
        self.leading = threading.Event()
        self.stopping = threading.Event()
        self._on_started = on_started or (lambda: None)
        self._on_stopped = on_stopped or (lambda: None)
        self._warn = warn
        self._term = threading.Lock()
        self._ended = 0  # the last term (one run of the library's election) that has ended
        self._renewed_at = float("-inf")
        self._reported = ""
        api_client, cluster = connect(kubeconfig, context or "")
        self.cluster_user = f"{cluster.user!r} of context {cluster.context!r}"
        self._leases = _Leases(self, api_client, timeout=max(1.0, min(5.0, renew_deadline / 2)))
        self._lease_lock = LeaseLock(name, namespace, self.identity)
        self._lease_lock.api_instance = self._leases  # instead of the process-wide default client
        self._timings = (lease_seconds, renew_deadline, retry_period)
        self._thread = threading.Thread(target=self._campaign, name=f"lease {namespace}/{name}", daemon=True)

    def start(self) -> LeaderElection:
        """Campaign from now on (in a daemon thread); ``LeaderElection(...).start()`` is the usual call."""
        self._thread.start()
        return self

    def is_leader(self) -> bool:
        """Leading, and the last renewal the server accepted was sent less than ``renew_deadline`` ago."""
        return self.leading.is_set() and time.monotonic() - self._renewed_at < self.renew_deadline

    def stop(self, release: bool = True) -> None:
        """Stop campaigning and leading (``on_stopped`` if it led); with ``release``, give the Lease back if this
        candidate still holds it, so that another takes it at once. Best effort: a renewal already in flight
        can land after the release, and then the successor waits ``lease_seconds``."""
        self.stopping.set()
        self._stopped()
        if release:
            self._release()

    # ---- the library's callbacks and the election thread -------------------------------------------------

    def _campaign(self) -> None:
        term = 0
        while not self.stopping.is_set():
            term += 1
            started = functools.partial(self._started, term)
            config = electionconfig.Config(self._lease_lock, *self._timings, started, self._stopped)
            try:
                leaderelection.LeaderElection(config).run()  # returns when it lost the Lease
            except Exception as err:  # not expected (request failures are failed attempts): report, campaign again
                self._failed(ClusterRequestError(f"leader election for Lease {self.namespace}/{self.name} failed: {type(err).__name__}"))
            with self._term:
                self._ended = term
            self._stopped()
            self.stopping.wait(self._timings[2])

    def _started(self, term: int) -> None:
        """The library calls it in a thread of its own, which may run after that term already ended: then not."""
        with self._term:
            if self.stopping.is_set() or self.leading.is_set() or term <= self._ended:
                return
            self.leading.set()
        self._on_started()

    def _stopped(self) -> None:
        with self._term:
            if not self.leading.is_set():
                return
            self.leading.clear()
        self._on_stopped()

    def _renewed(self, lease: Any, sent: float) -> None:
        if getattr(getattr(lease, "spec", None), "holder_identity", None) == self.identity:
            self._renewed_at = sent

    def _failed(self, error: KecsSecretsError) -> None:
        line = f"{type(error).__name__}: {error}"
        if line != self._reported:
            self._reported = line
            self._warn(line)

    def _succeeded(self) -> None:
        self._reported = ""

    def _release(self) -> None:
        api = client.CoordinationV1Api(self._leases.api_client)
        options = {"_request_timeout": self._leases._timeout}
        try:
            lease = api.read_namespaced_lease(self.name, self.namespace, **options)
            if lease.spec is None or lease.spec.holder_identity != self.identity:
                return
            now = datetime.now(UTC)
            lease.spec.holder_identity = None
            lease.spec.lease_duration_seconds = 1
            lease.spec.acquire_time = lease.spec.renew_time = now
            api.replace_namespaced_lease(self.name, self.namespace, lease, **options)  # 409: someone wrote first
        except ApiException as err:
            if err.status not in (404, 409):
                self._failed(self._leases._error("releasing", err.status or 0, _status_message(err.body)))
        except (urllib3.exceptions.HTTPError, OSError) as err:
            where = f"Lease {self.namespace}/{self.name}"
            self._failed(ClusterUnavailableError(f"cannot reach the Kubernetes API to release {where}: {_network_reason(err)}"))


# ---- python -m providers.leader: one candidate, for tests and for trying an election by hand -----------------


def main(argv: list[str] | None = None) -> int:
    """Campaign for the Lease; print ``leading <identity>`` / ``stopped <identity>`` at each change; on SIGTERM or
    SIGINT give the Lease back and exit 0. A failure of the election is one line on stderr, and it goes on."""
    parser = argparse.ArgumentParser(prog="python -m providers.leader", description=main.__doc__)
    parser.add_argument("--kubeconfig", default="", help="kubeconfig file (default: KUBECONFIG, ~/.kube/config, in-cluster)")
    parser.add_argument("--context", default=None)
    parser.add_argument("--namespace", required=True, help="the Lease's namespace")
    parser.add_argument("--name", required=True, help="the Lease's name")
    parser.add_argument("--identity", default=None, help="this candidate (default: <hostname>_<pid>)")
    parser.add_argument("--lease-seconds", type=int, default=DEFAULT_LEASE_SECONDS)
    parser.add_argument("--renew-deadline", type=int, default=DEFAULT_RENEW_DEADLINE)
    parser.add_argument("--retry-period", type=int, default=DEFAULT_RETRY_PERIOD)
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        print(line, flush=True)

    def warn(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        election = LeaderElection(
            args.kubeconfig, args.context, args.namespace, args.name, args.identity,
            lambda: say(f"leading {election.identity}"), lambda: say(f"stopped {election.identity}"),
            lease_seconds=args.lease_seconds, renew_deadline=args.renew_deadline, retry_period=args.retry_period, warn=warn,
        )  # fmt: skip
    except KecsSecretsError as err:
        warn(f"{type(err).__name__}: {err}")
        return 1
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    election.start()
    done.wait()
    election.stop(release=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
