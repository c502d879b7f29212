"""Leader election through a Lease (providers/leader.py, over the official client's ``kubernetes.leaderelection``)
against the real control plane: candidates are separate processes (``python -m providers.leader``), killed for real.

Every wait has a bound only so that a broken run fails instead of hanging; nothing asserts how fast it went.
"""

from __future__ import annotations

import os
import queue
import secrets as random
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import pytest
import yaml

from kecs_secrets.errors import ConfigError
from providers.leader import LeaderElection, check_timings
from tests.provider import test_kube_reader
from tests.support.cluster import KubeAdmin
from tests.support.kubeconfigs import admin_cluster, kubeconfig, write
from tests.support.real import ROOT

admin_kubeconfig = test_kube_reader.admin_kubeconfig
admin = test_kube_reader.admin

# Short timings, so that a takeover is seconds; the bounds below are generous multiples of them.
LEASE, RENEW, RETRY = 6, 4, 1
TIMINGS = ["--lease-seconds", str(LEASE), "--renew-deadline", str(RENEW), "--retry-period", str(RETRY)]
BOUND = 90  # seconds: long enough for a loaded machine, short enough for a hung run to fail


class Candidate:
    """One ``python -m providers.leader`` process and the lines it printed (read by a thread, in order)."""

    def __init__(self, kubeconfig_path: str, namespace: str, lease: str, identity: str) -> None:
        self.identity = identity
        self.process = subprocess.Popen(
            [sys.executable, "-m", "providers.leader", "--kubeconfig", kubeconfig_path, "--namespace", namespace, "--name", lease,
             "--identity", identity, *TIMINGS],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.errors: list[str] = []
        self.readers = [threading.Thread(target=self._read, args=(self.process.stdout, self.lines.put), daemon=True),
                        threading.Thread(target=self._read, args=(self.process.stderr, self.errors.append), daemon=True)]
        for reader in self.readers:
            reader.start()

    @staticmethod
    def _read(stream, put) -> None:
        for line in stream:
            put(line.rstrip("\n"))

    def said(self, line: str) -> bool:
        """Whether it has printed ``line`` by now (without waiting)."""
        while True:
            try:
                self.seen.append(self.lines.get_nowait())
            except queue.Empty:
                return line in self.seen

    def kill(self, signum: int = signal.SIGKILL) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        self.process.wait(timeout=60)
        for reader in self.readers:  # to the end of what it printed
            reader.join(timeout=60)
        for stream in (self.process.stdout, self.process.stderr):
            stream.close()


@pytest.fixture
def lease_namespace(admin: KubeAdmin):
    namespace = f"lease-{random.token_hex(4)}"
    admin.create_namespace(namespace)
    yield namespace
    admin.delete_namespace(namespace)


@pytest.fixture
def candidates():
    started: list[Candidate] = []
    yield started
    for candidate in started:
        candidate.kill()


def wait_until(predicate, what: str, bound: float = BOUND):
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        answer = predicate()
        if answer:
            return answer
        time.sleep(0.2)
    raise AssertionError(f"not within {bound}s: {what}")


def holder(admin: KubeAdmin, namespace: str, lease: str) -> str | None:
    found = admin.get(f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{lease}")
    return None if found is None else (found.get("spec") or {}).get("holderIdentity")


def test_one_of_two_leads_and_the_other_takes_over_when_it_is_killed(admin, admin_kubeconfig, lease_namespace, candidates):
    a = Candidate(admin_kubeconfig, lease_namespace, "watch", "candidate-a")
    b = Candidate(admin_kubeconfig, lease_namespace, "watch", "candidate-b")
    candidates += [a, b]
    leader = wait_until(lambda: next((c for c in (a, b) if c.said(f"leading {c.identity}")), None), "one candidate leads")
    follower = b if leader is a else a
    assert holder(admin, lease_namespace, "watch") == leader.identity
    # While the leader lives and renews, the other never leads: watched for three lease durations.
    watched_until = time.monotonic() + 3 * LEASE
    while time.monotonic() < watched_until:
        assert not follower.said(f"leading {follower.identity}"), "two leaders at once"
        time.sleep(0.2)
    assert holder(admin, lease_namespace, "watch") == leader.identity

    leader.kill(signal.SIGKILL)  # no release: the follower must wait for the Lease to run out
    wait_until(lambda: follower.said(f"leading {follower.identity}"), f"{follower.identity} leads after {leader.identity} was killed")
    assert holder(admin, lease_namespace, "watch") == follower.identity
    assert follower.process.poll() is None and follower.errors == []


def test_a_lease_renewed_by_another_client_is_never_taken_and_is_taken_once_it_runs_out(admin, admin_kubeconfig, lease_namespace, candidates):
    """The holder is another client (e.g. a client-go program): the candidate waits while it renews, leads once it stops."""
    path = f"/apis/coordination.k8s.io/v1/namespaces/{lease_namespace}/leases/watch"

    def now() -> str:
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    admin.post(f"/apis/coordination.k8s.io/v1/namespaces/{lease_namespace}/leases", {
        "metadata": {"name": "watch"},
        "spec": {"holderIdentity": "someone-else", "leaseDurationSeconds": LEASE, "acquireTime": now(), "renewTime": now()},
    })  # fmt: skip
    candidate = Candidate(admin_kubeconfig, lease_namespace, "watch", "candidate-c")
    candidates.append(candidate)
    renew_until = time.monotonic() + 3 * LEASE
    while time.monotonic() < renew_until:
        lease = admin.get(path)
        lease["spec"]["renewTime"] = now()
        admin.put(path, lease)
        assert not candidate.said("leading candidate-c"), "took a Lease its holder keeps renewing"
        time.sleep(RETRY)
    assert holder(admin, lease_namespace, "watch") == "someone-else"
    wait_until(lambda: candidate.said("leading candidate-c"), "the candidate leads once the holder stopped renewing")
    assert holder(admin, lease_namespace, "watch") == "candidate-c"


def test_a_leader_stopped_with_sigterm_gives_the_lease_back(admin, admin_kubeconfig, lease_namespace, candidates):
    candidate = Candidate(admin_kubeconfig, lease_namespace, "watch", "candidate-d")
    candidates.append(candidate)
    wait_until(lambda: candidate.said("leading candidate-d"), "the only candidate leads")
    candidate.kill(signal.SIGTERM)
    assert candidate.process.returncode == 0 and candidate.said("stopped candidate-d")
    assert holder(admin, lease_namespace, "watch") is None  # released: a successor need not wait for it to run out


def test_a_candidate_the_server_refuses_says_so_in_one_line_and_never_leads(admin, admin_kubeconfig, lease_namespace, candidates, tmp_path):
    admin.post(f"/api/v1/namespaces/{lease_namespace}/serviceaccounts", {"metadata": {"name": "no-lease"}})
    token = admin.service_account_token(lease_namespace, "no-lease")
    path = write(tmp_path / "kc", kubeconfig(admin_cluster(admin_kubeconfig), {"token": token}, user_name="no-lease"))
    candidate = Candidate(path, lease_namespace, "watch", "candidate-e")
    candidates.append(candidate)
    line = wait_until(lambda: next(iter(candidate.errors), None), "an error line")
    assert line.startswith(f"ClusterAuthError: Kubernetes API {admin.server}, reading Lease {lease_namespace}/watch: HTTP 403: "), line
    assert "user 'no-lease' of context 'kecs-test'" in line and "\n" not in line
    time.sleep(2 * RETRY)
    assert candidate.errors == [line], "the same failure is reported once, not at every retry"
    assert not candidate.said("leading candidate-e") and holder(admin, lease_namespace, "watch") is None


class Outage:
    """A TCP relay in front of the API server that can cut every connection and refuse new ones (``cut``: the server
    is gone), or forward nothing more while connections stay open (``hang``: a partition that drops packets)."""

    def __init__(self, server: str) -> None:
        host, port = server.split("//", 1)[1].rsplit(":", 1)
        self.upstream = (host, int(port))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open: list[socket.socket] = []
        self.hanging = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self.listener.accept()
            except OSError:
                return
            self.open.append(downstream)
            if self.hanging.is_set():
                continue  # accepted, never answered
            upstream = socket.create_connection(self.upstream)
            self.open.append(upstream)
            for a, b in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pipe, args=(a, b, self.hanging), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket, hanging: threading.Event) -> None:
        try:
            while data := source.recv(65536):
                if not hanging.is_set():
                    target.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, target):
                s.close()

    def hang(self) -> None:
        self.hanging.set()

    def cut(self) -> None:
        for s in [self.listener, *self.open]:  # shutdown first: close() alone does not wake a blocked accept()
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def relayed_kubeconfig(admin_kubeconfig: str, relay: Outage, path) -> str:
    """The admin's kubeconfig, with the API server reached through the relay."""
    cluster = {**admin_cluster(admin_kubeconfig), "server": f"https://127.0.0.1:{relay.port}"}
    with open(admin_kubeconfig, encoding="utf-8") as handle:
        user = yaml.safe_load(handle)["users"][0]["user"]
    return write(path, kubeconfig(cluster, user))


