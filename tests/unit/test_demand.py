import pytest

from kecs_secrets.demand import (
    StackScope,
    check_demand_namespaces,
    ecs_cluster_namespace,
    ecs_namespace_problem,
    merge,
    pod_demand,
    references_from_config,
    references_from_pod,
    references_from_task_definition,
)
from kecs_secrets.errors import ConfigError, LayoutError
from kecs_secrets.isolation import is_isolated
from kecs_secrets.model import POD_DEMAND, Reference

ARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-creds-A1b2C3:username::"


def references_from_pods(pods, namespaces, **kwargs):
    """The pods' references that count and the warnings (``pod_demand`` without the Events' details)."""
    demand = pod_demand(pods, namespaces, **kwargs)
    return demand.references, demand.warnings


def test_cluster_namespace_follows_kecs():
    assert ecs_cluster_namespace("default", "us-east-1") == "default-us-east-1"


def test_config_demand_records_origin():
    refs = references_from_config({"ns": ["a", "b"]}, "kecs-secrets:demand")
    assert refs == [Reference("ns", "a", "config kecs-secrets:demand.ns[0]"), Reference("ns", "b", "config kecs-secrets:demand.ns[1]")]


def test_task_definition_secrets_become_references():
    document = {
        "family": "web",
        "containerDefinitions": [
            {"name": "app", "secrets": [{"name": "DB_USER", "valueFrom": ARN}, {"name": "P", "valueFrom": "/app/db/password"}]},
            {"name": "sidecar"},
        ],
    }
    refs = references_from_task_definition(document, "default-us-east-1", "task definition web.json")
    assert [r.value_from for r in refs] == [ARN, "/app/db/password"]
    assert refs[0].origin == "task definition web.json (family web, container app, secret DB_USER)"


@pytest.mark.parametrize(
    ("document", "why"),
    [
        ([], "must be a JSON object"),
        ({}, "'containerDefinitions' must be a list"),
        ({"containerDefinitions": ["x"]}, r"containerDefinitions\[0\] must be an object"),
        ({"containerDefinitions": [{"secrets": {}}]}, "secrets must be a list"),
        ({"containerDefinitions": [{"secrets": [{"name": "X"}]}]}, "needs a string 'valueFrom'"),
    ],
)
def test_malformed_task_definition_names_the_file(document, why):
    with pytest.raises(ConfigError, match=f"td.json: .*{why}"):
        references_from_task_definition(document, "ns", "td.json")


def test_pod_annotations_become_references_and_keep_colons_of_arns():
    pod = {
        "metadata": {
            "name": "web-1",
            "namespace": "default-us-east-1",
            "annotations": {
                "kecs.dev/secret-count": "2",
                "kecs.dev/secret-2-arn": "app:P:/app/db/password",
                "kecs.dev/secret-1-arn": f"app:DB_USER:{ARN}",
                "other": "x",
            },
        }
    }
    refs = references_from_pod(pod)
    assert [r.value_from for r in refs] == [ARN, "/app/db/password"]
    assert refs[0].origin == "pod default-us-east-1/web-1 annotation kecs.dev/secret-1-arn"


def test_malformed_pod_annotation_names_the_pod():
    pod = {"metadata": {"name": "p", "namespace": "n", "annotations": {"kecs.dev/secret-1-arn": "no-colons"}}}
    with pytest.raises(ConfigError, match="pod n/p annotation kecs.dev/secret-1-arn"):
        references_from_pod(pod)


def test_merge_dedupes_and_sorts():
    a = Reference("n", "x", "o")
    assert merge([a], [a], [Reference("m", "y", "o")]) == [Reference("m", "y", "o"), a]


ECS = {"kecs.dev/type": "ecs-cluster", "kecs.dev/cluster": "web", "kecs.dev/region": "us-east-1", "kecs.dev/managed": "true"}
NAMESPACES = {
    "web-us-east-1": ECS,
    "attacker": {},
    "liar-us-east-1": {**ECS, "kecs.dev/cluster": "web"},  # labels that name another namespace
    "half-us-east-1": {"kecs.dev/type": "ecs-cluster", "kecs.dev/cluster": "half"},
    "kecs-system": {},
    "tools": {},
}


def pod(namespace, name, annotations):
    return {"metadata": {"namespace": namespace, "name": name, "annotations": annotations}}


