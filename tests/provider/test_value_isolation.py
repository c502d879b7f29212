"""One item's value that cannot be used is that item's problem only (``kecs:SourceValues`` against real LocalStack):
the reader keeps what it held for the item and says of which version, reports it in one line without the value,
and reads every other item as usual."""

from __future__ import annotations

import base64
import json

import pytest

from kecs_secrets.errors import ValueShapeError
from providers.source_values import NO_DATA, SourceValuesProvider
from tests.provider.test_inventory_and_values import clients, endpoint, fresh_items, inventory, props_for, record  # noqa: F401
from tests.support.counting_proxy import VALUE_READS, CountingProxy

DEEP = '{"pw": ' + "[" * 30_000 + "]" * 30_000 + "}"
SURROGATE = '{"pw": "\\ud800"}'  # JSON text (ASCII) whose field holds a lone surrogate


def _value(outs, master):
    return base64.b64decode(outs["values"][master]["value"]).decode()


def test_a_new_item_with_an_unusable_value_gets_no_data_and_every_other_item_its_value(endpoint, clients):  # noqa: F811
    with fresh_items(clients, {"good": "good-1", "deep": DEEP, "odd": SURROGATE}, {"deep": "[" * 65536}) as q:
        items, _ = inventory(endpoint, q)
        props = props_for({
            "sm-good": record(items[f"{q}/good"], endpoint),
            "sm-deep": record(items[f"{q}/deep"], endpoint),
            "sm-odd": record(items[f"{q}/odd"], endpoint),
            "ssm-deep": record(items[f"/{q}/deep"], endpoint, encoding="text"),
        })
        outs = SourceValuesProvider().create(props).outs
    assert _value(outs, "sm-good") == "good-1"
    assert outs["values"]["ssm-deep"] == {"value": "[" * 65536}, "deep nesting that is no JSON object is a plain value"
    assert set(outs["values"]) == {"sm-good", "ssm-deep"}
    assert outs["held"] == {"sm-deep": NO_DATA, "sm-odd": NO_DATA}
    deep_version, odd_version = items[f"{q}/deep"].version, items[f"{q}/odd"].version
    assert outs["problems"] == {
        "sm-deep": f"secret '{q}/deep' is a JSON object nested too deeply to split into fields (version '{deep_version}'): "
        "skipped; master 'sm-deep' holds no data until a version that can be used",
        "sm-odd": f"secret '{q}/odd': JSON field 'pw' is not valid Unicode text (it holds a lone surrogate) (version '{odd_version}'): "
        "skipped; master 'sm-odd' holds no data until a version that can be used",
    }


def test_an_unusable_new_version_keeps_the_old_data_and_names_its_version_while_the_others_converge(endpoint, clients):  # noqa: F811
    sm, _ = clients
    provider = SourceValuesProvider()
    with fresh_items(clients, {"db": json.dumps({"pw": "old"}), "api": "api-1"}, {}) as q, CountingProxy(endpoint) as proxy:
        before, _ = inventory(endpoint, q)
        first = provider.create(props_for({
            "sm-db": record(before[f"{q}/db"], proxy.endpoint), "sm-api": record(before[f"{q}/api"], proxy.endpoint),
        })).outs
        sm.put_secret_value(SecretId=before[f"{q}/db"].arn, SecretString=DEEP)
        sm.put_secret_value(SecretId=before[f"{q}/api"].arn, SecretString="api-2")
        after, _ = inventory(endpoint, q)
        news = props_for({"sm-db": record(after[f"{q}/db"], proxy.endpoint), "sm-api": record(after[f"{q}/api"], proxy.endpoint)})
        updated = provider.update("source-values", first, news).outs
        assert _value(updated, "sm-api") == "api-2"
        assert updated["values"]["sm-db"] == first["values"]["sm-db"] and updated["fingerprints"]["sm-db"] == first["fingerprints"]["sm-db"]
        old = before[f"{q}/db"]
        assert updated["held"] == {"sm-db": [old.arn, old.version, ""]}
        assert updated["problems"]["sm-db"].endswith(f"skipped; master 'sm-db' keeps the data of version '{old.version}'")
        assert "old" not in json.dumps(updated["problems"])

        # Nothing new: the problem and the old data are carried over, nothing is read.
        proxy.take()
        again = provider.update("source-values", updated, news).outs
        assert not set(proxy.take()) & VALUE_READS
        assert {k: again[k] for k in ("values", "held", "problems")} == {k: updated[k] for k in ("values", "held", "problems")}

        # Another change of that item: a usable value is read, and the problem is gone.
        sm.put_secret_value(SecretId=before[f"{q}/db"].arn, SecretString=json.dumps({"pw": "new"}))
        fixed, _ = inventory(endpoint, q)
        news = props_for({"sm-db": record(fixed[f"{q}/db"], proxy.endpoint), "sm-api": record(fixed[f"{q}/api"], proxy.endpoint)})
        last = provider.update("source-values", again, news).outs
    assert json.loads(_value(last, "sm-db")) == {"pw": "new"}
    assert last["held"] == {} and last["problems"] == {}


