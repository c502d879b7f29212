"""Values with the real CLI, LocalStack and control plane: one unusable value never blocks the others, and an object
never holds data older than the version its annotations name.

- a value the reader cannot use (a JSON object nested too deeply) is skipped and reported by name, with its origin, in
  a warning line and the `warnings` output; its master keeps its data and keeps naming that data's version; another
  value rotated in the same `up` lands; the run after that changes nothing and reads nothing;
- an SSM parameter deleted and made again (version 1 again), a secret deleted and made again under its name, and a
  secret restored from deletion each converge to the new value on the next plain `up`.
"""

from __future__ import annotations

import base64
import contextlib
import json

import pytest

from kecs_secrets.model import ANNOTATION_LAST_CHANGED, ANNOTATION_SOURCE_VERSION
from kecs_secrets.naming import kubernetes_name
from tests.e2e.test_safety import REGION, Scene
from tests.support.counting_proxy import VALUE_READS, CountingProxy

pytestmark = pytest.mark.e2e

DEEP = '{"pw": ' + "[" * 30_000 + "]" * 30_000 + "}"


@pytest.fixture
def scene(tmp_path, endpoint, kubeconfig, kube, aws):
    made = Scene(tmp_path, endpoint, kubeconfig, kube, aws)
    made.ssm = aws("ssm")
    made.parameters = []
    yield made
    try:
        made.close()
    finally:
        for name in made.parameters:
            with contextlib.suppress(made.ssm.exceptions.ParameterNotFound):
                made.ssm.delete_parameter(Name=name)


def _value(obj) -> str:
    return base64.b64decode(obj["data"]["value"]).decode()


def _version(obj) -> str:
    return obj["metadata"]["annotations"][ANNOTATION_SOURCE_VERSION]


def test_an_unusable_value_is_skipped_and_reported_while_another_rotation_lands(scene):
    s = scene
    db = s.secret("db", json.dumps({"pw": "old"}))
    api = s.secret("api", "api-1")
    with CountingProxy(s.endpoint) as proxy:
        stack = s.make_stack(endpoint=proxy.endpoint, demand={s.web: [f"{s.p}/db", f"{s.p}/api"]})
        stack.up()
        good = s.kube.secret(s.master_ns, s.master("db"))

        bad_version = s.sm.put_secret_value(SecretId=db, SecretString=DEEP)["VersionId"]
        s.sm.put_secret_value(SecretId=api, SecretString="api-2")
        result, log = stack.up()
        text = "\n".join(log.text)
        expected = (f"secret '{s.p}/db' is a JSON object nested too deeply to split into fields (version '{bad_version}'): "
                    f"skipped; master '{s.master('db')}' keeps the data of version '{_version(good)}'")
        assert expected in text and "Traceback" not in text and "[[[[" not in text
        assert expected in result.outputs["warnings"].value
        for ns in (s.master_ns, s.web):
            assert _value(s.kube.secret(ns, s.master("api"))) == "api-2"
            kept = s.kube.secret(ns, s.master("db"))
            assert kept["data"] == good["data"], "the master and its replica keep the data they had"
            assert _version(kept) == _version(good) != bad_version, "and keep naming its version"
        assert s.kube.secret(s.master_ns, s.master("db"))["metadata"]["annotations"][ANNOTATION_LAST_CHANGED] == (
            good["metadata"]["annotations"][ANNOTATION_LAST_CHANGED]
        )

        # Nothing new: nothing changes, nothing is read, the warning stays.
        proxy.take()
        result, log = stack.up()
        assert log.changed() == {} and not set(proxy.take()) & VALUE_READS
        assert expected in result.outputs["warnings"].value

        # Another value changes: the preview shows that value's objects and the reader changing, not the skipped item's.
        s.sm.put_secret_value(SecretId=api, SecretString="api-3")
        _, preview = stack.preview()
        changed = sorted(urn.rsplit("::", 1)[1] for urn in preview.changed())
        assert changed == sorted(["values", s.master("api"), f"{s.web}/{s.master('api')}"]), changed
        _, log = stack.up()
        assert sorted(urn.rsplit("::", 1)[1] for urn in log.changed()) == changed

        # A usable version again: it lands, and the warning is gone.
        s.sm.put_secret_value(SecretId=db, SecretString=json.dumps({"pw": "new"}))
        result, _ = stack.up()
    assert json.loads(_value(s.kube.secret(s.web, s.master("db")))) == {"pw": "new"}
    assert not [w for w in result.outputs["warnings"].value if "nested too deeply" in w]


