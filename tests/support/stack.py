"""A Pulumi stack of this project for one test, driven by the Automation API with the real CLI.

Each stack gets its own copy of the project (symlinks to the program, a stack config file of its
own), its own file backend and passphrase, so tests never touch each other or the repository.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pulumi import automation as auto

from tests.support.real import ROOT, run_dir, run_script

PROGRAM_FILES = ("Pulumi.yaml", "__main__.py", "kecs_program", "kecs_secrets", "components", "providers", ".venv")
PASSPHRASE = "e2e-passphrase"


def toolchain_path() -> str:
    """The bin dirs of the Pulumi CLI and plugins (built from Go modules, cached)."""
    return run_script("toolchain.sh", "pulumi")


_HOME: list[Path] = []


def pulumi_home() -> Path:
    """This test process's PULUMI_HOME, with the Kubernetes provider built here installed into it the way
    Pulumi installs plugins (scripts/plugins.sh: `pulumi plugin install ... --file`), once per process."""
    if not _HOME:
        home = run_dir() / "pulumi-home"
        run_script("plugins.sh", "install", str(home))
        _HOME.append(home)
    return _HOME[0]


def pulumi_env(backend: Path, passphrase: str) -> dict[str, str]:
    """What the CLI needs here: a file backend, no network, and provider plugins from PULUMI_HOME only."""
    return {
        "PATH": f"{toolchain_path()}:{os.path.join(ROOT, '.venv', 'bin')}:{os.environ.get('PATH', '')}",
        "PULUMI_BACKEND_URL": f"file://{backend}",
        "PULUMI_CONFIG_PASSPHRASE": passphrase,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
    }


@dataclass
class RunLog:
    """What a run printed (stdout in ``text``, stderr in ``errors``) and which resources it touched, per operation."""

    text: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the CLI's stderr (the Automation API's on_error)
    ops: dict[str, str] = field(default_factory=dict)  # urn -> op (create, update, delete, same, replace, ...)
    # Every step in the order the engine reported it: ("start" | "done", op, urn).
    steps: list[tuple[str, str, str]] = field(default_factory=list)
    # When each step's event arrived (time.monotonic()), by (phase, urn): how far into a run an object was reached.
    at: dict[tuple[str, str], float] = field(default_factory=dict)

    def on_output(self, line: str) -> None:
        self.text.append(line)

    def on_error(self, line: str) -> None:
        self.errors.append(line)

    def printed(self) -> str:
        """Everything the run printed, stdout and stderr."""
        return "\n".join([*self.text, *self.errors])

    def on_event(self, event: auto.EngineEvent) -> None:
        for phase, step in (("start", event.resource_pre_event), ("done", event.res_outputs_event)):
            if step is not None and step.metadata is not None:
                op = str(getattr(step.metadata.op, "value", step.metadata.op))
                self.steps.append((phase, op, step.metadata.urn))
                self.at[(phase, step.metadata.urn)] = time.monotonic()
                if phase == "start":
                    self.ops[step.metadata.urn] = op

    def changed(self) -> dict[str, str]:
        return {urn: op for urn, op in self.ops.items() if op not in ("same", "read")}

    def changed_by_the_program(self) -> dict[str, str]:
        """``changed()`` without the engine's default provider of dynamic resources: its inputs are the project's
        config, so a config key a newer version declares (with its default) updates that record once, on upgrade."""
        return {urn: op for urn, op in self.changed().items() if "::pulumi:providers:pulumi-python::default" not in urn}


class ProjectStack:
    def __init__(
        self,
        base: Path,
        name: str,
        config: Mapping[str, Any],
        extra_files: Mapping[str, str] | None = None,
        extra_env: Mapping[str, str] | None = None,
        command_root: str | None = None,
        program_root: str = ROOT,
        program: Mapping[str, str] | None = None,
    ) -> None:
        """``program``: link name -> path, for a program other than this project's (the benchmark's floor)."""
        self.base = base
        self.workdir = base / "project"
        self.backend = base / "backend"
        self.workdir.mkdir(parents=True)
        self.backend.mkdir()
        if program is None:
            self.use_program(program_root)
        for entry, source in (program or {}).items():
            os.symlink(source, self.workdir / entry)
        for relative, content in (extra_files or {}).items():
            target = self.workdir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
        self.env = {**pulumi_env(self.backend, PASSPHRASE), **(extra_env or {})}
        first_bin = toolchain_path().split(":")[0]
        # ``command_root``: another installation (a directory with bin/pulumi) to run instead, e.g. a wrapper in a test.
        command = auto.PulumiCommand(root=command_root or str(Path(first_bin).parent), skip_version_check=True)
        options = auto.LocalWorkspaceOptions(
            work_dir=str(self.workdir),
            pulumi_home=str(pulumi_home()),
            env_vars=self.env,
            secrets_provider="passphrase",
            pulumi_command=command,
        )
        self.name = name
        self.stack = auto.create_stack(name, work_dir=str(self.workdir), opts=options)
        self.set_config(config)

    def use_program(self, program_root: str) -> None:
        """Run the program found in ``program_root`` from now on (e.g. an older version, to test an upgrade).

        Whatever that directory lacks (the virtualenv of an exported older version) comes from this checkout.
        """
        for entry in PROGRAM_FILES:
            link = self.workdir / entry
            if link.is_symlink():
                link.unlink()
            source = os.path.join(program_root, entry)
            os.symlink(source if os.path.lexists(source) else os.path.join(ROOT, entry), link)

    def set_config(self, config: Mapping[str, Any]) -> None:
        """Write the stack's config file (structured values as YAML, as a user would)."""
        path = self.workdir / f"Pulumi.{self.name}.yaml"
        current = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
        current = current or {}
        current["config"] = {f"kecs-secrets:{k}": v for k, v in config.items()}
        path.write_text(yaml.safe_dump(current, sort_keys=True), encoding="utf-8")
        self.config = dict(config)

    def update_config(self, **changes: Any) -> None:
        self.set_config({**self.config, **changes})

    def up(self, log: RunLog | None = None, **options: Any) -> tuple[auto.UpResult, RunLog]:
        """``log``: record into this one (a caller keeps what a run that fails printed)."""
        log = log or RunLog()
        result = self.stack.up(
            on_output=log.on_output, on_error=log.on_error, on_event=log.on_event, show_secrets=False, color="never", **options
        )
        return result, log

    def preview(self, **options: Any) -> tuple[auto.PreviewResult, RunLog]:
        log = RunLog()
        result = self.stack.preview(on_output=log.on_output, on_error=log.on_error, on_event=log.on_event, color="never", **options)
        return result, log

    def destroy(self, **options: Any) -> RunLog:
        log = RunLog()
        self.stack.destroy(on_output=log.on_output, on_error=log.on_error, on_event=log.on_event, color="never", **options)
        return log

    def state_files(self) -> list[Path]:
        """Every file of the raw backend (stacks, backups, history): what must never hold a plaintext value."""
        return [p for p in self.backend.rglob("*") if p.is_file()]

    def checkpoint_bytes(self) -> int:
        """Size of the stack's checkpoint (the state file the backend rewrites), 0 if there is none yet."""
        found = [p for p in (self.backend / ".pulumi" / "stacks").rglob(f"{self.name}.json*") if not p.name.endswith(".bak")]
        return sum(p.stat().st_size for p in found)

    def keep_checkpoint(self, to: Path) -> None:
        """Copy the stack's checkpoint (plain JSON; secrets stay encrypted) to ``to``."""
        (found,) = [p for p in (self.backend / ".pulumi" / "stacks").rglob(f"{self.name}.json")]
        shutil.copyfile(found, to)

    def remove(self) -> None:
        try:
            self.stack.destroy(color="never")
        finally:
            self.stack.workspace.remove_stack(self.name, force=True)
            shutil.rmtree(self.workdir, ignore_errors=True)
