"""README.md and docs/ stay true: every relative link and #anchor resolves, every `make` target, `kecs-secrets`
subcommand, `python -m` module and file named exists, the configuration reference is Pulumi.yaml's schema, and the
README stays short (a newcomer's five minutes)."""

from __future__ import annotations

import glob
import json
import os
import re
from collections.abc import Iterator

import pytest
import yaml

from kecs_cli.commands import commands

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
PAGES = [os.path.join(ROOT, "README.md"), *DOCS]
# Made by `make venv` / `make demo` or by a run, never committed: named in the docs, not checked for existence.
RUNTIME = (".state", ".venv", "policies/venv", "~", "/")
TOP = {entry for entry in os.listdir(ROOT) if not entry.startswith(".")} | {".github", ".ci"}


def read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def rel(path: str) -> str:
    return os.path.relpath(path, ROOT)


def slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: str) -> set[str]:
    text = re.sub(r"```.*?```", "", read(path), flags=re.S)
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)}


def code(text: str) -> Iterator[str]:
    """The text of every fenced block and inline code span."""
    for block in re.finditer(r"```[^\n]*\n(.*?)```", text, re.S):
        yield block.group(1)
    for span in re.finditer(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S)):
        yield span.group(1)


def makefile_targets() -> set[str]:
    """The Makefile's rules (`up preview: ...` is two)."""
    rules = re.finditer(r"^([a-z][-a-z ]*):(?!=)", read(os.path.join(ROOT, "Makefile")), re.M)
    return {target for rule in rules for target in rule.group(1).split()}


def test_the_readme_is_short_and_starts_with_the_two_commands():
    text = read(os.path.join(ROOT, "README.md"))
    assert len(text.splitlines()) <= 220
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert re.search(r"^make demo\b", quick, re.M) and re.search(r"^make test\b", quick, re.M), quick


def test_every_doc_is_linked_from_the_readme():
    readme = read(os.path.join(ROOT, "README.md"))
    assert DOCS, "docs/ is empty"
    for path in DOCS:
        assert f"]({rel(path)}" in readme, f"README.md does not link {rel(path)}"


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_every_relative_link_and_anchor_resolves(page):
    text = re.sub(r"```.*?```", "", read(page), flags=re.S)
    for m in re.finditer(r"\]\(([^)\s]+)\)", text):
        target = m.group(1)
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        file, _, anchor = target.partition("#")
        path = os.path.normpath(os.path.join(os.path.dirname(page), file)) if file else page
        assert os.path.exists(path), f"{rel(page)}: link {target!r}: no {rel(path)}"
        if anchor:
            assert path.endswith(".md"), f"{rel(page)}: anchor on a non-Markdown file: {target!r}"
            assert anchor in anchors(path), f"{rel(page)}: link {target!r}: no heading #{anchor} in {rel(path)}"


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_every_make_target_named_exists(page):
    targets = makefile_targets()
    for snippet in code(read(page)):
        for m in re.finditer(r"(?:^|[\s;&|(])make ([a-z][-a-z]*)", snippet):
            assert m.group(1) in targets, f"{rel(page)}: `make {m.group(1)}` is no Makefile target ({snippet!r})"


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_every_kecs_secrets_subcommand_named_exists(page):
    known = {c.name for c in commands()}
    for snippet in code(read(page)):
        for m in re.finditer(r"(?:^|[\s/])kecs-secrets ([a-z][-a-z]*)", snippet):
            assert m.group(1) in known, f"{rel(page)}: `kecs-secrets {m.group(1)}` is no subcommand ({snippet!r})"


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_every_python_module_named_exists(page):
    for snippet in code(read(page)):
        for m in re.finditer(r"python3? -m ([a-z_][\w.]*)", snippet):
            module = m.group(1)
            if module in ("venv", "pip"):
                continue
            base = os.path.join(ROOT, *module.split("."))
            assert os.path.isfile(base + ".py") or os.path.isfile(os.path.join(base, "__main__.py")), \
                f"{rel(page)}: `python -m {module}`: no such module here"


def paths_named(text: str) -> Iterator[str]:
    for snippet in code(text):
        for token in re.split(r"[\s,;()\[\]'\"=]+", snippet):
            token = token.rstrip(".:")
            first = token.split("/", 1)[0]
            if "/" in token and first in TOP and not token.startswith(RUNTIME) and "<" not in token and "..." not in token:
                yield token
            elif token in TOP and "." in token:
                yield token  # Pulumi.yaml, pyproject.toml, ...


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_every_file_named_exists(page):
    for token in paths_named(read(page)):
        path, _, test = token.partition("::")
        found = glob.glob(os.path.join(ROOT, path))
        assert found, f"{rel(page)}: `{token}` names no file of this repository"
        if test:
            assert re.search(rf"^def {re.escape(test)}\(", read(found[0]), re.M), f"{rel(page)}: no test {test} in {path}"


def config_table() -> str:
    """The configuration reference, from Pulumi.yaml's schema (the CLI checks every value against it)."""
    with open(os.path.join(ROOT, "Pulumi.yaml"), encoding="utf-8") as handle:
        schema = yaml.safe_load(handle)["config"]
    rows = ["| key | type | default | what it does |", "|---|---|---|---|"]
    for key, spec in schema.items():
        kind = spec["type"] + (f" of {spec['items']['type']}" if "items" in spec else "")
        what = " ".join(str(spec.get("description", "")).split()).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
        rows.append(f"| `{key.split(':', 1)[1]}` | {kind} | `{json.dumps(spec.get('default'))}` | {what} |")
    return "\n".join(rows)


def test_the_configuration_reference_is_the_schema_in_pulumi_yaml():
    text = read(os.path.join(ROOT, "docs", "configuration.md"))
    table = text.split("<!-- config-table -->\n", 1)[1].split("\n<!-- /config-table -->", 1)[0]
    assert table == config_table(), "docs/configuration.md's table differs from Pulumi.yaml; it should read:\n" + config_table()


def test_the_cli_reference_documents_every_subcommand_and_its_exit_codes():
    text = read(os.path.join(ROOT, "docs", "cli.md"))
    for command in commands():
        section = text.split(f"\n## `kecs-secrets {command.name}`", 1)
        assert len(section) == 2, f"docs/cli.md has no section ## `kecs-secrets {command.name}`"
        body = section[1].split("\n## ", 1)[0]
        for code_, meaning in command.exit_codes.items():
            assert f"| {code_} | {meaning} |" in body, f"docs/cli.md, {command.name}: exit code {code_} not as --help says it"
