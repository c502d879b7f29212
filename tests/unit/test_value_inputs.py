"""Every value the source can return either becomes data or one ValueShapeError naming the item, never another
exception and never the value in the message."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kecs_secrets.errors import ValueShapeError
from kecs_secrets.values import MAX_DATA_BYTES, encode_data, parameter_data, secret_data


def test_deep_nesting_that_is_no_object_is_the_whole_value_only():
    assert secret_data("[" * 65536, None, name="db") == {"value": b"[" * 65536}


def test_an_object_nested_too_deeply_is_that_items_error():
    deep = '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(ValueShapeError, match=r"^secret 'db' is a JSON object nested too deeply to split into fields$"):
        secret_data(deep, None, name="db")


def test_a_lone_surrogate_in_a_json_field_is_that_items_error_naming_the_field():
    with pytest.raises(ValueShapeError, match=r"^secret 'db': JSON field 'pw' is not valid Unicode text"):
        secret_data(json.dumps({"pw": "\ud800", "user": "u"}), None, name="db")


def test_a_lone_surrogate_in_the_value_is_that_items_error():
    with pytest.raises(ValueShapeError, match=r"^secret 'db' is not valid Unicode text"):
        secret_data("s3cr3t\udc80", None, name="db")
    with pytest.raises(ValueShapeError, match=r"^parameter '/p' is not valid Unicode text") as caught:
        parameter_data("SecureString", "s3cr3t\udc80", name="/p")
    assert "s3cr3t" not in str(caught.value)


def test_fields_the_api_server_refuses_as_keys_get_no_key():
    data = secret_data(json.dumps({".": "1", "..": "2", "..x": "3", "key\n": "4", "ok": "5"}), None)
    assert set(data) == {"value", "ok"}


def test_data_over_the_limit_is_that_items_error():
    fits = "x" * MAX_DATA_BYTES
    assert secret_data(fits, None)["value"] == fits.encode()
    with pytest.raises(ValueShapeError, match=rf"^secret 'big' makes {MAX_DATA_BYTES + 1} bytes of data, more than the {MAX_DATA_BYTES}"):
        secret_data(fits + "x", None, name="big")
    with pytest.raises(ValueShapeError, match="bytes of data"):
        secret_data(None, b"x" * (MAX_DATA_BYTES + 1), name="big")
    # A JSON object's fields count too: the value and its fields together.
    half = json.dumps({"a": "x" * (MAX_DATA_BYTES // 2)})
    with pytest.raises(ValueShapeError, match="bytes of data"):
        secret_data(half, None, name="big")


def test_a_parameter_without_a_value_is_that_items_error():
    with pytest.raises(ValueShapeError, match=r"^parameter '/p' has no Value$"):
        parameter_data("String", None, name="/p")


def test_text_that_is_not_utf8_cannot_be_configmap_data():
    with pytest.raises(ValueShapeError, match="ConfigMap holds text only"):
        encode_data({"value": b"\xff"}, "text")


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), _json.map(lambda v: json.dumps(v, ensure_ascii=False, allow_nan=True)), st.binary().map(lambda b: b.decode("utf-8", "surrogateescape"))))
def test_any_string_becomes_data_or_that_items_error(string):
    try:
        data = secret_data(string, None, name="x")
    except ValueShapeError as err:
        assert string not in str(err) or len(string) < 2
        return
    assert data["value"] == string.encode("utf-8")
    encode_data(data, "base64")
    encode_data(data, "text")
