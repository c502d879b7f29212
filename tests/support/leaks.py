"""What a secret value looks like wherever it could leak: whole, base64, and each JSON field the replicas hold."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable

__all__ = ["needles"]


def needles(values: Iterable[bytes], public: Iterable[str] = ()) -> list[bytes]:
    """Each value and its base64; for a JSON object, each field's value (a data key of its own in the replicas, base64
    there) and its base64 too. ``public``: field values that are no secret (a user name such as "admin")."""
    public = set(public)
    found: list[bytes] = []
    for value in values:
        found += [value, base64.b64encode(value)]
        try:
            fields = json.loads(value) if value.startswith(b"{") else {}
        except ValueError:
            fields = {}
        for field in fields.values() if isinstance(fields, dict) else ():
            text = field if isinstance(field, str) else json.dumps(field)
            if text not in public:
                found += [text.encode(), base64.b64encode(text.encode())]
    return found
