"""Resolving an ECS ``valueFrom`` against the inventory.

Accepted forms (what ECS accepts):
- ``arn:aws:secretsmanager:<region>:<acct>:secret:<name>-<6 chars>[:<json-key>:<version-stage>:<version-id>]``
- ``arn:aws:ssm:<region>:<acct>:parameter/<path>``
- a bare name: a parameter (``/app/db/password``, ``app-param``, or a hierarchical one without its
  leading ``/``) or a secret. A bare name that matches both a secret and a parameter is an error
  naming both.

ARNs are matched against the real ARNs of the inventory; the random suffix is never guessed away. The
partition, region and account of an ARN must be the inventory's (a reference to another account or
partition is refused naming the part that differs, never resolved by its name alone); an empty region
or account is refused; ``parameter//app/db`` names a parameter ``//app/db``, never ``/app/db``.
A version stage other than AWSCURRENT, or a version id other than the current one, is rejected:
a replica carries one version under one name, so serving an older one would be a silent lie.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kecs_secrets.errors import ReferenceResolutionError
from kecs_secrets.model import SECRETSMANAGER, SSM, WHOLE_VALUE_KEY, Reference, SourceItem, is_data_key

__all__ = ["Inventory", "ResolvedReference", "arn_scope", "partition_of", "resolve_reference", "unresolved"]

CURRENT_STAGE = "AWSCURRENT"
PARTITIONS = ("aws", "aws-cn", "aws-us-gov")
_REGION_PARTITIONS = (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"))


def partition_of(region: str) -> str:
    """The AWS partition a region belongs to (``aws`` unless it is a China or GovCloud region)."""
    for prefix, partition in _REGION_PARTITIONS:
        if region.startswith(prefix):
            return partition
    return "aws"


def arn_scope(arn: str) -> tuple[str, str, str]:
    """``(partition, region, account)`` of an ARN (empty strings where it has none)."""
    parts = arn.split(":")
    return (parts[1], parts[3], parts[4]) if len(parts) >= 5 else ("", "", "")


@dataclass(frozen=True)
class ResolvedReference:
    reference: Reference
    item: SourceItem
    json_key: str | None = None


class Inventory:
    """Index of source items by name and ARN, for exact look-ups."""

    def __init__(self, items: Iterable[SourceItem], region: str) -> None:
        self.items: tuple[SourceItem, ...] = tuple(sorted(items))
        self.region = region
        # Where the inventory was read: the partition and account(s) of its own ARNs (the region's partition if empty).
        scopes = [arn_scope(item.arn) for item in self.items]
        self.partitions = frozenset(p for p, _, _ in scopes if p) or frozenset({partition_of(region)})
        self.accounts = frozenset(a for _, _, a in scopes if a)
        self._by_arn: dict[str, SourceItem] = {}
        self._by_name: dict[tuple[str, str], SourceItem] = {}
        for item in self.items:
            self._by_arn[item.arn] = item
            self._by_name[item.key] = item

    def __len__(self) -> int:
        return len(self.items)

    def by_arn(self, arn: str) -> SourceItem | None:
        return self._by_arn.get(arn)

    def by_name(self, source: str, name: str) -> SourceItem | None:
        return self._by_name.get((source, name))


def unresolved(ref: Reference, why: str) -> ReferenceResolutionError:
    """The error naming ``ref``, its origin and why it cannot be resolved; ``why`` is kept apart (``err.why``) for reports on the pod."""
    err = ReferenceResolutionError(f"reference {ref.value_from!r} from {ref.origin}: {why}")
    err.why = why
    return err



def _shown(values: frozenset[str]) -> str:
    return " or ".join(repr(v) for v in sorted(values))


def _check_scope(ref: Reference, parts: list[str], inventory: Inventory) -> None:
    """The ARN's partition, region and account must be those of the inventory."""
    partition, region, account = parts[1], parts[3], parts[4]
    if not region:
        raise unresolved(ref, "the ARN has an empty region")
    if not account:
        raise unresolved(ref, "the ARN has an empty account")
    if partition not in inventory.partitions:
        raise unresolved(ref, f"it names partition {partition!r} but the inventory is in partition {_shown(inventory.partitions)}")
    if inventory.region and region != inventory.region:
        raise unresolved(ref, f"it names region {region!r} but the inventory is read from {inventory.region!r}")
    if inventory.accounts and account not in inventory.accounts:
        raise unresolved(ref, f"it names account {account!r} but the inventory is read from account {_shown(inventory.accounts)}")


def _check_item_scope(ref: Reference, parts: list[str], item: SourceItem) -> None:
    """The resolved item's own ARN has the reference's partition, region and account (never a match by name alone)."""
    for what, wanted, found in zip(("partition", "region", "account"), (parts[1], parts[3], parts[4]), arn_scope(item.arn), strict=True):
        if found and wanted != found:
            raise unresolved(ref, f"it names {what} {wanted!r} but {item.name!r} is in {what} {found!r}")


