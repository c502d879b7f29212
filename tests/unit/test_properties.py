"""Properties of the pure core over generated inputs (Hypothesis): names, ARNs, demand, layouts.

Whatever the source holds and whoever writes annotations: no exception other than the project's own
(KecsSecretsError), every name a valid Kubernetes name, unique, the same on every run and whatever the
order of the input. Runs in `make test` with a fixed seed (``derandomize``) and a bounded number of examples.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kecs_secrets.config import LayoutSettings
from kecs_secrets.errors import ConfigError, KecsSecretsError, ReferenceResolutionError
from kecs_secrets.layout import plan_layout
from kecs_secrets.model import SECRETSMANAGER, SSM, Reference, SourceItem
from kecs_secrets.naming import assign_names, is_dns1123_label, is_dns1123_subdomain, kubernetes_name, possible_names
from kecs_secrets.references import Inventory, arn_scope, resolve_reference
from tests.unit.test_demand import references_from_pods

REGION, ACCOUNT = "us-east-1", "000000000000"
PROPERTY = settings(
    derandomize=True,  # a fixed seed: the same examples on every run and machine
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# Names as sources hold them: separators, case, dots, unicode, and the odd empty segment.
_CHARS = st.sampled_from(list("abcXYZ019._-/+=@ ") + ["é", "İ", "ß", "\u200b", "ǅ", "/", "-"])
source_names = st.text(_CHARS, min_size=1, max_size=40) | st.text(min_size=1, max_size=300)
keys = st.tuples(st.sampled_from([SECRETSMANAGER, SSM]), source_names)


def _item(source: str, name: str, index: int) -> SourceItem:
    if source == SECRETSMANAGER:
        arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-{index:06d}"
        return SourceItem(source, name, arn, f"v{index}", "2025-01-01T00:00:00Z", "secret")
    arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{name.lstrip('/')}"
    return SourceItem(source, name, arn, str(index), "2025-01-01T00:00:00Z", random.Random(index).choice(["String", "SecureString"]))


# Names as AWS accepts them (Secrets Manager: letters, digits and /_+=.@-; SSM: letters, digits and _.-/, no empty segment).
_SM_NAME = st.text(st.sampled_from(list("abcXYZ019/_+=.@-")), min_size=1, max_size=30)
_SEGMENT = st.text(st.sampled_from(list("abcXYZ019_.-")), min_size=1, max_size=10)
_SSM_NAME = st.lists(_SEGMENT, min_size=1, max_size=4).flatmap(
    lambda segments: st.sampled_from(["/" + "/".join(segments), "".join(segments)])
)
aws_keys = st.tuples(st.just(SECRETSMANAGER), _SM_NAME) | st.tuples(st.just(SSM), _SSM_NAME)
inventories = st.lists(aws_keys, max_size=12, unique=True).map(lambda ks: [_item(s, n, i) for i, (s, n) in enumerate(ks)])
nonempty_inventories = st.lists(aws_keys, min_size=1, max_size=12, unique=True).map(
    lambda ks: [_item(s, n, i) for i, (s, n) in enumerate(ks)]
)
namespaces = st.sampled_from(["web-us-east-1", "batch-us-east-1", "kecs-system", "default", "Bad_NS", "x" * 70])


class Mix:
    """How many examples of a property reached each of its assertions.

    A property records each example's path with :func:`reached` (Hypothesis's ``event()``, which
    ``--hypothesis-show-statistics`` prints per test); its companion test runs the property again while
    counting and asserts that each assertion ran on enough examples (a generator that stops reaching an
    assertion fails it).
    """

    counting: Mix | None = None

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()

    @classmethod
    def of(cls, prop) -> Mix:
        mix = cls.counting = cls()
        try:
            prop()
        finally:
            cls.counting = None
        return mix

    def at_least(self, floors: dict[str, int]) -> None:
        short = {label: self.seen[label] for label, floor in floors.items() if self.seen[label] < floor}
        assert not short, f"too few examples reached these assertions: {short} (the whole mix: {dict(self.seen)})"


def reached(label: str) -> None:
    event(label)
    if Mix.counting is not None:
        Mix.counting.seen[label] += 1


def _shuffled(values: list, seed: int) -> list:
    copy = list(values)
    random.Random(seed).shuffle(copy)
    return copy


@PROPERTY
@given(st.lists(keys, max_size=15), st.integers(0, 2**16))
def test_names_are_valid_unique_deterministic_and_order_independent(items, seed):
    try:
        names = assign_names(items)
    except KecsSecretsError:
        return  # a refusal of the project's own kind (it names the items); never another exception
    assert set(names) == set(items)
    for (source, _), name in names.items():
        assert is_dns1123_subdomain(name), name
        assert name.startswith("sm-" if source == SECRETSMANAGER else "ssm-")
    assert len(set(names.values())) == len(names), "two items share a name"
    assert assign_names(items) == names
    assert assign_names(_shuffled(items, seed)) == names


def _adversaries(names: dict, picks: list[int]) -> list:
    """Items an attacker would add beside named ones: a look-alike (``/`` as ``_``), and one named like the name held."""
    added = []
    for index, ((source, name), held) in enumerate(sorted(names.items())):
        pick = picks[index % len(picks)] if picks else 0
        if pick & 1:
            added.append((source, name.replace("/", "_") if "/" in name else name.upper()))
        if pick & 2:
            added.append((source, held.split("-", 1)[1]))
    return added


@PROPERTY
@given(st.lists(keys, max_size=10), st.lists(keys, max_size=8), st.lists(st.integers(0, 3), max_size=10),
       st.lists(st.booleans(), max_size=10), st.integers(0, 2**16))
def test_existing_items_keep_their_names_whatever_is_added(existing, added, picks, removed, seed):
    """Two more runs after a first: items are added (random, look-alikes, squatters on held names), some removed."""
    first = assign_names(existing)
    items = [*existing, *added, *_adversaries(first, picks)]
    second = assign_names(_shuffled(items, seed), first)
    assert {key: second[key] for key in first} == first, "an existing item lost its name"
    assert len(set(second.values())) == len(second), "two items share a name"
    assert second == assign_names(items, dict(reversed(first.items())))
    for (source, name), assigned in second.items():
        assert assigned in possible_names(source, name)
    kept = [key for index, key in enumerate(sorted(second)) if not (removed[index % len(removed)] if removed else False)]
    third = assign_names([*kept, *_adversaries(second, picks[::-1])], second)
    assert {key: third[key] for key in kept} == {key: second[key] for key in kept}
    assert len(set(third.values())) == len(third)


@PROPERTY
@given(keys)
def test_a_single_name_is_valid_and_stable(key):
    try:
        name = kubernetes_name(*key)
    except KecsSecretsError:
        return
    assert is_dns1123_subdomain(name) and name == kubernetes_name(*key)


_arn_parts = st.sampled_from(["arn", "aws", "aws-cn", "aws-us-gov", "secretsmanager", "ssm", REGION, "eu-west-1", ACCOUNT,
                              "999999999999", "", "secret", "parameter/", "parameter//x", "AWSCURRENT", "AWSPREVIOUS", "v1", "x"])
arn_like = st.lists(_arn_parts | source_names, min_size=1, max_size=11).map(":".join) | source_names


@st.composite
def _from_the_inventory(draw, items: list[SourceItem]) -> str:
    """A reference made from one of the inventory's own ARNs or names, then mutated the ways a typo or an attacker would:
    another partition, region or account (or an empty one), the secret's suffix dropped (a partial ARN), a JSON key,
    a version stage or id, another service, a bare name with or without its '/'."""
    item = draw(st.sampled_from(items))
    if draw(st.sampled_from(["arn", "arn", "bare name"])) == "bare name":
        return draw(st.sampled_from([item.name, item.name, item.name.lstrip("/"), "/" + item.name]))
    parts = item.arn.split(":")
    if item.source == SECRETSMANAGER and draw(st.sampled_from(["full", "partial"])) == "partial":
        parts[6] = parts[6].rsplit("-", 1)[0]  # the partial ARN: the name without the random suffix
    others = {1: ["aws-cn", "aws-us-gov", "aws-cn", "AWS"], 3: ["eu-west-1", "", "US-EAST-1"], 4: ["999999999999", "", "0"]}
    index = draw(st.sampled_from([None, None, 1, 1, 3, 4]))  # the item's own scope, or one part of it changed
    if index is not None:
        parts[index] = draw(st.sampled_from(others[index]))
    if draw(st.sampled_from([False] * 9 + [True])):  # the other service
        parts[2] = "ssm" if parts[2] == SECRETSMANAGER else SECRETSMANAGER
    if item.source == SECRETSMANAGER and draw(st.sampled_from(["no key", "a JSON key, stage or version"])) != "no key":
        parts += draw(st.sampled_from([["user", "", ""], ["*", "", ""], ["user", "AWSCURRENT", ""], ["", "", item.version],
                                       ["value", "", ""], ["bad key", "", ""], ["user", "AWSPREVIOUS", ""], ["", "", "v-other"]]))
    return ":".join(parts)


@PROPERTY
@given(nonempty_inventories, st.data())
def test_any_reference_resolves_to_an_inventory_item_or_is_refused_by_name(items, data):
    inventory = Inventory(items, REGION)
    # Mostly one of the inventory's own ARNs or names, mutated; sometimes anything shaped like an ARN.
    value = data.draw(st.sampled_from([_from_the_inventory(items)] * 5 + [arn_like]).flatmap(lambda made: made), label="valueFrom")
    ref = Reference("web-us-east-1", value, "generated")
    if value.startswith("arn:") and value.count(":") >= 5 and arn_scope(value) != ("aws", REGION, ACCOUNT):
        reached("an ARN of another partition, region or account")
    try:
        resolved = resolve_reference(ref, inventory)
    except ReferenceResolutionError as err:
        reached("refused (the reference named)")
        assert "generated" in str(err)
        return
    assert resolved.item in inventory.items
    if value.startswith("arn:"):
        reached(f"resolved an ARN of {resolved.item.source}")
        _, partition, _, region, account, *_ = value.split(":")
        assert (partition, region, account) == ("aws", REGION, ACCOUNT), "resolved across a partition, region or account"
    else:
        reached("resolved a bare name")


def test_the_reference_property_reaches_each_assertion():
    Mix.of(test_any_reference_resolves_to_an_inventory_item_or_is_refused_by_name).at_least({
        "an ARN of another partition, region or account": 15,
        "refused (the reference named)": 20,
        f"resolved an ARN of {SECRETSMANAGER}": 15,
        f"resolved an ARN of {SSM}": 15,
        "resolved a bare name": 10,
    })


@PROPERTY
@given(inventories, st.sampled_from(["aws-cn", "aws-us-gov"]), st.sampled_from(["eu-west-1", ""]), st.sampled_from(["999999999999", ""]))
def test_an_items_own_arn_resolves_and_no_other_partition_region_or_account_does(items, partition, region, account):
    inventory = Inventory(items, REGION)
    for item in items:
        try:
            assert resolve_reference(Reference("n", item.arn, "o"), inventory).item == item
        except ReferenceResolutionError as err:  # parameters "/a" and "a" share one ARN in AWS too
            assert "ambiguous" in str(err)
        parts = item.arn.split(":")
        for index, other in ((1, partition), (3, region), (4, account)):
            changed = ":".join(parts[:index] + [other] + parts[index + 1 :])
            with pytest.raises(ReferenceResolutionError):
                resolve_reference(Reference("n", changed, "o"), inventory)


annotations = st.dictionaries(
    st.sampled_from(["kecs.dev/secret-0-arn", "kecs.dev/secret-1-arn", "kecs.dev/secret-12-arn", "kecs.dev/secret-count", "other"]),
    st.text(max_size=30) | st.sampled_from(["c:E:db", "c:E:", "::", "c:E:arn:aws:ssm:us-east-1:0:parameter/x"]),
    max_size=4,
)
# What KECS writes on a pod: secret-count and one "<container>:<env-var>:<valueFrom>" per secret (what decides whose demand counts).
_WELL_FORMED = st.builds(
    "{}:{}:{}".format,
    st.sampled_from(["app", "c", "side-car"]),
    st.sampled_from(["DB", "E", "TOKEN"]),
    st.sampled_from(["db", "/app/x", "arn:aws:ssm:us-east-1:000000000000:parameter/x",
                     "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf:user::"]),
)
kecs_annotations = st.lists(_WELL_FORMED, min_size=1, max_size=3).map(
    lambda values: {"kecs.dev/secret-count": str(len(values)), **{f"kecs.dev/secret-{i}-arn": v for i, v in enumerate(values, 1)}}
)
pods = st.lists(st.fixed_dictionaries({"metadata": st.fixed_dictionaries({
    "namespace": st.sampled_from(["web-us-east-1", "attacker", "kecs-system", "tools", "gone", "web-us-east-1", "tools"]),
    "name": st.text(min_size=1, max_size=8),
    "annotations": st.sampled_from([kecs_annotations, kecs_annotations, kecs_annotations, annotations]).flatmap(lambda made: made),
})}), min_size=1, max_size=6, unique_by=lambda pod: (pod["metadata"]["namespace"], pod["metadata"]["name"]))  # as in a cluster
CLUSTER = {
    "web-us-east-1": {"kecs.dev/type": "ecs-cluster", "kecs.dev/cluster": "web", "kecs.dev/region": REGION},
    "attacker": {}, "kecs-system": {}, "tools": {},
}


def _well_formed_demand(pod) -> bool:
    """The pod declares demand KECS's way: a secret-<i>-arn annotation and every such annotation well formed."""
    found = {k: v for k, v in pod["metadata"]["annotations"].items() if k.endswith("-arn")}
    return bool(found) and all(len(v.split(":", 2)) == 3 and v.split(":", 2)[2] for v in found.values())


