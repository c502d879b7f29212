"""The pack's requirements.txt pins what the project pins (one version of each package), and the core at its own version."""

from __future__ import annotations

import os
import re
import tomllib

from tests.policies.conftest import ROOT


def pins(path: str) -> dict[str, str]:
    found = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.split("#", 1)[0].strip()
            if line:
                name, version = line.split("==")
                found[re.sub(r"[-_.]+", "-", name).lower()] = version
    return found


def test_every_pack_requirement_is_pinned_as_the_project_pins_it():
    pack = pins(os.path.join(ROOT, "policies", "requirements.txt"))
    project = pins(os.path.join(ROOT, "requirements.lock"))
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as handle:
        meta = tomllib.load(handle)
    assert pack.pop("kecs-secrets") == meta["project"]["version"]
    assert pack.pop("setuptools") == meta["build-system"]["requires"][0].split("==")[1]
    assert {"pulumi-policy", "pulumi"} <= set(pack)
    assert {name: project.get(name) for name in pack} == pack
