"""`kecs-secrets watch` against the real CLI, LocalStack and control plane: a pending pod gets its replica from a
focused update, a bad pod gets an Event and delays no other namespace, a rotated value reaches every replica, a
deleted secret's master and replicas go, a manual `pulumi up` meanwhile is not corrupted, a watch killed with
SIGKILL mid-update is started again and converges by itself, and SIGTERM stops it cleanly. Never a value in its
output. (How fast is the benchmark's: bench/watch.py; here every wait is a bound for a broken run to fail.)"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets as random
import signal
import subprocess
import urllib.request
from pathlib import Path

from tests.e2e.test_safety import _events_on, cli, cli_env
from tests.e2e.test_safety import scene as scene  # the fixture
from tests.support.cluster import wait_for
from tests.support.counting_proxy import CountingProxy
from tests.support.ecs import ecs_api, register
from tests.support.moto import moto_server
from tests.support.processes import kill_tree
from tests.support.real import ROOT, free_ports

BOUND = 120  # seconds: a bound for a broken run to fail, never a timing this test depends on
LINE = re.compile(r"^watch: trigger=(\S+) stack=\S+ scope=(full|focused) duration=\S+ changes=(\S+) result=(\S+)$", re.M)


class WatchProcess:
    """One `kecs-secrets watch` process of the scene's stack, its output in a file."""

    def __init__(self, stack, log: Path, port: int, *args: str) -> None:
        self.log, self.port = log, port
        command = [os.path.join(ROOT, ".venv", "bin", "kecs-secrets"), "watch", "--stack", stack.name, "--interval", "1",
                   "--settle", "3", "--metrics-port", str(port), *args]
        self.handle = log.open("a", encoding="utf-8")
        self.process = subprocess.Popen(command, cwd=stack.workdir, env=cli_env(stack), stdout=self.handle, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def lines(self) -> list[tuple[str, str, str, str]]:
        return LINE.findall(self.text())

    def wait_line(self, count: int, what: str) -> list[tuple[str, str, str, str]]:
        wait_for(lambda: len(self.lines()) >= count or self.process.poll() is not None, timeout=BOUND, what=what)
        assert self.process.poll() is None, self.text()[-3000:]
        return self.lines()

    def kill(self) -> None:
        """SIGKILL the watch and everything it started (the CLI, the language host, the providers)."""
        try:
            kill_tree(self.process)
        finally:
            self.handle.close()

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=BOUND)
        finally:
            self.handle.close()


def _data(kube, namespace: str, name: str) -> bytes | None:
    found = kube.secret(namespace, name)
    return base64.b64decode(found["data"]["value"]) if found and "value" in (found.get("data") or {}) else None