@PROPERTY
@given(pods, st.sampled_from([False, False, True]), st.integers(0, 2**16))
def test_pod_demand_comes_only_from_namespaces_that_may_ask(pod_list, strict, seed):
    kwargs = {"allowed": ("tools",), "refused": ("kecs-system",), "strict": strict}
    forbidden = [p for p in pod_list if p["metadata"]["namespace"] not in ("web-us-east-1", "tools") and _well_formed_demand(p)]
    try:
        refs, warnings = references_from_pods(pod_list, CLUSTER, **kwargs)
    except ConfigError as err:
        reached("refused in strict mode")
        assert strict and "annotation kecs.dev/secret-" in str(err)
        return
    if forbidden:
        reached("a well-formed demand from a namespace that may not ask")
    if refs:
        reached("references from namespaces that may ask")
    assert {r.namespace for r in refs} <= {"web-us-east-1", "tools"}
    assert (refs, warnings) == references_from_pods(_shuffled(pod_list, seed), CLUSTER, **kwargs)


def test_the_pod_demand_property_reaches_each_assertion():
    Mix.of(test_pod_demand_comes_only_from_namespaces_that_may_ask).at_least({
        "a well-formed demand from a namespace that may not ask": 40,
        "references from namespaces that may ask": 40,
        "refused in strict mode": 5,
    })


