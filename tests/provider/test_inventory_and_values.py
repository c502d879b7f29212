"""The inventory and the dynamic provider against real LocalStack."""

from __future__ import annotations

import base64
import json
import pickle
import secrets as random

import boto3
import dill
import pytest

from kecs_secrets.errors import SourceUnavailableError, ValueShapeError
from kecs_secrets.inventory import read_inventory
from kecs_secrets.values import fingerprint
from providers.aws_source import BotoSource
from providers.source_value import SourceValueProvider
from tests.support.localstack import ensure_localstack
from tests.support.real import ROOT

REGION = "us-east-1"


@pytest.fixture(scope="module")
def endpoint() -> str:
    return ensure_localstack()


@pytest.fixture(scope="module")
def clients(endpoint):
    def make(service):
        return boto3.client(service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")

    return make("secretsmanager"), make("ssm")


@pytest.fixture(scope="module")
def seeded(clients):
    sm, ssm = clients
    p = f"prov{random.token_hex(3)}"
    made = {
        "json": sm.create_secret(Name=f"{p}/db", SecretString=json.dumps({"user": "u", "password": "pw", "port": 5432})),
        "plain": sm.create_secret(Name=f"{p}/app-config", SecretString="plain-secret"),
        "binary": sm.create_secret(Name=f"{p}/blob", SecretBinary=b"\x00\xff\x10"),
    }
    ssm.put_parameter(Name=f"/{p}/db/password", Type="SecureString", Value="ssm-secret")
    ssm.put_parameter(Name=f"/{p}/list", Type="StringList", Value="a,b")
    ssm.put_parameter(Name=f"{p}-plain", Type="String", Value="text")
    yield p, made
    for item in made.values():
        sm.delete_secret(SecretId=item["ARN"], ForceDeleteWithoutRecovery=True)
    ssm.delete_parameters(Names=[f"/{p}/db/password", f"/{p}/list", f"{p}-plain"])


def inventory(endpoint, prefix):
    items, warnings = read_inventory(BotoSource(endpoint, REGION), region=REGION, name_prefixes=(f"{prefix}/", f"/{prefix}/", f"{prefix}-"))
    return {item.name: item for item in items}, warnings


def test_inventory_reads_metadata_of_every_kind(endpoint, seeded):
    p, made = seeded
    items, warnings = inventory(endpoint, p)
    assert warnings == []
    assert set(items) == {f"{p}/db", f"{p}/app-config", f"{p}/blob", f"/{p}/db/password", f"/{p}/list", f"{p}-plain"}
    db = items[f"{p}/db"]
    assert (db.source, db.arn, db.version, db.item_type) == ("secretsmanager", made["json"]["ARN"], made["json"]["VersionId"], "secret")
    assert db.last_changed.endswith("Z") and db.last_changed[:2] == "20"
    assert {items[f"/{p}/db/password"].item_type, items[f"/{p}/list"].item_type, items[f"{p}-plain"].item_type} == {
        "SecureString", "StringList", "String",
    }
    assert items[f"/{p}/db/password"].version == "1"


def test_parameter_arns_take_the_account_of_the_listed_secrets_without_sts(endpoint, seeded):
    from tests.support.counting_proxy import CountingProxy

    p, made = seeded
    with CountingProxy(endpoint) as proxy:
        items, _ = inventory(proxy.endpoint, p)
        calls = proxy.take()
    account = made["json"]["ARN"].split(":")[4]
    assert items[f"/{p}/db/password"].arn == f"arn:aws:ssm:{REGION}:{account}:parameter/{p}/db/password"
    assert "query.GetCallerIdentity" not in calls
    # Without a secret in the listing, the account comes from STS as before.
    with CountingProxy(endpoint) as proxy:
        only, _ = read_inventory(BotoSource(proxy.endpoint, REGION), region=REGION, name_prefixes=(f"/{p}/",))
        calls = proxy.take()
    assert only[0].arn.split(":")[4] == account and calls.get("query.GetCallerIdentity") == 1


def test_inventory_sees_a_new_version_without_reading_values(endpoint, clients, seeded):
    sm, ssm = clients
    p, made = seeded
    before, _ = inventory(endpoint, p)
    sm.put_secret_value(SecretId=made["plain"]["ARN"], SecretString="plain-secret-2")
    ssm.put_parameter(Name=f"/{p}/db/password", Type="SecureString", Value="ssm-secret-2", Overwrite=True)
    after, _ = inventory(endpoint, p)
    assert after[f"{p}/app-config"].version != before[f"{p}/app-config"].version
    assert after[f"/{p}/db/password"].version == "2"
    assert after[f"{p}/db"] == before[f"{p}/db"]


def test_unreachable_source_raises_never_returns_empty():
    with pytest.raises(SourceUnavailableError, match="cannot read Secrets Manager ListSecrets from http://127.0.0.1:9"):
        read_inventory(BotoSource("http://127.0.0.1:9", REGION), region=REGION)


KEY = "0f" * 32


def props_for(item, endpoint, encoding="base64", json_keys=(), selected_by=None):
    return {
        "item": {
            "source": item.source, "name": item.name, "arn": item.arn, "version": item.version,
            "encoding": encoding, "json_keys": list(json_keys), "endpoint": endpoint, "region": REGION,
        },
        "fingerprint_key": KEY,
        "selected_by": selected_by or {},
    }


def test_provider_reads_json_secret_with_every_field(endpoint, seeded):
    p, _ = seeded
    items, _ = inventory(endpoint, p)
    created = SourceValueProvider().create(props_for(items[f"{p}/db"], endpoint, json_keys=["password"]))
    assert created.id == f"secretsmanager:{p}/db"
    data = {k: base64.b64decode(v) for k, v in created.outs["data"].items()}
    assert data == {"value": json.dumps({"user": "u", "password": "pw", "port": 5432}).encode(), "user": b"u", "password": b"pw", "port": b"5432"}
    assert created.outs["fingerprint"] == fingerprint(bytes.fromhex(KEY), data)
    assert created.outs["keys"] == ["password", "port", "user", "value"]
    # What a reader keeps: what it read and the key (diff and refresh see only outputs), the value, its
    # fingerprint and key names.
    assert set(created.outs) == {"item", "fingerprint_key", "data", "fingerprint", "keys"}


def test_provider_keeps_binary_bytes_and_reads_parameters(endpoint, seeded):
    p, _ = seeded
    items, _ = inventory(endpoint, p)
    provider = SourceValueProvider()
    blob = provider.create(props_for(items[f"{p}/blob"], endpoint)).outs["data"]
    assert base64.b64decode(blob["value"]) == b"\x00\xff\x10"
    listed = provider.create(props_for(items[f"/{p}/list"], endpoint, encoding="text")).outs["data"]
    assert listed == {"value": "a,b", "items": '["a","b"]'}


def test_provider_reads_the_version_the_inventory_saw(endpoint, clients, seeded):
    sm, _ = clients
    p, made = seeded
    items, _ = inventory(endpoint, p)
    item = items[f"{p}/app-config"]
    provider = SourceValueProvider()
    first = provider.create(props_for(item, endpoint)).outs
    sm.put_secret_value(SecretId=made["plain"]["ARN"], SecretString="newer")
    # Still the version that was planned, not whatever is current by now: state and annotations agree.
    assert provider.create(props_for(item, endpoint)).outs["data"] == first["data"]
    newer, _ = inventory(endpoint, p)
    diff = provider.diff("id", first, props_for(newer[f"{p}/app-config"], endpoint))
    assert diff.changes is True and diff.replaces == []
    updated = provider.update("id", first, props_for(newer[f"{p}/app-config"], endpoint)).outs
    assert base64.b64decode(updated["data"]["value"]) == b"newer"


def test_provider_diff_without_changes_reads_nothing(endpoint, seeded):
    p, _ = seeded
    items, _ = inventory(endpoint, p)
    props = props_for(items[f"{p}-plain"], endpoint, encoding="text")
    outs = SourceValueProvider().create(props).outs
    diff = SourceValueProvider().diff("id", outs, props)
    assert diff.changes is False


def test_provider_missing_json_key_names_the_reference_and_key_not_value(endpoint, seeded):
    p, _ = seeded
    items, _ = inventory(endpoint, p)
    who = {"nope": "reference 'x:nope::' from config kecs-secrets:demand.web[0]"}
    props = props_for(items[f"{p}/db"], endpoint, json_keys=["nope"], selected_by=who)
    with pytest.raises(ValueShapeError) as caught:
        SourceValueProvider().create(props)
    assert str(caught.value) == f"reference 'x:nope::' from config kecs-secrets:demand.web[0]: secret '{p}/db' has no JSON field 'nope'"
    assert "pw" not in str(caught.value)
    # The check (which runs at preview) reads a new reader's value and reports the same.
    with pytest.raises(ValueShapeError) as checked:
        SourceValueProvider().check({}, props)
    assert str(checked.value) == str(caught.value)
    assert SourceValueProvider().check({}, props_for(items[f"{p}/db"], endpoint, json_keys=["user"])).failures == []


def test_provider_refresh_of_a_deleted_item_reports_it_gone(endpoint, clients, seeded):
    _, ssm = clients
    p, _ = seeded
    ssm.put_parameter(Name=f"/{p}/temp", Type="String", Value="x")
    items, _ = inventory(endpoint, p)
    props = props_for(items[f"/{p}/temp"], endpoint, encoding="text")
    ssm.delete_parameter(Name=f"/{p}/temp")
    assert SourceValueProvider().read("ssm:x", props).id == ""


def test_provider_check_returns_failures_not_exceptions():
    result = SourceValueProvider().check({}, {"item": {"source": "vault", "name": "", "encoding": "hex", "region": ""}})
    assert sorted(f.property for f in result.failures) == ["item.encoding", "item.name", "item.region", "item.source"]


def test_provider_diff_reads_outputs_of_the_earlier_flat_shape():
    """Readers made before ``item`` held one property per key (and ``item_type``): same item and key, no change."""
    item = {"source": "ssm", "name": "/a/b", "arn": "arn:aws:ssm:us-east-1:0:parameter/a/b", "version": "3",
            "encoding": "text", "json_keys": [], "endpoint": "http://127.0.0.1:4566", "region": REGION}
    flat = {**item, "item_type": "String", "fingerprint_key": KEY, "data": {"value": "x"}, "fingerprint": "0" * 64, "keys": ["value"]}
    provider = SourceValueProvider()
    assert provider.diff("ssm:/a/b", flat, {"item": item, "fingerprint_key": KEY}).changes is False
    assert provider.diff("ssm:/a/b", flat, {"item": {**item, "version": "4"}, "fingerprint_key": KEY}).changes is True
    assert provider.diff("ssm:/a/b", flat, {"item": item, "fingerprint_key": "1e" * 32}).changes is True
    renamed = provider.diff("ssm:/a/b", flat, {"item": {**item, "name": "/a/c"}, "fingerprint_key": KEY})
    assert renamed.changes is True and renamed.replaces == ["item"]


def test_provider_host_loads_no_aws_sdk_until_a_value_is_read():
    """A run in which nothing changed makes the provider host check and diff only: boto3 stays unloaded."""
    import subprocess
    import sys

    code = "import sys, providers.source_value; sys.exit('botocore' in sys.modules or 'boto3' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False).returncode == 0


def test_serialized_provider_holds_no_client_endpoint_or_credential(endpoint, seeded):
    p, _ = seeded
    items, _ = inventory(endpoint, p)
    provider = SourceValueProvider()
    provider.create(props_for(items[f"{p}-plain"], endpoint, encoding="text"))  # clients now exist in this process
    blob = dill.dumps(provider, protocol=pickle.DEFAULT_PROTOCOL, recurse=True)
    for needle in (b"4566", b"test", b"botocore", endpoint.encode()):
        assert needle not in blob


def test_concurrent_reads_are_coalesced_into_batch_calls(endpoint, seeded):
    """Up to four reads at a time (as Pulumi calls the provider) become one BatchGetSecretValue / GetParameters."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.support.counting_proxy import CountingProxy

    p, _ = seeded
    items, _ = inventory(endpoint, p)
    with CountingProxy(endpoint) as proxy:
        props = [
            props_for(items[name], proxy.endpoint, encoding="base64")
            for name in (f"{p}/db", f"{p}/app-config", f"{p}/blob", f"/{p}/db/password")
        ]
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda one: SourceValueProvider().create(one).outs, props))
        calls = proxy.take()
    assert base64.b64decode(results[2]["data"]["value"]) == b"\x00\xff\x10"
    assert json.loads(base64.b64decode(results[0]["data"]["value"]))["user"] == "u"
    assert calls.get("secretsmanager.BatchGetSecretValue", 0) <= 2
    assert calls.get("secretsmanager.GetSecretValue", 0) == 0
    assert calls.get("AmazonSSM.GetParameters", 0) == 1


def test_name_prefixes_are_filtered_server_side_and_stay_exact(endpoint, clients, seeded):
    """With name prefixes, 120 unrelated items cost no extra list pages, and only exact prefix matches count."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.support.counting_proxy import CountingProxy

    sm, ssm = clients
    p, _ = seeded
    noise = f"noise{random.token_hex(3)}"
    secret_names = [f"{noise}/s{i:03d}" for i in range(120)] + [f"x{p}/not-mine", f"{p.upper()}/not-mine-either"]
    parameter_names = [f"/{noise}/p{i:03d}" for i in range(120)] + [f"/x{p}/not-mine"]
    with ThreadPoolExecutor(8) as pool:
        arns = list(pool.map(lambda n: sm.create_secret(Name=n, SecretString="x")["ARN"], secret_names))
        list(pool.map(lambda n: ssm.put_parameter(Name=n, Type="String", Value="x"), parameter_names))
    try:
        with CountingProxy(endpoint) as proxy:
            items, _ = inventory(proxy.endpoint, p)
            calls = proxy.take()
        assert sorted(items) == sorted([f"{p}/db", f"{p}/app-config", f"{p}/blob", f"/{p}/db/password", f"/{p}/list", f"{p}-plain"])
        assert calls["secretsmanager.ListSecrets"] == 1  # 120+ other secrets would be 2+ pages of 100
        assert calls["AmazonSSM.DescribeParameters"] == 1  # 120+ other parameters would be 3+ pages of 50
    finally:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda arn: sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True), arns))
        for i in range(0, len(parameter_names), 10):
            ssm.delete_parameters(Names=parameter_names[i : i + 10])
