"""The LocalStack harness against real LocalStack: the calls and behaviours the provider relies on.

Each test works under its own name root (tests.support.localstack.isolated_names) and deletes what it made.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.localstack import (
    ACCOUNT,
    ROOT,
    SCRIPT,
    IsolatedNames,
    aws_client,
    ensure_localstack,
    isolated_names,
    probe,
    wanted_emulator,
)

NON_UTF8 = b"\x00\x01kecs\xff\xfe\x80\xc3\x28"


@pytest.fixture(scope="module")
def endpoint() -> str:
    return ensure_localstack()


@pytest.fixture
def sm(endpoint):
    client = aws_client("secretsmanager", endpoint)
    yield client
    client.close()


@pytest.fixture
def ssm(endpoint):
    client = aws_client("ssm", endpoint)
    yield client
    client.close()


@pytest.fixture
def names(request, endpoint):
    with isolated_names(request.node.name, endpoint) as isolated:
        yield isolated


def current_version(sm, name: str) -> tuple[str, dict[str, list[str]]]:
    """(AWSCURRENT version id, SecretVersionsToStages) of one secret, read from ListSecrets (no value read)."""
    listed = [s for page in sm.get_paginator("list_secrets").paginate() for s in page["SecretList"] if s["Name"] == name]
    assert len(listed) == 1, f"{name} listed {len(listed)} times"
    stages = listed[0]["SecretVersionsToStages"]
    return next(v for v, s in stages.items() if "AWSCURRENT" in s), stages


def test_harness_finds_a_healthy_emulator(endpoint):
    assert probe(endpoint) == wanted_emulator()  # LocalStack unless moto is opted in
    sts = aws_client("sts", endpoint)
    assert sts.get_caller_identity()["Account"] == ACCOUNT
    sts.close()


def test_string_and_binary_secrets_round_trip(sm, names: IsolatedNames):
    text_name, blob_name = names.secret("app/db.v2"), names.secret("blob")
    text = sm.create_secret(Name=text_name, SecretString=json.dumps({"user": "u", "port": 5432, "value": "v"}))
    blob = sm.create_secret(Name=blob_name, SecretBinary=NON_UTF8)

    # An ARN is the name plus '-' and exactly 6 random characters: the only place that suffix exists.
    assert re.fullmatch(rf"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{re.escape(text_name)}-[A-Za-z0-9]{{6}}", text["ARN"])
    assert json.loads(sm.get_secret_value(SecretId=text["ARN"])["SecretString"])["port"] == 5432
    got = sm.get_secret_value(SecretId=blob_name)
    assert got["SecretBinary"] == NON_UTF8
    assert "SecretString" not in got
    assert sm.describe_secret(SecretId=blob["ARN"])["Name"] == blob_name


def test_list_secrets_paginates_with_max_results(sm, names: IsolatedNames):
    created = {names.secret(f"page/item-{i:02d}") for i in range(12)}
    for name in sorted(created):
        sm.create_secret(Name=name, SecretString="x")

    pages = list(sm.get_paginator("list_secrets").paginate(PaginationConfig={"PageSize": 5}))
    seen = [s["Name"] for page in pages for s in page["SecretList"]]
    assert len(pages) >= 3
    assert all(len(page["SecretList"]) <= 5 for page in pages)
    assert len(seen) == len(set(seen)), "a secret was listed on two pages"
    assert created <= set(seen)


def test_put_secret_value_moves_awscurrent_in_list_secrets(sm, names: IsolatedNames):
    name = names.secret("rotating")
    sm.create_secret(Name=name, SecretString="first")
    before, _ = current_version(sm, name)

    put = sm.put_secret_value(SecretId=name, SecretString="second")
    after, stages = current_version(sm, name)

    assert after == put["VersionId"] != before
    assert "AWSPREVIOUS" in stages[before]
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"] == "first"


def test_describe_parameters_version_increments_on_overwrite(ssm, names: IsolatedNames):
    name = names.parameter("/app/level")

    def version() -> int:
        found = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"]
        assert [p["Name"] for p in found] == [name]
        return found[0]["Version"]

    ssm.put_parameter(Name=name, Type="String", Value="one")
    assert version() == 1
    ssm.put_parameter(Name=name, Type="String", Value="two", Overwrite=True)
    assert version() == 2
    assert ssm.get_parameter(Name=f"{name}:1")["Parameter"]["Value"] == "one"


def test_get_parameters_by_path_recursive_with_decryption(ssm, names: IsolatedNames):
    items = {
        names.parameter("/app/db/password"): ("SecureString", "s3cret-demo"),
        names.parameter("/app/db/host"): ("String", "db.internal"),
        names.parameter("/app/db/pool/size"): ("String", "10"),
        names.parameter("/app/feature-flags"): ("StringList", "a,b,c"),
    }
    for name, (kind, value) in items.items():
        ssm.put_parameter(Name=name, Type=kind, Value=value)

    path = names.parameter("/app")
    pages = ssm.get_paginator("get_parameters_by_path").paginate(Path=path, Recursive=True, WithDecryption=True)
    found = {p["Name"]: (p["Type"], p["Value"]) for page in pages for p in page["Parameters"]}
    assert found == items

    direct = ssm.get_parameters_by_path(Path=path, Recursive=False)["Parameters"]
    assert [p["Name"] for p in direct] == [names.parameter("/app/feature-flags")]


def test_last_changed_dates_are_epoch_floats_on_the_wire_and_aware_datetimes_in_boto3(sm, ssm, names: IsolatedNames):
    secret, param = names.secret("dated"), names.parameter("/dated")
    sm.create_secret(Name=secret, SecretString="x")
    ssm.put_parameter(Name=param, Type="String", Value="x")
    raw: dict[str, dict] = {}

    def keep_raw(http_response, model, **_):
        raw[model.name] = json.loads(http_response.content)

    sm.meta.events.register("after-call.secrets-manager.ListSecrets", keep_raw)
    listed = sm.list_secrets(Filters=[{"Key": "name", "Values": [secret]}])["SecretList"]
    described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [param]}])["Parameters"]

    changed, modified = listed[0]["LastChangedDate"], described[0]["LastModifiedDate"]
    # KECS bug 11: the JSON protocol carries epoch seconds as numbers (e.g. 1755005925.233) ...
    assert isinstance(raw["ListSecrets"]["SecretList"][0]["LastChangedDate"], int | float)
    # ... which boto3 turns into timezone-aware datetime.datetime (tzinfo=tzlocal()); normalise with astimezone(UTC).
    now = datetime.now(UTC)
    for stamp in (changed, modified):
        assert isinstance(stamp, datetime)
        assert stamp.tzinfo is not None
        assert abs(stamp.astimezone(UTC) - now) < timedelta(minutes=5)


def test_seed_demo_is_idempotent_and_its_committed_task_definitions_are_deterministic(endpoint, sm, tmp_path):
    with isolated_names("seed", endpoint) as names:
        prefix = names.root + "-"

        def seed(*extra: str, run: str) -> str:
            done = subprocess.run(
                [sys.executable, os.path.join(ROOT, "scripts", "seed_demo.py"), "--endpoint", endpoint, "--prefix", prefix,
                 "--task-defs-dir", str(tmp_path / run / "static"), "--arn-task-defs-dir", str(tmp_path / run / "arn"), *extra],
                capture_output=True, text=True, check=True, timeout=120,
            )  # fmt: skip
            return done.stdout

        first = seed(run="1")
        assert "demo-db-password" not in first  # values are never printed
        assert "DB_pass" not in first and "ops+alerts" not in first  # the edge cases only on request
        second = seed("--edge-cases", run="2")
        assert "updated" not in second
        assert [line for line in second.splitlines() if "created" in line] == [
            line for line in second.splitlines() if any(edge in line for edge in ("DB_pass", "db-pass", "ops+alerts", "very-long"))
        ]
        assert "created" not in seed("--edge-cases", run="2")

        static = sorted(p.name for p in (tmp_path / "1" / "static").iterdir())
        assert static == [f"{prefix}demo-web.json"]
        for file in static:
            assert (tmp_path / "1" / "static" / file).read_text() == (tmp_path / "2" / "static" / file).read_text()
        arn_files = {run: sorted(p.name for p in (tmp_path / run / "arn").iterdir()) for run in ("1", "2")}
        assert arn_files == {"1": [f"{prefix}demo-api.json"],
                             "2": [f"{prefix}{f}.json" for f in ("demo-alerts", "demo-api", "demo-collisions")]}  # fmt: skip
        # Without --edge-cases again: their task definitions go, nothing else does.
        again = seed(run="2")
        assert again.count(": removed") == 2
        assert sorted(p.name for p in (tmp_path / "2" / "arn").iterdir()) == [f"{prefix}demo-api.json"]

        db = f"{prefix}myapp/prod/db.v2"
        arn = sm.describe_secret(SecretId=db)["ARN"]
        api = json.loads((tmp_path / "2" / "arn" / f"{prefix}demo-api.json").read_text())
        refs = {s["name"]: s["valueFrom"] for c in api["containerDefinitions"] for s in c["secrets"]}
        assert refs["DB_SECRET"] == arn
        assert refs["DB_USER"] == f"{arn}:username::"

        before, _ = current_version(sm, db)
        assert "updated" in seed("--update", "--revision", "2", run="3")
        after, _ = current_version(sm, db)
        assert after != before
        assert json.loads(sm.get_secret_value(SecretId=db)["SecretString"])["password"].endswith("-r2")


def test_script_starts_reports_and_stops_an_emulator_on_a_spare_port(endpoint, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "LOCALSTACK_PORT": str(port), "LOCALSTACK_STATE_DIR": str(tmp_path)}

    def script(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([SCRIPT, command], env=env, capture_output=True, text=True, timeout=300, check=False)

    started = script("start")
    try:
        assert started.returncode == 0, started.stderr
        pid = int((tmp_path / "localstack.pid").read_text())
        assert script("endpoint").stdout.strip() == f"http://127.0.0.1:{port}"
        assert probe(f"http://127.0.0.1:{port}")
        status = script("status")
        assert status.returncode == 0 and status.stdout.startswith("running")
        assert "already running" in script("start").stderr
    finally:
        stopped = script("stop")
    assert stopped.returncode == 0, stopped.stderr
    assert not (tmp_path / "localstack.pid").exists()
    assert script("status").returncode == 1
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
