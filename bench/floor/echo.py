"""A trivial dynamic resource for the benchmark's floor: it echoes its data (no I/O), changing with ``version``."""

from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult


class EchoProvider(ResourceProvider):
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=olds.get("version") != news.get("version"), replaces=[], stables=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(props["version"] or "echo", {"version": props["version"], "data": props["data"]})

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult({"version": news["version"], "data": news["data"]})


_PROVIDER = EchoProvider()


class Echo(Resource, module="floor", name="Echo"):
    data: pulumi.Output[dict[str, str]]

    def __init__(self, name: str, version: str, data: dict[str, str]) -> None:
        props = {"version": version, "data": pulumi.Output.secret(data)}
        super().__init__(_PROVIDER, name, props, pulumi.ResourceOptions(additional_secret_outputs=["data"]))
