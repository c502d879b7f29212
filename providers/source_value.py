"""The dynamic provider that reads one value from LocalStack/AWS, and its resource ``kecs:SourceValue``.

The value exists only inside this provider and in outputs declared secret
(``additional_secret_outputs``), so it is encrypted in state from the first moment. The provider
keeps no state: it is pickled into every resource, and the pickle must carry no client and no
credential (clients come from :mod:`providers.aws` at call time). It never writes to the source.
"""

from __future__ import annotations

import sys
import traceback
from types import ModuleType
from typing import Any

import pulumi
from botocore.exceptions import BotoCoreError, ClientError
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

from kecs_secrets.errors import KecsSecretsError, SourceGoneError, SourceUnavailableError
from kecs_secrets.values import encode_data, parameter_data, secret_data, sha256_of
from providers.aws import describe_error
from providers.batch_reader import BatchValueReader

__all__ = ["SECRET_OUTPUTS", "SourceValue", "SourceValueProvider"]

SECRET_OUTPUTS = ["data"]
INPUT_KEYS = ("source", "name", "arn", "version", "item_type", "encoding", "json_keys", "endpoint", "region")
_NOT_FOUND = {"ResourceNotFoundException", "ParameterNotFound", "ParameterVersionNotFound", "InvalidParameters"}


def _read(props: dict[str, Any]) -> dict[str, Any]:
    source, name = props["source"], props["name"]
    endpoint, region = props.get("endpoint", ""), props["region"]
    reader = BatchValueReader(endpoint, region)
    try:
        if source == "secretsmanager":
            got = reader.read_secret(props["arn"] or name, props.get("version") or "")
            data = secret_data(got.get("SecretString"), got.get("SecretBinary"), props.get("json_keys") or [], name=name)
        else:
            parameter = reader.read_parameter(name, props.get("version") or "")
            data = parameter_data(parameter.get("Type", props.get("item_type", "String")), parameter["Value"])
    except SourceGoneError as err:
        raise SourceGoneError(f"{source} item {name!r} version {props.get('version')!r} not found ({err})") from None
    except ClientError as err:
        if describe_error(err) in _NOT_FOUND:
            raise SourceGoneError(f"{source} item {name!r} not found ({describe_error(err)})") from None
        raise SourceUnavailableError(f"cannot read {source} item {name!r} from {endpoint or 'AWS'}: {describe_error(err)}") from None
    except BotoCoreError as err:
        raise SourceUnavailableError(f"cannot read {source} item {name!r} from {endpoint or 'AWS'}: {describe_error(err)}") from None
    outs = {k: props.get(k) for k in INPUT_KEYS}
    outs["data"] = encode_data(data, props.get("encoding", "base64"))
    outs["sha256"] = sha256_of(data)
    outs["keys"] = sorted(data)
    return outs


class _OneLineErrors:
    """The provider host's ``traceback`` module, except that the project's own errors format as one line.

    The Python dynamic provider host (``python -m pulumi.dynamic``, pulumi SDK 3.272) answers every
    exception a provider method raises with ``context.abort(..., traceback.format_exc())``, so the CLI
    would show a traceback for an error the project raises on purpose. This stand-in for that module
    global gives ``<ErrorClass>: <message>`` for a :class:`KecsSecretsError` and the full traceback for
    anything else (a bug keeps its traceback). The e2e error table checks the line through the real CLI.
    """

    def __init__(self, module: ModuleType) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def format_exc(self, *args: Any, **kwargs: Any) -> str:
        err = sys.exc_info()[1]
        if isinstance(err, KecsSecretsError):
            return f"{type(err).__name__}: {err}"
        return self._module.format_exc(*args, **kwargs)


def _report_project_errors_in_one_line() -> None:
    """Install :class:`_OneLineErrors` in the dynamic provider host (a no-op anywhere else)."""
    host = sys.modules.get("__main__")
    if host is None or not hasattr(host, "_abort_with_traceback") or not hasattr(host, "DynamicResourceProviderServicer"):
        return
    if not isinstance(getattr(host, "traceback", None), _OneLineErrors):
        host.traceback = _OneLineErrors(traceback)


class SourceValueProvider(ResourceProvider):
    """Reads values; never writes to LocalStack; holds no state between calls."""

    def configure(self, req: ConfigureRequest) -> None:
        """Runs once in the provider host, before any other call."""
        _report_project_errors_in_one_line()

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        if news.get("source") not in ("secretsmanager", "ssm"):
            failures.append(CheckFailure("source", "must be 'secretsmanager' or 'ssm'"))
        if not isinstance(news.get("name"), str) or not news.get("name"):
            failures.append(CheckFailure("name", "must be a non-empty string"))
        if news.get("encoding") not in ("base64", "text"):
            failures.append(CheckFailure("encoding", "must be 'base64' or 'text'"))
        if not isinstance(news.get("region"), str) or not news.get("region"):
            failures.append(CheckFailure("region", "must be a non-empty string"))
        if news.get("json_keys") and news.get("source") != "secretsmanager":
            failures.append(CheckFailure("json_keys", "only Secrets Manager secrets have JSON keys"))
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in INPUT_KEYS if olds.get(k) != news.get(k)]
        replaces = [k for k in ("source", "name") if k in changed]
        return DiffResult(changes=bool(changed), replaces=replaces, stables=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(f"{props['source']}:{props['name']}", _read(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(_read(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        try:
            outs = _read(props)
        except SourceGoneError:
            return ReadResult("", {})
        return ReadResult(id_, outs, inputs={k: props.get(k) for k in INPUT_KEYS})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to do: the source belongs to LocalStack/AWS and is never written."""


_PROVIDER = SourceValueProvider()


class SourceValue(Resource, module="kecs", name="SourceValue"):
    data: pulumi.Output[dict[str, str]]
    sha256: pulumi.Output[str]
    keys: pulumi.Output[list[str]]
    version: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        source: str,
        name: str,
        arn: str,
        version: str,
        item_type: str,
        encoding: str,
        json_keys: list[str],
        endpoint: str,
        region: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "source": source,
            "name": name,
            "arn": arn,
            "version": version,
            "item_type": item_type,
            "encoding": encoding,
            "json_keys": sorted(json_keys),
            "endpoint": endpoint,
            "region": region,
            # Output keys must be seeded to appear as attributes.
            "data": None,
            "sha256": None,
            "keys": None,
        }
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=SECRET_OUTPUTS)
        super().__init__(_PROVIDER, resource_name, props, pulumi.ResourceOptions.merge(secret_opts, opts))
