"""Every reference a KECS pod makes finds its Secret and key in the planned layout, or the plan says why not.

Written from KECS's documented behaviour (nandemo-ya/kecs at 02bca9b,
controlplane/internal/converters/task_converter.go: convertSecrets, parseSecretArn, getK8sSecretName),
re-implemented here on its own, without the project's naming code:

- KECS passes on ARNs only (a valueFrom with fewer than 6 ':' parts is dropped), of secretsmanager and ssm;
- Secrets Manager: the ARN's name part (field 7) minus a trailing '-' + 6 letters/digits, lowercased, each
  '/' and each '_' turned into '-', leading/trailing '-' trimmed, prefix 'sm-'; key: field 8 unless empty
  or '*', else 'value';
- SSM: the path after 'parameter/', '/' trimmed at both ends, '/' and '_' turned into '-', lowercased,
  prefix 'ssm-'; always a Secret, key 'value';
- the pod's env var is secretKeyRef{name, key} in the pod's own namespace.

A generated corpus of source names (every character Secrets Manager and SSM allow, separators at the ends
and in runs, uppercase, long names, names that end like a random suffix) goes through the planning step as
one inventory, with every valueFrom form KECS passes on as pod demand. For each reference the test predicts
whether it can be served (KECS's name is a valid Kubernetes name and no other item has the same one) and
checks: served references have a replica of that name in that namespace, a Secret, of that item, with that
key; the others are named, with their origin, in the plan's warnings.
"""

from __future__ import annotations

import random
import re
import string
from collections import Counter
from dataclasses import dataclass

import pytest

from kecs_secrets.config import LayoutSettings
from kecs_secrets.layout import Layout, plan_layout
from kecs_secrets.model import SECRETSMANAGER, SSM, Reference, SourceItem

REGION, ACCOUNT = "us-east-1", "000000000000"
NAMESPACES = ("web-us-east-1", "batch-us-east-1")
SEED = 20261128

# --- KECS's rule, from the facts above -------------------------------------------------------------------

_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def kecs_secret_key_ref(value_from: str) -> tuple[str, str] | None:
    """(name, key) of the secretKeyRef KECS puts into the pod for this valueFrom, or None if it passes none on."""
    parts = value_from.split(":")
    if len(parts) < 6:
        return None
    if parts[2] == "secretsmanager" and len(parts) >= 7:
        name = _SUFFIX.sub("", parts[6])
        key = parts[7] if len(parts) > 7 and parts[7] not in ("", "*") else "value"
        return "sm-" + name.lower().replace("/", "-").replace("_", "-").strip("-"), key
    if parts[2] == "ssm":
        path = parts[5].removeprefix("parameter/")
        return "ssm-" + path.strip("/").replace("/", "-").replace("_", "-").lower(), "value"
    return None


def valid_kubernetes_name(name: str) -> bool:
    return len(name) <= 253 and bool(_DNS1123_SUBDOMAIN.match(name))


# --- the corpus ------------------------------------------------------------------------------------------

SM_CHARS = string.ascii_letters + string.digits + "/_+=.@-"
SSM_CHARS = string.ascii_letters + string.digits + "_.-"

SM_CLASSES = [
    "svc/db--main", "svc/db-main", "team/app__key", "x_/y", "a//b", "/lead", "trail/", "/both/", "__under__",
    "-dash-", "--", "App/DB_pass", "app/db-pass", "UPPER", "Upper", "myapp/prod/db.v2", "a..b", ".dot", "dot.",
    "a.-b", "a-.b", "a./b", "a+b", "a=b", "a@b", "ops+alerts=main@team.example", "user@example.com",
    "svc-AbC123", "svc-abc123", "svc", "app-config", "app", "db-creds", "x", "9", "a_b", "a-b", "A-B",
    "x" * 250, "y" * 251, "z" * 300, "long/" + "segment-" * 63, "w" * 512,
]
SSM_CLASSES = [
    "/svc/db--main", "/svc/db-main", "/app/db.host", "/x_y/Z", "/cfg/list", "/app/db/password", "/a//b",
    "/trail/", "/App/DB_pass", "/app/db-pass", "app-param", "/app-param", "/a..b", "/.dot", "/a.-b",
    "/_/x", "/__", "/UPPER/lower", "/a_b", "/a-b", "/" + "p" * 252, "/" + "q" * 253, "/" + "r" * 600,
    "/end-AbC123", "/end-abc123",
]


def _random_name(rng: random.Random, chars: str, separators: str) -> str:
    length = rng.choice([1, 2, 3, 5, 8, 13, 21, 40])
    pool = chars + separators * 3  # separators often, in runs too
    return "".join(rng.choice(pool) for _ in range(length))


