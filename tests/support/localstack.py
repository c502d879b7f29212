"""LocalStack for tests: start one of our own, give each test its own names, delete what a test made.

    endpoint = ensure_localstack()            # a running LocalStack or skip / fail (CI=true)
    with isolated_names("my-test", endpoint) as names:
        sm = aws_client("secretsmanager", endpoint)
        sm.create_secret(Name=names.secret("db/password"), SecretString="...")
    # leaving the block deletes every secret and parameter whose name starts with names.root

The tests start their own emulator with scripts/localstack.sh (which installs it on first use, ~1.5 min) on
a port the kernel picks, with its state under this process's run_dir(), and stop it at interpreter exit.
They never use an emulator they did not start, unless told to:

    LOCALSTACK_ENDPOINT     use the emulator at this URL instead (e.g. the demo's http://127.0.0.1:4566);
                            it is never started nor stopped by the tests
    CI=true                 an emulator that cannot be had is a hard failure (LocalStackUnavailable),
                            elsewhere the tests that need it are skipped with the reason
    KECS_AWS_EMULATOR=moto  the explicit opt-in to test against moto's server instead of LocalStack (it is
                            then the only emulator accepted; without it a moto server is never used)
"""

from __future__ import annotations

import atexit
import json
import os
import re
import secrets
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.real import ROOT, free_ports, is_ci, run_dir

SCRIPT = os.path.join(ROOT, "scripts", "localstack.sh")
REGION = "us-east-1"
ACCOUNT = "000000000000"
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
REQUIRED_SERVICES = ("secretsmanager", "ssm", "sts")
INSTALL_AND_START_TIMEOUT = 1200.0  # seconds: a first install on a busy 2-core machine takes minutes

__all__ = [
    "ACCOUNT",
    "CREDENTIALS",
    "REGION",
    "IsolatedNames",
    "LocalStackUnavailable",
    "aws_client",
    "cleanup",
    "default_endpoint",
    "ensure_localstack",
    "isolated_names",
    "probe",
    "stop_started_localstack",
    "unique_root",
    "wanted_emulator",
]


class LocalStackUnavailable(RuntimeError):
    """No LocalStack could be found or started (raised under CI=true; elsewhere tests skip)."""


# ---- finding or starting the emulator -------------------------------------------------------------------


def default_endpoint() -> str | None:
    """The emulator the environment points the tests at (LOCALSTACK_ENDPOINT), or None: the tests start their own."""
    return os.environ.get("LOCALSTACK_ENDPOINT") or None


def wanted_emulator() -> str:
    """``localstack``, or ``moto`` with the explicit opt-in ``KECS_AWS_EMULATOR=moto``."""
    return "moto" if os.environ.get("KECS_AWS_EMULATOR", "") == "moto" else "localstack"


def probe(endpoint: str, timeout: float = 2.0) -> str | None:
    """'localstack' (or, opted in, 'moto') if a healthy emulator with the services we need answers at endpoint, else None."""
    if wanted_emulator() == "moto":
        try:
            with urllib.request.urlopen(f"{endpoint.rstrip('/')}/moto-api/data.json", timeout=timeout) as answer:
                answer.read()
            return "moto"
        except (OSError, ValueError):
            return None
    base = endpoint.rstrip("/")
    try:
        with urllib.request.urlopen(f"{base}/_localstack/health", timeout=timeout) as answer:
            services = json.load(answer).get("services", {})
        if all(services.get(name) in ("available", "running") for name in REQUIRED_SERVICES):
            return "localstack"
        return None
    except (OSError, ValueError):
        return None


_state: dict[str, Any] = {"endpoint": None, "failure": None, "started": None}
START_ATTEMPTS = 3  # a port picked by the kernel can be taken before the emulator binds it: start again elsewhere


def _unavailable(reason: str) -> None:
    _state["failure"] = reason
    if is_ci():
        raise LocalStackUnavailable(f"LocalStack is required under CI=true but unavailable: {reason}")
    pytest.skip(f"LocalStack unavailable: {reason}")


def _script_env(port: int, state_dir: str) -> dict[str, str]:
    return {**os.environ, "LOCALSTACK_PORT": str(port), "LOCALSTACK_STATE_DIR": state_dir}


