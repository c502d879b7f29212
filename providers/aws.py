"""boto3 clients for LocalStack or AWS, built at call time and reused within one process.

Nothing here is pickled: the dynamic provider calls :func:`client` inside its methods, so the
serialized provider never carries a client, an endpoint default or a credential. The clients of one
process come from one session, so botocore loads its shared data (endpoints, retry rules) once.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import boto3
from botocore.config import Config

__all__ = ["LOCALSTACK_DEFAULT_KEY", "client", "describe_error"]

LOCALSTACK_DEFAULT_KEY = "test"
_CLIENTS: dict[tuple[str, str, str, str], Any] = {}
_SESSION: list[boto3.session.Session] = []  # made on first use (a session may not be shared across a fork)
_LOCK = threading.Lock()
_RETRIES = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=3, read_timeout=30)


def _credentials(endpoint: str) -> dict[str, str]:
    """Credentials from the environment; LocalStack accepts any, so default to test/test there."""
    if endpoint and not os.environ.get("AWS_ACCESS_KEY_ID") and not os.environ.get("AWS_PROFILE"):
        return {"aws_access_key_id": LOCALSTACK_DEFAULT_KEY, "aws_secret_access_key": LOCALSTACK_DEFAULT_KEY}
    return {}


def client(service: str, endpoint: str, region: str) -> Any:
    """A client for ``service`` at ``endpoint`` (empty: real AWS with the usual credential chain)."""
    creds = _credentials(endpoint)
    identity = os.environ.get("AWS_ACCESS_KEY_ID", "") or os.environ.get("AWS_PROFILE", "") or creds.get("aws_access_key_id", "")
    key = (service, endpoint, region, identity)
    with _LOCK:
        found = _CLIENTS.get(key)
        if found is None:
            if not _SESSION:
                _SESSION.append(boto3.session.Session())
            found = _SESSION[0].client(service, region_name=region, endpoint_url=endpoint or None, config=_RETRIES, **creds)
            _CLIENTS[key] = found
        return found


def describe_error(err: BaseException) -> str:
    """A short, value-free description of a boto3/botocore error."""
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code", "")
        if code:
            return f"{code}"
    return type(err).__name__
