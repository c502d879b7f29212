"""``kecs:LeftoverSweep``: removes objects of this stack that its state does not know and the layout does not want.

An interrupted ``up`` (SIGKILL, a lost connection) can create objects that never reach the state;
Pulumi cannot delete them, because it only deletes what its state holds. The preflight finds the
candidates (they carry this stack's annotation and an ownership mark, under a name the stack's naming
could produce, and are neither in the state nor wanted) and the program hands them to this resource with
the stack's key (a secret input: only here is it plain). The annotation is copied with every
``kubectl get -o yaml``, so each candidate is deleted only if its mark verifies for exactly its kind,
namespace and name (``kecs_secrets.ownership``); the others are skipped and named in ``skipped``. A
deletion also needs the uid the preflight saw (a delete precondition): an object someone recreated in
between is left alone and the run fails naming it.

It is always registered (with an empty list when there is nothing to remove) and reports a change only
when there is something to delete, so a no-change run stays a no-change run. In a preview nothing is deleted.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from kecs_secrets.ownership import mark_verifies
from kecs_secrets.preflight import Leftover, shown
from providers.dynamic_errors import report_project_errors_in_one_line

__all__ = ["LeftoverSweep", "LeftoverSweepProvider"]

def _verified(props: dict[str, Any]) -> tuple[list[list[str]], list[str]]:
    """The candidates whose mark the stack made for exactly their kind, namespace and name; and the others, shown."""
    key = props.get("key")
    key_bytes = bytes.fromhex(key) if isinstance(key, str) else b""
    stack = props.get("stack") or ""
    verified, skipped = [], []
    for kind, namespace, name, uid, mark in props.get("objects") or []:
        if mark_verifies(key_bytes, stack, kind, namespace, name, mark):
            verified.append([kind, namespace, name, uid])
        else:
            skipped.append(shown((kind, namespace, name)))
    return verified, skipped


def _sweep(props: dict[str, Any]) -> dict[str, Any]:
    # The outputs never hold the key (it stays only in the secret inputs).
    outs = {k: v for k, v in props.items() if k != "key"}
    verified, skipped = _verified(props)
    deleted: list[str] = []
    if not verified:
        return {**outs, "deleted": deleted, "skipped": skipped}
    # The Kubernetes client only when there is something to delete: a run without leftovers never loads it
    # in the provider host.
    from providers.kube_deleter import KubeDeleter

    deleter = KubeDeleter(props.get("kubeconfig") or "", props.get("context") or "")
    for kind, namespace, name, uid in verified:
        if deleter.delete_if_uid(kind, namespace, name, uid):
            deleted.append(shown((kind, namespace, name)))
    return {**outs, "deleted": deleted, "skipped": skipped}


class LeftoverSweepProvider(ResourceProvider):
    """Deletes the listed leftovers on create and update; nothing on delete (they are gone by then)."""

    def configure(self, req: ConfigureRequest) -> None:
        report_project_errors_in_one_line()

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, [])

    def diff(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        # Something to delete is a change; nothing to delete is none, whatever an earlier run swept. Candidates
        # whose mark does not verify (copies) are nothing to delete: they stay, and no run becomes a change for
        # them. Without the key (a preview in which the reader changes) any candidate may be one to delete.
        objects = news.get("objects") or []
        changes = bool(_verified(news)[0]) if isinstance(news.get("key"), str) else bool(objects)
        return DiffResult(changes=changes, replaces=[], stables=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult("leftovers", _sweep(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(_sweep(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to do: the objects were deleted when this resource was created or updated."""


_PROVIDER = LeftoverSweepProvider()


class LeftoverSweep(Resource, module="kecs", name="LeftoverSweep"):
    objects: pulumi.Output[list[list[str]]]
    deleted: pulumi.Output[list[str]]
    skipped: pulumi.Output[list[str]]  # candidates whose mark did not verify: left alone

    def __init__(
        self,
        resource_name: str,
        *,
        objects: tuple[Leftover, ...],
        stack: str,
        key: pulumi.Input[str],
        kubeconfig: str,
        context: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "objects": [list(o) for o in sorted(objects)], "stack": stack, "key": pulumi.Output.secret(key),
            "kubeconfig": kubeconfig, "context": context, "deleted": None, "skipped": None,
        }
        super().__init__(_PROVIDER, resource_name, props, opts)
        self._candidates = props["objects"]

    def outcome(self) -> pulumi.Output[tuple[list[str], list[str]]]:
        """What this run deleted and what it left alone (shown), known once the sweep ran (not in a preview).

        When no candidate's mark verified, the sweep did not run (no change) and its outputs are an earlier run's:
        then it deleted nothing and left every candidate alone.
        """

        def of(swept: list[list[str]], deleted: list[str], skipped: list[str]) -> tuple[list[str], list[str]]:
            if swept == self._candidates:  # this run's (uids make an earlier run's candidates differ)
                return list(deleted or []), list(skipped or [])
            return [], [shown((kind, namespace, name)) for kind, namespace, name, *_ in self._candidates]

        return pulumi.Output.all(self.objects, self.deleted, self.skipped).apply(lambda found: of(*found))