def test_a_leader_that_cannot_reach_the_server_stops_leading_and_says_why(admin, admin_kubeconfig, lease_namespace, tmp_path):
    """The library alone lets the connection error end its thread: the process would go on 'leading' for ever."""
    relay = Outage(admin.server)
    events: list[str] = []
    warnings: list[str] = []
    election = LeaderElection(relayed_kubeconfig(admin_kubeconfig, relay, tmp_path / "kc"), None, lease_namespace, "watch", "in-process",
                              lambda: events.append("started"), lambda: events.append("stopped"),
                              lease_seconds=LEASE, renew_deadline=RENEW, retry_period=RETRY, warn=warnings.append).start()  # fmt: skip
    try:
        wait_until(election.is_leader, "it leads")
        assert events == ["started"] and election.leading.is_set()
        relay.cut()
        wait_until(lambda: not election.leading.is_set(), "it stops leading once it cannot renew")
        assert not election.is_leader() and events == ["started", "stopped"]
        assert warnings and warnings[0].startswith(f"ClusterUnavailableError: cannot reach the Kubernetes API at https://127.0.0.1:{relay.port}: ")
        assert all("\n" not in w for w in warnings)
        assert election._thread.is_alive(), "the election goes on (as a follower) after losing the Lease"
    finally:
        election.stop(release=False)


