"""The dynamic provider that reads one value from LocalStack/AWS, and its resource ``kecs:SourceValue``.

The value exists only inside this provider and in outputs declared secret
(``additional_secret_outputs``), so it is encrypted in state from the first moment. The provider
keeps no state: it is pickled into every resource, and the pickle must carry no client and no
credential (clients come from :mod:`providers.aws` at call time). It never writes to the source.

Beside it, ``kecs:FingerprintKey`` holds the stack's own random key (a Pulumi secret, made once): each
value's ``fingerprint`` is an HMAC under that key, so outputs and state say when a value changed
without saying anything about the value.

A stack has one reader per master, so each carries as little as it can: one input ``item`` (what to
read: source, name, ARN, version, encoding, JSON keys, endpoint, region) and the fingerprint key, both
echoed in the outputs because ``diff`` and ``read`` only see outputs, plus ``data`` (secret),
``fingerprint`` and ``keys``; ``selected_by`` (which reference selects which JSON key, for error
messages) is an input only. The AWS SDK is imported on the first read only: a run in which nothing
changed never loads it in the provider host.

A failure of the project's own kind (source unreachable, item gone, a selected JSON key missing) is
reported as one line naming the item and the cause, never as a Python traceback.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from kecs_secrets.errors import SourceGoneError, SourceUnavailableError, ValueShapeError
from kecs_secrets.values import FINGERPRINT_KEY_BYTES, encode_data, fingerprint, parameter_data, secret_data
from providers.dynamic_errors import report_project_errors_in_one_line

__all__ = [
    "ITEM_KEYS",
    "SECRET_OUTPUTS",
    "FingerprintKey",
    "FingerprintKeyProvider",
    "SourceValue",
    "SourceValueProvider",
    "item_of",
]

# The value, and the fingerprint key that each reader carries as an input (echoed into its outputs).
SECRET_OUTPUTS = ["data", "fingerprint_key"]
# What a reader reads; a change of any of them (or of the fingerprint key) is a new read; of ``source`` or
# ``name``: another reader.
ITEM_KEYS = ("source", "name", "arn", "version", "encoding", "json_keys", "endpoint", "region")
_NOT_FOUND = {"ResourceNotFoundException", "ParameterNotFound", "ParameterVersionNotFound", "InvalidParameters"}


def item_of(props: Mapping[str, Any]) -> dict[str, Any]:
    """The ``item`` of a reader's inputs or outputs; outputs of the earlier flat shape (one property per key) too."""
    item = props.get("item")
    if isinstance(item, Mapping):
        return {k: item.get(k) for k in ITEM_KEYS}
    return {k: props.get(k) for k in ITEM_KEYS}


def _missing_keys(item: Mapping[str, Any], selected_by: Mapping[str, str], keys: list[str]) -> ValueShapeError | None:
    """The error for JSON keys a consumer selects that the value does not have, naming the reference and its origin."""
    missing = sorted(set(item.get("json_keys") or []) - set(keys))
    if not missing:
        return None
    first = missing[0]
    who = (selected_by or {}).get(first, "a reference")
    return ValueShapeError(f"{who}: secret {item['name']!r} has no JSON field {first!r}")


def _read(props: Mapping[str, Any]) -> dict[str, Any]:
    item = item_of(props)
    outs = _read_data(item, props.get("fingerprint_key") or "")
    missing = _missing_keys(item, props.get("selected_by") or {}, outs["keys"])
    if missing is not None:
        raise missing
    return outs


def _read_data(item: dict[str, Any], key: str) -> dict[str, Any]:
    from botocore.exceptions import BotoCoreError, ClientError  # the AWS SDK only when a value is read

    from providers.aws import describe_error
    from providers.batch_reader import BatchValueReader

    source, name = item["source"], item["name"]
    endpoint, region = item.get("endpoint") or "", item["region"]
    reader = BatchValueReader(endpoint, region)
    try:
        if source == "secretsmanager":
            got = reader.read_secret(item["arn"] or name, item.get("version") or "")
            data = secret_data(got.get("SecretString"), got.get("SecretBinary"), name=name)
        else:
            parameter = reader.read_parameter(name, item.get("version") or "")
            data = parameter_data(parameter.get("Type", "String"), parameter["Value"])
    except SourceGoneError as err:
        raise SourceGoneError(f"{source} item {name!r} version {item.get('version')!r} not found ({err})") from None
    except ClientError as err:
        if describe_error(err) in _NOT_FOUND:
            raise SourceGoneError(f"{source} item {name!r} not found ({describe_error(err)})") from None
        raise SourceUnavailableError(f"cannot read {source} item {name!r} from {endpoint or 'AWS'}: {describe_error(err)}") from None
    except BotoCoreError as err:
        raise SourceUnavailableError(f"cannot read {source} item {name!r} from {endpoint or 'AWS'}: {describe_error(err)}") from None
    return {
        "item": item,
        "fingerprint_key": key,
        "data": encode_data(data, item.get("encoding") or "base64"),
        "fingerprint": fingerprint(bytes.fromhex(key), data),
        "keys": sorted(data),
    }