def test_the_watch_serves_pods_rotations_and_deletions_and_survives_a_kill(scene, tmp_path):
    s, kube = scene, scene.kube
    batch = s.namespace(f"batch-{s.p}", ecs=True)
    values = {"db": f"db-{random.token_hex(8)}", "api": f"api-{random.token_hex(8)}"}
    db, api = s.secret("db", values["db"]), s.secret("api", values["api"])
    stack = s.make_stack(podDemand=True, demand={s.web: [f"{s.p}/db"]})  # the owner's demand: one namespace served
    watch = WatchProcess(stack, tmp_path / "watch.log", free_ports(1)[0])
    try:
        first = watch.wait_line(1, "the first full converge")[0]
        assert first[1:] == ("full", first[2], "succeeded") and first[0] == "resync", first
        assert kube.secret(s.master_ns, s.master("db")) is not None, "every item has its master after the first converge"

        # A pod that needs a secret its namespace lacks: a focused update of that namespace makes the replica.
        s.pod(batch, "needs-db", {"kecs.dev/secret-0-arn": f"app:DB:{db}"})
        wait_for(lambda: _data(kube, batch, s.master("db")) == values["db"].encode(), timeout=BOUND, what="the pod's replica")
        served = [line for line in watch.wait_line(2, "the pod's update") if "pod-demand" in line[0]]
        assert served and served[0][1:] == ("focused", served[0][2], "succeeded"), watch.lines()
        assert s.ours(batch, "serviceaccounts") == {f"kecs-secret-reader-{batch}"}, "the namespace's RBAC comes with it"

        # A bad pod (an ARN no secret has) and a good one in another namespace at once: the good one is served,
        # the bad one is told on an Event.
        unknown = db.rsplit(":", 1)[0] + f":{s.p}/nope-ZzZzZz"
        s.pod(s.web, "bad", {"kecs.dev/secret-0-arn": f"app:X:{unknown}"})
        s.pod(batch, "needs-api", {"kecs.dev/secret-0-arn": f"app:API:{api}"})
        wait_for(lambda: _data(kube, batch, s.master("api")) == values["api"].encode(), timeout=BOUND, what="the good pod's replica")
        wait_for(lambda: _events_on(kube, s.web, "bad"), timeout=BOUND, what="the Event on the bad pod")
        (event,) = _events_on(kube, s.web, "bad")
        assert event["reason"] == "SecretReferenceNotServed" and "no Secrets Manager secret with that ARN" in event["message"]

        # A rotation reaches every replica (the master follows in the full update after it). First the follow-up of
        # the pods' focused updates, so that the rotation is served by its own update, not by that full one.
        wait_for(lambda: watch.lines()[-1][1] == "full", timeout=BOUND, what="the follow-up full update")
        values["db"] = f"rotated-{random.token_hex(8)}"
        s.sm.put_secret_value(SecretId=db, SecretString=values["db"])
        wait_for(lambda: _data(kube, batch, s.master("db")) == values["db"].encode(), timeout=BOUND, what="the rotated replica")
        wait_for(lambda: _data(kube, s.master_ns, s.master("db")) == values["db"].encode(), timeout=BOUND, what="the rotated master")
        wait_for(lambda: any("source-change" in line[0] and line[1] == "focused" for line in watch.lines()), timeout=BOUND,
                 what="the rotation's focused update in the log")

        # A manual `pulumi up` meanwhile runs or is refused by the stack's lock, never corrupts anything.
        manual = cli(stack, "up", "--yes", "--skip-preview")
        assert manual.returncode == 0 or "locked" in manual.stdout + manual.stderr, manual.stdout[-2000:] + manual.stderr[-2000:]

        # A deleted secret's master and replicas go.
        s.delete_secret("api")
        wait_for(lambda: kube.secret(s.master_ns, s.master("api")) is None and kube.secret(batch, s.master("api")) is None,
                 timeout=BOUND, what="the deleted secret's master and replica gone")

        # The endpoints: ready, and the updates counted by trigger.
        with urllib.request.urlopen(f"http://127.0.0.1:{watch.port}/readyz", timeout=10) as answer:
            assert answer.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{watch.port}/metrics", timeout=10) as answer:
            metrics = answer.read().decode()
        assert re.search(r'kecs_watch_updates_total\{result="succeeded",trigger="[a-z,-]*pod-demand[a-z,-]*"\} [1-9]', metrics), metrics
        assert "kecs_watch_trigger_to_converged_seconds_bucket" in metrics

        # SIGKILL in the middle of an update, then start again: the stale lock is taken over, and it converges.
        values["db"] = f"again-{random.token_hex(8)}"
        locks = Path(stack.env["PULUMI_BACKEND_URL"].removeprefix("file://")) / ".pulumi" / "locks"
        done = len(watch.lines())
        s.sm.put_secret_value(SecretId=db, SecretString=values["db"])
        wait_for(lambda: any(locks.rglob("*.json")) or len(watch.lines()) > done, timeout=BOUND, what="an update under way")
        watch.kill()
        left = set(locks.rglob("*.json"))  # the killed update's lock, if it had taken it (not a later update's own)
        text = watch.text()
        watch = WatchProcess(stack, tmp_path / "watch.log", free_ports(1)[0])
        wait_for(lambda: _data(kube, batch, s.master("db")) == values["db"].encode(), timeout=BOUND, what="convergence after the kill")
        wait_for(lambda: _data(kube, s.master_ns, s.master("db")) == values["db"].encode(), timeout=BOUND, what="the master too")
        if left:
            wait_for(lambda: "stack lock stale" in watch.text()[len(text):], timeout=BOUND, what="the stale lock taken over")
            assert not any(path.exists() for path in left), "the killed update's lock stayed"
        exported = json.loads(cli(stack, "stack", "export").stdout)["deployment"]
        assert not exported.get("pending_operations"), "the interrupted update's pending operations stayed in the state"
        assert s.ours(batch) == {s.master("db")} and s.ours(batch, "serviceaccounts") == {f"kecs-secret-reader-{batch}"}
    finally:
        code = watch.stop() if watch.process.poll() is None else None
    assert code == 0 and watch.text().rstrip().endswith("watch: stopped"), watch.text()[-2000:]
    text = watch.text()
    assert not any(value in text for value in values.values()), "a value in the watch's output"
    # Whatever ran meanwhile (focused updates, the manual up, the kill), the state and the cluster agree.
    preview = cli(stack, "preview", "--diff")
    assert preview.returncode == 0, preview.stderr[-3000:]
    assert re.search(r"^\s+\d+ unchanged\s*$", preview.stdout, re.M) and " to update" not in preview.stdout, preview.stdout[-3000:]


