"""Which source items are synced, and with which metadata (pure: the source is a port).

Rules: a secret is synced at its AWSCURRENT version (no AWSCURRENT yet: skipped with a warning);
a secret scheduled for deletion is not synced; name prefixes and tags narrow the set (exactly, even
where the services' own filters are wider); a parameter listed under two paths is synced once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from kecs_secrets.model import SECRETSMANAGER, SSM, SourceItem
from kecs_secrets.ports import MetadataSource
from kecs_secrets.references import partition_of

__all__ = ["parameter_arn", "read_inventory", "rfc3339"]


def rfc3339(value: Any, *, precise: bool = False) -> str:
    """RFC 3339 UTC from a datetime, an epoch number (LocalStack sends ``1755005925.233``) or a string: to the second,
    or to the microsecond when ``precise``."""
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
    return stamp.astimezone(dt.UTC).isoformat(timespec="microseconds" if precise else "seconds").replace("+00:00", "Z")


def _current_version(secret: Mapping[str, Any]) -> str | None:
    for version, stages in sorted((secret.get("SecretVersionsToStages") or {}).items()):
        if "AWSCURRENT" in stages:
            return version
    return None


def _matches(name: str, tags: Mapping[str, str], prefixes: tuple[str, ...], wanted_tags: Mapping[str, str]) -> bool:
    if prefixes and not any(name.startswith(p) for p in prefixes):
        return False
    return all(tags.get(k) == v for k, v in wanted_tags.items())


def parameter_arn(name: str, region: str, account: str) -> str:
    """The ARN of an SSM parameter (DescribeParameters does not always return one)."""
    return f"arn:{partition_of(region)}:ssm:{region}:{account}:parameter/{name.lstrip('/')}"


def read_inventory(
    source: MetadataSource,
    *,
    region: str,
    ssm_paths: tuple[str, ...] = ("/",),
    name_prefixes: tuple[str, ...] = (),
    tags: Mapping[str, str] | None = None,
) -> tuple[list[SourceItem], list[str]]:
    """Every secret and parameter that passes the filters, and warnings for items that cannot be synced.

    The source raises SourceUnavailableError when anything cannot be read: a partial inventory must
    never be mistaken for the truth (it would delete masters).
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
        changed = secret.get("LastChangedDate") or secret.get("CreatedDate")
        items.append(
            SourceItem(
                SECRETSMANAGER, name, secret["ARN"], version, rfc3339(changed), "secret", secret_tags, rfc3339(changed, precise=True)
            )
        )
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
                arn = parameter_arn(name, region, account)
            changed = parameter.get("LastModifiedDate")
            items.append(
                SourceItem(
                    SSM, name, arn, str(parameter.get("Version", "")), rfc3339(changed),
                    parameter.get("Type", "String"), param_tags, rfc3339(changed, precise=True),
                )
            )
    return sorted(items), warnings
