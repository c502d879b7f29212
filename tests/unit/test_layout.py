import pytest

from kecs_secrets.config import LayoutSettings
from kecs_secrets.errors import DeletionGuardError, LayoutError, ReferenceResolutionError
from kecs_secrets.layout import ReadRule, plan_layout
from kecs_secrets.model import (
    ANNOTATION_LAST_REPLICATED,
    ANNOTATION_SOURCE_NAMESPACE,
    ANNOTATION_STACK,
    LABEL_MANAGED_BY,
    LABEL_REPLICATED_FROM,
    LABEL_SOURCE,
)
from kecs_secrets.naming import kubernetes_name
from kecs_secrets.preflight import check_deletions
from tests.unit.conftest import REGION, parameter, ref, secret

SETTINGS = LayoutSettings(stack="kecs-secrets/dev")


def plan(items, demand, settings=SETTINGS):
    return plan_layout(items, demand, settings, REGION)


def test_every_source_item_gets_exactly_one_master(inventory_items):
    layout = plan(inventory_items, [])
    assert [m.name for m in layout.masters] == sorted(m.name for m in layout.masters)
    assert {m.name for m in layout.masters} == {
        "sm-myapp-prod-db.v2", "sm-app-config", "sm-app", "sm-db-creds",
        "ssm-app-db-password", "ssm-app-feature-flags", "ssm-app-param",
    }
    assert layout.replicas == () and layout.rbac == ()


def test_master_labels_and_annotations(inventory_items):
    master = {m.name: m for m in plan(inventory_items, []).masters}["sm-db-creds"]
    assert master.labels == {LABEL_MANAGED_BY: "kecs", LABEL_SOURCE: "secretsmanager"}
    assert master.annotations == {
        "kecs.io/source-name": "db-creds",
        "kecs.io/source-arn": "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-creds-A1b2C3",
        "kecs.io/source-version": "cur-id",
        "kecs.io/source-type": "secret",
        "kecs.io/last-changed": "2025-08-12T13:38:45Z",
        ANNOTATION_STACK: "kecs-secrets/dev",
    }


@pytest.mark.parametrize(
    ("item_type", "ssm_kind", "kind"),
    [
        ("SecureString", "secret", "Secret"),
        ("String", "secret", "Secret"),
        ("StringList", "secret", "Secret"),
        ("SecureString", "by-sensitivity", "Secret"),
        ("String", "by-sensitivity", "ConfigMap"),
        ("StringList", "by-sensitivity", "ConfigMap"),
    ],
)
def test_every_ssm_parameter_is_a_secret_unless_by_sensitivity_is_asked_for(item_type, ssm_kind, kind):
    layout = plan([parameter("/p", item_type)], [], LayoutSettings(ssm_kind=ssm_kind))
    assert layout.masters[0].kind == kind


def test_default_ssm_kind_is_secret():
    assert LayoutSettings().ssm_kind == "secret"
    assert plan([parameter("/p", "String")], []).masters[0].kind == "Secret"


@pytest.mark.parametrize("ssm_kind", ["secret", "by-sensitivity"])
def test_secrets_manager_is_always_a_secret(ssm_kind):
    assert plan([secret("s")], [], LayoutSettings(ssm_kind=ssm_kind)).masters[0].kind == "Secret"


def test_data_keys_always_hold_value_and_every_selected_json_key_and_items_of_a_string_list(inventory_items):
    arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-creds-A1b2C3"
    layout = plan(inventory_items, [ref("a-us-east-1", f"{arn}:username::"), ref("a-us-east-1", arn)])
    keys = {m.name: m.data_keys for m in layout.masters}
    assert keys["sm-db-creds"] == ("username", "value")
    assert keys["ssm-app-feature-flags"] == ("items", "value")
    assert keys["ssm-app-param"] == ("value",)


def test_replicas_go_only_where_needed_with_adr_labels_and_annotations(inventory_items):
    demand = [ref("default-us-east-1", "/app/db/password"), ref("other-us-east-1", "app-param")]
    layout = plan(inventory_items, demand)
    assert [(r.namespace, r.name, r.kind) for r in layout.replicas] == [
        ("default-us-east-1", "ssm-app-db-password", "Secret"),
        ("other-us-east-1", "ssm-app-param", "Secret"),
    ]
    replica = layout.replicas[0]
    assert replica.labels == {
        LABEL_MANAGED_BY: "kecs",
        LABEL_SOURCE: "ssm",
        LABEL_REPLICATED_FROM: "kecs-system",
    }
    assert replica.annotations[ANNOTATION_SOURCE_NAMESPACE] == "kecs-system"
    # The source's own last-changed time, never "now".
    assert replica.annotations[ANNOTATION_LAST_REPLICATED] == "2025-08-12T13:38:45Z"