def test_the_source_going_away_deletes_nothing_and_the_watch_converges_when_it_is_back(scene, tmp_path):
    """LocalStack unreachable (the stack reads it through a proxy that is stopped, then started again on its port):
    the polls say so once, the updates tried meanwhile fail before any change, nothing is deleted; when it answers
    again the watch converges at once, with what changed meanwhile."""
    s, kube = scene, scene.kube
    values = {"db": f"db-{random.token_hex(8)}"}
    db = s.secret("db", values["db"])
    proxy = CountingProxy(s.endpoint).__enter__()
    port = int(proxy.endpoint.rsplit(":", 1)[1])
    stack = s.make_stack(endpoint=proxy.endpoint, demand={s.web: [f"{s.p}/db"]})
    watch = WatchProcess(stack, tmp_path / "watch.log", free_ports(1)[0])
    try:
        watch.wait_line(1, "the first full converge")
        made = s.snapshot()
        assert ("secrets", s.web, s.master("db")) in made

        proxy.__exit__(None, None, None)  # LocalStack goes away
        wait_for(lambda: "source poll failed" in watch.text(), timeout=BOUND, what="the poll saying the source is away")
        values["db"] = f"meanwhile-{random.token_hex(8)}"
        s.sm.put_secret_value(SecretId=db, SecretString=values["db"])
        config = Path(stack.workdir) / f"Pulumi.{stack.name}.yaml"
        config.write_text(config.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # a full update is tried meanwhile
        wait_for(lambda: any(line[3] == "failed" for line in watch.lines()), timeout=BOUND, what="an update tried while it is away")
        assert set(s.snapshot()) == set(made), "something was deleted or made while the source was away"
        assert watch.text().count("source poll failed") == 1, "said once, not every interval"

        proxy = CountingProxy(s.endpoint, port=port).__enter__()  # and comes back
        wait_for(lambda: _data(kube, s.web, s.master("db")) == values["db"].encode(), timeout=BOUND, what="convergence after")
        assert "source poll answers again" in watch.text()
        wait_for(lambda: any("recovered" in line[0] and line[3] == "succeeded" for line in watch.lines()), timeout=BOUND,
                 what="the update after it answers again")
        assert set(s.snapshot()) == set(made)
    finally:
        code = watch.stop() if watch.process.poll() is None else None
        proxy.__exit__(None, None, None)
    assert code == 0
    assert values["db"] not in watch.text()


def test_a_queue_message_makes_the_watch_look_at_once(scene, tmp_path, aws):
    """With --queue-url, an EventBridge event in the SQS queue wakes the source poll: a rotation lands long before the
    next poll (--interval 600 here), and the message is deleted."""
    s, kube = scene, scene.kube
    values = {"db": f"db-{random.token_hex(8)}"}
    db = s.secret("db", values["db"])
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=f"{s.p}-changes")["QueueUrl"]
    stack = s.make_stack(demand={s.web: [f"{s.p}/db"]})
    watch = WatchProcess(stack, tmp_path / "watch.log", free_ports(1)[0], "--interval", "600", "--queue-url", url)
    try:
        watch.wait_line(1, "the first full converge")
        values["db"] = f"pushed-{random.token_hex(8)}"
        s.sm.put_secret_value(SecretId=db, SecretString=values["db"])
        event = {"source": "aws.secretsmanager", "detail-type": "AWS API Call via CloudTrail",
                 "detail": {"eventName": "PutSecretValue", "requestParameters": {"secretId": db}}}
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
        wait_for(lambda: _data(kube, s.web, s.master("db")) == values["db"].encode(), timeout=BOUND, what="the pushed rotation")
        wait_for(lambda: any("source-change" in line[0] for line in watch.lines()), timeout=BOUND, what="its log line")
        wait_for(lambda: int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
                             ["ApproximateNumberOfMessagesNotVisible"]) == 0, timeout=BOUND, what="the message deleted")
        assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages") is None
    finally:
        code = watch.stop() if watch.process.poll() is None else None
        sqs.delete_queue(QueueUrl=url)
    assert code == 0 and values["db"] not in watch.text()