def _resolve_secret_arn(ref: Reference, parts: list[str], inventory: Inventory) -> ResolvedReference:
    # arn:aws:secretsmanager:region:acct:secret:name-XXXXXX[:json-key:version-stage:version-id]
    if len(parts) < 7 or parts[5] != "secret" or not parts[6]:
        raise unresolved(ref, "malformed Secrets Manager ARN (expected arn:aws:secretsmanager:<region>:<account>:secret:<name>)")
    if len(parts) not in (7, 8, 9, 10):
        raise unresolved(ref, "malformed Secrets Manager ARN (too many ':' fields)")
    _check_scope(ref, parts, inventory)
    base_arn = ":".join(parts[:7])
    json_key, stage, version_id = (parts[7:] + ["", "", ""])[:3]
    json_key = "" if json_key == "*" else json_key  # '*' selects the whole secret (KECS reads key 'value' for it)
    by_arn = inventory.by_arn(base_arn)
    # A partial ARN (no random suffix) names the secret exactly; never strip a guessed suffix.
    by_name = inventory.by_name(SECRETSMANAGER, parts[6])
    if by_arn and by_name and by_arn != by_name:
        raise unresolved(ref, f"ambiguous: it is the full ARN of secret {by_arn.name!r} and the partial ARN of secret {by_name.name!r}")
    item = by_arn or by_name
    if item is None:
        raise unresolved(ref, "no Secrets Manager secret with that ARN")
    _check_item_scope(ref, parts, item)
    if stage and stage != CURRENT_STAGE:
        raise unresolved(ref, f"version stage {stage!r} is not served: replicas carry the {CURRENT_STAGE} version only")
    if version_id and version_id != item.version:
        raise unresolved(ref, f"version id {version_id!r} is not the current version of {item.name!r}: only the current version is served")
    return ResolvedReference(ref, item, _checked_json_key(ref, json_key) if json_key else None)


def _checked_json_key(ref: Reference, key: str) -> str:
    if key == WHOLE_VALUE_KEY:
        raise unresolved(
            ref,
            f"JSON key {WHOLE_VALUE_KEY!r} is reserved for the whole secret; a JSON field named {WHOLE_VALUE_KEY!r} cannot be selected",
        )
    if not is_data_key(key):
        raise unresolved(ref, f"JSON key {key!r} is not a valid Kubernetes data key (letters, digits, '-', '_', '.')")
    return key


def _resolve_parameter_arn(ref: Reference, parts: list[str], inventory: Inventory) -> ResolvedReference:
    # arn:aws:ssm:region:acct:parameter/<path>  (the path may itself contain no ':')
    if len(parts) != 6 or not parts[5].startswith("parameter/") or len(parts[5]) <= len("parameter/"):
        raise unresolved(ref, "malformed SSM parameter ARN (expected arn:aws:ssm:<region>:<account>:parameter/<name>)")
    path = parts[5][len("parameter/"):]
    _check_scope(ref, parts, inventory)
    # The ARN of '/a/b' is parameter/a/b and that of 'a' is parameter/a: the path names '/<path>', or '<path>' itself
    # when that is not hierarchical. So parameter//app/db names '//app/db', never '/app/db'.
    names = (f"/{path}",) if path.startswith("/") else (f"/{path}", path)
    candidates = [name for name in names if inventory.by_name(SSM, name)]
    if not candidates:
        raise unresolved(ref, "no SSM parameter with that ARN")
    if len(candidates) > 1:
        raise unresolved(ref, f"ambiguous: parameters {candidates[0]!r} and {candidates[1]!r} both match")
    item = inventory.by_name(SSM, candidates[0])
    assert item is not None
    _check_item_scope(ref, parts, item)
    return ResolvedReference(ref, item)


def _resolve_bare_name(ref: Reference, name: str, inventory: Inventory) -> ResolvedReference:
    parameter = inventory.by_name(SSM, name)
    if parameter is None and not name.startswith("/"):
        parameter = inventory.by_name(SSM, f"/{name}")
    secret = inventory.by_name(SECRETSMANAGER, name)
    if parameter and secret:
        raise unresolved(
            ref, f"ambiguous: it names both SSM parameter {parameter.name!r} and Secrets Manager secret {secret.name!r}; use an ARN"
        )
    item = parameter or secret
    if item is None:
        raise unresolved(ref, "no SSM parameter or Secrets Manager secret with that name")
    return ResolvedReference(ref, item)


def resolve_reference(ref: Reference, inventory: Inventory) -> ResolvedReference:
    """Resolve one reference, or raise ReferenceResolutionError naming it and its origin."""
    value = ref.value_from.strip()
    if not value:
        raise unresolved(ref, "empty reference")
    if value.startswith("arn:"):
        parts = value.split(":")
        if len(parts) < 6 or parts[1] not in PARTITIONS:
            raise unresolved(ref, "malformed ARN")
        if parts[2] == SECRETSMANAGER:
            return _resolve_secret_arn(ref, parts, inventory)
        if parts[2] == SSM:
            return _resolve_parameter_arn(ref, parts, inventory)
        raise unresolved(ref, f"unsupported service {parts[2]!r} (expected secretsmanager or ssm)")
    return _resolve_bare_name(ref, value, inventory)