def test_layout_is_deterministic_whatever_the_order_of_inputs(inventory_items):
    demand = [ref("b-us-east-1", "app-param"), ref("a-us-east-1", "/app/db/password"), ref("a-us-east-1", "app-config")]
    assert plan(inventory_items, demand) == plan(list(reversed(inventory_items)), list(reversed(demand)))


def test_pod_reference_name_equals_master_name_kecs_bug_1(inventory_items):
    # KECS made master sm-myapp-prod-db-v2 but pods referenced sm-myapp-prod-db.v2.
    layout = plan(inventory_items, [ref("ns-us-east-1", "myapp/prod/db.v2")])
    assert layout.replicas[0].name == kubernetes_name("secretsmanager", "myapp/prod/db.v2") == "sm-myapp-prod-db.v2"
    assert layout.replicas[0].name in {m.name for m in layout.masters}


def test_two_consumers_of_different_json_keys_both_keep_their_key_kecs_bug_4(inventory_items):
    arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-creds-A1b2C3"
    layout = plan(inventory_items, [ref("a-us-east-1", f"{arn}:username::"), ref("b-us-east-1", f"{arn}:password::")])
    master = {m.name: m for m in layout.masters}["sm-db-creds"]
    assert master.json_keys == ("password", "username")
    assert {(r.namespace, r.name) for r in layout.replicas} == {("a-us-east-1", "sm-db-creds"), ("b-us-east-1", "sm-db-creds")}


def test_colliding_source_names_get_distinct_masters_kecs_bug_3():
    items = [parameter("/App/DB_pass"), parameter("app/db-pass")]
    layout = plan(items, [ref("ns-us-east-1", "/App/DB_pass"), ref("ns-us-east-1", "app/db-pass")])
    names = [m.name for m in layout.masters]
    assert len(set(names)) == 2 and all(n.startswith("ssm-app-db-pass-") for n in names)
    assert sorted(r.name for r in layout.replicas) == sorted(names)


def test_version_change_changes_only_that_master_kecs_bug_6(inventory_items):
    before = plan(inventory_items, [ref("ns-us-east-1", "app-config")])
    changed = [i if i.name != "app-config" else secret("app-config", "QwErTy", version="v-2") for i in inventory_items]
    after = plan(changed, [ref("ns-us-east-1", "app-config")])
    differing = {m.name for m in after.masters} ^ {m.name for m in before.masters}
    assert differing == set()
    changed_masters = [a.name for a, b in zip(after.masters, before.masters, strict=True) if a != b]
    assert changed_masters == ["sm-app-config"]


def test_bare_name_value_from_is_resolved_not_dropped_kecs_bug_5(inventory_items):
    layout = plan(inventory_items, [ref("ns-us-east-1", "app-param")])
    assert [r.name for r in layout.replicas] == ["ssm-app-param"]


def test_rbac_cluster_role_mode(inventory_items):
    layout = plan(inventory_items, [ref("ns-us-east-1", "app-param")])
    (rbac,) = layout.rbac
    assert (rbac.namespace, rbac.service_account, rbac.role_binding, rbac.role_kind, rbac.role_name) == (
        "ns-us-east-1", "kecs-secret-reader-ns-us-east-1", "kecs-secret-reader-ns-us-east-1",
        "ClusterRole", "kecs-system-secret-reader",
    )


def test_the_shared_cluster_role_names_exactly_the_masters_some_namespace_receives(inventory_items):
    """Nothing else in the master namespace: not the masters no namespace needs, not objects of anybody else."""
    settings = LayoutSettings(ssm_kind="by-sensitivity")
    demand = [ref("a-us-east-1", "app-param"), ref("a-us-east-1", "db-creds"), ref("b-us-east-1", "/app/db/password")]
    layout = plan(inventory_items, demand, settings)
    # One rule per resource: a Secret master's name never opens a ConfigMap of that name, nor the other way round.
    assert layout.cluster_role.rules == (
        ReadRule("secrets", ("sm-db-creds", "ssm-app-db-password")),
        ReadRule("configmaps", ("ssm-app-param",)),
    )
    assert layout.cluster_role.rules[1].as_api() == {
        "apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"], "resourceNames": ["ssm-app-param"],
    }
    assert all(rbac.rules == () for rbac in layout.rbac)  # they bind the ClusterRole
    only_secrets = plan(inventory_items, [ref("a-us-east-1", "db-creds")])
    assert only_secrets.cluster_role.rules == (ReadRule("secrets", ("sm-db-creds",)),)  # never a rule without names


