"""The inventory and the value reader (``kecs:SourceValues``) against real LocalStack."""

from __future__ import annotations

import base64
import contextlib
import json
import pickle
import secrets as random
import time
import traceback
from contextlib import contextmanager

import boto3
import dill
import pytest

from kecs_secrets.errors import SourceGoneError, SourceUnavailableError, ValueShapeError
from kecs_secrets.inventory import read_inventory
from kecs_secrets.values import fingerprint
from providers.aws_source import BotoSource
from providers.dynamic_errors import _OneLineErrors
from providers.source_value import SourceValueProvider
from providers.source_values import SECRET_OUTPUTS, SOURCE_VALUES_ID, SourceValuesProvider, item_record
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


def test_a_listing_started_ahead_is_offered_only_for_what_it_lists_and_only_before_it_is_taken(endpoint, seeded):
    """The watch starts the listing when an update begins; the program takes it only if it lists what its settings say."""
    p, _ = seeded
    prefixes, paths = (f"{p}/", f"/{p}/", f"{p}-"), ("/",)
    assert BotoSource(endpoint, REGION).started_for(endpoint, REGION, prefixes, paths) is None  # never started
    source = BotoSource(endpoint, REGION).start(prefixes, paths)
    started = source.started_for(endpoint, REGION, prefixes, paths)
    assert started is not None and abs(started - time.time()) < 60
    assert source.started_for(endpoint, "eu-west-1", prefixes, paths) is None
    assert source.started_for(endpoint, REGION, prefixes[:1], paths) is None
    assert source.started_for(endpoint, REGION, prefixes, ("/other",)) is None
    items, _ = read_inventory(source, region=REGION, name_prefixes=prefixes)
    assert {item.name for item in items} == {item.name for item in inventory(endpoint, p)[0].values()}
    assert source.started_for(endpoint, REGION, prefixes, paths) is None, "taken: a second run lists again"


def test_unreachable_source_raises_never_returns_empty():
    with pytest.raises(SourceUnavailableError, match="cannot read Secrets Manager ListSecrets from http://127.0.0.1:9"):
        read_inventory(BotoSource("http://127.0.0.1:9", REGION), region=REGION)


KEY = "0f" * 32


def record(item, endpoint, encoding="base64", json_keys=()):
    """The reader's entry for an inventory item."""
    return {
        "source": item.source, "name": item.name, "arn": item.arn, "version": item.version, "encoding": encoding,
        "json_keys": sorted(json_keys), "endpoint": endpoint, "region": REGION,
    }


def props_for(items, selected_by=None):
    """The reader's inputs: ``items`` by master name."""
    return {"items": items, "selected_by": selected_by or {}}


@contextmanager
def fresh_items(clients, secret_values, parameter_values):
    """Secrets ``<p>/<name>`` and String parameters ``/<p>/<name>`` of a test's own, deleted afterwards."""
    sm, ssm = clients
    p = f"fresh{random.token_hex(3)}"
    arns = []
    try:
        for name, value in secret_values.items():
            arns.append(sm.create_secret(Name=f"{p}/{name}", SecretString=value)["ARN"])
        for name, value in parameter_values.items():
            ssm.put_parameter(Name=f"/{p}/{name}", Type="String", Value=value)
        yield p
    finally:
        for arn in arns:
            with contextlib.suppress(sm.exceptions.ResourceNotFoundException):
                sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
        names = [f"/{p}/{name}" for name in parameter_values]
        for start in range(0, len(names), 10):
            ssm.delete_parameters(Names=names[start : start + 10])


