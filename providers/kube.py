"""A small read-only Kubernetes API client for program-time checks (no writes, ever).

The program reads the cluster before it registers anything: live pods (demand), existing
namespaces, and objects that already hold a name the stack wants. It uses the same kubeconfig
as the Kubernetes provider. Only the standard library and PyYAML.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from kecs_secrets.errors import ClusterUnavailableError, ConfigError

__all__ = ["KubeReader", "kubeconfig_path"]


def kubeconfig_path(configured: str) -> str:
    if configured:
        return os.path.expanduser(configured)
    env = os.environ.get("KUBECONFIG", "")
    return os.path.expanduser(env.split(os.pathsep)[0] if env else "~/.kube/config")


_PATHS = {
    "Secret": "/api/v1/{ns}secrets",
    "ConfigMap": "/api/v1/{ns}configmaps",
    "ServiceAccount": "/api/v1/{ns}serviceaccounts",
    "RoleBinding": "/apis/rbac.authorization.k8s.io/v1/{ns}rolebindings",
    "Role": "/apis/rbac.authorization.k8s.io/v1/{ns}roles",
    "ClusterRole": "/apis/rbac.authorization.k8s.io/v1/clusterroles",
}


class KubeReader:
    """The ClusterReader port: reads through the API server named by a kubeconfig (client certificate or token auth)."""

    def __init__(self, kubeconfig: str, context: str = "") -> None:
        path = kubeconfig_path(kubeconfig)
        try:
            with open(path, encoding="utf-8") as handle:
                config = yaml.safe_load(handle) or {}
        except OSError as err:
            raise ConfigError(f"kubeconfig {path!r} cannot be read: {err.strerror}") from None
        except yaml.YAMLError:
            raise ConfigError(f"kubeconfig {path!r} is not valid YAML") from None
        if not isinstance(config, dict):
            raise ConfigError(f"kubeconfig {path!r} is not a mapping")
        self._path = path
        self._base = os.path.dirname(path)
        name = context or config.get("current-context", "")
        ctx = _named(config.get("contexts"), name, "context", path)
        cluster = _named(config.get("clusters"), ctx.get("cluster", ""), "cluster", path)
        user = _named(config.get("users"), ctx.get("user", ""), "user", path) if ctx.get("user") else {}
        self.server = cluster.get("server", "").rstrip("/")
        if not self.server:
            raise ConfigError(f"kubeconfig {path!r}: cluster {ctx.get('cluster')!r} has no server")
        self._ssl = ssl.create_default_context()
        ca = self._material(cluster, "certificate-authority")
        try:
            if ca:
                self._ssl.load_verify_locations(cadata=ca.decode("ascii"))
        except (ssl.SSLError, UnicodeDecodeError, ValueError):
            where = f"kubeconfig {path!r}: the certificate authority of cluster {ctx.get('cluster')!r}"
            raise ConfigError(f"{where} is not a PEM certificate") from None
        if cluster.get("insecure-skip-tls-verify"):
            self._ssl.check_hostname = False
            self._ssl.verify_mode = ssl.CERT_NONE
        cert, key = self._material(user, "client-certificate"), self._material(user, "client-key")
        if cert and key:
            with tempfile.TemporaryDirectory() as tmp:
                cert_file, key_file = os.path.join(tmp, "c"), os.path.join(tmp, "k")
                for target, content in ((cert_file, cert), (key_file, key)):
                    fd = os.open(target, os.O_WRONLY | os.O_CREAT, 0o600)
                    with os.fdopen(fd, "wb") as out:
                        out.write(content)
                try:
                    self._ssl.load_cert_chain(cert_file, key_file)
                except ssl.SSLError:
                    where = f"kubeconfig {path!r}: the client certificate or key of user {ctx.get('user')!r}"
                    raise ConfigError(f"{where} is not valid") from None
        self._token = user.get("token", "")

    def _material(self, section: Mapping[str, Any], field: str) -> bytes | None:
        if section.get(f"{field}-data"):
            try:
                return base64.b64decode(section[f"{field}-data"], validate=True)
            except (ValueError, TypeError):
                raise ConfigError(f"kubeconfig {self._path!r}: {field}-data is not valid base64") from None
        if section.get(field):
            file = os.path.join(self._base, os.path.expanduser(section[field]))
            try:
                with open(file, "rb") as handle:
                    return handle.read()
            except OSError as err:
                raise ConfigError(f"kubeconfig {self._path!r}: {field} {file!r} cannot be read: {err.strerror}") from None
        return None

    def _get(self, path: str, query: Mapping[str, str] | None = None) -> Any:
        return self._send("GET", path, query)

    def _send(self, method: str, path: str, query: Mapping[str, str] | None = None, body: Any = None) -> Any:
        url = self.server + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(url, data=data, method=method, headers={"Accept": "application/json"})
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(request, context=self._ssl, timeout=15) as response:
                return json.load(response)
        except urllib.error.HTTPError as err:
            raise ClusterUnavailableError(f"Kubernetes API {self.server} {method} {path}: HTTP {err.code}") from None
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise ClusterUnavailableError(f"cannot reach the Kubernetes API at {self.server}: {reason}") from None

    def _list(self, path: str) -> Iterator[Mapping[str, Any]]:
        query = {"limit": "500"}
        while True:
            page = self._get(path, query)
            yield from page.get("items", [])
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return
            query = {"limit": "500", "continue": token}

    def namespaces(self) -> dict[str, dict[str, str]]:
        """Every namespace, with its labels (name -> labels)."""
        return {ns["metadata"]["name"]: dict(ns["metadata"].get("labels") or {}) for ns in self._list("/api/v1/namespaces")}

    def pods(self) -> list[Mapping[str, Any]]:
        return list(self._list("/api/v1/pods"))

    def objects(self, kind: str, namespace: str | None) -> list[Mapping[str, Any]]:
        scope = f"namespaces/{namespace}/" if namespace else ""
        return list(self._list(_PATHS[kind].format(ns=scope)))


def _named(entries: Any, name: str, what: str, path: str) -> Mapping[str, Any]:
    for entry in entries or []:
        if entry.get("name") == name:
            return entry.get(what) or {}
    raise ConfigError(f"kubeconfig {path!r} has no {what} named {name!r}")
