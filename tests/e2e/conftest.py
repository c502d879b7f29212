"""Fixtures for end-to-end tests: real LocalStack, real kube-apiserver, real Pulumi CLI."""

from __future__ import annotations

import secrets as random

import boto3
import pytest

from tests.support.cluster import KubeAdmin, start_cluster
from tests.support.localstack import ensure_localstack

REGION = "us-east-1"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def endpoint() -> str:
    return ensure_localstack()


@pytest.fixture(scope="session")
def kubeconfig() -> str:
    return start_cluster()


@pytest.fixture(scope="session")
def kube(kubeconfig) -> KubeAdmin:
    return KubeAdmin(kubeconfig)


@pytest.fixture(scope="session")
def aws(endpoint):
    def make(service: str):
        return boto3.client(
            service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test"
        )

    return make


@pytest.fixture
def prefix() -> str:
    return f"e2e{random.token_hex(3)}"