def test_cluster_role_is_named_after_the_master_namespace(inventory_items):
    layout = plan(inventory_items, [ref("ns-us-east-1", "app-param")], LayoutSettings(master_namespace="other-system"))
    assert layout.rbac[0].role_name == "other-system-secret-reader"


def test_rbac_need_to_know_mode_lists_exactly_the_needed_masters(inventory_items):
    settings = LayoutSettings(rbac_mode="need-to-know")
    layout = plan(inventory_items, [ref("ns-us-east-1", "app-param"), ref("ns-us-east-1", "/app/db/password")], settings)
    (rbac,) = layout.rbac
    assert (rbac.role_kind, rbac.role_name) == ("Role", "kecs-secret-reader-ns-us-east-1")
    assert rbac.rules == (ReadRule("secrets", ("ssm-app-db-password", "ssm-app-param")),)
    assert layout.cluster_role is None
    by_kind = plan(inventory_items, [ref("ns-us-east-1", "app-param"), ref("ns-us-east-1", "db-creds")],
                   LayoutSettings(rbac_mode="need-to-know", ssm_kind="by-sensitivity"))  # fmt: skip
    assert by_kind.rbac[0].rules == (ReadRule("secrets", ("sm-db-creds",)), ReadRule("configmaps", ("ssm-app-param",)))


def test_no_demand_means_no_rbac_at_all_kecs_bug_8(inventory_items):
    assert plan(inventory_items, []).rbac == ()


@pytest.mark.parametrize("namespace", ["kecs-system", "kube-system", "default", "Bad_NS", "x" * 64])
def test_replicas_never_go_to_master_denied_or_invalid_namespaces(inventory_items, namespace):
    with pytest.raises(LayoutError, match=repr(namespace)):
        plan(inventory_items, [ref(namespace, "app-param", "file td.json")])


def test_unresolvable_reference_fails_the_plan(inventory_items):
    with pytest.raises(ReferenceResolutionError, match="'missing' from pod ns/p annotation"):
        plan(inventory_items, [ref("ns-us-east-1", "missing", "pod ns/p annotation kecs.dev/secret-1-arn")])


def test_unresolvable_reference_can_be_a_warning(inventory_items):
    layout = plan(inventory_items, [ref("ns-us-east-1", "missing"), ref("ns-us-east-1", "app-param")],
                  LayoutSettings(unresolved_references="warn"))
    assert [r.name for r in layout.replicas] == ["ssm-app-param"]
    assert len(layout.warnings) == 1 and "'missing'" in layout.warnings[0]


def test_item_listed_twice_is_an_error():
    with pytest.raises(LayoutError, match="listed twice"):
        plan([parameter("/p"), parameter("/p", version="2")], [])


def test_deleted_source_drops_its_master_and_replicas_kecs_bug_7(inventory_items):
    demand = [ref("ns-us-east-1", "app-param")]
    before = plan(inventory_items, demand, LayoutSettings(unresolved_references="warn"))
    remaining = [i for i in inventory_items if i.name != "app-param"]
    after = plan(remaining, demand, LayoutSettings(unresolved_references="warn"))
    assert "ssm-app-param" not in {m.name for m in after.masters}
    assert after.replicas == () and before.replicas != ()
    assert check_deletions([m.name for m in before.masters], [m.name for m in after.masters], 10, False) == ["ssm-app-param"]


