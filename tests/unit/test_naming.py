import pytest

from kecs_secrets.errors import LayoutError, NameCollisionError
from kecs_secrets.naming import (
    MAX_NAME_LENGTH,
    assign_names,
    is_dns1123_subdomain,
    kubernetes_name,
)


@pytest.mark.parametrize(
    ("source", "name", "expected"),
    [
        ("secretsmanager", "myapp/prod/db.v2", "sm-myapp-prod-db.v2"),
        ("secretsmanager", "app-config", "sm-app-config"),
        ("secretsmanager", "db-password-abcdef", "sm-db-password-abcdef"),
        ("ssm", "/app/db/password", "ssm-app-db-password"),
        ("ssm", "App/DB_pass", "ssm-app-db-pass"),
        ("ssm", "a//b", "ssm-a-b"),
        ("ssm", "/leading", "ssm-leading"),
        ("secretsmanager", "UPPER_case", "sm-upper-case"),
        ("secretsmanager", "a+b=c@d", "sm-a-b-c-d"),
        ("secretsmanager", "dots..and.-dashes", "sm-dots-and-dashes"),
        ("secretsmanager", ".trailing.", "sm-trailing"),
    ],
)
def test_one_rule_gives_every_name(source, name, expected):
    assert kubernetes_name(source, name) == expected
    assert is_dns1123_subdomain(expected)


def test_name_of_only_invalid_characters_is_prefix_and_hash():
    name = kubernetes_name("secretsmanager", "@@@")
    assert name.startswith("sm-") and len(name) == len("sm-") + 8
    assert is_dns1123_subdomain(name)


def test_300_character_name_is_cut_to_253_with_a_hash_and_stays_unique():
    long_a = "a" * 300
    long_b = "a" * 299 + "b"
    name_a, name_b = kubernetes_name("ssm", long_a), kubernetes_name("ssm", long_b)
    assert len(name_a) == MAX_NAME_LENGTH and len(name_b) == MAX_NAME_LENGTH
    assert name_a != name_b
    assert is_dns1123_subdomain(name_a) and is_dns1123_subdomain(name_b)


def test_colliding_names_both_get_a_hash_suffix_and_nothing_is_overwritten():
    names = assign_names([("ssm", "/App/DB_pass"), ("ssm", "app/db-pass"), ("ssm", "other")])
    assert names[("ssm", "other")] == "ssm-other"
    a, b = names[("ssm", "/App/DB_pass")], names[("ssm", "app/db-pass")]
    assert a != b
    assert a.startswith("ssm-app-db-pass-") and b.startswith("ssm-app-db-pass-")
    assert len(set(names.values())) == 3


def test_collision_suffix_does_not_depend_on_listing_order():
    items = [("secretsmanager", "A/b"), ("secretsmanager", "a-b"), ("secretsmanager", "a_b")]
    assert assign_names(items) == assign_names(list(reversed(items)))


def test_sm_and_ssm_with_the_same_name_do_not_collide():
    names = assign_names([("secretsmanager", "x"), ("ssm", "x")])
    assert names == {("secretsmanager", "x"): "sm-x", ("ssm", "x"): "ssm-x"}


def test_unknown_source_is_rejected():
    with pytest.raises(LayoutError, match="unknown source"):
        kubernetes_name("vault", "x")


def test_assign_names_raises_if_hashing_still_collides(monkeypatch):
    monkeypatch.setattr("kecs_secrets.naming.short_hash", lambda _text: "deadbeef")
    with pytest.raises(NameCollisionError, match="both map to"):
        assign_names([("ssm", "A"), ("ssm", "a")])
