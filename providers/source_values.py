"""The dynamic provider that reads values from LocalStack/AWS, and its resource ``kecs:SourceValues``.

A stack has one reader for all its values. Its input ``items`` says what to read (per master: source,
name, ARN, version, encoding, JSON keys, stamp; as a list, to keep the state small), ``endpoint`` and
``region`` where (the same for every item); its outputs echo them and hold, per master, the value
(``values``, one Pulumi secret for the whole map, so it is encrypted in state from the first moment),
a ``fingerprint`` (an HMAC under the stack's own random key, which this resource makes on create and
keeps in its outputs), the data ``keys``, and ``key_fingerprints``: an HMAC of each JSON key a consumer
selects, so that a change of one key can be told from a change of another without reading a value.
Owning the key, the reader has no input that waits for
another resource: it registers at once, so a changed value reaches its master as early as it can.

One item's value that cannot be used (not valid text, nested too deeply, too large for a Secret) is that
item's problem only: the reader keeps the data it held for the item, if any, and says in ``held`` which
version that data is of (``[arn, version, stamp]``; all empty: no data), and in ``problems`` why (one line
naming the item, never the value). Every other item is read as usual. The program gives the item's master
and replicas the annotations of the version they hold, and reports the problem as a warning.

Only what changed is read: an update reads the items that are new or whose version (ARN, version or
stamp; or endpoint, region, encoding) changed, and carries the other values over from its own earlier outputs. A run in
which nothing changed is no change of this resource at all, and reads nothing. Which masters and
replicas take their data from here, and which keep the data their state holds, is decided by the
program (``kecs_secrets.freshness``): a preview stays exact per object, because only the objects
whose value changed depend on this resource's (then unknown) outputs.

The provider keeps no state: it is pickled into the resource, and the pickle must carry no client and
no credential (clients come from :mod:`providers.aws` at call time). It never writes to the source.
A failure of the project's own kind (source unreachable, item gone, a selected JSON key missing) is
reported as one line per item naming the item and the cause, never as a Python traceback.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
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

from kecs_secrets.errors import KecsSecretsError, SourceGoneError, SourceUnavailableError, ValueShapeError
from kecs_secrets.values import FINGERPRINT_KEY_BYTES, encode_data, fingerprint, parameter_data, secret_data
from providers.dynamic_errors import report_project_errors_in_one_line

__all__ = [
    "COMPACT_KEYS", "ITEM_KEYS", "SECRET_OUTPUTS", "SOURCE_VALUES_ID", "SourceValues", "SourceValuesProvider", "item_record", "items_of",
]

# The values, and the stack's fingerprint key (made on create, then carried over in the outputs).
SECRET_OUTPUTS = ["values", "fingerprint_key"]
# What identifies one value: a change of any of these is a new read of that item. ``stamp`` (the item's last change, to
# the microsecond) is None in the records of states made before it was recorded: the diff takes such a record for the
# same as one with any stamp (so the upgrade is no change and reads nothing), and the reader's next update reads it
# again (once: from then on it has its stamp), so a value it may have missed is not carried over.
READ_KEYS = ("source", "name", "arn", "version", "stamp", "encoding", "endpoint", "region")
ITEM_KEYS = (*READ_KEYS, "json_keys")
# The fields of an entry of ``items`` as the program sends it (a list); endpoint and region are top-level inputs.
COMPACT_KEYS = ("source", "name", "arn", "version", "encoding", "json_keys", "stamp")
# What ``held`` says of a master whose reader holds no data for it.
NO_DATA = ["", "", ""]
SOURCE_VALUES_ID = "source-values"
_NOT_FOUND = {"ResourceNotFoundException", "ParameterNotFound", "ParameterVersionNotFound", "InvalidParameters"}


def item_record(
    *, source: str, name: str, arn: str, version: str, encoding: str, json_keys: list[str], stamp: str = ""
) -> list[Any]:
    """One entry of the reader's ``items``, as the program sends it (fields in the order of ``COMPACT_KEYS``)."""
    return [source, name, arn, version, encoding, sorted(json_keys), stamp]