def test_two_watches_with_leader_election_one_updates_and_the_other_takes_over_when_it_is_killed(scene, tmp_path):
    """Two `watch --leader-elect` processes of one stack (as two pods would be): only the Lease's holder runs
    updates; SIGKILL it, and the other takes the Lease when it expires and converges what changed meanwhile."""
    s, kube = scene, scene.kube
    lease_ns = s.namespace(f"{s.p}-watch")
    values = {"db": f"db-{random.token_hex(8)}"}
    db = s.secret("db", values["db"])
    stack = s.make_stack(demand={s.web: [f"{s.p}/db"]})
    election = ("--leader-elect", "--lease-namespace", lease_ns, "--lease-name", "lease")
    first = WatchProcess(stack, tmp_path / "first.log", free_ports(1)[0], *election)
    wait_for(lambda: "watch: leading" in first.text(), timeout=BOUND, what="the first watch leading")
    second = WatchProcess(stack, tmp_path / "second.log", free_ports(1)[0], *election)
    try:
        first.wait_line(1, "the leader's first converge")
        wait_for(lambda: "waiting for the Lease" in second.text(), timeout=BOUND, what="the second watch waiting")
        values["db"] = f"rotated-{random.token_hex(8)}"
        s.sm.put_secret_value(SecretId=db, SecretString=values["db"])
        wait_for(lambda: _data(kube, s.web, s.master("db")) == values["db"].encode(), timeout=BOUND, what="the leader's rotation")
        assert second.lines() == [] and "watch: leading" not in second.text(), "a follower ran an update"

        first.kill()
        holder = kube.get(f"/apis/coordination.k8s.io/v1/namespaces/{lease_ns}/leases/lease")["spec"]["holderIdentity"]
        values["db"] = f"after-{random.token_hex(8)}"
        s.sm.put_secret_value(SecretId=db, SecretString=values["db"])
        wait_for(lambda: "watch: leading" in second.text(), timeout=BOUND, what="the second watch taking the Lease over")
        wait_for(lambda: _data(kube, s.web, s.master("db")) == values["db"].encode(), timeout=BOUND, what="the new leader's converge")
        now = kube.get(f"/apis/coordination.k8s.io/v1/namespaces/{lease_ns}/leases/lease")["spec"]["holderIdentity"]
        assert now != holder and now.endswith(f"_{second.process.pid}"), (holder, now)
    finally:
        code = second.stop() if second.process.poll() is None else None
        if first.process.poll() is None:
            first.stop()
    assert code == 0 and "watch: stopped" in second.text()
    assert kube.get(f"/apis/coordination.k8s.io/v1/namespaces/{lease_ns}/leases/lease")["spec"].get("holderIdentity") in (None, "")


def test_a_service_registered_in_the_ecs_api_gets_its_replica_from_a_focused_update(scene, tmp_path):
    """With ecsDemand, the ECS API is one more trigger: a new service whose task definition references a secret its
    cluster's namespace lacks gets the replica from a focused update of that namespace (moto's server as the API)."""
    s = scene
    jobs = s.namespace(f"jobs-{s.p}", ecs=True)
    db, token = s.secret("db", f"db-{random.token_hex(8)}"), s.secret("token", f"tok-{random.token_hex(8)}")
    with moto_server(account="000000000000") as moto, ecs_api(moto) as ecs:
        client = ecs.client
        for cluster in (f"web-{s.p}", f"jobs-{s.p}"):
            client.create_cluster(clusterName=cluster)
        web = register(client, f"web-{s.p}", [{"name": "DB", "valueFrom": db}])
        client.create_service(cluster=f"web-{s.p}", serviceName="api", taskDefinition=web, desiredCount=1)
        stack = s.make_stack(ecsDemand={"enabled": True, "endpoint": ecs.endpoint})
        watch = WatchProcess(stack, tmp_path / "watch.log", free_ports(1)[0])
        try:
            watch.wait_line(1, "the first full converge")
            assert s.ours(s.web) == {s.master("db")} and s.ours(jobs) == set()
            job = register(client, f"job-{s.p}", [{"name": "TOKEN", "valueFrom": token}])
            client.create_service(cluster=f"jobs-{s.p}", serviceName="worker", taskDefinition=job, desiredCount=1)
            wait_for(lambda: s.ours(jobs) == {s.master("token")}, timeout=BOUND, what="the new service's replica")
            wait_for(lambda: any("ecs-demand" in line[0] for line in watch.lines()), timeout=BOUND, what="its log line")
            line = next(line for line in watch.lines() if "ecs-demand" in line[0])
            assert line[1:] == ("focused", line[2], "succeeded"), watch.lines()
        finally:
            code = watch.stop() if watch.process.poll() is None else None
    assert code == 0
