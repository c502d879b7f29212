"""The subcommands of `kecs-secrets`: every module of this package is one, found by ``commands()``.

Adding a subcommand is adding one module here. It holds:

- a docstring: its first line is the one-line help, the rest the ``--help`` description;
- ``add_arguments(parser)``: its options (argparse);
- ``run(args) -> int``: the exit code; a ``KecsSecretsError`` it raises becomes one line and exit code 1;
- optionally ``NAME`` (default: the module name with ``-`` for ``_``) and ``EXIT_CODES`` ({code: meaning},
  shown in ``--help``; default: 0 done, 1 one error line, 2 usage).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType

__all__ = ["DEFAULT_EXIT_CODES", "Command", "commands"]

DEFAULT_EXIT_CODES: Mapping[int, str] = {
    0: "done",
    1: "refused or failed: one line on stderr, `<ErrorClass>: <message naming the culprit>`",
    2: "wrong usage (unknown option, missing argument)",
}


@dataclass(frozen=True)
class Command:
    """One subcommand, as the command line shows it."""

    name: str
    summary: str
    description: str
    exit_codes: Mapping[int, str]
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _command(module: ModuleType) -> Command:
    doc = (module.__doc__ or "").strip()
    return Command(
        name=getattr(module, "NAME", module.__name__.rsplit(".", 1)[1].replace("_", "-")),
        summary=doc.splitlines()[0] if doc else "",
        description=doc,
        exit_codes=getattr(module, "EXIT_CODES", DEFAULT_EXIT_CODES),
        add_arguments=module.add_arguments,
        run=module.run,
    )


def commands() -> list[Command]:
    """Every subcommand of this package, by name."""
    found = [_command(importlib.import_module(f"{__name__}.{info.name}")) for info in pkgutil.iter_modules(__path__)]
    return sorted(found, key=lambda command: command.name)
