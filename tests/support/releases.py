"""Earlier releases of the program, exported from this repository's history, to test upgrades from them."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

from tests.support.real import ROOT, unavailable

__all__ = ["export_release", "remove_upgrade_scene"]


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