def test_a_secret_that_alone_cannot_be_read_is_its_problem_and_a_failing_batch_call_stops_the_run(endpoint, clients):  # noqa: F811
    """The batch answers with another version, the single read of the one asked for is refused (AccessDenied): that item's
    problem. When the batch call itself is refused, the source is unreadable and the run stops, as before."""
    import pytest

    from kecs_secrets.errors import SourceUnavailableError

    sm, _ = clients
    with fresh_items(clients, {"locked": "l-1", "open": "o-1"}, {}) as q, CountingProxy(endpoint) as proxy:
        items, _ = inventory(endpoint, q)
        sm.put_secret_value(SecretId=items[f"{q}/locked"].arn, SecretString="l-2")  # the batch now answers with l-2
        props = props_for({"sm-locked": record(items[f"{q}/locked"], proxy.endpoint), "sm-open": record(items[f"{q}/open"], proxy.endpoint)})
        proxy.fail = {"secretsmanager.GetSecretValue": (400, "AccessDeniedException")}
        outs = SourceValuesProvider().create(props).outs
        assert _value(outs, "sm-open") == "o-1" and "sm-locked" not in outs["values"]
        assert outs["problems"]["sm-locked"].startswith(
            f"secretsmanager item '{q}/locked' cannot be read (AccessDeniedException) (version '{items[f'{q}/locked'].version}'): skipped"
        )
        proxy.fail = {"secretsmanager.BatchGetSecretValue": (400, "AccessDeniedException")}
        with pytest.raises(ExceptionGroup) as caught:
            SourceValuesProvider().create(props)
        assert {type(e) for e in caught.value.exceptions} == {SourceUnavailableError}


def test_a_json_key_only_tenants_select_missing_from_a_new_value_fails_nothing_the_owners_fails_the_check(endpoint, clients):  # noqa: F811
    """The check reads a new value with selected keys: a missing key the owner's demand selects is the run's error; one only
    tenants (pods) select is not (the replica is made without it, and the next run skips that reference by its pod)."""
    with fresh_items(clients, {"db": '{"user": "u"}'}, {}) as q:
        items, _ = inventory(endpoint, q)
        item = record(items[f"{q}/db"], endpoint, json_keys=["password"])
        by = {"sm-db": {"password": "reference 'db:password::' from pod web-us-east-1/api annotation kecs.dev/secret-0-arn"}}
        tenant = {**props_for({"sm-db": item}), "selected_by": by, "isolated_keys": {"sm-db": ["password"]}}
        assert SourceValuesProvider().check({}, tenant).failures == []
        outs = SourceValuesProvider().create(tenant).outs
        assert outs["keys"]["sm-db"] == ["user", "value"] and outs["problems"] == {}
        owner = {**props_for({"sm-db": item}), "selected_by": by}
        with pytest.raises(ValueShapeError, match=rf"from pod web-us-east-1/api .*: secret '{q}/db' has no JSON field 'password'"):
            SourceValuesProvider().check({}, owner)
