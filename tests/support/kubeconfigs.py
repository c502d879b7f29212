"""Kubeconfigs that tests write for the control plane: other users (token, tokenFile, exec credential plugin),
other contexts, one configuration split over two files (KUBECONFIG=a:b)."""

from __future__ import annotations

import json
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

__all__ = ["ExecPlugin", "admin_cluster", "kubeconfig", "split", "write"]

EXEC_API = "client.authentication.k8s.io/v1"


def admin_cluster(admin_kubeconfig: str) -> dict[str, Any]:
    """The cluster entry (server, CA) of the admin kubeconfig scripts/cluster.sh wrote."""
    with open(admin_kubeconfig, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    return dict(config["clusters"][0]["cluster"])


def kubeconfig(cluster: Mapping[str, Any], user: Mapping[str, Any], *, context: str = "kecs-test", user_name: str = "tester") -> dict:
    """One cluster, one user, one context, the current one."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kecs-test-cluster", "cluster": dict(cluster)}],
        "users": [{"name": user_name, "user": dict(user)}],
        "contexts": [{"name": context, "context": {"cluster": "kecs-test-cluster", "user": user_name}}],
        "current-context": context,
    }


def write(path: Path, config: Mapping[str, Any]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(dict(config), sort_keys=False), encoding="utf-8")
    path.chmod(0o600)
    return str(path)


def split(config: Mapping[str, Any], first: Path, second: Path) -> str:
    """The config as two files, KUBECONFIG-style (``first:second``): clusters and the current context in the
    first, users and contexts in the second, so that neither works alone."""
    write(first, {"apiVersion": "v1", "kind": "Config", "clusters": config["clusters"], "current-context": config["current-context"]})
    write(second, {"apiVersion": "v1", "kind": "Config", "users": config["users"], "contexts": config["contexts"]})
    return f"{first}:{second}"


class ExecPlugin:
    """A small exec credential plugin: prints an ExecCredential with the bearer token kept in a file beside it,
    and logs the name of the process that ran it (the program's Python client, the Kubernetes provider)."""

    def __init__(self, directory: Path, token: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.script = directory / "kecs-test-credential"
        self.log = directory / "calls.log"
        (directory / "token").write_text(token, encoding="utf-8")
        (directory / "token").chmod(0o600)
        credential = {"apiVersion": EXEC_API, "kind": "ExecCredential", "status": {"token": "TOKEN"}}
        template = json.dumps(credential).replace('"TOKEN"', '"%s"')
        self.script.write_text(
            "#!/bin/sh\n"
            "# Test exec credential plugin: one ExecCredential (client.authentication.k8s.io/v1) on stdout.\n"
            'here=$(dirname "$0")\n'
            'cat "/proc/$PPID/comm" >>"$here/calls.log" 2>/dev/null || echo unknown >>"$here/calls.log"\n'
            f"printf '{template}\\n' \"$(cat \"$here/token\")\"\n",
            encoding="utf-8",
        )
        self.script.chmod(self.script.stat().st_mode | stat.S_IXUSR)

    @property
    def user(self) -> dict[str, Any]:
        return {"exec": {"apiVersion": EXEC_API, "command": str(self.script), "interactiveMode": "Never"}}

    def callers(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").split() if self.log.exists() else []