class SourceValueProvider(ResourceProvider):
    """Reads values; never writes to LocalStack; holds no state between calls."""

    # The pickle holds no secret (the class is pickled by reference), so it need not be encrypted in every
    # reader's inputs and outputs; the SDK still makes it secret if it ever captures a secret.
    serialize_as_secret_always = False

    def configure(self, req: ConfigureRequest) -> None:
        """Runs once in the provider host, before any other call."""
        report_project_errors_in_one_line()

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        item, failures = item_of(news), []
        if item["source"] not in ("secretsmanager", "ssm"):
            failures.append(CheckFailure("item.source", "must be 'secretsmanager' or 'ssm'"))
        if not isinstance(item["name"], str) or not item["name"]:
            failures.append(CheckFailure("item.name", "must be a non-empty string"))
        if item["encoding"] not in ("base64", "text"):
            failures.append(CheckFailure("item.encoding", "must be 'base64' or 'text'"))
        if not isinstance(item["region"], str) or not item["region"]:
            failures.append(CheckFailure("item.region", "must be a non-empty string"))
        if item["json_keys"] and item["source"] != "secretsmanager":
            failures.append(CheckFailure("item.json_keys", "only Secrets Manager secrets have JSON keys"))
        if not failures and self._keys_unverified(olds, news):
            # A new or changed secret with selected JSON keys: read it now, so that a missing key fails the
            # preview (and the update, before this value's master and readers change) instead of half-way through.
            # Not a CheckFailure: it is the source's data, not an input, that is wrong, and it is reported like
            # every other error of the project, in one line naming the reference and its origin.
            missing = _missing_keys(item, news.get("selected_by") or {}, _read_data(item, "00" * FINGERPRINT_KEY_BYTES)["keys"])
            if missing is not None:
                raise missing
        return CheckResult(news, failures)

    @staticmethod
    def _keys_unverified(olds: dict[str, Any], news: dict[str, Any]) -> bool:
        """Selected JSON keys that no earlier read of this version vouched for (the program checks the rest from state)."""
        new = item_of(news)
        wanted = new["json_keys"] or []
        if not wanted or any(not isinstance(new[k], str) for k in ("arn", "version", "endpoint", "region")):
            return False
        old = item_of(olds or {})
        same_version = bool(olds) and all(old[k] == new[k] for k in ("arn", "version"))
        return not same_version or bool(set(wanted) - set(old["json_keys"] or []))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        old, new = item_of(olds), item_of(news)
        changed = [k for k in ITEM_KEYS if old[k] != new[k]]
        if olds.get("fingerprint_key") != news.get("fingerprint_key"):
            changed.append("fingerprint_key")
        replaces = ["item"] if any(k in changed for k in ("source", "name")) else []
        return DiffResult(changes=bool(changed), replaces=replaces, stables=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        item = item_of(props)
        return CreateResult(f"{item['source']}:{item['name']}", _read(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(_read(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        item, key = item_of(props), props.get("fingerprint_key") or ""
        try:
            outs = _read_data(item, key)  # a refresh records what the value holds; the consumers' keys are the next run's business
        except SourceGoneError:
            return ReadResult("", {})
        return ReadResult(id_, outs, inputs={"item": item, "fingerprint_key": key, "selected_by": props.get("selected_by") or {}})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to do: the source belongs to LocalStack/AWS and is never written."""


_PROVIDER = SourceValueProvider()


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


class SourceValue(Resource, module="kecs", name="SourceValue"):
    data: pulumi.Output[dict[str, str]]
    fingerprint: pulumi.Output[str]
    keys: pulumi.Output[list[str]]

    def __init__(
        self,
        resource_name: str,
        *,
        source: str,
        name: str,
        arn: str,
        version: str,
        encoding: str,
        json_keys: list[str],
        endpoint: str,
        region: str,
        fingerprint_key: pulumi.Input[str],
        selected_by: dict[str, str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        item = {
            "source": source,
            "name": name,
            "arn": arn,
            "version": version,
            "encoding": encoding,
            "json_keys": sorted(json_keys),
            "endpoint": endpoint,
            "region": region,
        }
        props = {
            "item": item,
            "fingerprint_key": fingerprint_key,
            # Only for error messages (which reference selects which JSON key): never compared by diff.
            "selected_by": dict(sorted((selected_by or {}).items())),
            # Output keys must be seeded to appear as attributes.
            "data": None,
            "fingerprint": None,
            "keys": None,
        }
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=SECRET_OUTPUTS)
        super().__init__(_PROVIDER, resource_name, props, pulumi.ResourceOptions.merge(secret_opts, opts))
