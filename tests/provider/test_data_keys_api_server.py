"""The data-key rule (``kecs_secrets.model.is_data_key``) and the size rule (``kecs_secrets.values.MAX_DATA_BYTES``) are
the API server's own: every key the rule accepts the real API server takes in a Secret and a ConfigMap, every key it
refuses the server refuses (server-side dry-run creates, nothing is stored)."""

from __future__ import annotations

import base64
import secrets as random

import pytest

from kecs_secrets.model import is_data_key
from kecs_secrets.values import MAX_DATA_BYTES
from tests.support.cluster import KubeAdmin, start_cluster

KEYS = [
    "a", "value", "items", "A-b_c.d", "-", "_", ".x", "x.", "x..", "a..b", "...", "a" * 253, "0", "-.-",
    ".", "..", "..x", "..-", "key\n", "\nkey", "key\r", "bad key", "", "a" * 254, "é", "a/b", "a:b", "a\x00", "ключ", "\t",
    "x\u2028", "\uff46ull", "k\u0661",
]


@pytest.fixture(scope="module")
def admin():
    return KubeAdmin(start_cluster())


def _created(admin: KubeAdmin, kind: str, data: dict[str, str]) -> bool:
    name = f"keys-{random.token_hex(4)}"
    body = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name, "namespace": "default"}, "data": data}
    status, text = admin.request("POST", f"/api/v1/namespaces/default/{kind.lower()}s?dryRun=All", body)
    assert status in (201, 422), (status, text[:500])
    return status == 201


def test_the_rule_and_the_api_server_agree_key_by_key(admin):
    assert {is_data_key(k) for k in KEYS} == {True, False}
    disagree = {}
    for key in KEYS:
        server = {kind: _created(admin, kind, {key: base64.b64encode(b"x").decode() if kind == "Secret" else "x"})
                  for kind in ("Secret", "ConfigMap")}
        if set(server.values()) != {is_data_key(key)}:
            disagree[key] = server
    assert disagree == {}


def test_the_size_rule_is_the_api_servers(admin):
    """A Secret or ConfigMap holds MAX_DATA_BYTES of values together (keys do not count), and not one byte more."""
    key = "value"
    fits = b"x" * MAX_DATA_BYTES
    assert _created(admin, "Secret", {key: base64.b64encode(fits).decode()})
    assert not _created(admin, "Secret", {key: base64.b64encode(fits + b"x").decode()})
    assert _created(admin, "ConfigMap", {key: fits.decode()})
    assert not _created(admin, "ConfigMap", {key: fits.decode() + "x"})
