"""Reading the ``kecs-secrets:*`` stack settings from Pulumi's config (the core validates them)."""

from __future__ import annotations

import pulumi

from kecs_secrets.config import DEFAULTS, NAMESPACE, REMOVED, Settings, parse_config

__all__ = ["load_settings"]


def load_settings() -> Settings:
    """Read every ``kecs-secrets:*`` key from the stack config and validate it at once.

    Removed keys are read too, so that a stack still setting one is refused with its replacement named.
    """
    config = pulumi.Config(NAMESPACE)
    raw = {name: text for name in (*DEFAULTS, *REMOVED) if (text := config.get(name)) is not None}
    return parse_config(raw)
