import base64
import hashlib
import json
import secrets as random

import pytest

from kecs_secrets.errors import ValueShapeError
from kecs_secrets.values import FINGERPRINT_KEY_BYTES, encode_data, fingerprint, parameter_data, secret_data


def test_plain_string_secret_has_only_value():
    assert secret_data("hunter2", None) == {"value": b"hunter2"}


def test_json_secret_gets_one_key_per_top_level_field():
    raw = json.dumps({"username": "admin", "port": 5432, "opts": {"ssl": True}, "list": [1, 2], "none": None})
    data = secret_data(raw, None)
    assert data["value"] == raw.encode()
    assert data["username"] == b"admin"
    assert data["port"] == b"5432"
    assert data["opts"] == b'{"ssl":true}'
    assert data["list"] == b"[1,2]"
    assert data["none"] == b"null"


def test_json_field_named_value_never_replaces_the_whole_secret():
    raw = json.dumps({"value": "field", "user": "u"})
    data = secret_data(raw, None)
    assert data["value"] == raw.encode()
    assert set(data) == {"value", "user"}


def test_json_fields_that_are_not_valid_data_keys_get_no_key():
    data = secret_data(json.dumps({"bad key": "x", "good-key.1_": "y"}), None)
    assert set(data) == {"value", "good-key.1_"}


def test_json_array_or_scalar_is_only_value():
    assert set(secret_data("[1,2]", None)) == {"value"}
    assert set(secret_data("42", None)) == {"value"}


def test_requested_json_key_must_exist():
    with pytest.raises(ValueShapeError, match=r"no JSON field\(s\) \['password'\]") as caught:
        secret_data(json.dumps({"user": "s3cr3t-value"}), None, ["password"], name="db")
    assert "s3cr3t-value" not in str(caught.value)


def test_binary_secret_keeps_its_exact_bytes_kecs_bug_9():
    blob = bytes(range(256))
    data = secret_data(None, blob)
    assert data == {"value": blob}
    assert base64.b64decode(encode_data(data, "base64")["value"]) == blob


def test_binary_secret_has_no_json_keys():
    with pytest.raises(ValueShapeError, match="binary"):
        secret_data(None, b"\x00", ["k"])


def test_string_list_keeps_value_and_gets_items_kecs_bug_10():
    data = parameter_data("StringList", "a,b,c")
    assert data == {"value": b"a,b,c", "items": b'["a","b","c"]'}


@pytest.mark.parametrize("parameter_type", ["String", "SecureString"])
def test_string_parameters_have_value_only(parameter_type):
    assert parameter_data(parameter_type, "x") == {"value": b"x"}


def test_text_encoding_for_configmaps():
    assert encode_data({"value": "é".encode()}, "text") == {"value": "é"}


KEY = bytes(range(FINGERPRINT_KEY_BYTES))


def test_fingerprint_depends_on_keys_and_bytes_only():
    assert fingerprint(KEY, {"a": b"1", "b": b"2"}) == fingerprint(KEY, {"b": b"2", "a": b"1"})
    assert fingerprint(KEY, {"a": b"1"}) != fingerprint(KEY, {"a": b"2"})
    assert fingerprint(KEY, {"a": b"1"}) != fingerprint(KEY, {"b": b"1"})


def test_fingerprint_depends_on_the_stack_key():
    data = {"value": b"1234"}
    assert fingerprint(KEY, data) != fingerprint(bytes(reversed(KEY)), data)


def test_a_short_key_is_refused():
    with pytest.raises(ValueShapeError, match="at least 32 bytes"):
        fingerprint(b"short", {"value": b"x"})


def _pins():
    return (f"{n:04d}".encode() for n in range(10_000))


def test_a_four_digit_pin_cannot_be_recovered_from_the_fingerprint_without_the_key():
    """A plain hash of a PIN is reversed by trying all 10,000 PINs; the keyed fingerprint is not, without the stack's key."""
    stack_key = random.token_bytes(FINGERPRINT_KEY_BYTES)
    pin = f"{random.randbelow(10_000):04d}".encode()
    published = fingerprint(stack_key, {"value": pin})

    # What an attacker can compute without the key: the old plain hash of every PIN, and HMACs under guessed keys.
    def plain(candidate: bytes) -> str:
        return hashlib.sha256(b"value\0" + base64.b64encode(candidate) + b"\n").hexdigest()

    guessed_keys = [bytes(FINGERPRINT_KEY_BYTES), b"\xff" * FINGERPRINT_KEY_BYTES, random.token_bytes(FINGERPRINT_KEY_BYTES)]
    assert [c for c in _pins() if plain(c) == published] == []
    for guess in guessed_keys:
        assert [c for c in _pins() if fingerprint(guess, {"value": c}) == published] == []
    # The same search with the key finds exactly the PIN: the test would catch an unkeyed or reversible fingerprint.
    assert [c for c in _pins() if fingerprint(stack_key, {"value": c}) == published] == [pin]
