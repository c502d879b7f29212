"""The MetadataSource over boto3: metadata (never values) of secrets and parameters from LocalStack or AWS."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from kecs_secrets.config import Settings
from kecs_secrets.errors import SourceUnavailableError
from providers.aws import client, describe_error

__all__ = ["BotoSource", "parameter_filters", "secret_name_filters"]

log = logging.getLogger(__name__)


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
        self._listed_account = ""  # the account in the ARNs ListSecrets returned, if any
        self._early: dict[tuple[str, ...], Future] = {}
        self._started: tuple[float, tuple[str, ...], tuple[str, ...]] | None = None  # start(): when, and what

    def start(self, prefixes: tuple[str, ...], ssm_paths: tuple[str, ...]) -> BotoSource:
        """Start the listings now, in the background and side by side (the secrets, each parameter path): the
        program meanwhile loads the Kubernetes client. ``list_secrets`` / ``describe_parameters`` with the same
        arguments then wait for them (and raise what they raised)."""
        prefixes = tuple(prefixes)
        self._started = (time.time(), prefixes, tuple(ssm_paths))
        pool = ThreadPoolExecutor(max_workers=1 + len(ssm_paths), thread_name_prefix="source-listing")
        self._early[("secrets", *prefixes)] = pool.submit(self._list_secrets, prefixes)
        for path in ssm_paths:
            self._early[("parameters", path, *prefixes)] = pool.submit(self._describe_parameters, path, prefixes)
        pool.shutdown(wait=False)
        return self

    @classmethod
    def listing(cls, settings: Settings) -> BotoSource:
        """A source of ``settings``' endpoint and region with the listings of what they cover started now."""
        return cls(settings.endpoint, settings.region).start(settings.name_prefixes, settings.ssm_paths)

    def started_for(self, endpoint: str, region: str, prefixes: tuple[str, ...], ssm_paths: tuple[str, ...]) -> float | None:
        """When (epoch seconds) ``start`` began listing exactly what these settings list here, if it did and nothing
        was taken from it yet; else None."""
        if self._started is None or (endpoint, region) != (self.endpoint, self.region):
            return None
        when, started_prefixes, started_paths = self._started
        taken = len(self._early) != 1 + len(started_paths)
        return None if taken or (started_prefixes, started_paths) != (tuple(prefixes), tuple(ssm_paths)) else when

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
        early = self._early.pop(("secrets", *prefixes), None)
        return early.result() if early is not None else self._list_secrets(prefixes)

    def _list_secrets(self, prefixes: tuple[str, ...]) -> list[Mapping[str, Any]]:
        sm = client("secretsmanager", self.endpoint, self.region)

        def list_all(filters: list[dict[str, Any]]) -> list[Mapping[str, Any]]:
            kwargs: dict[str, Any] = {"PaginationConfig": {"PageSize": 100}, **({"Filters": filters} if filters else {})}
            return [s for page in sm.get_paginator("list_secrets").paginate(**kwargs) for s in page.get("SecretList", [])]

        listed = self._list("Secrets Manager ListSecrets", list_all, secret_name_filters(prefixes))
        for secret in listed[:1]:
            parts = str(secret.get("ARN", "")).split(":")
            self._listed_account = parts[4] if len(parts) > 5 and parts[4].isdigit() else ""
        return listed

    def describe_parameters(self, path: str, prefixes: tuple[str, ...] = ()) -> list[Mapping[str, Any]]:
        early = self._early.pop(("parameters", path, *prefixes), None)
        return early.result() if early is not None else self._describe_parameters(path, prefixes)

    def _describe_parameters(self, path: str, prefixes: tuple[str, ...]) -> list[Mapping[str, Any]]:
        ssm = client("ssm", self.endpoint, self.region)

        def list_all(filters: list[dict[str, Any]]) -> list[Mapping[str, Any]]:
            kwargs: dict[str, Any] = {"PaginationConfig": {"PageSize": 50}, **({"ParameterFilters": filters} if filters else {})}
            return [p for page in ssm.get_paginator("describe_parameters").paginate(**kwargs) for p in page.get("Parameters", [])]

        # A path filter is not combined with name filters: it is already narrow, and AWS limits combining them.
        return self._list(f"SSM DescribeParameters {path}", list_all, parameter_filters(path, prefixes))

    def account(self) -> str:
        """The account id, for parameter ARNs that DescribeParameters leaves out: the one in the ARNs ListSecrets
        returned (the caller's own secrets), else STS GetCallerIdentity."""
        if self._listed_account:
            return self._listed_account
        sts = client("sts", self.endpoint, self.region)
        return self._call("STS GetCallerIdentity", lambda: sts.get_caller_identity()["Account"])

    def parameter_tags(self, name: str) -> Mapping[str, str]:
        ssm = client("ssm", self.endpoint, self.region)
        result = self._call(
            f"SSM ListTagsForResource {name}", lambda: ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)
        )
        return {t["Key"]: t["Value"] for t in result.get("TagList", [])}