@pytest.mark.parametrize(
    ("name", "labels", "problem"),
    [
        ("web-us-east-1", ECS, None),
        ("attacker", {}, "no label kecs.dev/type=ecs-cluster"),
        ("web-us-east-1", {**ECS, "kecs.dev/type": "other"}, "no label kecs.dev/type=ecs-cluster"),
        ("half-us-east-1", NAMESPACES["half-us-east-1"], "lacks the label kecs.dev/region"),
        ("liar-us-east-1", NAMESPACES["liar-us-east-1"], "give the name 'web-us-east-1'"),
        ("kecs-system", {"kecs.dev/type": "ecs-cluster", "kecs.dev/cluster": "kecs", "kecs.dev/region": "system"}, "not an AWS region"),
    ],
)
def test_an_ecs_cluster_namespace_has_kecs_labels_consistent_with_its_name(name, labels, problem):
    found = ecs_namespace_problem(name, labels)
    assert (found is None) if problem is None else (problem in found)


def test_pods_outside_ecs_cluster_namespaces_are_ignored_with_a_warning_naming_them():
    pods = [
        pod("attacker", "evil", {"kecs.dev/secret-0-arn": "c:E:rel/s010"}),
        pod("liar-us-east-1", "sly", {"kecs.dev/secret-0-arn": "c:E:rel/s010"}),
        pod("kecs-system", "inside", {"kecs.dev/secret-0-arn": "c:E:rel/s010"}),
        pod("web-us-east-1", "good", {"kecs.dev/secret-0-arn": "c:E:rel/s010"}),
        pod("attacker", "no-demand", {"other": "x"}),
    ]
    refs, warnings = references_from_pods(pods, NAMESPACES, refused=("kecs-system",))
    assert refs == [Reference("web-us-east-1", "rel/s010", "pod web-us-east-1/good annotation kecs.dev/secret-0-arn", POD_DEMAND, "good")]
    assert len(warnings) == 3
    assert warnings[0].startswith("pod attacker/evil ignored: its namespace 'attacker' may not receive secrets")
    assert "pod kecs-system/inside ignored" in warnings[1] and "master namespace or on the deny list" in warnings[1]
    assert "pod liar-us-east-1/sly ignored" in warnings[2]


def test_an_allowed_namespace_receives_pod_demand_without_labels():
    refs, warnings = references_from_pods([pod("tools", "t", {"kecs.dev/secret-0-arn": "c:E:x"})], NAMESPACES, allowed=("tools",))
    assert [r.namespace for r in refs] == ["tools"] and warnings == []


def test_a_malformed_pod_annotation_skips_that_pod_only_unless_strict():
    pods = [
        pod("web-us-east-1", "broken", {"kecs.dev/secret-0-arn": "no-colons", "kecs.dev/secret-1-arn": "c:E:fine"}),
        pod("web-us-east-1", "good", {"kecs.dev/secret-0-arn": "c:E:x"}),
    ]
    refs, warnings = references_from_pods(pods, NAMESPACES)
    assert [r.value_from for r in refs] == ["x"]
    assert warnings == [
        "pod web-us-east-1/broken annotation kecs.dev/secret-0-arn: expected '<container>:<env-var>:<valueFrom>'; "
        "that pod is skipped (kecs-secrets:strictPodDemand=true makes this an error)"
    ]
    with pytest.raises(ConfigError, match="pod web-us-east-1/broken annotation kecs.dev/secret-0-arn"):
        references_from_pods(pods, NAMESPACES, strict=True)


def test_a_skipped_pods_references_are_unserved_each_with_its_problem_for_an_event():
    broken = pod("web-us-east-1", "broken", {"kecs.dev/secret-0-arn": "no-colons", "kecs.dev/secret-1-arn": "c:E:fine"})
    broken["metadata"]["uid"] = "uid-1"
    demand = pod_demand([broken], NAMESPACES)
    assert demand.references == []
    assert [(u.reference.value_from, u.reference.pod, u.reference.pod_uid, u.why) for u in demand.unserved] == [
        ("no-colons", "broken", "uid-1", "expected '<container>:<env-var>:<valueFrom>'"),
        ("fine", "broken", "uid-1", "pod web-us-east-1/broken is skipped: its annotation kecs.dev/secret-0-arn is malformed"),
    ]


def test_each_demand_source_says_who_wrote_it():
    """Config and task definition files are the stack owner's (strict); pods are tenants' (isolated)."""
    (config,) = references_from_config({"ns": ["a"]})
    (task,) = references_from_task_definition({"containerDefinitions": [{"name": "c", "secrets": [{"valueFrom": "a"}]}]}, "ns", "td")
    (from_pod,) = references_from_pod(pod("ns", "p", {"kecs.dev/secret-0-arn": "c:E:a"}))
    assert [is_isolated(r.demander) for r in (config, task, from_pod)] == [False, False, True]
    assert is_isolated("ecs-api")  # every demand source added later is a tenant's unless the rule says otherwise