def test_provider_reads_json_secret_with_every_field(endpoint, seeded):
    p, _ = seeded
    items, _ = inventory(endpoint, p)
    db = record(items[f"{p}/db"], endpoint, json_keys=["password"])
    created = SourceValuesProvider().create(props_for({"sm-db": db}))
    assert created.id == SOURCE_VALUES_ID
    data = {k: base64.b64decode(v) for k, v in created.outs["values"]["sm-db"].items()}
    assert data == {"value": json.dumps({"user": "u", "password": "pw", "port": 5432}).encode(), "user": b"u", "password": b"pw", "port": b"5432"}
    assert created.outs["fingerprints"] == {"sm-db": fingerprint(bytes.fromhex(created.outs["fingerprint_key"]), data)}
    assert created.outs["keys"] == {"sm-db": ["password", "port", "user", "value"]}
    # What the reader keeps: what it read and the key (diff and refresh see only outputs), the values, their
    # fingerprints and key names; the value only in the outputs made secret.
    assert set(created.outs) == {"items", "fingerprint_key", "values", "fingerprints", "keys", "held", "problems", "key_fingerprints"}
    assert (created.outs["held"], created.outs["problems"]) == ({}, {})
    # Per selected JSON key, its own fingerprint (what restartOnChange compares key by key).
    assert created.outs["key_fingerprints"] == {"sm-db": {"password": fingerprint(bytes.fromhex(created.outs["fingerprint_key"]), {"password": b"pw"})}}
    assert created.outs["items"] == {"sm-db": db}
    public = json.dumps({k: v for k, v in created.outs.items() if k not in SECRET_OUTPUTS})
    assert "pw" not in public and base64.b64encode(b"pw").decode() not in public


def test_the_programs_compact_entries_read_the_same_as_self_contained_ones(endpoint, seeded):
    """The program sends each entry as a list (item_record) with endpoint and region once, at the top level."""
    p, _ = seeded
    items, _ = inventory(endpoint, p)
    item = items[f"{p}/db"]
    compact = item_record(source=item.source, name=item.name, arn=item.arn, version=item.version, encoding="base64", json_keys=["password"])
    props = {**props_for({"sm-db": compact}), "endpoint": endpoint, "region": REGION}
    created = SourceValuesProvider().create(props)
    full = SourceValuesProvider().create(props_for({"sm-db": record(item, endpoint, json_keys=["password"])}))
    assert created.outs["values"] == full.outs["values"] and created.outs["keys"] == full.outs["keys"]
    assert created.outs["items"] == {"sm-db": compact}  # echoed as sent: the state keeps the short form
    assert SourceValuesProvider().diff(SOURCE_VALUES_ID, created.outs, props).changes is False


def test_provider_keeps_binary_bytes_and_reads_parameters(endpoint, seeded):
    p, _ = seeded
    items, _ = inventory(endpoint, p)
    values = SourceValuesProvider().create(props_for({
        "sm-blob": record(items[f"{p}/blob"], endpoint),
        "ssm-list": record(items[f"/{p}/list"], endpoint, encoding="text"),
        "ssm-plain": record(items[f"{p}-plain"], endpoint, encoding="text"),
    })).outs["values"]
    assert base64.b64decode(values["sm-blob"]["value"]) == b"\x00\xff\x10"
    assert values["ssm-list"] == {"value": "a,b", "items": '["a","b"]'}
    assert values["ssm-plain"] == {"value": "text"}


def test_provider_reads_the_version_the_inventory_saw(endpoint, clients, seeded):
    sm, _ = clients
    p, made = seeded
    items, _ = inventory(endpoint, p)
    props = props_for({"sm-app": record(items[f"{p}/app-config"], endpoint)})
    provider = SourceValuesProvider()
    first = provider.create(props).outs
    sm.put_secret_value(SecretId=made["plain"]["ARN"], SecretString="newer")
    # Still the version that was planned, not whatever is current by now: state and annotations agree.
    assert provider.create(props).outs["values"] == first["values"]
    newer, _ = inventory(endpoint, p)
    news = props_for({"sm-app": record(newer[f"{p}/app-config"], endpoint)})
    diff = provider.diff(SOURCE_VALUES_ID, first, news)
    assert diff.changes is True and diff.replaces == []
    updated = provider.update(SOURCE_VALUES_ID, first, news).outs
    assert base64.b64decode(updated["values"]["sm-app"]["value"]) == b"newer"


def test_provider_diff_without_changes_reads_nothing(endpoint, seeded):
    from tests.support.counting_proxy import CountingProxy

    p, _ = seeded
    items, _ = inventory(endpoint, p)
    provider = SourceValuesProvider()
    with CountingProxy(endpoint) as proxy:
        props = props_for({
            "sm-db": record(items[f"{p}/db"], proxy.endpoint, json_keys=["user"]),
            "ssm-plain": record(items[f"{p}-plain"], proxy.endpoint, encoding="text"),
        })
        outs = provider.create(props).outs
        proxy.take()
        assert provider.check(outs, props).failures == []  # the selected key was read with this version: no read
        assert provider.diff(SOURCE_VALUES_ID, outs, props).changes is False
        # Which reference selects which key is only for messages: not a change either.
        who = {"sm-db": {"user": "reference 'x:user::' from config kecs-secrets:demand.web[0]"}}
        assert provider.diff(SOURCE_VALUES_ID, outs, {**props, "selected_by": who}).changes is False
        calls = proxy.take()
    assert calls == {}


