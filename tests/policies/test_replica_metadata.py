"""kecs-replica-metadata: ADR 21 labels and annotations on every replica, consistent with each other."""

from __future__ import annotations

import pytest
from kecs_policies.replicas import replica_metadata, replica_metadata_remediation, replica_metadata_validator
from pulumi_policy.deserialize import serialize_properties

from tests.policies.conftest import (
    MASTER_NS,
    SECRET,
    STAMP,
    UNKNOWN_STRING,
    Resource,
    assert_no_canary,
    names,
    replica,
    replica_annotations,
    replica_labels,
    resource_args,
    run_resource_policies,
)

POLICY = "kecs-replica-metadata"


def without(mapping: dict[str, str], key: str) -> dict[str, str]:
    return {k: v for k, v in mapping.items() if k != key}


CASES = [
    ("secret replica as the program makes it", replica("sm-app-db", "team-a"), []),
    ("replica of an SSM String (a Secret by default)", replica("ssm-app-flags", "team-a", source="ssm"), []),
    (
        "fractional seconds and offset are RFC 3339",
        replica("sm-app-db", "team-a", annotations=replica_annotations(stamp="2025-08-12T15:38:45.123+02:00")),
        [],
    ),
    ("managed-by missing", replica("sm-app-db", "team-a", labels=without(replica_labels(), "kecs.io/managed-by")), [POLICY]),
    ("managed-by wrong", replica("sm-app-db", "team-a", labels={**replica_labels(), "kecs.io/managed-by": "helm"}), [POLICY]),
    ("source missing", replica("sm-app-db", "team-a", labels=without(replica_labels(), "kecs.io/source")), [POLICY]),
    ("source unknown", replica("sm-app-db", "team-a", labels={**replica_labels(), "kecs.io/source": "vault"}), [POLICY]),
    ("name prefix does not match the source", replica("ssm-app-db", "team-a"), [POLICY]),
    (
        "replicated-from is not the master namespace",
        replica("sm-app-db", "team-a", labels=replica_labels(master_ns="other"), annotations=replica_annotations(master_ns="other")),
        [POLICY],
    ),
    (
        "source-namespace missing",
        replica("sm-app-db", "team-a", annotations=without(replica_annotations(), "kecs.io/source-namespace")),
        [POLICY],
    ),
    (
        "source-namespace differs from replicated-from",
        replica("sm-app-db", "team-a", annotations={**replica_annotations(), "kecs.io/source-namespace": "elsewhere"}),
        [POLICY],
    ),
    (
        "last-replicated missing",
        replica("sm-app-db", "team-a", annotations=without(replica_annotations(), "kecs.io/last-replicated")),
        [POLICY],
    ),
    (
        "last-replicated as epoch float (KECS bug 11)",
        replica("sm-app-db", "team-a", annotations=replica_annotations(stamp="1755005925.233")),
        [POLICY],
    ),
    (
        "last-replicated without zone",
        replica("sm-app-db", "team-a", annotations=replica_annotations(stamp="2025-08-12T13:38:45")),
        [POLICY],
    ),
    (
        "last-replicated impossible date",
        replica("sm-app-db", "team-a", annotations=replica_annotations(stamp="2025-02-30T13:38:45Z")),
        [POLICY],
    ),
    ("no annotations at all", replica("sm-app-db", "team-a", annotations={}), [POLICY, POLICY]),
    ("every problem at once", replica("x", "team-a", labels={"kecs.io/replicated-from": "nowhere"}, annotations={}), [POLICY] * 5),
]


@pytest.mark.parametrize(("resource", "expected"), [pytest.param(r, e, id=i) for i, r, e in CASES])
def test_replica_metadata(resource: Resource, expected: list[str]) -> None:
    violations = run_resource_policies(resource)
    assert names(violations) == expected
    assert_no_canary(violations)


def test_objects_without_replicated_from_label_are_not_replicas() -> None:
    resource = Resource(SECRET, {"metadata": {"name": "plain", "namespace": "team-a", "labels": {"app": "x"}}})
    assert names(run_resource_policies(resource)) == []


@pytest.mark.parametrize(
    ("config", "replicated_from", "expected"),
    [
        pytest.param(None, MASTER_NS, [], id="default master namespace"),
        pytest.param({"masterNamespace": "secrets-hub"}, "secrets-hub", [], id="configured master namespace"),
        pytest.param({"masterNamespace": "secrets-hub"}, MASTER_NS, [POLICY], id="default no longer accepted"),
    ],
)
def test_master_namespace_config(config: dict | None, replicated_from: str, expected: list[str]) -> None:
    resource = replica(
        "sm-app-db", "team-a", labels=replica_labels(master_ns=replicated_from), annotations=replica_annotations(master_ns=replicated_from)
    )
    assert names(run_resource_policies(resource, {POLICY: config} if config else None)) == expected


def test_validator_reports_each_problem_once_with_what_to_fix() -> None:
    resource = replica("sm-app-db", "team-a", annotations=without(replica_annotations(), "kecs.io/last-replicated"))
    messages: list[str] = []
    replica_metadata_validator(resource_args(resource), lambda message, urn=None: messages.append(message))
    assert messages == ["replica: annotation kecs.io/last-replicated is missing"]


def test_unknown_annotations_in_preview_are_not_violations() -> None:
    resource = replica("sm-app-db", "team-a", annotations={**replica_annotations(), "kecs.io/last-replicated": UNKNOWN_STRING})
    assert names(run_resource_policies(resource)) == []


def test_remediation_fills_only_derivable_metadata_and_keeps_data_secret() -> None:
    labels = without(replica_labels(), "kecs.io/managed-by")
    annotations = without(replica_annotations(), "kecs.io/source-namespace")
    resource = replica("sm-app-db", "team-a", labels=labels, annotations=annotations)
    secret_sig = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": {"value": "c2VjcmV0"}}
    resource.props["data"] = secret_sig  # type: ignore[index]
    fixed = replica_metadata_remediation(resource_args(resource, keep_secrets=True))
    assert fixed is not None
    wire = serialize_properties(fixed)
    assert wire["metadata"]["labels"]["kecs.io/managed-by"] == "kecs"
    assert wire["metadata"]["annotations"]["kecs.io/source-namespace"] == MASTER_NS
    assert wire["metadata"]["annotations"]["kecs.io/last-replicated"] == STAMP
    assert wire["data"] == secret_sig  # still a secret on the wire
    assert names(run_resource_policies(Resource(SECRET, wire))) == []


@pytest.mark.parametrize(
    "resource",
    [
        pytest.param(replica("sm-app-db", "team-a"), id="nothing to fix"),
        pytest.param(
            replica("sm-app-db", "team-a", annotations=without(replica_annotations(), "kecs.io/last-replicated")),
            id="last-replicated cannot be derived",
        ),
        pytest.param(Resource(SECRET, {"metadata": {"name": "x", "namespace": "a"}}), id="not a replica"),
    ],
)
def test_remediation_changes_nothing_it_cannot_derive(resource: Resource) -> None:
    assert replica_metadata_remediation(resource_args(resource, keep_secrets=True)) is None


def test_policy_is_remediable() -> None:
    assert replica_metadata.has_remediation()
