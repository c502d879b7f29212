"""The StateReader over the Pulumi CLI: the stack's own state, read with ``pulumi stack export``.

The program cannot see its state through the SDK, yet it must know what Pulumi is about to delete (by
name), which data keys each value had, and which objects hold which version's data. ``pulumi stack
export`` (without ``--show-secrets``) gives the last checkpoint with every secret still encrypted; only
kinds, names, namespaces, uids, annotations, versions, data key names and whether an object was given
data are taken from it, and nothing of it is ever printed.

With a local file backend (``PULUMI_BACKEND_URL=file://DIR`` in project-scoped layout, as the CLI gives
the program) the same checkpoint is read from its file instead: a second CLI process that parses the
whole state and prints it again, indented, costs more CPU than the rest of the program's planning
(2 s at 2,000 masters and 2,000 replicas, measured with ``bench.run --engine-profile``). Any other
backend, layout or compression, or a file that is not there, goes through ``pulumi stack export``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import re
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

from kecs_secrets.errors import StateUnavailableError
from kecs_secrets.model import StackState, StateObject, StateValue
from providers.source_values import items_of

__all__ = ["SOURCE_VALUES_TYPE", "SOURCE_VALUE_TYPE", "PulumiStackState", "checkpoint_file", "stack_state_from_export"]

SOURCE_VALUE_TYPE = "pulumi-python:dynamic/kecs:SourceValue"  # earlier versions: one reader per value
SOURCE_VALUES_TYPE = "pulumi-python:dynamic/kecs:SourceValues"
_DATA_KINDS = {"Secret", "ConfigMap"}
_KUBERNETES_KINDS = {
    "kubernetes:core/v1:Secret": "Secret",
    "kubernetes:core/v1:ConfigMap": "ConfigMap",
    "kubernetes:core/v1:ServiceAccount": "ServiceAccount",
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": "RoleBinding",
    "kubernetes:rbac.authorization.k8s.io/v1:Role": "Role",
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": "ClusterRole",
}
EXPORT_TIMEOUT_SECONDS = 300
# RFC 3339 as the CLI writes it (nanoseconds; Python reads at most microseconds): whole seconds, fraction, zone.
_MANIFEST_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|z|[+-]\d\d:\d\d)$")


def _plain(value: Any) -> Any:
    """A state value, or None when it is an encrypted secret (never decrypted here)."""
    if isinstance(value, Mapping) and "4dabf18193072939515e22adb298388d" in value:
        return None
    return value


def _metadata(resource: Mapping[str, Any]) -> Mapping[str, Any]:
    for section in ("outputs", "inputs"):
        metadata = _plain((resource.get(section) or {}).get("metadata"))
        if isinstance(metadata, Mapping) and metadata.get("name"):
            return metadata
    return {}


def stack_state_from_export(document: Mapping[str, Any]) -> StackState:
    """The Kubernetes objects and value readers of an exported deployment (``pulumi stack export`` JSON).

    Pending operations (an interrupted run) are not objects of the state: Pulumi does not delete them.
    """
    resources = (document.get("deployment") or {}).get("resources") or []
    objects: list[StateObject] = []
    values: list[StateValue] = []
    for resource in resources:
        kind = _KUBERNETES_KINDS.get(resource.get("type", ""))
        if kind is not None:
            metadata = _metadata(resource)
            if metadata:
                inputs = resource.get("inputs") or {}
                asked = _plain(inputs.get("metadata"))
                annotations = (asked.get("annotations") if isinstance(asked, Mapping) else None) or {}
                objects.append(
                    StateObject(kind, str(metadata.get("namespace") or ""), str(metadata["name"]), resource.get("urn", ""),
                                str(metadata.get("uid") or ""),
                                annotations={str(k): str(v) for k, v in annotations.items()} if isinstance(annotations, Mapping) else {},
                                has_data=kind in _DATA_KINDS and inputs.get("data") is not None)
                )
        elif resource.get("type") == SOURCE_VALUES_TYPE:
            outputs = resource.get("outputs") or {}
            items, keys = _plain(outputs.get("items")), _plain(outputs.get("keys"))
            held = _plain(outputs.get("held"))
            held = held if isinstance(held, Mapping) else {}
            if isinstance(items, Mapping) and isinstance(keys, Mapping):
                for name, item in items_of({"items": items}).items():
                    # The version whose data the reader holds: the one asked for, unless ``held`` names another.
                    arn, version, stamp = held.get(name) or (item["arn"], item["version"], item["stamp"])
                    asked = (str(item["arn"]), str(item["version"]), str(item["stamp"] or "")) if name in held else None
                    known = keys.get(name)
                    if isinstance(arn, str) and isinstance(version, str) and version and isinstance(known, list):
                        stamp = stamp if isinstance(stamp, str) else None
                        values.append(StateValue(arn, version, tuple(sorted(str(k) for k in known)), str(name), stamp, asked))
        elif resource.get("type") == SOURCE_VALUE_TYPE:
            outputs = resource.get("outputs") or {}
            item = _plain(outputs.get("item"))  # what the reader read (an earlier shape had it at the top level)
            what = item if isinstance(item, Mapping) else outputs
            arn, version, keys = _plain(what.get("arn")), _plain(what.get("version")), _plain(outputs.get("keys"))
            if isinstance(arn, str) and isinstance(version, str) and isinstance(keys, list):
                values.append(StateValue(arn, version, tuple(sorted(str(k) for k in keys))))
    return StackState(tuple(sorted(objects)), tuple(values), _written(document))


def _written(document: Mapping[str, Any]) -> float | None:
    """The time of the deployment's manifest (when the state was last written), epoch seconds; None if not there."""
    manifest = (document.get("deployment") or {}).get("manifest") or {}
    found = _MANIFEST_TIME.match(str(manifest.get("time") or "")) if isinstance(manifest, Mapping) else None
    if found is None:
        return None
    whole, fraction, zone = found.groups()
    try:
        stamp = dt.datetime.fromisoformat(f"{whole}{(fraction or '')[:7]}{'+00:00' if zone in ('Z', 'z') else zone}")
    except ValueError:
        return None
    return stamp.timestamp() if stamp.tzinfo is not None else None


