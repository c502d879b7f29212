#!/usr/bin/env python3
"""Seed LocalStack (or moto) with a demo data set that has every kind of item the project must handle.

    .venv/bin/python scripts/seed_demo.py [--endpoint URL] [--region R] [--update [--revision N]]
                                          [--prefix P] [--task-defs-dir DIR] [--arn-task-defs-dir DIR]

Items (DEMO_SECRETS, DEMO_PARAMETERS below) cover: plain string and JSON secrets (a non-string field and a
field literally named "value"), a binary secret with non-UTF-8 bytes, names with '/', '.', '_', uppercase,
a name ending in a real "-config" part (KECS bug 2), SSM String / SecureString / StringList and
hierarchical parameters. KECS pods can be served every one of them, so a demo run has nothing to warn about.

--edge-cases adds the items no KECS pod can be served (EDGE_SECRETS, EDGE_PARAMETERS, EDGE_TASK_DEFINITIONS):
two pairs of names that KECS turns into one name, a name with '+', '=', '@' and a name longer than
Kubernetes allows, with task definitions that reference them. The run names each in a warning. They stay
in LocalStack once seeded (`make clean` resets it); a seed without --edge-cases removes only their task
definitions.

Idempotent: an existing item is left as it is unless --update is given; then its value is written again
(PutSecretValue / PutParameter Overwrite), which makes a new version. --revision N appends "-rN" to every
string value (binary: one more byte), so an update really changes the values (change-propagation tests).
--prefix P puts every name under a prefix (tests use it to stay isolated): "P" + name for secrets and bare
parameters, "/" + "P" + rest for hierarchical parameters.

ECS task definitions (the shape of `aws ecs register-task-definition --cli-input-json`) are written twice:
  --task-defs-dir (default examples/task-definitions/): only the forms whose text is the same on every run
      (SSM parameter ARNs, bare parameter names with and without '/'), so these files can be committed.
  --arn-task-defs-dir (default .state/seed/task-definitions/): the Secrets Manager forms, which need the
      full secret ARN. Its 6-character suffix is random and changes whenever LocalStack is reset, so those
      files are rewritten from the real ARNs at every seed and live in the (git-ignored) state dir.
Either can be turned off with an empty string.

Values are never printed: only names, kinds and what was done.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kecs_secrets.errors import ConfigError, KecsSecretsError, SourceUnavailableError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class DemoSecret:
    """A Secrets Manager secret. `value` is str (plain), dict (stored as a JSON object) or bytes (SecretBinary)."""

    name: str
    value: str | dict[str, Any] | bytes
    description: str

    @property
    def kind(self) -> str:
        if isinstance(self.value, bytes):
            return "binary"
        return "json" if isinstance(self.value, dict) else "string"


@dataclass(frozen=True)
class DemoParameter:
    """An SSM parameter. `type` is String, SecureString or StringList (value comma-separated)."""

    name: str
    type: str
    value: str
    description: str


# Demo values are obviously fake and deterministic; they are still treated as secrets (never printed).
DEMO_SECRETS: tuple[DemoSecret, ...] = (
    DemoSecret(
        "myapp/prod/db.v2",
        {
            "username": "app_user",
            "password": "demo-db-password",
            "host": "db.internal",
            "port": 5432,
            "ssl": True,
            "value": "a field literally named value",
        },
        "JSON object: several fields, non-string fields (port, ssl) and a field named 'value'; '/' and '.'",
    ),
    DemoSecret("app-config", "demo-app-config", "plain string; the name ends in a real '-config' part (not an ARN suffix)"),
    DemoSecret("demo/binary-blob", b"\x00\x01kecs\xff\xfe\x80\xc3\x28binary", "SecretBinary, not valid UTF-8"),
    DemoSecret("demo/json-array", "[1, 2, 3]", "valid JSON that is not an object (json-key selectors must fail cleanly)"),
)

DEMO_PARAMETERS: tuple[DemoParameter, ...] = (
    DemoParameter("/app/db/password", "SecureString", "demo-ssm-db-password", "hierarchical SecureString"),
    DemoParameter("/app/db/host", "String", "db.internal", "hierarchical String"),
    DemoParameter("/app/db/pool/size", "String", "10", "deeper hierarchy (recursive GetParametersByPath)"),
    DemoParameter("/app/feature-flags", "StringList", "beta-ui,fast-path,audit", "StringList"),
    DemoParameter("app-param", "String", "demo-app-param", "bare name without '/'"),
    DemoParameter("/myapp/prod/api.key", "SecureString", "demo-api-key", "'.' in a hierarchical name"),
    DemoParameter("/config/LOG_LEVEL", "String", "info", "uppercase and '_'"),
)

# Items no KECS pod can be served (seeded with --edge-cases only): the run warns about each.
EDGE_SECRETS: tuple[DemoSecret, ...] = (
    DemoSecret("App/DB_pass", "demo-db-pass-upper", "uppercase + '_'; KECS names it as it names app/db-pass"),
    DemoSecret("app/db-pass", "demo-db-pass-lower", "KECS names it as it names App/DB_pass"),
    DemoSecret("ops+alerts=main@team.example", "demo-alerts-token", "'+', '=', '@', '.' in the name"),
    DemoSecret("demo/long/" + "very-long-segment-" * 16 + "end", "demo-long-name", "name longer than 253 characters"),
)

EDGE_PARAMETERS: tuple[DemoParameter, ...] = (
    DemoParameter("/App/DB_pass", "SecureString", "demo-ssm-pass-upper", "KECS names it as it names /app/db-pass"),
    DemoParameter("/app/db-pass", "SecureString", "demo-ssm-pass-lower", "KECS names it as it names /App/DB_pass"),
)

# Which items each task definition consumes. "sm" forms need the real ARN (written to the state dir);
# "ssm" forms are deterministic (written to examples/). Each entry: (env var, item name, form[, json key]).
#   sm-arn       full secret ARN with its 6-char suffix
#   sm-arn-key   full ARN + ":<json-key>::"  (json key, default version stage)
#   sm-arn-stage full ARN + ":<json-key>:AWSCURRENT:"
#   ssm-arn      arn:aws:ssm:<region>:<account>:parameter/<path>
#   ssm-name     the parameter's bare name, as stored ("/app/db/password" or "app-param")
STATIC_TASK_DEFINITIONS: dict[str, dict[str, list[tuple[str, ...]]]] = {
    "demo-web": {
        "web": [
            ("DB_PASSWORD", "/app/db/password", "ssm-name"),
            ("APP_PARAM", "app-param", "ssm-name"),
            ("FEATURE_FLAGS", "/app/feature-flags", "ssm-arn"),
            ("API_KEY", "/myapp/prod/api.key", "ssm-arn"),
        ],
        "log-router": [
            ("LOG_LEVEL", "/config/LOG_LEVEL", "ssm-name"),
            ("DB_HOST", "/app/db/host", "ssm-arn"),
        ],
    },
}

ARN_TASK_DEFINITIONS: dict[str, dict[str, list[tuple[str, ...]]]] = {
    "demo-api": {
        "api": [
            ("DB_SECRET", "myapp/prod/db.v2", "sm-arn"),
            ("DB_USER", "myapp/prod/db.v2", "sm-arn-key", "username"),
            ("DB_PASSWORD", "myapp/prod/db.v2", "sm-arn-stage", "password"),
            ("APP_CONFIG", "app-config", "sm-arn"),
            ("API_KEY", "/myapp/prod/api.key", "ssm-arn"),
            ("DB_HOST", "/app/db/host", "ssm-name"),
        ],
        "worker": [
            ("BLOB", "demo/binary-blob", "sm-arn"),
            ("DB_PORT", "myapp/prod/db.v2", "sm-arn-key", "port"),
        ],
    },
}

# Written with --edge-cases only, to the ARN directory (they need the secret ARNs).
EDGE_TASK_DEFINITIONS: dict[str, dict[str, list[tuple[str, ...]]]] = {
    "demo-collisions": {
        "app": [
            ("PASS_UPPER", "/App/DB_pass", "ssm-name"),
            ("PASS_LOWER", "/app/db-pass", "ssm-arn"),
            ("SM_PASS_UPPER", "App/DB_pass", "sm-arn"),
            ("SM_PASS_LOWER", "app/db-pass", "sm-arn"),
        ],
    },
    # KECS's name for this secret keeps '+', '=', '@': the API server refuses a pod that references it.
    "demo-alerts": {
        "alerts": [("ALERTS_TOKEN", "ops+alerts=main@team.example", "sm-arn")],
    },
}


def prefixed_secret(prefix: str, name: str) -> str:
    return prefix + name


def prefixed_parameter(prefix: str, name: str) -> str:
    return "/" + prefix + name[1:] if name.startswith("/") else prefix + name


def revised(value: str | dict[str, Any] | bytes, revision: int | None) -> str | bytes:
    """The value as stored: JSON objects serialised, and the revision marker applied."""
    if isinstance(value, bytes):
        return value if revision is None else value + bytes([revision % 256])
    text = json.dumps(value, sort_keys=True) if isinstance(value, dict) else value
    if revision is None:
        return text
    if isinstance(value, dict):
        return json.dumps({k: (f"{v}-r{revision}" if isinstance(v, str) else v) for k, v in value.items()}, sort_keys=True)
    return f"{text}-r{revision}"


def _code(err: Exception) -> str:
    return getattr(err, "response", {}).get("Error", {}).get("Code", "")


def _describe_or_none(sm: Any, name: str) -> dict[str, Any] | None:
    try:
        return sm.describe_secret(SecretId=name)
    except Exception as err:
        if _code(err) == "ResourceNotFoundException":
            return None
        raise


def seed_secret(sm: Any, item: DemoSecret, name: str, *, update: bool, revision: int | None) -> tuple[str, str]:
    """Create or (with update) rewrite one secret. Returns (ARN, what was done)."""
    value = revised(item.value, revision)
    payload = {"SecretBinary": value} if isinstance(value, bytes) else {"SecretString": value}
    try:
        arn = sm.create_secret(Name=name, Description=item.description, **payload)["ARN"]
        return arn, "created"
    except Exception as err:
        if _code(err) == "InvalidRequestException":
            # The one InvalidRequest we can mend: the name is scheduled for deletion (an earlier cleanup
            # without ForceDeleteWithoutRecovery). Anything else is a real error.
            described = _describe_or_none(sm, name)
            if not (described and described.get("DeletedDate")):
                raise
            sm.restore_secret(SecretId=name)
            sm.put_secret_value(SecretId=name, **payload)
            return described["ARN"], "restored"
        if _code(err) != "ResourceExistsException":
            raise
    described = sm.describe_secret(SecretId=name)
    if not update:
        return described["ARN"], "exists, left as is"
    sm.put_secret_value(SecretId=name, **payload)
    return described["ARN"], "updated"


def seed_parameter(ssm: Any, item: DemoParameter, name: str, *, update: bool, revision: int | None) -> str:
    value = revised(item.value, revision)
    assert isinstance(value, str)
    try:
        ssm.put_parameter(Name=name, Type=item.type, Value=value, Description=item.description, Overwrite=False)
        return "created"
    except Exception as err:
        if _code(err) != "ParameterAlreadyExists":
            raise
    if not update:
        return "exists, left as is"
    # Overwrite may not be combined with tags; Type must stay what it was (LocalStack/AWS reject a change
    # of type only for some combinations; the demo never changes types).
    ssm.put_parameter(Name=name, Type=item.type, Value=value, Overwrite=True)
    return "updated"


def value_from(form: str, name: str, key: str | None, *, arns: dict[str, str], region: str, account: str) -> str:
    if form == "sm-arn":
        return arns[name]
    if form == "sm-arn-key":
        return f"{arns[name]}:{key}::"
    if form == "sm-arn-stage":
        return f"{arns[name]}:{key}:AWSCURRENT:"
    if form == "ssm-arn":
        return f"arn:aws:ssm:{region}:{account}:parameter/{name.lstrip('/')}"
    if form == "ssm-name":
        return name
    raise ConfigError(f"demo task definitions: unknown valueFrom form {form!r}")


class _Resolver:
    """Turns (form, demo item name, json key) into a valueFrom for the prefixed, real item."""

    def __init__(self, *, prefix: str, arns: dict[str, str], region: str, account: str) -> None:
        self.prefix, self.arns, self.region, self.account = prefix, arns, region, account

    def __call__(self, form: str, name: str, key: str | None) -> str:
        real = prefixed_secret(self.prefix, name) if form.startswith("sm-") else prefixed_parameter(self.prefix, name)
        return value_from(form, real, key, arns=self.arns, region=self.region, account=self.account)


def task_definition(family: str, containers: dict[str, list[tuple[str, ...]]], *, resolve: _Resolver) -> dict[str, Any]:
    """One `register-task-definition --cli-input-json` document; `resolve(form, name, key)` gives each valueFrom."""
    return {
        "family": family,
        "executionRoleArn": f"arn:aws:iam::{resolve.account}:role/ecsTaskExecutionRole",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [
            {
                "name": container,
                "image": "public.ecr.aws/docker/library/busybox:stable",
                "essential": index == 0,
                "command": ["sh", "-c", "sleep 3600"],
                "secrets": [
                    {"name": env, "valueFrom": resolve(form, name, rest[0] if rest else None)} for env, name, form, *rest in entries
                ],
            }
            for index, (container, entries) in enumerate(containers.items())
        ],
    }


def write_task_definitions(directory: str, defs: dict[str, dict[str, list[tuple[str, ...]]]], resolve: _Resolver) -> list[str]:
    os.makedirs(directory, exist_ok=True)
    written = []
    for family, containers in defs.items():
        family_name = resolve.prefix + family
        path = os.path.join(directory, f"{family_name}.json")
        text = json.dumps(task_definition(family_name, containers, resolve=resolve), indent=2) + "\n"
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
        written.append(path)
    return written


def clients(endpoint: str, region: str) -> tuple[Any, Any, Any]:
    import boto3  # the project's .venv has it; imported here so the data above imports without boto3

    kw = {"endpoint_url": endpoint, "region_name": region, "aws_access_key_id": "test", "aws_secret_access_key": "test"}
    return boto3.client("secretsmanager", **kw), boto3.client("ssm", **kw), boto3.client("sts", **kw)


def seed(
    endpoint: str,
    region: str,
    *,
    prefix: str = "",
    update: bool = False,
    revision: int | None = None,
    task_defs_dir: str = "",
    arn_task_defs_dir: str = "",
    edge_cases: bool = False,
    out=sys.stdout,
) -> dict[str, str]:
    """Seed everything (with ``edge_cases``, the EDGE_ items too); return {secret name: ARN}.
    Prints one line per item (names only)."""
    sm, ssm, sts = clients(endpoint, region)
    account = sts.get_caller_identity()["Account"]
    arns: dict[str, str] = {}
    for item in DEMO_SECRETS + (EDGE_SECRETS if edge_cases else ()):
        name = prefixed_secret(prefix, item.name)
        arns[name], done = seed_secret(sm, item, name, update=update, revision=revision)
        print(f"secret     {item.kind:<12} {name}: {done}", file=out)
    for param in DEMO_PARAMETERS + (EDGE_PARAMETERS if edge_cases else ()):
        name = prefixed_parameter(prefix, param.name)
        done = seed_parameter(ssm, param, name, update=update, revision=revision)
        print(f"parameter  {param.type:<12} {name}: {done}", file=out)
    resolve = _Resolver(prefix=prefix, arns=arns, region=region, account=account)
    arn_defs = ARN_TASK_DEFINITIONS | (EDGE_TASK_DEFINITIONS if edge_cases else {})
    for directory, defs in ((task_defs_dir, STATIC_TASK_DEFINITIONS), (arn_task_defs_dir, arn_defs)):
        if directory:
            for path in write_task_definitions(directory, defs, resolve):
                print(f"task definition  {path}", file=out)
    if arn_task_defs_dir and not edge_cases:
        for family in EDGE_TASK_DEFINITIONS:
            path = os.path.join(arn_task_defs_dir, f"{prefix}{family}.json")
            if os.path.exists(path):
                os.remove(path)
                print(f"task definition  {path}: removed (an edge case; seed with --edge-cases to keep it)", file=out)
    return arns


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", default=os.environ.get("LOCALSTACK_ENDPOINT", "http://127.0.0.1:4566"))
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--prefix", default="", help="put every name under this prefix (no '/'; tests use it)")
    parser.add_argument("--update", action="store_true", help="rewrite the values of items that exist (new versions)")
    parser.add_argument("--revision", type=int, default=None, help="append -rN to values (with --update: real changes)")
    parser.add_argument(
        "--task-defs-dir",
        default=os.path.join(ROOT, "examples", "task-definitions"),
        help="deterministic task definitions (SSM ARNs, bare names); '' to skip",
    )
    parser.add_argument(
        "--arn-task-defs-dir",
        default=os.path.join(ROOT, ".state", "seed", "task-definitions"),
        help="task definitions with the real Secrets Manager ARNs; '' to skip",
    )
    parser.add_argument("--edge-cases", action="store_true", help="also the items no KECS pod can be served (the run warns)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if "/" in args.prefix:
        parser.error("--prefix must not contain '/'")
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        try:
            seed(
                args.endpoint,
                args.region,
                prefix=args.prefix,
                update=args.update,
                revision=args.revision,
                task_defs_dir=args.task_defs_dir,
                arn_task_defs_dir=args.arn_task_defs_dir,
                edge_cases=args.edge_cases,
            )
        except (BotoCoreError, ClientError) as err:
            code = getattr(err, "response", {}).get("Error", {}).get("Code") or type(err).__name__
            raise SourceUnavailableError(f"cannot seed {args.endpoint}: {code}") from None
        except OSError as err:
            raise ConfigError(f"cannot write task definitions to {err.filename!r}: {err.strerror}") from None
    except KecsSecretsError as err:
        print(f"{type(err).__name__}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
