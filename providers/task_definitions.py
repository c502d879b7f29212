"""The DocumentSource over the file system: ECS task definition JSON files by path or glob."""

from __future__ import annotations

import glob
import json
import os
from typing import Any

from kecs_secrets.errors import ConfigError

__all__ = ["TaskDefinitionFiles"]


class TaskDefinitionFiles:
    """Reads JSON documents relative to ``base_dir`` (the project directory)."""

    def __init__(self, base_dir: str = ".") -> None:
        self.base_dir = base_dir

    def documents(self, pattern: str) -> list[tuple[str, Any]]:
        full = os.path.join(self.base_dir, pattern)
        files = sorted(glob.glob(full)) if glob.has_magic(pattern) else [full]
        result = []
        for file in files:
            shown = os.path.relpath(file, self.base_dir)
            try:
                with open(file, encoding="utf-8") as handle:
                    result.append((shown, json.load(handle)))
            except OSError as err:
                raise ConfigError(f"task definition file {shown!r} cannot be read: {err.strerror}") from None
            except json.JSONDecodeError as err:
                raise ConfigError(f"task definition file {shown!r} is not valid JSON (line {err.lineno})") from None
        return result