def test_provider_missing_json_key_names_the_reference_and_key_not_value(endpoint, seeded):
    p, _ = seeded
    items, _ = inventory(endpoint, p)
    who = {"sm-db": {"nope": "reference 'x:nope::' from config kecs-secrets:demand.web[0]"}}
    props = props_for({"sm-db": record(items[f"{p}/db"], endpoint, json_keys=["nope"])}, selected_by=who)
    with pytest.raises(ValueShapeError) as caught:
        SourceValuesProvider().create(props)
    assert str(caught.value) == f"reference 'x:nope::' from config kecs-secrets:demand.web[0]: secret '{p}/db' has no JSON field 'nope'"
    assert "pw" not in str(caught.value)
    # The check (which runs at preview) reads a new item's value and reports the same.
    with pytest.raises(ValueShapeError) as checked:
        SourceValuesProvider().check({}, props)
    assert str(checked.value) == str(caught.value)
    assert SourceValuesProvider().check({}, props_for({"sm-db": record(items[f"{p}/db"], endpoint, json_keys=["user"])})).failures == []


def test_provider_refresh_of_a_deleted_item_reports_it_gone(endpoint, clients, seeded):
    """A refresh reads every value again: an item gone from the source fails it, naming the item."""
    _, ssm = clients
    p, _ = seeded
    ssm.put_parameter(Name=f"/{p}/temp", Type="String", Value="temp-value")
    items, _ = inventory(endpoint, p)
    props = props_for({
        "ssm-temp": record(items[f"/{p}/temp"], endpoint, encoding="text"),
        "ssm-list": record(items[f"/{p}/list"], endpoint, encoding="text"),
    })
    outs = SourceValuesProvider().create(props).outs
    refreshed = SourceValuesProvider().read(SOURCE_VALUES_ID, outs)
    assert (refreshed.id, refreshed.outs, refreshed.inputs["items"]) == (SOURCE_VALUES_ID, outs, outs["items"])
    ssm.delete_parameter(Name=f"/{p}/temp")
    with pytest.raises(SourceGoneError) as caught:
        SourceValuesProvider().read(SOURCE_VALUES_ID, outs)
    assert str(caught.value) == f"ssm item '/{p}/temp' version '1' not found (ParameterNotFound)"


def test_provider_check_returns_failures_not_exceptions():
    news = {"items": {
        "bad": {"source": "vault", "name": "", "encoding": "hex", "region": ""},
        "ssm-list": {"source": "ssm", "name": "/a/list", "encoding": "text", "region": REGION, "json_keys": ["user"]},
    }}
    result = SourceValuesProvider().check({}, news)
    assert sorted(f.property for f in result.failures) == [
        "items.bad.encoding", "items.bad.name", "items.bad.region", "items.bad.source", "items.ssm-list.json_keys",
    ]


def test_the_legacy_per_item_provider_does_nothing(endpoint):
    """Readers of earlier versions (``kecs:SourceValue``) are only deleted: no change, no read, no write."""
    from tests.support.counting_proxy import CountingProxy

    with CountingProxy(endpoint) as proxy:
        item = {"source": "ssm", "name": "/a/b", "arn": "arn:aws:ssm:us-east-1:0:parameter/a/b", "version": "3",
                "encoding": "text", "json_keys": [], "endpoint": proxy.endpoint, "region": REGION}
        olds = {"item": item, "fingerprint_key": KEY, "data": {"value": "x"}, "fingerprint": "0" * 64, "keys": ["value"]}
        flat = {**item, "item_type": "String", "fingerprint_key": KEY, "data": {"value": "x"}, "fingerprint": "0" * 64, "keys": ["value"]}
        provider = SourceValueProvider()
        assert provider.diff("ssm:/a/b", olds, {"item": {**item, "version": "4"}, "fingerprint_key": "1e" * 32}).changes is False
        assert provider.diff("ssm:/a/b", flat, {"item": item, "fingerprint_key": KEY}).changes is False
        assert provider.read("ssm:/a/b", olds).outs == olds
        assert provider.delete("ssm:/a/b", olds) is None
        calls = proxy.take()
    assert calls == {}


