from __future__ import annotations

import pytest

from kecs_secrets.model import SECRETSMANAGER, SSM, Reference, SourceItem

REGION = "us-east-1"
ACCOUNT = "000000000000"


def secret(name: str, suffix: str = "AbCdEf", version: str = "v-1", changed: str = "2025-08-12T13:38:45Z") -> SourceItem:
    arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-{suffix}"
    return SourceItem(SECRETSMANAGER, name, arn, version, changed, "secret")


def parameter(name: str, item_type: str = "SecureString", version: str = "1", changed: str = "2025-08-12T13:38:45Z") -> SourceItem:
    arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{name.lstrip('/')}"
    return SourceItem(SSM, name, arn, version, changed, item_type)


def ref(namespace: str, value_from: str, origin: str = "test") -> Reference:
    return Reference(namespace, value_from, origin)


@pytest.fixture
def inventory_items() -> list[SourceItem]:
    return [
        secret("myapp/prod/db.v2", "Xy12Zq"),
        secret("app-config", "QwErTy"),
        secret("app", "config"),  # its ARN ends in "-config": the bug-2 trap
        secret("db-creds", "A1b2C3", version="cur-id"),
        parameter("/app/db/password", "SecureString"),
        parameter("/app/feature-flags", "StringList"),
        parameter("app-param", "String"),
    ]
