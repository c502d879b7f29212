"""The EventWriter adapter (``KubeReader.post_event``, official Kubernetes client) against the real control plane:
a Warning Event on the pod, one per pod and reference however many runs post it, and a refusal that is a
project error (a warning for the run, never a failure)."""

from __future__ import annotations

import secrets as random

import pytest

from kecs_secrets.errors import ClusterRequestError
from kecs_secrets.isolation import EVENT_REASON, Unserved, pod_events, post_pod_events
from kecs_secrets.model import POD_DEMAND, Reference
from providers.kube import KubeReader
from tests.provider import test_kube_reader
from tests.support.cluster import KubeAdmin
from tests.support.kubeconfigs import admin_cluster, kubeconfig, write

# The control plane and its admin: the same module-scoped fixtures as the reader's tests.
admin_kubeconfig = test_kube_reader.admin_kubeconfig
admin = test_kube_reader.admin


@pytest.fixture
def pod(admin):
    namespace = f"ev-{random.token_hex(4)}"
    admin.create_namespace(namespace)
    made = admin.post(f"/api/v1/namespaces/{namespace}/pods", {
        "metadata": {"name": "task-1"},
        "spec": {"automountServiceAccountToken": False, "containers": [{"name": "app", "image": "busybox"}]},
    })
    yield made["metadata"]
    admin.delete(f"/api/v1/namespaces/{namespace}/pods/task-1")
    admin.delete_namespace(namespace)


def event_for(metadata) -> list:
    ref = Reference(metadata["namespace"], "app/nope", f"pod {metadata['namespace']}/task-1 annotation kecs.dev/secret-0-arn",
                    POD_DEMAND, "task-1", metadata["uid"])
    return pod_events([Unserved(ref, "no SSM parameter or Secrets Manager secret with that name")])


def events_of(admin: KubeAdmin, metadata) -> list:
    selector = f"involvedObject.uid={metadata['uid']}"  # what `kubectl describe pod` asks for
    return admin.get(f"/api/v1/namespaces/{metadata['namespace']}/events?fieldSelector={selector}")["items"]


def test_an_event_lands_on_the_pod_once_however_many_runs_post_it(admin, admin_kubeconfig, pod):
    reader = KubeReader(admin_kubeconfig)
    warned: list[str] = []
    assert post_pod_events(event_for(pod), reader.post_event, warned.append) == 1
    (event,) = events_of(admin, pod)
    assert (event["type"], event["reason"], event["count"]) == ("Warning", EVENT_REASON, 1)
    involved = {key: event["involvedObject"].get(key) for key in ("kind", "name", "namespace", "uid")}
    assert involved == {"kind": "Pod", "name": "task-1", "namespace": pod["namespace"], "uid": pod["uid"]}
    assert event["message"] == (
        f"reference 'app/nope' (pod {pod['namespace']}/task-1 annotation kecs.dev/secret-0-arn) is not served: "
        "no SSM parameter or Secrets Manager secret with that name"
    )
    assert post_pod_events(event_for(pod), reader.post_event, warned.append) == 1  # the next run
    (again,) = events_of(admin, pod)
    assert (again["metadata"]["name"], again["count"]) == (event["metadata"]["name"], 2)
    assert warned == []


def test_a_user_who_may_not_write_events_gets_a_warning_not_a_failed_run(admin, admin_kubeconfig, tmp_path, pod):
    namespace = pod["namespace"]
    admin.post(f"/api/v1/namespaces/{namespace}/serviceaccounts", {"metadata": {"name": "reader-only"}})
    token = admin.service_account_token(namespace, "reader-only")
    path = write(tmp_path / "kc", kubeconfig(admin_cluster(admin_kubeconfig), {"token": token}, user_name="reader-only"))
    (event,) = event_for(pod)
    with pytest.raises(ClusterRequestError, match=rf"writing Event {namespace}/{event.name}: HTTP 403"):
        KubeReader(path).post_event(event)
    warned: list[str] = []
    assert post_pod_events([event], KubeReader(path).post_event, warned.append) == 0
    assert len(warned) == 1 and warned[0].startswith(f"could not put Event {EVENT_REASON} on pod {namespace}/task-1: ")
    assert events_of(admin, pod) == []
