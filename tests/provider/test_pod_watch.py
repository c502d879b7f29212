"""The watch's pod watch (official client's watch) against the real control plane: every pod listed, added, changed
and deleted reaches it; a resourceVersion the server no longer has (410 Gone) makes it list again; a watch silent
for too long is started again and goes on seeing pods."""

from __future__ import annotations

import threading

from kubernetes.client.exceptions import ApiException

from providers.pod_watch import PodWatch
from tests.provider import test_kube_reader
from tests.support.cluster import wait_for

admin_kubeconfig = test_kube_reader.admin_kubeconfig
admin = test_kube_reader.admin
namespace = test_kube_reader.namespace
BOUND = 60  # seconds: a bound for a broken watch to fail, never a timing


class Seen:
    def __init__(self) -> None:
        self.pods: dict[str, bool] = {}  # "<namespace>/<name>" -> deleted
        self.restarts: list[str] = []
        self.lock = threading.Lock()

    def pod(self, pod, deleted: bool) -> None:
        meta = pod.get("metadata") or {}
        with self.lock:
            self.pods[f"{meta.get('namespace')}/{meta.get('name')}"] = deleted

    def restart(self, reason: str) -> None:
        self.restarts.append(reason)


def make_pod(admin, namespace: str, name: str) -> None:
    admin.post(f"/api/v1/namespaces/{namespace}/pods", {
        "metadata": {"name": name, "annotations": {"kecs.dev/secret-0-arn": "app:A:arn:aws:ssm:us-east-1:000000000000:parameter/x"}},
        "spec": {"automountServiceAccountToken": False, "containers": [{"name": "app", "image": "busybox"}]},
    })


def test_pods_listed_added_and_deleted_reach_the_watch(admin, admin_kubeconfig, namespace):
    make_pod(admin, namespace, "before")
    seen = Seen()
    watch = PodWatch(admin_kubeconfig, "", seen.pod, seen.restart).start()
    try:
        wait_for(lambda: f"{namespace}/before" in seen.pods, timeout=BOUND, what="the listed pod")
        make_pod(admin, namespace, "after")
        wait_for(lambda: seen.pods.get(f"{namespace}/after") is False, timeout=BOUND, what="the added pod")
        admin.delete(f"/api/v1/namespaces/{namespace}/pods/after?gracePeriodSeconds=0")
        wait_for(lambda: seen.pods.get(f"{namespace}/after") is True, timeout=BOUND, what="the deleted pod")
    finally:
        watch.stop()


def test_gone_makes_it_list_again_and_it_goes_on(admin, admin_kubeconfig, namespace):
    """The API server answers a watch from a compacted resourceVersion with 410 Gone (the client raises it as an
    ApiException); a fresh control plane has compacted nothing, so the first watch is made to meet it."""
    seen = Seen()
    watch = PodWatch(admin_kubeconfig, "", seen.pod, seen.restart)
    lists, real_list, real_watch = [], watch._list, watch._watch

    def counted_list(api):
        lists.append(real_list(api))
        return lists[-1]

    def gone_once(api, version):
        if len(lists) == 1:
            raise ApiException(status=410, reason="Expired: too old resource version")
        yield from real_watch(api, version)

    watch._list, watch._watch = counted_list, gone_once
    watch.start()
    try:
        wait_for(lambda: len(lists) >= 2, timeout=BOUND, what="a second list after 410 Gone")
        assert seen.restarts[:1] == ["gone"]
        make_pod(admin, namespace, "later")
        wait_for(lambda: f"{namespace}/later" in seen.pods, timeout=BOUND, what="a pod after the relist")
    finally:
        watch.stop()


def test_a_silent_watch_is_started_again_and_goes_on_seeing_pods(admin, admin_kubeconfig, namespace):
    seen = Seen()
    watch = PodWatch(admin_kubeconfig, "", seen.pod, seen.restart, silence=1.5).start()
    try:
        wait_for(lambda: "silent" in seen.restarts, timeout=BOUND, what="a restart after silence")
        before = watch.last_contact
        make_pod(admin, namespace, "after-silence")
        wait_for(lambda: f"{namespace}/after-silence" in seen.pods, timeout=BOUND, what="a pod after the restart")
        assert watch.last_contact >= before
    finally:
        watch.stop()