def corpus(seed: int = SEED) -> tuple[list[str], list[str]]:
    """(secret names, parameter names): the fixed classes plus generated names, unique, in a stable order."""
    rng = random.Random(seed)
    secrets = list(SM_CLASSES)
    secrets += [_random_name(rng, SM_CHARS, "/_-.") for _ in range(300)]
    secrets += [_random_name(rng, SM_CHARS, "") + "-" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(6))
                for _ in range(40)]  # names ending like a random suffix
    parameters = list(SSM_CLASSES)
    for _ in range(200):
        name = "/".join(_random_name(rng, SSM_CHARS, "_-.") for _ in range(rng.randint(1, 4)))
        parameters.append(("/" + name) if rng.random() < 0.8 else name.replace("/", "_"))
    return sorted(set(secrets)), sorted(set(parameters))


def items_of(secret_names: list[str], parameter_names: list[str], rng: random.Random) -> list[SourceItem]:
    items = []
    for name in secret_names:
        suffix = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(6))
        arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-{suffix}"
        items.append(SourceItem(SECRETSMANAGER, name, arn, "v-1", "2026-11-28T00:00:00Z", "secret"))
    types = ("String", "StringList", "SecureString")
    for index, name in enumerate(parameter_names):
        arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{name.lstrip('/')}"
        items.append(SourceItem(SSM, name, arn, "1", "2026-11-28T00:00:00Z", types[index % 3]))
    return items


@dataclass(frozen=True)
class Case:
    item: SourceItem
    reference: Reference
    form: str


def value_froms(item: SourceItem) -> list[tuple[str, str]]:
    """Every valueFrom form KECS passes on, for one item."""
    if item.source == SSM:
        return [("ssm-arn", item.arn)]
    return [
        ("sm-arn", item.arn),
        ("sm-arn-json-key", f"{item.arn}:username::"),
        ("sm-arn-json-key-stage", f"{item.arn}:db.host:AWSCURRENT:"),
        ("sm-arn-whole", f"{item.arn}:*::"),
        ("sm-partial-arn", item.arn.rsplit("-", 1)[0]),
    ]


def cases(items: list[SourceItem]) -> list[Case]:
    result = []
    for index, item in enumerate(items):
        namespace = NAMESPACES[index % len(NAMESPACES)]
        for slot, (form, value_from) in enumerate(value_froms(item)):
            origin = f"pod {namespace}/task-{index} annotation kecs.dev/secret-{slot}-arn"
            result.append(Case(item, Reference(namespace, value_from, origin), form))
    return result


# --- the checks ------------------------------------------------------------------------------------------


def served(layout: Layout, namespace: str, name: str, key: str, item: SourceItem) -> bool:
    """A Secret replica named ``name`` in ``namespace``, copied from ``item``'s master, whose data has ``key``."""
    masters = {m.name: m for m in layout.masters}
    for replica in layout.replicas:
        if (replica.namespace, replica.name) == (namespace, name) and replica.kind == "Secret":
            master = masters[replica.master]
            return master.item == item and key in master.data_keys
    return False


class Served:
    """:func:`served` for many look-ups at once (indexed), and the warnings by the origin they name."""

    def __init__(self, layout: Layout) -> None:
        masters = {m.name: m for m in layout.masters}
        self.replicas = {(r.namespace, r.name): masters[r.master] for r in layout.replicas if r.kind == "Secret"}
        self.said: dict[str, list[str]] = {}
        for warning in layout.warnings:
            for origin in re.findall(r" from (pod \S+ annotation kecs\.dev/secret-\d+-arn):", warning):
                self.said.setdefault(origin, []).append(warning)

    def __call__(self, namespace: str, name: str, key: str, item: SourceItem) -> bool:
        master = self.replicas.get((namespace, name))
        return master is not None and master.item == item and key in master.data_keys


def predicted_served(case: Case, own_names: Counter, settings: LayoutSettings) -> bool:
    """KECS's name for the reference is the item's own, valid and shared with no other item (and a Secret is made)."""
    name, _key = kecs_secret_key_ref(case.reference.value_from)
    own = kecs_secret_key_ref(case.item.arn)[0]
    if case.item.source == SSM and settings.ssm_kind == "by-sensitivity" and case.item.item_type != "SecureString":
        return False
    return name == own and valid_kubernetes_name(own) and own_names[own] == 1


@pytest.fixture(scope="module")
def world():
    secret_names, parameter_names = corpus()
    items = items_of(secret_names, parameter_names, random.Random(SEED))
    return items, cases(items)


