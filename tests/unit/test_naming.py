import hashlib
import re

import pytest

from kecs_secrets.errors import LayoutError
from kecs_secrets.naming import (
    MAX_NAME_LENGTH,
    MAX_ROUNDS,
    assign_names,
    is_dns1123_subdomain,
    kecs_name_problem,
    kecs_reference_name,
    kecs_secret_key_ref,
    kubernetes_name,
    possible_names,
)

HASHED = re.compile(r"-[0-9a-f]{8}$")


def sha256_8(text: str) -> str:
    """The naming rule's hash restated here (8 hex digits of sha256), not taken from the code under test."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


@pytest.mark.parametrize(
    ("source", "name", "expected"),
    [
        # KECS's reference name, kept exactly (runs of '-' included) because it is a valid Kubernetes name.
        ("secretsmanager", "myapp/prod/db.v2", "sm-myapp-prod-db.v2"),
        ("secretsmanager", "app-config", "sm-app-config"),
        ("secretsmanager", "db-password-abcdef", "sm-db-password-abcdef"),
        ("secretsmanager", "svc/db--main", "sm-svc-db--main"),
        ("secretsmanager", "team/app__key", "sm-team-app--key"),
        ("secretsmanager", "x_/y", "sm-x--y"),
        ("secretsmanager", "a//b", "sm-a--b"),
        ("secretsmanager", "/lead/and/trail/", "sm-lead-and-trail"),
        ("secretsmanager", "UPPER_case", "sm-upper-case"),
        ("secretsmanager", "svc-AbC123", "sm-svc-abc123"),
        ("ssm", "/svc/db--main", "ssm-svc-db--main"),
        ("ssm", "/app/db/password", "ssm-app-db-password"),
        ("ssm", "App/DB_pass", "ssm-app-db-pass"),
        ("ssm", "a//b", "ssm-a--b"),
        ("ssm", "/leading", "ssm-leading"),
        ("ssm", "/x_y/Z", "ssm-x-y-z"),
        ("ssm", "/app/db.host", "ssm-app-db.host"),
    ],
)
def test_master_name_is_kecs_reference_name_when_kubernetes_accepts_it(source, name, expected):
    assert kecs_reference_name(source, name) == expected
    assert kubernetes_name(source, name) == expected
    assert assign_names([(source, name)]) == {(source, name): expected}


@pytest.mark.parametrize(
    ("source", "name", "kecs", "mended"),
    [
        ("secretsmanager", "a+b=c@d", "sm-a+b=c@d", "sm-a-b-c-d"),
        ("secretsmanager", "ops+alerts=main@team.example", "sm-ops+alerts=main@team.example", "sm-ops-alerts-main-team.example"),
        ("secretsmanager", "dots..and.-dashes", "sm-dots..and.-dashes", "sm-dots.and.dashes"),
        ("secretsmanager", ".trailing.", "sm-.trailing.", "sm-trailing"),
        ("secretsmanager", "_x_", "sm-x", None),  # trimmed by KECS: valid
        ("ssm", "/a./b", "ssm-a.-b", "ssm-a.b"),
        ("ssm", "/-x-/", "ssm--x-", "ssm-x"),  # KECS trims "/" only: the "-" stay, and "ssm--x-" ends in "-"
        ("secretsmanager", "@@@", "sm-@@@", "sm"),
    ],
)
def test_names_kubernetes_refuses_get_our_mended_name_with_a_hash(source, name, kecs, mended):
    assert kecs_reference_name(source, name) == kecs
    ours = kubernetes_name(source, name)
    assert is_dns1123_subdomain(ours)
    if mended is None:
        assert ours == kecs and kecs_name_problem(kecs) is None
    else:
        assert kecs_name_problem(kecs)
        assert ours == f"{mended}-{sha256_8(f'{source}:{name}')}"


def test_problem_names_the_refused_characters_and_the_length():
    assert kecs_name_problem("sm-a+b=c@d") == "Kubernetes names cannot contain '+', '=', '@'"
    assert kecs_name_problem("sm-" + "a" * 300) == f"it has 303 characters (Kubernetes allows {MAX_NAME_LENGTH})"
    assert "both sides of every '.'" in kecs_name_problem("sm-a..b")
    assert kecs_name_problem("sm-a--b") is None


def test_300_character_name_is_cut_to_253_with_a_hash_and_stays_unique():
    long_a = "a" * 300
    long_b = "a" * 299 + "b"
    name_a, name_b = kubernetes_name("ssm", long_a), kubernetes_name("ssm", long_b)
    assert len(name_a) == MAX_NAME_LENGTH and len(name_b) == MAX_NAME_LENGTH
    assert name_a != name_b
    assert is_dns1123_subdomain(name_a) and is_dns1123_subdomain(name_b)
    assert HASHED.search(name_a)


def test_a_name_of_exactly_253_characters_is_kecs_name():
    name = "x" * (MAX_NAME_LENGTH - len("sm-"))
    assert kubernetes_name("secretsmanager", name) == f"sm-{name}"
    assert kubernetes_name("secretsmanager", name + "y") != f"sm-{name}y"


def test_items_sharing_a_kecs_name_both_get_a_hash_suffix_and_nothing_is_overwritten():
    names = assign_names([("ssm", "/App/DB_pass"), ("ssm", "/app/db-pass"), ("ssm", "other")])
    assert names[("ssm", "other")] == "ssm-other"
    a, b = names[("ssm", "/App/DB_pass")], names[("ssm", "/app/db-pass")]
    assert a != b
    assert a.startswith("ssm-app-db-pass-") and b.startswith("ssm-app-db-pass-")
    assert "ssm-app-db-pass" not in names.values(), "no guess at which one a pod means"
    assert len(set(names.values())) == 3


def test_runs_no_longer_collapse_so_they_no_longer_collide():
    names = assign_names([("secretsmanager", "svc/db--main"), ("secretsmanager", "svc/db-main")])
    assert names == {("secretsmanager", "svc/db--main"): "sm-svc-db--main", ("secretsmanager", "svc/db-main"): "sm-svc-db-main"}


def test_collision_suffix_does_not_depend_on_listing_order():
    items = [("secretsmanager", "A/b"), ("secretsmanager", "a-b"), ("secretsmanager", "a_b"), ("secretsmanager", "a-b-")]
    assert assign_names(items) == assign_names(list(reversed(items)))


def test_sm_and_ssm_with_the_same_name_do_not_collide():
    names = assign_names([("secretsmanager", "x"), ("ssm", "x")])
    assert names == {("secretsmanager", "x"): "sm-x", ("ssm", "x"): "ssm-x"}


def test_an_item_named_like_another_items_hashed_name_keeps_its_own_name_and_the_other_moves_on():
    """A source item named exactly like the hashed name of a colliding item: no exception, all unique."""
    upper, lower = ("secretsmanager", "App/DB_pass"), ("secretsmanager", "app/db-pass")
    before = assign_names([upper, lower])
    squatter_name = before[upper].removeprefix("sm-")  # 'app-db-pass-b7e5a403'
    squatter = ("secretsmanager", squatter_name)
    names = assign_names([upper, lower, squatter])
    assert names[squatter] == f"sm-{squatter_name}", "its KECS name: KECS pods referencing it find it"
    assert names[lower] == before[lower]
    assert before[upper] == "sm-app-db-pass-b7e5a403"  # sha256("secretsmanager:App/DB_pass")
    assert names[upper] == "sm-app-db-pass-630eb195"  # round 2: sha256("secretsmanager:App/DB_pass:2")
    assert len(set(names.values())) == 3
    assert names == assign_names([squatter, lower, upper])
    # The same with the second round's name taken as well: a third round.
    second = ("secretsmanager", names[upper].removeprefix("sm-"))
    names = assign_names([upper, lower, squatter, second])
    assert names[upper] == "sm-app-db-pass-e91d9323"  # round 3: sha256("secretsmanager:App/DB_pass:3")
    assert len(set(names.values())) == 4


def test_an_item_named_like_a_mended_name_keeps_it():
    plus = ("secretsmanager", "a+b")
    squatter = ("secretsmanager", kubernetes_name(*plus).removeprefix("sm-"))
    names = assign_names([plus, squatter])
    assert names[squatter] == kubernetes_name(*plus) == "sm-a-b-b7878b57"  # sha256("secretsmanager:a+b")
    assert names[plus] == "sm-a-b-dffb7c9d"  # round 2: sha256("secretsmanager:a+b:2")


def test_when_every_round_is_taken_the_item_is_left_without_a_name_and_nothing_is_refused():
    upper, lower = ("secretsmanager", "App/DB_pass"), ("secretsmanager", "app/db-pass")
    squatters = [("secretsmanager", kubernetes_name(*upper, round=r).removeprefix("sm-")) for r in range(1, MAX_ROUNDS + 1)]
    names = assign_names([upper, lower, *squatters])
    assert upper not in names and set(names) == {lower, *squatters}
    assert len(set(names.values())) == len(names)


def test_possible_names_cover_every_round():
    # Round 0 is KECS's name when Kubernetes accepts it; rounds 1..16 hash "<source>:<name>", then ":2" ... ":16" appended.
    assert MAX_ROUNDS == 16
    assert possible_names("secretsmanager", "x")[:4] == ("sm-x", "sm-x-05ba84e7", "sm-x-9d089c7e", "sm-x-f81850a4")
    seeds = ("secretsmanager:x", *(f"secretsmanager:x:{r}" for r in range(2, 17)))
    assert possible_names("secretsmanager", "x")[1:] == tuple(f"sm-x-{sha256_8(seed)}" for seed in seeds)
    # 'sm-a+b' is no Kubernetes name: round 0 is round 1, listed once.
    assert possible_names("secretsmanager", "a+b")[:3] == ("sm-a-b-b7878b57", "sm-a-b-dffb7c9d", "sm-a-b-7b9787f6")
    assert len(possible_names("secretsmanager", "a+b")) == 16


def test_unknown_source_is_rejected():
    with pytest.raises(LayoutError, match="unknown source"):
        kubernetes_name("vault", "x")


def test_round_out_of_range_is_rejected():
    with pytest.raises(LayoutError, match="round"):
        kubernetes_name("ssm", "x", round=MAX_ROUNDS + 1)


@pytest.mark.parametrize(
    ("value_from", "expected"),
    [
        ("arn:aws:secretsmanager:us-east-1:000000000000:secret:svc/db--main-AbC123", ("sm-svc-db--main", "value")),
        ("arn:aws:secretsmanager:us-east-1:000000000000:secret:db-creds-AbC123:username::", ("sm-db-creds", "username")),
        ("arn:aws:secretsmanager:us-east-1:000000000000:secret:db-creds-AbC123:password:AWSCURRENT:", ("sm-db-creds", "password")),
        ("arn:aws:secretsmanager:us-east-1:000000000000:secret:db-creds-AbC123:*::", ("sm-db-creds", "value")),
        # A partial ARN: KECS still drops what looks like a suffix (its bug 2).
        ("arn:aws:secretsmanager:us-east-1:000000000000:secret:app-config", ("sm-app", "value")),
        ("arn:aws:ssm:us-east-1:000000000000:parameter/x_y/Z", ("ssm-x-y-z", "value")),
        ("arn:aws:ssm:us-east-1:000000000000:parameter/app-param", ("ssm-app-param", "value")),
        ("/app/db/password", None),
        ("app-config", None),
        ("arn:aws:kms:us-east-1:000000000000:key/x", None),
    ],
)
def test_kecs_secret_key_ref(value_from, expected):
    found = kecs_secret_key_ref(value_from)
    assert (None if found is None else (found.name, found.key)) == expected


def _readme_rows():
    import os

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    # The names table moved from the README to docs/names.md; `-k readme` still selects this test.
    with open(os.path.join(root, "docs", "names.md"), encoding="utf-8") as handle:
        text = handle.read()
    table = text.split("<!-- names-table -->", 1)[1].split("<!-- /names-table -->", 1)[0]
    expand = lambda cell: re.sub(r"(\w)\u00d7(\d+)", lambda m: m.group(1) * int(m.group(2)), cell.strip().strip("`"))  # noqa: E731
    rows = []
    for line in table.strip().splitlines()[2:]:
        source, name, kecs, ours, _why = line.strip("|").split("|")
        rows.append((source.strip(), expand(name), expand(kecs), expand(ours)))
    return rows


def test_readme_names_table_is_what_the_naming_function_gives():
    rows = _readme_rows()
    assert len(rows) >= 20
    names = assign_names((source, name) for source, name, _, _ in rows)
    for source, name, kecs, ours in rows:
        assert kecs_reference_name(source, name) == kecs, name
        assert names[(source, name)] == ours, (name, names[(source, name)])
