"""The ownership mark: it binds the stack to one object's kind, namespace and name, and only the stack's key makes it."""

from __future__ import annotations

import secrets

from hypothesis import given, settings
from hypothesis import strategies as st

from kecs_secrets.model import StateObject
from kecs_secrets.ownership import (
    ANNOTATION_MARK,
    MARK_HEX_LENGTH,
    mark_verifies,
    naming_could_produce,
    ownership_mark,
    recorded_marks,
)
from kecs_secrets.values import fingerprint

KEY = bytes(range(32))
STACK = "kecs-secrets/dev"
OBJECT = ("Secret", "web-us-east-1", "sm-app-db")


def test_a_mark_verifies_for_exactly_the_object_and_stack_it_was_made_for():
    mark = ownership_mark(KEY, STACK, *OBJECT)
    assert len(mark) == MARK_HEX_LENGTH and int(mark, 16) >= 0
    assert mark_verifies(KEY, STACK, *OBJECT, mark)
    # A copy of the object elsewhere carries the same mark, which fails there: another name, namespace, kind, stack.
    assert not mark_verifies(KEY, STACK, "Secret", "web-us-east-1", "sm-app-db-copy", mark)
    assert not mark_verifies(KEY, STACK, "Secret", "other-us-east-1", "sm-app-db", mark)
    assert not mark_verifies(KEY, STACK, "ConfigMap", "web-us-east-1", "sm-app-db", mark)
    assert not mark_verifies(KEY, "kecs-secrets/staging", *OBJECT, mark)
    # Another key (another stack of the same name, or a guess) makes another mark.
    assert not mark_verifies(bytes(32), STACK, *OBJECT, mark)
    assert not mark_verifies(b"", STACK, *OBJECT, mark)
    # Malformed marks never verify (and never raise).
    for bad in ("", "0" * MARK_HEX_LENGTH, mark[:-1], mark + "0", "z" * MARK_HEX_LENGTH):
        assert not mark_verifies(KEY, STACK, *OBJECT, bad)


def test_the_fields_are_separated_so_no_two_objects_share_a_mark():
    # "a" + "b-c" and "a-b" + "c" concatenate alike; the mark keeps the fields apart.
    assert ownership_mark(KEY, STACK, "Secret", "ns-a", "sm-b") != ownership_mark(KEY, STACK, "Secret", "ns", "a-sm-b")
    assert ownership_mark(KEY, STACK, "ClusterRole", "", "x") != ownership_mark(KEY, STACK, "ClusterRole", "x", "")


def test_no_published_fingerprint_is_ever_a_mark():
    """Fingerprints (stack outputs) are HMACs under the same stack key: their messages and the marks' key never meet."""
    mark = ownership_mark(KEY, STACK, *OBJECT)
    message = "\x00".join((STACK, *OBJECT))
    for data in ({message: b""}, {"value": message.encode()}, {}):
        assert not fingerprint(KEY, data).startswith(mark)


@settings(max_examples=200, derandomize=True)
@given(
    st.tuples(st.sampled_from(["Secret", "ConfigMap", "ServiceAccount", "RoleBinding", "Role", "ClusterRole"]),
              st.text(max_size=20), st.text(min_size=1, max_size=40)),
    st.tuples(st.sampled_from(["Secret", "ConfigMap", "ServiceAccount", "RoleBinding", "Role", "ClusterRole"]),
              st.text(max_size=20), st.text(min_size=1, max_size=40)),
)
def test_a_mark_never_verifies_for_another_object(made_for, copied_to):
    mark = ownership_mark(KEY, STACK, *made_for)
    assert mark_verifies(KEY, STACK, *copied_to, mark) == (made_for == copied_to)


def test_without_the_key_a_mark_cannot_be_made():
    marks = {ownership_mark(secrets.token_bytes(32), STACK, *OBJECT) for _ in range(50)}
    assert len(marks) == 50 and ownership_mark(KEY, STACK, *OBJECT) not in marks


def test_names_the_naming_could_produce():
    produce = lambda *key: naming_could_produce(*key, "kecs-system")  # noqa: E731
    assert produce("Secret", "kecs-system", "sm-app-db") and produce("ConfigMap", "web-us-east-1", "ssm-app-flags")
    assert produce("Secret", "web-us-east-1", "sm-ops-alerts-main-team.example-7c9a272e")
    assert produce("ServiceAccount", "web-us-east-1", "kecs-secret-reader-web-us-east-1")
    assert produce("RoleBinding", "kecs-system", "kecs-secret-reader-web-us-east-1")
    assert produce("Role", "kecs-system", "kecs-secret-reader-web-us-east-1")
    assert produce("ClusterRole", "", "kecs-system-secret-reader")
    assert not produce("Secret", "web-us-east-1", "app-db")  # no sm-/ssm- prefix
    assert not produce("Secret", "web-us-east-1", "sm-Bad_Name")
    assert not produce("ServiceAccount", "web-us-east-1", "default")
    assert not produce("ServiceAccount", "web-us-east-1", "kecs-secret-reader-other-us-east-1")  # another namespace's
    assert not produce("RoleBinding", "web-us-east-1", "kecs-secret-reader-web-us-east-1")  # not in the master namespace
    assert not produce("RoleBinding", "kecs-system", "admin")
    assert not produce("ClusterRole", "", "cluster-admin")
    assert not produce("ClusterRole", "", "staging-system-secret-reader")  # another master namespace's
    assert not produce("Deployment", "kecs-system", "sm-app")


def test_the_marks_the_state_recorded():
    state = [
        StateObject("Secret", "ns", "sm-a", annotations={ANNOTATION_MARK: "m1"}),
        StateObject("Secret", "ns", "sm-b", annotations={}),
    ]
    assert recorded_marks(state) == {("Secret", "ns", "sm-a"): "m1"}
