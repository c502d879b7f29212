"""The command-line tool `kecs-secrets`: one subcommand per module of kecs_cli/commands, each with --help and its exit codes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest

import kecs_cli.commands
from kecs_cli.commands import commands
from kecs_cli.main import build_parser, main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(os.path.dirname(sys.executable), "kecs-secrets")  # installed by `make venv` ([project.scripts])
EXPECTED = ["destroy-check", "kecs-pods", "plan", "summary"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SCRIPT, *args], capture_output=True, text=True, timeout=60, check=False)


def test_the_console_script_lists_every_subcommand_with_the_exit_codes():
    assert os.access(SCRIPT, os.X_OK), f"{SCRIPT}: run `make venv`"
    done = run("--help")
    assert done.returncode == 0, done.stderr
    listed = re.findall(r"^    ([a-z-]+)", done.stdout, re.M)
    assert listed == [c.name for c in commands()]
    assert set(EXPECTED) <= set(listed)
    assert "exit codes:" in done.stdout and "  1  refused or failed" in done.stdout


@pytest.mark.parametrize("name", EXPECTED)
def test_each_subcommand_has_its_help_and_exit_codes(name, capsys):
    with pytest.raises(SystemExit) as exited:
        main([name, "--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    assert shown.startswith(f"usage: kecs-secrets {name} ")
    assert re.search(r"exit codes:\n  0  .+\n  1  .+\n  2  .+", shown), shown


def test_wrong_usage_exits_2():
    assert run("no-such-command").returncode == 2
    assert run().returncode == 2
    assert run("kecs-pods", "create").returncode == 2  # FILE:CLUSTER is required


@pytest.fixture
def extra_command(tmp_path, monkeypatch):
    """A module dropped into the commands package (on a second path of it): what adding a mode is."""
    (tmp_path / "probe.py").write_text(textwrap.dedent('''
        """Probe something (a test's command)."""
        from kecs_secrets.errors import ConfigError

        def add_arguments(parser):
            parser.add_argument("--fail", action="store_true")

        def run(args):
            if args.fail:
                raise ConfigError("config kecs-secrets:x: wrong")
            print("probed")
            return 0
        '''), encoding="utf-8")
    monkeypatch.setattr(kecs_cli.commands, "__path__", [*kecs_cli.commands.__path__, str(tmp_path)])
    yield
    sys.modules.pop("kecs_cli.commands.probe", None)


def test_adding_a_subcommand_is_adding_one_module(extra_command, capsys):
    assert "probe" in [c.name for c in commands()]
    assert "Probe something (a test's command)." in build_parser().format_help()
    assert main(["probe"]) == 0
    assert capsys.readouterr().out == "probed\n"


def test_a_refusal_is_one_line_and_exit_code_1(extra_command, capsys):
    assert main(["probe", "--fail"]) == 1
    captured = capsys.readouterr()
    assert captured.err == "ConfigError: config kecs-secrets:x: wrong\n"
    assert captured.out == ""


def test_the_make_targets_call_the_tool():
    with open(os.path.join(ROOT, "Makefile"), encoding="utf-8") as handle:
        makefile = handle.read()
    assert "-m scripts." not in makefile
    for target, command in [("pods", "kecs-pods create"), ("destroy", "destroy-check"), ("plan", "plan"), ("summary", "summary")]:
        recipe = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", makefile, re.M)
        assert recipe and f"$(VENV)/bin/kecs-secrets {command}" in recipe.group(1), target