def checkpoint_file(backend_url: str | None, stack: str) -> Path | None:
    """The file holding stack ``organization/project/name``'s checkpoint in a local file backend, or None when
    the backend is not one this reads directly (another scheme, a URL with options, the legacy layout, a
    compressed form other than gzip) or the file is not there: then ``pulumi stack export`` reads it.

    The layout is the CLI's (pulumi/pkg/backend/diy: ``.pulumi/meta.yaml`` version 1, the checkpoint at
    ``.pulumi/stacks/<project>/<name>.json``, or ``.json.gz`` when ``PULUMI_DIY_BACKEND_GZIP`` is set; the
    newest of them when there are several).
    """
    if not backend_url or not backend_url.startswith("file://"):
        return None
    url = urlsplit(backend_url)
    parts = stack.split("/")
    if url.query or url.fragment or url.netloc not in ("", "~") or len(parts) != 3:
        return None
    root = Path(os.path.expanduser(url.netloc + unquote(url.path)))
    try:
        meta = yaml.safe_load((root / ".pulumi" / "meta.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(meta, Mapping) or meta.get("version") != 1:
        return None
    base = root / ".pulumi" / "stacks" / parts[1] / f"{parts[2]}.json"
    found = [path for path in (base, base.with_name(base.name + ".gz")) if path.is_file()]
    if not found or (base.with_name(base.name + ".zst")).exists():
        return None
    return max(found, key=lambda path: path.stat().st_mtime_ns)


def _deployment_of_checkpoint(path: Path) -> Mapping[str, Any] | None:
    """The export document (``{"version": 3, "deployment": ...}``) of a checkpoint file, or None if its format is
    not the one this reads (checkpoint version 3)."""
    raw = path.read_bytes()
    document = json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    if not isinstance(document, Mapping) or document.get("version") != 3 or not isinstance(document.get("checkpoint"), Mapping):
        return None
    return {"version": 3, "deployment": document["checkpoint"].get("latest") or {}}


def _stat(path: Path) -> tuple[int, int, int]:
    found = path.stat()
    return found.st_mtime_ns, found.st_size, found.st_ino


class PulumiStackState:
    """Reads one stack's state: from its checkpoint file in a local file backend, else through the Pulumi CLI
    found on PATH, in the project directory ``cwd``."""

    def __init__(self, stack: str, cwd: str = ".", command: str = "pulumi", backend_url: str | None = None) -> None:
        self.stack = stack
        self.cwd = cwd
        self.command = command
        self.backend_url = os.environ.get("PULUMI_BACKEND_URL") if backend_url is None else backend_url
        self._early: tuple[threading.Thread, list[StackState | StateUnavailableError]] | None = None
        self._read: StackState | None = None
        self._file: tuple[Path, tuple[int, int, int]] | None = None  # the checkpoint file read, and its stat then

    def start(self) -> PulumiStackState:
        """Start the export now, in the background: it takes the CLI about a second, which the program
        spends meanwhile listing the source and the cluster. ``read`` then waits for it."""
        box: list[StackState | StateUnavailableError] = []

        def export() -> None:
            try:
                box.append(self._export())
            except StateUnavailableError as err:
                box.append(err)

        thread = threading.Thread(target=export, name="stack-export", daemon=True)
        thread.start()
        self._early = (thread, box)
        return self

    def _unavailable(self, reason: str) -> StateUnavailableError:
        return StateUnavailableError(f"cannot read the state of stack {self.stack!r} with `{self.command} stack export`: {reason}")

    def read(self) -> StackState:
        """The state (the same one on every call once it was read)."""
        if self._read is not None:
            return self._read
        if self._early is not None:
            thread, box = self._early
            self._early = None
            thread.join()
            if box and isinstance(box[0], StateUnavailableError):
                raise box[0]
            if box and isinstance(box[0], StackState):
                self._read = box[0]
                return self._read
        self._read = self._export()
        return self._read

    def unchanged(self) -> bool:
        """Whether this state (read now, if it was not) came from the stack's checkpoint file and that file is still
        the same (path, size, inode and modification time): then it is the state as it is now. False for a state
        read through ``pulumi stack export`` or that could not be read."""
        try:
            self.read()
        except StateUnavailableError:
            return False
        if self._file is None or checkpoint_file(self.backend_url, self.stack) != self._file[0]:
            return False
        try:
            return _stat(self._file[0]) == self._file[1]
        except OSError:
            return False

    def _export(self) -> StackState:
        path = checkpoint_file(self.backend_url, self.stack)
        if path is not None:
            try:
                before = _stat(path)  # taken first: a write during the read shows as a change afterwards
                document = _deployment_of_checkpoint(path)
                if document is not None:
                    self._file = (path, before)
                    return stack_state_from_export(document)
            except (OSError, ValueError, EOFError, AttributeError, TypeError):
                raise StateUnavailableError(f"the state of stack {self.stack!r} in {path} is not a valid checkpoint") from None
        return self._cli_export()

    def _cli_export(self) -> StackState:
        try:
            done = subprocess.run(
                [self.command, "stack", "export", "--stack", self.stack, "--non-interactive"],
                capture_output=True, text=True, cwd=self.cwd, timeout=EXPORT_TIMEOUT_SECONDS, check=False,
                env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"},
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise self._unavailable(str(err)) from None
        if done.returncode != 0:
            lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
            raise self._unavailable(lines[-1] if lines else f"exit code {done.returncode}")
        try:
            return stack_state_from_export(json.loads(done.stdout))
        except (ValueError, AttributeError, TypeError):
            raise StateUnavailableError(f"the state of stack {self.stack!r} is not a valid export") from None