def test_a_leader_whose_renewals_hang_is_no_leader_once_the_renew_deadline_passed(admin, admin_kubeconfig, lease_namespace, tmp_path):
    """The library checks its renew deadline only between attempts, and an attempt that hangs holds it past the
    deadline (and past the Lease, which another candidate may then take): is_leader() is false from the deadline on."""
    relay = Outage(admin.server)
    election = LeaderElection(relayed_kubeconfig(admin_kubeconfig, relay, tmp_path / "kc"), None, lease_namespace, "watch", "hung",
                              lease_seconds=LEASE, renew_deadline=RENEW, retry_period=RETRY, warn=lambda line: None).start()  # fmt: skip
    try:
        wait_until(election.is_leader, "it leads")
        relay.hang()
        wait_until(lambda: not election.is_leader(), "is_leader() turns false")
        assert election.leading.is_set(), "the library still believes it leads (its attempt hangs): only the fence says otherwise"
        wait_until(lambda: not election.leading.is_set(), "the library gives up too, once its attempts time out")
    finally:
        election.stop(release=False)


@pytest.mark.parametrize(
    ("lease", "renew", "retry", "why"),
    [(10, 10, 2, "must be longer than the renew deadline"), (15, 2, 2, "must exceed 1.2 x the retry period"), (15, 10, 0, "must be >= 1s")],
)
def test_timings_the_library_would_exit_on_are_a_config_error(lease, renew, retry, why):
    with pytest.raises(ConfigError, match=why):
        check_timings(lease, renew, retry)


def test_the_default_identity_is_the_hostname_and_the_pid(admin_kubeconfig, lease_namespace):
    election = LeaderElection(admin_kubeconfig, None, lease_namespace, "unused")
    assert election.identity == f"{socket.gethostname()}_{os.getpid()}"
