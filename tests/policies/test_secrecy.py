"""kecs-secret-data-is-secret: SourceValues declares its values secret; Secrets use no plain stringData."""

from __future__ import annotations

import pytest

from providers.source_values import SECRET_OUTPUTS
from tests.policies.conftest import (
    CANARY,
    CANARY_B64,
    SECRET,
    UNKNOWN_OBJECT,
    Resource,
    assert_no_canary,
    master,
    names,
    run_resource_policies,
)

POLICY = "kecs-secret-data-is-secret"
SOURCE_VALUES = "pulumi-python:dynamic/kecs:SourceValues"


def source_value(secret_outputs: tuple[str, ...]) -> Resource:
    props = {"items": {"sm-app-db": {"source": "secretsmanager", "name": "app/db"}}, "values": {"sm-app-db": {"value": CANARY_B64}},
             "fingerprints": {"sm-app-db": "0" * 64}}
    return Resource(SOURCE_VALUES, props, name="values", secret_outputs=secret_outputs)


def secret_with(**fields: object) -> Resource:
    return Resource(SECRET, {"metadata": {"name": "db", "namespace": "team-a"}, "type": "Opaque", **fields})


CASES = [
    ("SourceValues as the program declares it", source_value(tuple(SECRET_OUTPUTS)), []),
    ("SourceValues with more secret outputs", source_value(("values", "fingerprints")), []),
    ("SourceValues without secret outputs", source_value(()), [POLICY]),
    ("SourceValues with the wrong secret output", source_value(("keys",)), [POLICY]),
    ("Secret with data", secret_with(data={"password": CANARY_B64}), []),
    ("master Secret", master("sm-app-db", "app/db"), []),
    ("Secret with stringData", secret_with(stringData={"password": CANARY}), [POLICY]),
    ("Secret with data and stringData", secret_with(data={"a": CANARY_B64}, stringData={"b": CANARY}), [POLICY]),
    ("Secret with unknown stringData (preview)", secret_with(stringData=UNKNOWN_OBJECT), [POLICY]),
    ("Secret with empty stringData", secret_with(stringData={}), []),
    ("other dynamic resources are not the value reader", Resource("pulumi-python:dynamic:Resource", {"x": CANARY}, name="other"), []),
]


@pytest.mark.parametrize(("resource", "expected"), [pytest.param(r, e, id=i) for i, r, e in CASES])
def test_secret_data_is_secret(resource: Resource, expected: list[str]) -> None:
    violations = run_resource_policies(resource)
    assert names(violations) == expected
    assert_no_canary(violations)


@pytest.mark.parametrize(
    ("config", "secret_outputs", "expected"),
    [
        pytest.param(None, ("values",), [], id="default: values"),
        pytest.param({"secretOutputs": ["values", "keys"]}, ("values",), [POLICY], id="more outputs required"),
        pytest.param({"secretOutputs": ["values", "keys"]}, ("values", "keys"), [], id="more outputs declared"),
        pytest.param({"secretOutputs": []}, (), [], id="nothing required"),
    ],
)
def test_config(config: dict | None, secret_outputs: tuple[str, ...], expected: list[str]) -> None:
    resource = source_value(secret_outputs)
    assert names(run_resource_policies(resource, {POLICY: config} if config else None)) == expected
