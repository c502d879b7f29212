"""The `kecs-secrets` command-line tool: the helpers around the Pulumi program (plan, summary, destroy check,
the KECS pod stand-in), one subcommand per module of ``kecs_cli.commands``.

The outermost layer: it uses the core and the adapters, and nothing imports it (import-linter enforces it).
It runs from this checkout (``make venv`` installs it editable), whose ``providers`` package it needs.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["PROJECT_ROOT"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
