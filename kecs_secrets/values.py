"""How a secret or parameter value becomes the data keys of a master (used by the dynamic provider).

- ``value`` always holds the whole secret or parameter, byte for byte (SecretBinary included).
- A Secrets Manager string that is a JSON object also gets one key per top-level field: strings as
  they are, anything else as compact JSON. A field literally named ``value`` gets no key of its own
  (``value`` is the whole secret), nor does a field whose name is not a valid Kubernetes data key.
- A StringList parameter also gets ``items``: its elements as a JSON array.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping

from kecs_secrets.errors import ValueShapeError
from kecs_secrets.model import DATA_KEY_PATTERN, WHOLE_VALUE_KEY

__all__ = ["FINGERPRINT_KEY_BYTES", "encode_data", "fingerprint", "parameter_data", "secret_data"]

FINGERPRINT_KEY_BYTES = 32


def secret_data(
    string: str | None, binary: bytes | None, json_keys: Iterable[str] = (), *, name: str = "?"
) -> dict[str, bytes]:
    wanted = sorted(set(json_keys))
    if binary is not None:
        if wanted:
            raise ValueShapeError(f"secret {name!r} is binary; it has no JSON keys {wanted}")
        return {WHOLE_VALUE_KEY: bytes(binary)}
    if string is None:
        raise ValueShapeError(f"secret {name!r} has neither SecretString nor SecretBinary")
    data = {WHOLE_VALUE_KEY: string.encode("utf-8")}
    try:
        parsed = json.loads(string)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        for key, field in parsed.items():
            if key == WHOLE_VALUE_KEY or not DATA_KEY_PATTERN.match(key):
                continue
            text = field if isinstance(field, str) else json.dumps(field, separators=(",", ":"), ensure_ascii=False)
            data[key] = text.encode("utf-8")
    missing = [k for k in wanted if k not in data]
    if missing:
        raise ValueShapeError(f"secret {name!r} has no JSON field(s) {missing} that a consumer selects")
    return data


def parameter_data(parameter_type: str, value: str) -> dict[str, bytes]:
    data = {WHOLE_VALUE_KEY: value.encode("utf-8")}
    if parameter_type == "StringList":
        data["items"] = json.dumps(value.split(","), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return data


def encode_data(data: Mapping[str, bytes], encoding: str) -> dict[str, str]:
    """``base64`` for a Secret's ``data``, ``text`` for a ConfigMap's ``data``."""
    if encoding == "base64":
        return {k: base64.b64encode(v).decode("ascii") for k, v in sorted(data.items())}
    return {k: v.decode("utf-8") for k, v in sorted(data.items())}


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
