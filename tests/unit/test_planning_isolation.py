"""Per-item isolation in ``make_plan`` (fakes of every port): a tenant's bad demand or object is skipped and reported
on itself (warning line, ``warnings`` output, an Event on its pod); the owner's demand stays strict; the rest converges."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kecs_secrets.errors import ClusterRequestError, ReferenceResolutionError, UnmanagedObjectError
from kecs_secrets.isolation import EVENT_REASON, PodEvent, Unserved, pod_events, post_pod_events
from kecs_secrets.model import POD_DEMAND, Reference, StackState, StateValue
from kecs_secrets.planning import make_plan
from tests.unit.test_planning import (
    ACCOUNT,
    MASTER_NS,
    REGION,
    SOURCE,
    STACK,
    FakeCluster,
    FakeFiles,
    FakeState,
    plan,
    settings,
)

WEB, BATCH = "web-us-east-1", "batch-us-east-1"
DB_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:app/db-AbCdEf"
NAMESPACES = (MASTER_NS, WEB, BATCH)


def pod(namespace: str, name: str, *value_froms: str) -> dict[str, Any]:
    annotations = {f"kecs.dev/secret-{i}-arn": f"app:V{i}:{v}" for i, v in enumerate(value_froms)}
    return {"metadata": {"namespace": namespace, "name": name, "uid": f"uid-{name}", "annotations": annotations}}


GOOD = pod(BATCH, "good", DB_ARN, "/app/password")
BAD_REFERENCES = {
    "unknown ARN": (f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:app/nope-ZzZzZz", "no Secrets Manager secret with that ARN"),
    "other stage": (f"{DB_ARN}:user:AWSPREVIOUS:", "version stage 'AWSPREVIOUS' is not served"),
    "other version": (f"{DB_ARN}:user::old-id", "version id 'old-id' is not the current version of 'app/db'"),
    "missing JSON key": (f"{DB_ARN}:nokey::", "secret 'app/db' has no JSON field 'nokey' at its current version"),
    "other account": (f"arn:aws:secretsmanager:{REGION}:111111111111:secret:app/db-AbCdEf", "it names account '111111111111'"),
    "bad JSON key": (f"{DB_ARN}:a/b::", "JSON key 'a/b' is not a valid Kubernetes data key"),
}
# The state recorded the keys of app/db's current version: "user" and "password".
STATE = FakeState(StackState(values=(StateValue(DB_ARN, "v-1", ("password", "user")),)))


def run(config: dict, cluster: FakeCluster, *, dry_run: bool = False):
    warned: list[str] = []
    result = make_plan(settings(**config), STACK, SOURCE, cluster, FakeFiles(), dry_run=dry_run, state=STATE, warn=warned.append)
    return result, warned


@pytest.mark.parametrize("case", sorted(BAD_REFERENCES))
def test_a_pods_unservable_reference_is_skipped_and_reported_while_the_rest_converges(case):
    value_from, why = BAD_REFERENCES[case]
    bad = pod(WEB, "bad", value_from, "app/token")
    config = {"podDemand": True, "demand": {WEB: ["/app/flags"]}}
    result, _ = run(config, FakeCluster(NAMESPACES, pods=[GOOD, bad]))
    without, _ = run(config, FakeCluster(NAMESPACES, pods=[GOOD]))

    # The bad reference alone is skipped: the pod's other reference and the other namespaces are served.
    assert result.layout.replicas_by_namespace() == {BATCH: ["sm-app-db", "ssm-app-password"], WEB: ["sm-app-token", "ssm-app-flags"]}
    assert [r for r in result.layout.replicas if r.namespace != WEB] == [r for r in without.layout.replicas if r.namespace != WEB]
    assert result.layout.masters == without.layout.masters
    origin = f"pod {WEB}/bad annotation kecs.dev/secret-0-arn"
    line = next(w for w in result.warnings if origin in w)
    assert line.startswith(f"reference {value_from!r} from {origin}: ") and why in line and line.endswith("skipped, the rest of the run goes on")
    assert line in result.layout.warnings  # the `warnings` output
    (event,) = pod_events(result.layout.unserved)
    assert (event.namespace, event.pod, event.pod_uid, event.reason) == (WEB, "bad", "uid-bad", EVENT_REASON)
    assert event.message.startswith(f"reference {value_from!r} ({origin}) is not served: ") and why in event.message


@pytest.mark.parametrize("case", sorted(BAD_REFERENCES))
def test_the_same_reference_written_by_the_owner_still_fails_the_preview_by_name(case):
    value_from, why = BAD_REFERENCES[case]
    with pytest.raises(ReferenceResolutionError, match=re.escape(f"from config kecs-secrets:demand.{WEB}[0]: ") + ".*" + re.escape(why)):
        run({"demand": {WEB: [value_from]}}, FakeCluster(NAMESPACES), dry_run=True)


def test_a_reference_kecs_cannot_read_under_its_name_gets_an_event_on_its_pod():
    """A parameter served as a ConfigMap (ssmKind by-sensitivity): KECS pods read Secrets only, so the pod is told
    why its secretKeyRef fails (the replica is still made, as for the owner's demand)."""
    flags = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/app/flags"
    result, _ = run({"podDemand": True, "ssmKind": "by-sensitivity"}, FakeCluster(NAMESPACES, pods=[pod(WEB, "p", flags)]))
    kecs_lines = [u for u in result.layout.unserved if "which is not served" in u.why]
    assert [u.reference.pod for u in kecs_lines] == ["p"]
    assert [e.pod for e in pod_events(result.layout.unserved)] == ["p"]


def test_an_unmanaged_object_under_a_replicas_name_in_a_tenant_namespace_skips_that_replica_only():
    theirs = ("Secret", WEB, "sm-app-db", {"uid": "x"})
    pods = [GOOD, pod(WEB, "user-1", DB_ARN, "app/token"), pod(WEB, "user-2", DB_ARN)]
    config = {"podDemand": True, "demand": {WEB: ["app/db"]}}
    result, _ = run(config, FakeCluster(NAMESPACES, objects=[theirs], pods=pods))
    without, _ = run(config, FakeCluster(NAMESPACES, pods=pods))

    assert result.layout.replicas_by_namespace() == {BATCH: ["sm-app-db", "ssm-app-password"], WEB: ["sm-app-token"]}
    assert [r for r in result.layout.replicas if r.namespace != WEB] == [r for r in without.layout.replicas if r.namespace != WEB]
    assert [r.namespace for r in result.layout.rbac] == [BATCH, WEB]
    line = f"Secret {WEB}/sm-app-db already exists and was not made by this stack: that replica is skipped, the rest of the run goes on"
    assert [w for w in result.warnings if w.startswith(line)] == [w for w in result.layout.warnings if w.startswith(line)] != []
    events = pod_events(result.layout.unserved)
    assert [(e.pod, e.message.split(" (")[0]) for e in events] == [
        ("user-1", f"reference {DB_ARN!r}"), ("user-2", f"reference {DB_ARN!r}")
    ]
    assert all(f"Secret {WEB}/sm-app-db already exists and was not made by this stack" in e.message for e in events)
    assert result.adopt == frozenset()


@pytest.mark.parametrize(
    ("kind", "namespace"), [("ServiceAccount", WEB), ("RoleBinding", MASTER_NS), ("Role", MASTER_NS)], ids=["sa", "binding", "role"]
)
def test_an_unmanaged_object_under_a_namespaces_rbac_name_skips_that_namespaces_rbac_never_binds_it(kind, namespace):
    theirs = (kind, namespace, f"kecs-secret-reader-{WEB}", {})
    config = {"demand": {WEB: ["app/db"], BATCH: ["app/db"]}, "rbacMode": "need-to-know"}
    result, _ = run(config, FakeCluster(NAMESPACES, objects=[theirs]))
    assert [r.namespace for r in result.layout.rbac] == [BATCH]
    assert result.layout.replicas_by_namespace() == {BATCH: ["sm-app-db"], WEB: ["sm-app-db"]}
    line = f"{kind} {namespace}/kecs-secret-reader-{WEB} already exists and was not made by this stack: namespace {WEB} gets no reader"
    assert any(w.startswith(line) for w in result.layout.warnings)


def test_an_unmanaged_object_in_the_master_namespace_still_stops_the_run():
    theirs = ("ConfigMap", MASTER_NS, "ssm-app-flags", {})
    with pytest.raises(UnmanagedObjectError, match=f"ConfigMap {MASTER_NS}/ssm-app-flags"):
        run({"podDemand": True, "ssmKind": "by-sensitivity"}, FakeCluster(NAMESPACES, objects=[theirs], pods=[GOOD]))


def test_a_malformed_annotation_gets_an_event_naming_it():
    broken = {"metadata": {"namespace": WEB, "name": "broken", "uid": "u", "annotations": {"kecs.dev/secret-0-arn": "nope"}}}
    result, _ = plan({"podDemand": True}, cluster=FakeCluster(NAMESPACES, pods=[broken, GOOD]))
    (event,) = pod_events(result.layout.unserved)
    assert event.pod == "broken" and "expected '<container>:<env-var>:<valueFrom>'" in event.message
    assert result.layout.replicas_by_namespace() == {BATCH: ["sm-app-db", "ssm-app-password"]}


def test_a_key_only_tenants_select_is_isolated_in_the_master_and_one_the_owner_selects_is_not():
    pods = [pod(WEB, "p", f"{DB_ARN}:user::", f"{DB_ARN}:password::")]
    result, _ = plan({"podDemand": True, "demand": {BATCH: [f"{DB_ARN}:password::"]}}, cluster=FakeCluster(NAMESPACES, pods=pods))
    (db,) = [m for m in result.layout.masters if m.name == "sm-app-db"]
    assert (db.json_keys, db.isolated_keys) == (("password", "user"), ("user",))


def _ref(pod_name: str, value_from: str = "x", origin: str = "o") -> Reference:
    return Reference(WEB, value_from, origin, POD_DEMAND, pod_name, f"uid-{pod_name}")


def test_one_event_per_pod_and_reference_with_a_stable_valid_name_and_a_bounded_message():
    long_pod = "p" * 250
    unserved = [Unserved(_ref("a"), "one"), Unserved(_ref("a"), "two"), Unserved(_ref("a"), "one"), Unserved(_ref(long_pod), "w" * 5000),
                Unserved(Reference(WEB, "y", "config"), "owner demand has no pod")]
    events = pod_events(unserved)
    assert [(e.pod, e.message) for e in events if e.pod == "a"] == [("a", "reference 'x' (o) is not served: one; two")]
    assert len(events) == 2 and events == pod_events(reversed(unserved))
    for event in events:
        assert len(event.name) <= 253 and re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", event.name), event.name
        assert len(event.message) <= 1024


def test_an_event_that_cannot_be_written_is_a_warning_never_a_failed_run():
    events = pod_events([Unserved(_ref("a"), "why"), Unserved(_ref("b"), "why")])
    written: list[PodEvent] = []

    def post(event: PodEvent) -> None:
        if event.pod == "a":
            raise ClusterRequestError("Kubernetes API https://fake, creating Event: HTTP 403")
        written.append(event)

    warned: list[str] = []
    assert post_pod_events(events, post, warned.append) == 1
    assert [e.pod for e in written] == ["b"]
    assert warned == [f"could not put Event {EVENT_REASON} on pod {WEB}/a: Kubernetes API https://fake, creating Event: HTTP 403"]


def test_each_stack_names_itself_and_keeps_its_own_event_on_a_pod_both_serve():
    unserved = [Unserved(_ref("a"), "why")]
    (dev,), (staging,) = pod_events(unserved, "kecs-secrets/dev"), pod_events(unserved, "kecs-secrets/staging")
    assert dev.name != staging.name and dev.reporter == "kecs-secrets/dev"
    assert dev.message == "reference 'x' (o) is not served by kecs-secrets stack kecs-secrets/dev: why"