def ensure_localstack() -> str:
    """Return the endpoint of a healthy LocalStack: LOCALSTACK_ENDPOINT's, or one started (and installed) for
    this process on a free port.

    The result (or the failure) is remembered for the rest of the process, so a missing LocalStack costs one
    attempt, not one per test.
    """
    if _state["endpoint"]:
        return _state["endpoint"]
    if _state["failure"]:
        _unavailable(_state["failure"])
    given = default_endpoint()
    if given:
        if not probe(given, timeout=5.0):
            _unavailable(f"nothing healthy answers at {given} (LOCALSTACK_ENDPOINT)")
        _state["endpoint"] = given
        return given
    failure = ""
    for attempt in range(1, START_ATTEMPTS + 1):
        (port,) = free_ports(1)
        state_dir = str(run_dir() / f"localstack-{port}")
        try:
            done = subprocess.run(
                [SCRIPT, "start"],
                env=_script_env(port, state_dir),
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=INSTALL_AND_START_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            _unavailable(f"scripts/localstack.sh start: {err}")
            raise AssertionError("unreachable") from err
        if done.returncode == 0:
            break
        failure = f"scripts/localstack.sh start (port {port}, attempt {attempt}) exited {done.returncode}:\n{done.stderr[-3000:]}"
        # Stop what it may have left (an emulator that exited or never became healthy) before trying elsewhere.
        subprocess.run([SCRIPT, "stop"], env=_script_env(port, state_dir), cwd=ROOT, capture_output=True, timeout=60, check=False)
        if "is in use" not in done.stderr:
            _unavailable(failure)
    else:
        _unavailable(failure)
    endpoint = f"http://127.0.0.1:{port}"
    _state["started"] = (port, state_dir)
    atexit.register(stop_started_localstack)
    if not probe(endpoint, timeout=5.0):
        _unavailable(f"scripts/localstack.sh start succeeded but nothing healthy answers at {endpoint}")
    _state["endpoint"] = endpoint
    return endpoint


def stop_started_localstack() -> None:
    """Stop the LocalStack that ensure_localstack started (no-op if it used LOCALSTACK_ENDPOINT's)."""
    started = _state["started"]
    if started is None:
        return
    _state["started"] = None
    _state["endpoint"] = None
    port, state_dir = started
    subprocess.run([SCRIPT, "stop"], env=_script_env(port, state_dir), cwd=ROOT, capture_output=True, timeout=60, check=False)


def aws_client(service: str, endpoint: str | None = None, region: str = REGION) -> Any:
    """A boto3 client for the emulator (test/test credentials)."""
    import boto3

    return boto3.client(service, endpoint_url=endpoint or ensure_localstack(), region_name=region, **CREDENTIALS)


# ---- isolated names and cleanup -------------------------------------------------------------------------


def unique_root(label: str = "t") -> str:
    """A fresh name root: 'kt-<8 random hex>-<label>' (letters, digits, '-': valid in SM and SSM names).

    The random part comes first so that no other root can be a prefix of this one (cleanup deletes by prefix).
    """
    clean = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")[:24].strip("-") or "t"
    return f"kt-{secrets.token_hex(4)}-{clean}"


@dataclass(frozen=True)
class IsolatedNames:
    """Names under one unique root, so tests never see each other's items.

    secret("db/password")        -> "<root>/db/password"
    parameter("/app/db/password")-> "/<root>/app/db/password"   (hierarchical; parameter_path is "/<root>")
    bare_parameter("app-param")  -> "<root>-app-param"           (an SSM name without '/')
    """

    root: str

    def secret(self, name: str) -> str:
        return f"{self.root}/{name}"

    def parameter(self, name: str) -> str:
        return f"/{self.root}/{name.lstrip('/')}"

    def bare_parameter(self, name: str) -> str:
        return f"{self.root}-{name}"

    @property
    def parameter_path(self) -> str:
        return f"/{self.root}"

    def owns(self, name: str) -> bool:
        return name.lstrip("/").startswith(self.root)


def _code(err: Exception) -> str:
    return getattr(err, "response", {}).get("Error", {}).get("Code", "")


def cleanup(names: IsolatedNames, endpoint: str | None = None, region: str = REGION) -> int:
    """Delete every secret (ForceDeleteWithoutRecovery) and parameter whose name starts with names.root,
    whoever created it (the test itself, the seed script, the code under test). Returns how many."""
    endpoint = endpoint or ensure_localstack()
    sm, ssm = aws_client("secretsmanager", endpoint, region), aws_client("ssm", endpoint, region)
    deleted = 0
    try:
        doomed = [
            s["ARN"]
            for page in sm.get_paginator("list_secrets").paginate(IncludePlannedDeletion=True)
            for s in page["SecretList"]
            if names.owns(s["Name"])
        ]
        for arn in doomed:
            try:
                sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
                deleted += 1
            except Exception as err:
                if _code(err) != "ResourceNotFoundException":
                    raise
        params = [
            p["Name"] for page in ssm.get_paginator("describe_parameters").paginate() for p in page["Parameters"] if names.owns(p["Name"])
        ]
        for start in range(0, len(params), 10):  # DeleteParameters takes at most 10 names
            deleted += len(ssm.delete_parameters(Names=params[start : start + 10]).get("DeletedParameters", []))
    finally:
        sm.close()
        ssm.close()
    return deleted


@contextmanager
def isolated_names(label: str = "t", endpoint: str | None = None, region: str = REGION) -> Iterator[IsolatedNames]:
    """Yield fresh IsolatedNames; on exit delete everything created under them."""
    names = IsolatedNames(unique_root(label))
    try:
        yield names
    finally:
        cleanup(names, endpoint, region)
