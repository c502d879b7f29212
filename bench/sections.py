"""The sections of bench/results.md that different benchmark commands write: each replaces only its own.

bench/run.py writes the whole file (its tables) and keeps the watch section bench/watch.py wrote there.
"""

from __future__ import annotations

__all__ = ["WATCH_SECTION", "keep_section", "replace_section"]

WATCH_SECTION = "## Watch mode"


def replace_section(text: str, section: str) -> str:
    """``text`` with its watch section (from WATCH_SECTION to the next `## ` heading or the end) replaced by ``section``,
    or ``section`` appended."""
    start = text.find(f"\n{WATCH_SECTION}\n")
    if start < 0:
        return text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    end = text.find("\n## ", start + 1)
    rest = text[end:] if end >= 0 else ""
    return text[:start].rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n" + rest


def keep_section(old: str, new: str) -> str:
    """``new`` (bench/run.py's results) with ``old``'s watch section kept, so one tool never erases the other's."""
    start = old.find(f"\n{WATCH_SECTION}\n")
    if start < 0:
        return new
    end = old.find("\n## ", start + 1)
    return replace_section(new, old[start + 1 : end if end >= 0 else len(old)])
