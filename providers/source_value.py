"""``kecs:FingerprintKey`` (the stack's key for value fingerprints), and the provider of earlier per-item readers.

``kecs:FingerprintKey`` holds the stack's own random key (a Pulumi secret, made once): each value's
``fingerprint`` (``kecs:SourceValues``) is an HMAC under that key, so outputs and state say when a
value changed without saying anything about the value.

Earlier versions read each value with a resource of its own (``kecs:SourceValue``), whose state holds
this module's ``SourceValueProvider`` by reference: the first run of this version deletes those
readers, and the engine calls that provider to do it. It does nothing; the source is never written.
"""

from __future__ import annotations

import secrets
from typing import Any

import pulumi
from pulumi.dynamic import ConfigureRequest, CreateResult, DiffResult, ReadResult, Resource, ResourceProvider

from kecs_secrets.values import FINGERPRINT_KEY_BYTES
from providers.dynamic_errors import report_project_errors_in_one_line

__all__ = ["FingerprintKey", "FingerprintKeyProvider", "SourceValueProvider"]


class SourceValueProvider(ResourceProvider):
    """The provider of an earlier version's per-item value reader: kept so that the engine can delete those readers."""

    serialize_as_secret_always = False

    def configure(self, req: ConfigureRequest) -> None:
        report_project_errors_in_one_line()

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=False, replaces=[], stables=[], delete_before_replace=False)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to do: the source belongs to LocalStack/AWS and is never written."""


class FingerprintKeyProvider(ResourceProvider):
    """Makes the stack's fingerprint key once (random, 32 bytes, hex); never changes it afterwards."""

    def configure(self, req: ConfigureRequest) -> None:
        report_project_errors_in_one_line()

    def create(self, _props: dict[str, Any]) -> CreateResult:
        return CreateResult("fingerprint-key", {"key": secrets.token_hex(FINGERPRINT_KEY_BYTES)})

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=False, replaces=[], stables=[], delete_before_replace=False)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, {"key": props.get("key")}, inputs={})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing outside the state holds the key."""


_KEY_PROVIDER = FingerprintKeyProvider()


class FingerprintKey(Resource, module="kecs", name="FingerprintKey"):
    """The stack's secret key for value fingerprints: kept only in state, encrypted (``pulumi up --replace`` rotates it)."""

    key: pulumi.Output[str]

    def __init__(self, resource_name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=["key"])
        super().__init__(_KEY_PROVIDER, resource_name, {"key": None}, pulumi.ResourceOptions.merge(secret_opts, opts))
