"""Reading the metadata (never the values) of every secret and parameter from LocalStack or AWS."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from components.errors import SourceUnavailableError
from components.model import SECRETSMANAGER, SSM, SourceItem
from providers.aws import client, describe_error

__all__ = ["BotoSource", "MetadataSource", "read_inventory", "rfc3339"]

log = logging.getLogger(__name__)


class MetadataSource(Protocol):
    """The narrow interface the inventory needs (a fake implements it in unit tests)."""

    def list_secrets(self, prefixes: tuple[str, ...] = ()) -> Iterable[Mapping[str, Any]]: ...

    def describe_parameters(self, path: str, prefixes: tuple[str, ...] = ()) -> Iterable[Mapping[str, Any]]: ...

    def parameter_tags(self, name: str) -> Mapping[str, str]: ...

    def account(self) -> str: ...


def rfc3339(value: Any) -> str:
    """RFC 3339 UTC from a datetime, an epoch number (LocalStack sends ``1755005925.233``) or a string."""
    if isinstance(value, dt.datetime):
        stamp = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        stamp = dt.datetime.fromtimestamp(float(value), tz=dt.UTC)
    elif isinstance(value, str) and value:
        try:
            stamp = dt.datetime.fromtimestamp(float(value), tz=dt.UTC)
        except ValueError:
            stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)
    else:
        return ""
    return stamp.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# Server-side name filters only narrow the listing (fewer pages); the exact prefix match is always
# made here too, because the services' own semantics are wider (case-insensitive, word starts, leading '/').
_SM_FILTER_MAX = 10  # values per ListSecrets filter
_SSM_FILTER_MAX = 50  # values per DescribeParameters filter
_FILTER_REJECTED = {"ValidationException", "InvalidParameterException", "InvalidFilterKey", "InvalidFilterValue", "InvalidFilterOption"}


def secret_name_filters(prefixes: tuple[str, ...]) -> list[dict[str, Any]]:
    """ListSecrets ``Filters`` for name prefixes; none when they cannot be expressed ('!' negates there)."""
    if not prefixes or len(prefixes) > _SM_FILTER_MAX or any(p.startswith("!") or not p for p in prefixes):
        return []
    return [{"Key": "name", "Values": list(prefixes)}]


def parameter_filters(path: str, prefixes: tuple[str, ...]) -> list[dict[str, Any]]:
    """DescribeParameters ``ParameterFilters``: the recursive path, or else the name prefixes."""
    if path != "/":
        return [{"Key": "Path", "Option": "Recursive", "Values": [path.rstrip("/") or "/"]}]
    if prefixes and len(prefixes) <= _SSM_FILTER_MAX and all(prefixes):
        return [{"Key": "Name", "Option": "BeginsWith", "Values": list(prefixes)}]
    return []


class BotoSource:
    """MetadataSource over boto3 (paginated ListSecrets and DescribeParameters)."""

    def __init__(self, endpoint: str, region: str) -> None:
        self.endpoint = endpoint
        self.region = region

    def _unavailable(self, what: str, err: Exception) -> SourceUnavailableError:
        where = self.endpoint or f"AWS ({self.region})"
        return SourceUnavailableError(f"cannot read {what} from {where}: {describe_error(err)}")

    def _call(self, what: str, fn: Any) -> Any:
        try:
            return fn()
        except (BotoCoreError, ClientError) as err:
            raise self._unavailable(what, err) from None

    def _list(self, what: str, list_all: Any, filters: list[dict[str, Any]]) -> list[Mapping[str, Any]]:
        """Filtered listing; a filter the service rejects falls back to the full listing (still exact)."""
        try:
            return list_all(filters)
        except ClientError as err:
            if not filters or err.response.get("Error", {}).get("Code") not in _FILTER_REJECTED:
                raise self._unavailable(what, err) from None
            log.info("%s: name filter rejected (%s); listing everything", what, describe_error(err))
        except BotoCoreError as err:
            raise self._unavailable(what, err) from None
        return self._call(what, lambda: list_all([]))

    def list_secrets(self, prefixes: tuple[str, ...] = ()) -> list[Mapping[str, Any]]:
        sm = client("secretsmanager", self.endpoint, self.region)

        def list_all(filters: list[dict[str, Any]]) -> list[Mapping[str, Any]]:
            kwargs: dict[str, Any] = {"PaginationConfig": {"PageSize": 100}, **({"Filters": filters} if filters else {})}
            return [s for page in sm.get_paginator("list_secrets").paginate(**kwargs) for s in page.get("SecretList", [])]

        return self._list("Secrets Manager ListSecrets", list_all, secret_name_filters(prefixes))

    def describe_parameters(self, path: str, prefixes: tuple[str, ...] = ()) -> list[Mapping[str, Any]]:
        ssm = client("ssm", self.endpoint, self.region)

        def list_all(filters: list[dict[str, Any]]) -> list[Mapping[str, Any]]:
            kwargs: dict[str, Any] = {"PaginationConfig": {"PageSize": 50}, **({"ParameterFilters": filters} if filters else {})}
            return [p for page in ssm.get_paginator("describe_parameters").paginate(**kwargs) for p in page.get("Parameters", [])]

        # A path filter is not combined with name filters: it is already narrow, and AWS limits combining them.
        return self._list(f"SSM DescribeParameters {path}", list_all, parameter_filters(path, prefixes))

    def account(self) -> str:
        """The account id (STS GetCallerIdentity), for parameter ARNs that DescribeParameters leaves out."""
        sts = client("sts", self.endpoint, self.region)
        return self._call("STS GetCallerIdentity", lambda: sts.get_caller_identity()["Account"])

    def parameter_tags(self, name: str) -> Mapping[str, str]:
        ssm = client("ssm", self.endpoint, self.region)
        result = self._call(
            f"SSM ListTagsForResource {name}", lambda: ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)
        )
        return {t["Key"]: t["Value"] for t in result.get("TagList", [])}


def _current_version(secret: Mapping[str, Any]) -> str | None:
    for version, stages in sorted((secret.get("SecretVersionsToStages") or {}).items()):
        if "AWSCURRENT" in stages:
            return version
    return None


def _matches(name: str, tags: Mapping[str, str], prefixes: tuple[str, ...], wanted_tags: Mapping[str, str]) -> bool:
    if prefixes and not any(name.startswith(p) for p in prefixes):
        return False
    return all(tags.get(k) == v for k, v in wanted_tags.items())


def _parameter_arn(name: str, region: str, account: str) -> str:
    return f"arn:aws:ssm:{region}:{account}:parameter/{name.lstrip('/')}"


def read_inventory(
    source: MetadataSource,
    *,
    region: str,
    ssm_paths: tuple[str, ...] = ("/",),
    name_prefixes: tuple[str, ...] = (),
    tags: Mapping[str, str] | None = None,
) -> tuple[list[SourceItem], list[str]]:
    """Every secret and parameter that passes the filters, and warnings for items that cannot be synced.

    Raises SourceUnavailableError when anything cannot be read: a partial inventory must never be
    mistaken for the truth (it would delete masters).
    """
    wanted_tags = dict(tags or {})
    items: list[SourceItem] = []
    warnings: list[str] = []
    for secret in source.list_secrets(name_prefixes):
        name = secret["Name"]
        secret_tags = {t["Key"]: t["Value"] for t in secret.get("Tags") or []}
        if secret.get("DeletedDate") or not _matches(name, secret_tags, name_prefixes, wanted_tags):
            continue
        version = _current_version(secret)
        if version is None:
            warnings.append(f"Secrets Manager secret {name!r} has no AWSCURRENT version (no value yet): skipped")
            continue
        changed = rfc3339(secret.get("LastChangedDate") or secret.get("CreatedDate"))
        items.append(SourceItem(SECRETSMANAGER, name, secret["ARN"], version, changed, "secret", secret_tags))
    seen: set[str] = set()
    account = ""
    for path in ssm_paths:
        for parameter in source.describe_parameters(path, name_prefixes):
            name = parameter["Name"]
            if name in seen:
                continue
            seen.add(name)
            param_tags = source.parameter_tags(name) if wanted_tags else {}
            if not _matches(name, param_tags, name_prefixes, wanted_tags):
                continue
            arn = parameter.get("ARN")
            if not arn:
                account = account or source.account()
                arn = _parameter_arn(name, region, account)
            items.append(
                SourceItem(
                    SSM, name, arn, str(parameter.get("Version", "")), rfc3339(parameter.get("LastModifiedDate")),
                    parameter.get("Type", "String"), param_tags,
                )
            )
    return sorted(items), warnings