def test_provider_host_loads_no_aws_sdk_until_a_value_is_read():
    """A run in which nothing changed makes the provider host check and diff only: boto3 stays unloaded."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from providers.source_values import SourceValuesProvider, item_record\n"
        "item = item_record(source='secretsmanager', name='db', arn='arn:db', version='v1', encoding='base64', json_keys=['user'])\n"
        "props = {'items': {'sm-db': item}, 'endpoint': 'http://127.0.0.1:9', 'region': 'us-east-1'}\n"
        "provider = SourceValuesProvider()\n"
        "assert provider.check(props, props).failures == []\n"
        "assert provider.diff('source-values', props, props).changes is False\n"
        "sys.exit('botocore' in sys.modules or 'boto3' in sys.modules)\n"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False).returncode == 0


def test_serialized_provider_holds_no_client_endpoint_or_credential(endpoint, seeded):
    p, _ = seeded
    items, _ = inventory(endpoint, p)
    provider = SourceValuesProvider()
    provider.create(props_for({"ssm-plain": record(items[f"{p}-plain"], endpoint, encoding="text")}))  # clients now exist in this process
    blob = dill.dumps(provider, protocol=pickle.DEFAULT_PROTOCOL, recurse=True)
    for needle in (b"4566", b"test", b"botocore", endpoint.encode()):
        assert needle not in blob


def test_one_create_of_many_items_reads_them_in_batch_calls(endpoint, clients):
    """25 secrets and 12 parameters: two BatchGetSecretValue and two GetParameters calls (20 and 10 per call), every value in its place."""
    from tests.support.counting_proxy import CountingProxy

    secret_values = {f"s{i:02d}": f"secret-{i}" for i in range(25)}
    parameter_values = {f"p{i:02d}": f"parameter-{i}" for i in range(12)}
    with fresh_items(clients, secret_values, parameter_values) as p:
        items, _ = inventory(endpoint, p)
        with CountingProxy(endpoint) as proxy:
            wanted = {f"sm-{n}": record(items[f"{p}/{n}"], proxy.endpoint, encoding="text") for n in secret_values}
            wanted |= {f"ssm-{n}": record(items[f"/{p}/{n}"], proxy.endpoint, encoding="text") for n in parameter_values}
            outs = SourceValuesProvider().create(props_for(wanted)).outs
            calls = proxy.take()
    assert calls == {"secretsmanager.BatchGetSecretValue": 2, "AmazonSSM.GetParameters": 2}
    assert outs["values"] == {
        **{f"sm-{n}": {"value": v} for n, v in secret_values.items()},
        **{f"ssm-{n}": {"value": v} for n, v in parameter_values.items()},
    }
    assert set(outs["fingerprints"]) == set(outs["keys"]) == set(wanted)
    assert len(set(outs["fingerprints"].values())) == len(wanted)


def test_an_update_reads_only_the_changed_item_and_carries_the_others_over(endpoint, clients):
    """A new version of one of four items: one call, for that secret; the others (gone from the source by then) keep their outputs."""
    from tests.support.counting_proxy import CountingProxy

    sm, ssm = clients
    with fresh_items(clients, {"a": "a-1", "b": json.dumps({"user": "u"}), "c": "c-1"}, {"d": "d-1"}) as p:
        items, _ = inventory(endpoint, p)
        with CountingProxy(endpoint) as proxy:

            def wanted(seen):
                return {
                    "sm-a": record(seen[f"{p}/a"], proxy.endpoint),
                    "sm-b": record(seen[f"{p}/b"], proxy.endpoint, json_keys=["user"]),
                    "sm-c": record(seen[f"{p}/c"], proxy.endpoint),
                    "ssm-d": record(seen[f"/{p}/d"], proxy.endpoint, encoding="text"),
                }

            provider = SourceValuesProvider()
            first = provider.create(props_for(wanted(items))).outs
            sm.put_secret_value(SecretId=items[f"{p}/a"].arn, SecretString="a-2")
            newer, _ = inventory(endpoint, p)
            # The unchanged items leave the source: a read of any of them would fail the update.
            sm.delete_secret(SecretId=items[f"{p}/b"].arn, ForceDeleteWithoutRecovery=True)
            sm.delete_secret(SecretId=items[f"{p}/c"].arn, ForceDeleteWithoutRecovery=True)
            ssm.delete_parameter(Name=f"/{p}/d")
            news = props_for(wanted(newer))
            proxy.take()
            assert provider.diff(SOURCE_VALUES_ID, first, news).changes is True
            updated = provider.update(SOURCE_VALUES_ID, first, news).outs
            calls = proxy.take()
    assert calls == {"secretsmanager.BatchGetSecretValue": 1}
    assert updated["items"] == news["items"] and updated["items"]["sm-a"]["version"] != first["items"]["sm-a"]["version"]
    assert base64.b64decode(updated["values"]["sm-a"]["value"]) == b"a-2"
    assert updated["fingerprints"]["sm-a"] != first["fingerprints"]["sm-a"]
    for name in ("sm-b", "sm-c", "ssm-d"):
        assert (updated["values"][name], updated["fingerprints"][name], updated["keys"][name]) == (
            first["values"][name], first["fingerprints"][name], first["keys"][name],
        )


def test_an_update_without_an_item_drops_it_and_reads_nothing(endpoint, seeded):
    from tests.support.counting_proxy import CountingProxy

    p, _ = seeded
    items, _ = inventory(endpoint, p)
    provider = SourceValuesProvider()
    with CountingProxy(endpoint) as proxy:
        both = {"sm-blob": record(items[f"{p}/blob"], proxy.endpoint), "ssm-list": record(items[f"/{p}/list"], proxy.endpoint, encoding="text")}
        first = provider.create(props_for(both)).outs
        proxy.take()
        news = props_for({"ssm-list": both["ssm-list"]})
        assert provider.diff(SOURCE_VALUES_ID, first, news).changes is True
        updated = provider.update(SOURCE_VALUES_ID, first, news).outs
        calls = proxy.take()
    assert calls == {}
    assert updated == {
        "items": {"ssm-list": both["ssm-list"]},
        "fingerprint_key": first["fingerprint_key"],
        "values": {"ssm-list": first["values"]["ssm-list"]},
        "fingerprints": {"ssm-list": first["fingerprints"]["ssm-list"]},
        "keys": {"ssm-list": ["items", "value"]},
        "held": {},
        "problems": {},
    }


def test_several_failing_items_are_one_error_each_one_line_each(endpoint, clients, seeded):
    """A gone secret, a gone parameter and a missing JSON key fail one create together: one line per item, naming it, no value."""
    sm, ssm = clients
    p, _ = seeded
    with fresh_items(clients, {"gone": "gone-value"}, {"gone": "gone-value"}) as q:
        gone, _ = inventory(endpoint, q)
        sm.delete_secret(SecretId=gone[f"{q}/gone"].arn, ForceDeleteWithoutRecovery=True)
        ssm.delete_parameter(Name=f"/{q}/gone")
    items, _ = inventory(endpoint, p)
    who = {"sm-db": {"nope": "reference 'x:nope::' from config kecs-secrets:demand.web[0]"}}
    props = props_for({
        "sm-db": record(items[f"{p}/db"], endpoint, json_keys=["nope"]),
        "sm-blob": record(items[f"{p}/blob"], endpoint),
        "sm-gone": record(gone[f"{q}/gone"], endpoint),
        "ssm-gone": record(gone[f"/{q}/gone"], endpoint, encoding="text"),
    }, selected_by=who)
    try:
        SourceValuesProvider().create(props)
    except ExceptionGroup as group:
        assert sorted(type(e).__name__ for e in group.exceptions) == ["SourceGoneError", "SourceGoneError", "ValueShapeError"]
        text = _OneLineErrors(traceback).format_exc()  # what the provider host reports
    else:
        pytest.fail("a create with failing items succeeded")
    assert sorted(text.splitlines()) == [
        f"SourceGoneError: secretsmanager item '{q}/gone' version '{gone[f'{q}/gone'].version}' not found (ResourceNotFoundException)",
        f"SourceGoneError: ssm item '/{q}/gone' version '1' not found (ParameterNotFound)",
        f"ValueShapeError: reference 'x:nope::' from config kecs-secrets:demand.web[0]: secret '{p}/db' has no JSON field 'nope'",
    ]
    assert "gone-value" not in text and "pw" not in text


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
