"""The whole plan (``make_plan`` with the fakes of every port) over adversarial inputs, driven by Hypothesis.

- Whatever the source lists, the state recorded, the pods declare and the cluster already holds, a plan is
  made or the run stops with one ``KecsSecretsError`` of one line; never another exception.
- A bad tenant input (a pod with adversarial references, an object someone made under a replica's name in
  their own namespace) never stops a run that would go through without it, and never changes what the other
  namespaces get: the plans with and without it give the other namespaces the same replicas and RBAC, and
  the masters the same names and items.

Fixed seed (``derandomize``), a bounded number of examples, no deadline; the example mix is recorded with
``hypothesis.event`` (``pytest --hypothesis-show-statistics`` shows it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kecs_secrets.errors import KecsSecretsError
from kecs_secrets.isolation import pod_events
from kecs_secrets.model import SECRETSMANAGER, SSM, StackState, StateValue
from kecs_secrets.naming import cluster_role_name, kubernetes_name, reader_name
from kecs_secrets.planning import Plan, make_plan
from tests.unit.test_planning import (
    ACCOUNT,
    MASTER_NS,
    REGION,
    STACK,
    FakeCluster,
    FakeFiles,
    FakeSource,
    FakeState,
    ours,
    parameter,
    secret,
)
from tests.unit.test_planning import settings as stack_settings

PROPERTY = settings(
    derandomize=True,  # a fixed seed: the same examples on every run and machine
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

WEB, BATCH, API = "web-us-east-1", "batch-us-east-1", "api-us-east-1"
NAMESPACES = (MASTER_NS, WEB, BATCH, API)
SUFFIX = "AbCdEf"  # the fake source's ARN suffix

# Names as sources hold them, look-alikes included (app/db, app_db, app-db, App/DB), and some that AWS would refuse.
_NAME_CHARS = st.sampled_from(list("abAB01/_-.+=@") + ["é", "\u200b", " ", ":", "\n"])
source_names = st.sampled_from(["app/db", "app_db", "app-db", "App/DB", "app/db-AbCdEf", "a" * 300]) | st.text(
    _NAME_CHARS, min_size=1, max_size=24
)
# JSON keys as a reference may select them: valid ones, the reserved one, and what the API server refuses.
json_keys = st.sampled_from(["user", "password", "value", ".", "..", "..x", "key\n", "a/b", "ключ", "x" * 300, ""])


@st.composite
def sources(draw) -> tuple[list[dict], list[dict]]:
    secrets = [secret(n, version=draw(st.sampled_from(["v-1", "v-2", ""]))) for n in draw(st.lists(source_names, max_size=6, unique=True))]
    for listed in secrets:
        if not listed["SecretVersionsToStages"].get(""):
            continue
        listed["SecretVersionsToStages"] = {}  # no AWSCURRENT version yet
    kinds = st.sampled_from(["SecureString", "String", "StringList"])
    params = [parameter("/" + n.lstrip("/"), draw(kinds)) for n in draw(st.lists(source_names, max_size=4, unique=True))]
    return secrets, params


def _arn(name: str) -> str:
    return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-{SUFFIX}"


@st.composite
def value_froms(draw, names: list[str]) -> str:
    """One reference as a tenant may write it: good, subtly wrong, or junk."""
    name = draw(st.sampled_from(names)) if names else "app/db"
    kind = draw(st.sampled_from([
        "arn", "arn+key", "other stage", "other version", "unknown arn", "other account", "other region", "other partition",
        "partial arn", "bare name", "ssm arn", "junk", "empty", "huge",
    ]))
    event(f"pod reference: {kind}")
    key = draw(json_keys)
    return {
        "arn": _arn(name),
        "arn+key": f"{_arn(name)}:{key}::",
        "other stage": f"{_arn(name)}:{key}:AWSPREVIOUS:",
        "other version": f"{_arn(name)}:{key}::old-id",
        "unknown arn": _arn(name + "-gone"),
        "other account": _arn(name).replace(ACCOUNT, "111111111111"),
        "other region": _arn(name).replace(REGION, "eu-west-1"),
        "other partition": _arn(name).replace("arn:aws:", "arn:aws-cn:"),
        "partial arn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}",
        "bare name": name,
        "ssm arn": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{name.lstrip('/')}",
        "junk": draw(st.text(max_size=40)),
        "empty": "",
        "huge": "arn:" + ":" * 2000,
    }[kind]


@st.composite
def pods(draw, names: list[str], namespace: str, prefix: str, at_least: int = 0) -> list[dict[str, Any]]:
    result = []
    for index in range(draw(st.integers(at_least, 2))):
        annotations = {}
        for slot in range(draw(st.integers(1, 3))):
            annotation = draw(st.sampled_from([f"app:VAR{slot}:{{}}", "{}", "::{}", "a:b:"]))
            annotations[f"kecs.dev/secret-{slot}-arn"] = annotation.format(draw(value_froms(names)))
        result.append({"metadata": {"namespace": namespace, "name": f"{prefix}-{index}", "uid": f"uid-{prefix}-{index}",
                                    "annotations": annotations}})
    return result


def _taken_names(keys: list[tuple[str, str]]) -> list[str]:
    """Names the layout may give masters (and so replicas) and RBAC objects, to put someone else's object under."""
    return [kubernetes_name(*key) for key in keys] + [reader_name(WEB), cluster_role_name(MASTER_NS), "sm-app-db"]


