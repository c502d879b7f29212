"""Helpers for the policy tests: build the arguments the analyzer builds, run every policy of the pack, collect violations.

The pack's own directory is on the tests' import path (pytest's ``pythonpath`` setting, as when the
analyzer runs ``policies/__main__.py`` there), so the tests import ``kecs_policies`` exactly as the pack does. Properties go through pulumi-policy's own
deserializer and unknown-checking proxy, like in ``Analyze``/``AnalyzeStack``.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kecs_policies import POLICIES
from kecs_policies.common import (
    CLUSTER_ROLE,
    CLUSTER_ROLE_BINDING,
    CONFIG_MAP,
    ROLE,
    ROLE_BINDING,
    SECRET,
    SERVICE_ACCOUNT,
)
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UNKNOWN_OBJECT_VALUE, UNKNOWN_STRING_VALUE, unknown_checking_proxy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
POLICIES_DIR = os.path.join(ROOT, "policies")
PROJECT, STACK = "kecs-secrets", "dev"
MASTER_NS = "kecs-system"
STAMP = "2025-08-12T13:38:45Z"
# Planted in every data/stringData/value field of the test objects: it must never show up in a message.
CANARY = "canary-Pl41nT3xt-s3cr3t-7f3a"
CANARY_B64 = "Y2FuYXJ5LVBsNDFuVDN4dC1zM2NyM3QtN2YzYQ=="
# pulumi-policy's markers for a string / an object not known yet (preview).
UNKNOWN_STRING = UNKNOWN_STRING_VALUE
UNKNOWN_OBJECT = UNKNOWN_OBJECT_VALUE


@dataclass(frozen=True)
class Violation:
    policy: str
    message: str
    urn: str | None = None


@dataclass
class Resource:
    """One resource as a policy sees it: type token, input/output properties and options."""

    type: str
    props: Mapping[str, Any]
    name: str = ""
    secret_outputs: tuple[str, ...] = ()
    provider_props: Mapping[str, Any] | None = None
    stack: str = STACK
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def urn(self) -> str:
        return f"urn:pulumi:{self.stack}::{PROJECT}::{self.type}::{self.name or _default_name(self.props)}"


def _default_name(props: Mapping[str, Any]) -> str:
    metadata = props.get("metadata") or {}
    return "/".join(str(p) for p in (metadata.get("namespace"), metadata.get("name")) if p) or "resource"


def policy_options(secret_outputs: Iterable[str] = ()) -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), list(secret_outputs), None)


def _provider(resource: Resource) -> PolicyProviderResource | None:
    if resource.provider_props is None:
        return None
    props = unknown_checking_proxy(deserialize_properties(dict(resource.provider_props)))
    return PolicyProviderResource("pulumi:providers:kubernetes", props, "urn:provider", "k8s")


def _props(props: Mapping[str, Any], keep_secrets: bool = False) -> Any:
    return unknown_checking_proxy(deserialize_properties(copy.deepcopy(dict(props)), keep_secrets))


def resource_args(
    resource: Resource, config: Mapping[str, Any] | None = None, stack_tags: Mapping[str, str] | None = None, keep_secrets: bool = False
) -> ResourceValidationArgs:
    return ResourceValidationArgs(
        resource.type,
        _props(resource.props, keep_secrets),
        resource.urn,
        resource.name or _default_name(resource.props),
        policy_options(resource.secret_outputs),
        _provider(resource),
        config,
        stack_tags,
    )


def run_resource_policies(
    resource: Resource, config: Mapping[str, Mapping[str, Any]] | None = None, stack_tags: Mapping[str, str] | None = None
) -> list[Violation]:
    """Every resource policy of the pack on one resource; ``config`` is keyed by policy name, like the CLI's."""
    found: list[Violation] = []
    for policy in POLICIES:
        if not isinstance(policy, ResourceValidationPolicy):
            continue
        args = resource_args(resource, (config or {}).get(policy.name), stack_tags)

        def report(message: str, urn: str | None = None, _name: str = policy.name) -> None:
            found.append(Violation(_name, message, urn))

        policy.validate(args, report)
    return found