@pytest.mark.parametrize("ssm_kind", ["secret", "by-sensitivity"])
def test_every_kecs_reference_is_served_or_the_plan_says_why(world, ssm_kind):
    items, all_cases = world
    settings = LayoutSettings(stack="kecs-secrets/compat", ssm_kind=ssm_kind, unresolved_references="warn")
    layout = plan_layout(items, [c.reference for c in all_cases], settings, REGION)
    own_names = Counter(kecs_secret_key_ref(item.arn)[0] for item in items)
    index = Served(layout)
    for case in all_cases[::40]:  # the index agrees with the plain look-up
        name, key = kecs_secret_key_ref(case.reference.value_from)
        assert index(case.reference.namespace, name, key, case.item) == served(layout, case.reference.namespace, name, key, case.item)
    tally = Counter()
    for case in all_cases:
        ref = case.reference
        name, key = kecs_secret_key_ref(ref.value_from)
        is_served = index(ref.namespace, name, key, case.item)
        said = [w for w in index.said.get(ref.origin, []) if f"{ref.value_from!r} from {ref.origin}:" in w]
        where = f"{case.form} of {case.item.source} {case.item.name!r} -> secretKeyRef {name}/{key}"
        if predicted_served(case, own_names, settings):
            # Only a refusal to guess between two items (one item's full ARN is another's partial ARN) may stop it.
            assert is_served or (said and "ambiguous" in said[0]), where
        assert is_served != bool(said), f"{where}: served={is_served}, warnings={said}"
        tally["served" if is_served else "explained"] += 1
    assert tally["served"] > 0 and tally["explained"] > 0
    assert sum(tally.values()) == len(all_cases) > 1000


def test_every_item_kecs_cannot_find_is_named_in_an_item_warning(world):
    items, _ = world
    layout = plan_layout(items, [], LayoutSettings(stack="kecs-secrets/compat"), REGION)
    own_names = Counter(kecs_secret_key_ref(item.arn)[0] for item in items)
    masters = {m.item.key: m.name for m in layout.masters}
    item_warnings = [w for w in layout.warnings if w.startswith("KECS pods cannot be served ")]
    for item in items:
        own = kecs_secret_key_ref(item.arn)[0]
        findable = valid_kubernetes_name(own) and own_names[own] == 1
        assert (masters[item.key] == own) is findable, item.name
        named = [w for w in item_warnings if f"{item.name!r}" in w and f"{masters[item.key]!r}" in w]
        assert bool(named) is not findable, item.name
    assert len(set(masters.values())) == len(items), "every master name is unique"
    assert all(valid_kubernetes_name(name) for name in masters.values())


def test_the_corpus_covers_every_class(world):
    items, all_cases = world
    names = [item.name for item in items]
    for needle in ("//", "__", "+", "=", "@", "..", ".-", "/_", "_/"):
        assert any(needle in n for n in names), needle
    assert any(n != n.lower() for n in names)
    assert any(n.startswith(("-", "_", "/", ".")) for n in names) and any(n.endswith(("-", "_", "/", ".")) for n in names)
    assert any(len(n) > 253 for n in names) and any(len(n) == 512 for n in names)
    assert sum(1 for n in names if re.search(r"-[A-Za-z0-9]{6}$", n)) >= 40
    assert {c.form for c in all_cases} == {"sm-arn", "sm-arn-json-key", "sm-arn-json-key-stage", "sm-arn-whole", "sm-partial-arn", "ssm-arn"}


def test_the_layout_does_not_depend_on_the_order_of_the_inventory(world):
    items, all_cases = world
    settings = LayoutSettings(stack="kecs-secrets/compat", unresolved_references="warn")
    demand = [c.reference for c in all_cases]
    assert plan_layout(items, demand, settings, REGION) == plan_layout(list(reversed(items)), list(reversed(demand)), settings, REGION)


@pytest.mark.parametrize(
    ("source", "name", "kecs"),
    [
        # The examples: KECS keeps runs of '-'.
        (SECRETSMANAGER, "svc/db--main", "sm-svc-db--main"),
        (SECRETSMANAGER, "team/app__key", "sm-team-app--key"),
        (SECRETSMANAGER, "x_/y", "sm-x--y"),
        (SECRETSMANAGER, "a//b", "sm-a--b"),
        (SSM, "/svc/db--main", "ssm-svc-db--main"),
        (SSM, "/app/db.host", "ssm-app-db.host"),
        (SSM, "/x_y/Z", "ssm-x-y-z"),
        (SSM, "/cfg/list", "ssm-cfg-list"),
    ],
)
def test_the_examples_of_the_report_resolve(source, name, kecs):
    (item,) = items_of([name] if source == SECRETSMANAGER else [], [name] if source == SSM else [], random.Random(1))
    assert kecs_secret_key_ref(item.arn) == (kecs, "value")
    layout = plan_layout([item], [Reference("web-us-east-1", item.arn, "pod web-us-east-1/p")], LayoutSettings(), REGION)
    assert served(layout, "web-us-east-1", kecs, "value", item)
    assert layout.warnings == ()
