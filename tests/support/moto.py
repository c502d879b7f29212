"""moto's server (``moto[server]``, pinned in requirements.lock) as a second AWS-like environment for tests:
its own port, its own account id (MOTO_ACCOUNT_ID), state in memory, stopped when the block ends.

    with moto_server(account="111111111111") as endpoint:
        boto3.client("secretsmanager", endpoint_url=endpoint, region_name="eu-west-1", ...)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.real import free_ports, run_dir, unavailable

__all__ = ["moto_server"]

START_TIMEOUT = 60.0
START_ATTEMPTS = 3


@contextmanager
def moto_server(account: str) -> Iterator[str]:
    """Start moto_server on a free port of 127.0.0.1 answering as ``account``; yield its endpoint; stop it."""
    binary = os.path.join(os.path.dirname(sys.executable), "moto_server")
    if not os.access(binary, os.X_OK):
        unavailable(f"{binary} is missing: moto[server] is pinned in requirements.lock (make venv)")
    process, endpoint, failure = None, "", ""
    for _ in range(START_ATTEMPTS):
        (port,) = free_ports(1)
        endpoint = f"http://127.0.0.1:{port}"
        log = run_dir() / f"moto-{port}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [binary, "-H", "127.0.0.1", "-p", str(port)],
                env={**os.environ, "MOTO_ACCOUNT_ID": account},
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        while process.poll() is None and time.monotonic() < deadline and not _answers(endpoint):
            time.sleep(0.2)
        if process.poll() is None and _answers(endpoint):
            break
        failure = f"moto_server on port {port} did not answer: {log.read_text(errors='replace')[-1500:]}"
        _stop(process)
        process = None
    if process is None:
        unavailable(failure)
        raise AssertionError("unreachable")
    try:
        yield endpoint
    finally:
        _stop(process)


def _answers(endpoint: str) -> bool:
    """Whether moto's server answers at endpoint (its own API, which LocalStack does not have)."""
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=2) as answer:
            answer.read()
        return True
    except (OSError, ValueError):
        return False


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
