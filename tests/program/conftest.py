"""Pulumi mocks: record every resource the program registers, answer with its inputs plus fake outputs."""

from __future__ import annotations

import pulumi
import pytest

FAKE_DATA = {"value": "ZmFrZQ=="}
FAKE_KEY = "ab" * 32  # the value reader's fingerprint key (hex)


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.resources.append(args)
        outputs = dict(args.inputs)
        if args.typ == "pulumi-python:dynamic/kecs:SourceValues":
            names = list(args.inputs["items"])
            outputs.update({"values": {n: FAKE_DATA for n in names}, "fingerprints": {n: "0" * 64 for n in names},
                            "keys": {n: ["value"] for n in names}, "fingerprint_key": FAKE_KEY})
        return [f"{args.name}-id", outputs]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}

    def of_type(self, typ: str) -> list[pulumi.runtime.MockResourceArgs]:
        return [r for r in self.resources if r.typ == typ]


@pytest.fixture
def mocks() -> RecordingMocks:
    recording = RecordingMocks()
    pulumi.runtime.set_mocks(recording, project="kecs-secrets", stack="test", preview=False)
    yield recording
