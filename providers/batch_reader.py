"""Value reads in batch calls (BatchGetSecretValue, GetParameters), a few calls at a time.

The stack's one value reader (``kecs:SourceValues``) asks for every value it needs at once: the
requests go out in batches (20 secrets, 10 parameters per call) on a few threads, and each request
gets its own answer or error. A secret whose current version is not the one the inventory saw (it
changed in between) is read singly by its version id, so a replica always carries exactly the
version its annotations name.

A secret the batch call answers for with an error of its own (its KMS key disabled, a policy denying
that one secret) and whose single read then fails the same way is that secret's problem only
(``ValueShapeError``, the item's to report); a batch call that fails as a whole, throttling, a server
error or no connection stop the run (the source is unreadable, and retrying may help).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from kecs_secrets.errors import SourceGoneError, ValueShapeError
from providers.aws import client, describe_error

__all__ = ["BatchValueReader"]

_SECRET_BATCH, _PARAMETER_BATCH = 20, 10
_CALLS_AT_ONCE = 8
# Errors of one read that say the service could not answer now, not that this item cannot be read.
_RETRYABLE = {
    "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded", "InternalServiceError",
    "InternalFailure", "InternalServerError", "ServiceUnavailable", "ServiceUnavailableException", "RequestTimeout",
}

Batch = list[tuple[Any, Future]]


def _secrets(where: tuple[str, str], chunk: Batch) -> None:
    sm = client("secretsmanager", *where)
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
            future.set_exception(_single_read_error(err))


def _single_read_error(err: Exception) -> Exception:
    """What the failed single read of one secret means: the item is gone, the item cannot be read, or the source cannot."""
    from botocore.exceptions import ClientError

    code = describe_error(err)
    if code == "ResourceNotFoundException":
        return SourceGoneError(code)
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) if isinstance(err, ClientError) else 0
    if isinstance(err, ClientError) and code not in _RETRYABLE and 400 <= status < 500:
        return ValueShapeError(f"cannot be read ({code})")
    return err


def _parameters(where: tuple[str, str], chunk: Batch) -> None:
    ssm = client("ssm", *where)
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


class BatchValueReader:
    """The ValueReader port for one endpoint and region: many reads at once, in batch calls."""

    def __init__(self, endpoint: str, region: str) -> None:
        self.where = (endpoint, region)

    def read_secrets(self, requests: Sequence[tuple[str, str]]) -> list[Future]:
        """One future per ``(arn, version)``: GetSecretValue's answer, or the error for that secret."""
        return self._run(_secrets, requests, _SECRET_BATCH)

    def read_parameters(self, requests: Sequence[tuple[str, str]]) -> list[Future]:
        """One future per ``(name, version)``: GetParameters' entry (decrypted), or the error for that parameter."""
        return self._run(_parameters, requests, _PARAMETER_BATCH)

    def read_secret(self, arn: str, version: str) -> dict[str, Any]:
        return self.read_secrets([(arn, version)])[0].result()

    def read_parameter(self, name: str, version: str) -> dict[str, Any]:
        return self.read_parameters([(name, version)])[0].result()

    def _run(self, execute: Callable[[tuple[str, str], Batch], None], requests: Sequence[tuple[str, str]], size: int) -> list[Future]:
        batch: Batch = [(request, Future()) for request in requests]
        chunks = [batch[start : start + size] for start in range(0, len(batch), size)]

        def run(chunk: Batch) -> None:
            try:
                execute(self.where, chunk)
            except BaseException as err:  # the whole call failed: every request of the chunk gets the error
                for _, waiting in chunk:
                    if not waiting.done():
                        waiting.set_exception(err)

        if len(chunks) == 1:
            run(chunks[0])
        elif chunks:
            with ThreadPoolExecutor(max_workers=min(_CALLS_AT_ONCE, len(chunks)), thread_name_prefix="value-read") as pool:
                list(pool.map(run, chunks))
        return [future for _, future in batch]
