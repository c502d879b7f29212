"""One line per failure from the dynamic providers (``kecs:SourceValues``, ``kecs:LeftoverSweep``, ...), never a traceback.

The Python dynamic provider host (``python -m pulumi.dynamic``, pulumi SDK 3.272) answers every
exception a provider method raises with ``context.abort(..., traceback.format_exc())``, so the CLI
would show a traceback for an error the project raises on purpose (a refresh with the source down
printed one per resource). Each provider's ``configure`` (run once in the host, before any other call)
installs a stand-in for that module global: ``<ErrorClass>: <message>`` for a :class:`KecsSecretsError`
(whose message names the item and the cause), one such line per error for a group of them (the value
reader reports every item it could not read), the full traceback for anything else (a bug keeps its
traceback). Nothing changes in any other process. The e2e error table checks the line through the real CLI.
"""

from __future__ import annotations

import sys
import traceback
from types import ModuleType
from typing import Any

from kecs_secrets.errors import KecsSecretsError

__all__ = ["report_project_errors_in_one_line"]


class _OneLineErrors:
    """The provider host's ``traceback`` module, except that the project's own errors format as one line."""

    def __init__(self, module: ModuleType) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def format_exc(self, *args: Any, **kwargs: Any) -> str:
        err = sys.exc_info()[1]
        if isinstance(err, KecsSecretsError):
            return f"{type(err).__name__}: {err}"
        if isinstance(err, BaseExceptionGroup) and all(isinstance(e, KecsSecretsError) for e in err.exceptions):
            return "\n".join(f"{type(e).__name__}: {e}" for e in err.exceptions)  # one line per item
        return self._module.format_exc(*args, **kwargs)


def report_project_errors_in_one_line() -> None:
    """Install :class:`_OneLineErrors` in the dynamic provider host (a no-op anywhere else; idempotent)."""
    host = sys.modules.get("__main__")
    if host is None or not hasattr(host, "_abort_with_traceback") or not hasattr(host, "DynamicResourceProviderServicer"):
        return
    if not isinstance(getattr(host, "traceback", None), _OneLineErrors):
        host.traceback = _OneLineErrors(traceback)
