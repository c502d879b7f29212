"""Coalescing value reads into batch calls (BatchGetSecretValue, GetParameters).

Pulumi calls the dynamic provider once per resource, on up to four threads at a time. Reads that
arrive together in one process are gathered for a short window and sent as one batch call (20
secrets, 10 parameters per call); each caller gets its own answer. A secret whose current version is
not the one the inventory saw (it changed in between) is read singly by its version id, so a replica
always carries exactly the version its annotations name.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from kecs_secrets.errors import SourceGoneError
from providers.aws import client, describe_error

__all__ = ["BATCH_WINDOW_SECONDS", "BatchValueReader"]

BATCH_WINDOW_SECONDS = 0.02
_SECRET_BATCH, _PARAMETER_BATCH = 20, 10


class _Coalescer:
    def __init__(self, execute: Callable[[tuple[str, str], list[tuple[Any, Future]]], None]) -> None:
        self._execute = execute
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], list[tuple[Any, Future]]] = {}

    def submit(self, where: tuple[str, str], request: Any) -> Any:
        future: Future = Future()
        with self._lock:
            queue = self._pending.setdefault(where, [])
            queue.append((request, future))
            leader = len(queue) == 1
        if leader:
            time.sleep(BATCH_WINDOW_SECONDS)
            with self._lock:
                batch = self._pending.pop(where)
            try:
                self._execute(where, batch)
            except BaseException as err:  # the whole call failed: every caller gets the error
                for _, waiting in batch:
                    if not waiting.done():
                        waiting.set_exception(err)
        return future.result()


def _secrets(where: tuple[str, str], batch: list[tuple[Any, Future]]) -> None:
    sm = client("secretsmanager", *where)
    for start in range(0, len(batch), _SECRET_BATCH):
        chunk = batch[start : start + _SECRET_BATCH]
        answer = sm.batch_get_secret_value(SecretIdList=[arn for (arn, _), _ in chunk])
        found = {v["ARN"]: v for v in answer.get("SecretValues", [])}
        for (arn, version), future in chunk:
            value = found.get(arn)
            if value is not None and (not version or value.get("VersionId") == version):
                future.set_result(value)
                continue
            try:  # not in the batch answer, or another version is current by now
                kwargs = {"SecretId": arn, **({"VersionId": version} if version else {})}
                future.set_result(sm.get_secret_value(**kwargs))
            except Exception as err:
                code = describe_error(err)
                future.set_exception(SourceGoneError(code) if code == "ResourceNotFoundException" else err)


def _parameters(where: tuple[str, str], batch: list[tuple[Any, Future]]) -> None:
    ssm = client("ssm", *where)
    for start in range(0, len(batch), _PARAMETER_BATCH):
        chunk = batch[start : start + _PARAMETER_BATCH]
        selectors = [f"{name}:{version}" if version else name for (name, version), _ in chunk]
        answer = ssm.get_parameters(Names=sorted(set(selectors)), WithDecryption=True)
        found = {}
        for parameter in answer.get("Parameters", []):
            found[(parameter.get("Selector") and f"{parameter['Name']}{parameter['Selector']}") or parameter["Name"]] = parameter
            found.setdefault(f"{parameter['Name']}:{parameter.get('Version')}", parameter)
        for selector, (_, future) in zip(selectors, chunk, strict=True):
            parameter = found.get(selector)
            if parameter is None:
                future.set_exception(SourceGoneError("ParameterNotFound"))
            else:
                future.set_result(parameter)


_SECRETS = _Coalescer(_secrets)
_PARAMETERS = _Coalescer(_parameters)


class BatchValueReader:
    """The ValueReader port for one endpoint and region, coalescing concurrent reads into batch calls."""

    def __init__(self, endpoint: str, region: str) -> None:
        self.where = (endpoint, region)

    def read_secret(self, arn: str, version: str) -> dict[str, Any]:
        """GetSecretValue's answer for ``arn`` at ``version`` (batched with concurrent reads)."""
        return _SECRETS.submit(self.where, (arn, version))

    def read_parameter(self, name: str, version: str) -> dict[str, Any]:
        """GetParameters' entry for ``name`` at ``version``, decrypted (batched with concurrent reads)."""
        return _PARAMETERS.submit(self.where, (name, version))
