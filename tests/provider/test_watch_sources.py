"""What the watch compares between polls of the owner's files: the project and stack config and the task definition
files their paths and globs match, on a real directory."""

from __future__ import annotations

from providers.watch_sources import owner_files_digest


def test_the_digest_moves_with_the_owners_files_and_only_with_them(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: p\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "web.json").write_text("{}")
    patterns = ["tasks/*.json"]
    first = owner_files_digest(tmp_path, "dev", patterns)
    assert owner_files_digest(tmp_path, "dev", patterns) == first
    (tmp_path / "notes.txt").write_text("unrelated")
    (tmp_path / "Pulumi.staging.yaml").write_text("another stack's")
    (tmp_path / "tasks" / "readme.md").write_text("not matched")
    assert owner_files_digest(tmp_path, "dev", patterns) == first
    changes = [
        lambda: (tmp_path / "tasks" / "web.json").write_text('{"family": "web"}'),
        lambda: (tmp_path / "tasks" / "api.json").write_text("{}"),
        lambda: (tmp_path / "tasks" / "api.json").unlink(),
        lambda: (tmp_path / "Pulumi.dev.yaml").write_text("config: {a: 1}\n"),
        lambda: (tmp_path / "Pulumi.yaml").unlink(),
    ]
    seen = {first}
    for change in changes:
        change()
        now = owner_files_digest(tmp_path, "dev", patterns)
        assert now not in seen or change is changes[2], "a change to the owner's files went unseen"
        seen.add(now)
    assert owner_files_digest(tmp_path, "dev", ["tasks/**/*.json"]) != owner_files_digest(tmp_path, "dev", patterns)