def items_of(props: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Every entry of ``items`` as a mapping of ``ITEM_KEYS``: a list (``COMPACT_KEYS``, endpoint and region from the
    top-level inputs), or a mapping of its own."""
    props = props or {}
    items = props.get("items")
    if not isinstance(items, Mapping):
        return {}
    where = {"endpoint": props.get("endpoint"), "region": props.get("region")}
    records = {}
    for name, entry in items.items():
        if isinstance(entry, (list, tuple)):
            record = {**dict(zip(COMPACT_KEYS, entry, strict=False)), **where}
        else:
            record = dict(entry or {})
            for key, value in where.items():
                if record.get(key) is None:
                    record[key] = value
        records[name] = {k: record.get(k) for k in ITEM_KEYS}
    return records


def _stamped(old: Mapping[str, Any], new: Mapping[str, Any] | None) -> dict[str, Any]:
    """``old`` with ``new``'s stamp where ``old`` has none (a record of a state made before stamps were recorded)."""
    return {**old, "stamp": new.get("stamp")} if old.get("stamp") is None and new is not None else dict(old)


def _same_read(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    return old is not None and all(old.get(k) == new.get(k) for k in READ_KEYS)


def _same_items(olds: Mapping[str, Any] | None, news: Mapping[str, Any] | None) -> bool:
    old_items, new_items = items_of(olds), items_of(news)
    return {n: _stamped(item, new_items.get(n)) for n, item in old_items.items()} == new_items


def _missing_keys(
    item: Mapping[str, Any], selected_by: Mapping[str, str], keys: list[str], isolated: Iterable[str] = ()
) -> ValueShapeError | None:
    """The error for JSON keys a consumer selects that the value does not have, naming the reference and its origin.

    Keys only tenants select (``isolated``) are no error: the replica is made without that key, and the next
    run, which knows the version's keys from the state, skips the reference and tells it on its pod.
    """
    missing = sorted(set(item.get("json_keys") or []) - set(keys) - set(isolated))
    if not missing:
        return None
    first = missing[0]
    who = (selected_by or {}).get(first, "a reference")
    return ValueShapeError(f"{who}: secret {item['name']!r} has no JSON field {first!r}")


def _key_errors(
    items: Mapping[str, Mapping[str, Any]],
    selected_by: Mapping[str, Mapping[str, str]],
    keys: Mapping[str, list[str]],
    isolated: Mapping[str, Iterable[str]] | None = None,
) -> list[KecsSecretsError]:
    """One error per item (of those whose data keys are known) lacking a JSON key the stack owner's demand selects."""
    found = (
        _missing_keys(items[name], selected_by.get(name) or {}, keys[name], (isolated or {}).get(name) or ())
        for name in sorted(items) if name in keys
    )
    return [missing for missing in found if missing is not None]


def _raise_all(errors: list[KecsSecretsError]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ExceptionGroup(f"{len(errors)} values could not be read", errors)


Read = tuple[dict[str, bytes], dict[str, str]]  # one value's data, and that data as its object holds it


def _data_of(item: Mapping[str, Any], got: Mapping[str, Any]) -> Read:
    """The data of one value as the source returned it; a value that cannot be data raises ValueShapeError (naming the item)."""
    source, name = item["source"], item["name"]
    try:
        if source == "secretsmanager":
            data = secret_data(got.get("SecretString"), got.get("SecretBinary"), name=name)
        else:
            data = parameter_data(got.get("Type", "String"), got.get("Value"), name=name)
    except ValueShapeError:
        raise
    except Exception as err:  # an answer of a shape nobody expected: that item's problem, said without its value
        raise ValueShapeError(f"{source} item {name!r}: the source answered in no known shape ({type(err).__name__})") from None
    try:
        return data, encode_data(data, item.get("encoding") or "base64")
    except ValueShapeError as err:
        raise ValueShapeError(f"{source} item {name!r}: {err}") from None


def _read_items(
    items: Mapping[str, Mapping[str, Any]],
) -> tuple[dict[str, Read], dict[str, ValueShapeError], list[KecsSecretsError]]:
    """The data of each item (by master name), read in batch calls per endpoint and region; the items whose value
    cannot be used (one error each, by master name); and the errors that stop the run (source unreadable, item gone)."""
    from botocore.exceptions import BotoCoreError, ClientError  # the AWS SDK only when a value is read

    from providers.aws import describe_error
    from providers.batch_reader import BatchValueReader

    pending: list[tuple[str, Mapping[str, Any], Any]] = []
    groups: dict[tuple[str, str], list[tuple[str, Mapping[str, Any]]]] = {}
    for name, item in sorted(items.items()):
        groups.setdefault((item.get("endpoint") or "", item["region"]), []).append((name, item))
    for (endpoint, region), members in groups.items():
        reader = BatchValueReader(endpoint, region)
        secrets_ = [(n, i) for n, i in members if i["source"] == "secretsmanager"]
        parameters = [(n, i) for n, i in members if i["source"] != "secretsmanager"]
        futures = reader.read_secrets([(i["arn"] or i["name"], i.get("version") or "") for _, i in secrets_])
        futures += reader.read_parameters([(i["name"], i.get("version") or "") for _, i in parameters])
        pending += [(n, i, f) for (n, i), f in zip([*secrets_, *parameters], futures, strict=True)]
    data: dict[str, Read] = {}
    unusable: dict[str, ValueShapeError] = {}
    errors: list[KecsSecretsError] = []
    for master, item, future in pending:
        source, name, endpoint = item["source"], item["name"], item.get("endpoint") or ""
        try:
            got = future.result()
        except SourceGoneError as err:
            errors.append(SourceGoneError(f"{source} item {name!r} version {item.get('version')!r} not found ({err})"))
        except ValueShapeError as err:  # this item alone cannot be read
            unusable[master] = ValueShapeError(f"{source} item {name!r} {err}")
        except ClientError as err:
            if describe_error(err) in _NOT_FOUND:
                errors.append(SourceGoneError(f"{source} item {name!r} not found ({describe_error(err)})"))
            else:
                errors.append(SourceUnavailableError(f"cannot read {source} item {name!r} from {endpoint or 'AWS'}: {describe_error(err)}"))
        except BotoCoreError as err:
            errors.append(SourceUnavailableError(f"cannot read {source} item {name!r} from {endpoint or 'AWS'}: {describe_error(err)}"))
        except KecsSecretsError as err:
            errors.append(err)
        else:
            try:
                data[master] = _data_of(item, got)
            except ValueShapeError as err:
                unusable[master] = err
    return data, unusable, errors


def _fingerprint_key(props: Mapping[str, Any], olds: Mapping[str, Any] | None) -> str:
    """The stack's key: the one in the earlier outputs (an update), or in ``props`` (a refresh reads the state's outputs),
    or a new random one (a create, or ``pulumi up --replace`` of the reader, which rotates it)."""
    return (olds or {}).get("fingerprint_key") or props.get("fingerprint_key") or secrets.token_hex(FINGERPRINT_KEY_BYTES)


def _held_of(old: Mapping[str, Any] | None, held: Any) -> list[str]:
    """What data the reader held for a master: its ``held`` entry, else its record's ARN, version and stamp."""
    if isinstance(held, (list, tuple)) and len(held) == len(NO_DATA):
        return [str(part) for part in held]
    return [str((old or {}).get(k) or "") for k in ("arn", "version", "stamp")]


def _outputs(
    props: Mapping[str, Any], olds: Mapping[str, Any] | None, *, check_keys: bool = True, reread: bool = False
) -> dict[str, Any]:
    """The reader's outputs for ``props``: values of new or changed items read (every item when ``reread``), the
    others carried over from ``olds``; an item whose new value cannot be used keeps what ``olds`` held for it."""
    items, key = items_of(props), _fingerprint_key(props, olds)
    old_items = items_of(olds) if olds and olds.get("fingerprint_key") == key else {}
    old_values = (olds or {}).get("values") or {}
    old_prints = (olds or {}).get("fingerprints") or {}
    old_keys = (olds or {}).get("keys") or {}
    old_held = (olds or {}).get("held") or {}
    old_problems = (olds or {}).get("problems") or {}
    old_key_prints = (olds or {}).get("key_fingerprints") or {}
    # The masters for which ``olds`` holds data of the same item (not necessarily of the same version).
    holding = {
        n for n, item in items.items()
        if n in old_values and n in old_prints and n in old_keys
        and all((old_items.get(n) or {}).get(k) == item.get(k) for k in ("source", "name"))
    }

    def printed(n: str, item: Mapping[str, Any]) -> bool:
        """Every selected JSON key the held data has carries its fingerprint (else it is read once more to make them)."""
        wanted = set(item.get("json_keys") or ()) & set(old_keys.get(n) or ())
        return n not in holding or wanted <= set(old_key_prints.get(n) or ())

    carried = set() if reread else {
        n for n, item in items.items()
        if _same_read(old_items.get(n), item) and (n in holding or n in old_problems) and printed(n, item)
    }
    read, unusable, errors = _read_items({n: item for n, item in items.items() if n not in carried})
    kept = (carried | set(unusable)) & holding
    values = {n: old_values[n] for n in kept}
    prints = {n: old_prints[n] for n in kept}
    keys = {n: list(old_keys[n]) for n in kept}
    key_prints = {n: _selected(old_key_prints[n], items[n]) for n in kept if items[n].get("json_keys") and n in old_key_prints}
    held = {n: list(old_held[n]) for n in carried if n in old_held}
    problems = {n: old_problems[n] for n in carried if n in old_problems}
    for name, (data, encoded) in read.items():
        values[name] = encoded
        prints[name] = fingerprint(bytes.fromhex(key), data)
        keys[name] = sorted(data)
        selected = {k: fingerprint(bytes.fromhex(key), {k: data[k]}) for k in items[name].get("json_keys") or () if k in data}
        if selected:
            key_prints[name] = selected
    for name, err in sorted(unusable.items()):
        held[name] = _held_of(old_items.get(name), old_held.get(name)) if name in holding else list(NO_DATA)
        version = items[name].get("version")
        what = f"keeps the data of version {held[name][1]!r}" if held[name][1] else "holds no data until a version that can be used"
        problems[name] = f"{err} (version {version!r}): skipped; master {name!r} {what}"
    if check_keys:
        errors += _key_errors(items, props.get("selected_by") or {}, keys, props.get("isolated_keys"))
    _raise_all(errors)
    return {
        # What to read, echoed as given (diff and refresh see only outputs).
        "items": props.get("items") or {},
        **{k: props[k] for k in ("endpoint", "region") if k in props},
        "fingerprint_key": key,
        "values": dict(sorted(values.items())),
        "fingerprints": dict(sorted(prints.items())),
        "keys": dict(sorted(keys.items())),
        "held": dict(sorted(held.items())),
        "problems": dict(sorted(problems.items())),
        # Per master, a fingerprint of each JSON key a consumer selects: what changed, key by key (restartOnChange).
        **({"key_fingerprints": dict(sorted(key_prints.items()))} if key_prints else {}),
    }


def _selected(prints: Mapping[str, str], item: Mapping[str, Any]) -> dict[str, str]:
    return {k: prints[k] for k in sorted(item.get("json_keys") or ()) if k in prints}


class SourceValuesProvider(ResourceProvider):
    """Reads values; never writes to LocalStack/AWS; holds no state between calls."""

    # The pickle holds no secret (the class is pickled by reference), so it need not be encrypted.
    serialize_as_secret_always = False

    def configure(self, req: ConfigureRequest) -> None:
        """Runs once in the provider host, before any other call."""
        report_project_errors_in_one_line()

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures: list[CheckFailure] = []
        items = items_of(news)
        for name, item in sorted(items.items()):
            where = f"items.{name}"
            if item["source"] not in ("secretsmanager", "ssm"):
                failures.append(CheckFailure(f"{where}.source", "must be 'secretsmanager' or 'ssm'"))
            if not isinstance(item["name"], str) or not item["name"]:
                failures.append(CheckFailure(f"{where}.name", "must be a non-empty string"))
            if item["encoding"] not in ("base64", "text"):
                failures.append(CheckFailure(f"{where}.encoding", "must be 'base64' or 'text'"))
            if not isinstance(item["region"], str) or not item["region"]:
                failures.append(CheckFailure(f"{where}.region", "must be a non-empty string"))
            if item["json_keys"] and item["source"] != "secretsmanager":
                failures.append(CheckFailure(f"{where}.json_keys", "only Secrets Manager secrets have JSON keys"))
        if not failures:
            # New or changed secrets with selected JSON keys: read them now, so that a missing key fails the preview
            # (and the update, before any master changes) instead of half-way through. Not a CheckFailure: it is the
            # source's data, not an input, that is wrong, and it is reported like every other error of the project.
            unverified = self._keys_unverified(olds, news)
            if unverified:
                read, _, errors = _read_items(unverified)  # a value that cannot be used is the update's to report
                read_keys = {n: sorted(d) for n, (d, _) in read.items()}
                _raise_all(errors + _key_errors(unverified, news.get("selected_by") or {}, read_keys, news.get("isolated_keys")))
        return CheckResult(news, failures)

    @staticmethod
    def _keys_unverified(olds: dict[str, Any], news: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """Items with selected JSON keys that no earlier read of this version vouched for (the program checks the rest from state)."""
        old_items, unverified = items_of(olds), {}
        for name, new in items_of(news).items():
            wanted = new["json_keys"] or []
            if not wanted or any(not isinstance(new[k], str) for k in ("arn", "version", "endpoint", "region")):
                continue
            old = old_items.get(name)
            same_version = old is not None and all(old[k] == new[k] for k in ("arn", "version"))
            if not same_version or set(wanted) - set(old["json_keys"] or []):
                unverified[name] = new
        return unverified

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # The key is the reader's own (in its outputs only): what to read is the whole input.
        changed = not _same_items(olds, news)
        return DiffResult(changes=changed, replaces=[], stables=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(SOURCE_VALUES_ID, _outputs(props, None))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(_outputs(news, olds))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        # A refresh reads every value again; the consumers' keys are the next run's business.
        outs = _outputs(props, props, check_keys=False, reread=True)
        inputs = {k: outs[k] for k in ("items", "endpoint", "region") if k in outs}
        inputs["selected_by"] = props.get("selected_by") or {}
        if props.get("isolated_keys"):
            inputs["isolated_keys"] = props["isolated_keys"]
        return ReadResult(id_, outs, inputs=inputs)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to do: the source belongs to LocalStack/AWS and is never written."""


_PROVIDER = SourceValuesProvider()


class SourceValues(Resource, module="kecs", name="SourceValues"):
    """Every value the stack's masters hold, by master name (``values`` is a secret)."""

    values: pulumi.Output[dict[str, dict[str, str]]]
    fingerprints: pulumi.Output[dict[str, str]]
    keys: pulumi.Output[dict[str, list[str]]]
    fingerprint_key: pulumi.Output[str]  # the stack's key (hex, secret): fingerprints and ownership marks
    held: pulumi.Output[dict[str, list[str]]]  # master -> [arn, version, stamp] of the data held, where not the one asked for
    problems: pulumi.Output[dict[str, str]]  # master -> why its item's value was not used (one line, never the value)
    key_fingerprints: pulumi.Output[dict[str, dict[str, str]]]

    def __init__(
        self,
        resource_name: str,
        *,
        items: Mapping[str, list[Any]],
        endpoint: str,
        region: str,
        selected_by: Mapping[str, Mapping[str, str]] | None = None,
        isolated_keys: Mapping[str, Iterable[str]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "items": dict(sorted(items.items())),
            "endpoint": endpoint,
            "region": region,
            # Only for error messages (which reference selects which JSON key): never compared by diff.
            "selected_by": {name: dict(sorted(by.items())) for name, by in sorted((selected_by or {}).items()) if by},
            # Output keys must be seeded to appear as attributes.
            "values": None,
            "fingerprints": None,
            "keys": None,
            "fingerprint_key": None,
            "held": None,
            "problems": None,
            "key_fingerprints": None,
        }
        # JSON keys only tenants select (kecs_secrets.isolation): a value lacking one is no error. Never compared by
        # diff; present only when some master has such keys, so a stack without pod demand keeps its state as it was.
        isolated = {name: sorted(keys) for name, keys in sorted((isolated_keys or {}).items()) if keys}
        if isolated:
            props["isolated_keys"] = isolated
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=SECRET_OUTPUTS)
        super().__init__(_PROVIDER, resource_name, props, pulumi.ResourceOptions.merge(secret_opts, opts))

