"""How a secret or parameter value becomes the data keys of a master (used by the dynamic provider).

- ``value`` always holds the whole secret or parameter, byte for byte (SecretBinary included).
- A Secrets Manager string that is a JSON object also gets one key per top-level field: strings as
  they are, anything else as compact JSON. A field literally named ``value`` gets no key of its own
  (``value`` is the whole secret), nor does a field whose name is not a valid Kubernetes data key.
- A StringList parameter also gets ``items``: its elements as a JSON array.

Every value either becomes data or raises one ``ValueShapeError`` naming the item (never the value):
text that is not valid Unicode (a lone surrogate, in the value or in a JSON field), a JSON object nested
deeper than the parser goes, data larger than a Kubernetes Secret or ConfigMap may hold.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping

from kecs_secrets.errors import ValueShapeError
from kecs_secrets.model import WHOLE_VALUE_KEY, is_data_key

__all__ = ["FINGERPRINT_KEY_BYTES", "MAX_DATA_BYTES", "encode_data", "fingerprint", "parameter_data", "secret_data"]

FINGERPRINT_KEY_BYTES = 32
# The most a Secret's or ConfigMap's data may hold, its values together (keys do not count), as the API server counts it.
MAX_DATA_BYTES = 1024 * 1024


def _utf8(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueShapeError(f"{what} is not valid Unicode text (it holds a lone surrogate)") from None


def _checked_size(data: dict[str, bytes], what: str) -> dict[str, bytes]:
    size = sum(len(value) for value in data.values())
    if size > MAX_DATA_BYTES:
        raise ValueShapeError(f"{what} makes {size} bytes of data, more than the {MAX_DATA_BYTES} a Kubernetes Secret or ConfigMap holds")
    return data


def _json_fields(string: str, what: str) -> dict[str, bytes]:
    """The data keys of the top-level fields of ``string`` if it is a JSON object, else none."""
    if not string.lstrip(" \t\r\n").startswith("{"):
        return {}  # not an object: nothing to parse (and "[" * 65536 never reaches the parser)
    try:
        parsed = json.loads(string)
        fields = {
            key: field if isinstance(field, str) else json.dumps(field, separators=(",", ":"), ensure_ascii=False)
            for key, field in parsed.items()
            if key != WHOLE_VALUE_KEY and is_data_key(key)
        } if isinstance(parsed, dict) else {}
    except ValueError:
        return {}
    except RecursionError:
        raise ValueShapeError(f"{what} is a JSON object nested too deeply to split into fields") from None
    return {key: _utf8(text, f"{what}: JSON field {key!r}") for key, text in fields.items()}


def secret_data(
    string: str | None, binary: bytes | None, json_keys: Iterable[str] = (), *, name: str = "?"
) -> dict[str, bytes]:
    wanted = sorted(set(json_keys))
    what = f"secret {name!r}"
    if binary is not None:
        if wanted:
            raise ValueShapeError(f"{what} is binary; it has no JSON keys {wanted}")
        return _checked_size({WHOLE_VALUE_KEY: bytes(binary)}, what)
    if not isinstance(string, str):
        raise ValueShapeError(f"{what} has neither SecretString nor SecretBinary")
    data = {WHOLE_VALUE_KEY: _utf8(string, what), **_json_fields(string, what)}
    missing = [k for k in wanted if k not in data]
    if missing:
        raise ValueShapeError(f"{what} has no JSON field(s) {missing} that a consumer selects")
    return _checked_size(data, what)


def parameter_data(parameter_type: str, value: str | None, *, name: str = "?") -> dict[str, bytes]:
    what = f"parameter {name!r}"
    if not isinstance(value, str):
        raise ValueShapeError(f"{what} has no Value")
    data = {WHOLE_VALUE_KEY: _utf8(value, what)}
    if parameter_type == "StringList":
        data["items"] = json.dumps(value.split(","), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return _checked_size(data, what)


def encode_data(data: Mapping[str, bytes], encoding: str) -> dict[str, str]:
    """``base64`` for a Secret's ``data``, ``text`` for a ConfigMap's ``data``."""
    if encoding == "base64":
        return {k: base64.b64encode(v).decode("ascii") for k, v in sorted(data.items())}
    try:
        return {k: v.decode("utf-8") for k, v in sorted(data.items())}
    except UnicodeDecodeError:
        raise ValueShapeError("a ConfigMap holds text only, and this value is not UTF-8 text") from None


def fingerprint(key: bytes, data: Mapping[str, bytes]) -> str:
    """A keyed fingerprint of a master's data (keys and bytes): HMAC-SHA256 under the stack's own secret key.

    It tells whether a value changed, but without the key it says nothing about the value: a plain hash
    of a short value (a PIN, a port) is reversed by trying every candidate; this one is not.
    """
    if len(key) < FINGERPRINT_KEY_BYTES:
        raise ValueShapeError(f"the fingerprint key must have at least {FINGERPRINT_KEY_BYTES} bytes")
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for name in sorted(data):
        mac.update(name.encode("utf-8") + b"\0" + base64.b64encode(data[name]) + b"\n")
    return mac.hexdigest()
