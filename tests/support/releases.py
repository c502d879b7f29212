"""Earlier releases of the program, exported from this repository's history, to test upgrades from them."""

from __future__ import annotations

import secrets as random
import subprocess
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.real import ROOT, unavailable

__all__ = ["UpgradeData", "export_release", "remove_upgrade_scene", "upgrade_data"]


@dataclass
class UpgradeData:
    """An upgrade test's prefix, namespaces (the master namespace and ECS cluster namespace ``web-<p>``) and source items."""

    p: str
    master_ns: str
    web: str
    sm: Any
    ssm: Any
    arns: dict[str, str] = field(default_factory=dict)  # db, api: Secrets Manager secrets <p>/db, <p>/api
    params: list[str] = field(default_factory=list)  # the SecureString parameter /<p>/token

    def seed(self) -> None:
        for name in ("db", "api"):
            self.arns[name] = self.sm.create_secret(Name=f"{self.p}/{name}", SecretString=f"v-{random.token_hex(6)}")["ARN"]
        self.ssm.put_parameter(Name=f"/{self.p}/token", Type="SecureString", Value=f"v-{random.token_hex(6)}")
        self.params.append(f"/{self.p}/token")


def upgrade_data(kube, aws, region: str) -> UpgradeData:
    """A fresh prefix and its two namespaces (made here); ``seed()`` makes the source items."""
    p = f"e2e{random.token_hex(3)}"
    master_ns = f"{p}-system"
    kube.create_namespace(master_ns)
    web = kube.create_ecs_namespace(f"web-{p}", region)
    return UpgradeData(p, master_ns, web, aws("secretsmanager"), aws("ssm"))


def export_release(commit: str, target: Path) -> str:
    """The program as it was at ``commit``, in ``target/<commit>`` (needs the history: not a shallow clone)."""
    found = subprocess.run(["git", "-C", ROOT, "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True, check=False)
    if found.returncode != 0:
        unavailable(f"commit {commit} is not in this clone (a shallow clone?): the upgrade test needs the history")
    archive = target / f"{commit}.tar"
    subprocess.run(["git", "-C", ROOT, "archive", "-o", str(archive), commit], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(target / commit, filter="data")
    return str(target / commit)


def remove_upgrade_scene(stack, kube, namespaces, sm, arns, ssm, params) -> None:
    """What an upgrade test made: its stack, namespaces, secrets and parameters."""
    if stack is not None:
        stack.remove()
    for ns in namespaces:
        kube.delete_namespace(ns)
    for arn in arns:
        sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    if params:
        ssm.delete_parameters(Names=params)
