"""The focus of an update as it travels from the watch to the program (KECS_SECRETS_FOCUS)."""

from __future__ import annotations

import pytest

from kecs_secrets.errors import ConfigError
from kecs_secrets.focus import FOCUS_ENV, Focus


def test_a_focus_goes_through_the_environment_unchanged_and_empty_means_full() -> None:
    focus = Focus(frozenset({"b-us-east-1", "a-us-east-1"}), frozenset({"sm-x"}), frozenset({("c-us-east-1", "sm-y")}))
    assert Focus.from_env(focus.to_env()) == focus
    assert Focus.from_env(Focus().to_env()) is None
    assert Focus.from_env(None) is None and Focus.from_env("") is None


@pytest.mark.parametrize(
    "text", ["{", "[]", '{"namespaces": "a"}', '{"namespaces": [1]}', '{"namespaces": [""]}', '{"pods": []}',
             '{"replicas": ["a"]}', '{"replicas": [["a"]]}', '{"replicas": [["a", ""]]}', '{"replicas": {"a": "b"}}']
)
def test_anything_else_is_one_line_naming_the_variable(text: str) -> None:
    with pytest.raises(ConfigError, match=f"^{FOCUS_ENV}") as caught:
        Focus.from_env(text)
    assert "\n" not in str(caught.value)


def test_what_a_focus_covers() -> None:
    focus = Focus(frozenset({"a"}), frozenset({"sm-x"}))
    assert focus.covers_replica("a", "sm-y") and focus.covers_replica("b", "sm-x") and not focus.covers_replica("b", "sm-y")
    assert focus.masters_wanted({"a": ["sm-y", "sm-z"], "b": ["sm-w"]}) == {"sm-y", "sm-z"}
    assert (Focus(frozenset({"a"})) | Focus(masters=frozenset({"sm-x"}))) == focus


def test_a_replica_focus_covers_that_replica_alone_and_wants_no_master() -> None:
    focus = Focus(replicas=frozenset({("a", "sm-x")}))
    assert focus and focus.covers_replica("a", "sm-x")
    assert not focus.covers_replica("a", "sm-y") and not focus.covers_replica("b", "sm-x")
    assert focus.masters_wanted({"a": ["sm-x", "sm-y"]}) == frozenset()
    assert (focus | Focus(replicas=frozenset({("b", "sm-y")}))).replicas == {("a", "sm-x"), ("b", "sm-y")}