def run_stack_policies(resources: Iterable[Resource], config: Mapping[str, Mapping[str, Any]] | None = None) -> list[Violation]:
    """Every stack policy of the pack on a stack made of ``resources``."""
    stack = [
        PolicyResource(
            r.type, _props(r.props), r.urn, r.name or _default_name(r.props), policy_options(r.secret_outputs), _provider(r), None, [], {}
        )
        for r in resources
    ]
    found: list[Violation] = []
    for policy in POLICIES:
        if not isinstance(policy, StackValidationPolicy):
            continue

        def report(message: str, urn: str | None = None, _name: str = policy.name) -> None:
            found.append(Violation(_name, message, urn))

        policy.validate(StackValidationArgs(stack, (config or {}).get(policy.name)), report)
    return found


def names(violations: Iterable[Violation]) -> list[str]:
    """The violated policy names, sorted, one entry per violation (so counts are asserted too)."""
    return sorted(v.policy for v in violations)


# ---- Kubernetes objects shaped like the program's (components/layout.py, masters.py, replicas.py, rbac.py) ----


def metadata(
    name: str | None, namespace: str | None = None, labels: Mapping[str, str] | None = None, annotations: Mapping[str, str] | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if name is not None:
        meta["name"] = name
    if namespace is not None:
        meta["namespace"] = namespace
    if labels is not None:
        meta["labels"] = dict(labels)
    if annotations is not None:
        meta["annotations"] = dict(annotations)
    return meta


def master_labels(source: str = "secretsmanager") -> dict[str, str]:
    return {"kecs.io/managed-by": "kecs", "kecs.io/source": source}


def master_annotations(source_name: str, item_type: str = "secret") -> dict[str, str]:
    return {
        "kecs.io/source-name": source_name,
        "kecs.io/source-arn": f"arn:aws:secretsmanager:us-east-1:000000000000:secret:{source_name}-AbCdEf",
        "kecs.io/source-version": "v-1",
        "kecs.io/source-type": item_type,
        "kecs.io/last-changed": STAMP,
        "kecs-secrets.io/stack": f"{PROJECT}/{STACK}",
    }


def data_object(kind: str, meta: Mapping[str, Any], data: Mapping[str, Any] | None) -> Resource:
    """A Secret (type Opaque) or ConfigMap with the given metadata; by default it holds the canary value."""
    props: dict[str, Any] = {"metadata": meta, "data": dict(data) if data is not None else {"value": CANARY_B64 if kind == SECRET else CANARY}}
    if kind == SECRET:
        props["type"] = "Opaque"
    return Resource(kind, props)


def master(
    name: str,
    source_name: str,
    *,
    kind: str = SECRET,
    source: str = "secretsmanager",
    item_type: str = "secret",
    namespace: str | None = MASTER_NS,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    data: Mapping[str, Any] | None = None,
) -> Resource:
    meta = metadata(
        name,
        namespace,
        master_labels(source) if labels is None else labels,
        master_annotations(source_name, item_type) if annotations is None else annotations,
    )
    return data_object(kind, meta, data)


def replica_labels(source: str = "secretsmanager", master_ns: str = MASTER_NS) -> dict[str, str]:
    return {"kecs.io/managed-by": "kecs", "kecs.io/source": source, "kecs.io/replicated-from": master_ns}


def replica_annotations(source_name: str = "app/db", master_ns: str = MASTER_NS, stamp: str = STAMP) -> dict[str, str]:
    return {
        "kecs.io/source-namespace": master_ns,
        "kecs.io/last-replicated": stamp,
        "kecs.io/source-name": source_name,
        "kecs.io/source-version": "v-1",
        "kecs-secrets.io/stack": f"{PROJECT}/{STACK}",
    }


def replica(
    name: str,
    namespace: str,
    *,
    kind: str = SECRET,
    source: str = "secretsmanager",
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    data: Mapping[str, Any] | None = None,
) -> Resource:
    meta = metadata(
        name,
        namespace,
        replica_labels(source) if labels is None else labels,
        replica_annotations() if annotations is None else annotations,
    )
    return data_object(kind, meta, data)


def reader_labels(namespace: str) -> dict[str, str]:
    return {"kecs.io/managed-by": "kecs", "kecs.io/for-namespace": namespace}


def service_account(namespace: str, name: str | None = None) -> Resource:
    return Resource(
        SERVICE_ACCOUNT,
        {
            "metadata": metadata(name or f"kecs-secret-reader-{namespace}", namespace, reader_labels(namespace)),
            "automountServiceAccountToken": False,
        },
    )


def role_binding(
    namespace: str,
    *,
    name: str | None = None,
    binding_ns: str = MASTER_NS,
    labels: Mapping[str, str] | None = None,
    subjects: list[dict[str, Any]] | None = None,
    role_ref: Mapping[str, str] | None = None,
) -> Resource:
    reader = f"kecs-secret-reader-{namespace}"
    return Resource(
        ROLE_BINDING,
        {
            "metadata": metadata(name or reader, binding_ns, reader_labels(namespace) if labels is None else labels),
            "roleRef": dict(role_ref)
            if role_ref is not None
            else {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "kecs-system-secret-reader"},
            "subjects": subjects if subjects is not None else [{"kind": "ServiceAccount", "name": reader, "namespace": namespace}],
        },
    )


def read_rule(**overrides: Any) -> dict[str, Any]:
    """A reader rule as the program makes it: one resource, by name (the healthy stack's Secret master)."""
    rule: dict[str, Any] = {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"], "resourceNames": ["sm-app-db"]}
    rule.update(overrides)
    return rule


def reader_rules() -> list[dict[str, Any]]:
    """The reader ClusterRole's rules for the healthy stack: its two masters, each under its own resource."""
    return [read_rule(), read_rule(resources=["configmaps"], resourceNames=["ssm-app-flags"])]


def cluster_role(
    name: str = "kecs-system-secret-reader",
    rules: list[dict[str, Any]] | None = None,
    labels: Mapping[str, str] | None = None,
    **fields: Any,
) -> Resource:
    props: dict[str, Any] = {
        "metadata": metadata(name, None, {"kecs.io/managed-by": "kecs"} if labels is None else labels),
        "rules": reader_rules() if rules is None else rules,
    }
    props.update(fields)
    return Resource(CLUSTER_ROLE, props)


def role(namespace_served: str, rules: list[dict[str, Any]] | None = None, namespace: str = MASTER_NS) -> Resource:
    name = f"kecs-secret-reader-{namespace_served}"
    return Resource(
        ROLE,
        {
            "metadata": metadata(name, namespace, reader_labels(namespace_served)),
            "rules": [read_rule(resourceNames=["sm-app-db"])] if rules is None else rules,
        },
    )


def cluster_role_binding(name: str, role_name: str, subjects: list[dict[str, Any]] | None = None) -> Resource:
    return Resource(
        CLUSTER_ROLE_BINDING,
        {
            "metadata": metadata(name),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role_name},
            "subjects": subjects if subjects is not None else [{"kind": "Group", "name": "system:authenticated"}],
        },
    )


def config_map(name: str, namespace: str, data: Mapping[str, Any], **meta: Any) -> Resource:
    return Resource(CONFIG_MAP, {"metadata": metadata(name, namespace, **meta), "data": dict(data)})


def healthy_stack() -> list[Resource]:
    """What the program makes for one secret, one String parameter and one namespace that needs both."""
    return [
        master("sm-app-db", "app/db"),
        master("ssm-app-flags", "/app/flags", kind=CONFIG_MAP, source="ssm", item_type="String", data={"value": "on"}),
        replica("sm-app-db", "team-a"),
        replica(
            "ssm-app-flags", "team-a", kind=CONFIG_MAP, source="ssm", annotations=replica_annotations("/app/flags"), data={"value": "on"}
        ),
        cluster_role(),
        service_account("team-a"),
        role_binding("team-a"),
        Resource(
            "pulumi-python:dynamic/kecs:SourceValues",
            {"items": {"sm-app-db": {"source": "secretsmanager", "name": "app/db"}}, "values": {"sm-app-db": {"value": CANARY_B64}}},
            name="values",
            secret_outputs=("values", "fingerprint_key"),
        ),
    ]


def assert_no_canary(violations: Iterable[Violation]) -> None:
    for violation in violations:
        assert CANARY not in violation.message and CANARY_B64 not in violation.message, violation


# Every policy of the pack, by name (what the pack must declare and a broken program must trigger).
ALL_POLICY_NAMES = frozenset({
    "kecs-replica-metadata",
    "kecs-master-placement",
    "kecs-no-secret-in-configmap",
    "kecs-reader-rbac-read-only",
    "kecs-no-cluster-wide-secret-read",
    "kecs-reader-binding",
    "kecs-replica-coverage",
    "kecs-secret-data-is-secret",
    "kecs-aws-credential-parameter-securestring",
    "kecs-aws-secret-recovery-window",
})