def test_an_ssm_parameter_deleted_and_made_again_converges_to_the_new_value(scene):
    s = scene
    name = f"/{s.p}/token"
    s.parameters.append(name)
    s.ssm.put_parameter(Name=name, Type="SecureString", Value="old-token")
    master = kubernetes_name("ssm", name)
    with CountingProxy(s.endpoint) as proxy:
        stack = s.make_stack(
            endpoint=proxy.endpoint, namePrefixes=[f"/{s.p}/"], demand={s.web: [f"arn:aws:ssm:{REGION}:000000000000:parameter{name}"]}
        )
        stack.up()
        assert _value(s.kube.secret(s.web, master)) == "old-token"

        s.ssm.delete_parameter(Name=name)
        s.ssm.put_parameter(Name=name, Type="SecureString", Value="new-token")
        assert s.ssm.get_parameter(Name=name)["Parameter"]["Version"] == 1
        stack.up()
        for ns in (s.master_ns, s.web):
            obj = s.kube.secret(ns, master)
            assert (_value(obj), _version(obj)) == ("new-token", "1")

        proxy.take()
        _, log = stack.up()
        assert log.changed() == {} and not set(proxy.take()) & VALUE_READS


def test_a_secret_deleted_and_made_again_under_its_name_converges_to_the_new_value(scene):
    s = scene
    s.secret("db", "old-db")
    stack = s.make_stack(demand={s.web: [f"{s.p}/db"]})
    stack.up()
    assert _value(s.kube.secret(s.web, s.master("db"))) == "old-db"

    s.delete_secret("db")
    s.secret("db", "new-db")
    stack.up()
    for ns in (s.master_ns, s.web):
        assert _value(s.kube.secret(ns, s.master("db"))) == "new-db"


def test_a_secret_restored_from_deletion_converges_to_its_value(scene):
    s = scene
    arn = s.secret("db", "db-1")
    other = s.secret("other", "other-1")
    stack = s.make_stack(demand={s.web: [f"{s.p}/other"]})
    stack.up()
    assert _value(s.kube.secret(s.master_ns, s.master("db"))) == "db-1"

    s.sm.delete_secret(SecretId=arn, RecoveryWindowInDays=7)
    stack.up()
    assert s.kube.secret(s.master_ns, s.master("db")) is None, "a secret scheduled for deletion is not synced"

    s.sm.restore_secret(SecretId=arn)
    stack.up()
    restored = s.kube.secret(s.master_ns, s.master("db"))
    current = s.sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
    assert _value(restored) == "db-1" and current[_version(restored)] == ["AWSCURRENT"]

    s.sm.put_secret_value(SecretId=arn, SecretString="db-2")
    s.sm.put_secret_value(SecretId=other, SecretString="other-2")
    stack.up()
    assert _value(s.kube.secret(s.master_ns, s.master("db"))) == "db-2"
    assert _value(s.kube.secret(s.web, s.master("other"))) == "other-2"


def test_a_stack_of_the_release_before_stamps_upgrades_reading_nothing_and_then_sees_a_recreated_parameter(scene):
    """States of 9f93119 hold no stamps: the upgrade `up` changes nothing and reads no value. The reader's next update
    (another value changed) reads every item again, once, so a parameter deleted and made again at version 1 in the
    meantime converges in that run."""
    from tests.support.real import ROOT
    from tests.support.releases import export_release
    from tests.support.stack import ProjectStack

    s = scene
    name, other = f"/{s.p}/token", f"/{s.p}/other"
    s.parameters += [name, other]
    s.ssm.put_parameter(Name=name, Type="SecureString", Value="old-token")
    s.ssm.put_parameter(Name=other, Type="SecureString", Value="other-1")
    master = kubernetes_name("ssm", name)
    with CountingProxy(s.endpoint) as proxy:
        config = {
            "endpoint": proxy.endpoint, "region": REGION, "masterNamespace": s.master_ns, "namePrefixes": [f"/{s.p}/"],
            "kubeconfig": s.kubeconfig, "demand": {s.web: [f"arn:aws:ssm:{REGION}:000000000000:parameter{name}"]},
        }
        (s.tmp / "release").mkdir()
        previous = export_release("9f93119", s.tmp / "release")
        s.stack = stack = ProjectStack(s.tmp / "upgrade", f"e2e-up-{s.p}", config, program_root=previous)
        stack.up()
        stack.use_program(ROOT)
        proxy.take()
        _, preview = stack.preview()
        _, log = stack.up()
        # The reader does not change (its stamp-less records are taken as the same); the only changes of the upgrade
        # are the ownership marks every Kubernetes object takes in place (tests/e2e/test_upgrade_ownership_marks.py).
        for changed in (preview.changed_by_the_program(), log.changed_by_the_program()):
            assert changed and all(op == "update" and urn.split("::")[2].rsplit("$", 1)[-1].startswith("kubernetes:")
                                   for urn, op in changed.items()), changed
        assert not set(proxy.take()) & VALUE_READS

        s.ssm.delete_parameter(Name=name)
        s.ssm.put_parameter(Name=name, Type="SecureString", Value="new-token")
        s.ssm.put_parameter(Name=other, Type="SecureString", Value="other-2", Overwrite=True)
        stack.up()
    for ns in (s.master_ns, s.web):
        assert (_value(s.kube.secret(ns, master)), _version(s.kube.secret(ns, master))) == ("new-token", "1")