# Demand for namespaces that may receive replicas (so most layouts have some), plus in about half the examples one
# want of any kind (mostly a namespace that is refused; a key that is not served): one such want refuses the layout.
_GOOD_WANT = st.tuples(st.sampled_from(["web-us-east-1", "batch-us-east-1"]), st.integers(0, 11), st.sampled_from(["", ":user::"]))
_ANY_WANT = st.tuples(st.sampled_from(["default", "Bad_NS", "kecs-system", "x" * 70]) | namespaces, st.integers(0, 11),
                     st.sampled_from(["", ":user::", ":value::", ":bad key::"]))
wanted = st.tuples(st.lists(_GOOD_WANT, max_size=9), st.sampled_from([(), (_ANY_WANT,)]).flatmap(lambda odd: st.tuples(*odd))).map(
    lambda wants: wants[0] + list(wants[1])
)


@PROPERTY
@given(inventories, wanted,
       st.sampled_from(["cluster-role", "need-to-know"]), st.sampled_from(["error", "warn"]), st.integers(0, 2**16))
def test_layouts_have_valid_unique_names_and_do_not_depend_on_input_order(items, wants, rbac_mode, unresolved, seed):
    demand = []
    for namespace, index, suffix in wants:
        arn = items[index % len(items)].arn if items else "nothing"
        demand.append(Reference(namespace, arn + (suffix if arn.startswith("arn:aws:secretsmanager") else ""), f"config {index}"))
    layout_settings = LayoutSettings(stack="kecs-secrets/dev", rbac_mode=rbac_mode, unresolved_references=unresolved)
    try:
        layout = plan_layout(items, demand, layout_settings, REGION)
    except KecsSecretsError as err:
        reached(f"refused: {type(err).__name__}")
        return
    reached("a layout with replicas" if layout.replicas else "a layout without replicas")
    masters = [m.name for m in layout.masters]
    assert len(set(masters)) == len(masters) == len(items)
    replicas = [(r.namespace, r.name) for r in layout.replicas]
    assert len(set(replicas)) == len(replicas)
    for namespace, name in replicas:
        assert is_dns1123_label(namespace) and is_dns1123_subdomain(name) and name in masters
        assert namespace not in ("kecs-system", "default")
    for plan in layout.rbac:
        assert is_dns1123_subdomain(plan.service_account) and is_dns1123_subdomain(plan.role_binding)
    again = plan_layout(_shuffled(items, seed), _shuffled(demand, seed + 1), layout_settings, REGION)
    assert again == layout


def test_the_layout_property_reaches_each_assertion():
    Mix.of(test_layouts_have_valid_unique_names_and_do_not_depend_on_input_order).at_least({
        "a layout with replicas": 40,
        "a layout without replicas": 5,
        "refused: LayoutError": 20,
    })