class TestDeletionGuard:
    def test_within_limit_returns_what_goes(self):
        assert check_deletions(["a", "b", "c"], ["a"], limit=2, allow=False) == ["b", "c"]

    def test_over_limit_is_refused(self):
        with pytest.raises(DeletionGuardError, match="delete 3 masters \\(limit 2\\)"):
            check_deletions(["a", "b", "c", "d"], ["a"], limit=2, allow=False)

    def test_override_allows_it(self):
        assert check_deletions(["a", "b", "c", "d"], ["a"], limit=2, allow=True) == ["b", "c", "d"]

    def test_empty_source_is_never_read_as_delete_everything(self):
        with pytest.raises(DeletionGuardError, match="lists no items"):
            check_deletions(["a"], [], limit=10, allow=False)

    def test_nothing_to_delete(self):
        assert check_deletions([], [], limit=0, allow=False) == []


class TestKecsWarnings:
    """The plan says which reference no KECS pod can be served, and why (plan warnings: log and stack output)."""

    def test_items_sharing_a_kecs_name_are_named_in_one_line(self):
        layout = plan([parameter("/App/DB_pass"), parameter("/app/db-pass"), parameter("/ok")], [])
        (line,) = layout.warnings
        assert line.startswith("KECS pods cannot be served ssm items '/App/DB_pass' and '/app/db-pass': ")
        assert "KECS references each of them as 'ssm-app-db-pass'" in line
        for master in layout.masters:
            if master.item.name != "/ok":
                assert repr(master.name) in line

    def test_an_invalid_kecs_name_is_named_with_the_refused_characters(self):
        layout = plan([secret("ops+alerts=main@team.example")], [])
        (line,) = layout.warnings
        assert "they reference 'sm-ops+alerts=main@team.example' and Kubernetes names cannot contain '+', '=', '@'" in line
        assert f"served as {layout.masters[0].name!r}" in line

    def test_a_reference_to_such_an_item_is_named_with_its_origin(self):
        item = secret("a+b")
        layout = plan([item], [ref("ns-us-east-1", item.arn, "pod ns-us-east-1/p annotation kecs.dev/secret-0-arn")])
        assert len(layout.warnings) == 2
        assert layout.warnings[1].startswith(
            f"reference {item.arn!r} from pod ns-us-east-1/p annotation kecs.dev/secret-0-arn: a KECS pod in ns-us-east-1 "
            "reads secretKeyRef sm-a+b/value, which is not served: Kubernetes names cannot contain '+' (the API server refuses the pod); item 'a+b' is served as"
        )

    def test_a_configmap_replica_is_unreadable_for_kecs_pods(self):
        item = parameter("/cfg/list", "StringList")
        layout = plan([item], [ref("ns-us-east-1", item.arn, "td")], LayoutSettings(ssm_kind="by-sensitivity"))
        (line,) = layout.warnings
        assert "reads secretKeyRef ssm-cfg-list/value, which is not served: it is served as a ConfigMap" in line
        assert plan([item], [ref("ns-us-east-1", item.arn, "td")]).warnings == ()

    def test_a_partial_arn_kecs_misreads_is_named(self):
        item = secret("app-config")
        partial = "arn:aws:secretsmanager:us-east-1:000000000000:secret:app-config"
        (line,) = plan([item], [ref("ns-us-east-1", partial, "td")]).warnings
        assert "reads secretKeyRef sm-app/value, which is not served: KECS reads the name 'app' from this ARN" in line
        (line,) = plan([item, secret("app")], [ref("ns-us-east-1", partial, "td")]).warnings
        assert line.endswith("such a pod would read item 'app' instead, if its namespace had it")

    def test_bare_names_and_served_references_give_no_warning(self, inventory_items):
        arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-creds-A1b2C3"
        demand = [ref("a-us-east-1", "/app/db/password"), ref("a-us-east-1", f"{arn}:username::"), ref("a-us-east-1", arn)]
        assert plan(inventory_items, demand).warnings == ()


def test_deletion_guard_counts_masters_that_only_moved_to_a_new_name():
    # A rename deletes the old master (and its replicas) all the same: it counts like any other deletion.
    with pytest.raises(DeletionGuardError, match=r"delete 2 masters \(limit 1\), 2 of them renamed"):
        check_deletions(["a", "b", "c"], ["a2", "b2", "c"], limit=1, allow=False, renamed=["a", "b"])
    assert check_deletions(["a", "b", "c"], ["a2", "b2", "c"], limit=2, allow=False, renamed=["a", "b"]) == ["a", "b"]
    with pytest.raises(DeletionGuardError, match=r"delete 1 masters \(limit 0\), 1 of them renamed"):
        check_deletions(["a", "b", "c"], ["a2", "b", "c"], limit=0, allow=False, renamed=["a"])