def test_config_or_task_definition_demand_for_an_unlabelled_namespace_is_refused_by_name():
    with pytest.raises(LayoutError, match=r"namespace 'attacker' \(from config kecs-secrets:demand.attacker\[0\]\) is not an ECS cluster namespace"):
        check_demand_namespaces({"attacker": "config kecs-secrets:demand.attacker[0]"}, NAMESPACES, ())
    check_demand_namespaces({"attacker": "config", "web-us-east-1": "td"}, NAMESPACES, ("attacker",))
    check_demand_namespaces({"missing": "config"}, NAMESPACES, ())  # left to the preflight's "does not exist"


# ---- several stacks on one cluster: each serves the ECS cluster namespaces of its region (and clusters) ----

STAGING = {"kecs.dev/type": "ecs-cluster", "kecs.dev/cluster": "web", "kecs.dev/region": "eu-west-1"}
SHARED = {
    **NAMESPACES,
    "web-eu-west-1": STAGING,
    "batch-us-east-1": {**ECS, "kecs.dev/cluster": "batch"},
}
DEV_SCOPE, STAGING_SCOPE = StackScope("us-east-1"), StackScope("eu-west-1")


def test_a_stack_scope_is_its_region_and_the_clusters_it_names():
    assert DEV_SCOPE.problem(ECS) is None and STAGING_SCOPE.problem(STAGING) is None
    assert DEV_SCOPE.problem(STAGING) == (
        "it is an ECS cluster namespace of region 'eu-west-1', and this stack serves region 'us-east-1' (kecs-secrets:region)"
    )
    assert StackScope("us-east-1", ("web",)).problem(ECS) is None
    assert StackScope("us-east-1", ("web",)).problem(SHARED["batch-us-east-1"]) == (
        "its ECS cluster 'batch' is not among kecs-secrets:clusters ['web']"
    )


def test_pods_of_another_regions_namespaces_are_left_to_their_stack_without_a_warning():
    pods = [
        pod("web-us-east-1", "dev-task", {"kecs.dev/secret-0-arn": "c:E:app/db"}),
        pod("web-eu-west-1", "staging-task", {"kecs.dev/secret-0-arn": "c:E:app/db"}),
        pod("attacker", "evil", {"kecs.dev/secret-0-arn": "c:E:app/db"}),
    ]
    for scope, served in ((DEV_SCOPE, "web-us-east-1"), (STAGING_SCOPE, "web-eu-west-1")):
        refs, warnings = references_from_pods(pods, SHARED, scope=scope)
        assert [r.namespace for r in refs] == [served]
        assert len(warnings) == 1 and warnings[0].startswith("pod attacker/evil ignored")  # not another stack's tenant
    # A setting that names clusters narrows it further; allowedNamespaces stays the explicit override.
    batch = [pod("batch-us-east-1", "job", {"kecs.dev/secret-0-arn": "c:E:app/db"}), *pods]
    refs, warnings = references_from_pods(batch, SHARED, scope=StackScope("us-east-1", ("web",)))
    assert [r.namespace for r in refs] == ["web-us-east-1"] and len(warnings) == 1
    refs, _ = references_from_pods(pods, SHARED, scope=DEV_SCOPE, allowed=("web-eu-west-1",))
    assert [r.namespace for r in refs] == ["web-eu-west-1", "web-us-east-1"]


def test_config_or_task_definition_demand_for_another_regions_namespace_is_refused_by_name():
    origin = "task definition td/web.json (family web, container app, secret PW)"
    with pytest.raises(LayoutError) as caught:
        check_demand_namespaces({"web-us-east-1": origin}, SHARED, (), STAGING_SCOPE)
    assert str(caught.value) == (
        f"namespace 'web-us-east-1' (from {origin}) is not served by this stack: it is an ECS cluster namespace of region "
        "'us-east-1', and this stack serves region 'eu-west-1' (kecs-secrets:region); "
        "add it to kecs-secrets:allowedNamespaces to allow it"
    )
    with pytest.raises(LayoutError, match=r"namespace 'batch-us-east-1' \(from config\) is not served by this stack: its ECS cluster"):
        check_demand_namespaces({"batch-us-east-1": "config"}, SHARED, (), StackScope("us-east-1", ("web",)))
    check_demand_namespaces({"web-eu-west-1": "config", "web-us-east-1": "config"}, SHARED, ("web-us-east-1",), STAGING_SCOPE)