def run(config: Mapping[str, Any], source: FakeSource, cluster: FakeCluster, state: StackState) -> Plan | KecsSecretsError:
    """The plan, or the project's error; any other exception fails the test."""
    try:
        return make_plan(stack_settings(**config), STACK, source, cluster, FakeFiles(), dry_run=False, state=FakeState(state),
                         warn=lambda _: None)
    except KecsSecretsError as err:
        text = f"{type(err).__name__}: {err}"
        assert "\n" not in text and str(err), f"not one line: {text!r}"
        return err


@st.composite
def scenarios(draw) -> dict[str, Any]:
    secrets, params = draw(sources())
    names = [s["Name"] for s in secrets] + [p["Name"] for p in params]
    taken = _taken_names([(SECRETSMANAGER, s["Name"]) for s in secrets] + [(SSM, p["Name"]) for p in params])
    # The owner's demand: mostly names the source lists, sometimes one it does not (a strict error, or a warning).
    owned = st.sampled_from(names or ["app/db"]) | st.just("app/not-listed")
    owner = {BATCH: draw(st.lists(owned, max_size=2))}
    if draw(st.booleans()):
        owner[WEB] = draw(st.lists(owned, max_size=1))
    recorded = tuple(
        StateValue(s["ARN"], "v-1", tuple(sorted(draw(st.sets(json_keys, max_size=3))))) for s in secrets if draw(st.booleans())
    )
    others = draw(pods(names, API, "other")) + draw(pods(names, BATCH, "batch"))
    bad_pods = draw(pods(names, WEB, "bad", at_least=1))
    bad_objects = [(kind, WEB, name, {}) for kind, name in draw(st.lists(
        st.tuples(st.sampled_from(["Secret", "ConfigMap", "ServiceAccount"]), st.sampled_from(taken)), max_size=2))]
    # What only the owner can make: objects in the master namespace, some this stack's own, some not.
    master_objects = [(kind, "" if kind == "ClusterRole" else MASTER_NS, name, ours() if mine else {}) for kind, name, mine in draw(st.lists(
        st.tuples(st.sampled_from(["Secret", "ConfigMap", "RoleBinding", "ClusterRole"]), st.sampled_from(taken), st.booleans()),
        max_size=2))]
    config = {"podDemand": True, "demand": owner, "ssmKind": draw(st.sampled_from(["by-sensitivity", "secret"])),
              "rbacMode": draw(st.sampled_from(["cluster-role", "need-to-know"])), "allowMassDeletion": True,
              "unresolvedReferences": draw(st.sampled_from(["error", "warn"]))}
    return {"source": FakeSource(secrets, params), "config": config, "state": StackState(values=recorded), "others": others,
            "bad_pods": bad_pods, "bad_objects": bad_objects, "master_objects": master_objects}


def _outcome(result: Plan | KecsSecretsError) -> str:
    return "plan" if isinstance(result, Plan) else type(result).__name__


def _others(plan: Plan) -> tuple:
    """What the namespaces other than WEB get, and the masters' names and items."""
    replicas = sorted((r.namespace, r.name, r.kind, tuple(sorted(r.annotations.items()))) for r in plan.layout.replicas if r.namespace != WEB)
    rbac = sorted((p.namespace, p.role_kind, p.rules) for p in plan.layout.rbac if p.namespace != WEB)
    # Not the shared ClusterRole's names: a tenant's reference that is served (some of a bad pod's are) adds its master there.
    return replicas, rbac, sorted((m.name, m.kind, m.item) for m in plan.layout.masters)


@PROPERTY
@given(scenarios())
def test_every_input_ends_in_a_plan_or_one_error_line_and_a_bad_tenant_changes_nothing_for_the_others(scene):
    cluster_objects = scene["master_objects"]
    without = run(scene["config"], scene["source"], FakeCluster(NAMESPACES, cluster_objects, scene["others"]), scene["state"])
    with_bad = run(
        scene["config"],
        scene["source"],
        FakeCluster(NAMESPACES, cluster_objects + scene["bad_objects"], scene["others"] + scene["bad_pods"]),
        scene["state"],
    )
    event(f"outcome without the bad tenant: {_outcome(without)}")
    event(f"outcome with the bad tenant: {_outcome(with_bad)}")
    event(f"bad tenant: {len(scene['bad_pods'])} pods, {len(scene['bad_objects'])} objects in its namespace")
    if isinstance(without, KecsSecretsError):
        return  # the owner's input stops the run by itself; the tenant's cannot make that better or worse
    assert isinstance(with_bad, Plan), f"a bad tenant input stopped the run: {type(with_bad).__name__}: {with_bad}"
    assert _others(with_bad) == _others(without)
    # Whatever was skipped is reported on its pod, and every Event is about a pod of that namespace.
    events = pod_events(with_bad.layout.unserved)
    event(f"events on pods: {min(len(events), 3)}{'+' if len(events) >= 3 else ''}")
    assert {(e.namespace, e.pod) for e in events} <= {(p["metadata"]["namespace"], p["metadata"]["name"])
                                                      for p in scene["others"] + scene["bad_pods"]}
