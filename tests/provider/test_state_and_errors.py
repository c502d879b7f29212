"""Adapters that need no LocalStack: reading the stack's state from an export, one-line provider errors, the fingerprint key."""

from __future__ import annotations

import importlib.util
import sys
import types

import pytest

from kecs_secrets.errors import KecsSecretsError, SourceUnavailableError, StateUnavailableError
from kecs_secrets.model import StateObject, StateValue
from kecs_secrets.ownership import ownership_mark
from providers.dynamic_errors import report_project_errors_in_one_line
from providers.leftovers import LeftoverSweepProvider
from providers.pulumi_state import PulumiStackState, stack_state_from_export
from providers.source_value import FingerprintKeyProvider
from providers.source_values import SourceValuesProvider

SECRET = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "v1:abc"}
URN = "urn:pulumi:dev::kecs-secrets::kecs:secrets:CentralizedSecrets$kecs:secrets:NamespaceReplicas$kubernetes:core/v1:Secret::web/sm-db"
EXPORT = {
    "version": 3,
    "deployment": {
        "resources": [
            {"urn": "urn:stack", "type": "pulumi:pulumi:Stack"},
            {"urn": "urn:k8s", "type": "pulumi:providers:kubernetes", "inputs": {"kubeconfig": "x"}},
            {
                "urn": URN, "type": "kubernetes:core/v1:Secret",
                "inputs": {"metadata": {"name": "sm-db", "namespace": "web"}, "data": SECRET},
                "outputs": {"metadata": {"name": "sm-db", "namespace": "web", "uid": "uid-1"}, "data": SECRET},
            },
            {
                "urn": "urn:role", "type": "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
                "outputs": {"metadata": {"name": "kecs-system-secret-reader", "uid": "uid-2"}},
            },
            {
                "urn": "urn:value", "type": "pulumi-python:dynamic/kecs:SourceValue",
                "outputs": {"arn": "arn:db", "version": "v1", "keys": ["value", "user"], "data": SECRET, "fingerprint_key": SECRET},
            },
        ],
        "pending_operations": [
            {"type": "creating", "resource": {"urn": "urn:pending", "type": "kubernetes:core/v1:Secret",
                                             "inputs": {"metadata": {"name": "sm-new", "namespace": "kecs-system"}}}},
        ],
    },
}


def test_the_state_gives_objects_with_their_uids_and_the_keys_each_value_had():
    state = stack_state_from_export(EXPORT)
    assert state.objects == (
        StateObject("ClusterRole", "", "kecs-system-secret-reader", "urn:role", "uid-2"),
        StateObject("Secret", "web", "sm-db", URN, "uid-1"),
    )
    assert [o.urn for o in state.objects] == ["urn:role", URN]
    assert state.values == (StateValue("arn:db", "v1", ("user", "value")),)


def test_the_state_reads_value_readers_of_the_current_shape_too():
    reader = {"urn": "urn:value", "type": "pulumi-python:dynamic/kecs:SourceValue", "outputs": {
        "item": {"source": "secretsmanager", "name": "db", "arn": "arn:db", "version": "v2"}, "keys": ["value"], "data": SECRET,
    }}
    state = stack_state_from_export({"version": 3, "deployment": {"resources": [reader]}})
    assert state.values == (StateValue("arn:db", "v2", ("value",)),)


def test_the_state_reads_the_one_value_reader_of_this_version():
    """``kecs:SourceValues``: one StateValue per item, with the keys that item's value had (the values stay encrypted)."""
    item = {"source": "secretsmanager", "name": "db", "arn": "arn:db", "version": "v3", "encoding": "base64", "json_keys": ["user"]}
    reader = {"urn": "urn:values", "type": "pulumi-python:dynamic/kecs:SourceValues", "outputs": {
        "items": {"sm-db": item, "ssm-x": {**item, "source": "ssm", "name": "/x", "arn": "arn:x", "version": "2", "json_keys": []}},
        "keys": {"sm-db": ["value", "user"], "ssm-x": ["value"]},
        "values": SECRET, "fingerprint_key": SECRET, "fingerprints": {"sm-db": "0" * 64, "ssm-x": "1" * 64},
    }}
    earlier = {"urn": "urn:value", "type": "pulumi-python:dynamic/kecs:SourceValue", "outputs": {
        "item": {"source": "ssm", "name": "/y", "arn": "arn:y", "version": "1"}, "keys": ["value"], "data": SECRET,
    }}
    state = stack_state_from_export({"version": 3, "deployment": {"resources": [reader, earlier]}})
    assert state.values == (
        StateValue("arn:db", "v3", ("user", "value"), "sm-db"),
        StateValue("arn:x", "2", ("value",), "ssm-x"),
        StateValue("arn:y", "1", ("value",)),
    )
    # A reader whose items are encrypted (never decrypted here) gives nothing.
    hidden = {**reader, "outputs": {**reader["outputs"], "items": SECRET}}
    assert stack_state_from_export({"version": 3, "deployment": {"resources": [hidden]}}).values == ()


def test_the_state_reads_the_version_whose_data_the_reader_holds_and_its_stamp():
    """A reader that kept an item's earlier data (its new value could not be used) holds that version; one that holds no
    data for an item gives nothing for it; the stamp is the record's (None in states made before stamps were recorded)."""
    item = ["secretsmanager", "db", "arn:db", "v3", "base64", ["user"], "2025-08-12T13:38:45.233000Z"]
    reader = {"urn": "urn:values", "type": "pulumi-python:dynamic/kecs:SourceValues", "outputs": {
        "items": {"sm-db": item, "sm-new": ["secretsmanager", "new", "arn:new", "n1", "base64", []],
                  "sm-ok": ["secretsmanager", "ok", "arn:ok", "o1", "base64", [], "2025-08-12T13:38:46.000001Z"]},
        "endpoint": "http://localstack", "region": "us-east-1",
        "keys": {"sm-db": ["value", "user"], "sm-ok": ["value"]},
        "held": {"sm-db": ["arn:db", "v2", "2025-08-12T13:38:40.100000Z"], "sm-new": ["", "", ""]},
        "problems": {"sm-db": "...", "sm-new": "..."},
        "values": SECRET, "fingerprint_key": SECRET, "fingerprints": {"sm-db": "0" * 64, "sm-ok": "1" * 64},
    }}
    state = stack_state_from_export({"version": 3, "deployment": {"resources": [reader]}})
    assert state.values == (
        StateValue("arn:db", "v2", ("user", "value"), "sm-db", "2025-08-12T13:38:40.100000Z", ("arn:db", "v3", "2025-08-12T13:38:45.233000Z")),
        StateValue("arn:ok", "o1", ("value",), "sm-ok", "2025-08-12T13:38:46.000001Z"),
    )


def test_the_state_gives_the_annotations_and_whether_data_was_given_of_each_object():
    """What the last run asked of a Secret or ConfigMap (its inputs): annotations, and whether it gave data."""
    annotations = {"kecs.io/source-arn": "arn:db", "kecs.io/source-version": "v1"}
    secret = {
        "urn": URN, "type": "kubernetes:core/v1:Secret",
        "inputs": {"metadata": {"name": "sm-db", "namespace": "web", "annotations": annotations}, "data": SECRET},
        "outputs": {"metadata": {"name": "sm-db", "namespace": "web", "uid": "uid-1", "annotations": {**annotations, "other": "x"}}},
    }
    kept = {  # a ConfigMap the last run gave no data (it kept what it had)
        "urn": "urn:cm", "type": "kubernetes:core/v1:ConfigMap",
        "inputs": {"metadata": {"name": "ssm-x", "namespace": "web", "annotations": {"kecs.io/source-version": "2"}}},
        "outputs": {"metadata": {"name": "ssm-x", "namespace": "web", "uid": "uid-3"}, "data": {"value": "x"}},
    }
    role = {"urn": "urn:role", "type": "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
            "inputs": {"metadata": {"name": "kecs-system-secret-reader"}, "data": {}},
            "outputs": {"metadata": {"name": "kecs-system-secret-reader", "uid": "uid-2"}}}
    hidden = {  # metadata made secret: no annotations are read from it
        "urn": "urn:hidden", "type": "kubernetes:core/v1:Secret",
        "inputs": {"metadata": SECRET, "data": SECRET},
        "outputs": {"metadata": {"name": "sm-hidden", "namespace": "web", "uid": "uid-4"}},
    }
    state = stack_state_from_export({"version": 3, "deployment": {"resources": [secret, kept, role, hidden]}})
    found = {o.name: (o.kind, dict(o.annotations), o.has_data) for o in state.objects}
    assert found == {
        "sm-db": ("Secret", annotations, True),
        "ssm-x": ("ConfigMap", {"kecs.io/source-version": "2"}, False),
        "kecs-system-secret-reader": ("ClusterRole", {}, False),
        "sm-hidden": ("Secret", {}, True),
    }


def test_an_empty_stack_has_an_empty_state():
    assert stack_state_from_export({"version": 3, "deployment": {}}).objects == ()


def test_an_unreadable_state_is_an_error_naming_the_stack(tmp_path):
    with pytest.raises(StateUnavailableError, match="cannot read the state of stack 'nope'"):
        PulumiStackState("nope", cwd=str(tmp_path), command="/nonexistent/pulumi").read()


def _fake_provider_host(monkeypatch):
    """A stand-in for ``python -m pulumi.dynamic``: it reports a provider's exception with ``traceback.format_exc()``."""
    host = types.ModuleType("__main__")
    exec(  # the host's reporting code, as the SDK has it
        "import traceback\n"
        "class DynamicResourceProviderServicer: pass\n"
        "def _abort_with_traceback(fn): return fn\n"
        "def report(fn):\n"
        "    try:\n"
        "        fn()\n"
        "    except Exception:\n"
        "        return traceback.format_exc()\n",
        host.__dict__,
    )
    monkeypatch.setitem(sys.modules, "__main__", host)
    return host


def test_the_sdk_host_still_reports_errors_with_traceback_format_exc():
    """The one-line report relies on this line of the SDK's dynamic provider host."""
    spec = importlib.util.find_spec("pulumi.dynamic.__main__")
    assert spec is not None and spec.origin is not None
    with open(spec.origin, encoding="utf-8") as handle:
        text = handle.read()
    assert "context.abort(grpc.StatusCode.UNKNOWN, traceback.format_exc())" in text


def test_provider_errors_of_the_project_are_one_line_other_errors_keep_their_traceback(monkeypatch):
    host = _fake_provider_host(monkeypatch)
    report_project_errors_in_one_line()
    report_project_errors_in_one_line()  # idempotent

    def unreachable():
        raise SourceUnavailableError("cannot read secretsmanager item 'app/db' from http://127.0.0.1:9: EndpointConnectionError")

    def bug():
        raise KeyError("x")

    assert host.report(unreachable) == (
        "SourceUnavailableError: cannot read secretsmanager item 'app/db' from http://127.0.0.1:9: EndpointConnectionError"
    )
    assert host.report(bug).startswith("Traceback (most recent call last):")


def test_outside_the_provider_host_nothing_is_patched(monkeypatch):
    import traceback

    plain = types.ModuleType("__main__")
    plain.traceback = traceback
    monkeypatch.setitem(sys.modules, "__main__", plain)
    report_project_errors_in_one_line()
    assert plain.traceback is traceback


def test_the_reader_makes_the_fingerprint_key_on_create_and_keeps_it_on_update_and_refresh():
    """The stack's key lives in the reader's outputs: made once, random, never changed by a run (only by --replace)."""
    provider = SourceValuesProvider()
    props = {"items": {}, "endpoint": "", "region": "us-east-1", "selected_by": {}}
    made = provider.create(props).outs
    key = made["fingerprint_key"]
    assert len(bytes.fromhex(key)) == 32
    assert provider.create(props).outs["fingerprint_key"] != key  # a new reader (a new stack, --replace): a new key
    assert provider.diff("source-values", made, props).changes is False  # the program never sends a key
    assert provider.update("source-values", made, props).outs["fingerprint_key"] == key
    assert provider.read("source-values", made).outs["fingerprint_key"] == key
    assert "fingerprint_key" not in provider.read("source-values", made).inputs


def test_the_retired_key_resource_of_earlier_versions_is_only_deleted():
    """``kecs:FingerprintKey`` of an existing stack: no change, a refresh keeps its state, delete does nothing."""
    provider = FingerprintKeyProvider()
    olds = {"key": "ab" * 32}
    assert provider.diff("fingerprint-key", olds, {}).changes is False
    assert provider.read("fingerprint-key", olds).outs == olds
    assert provider.delete("fingerprint-key", olds) is None


def test_value_check_reads_only_for_new_or_changed_secrets_with_selected_keys():
    unverified = SourceValuesProvider._keys_unverified
    db = {"source": "secretsmanager", "name": "db", "arn": "a", "version": "v2", "endpoint": "e", "region": "r", "json_keys": ["user"]}
    plain = {**db, "name": "plain", "arn": "b", "json_keys": []}
    news = {"items": {"sm-db": db, "sm-plain": plain}}
    assert set(unverified({}, news)) == {"sm-db"}  # a new item (and only the one with a selected key)
    assert set(unverified({"items": {"sm-db": {**db, "version": "v1"}, "sm-plain": plain}}, news)) == {"sm-db"}  # a new version
    assert unverified(news, news) == {}  # nothing changed: no read (the program checks keys from state)
    assert set(unverified({"items": {"sm-db": {**db, "json_keys": []}}}, news)) == {"sm-db"}  # a newly selected key the program could not check
    assert unverified({}, {"items": {"sm-plain": plain}}) == {}  # no selected key: nothing to verify
    assert unverified({}, {"items": {"sm-db": {**db, "version": None}}}) == {}  # no version to read by: nothing to verify
    # Among several items, only the changed one is read.
    other = {**db, "name": "other", "arn": "c"}
    both = {"items": {"sm-db": db, "sm-other": other}}
    assert set(unverified({"items": {"sm-db": db, "sm-other": {**other, "version": "v1"}}}, both)) == {"sm-other"}
    assert unverified({}, news)["sm-db"]["arn"] == "a"  # the item to read, as it is now


def test_the_leftover_sweep_changes_only_when_there_is_something_to_delete():
    provider = LeftoverSweepProvider()
    swept = {"objects": [["Secret", "ns", "sm-x", "uid"]], "kubeconfig": "", "context": "", "deleted": ["Secret ns/sm-x"]}
    assert provider.diff("id", swept, {**swept, "objects": []}).changes is False
    assert provider.diff("id", {**swept, "objects": []}, swept).changes is True
    assert provider.create({"objects": [], "kubeconfig": "/nonexistent", "context": ""}).outs["deleted"] == []


def test_the_leftover_sweep_deletes_only_candidates_whose_mark_verifies_and_names_the_others():
    """A copy carries the stack annotation and the mark of the object it was copied from: its mark fails where it is."""
    key = bytes(range(32))
    stack = "kecs-secrets/dev"
    copied = ["Secret", "web-us-east-1", "sm-app-db", "uid-c", ownership_mark(key, stack, "Secret", "other-us-east-1", "sm-app-db")]
    forged = ["ClusterRole", "", "kecs-system-secret-reader", "uid-f", "0" * 32]
    props = {"objects": [copied, forged], "stack": stack, "key": key.hex(), "kubeconfig": "/nonexistent", "context": ""}
    # Nothing verifies: the Kubernetes client is never used (the kubeconfig does not exist), both are named.
    outs = LeftoverSweepProvider().create(props).outs
    assert outs["deleted"] == [] and outs["skipped"] == ["Secret web-us-east-1/sm-app-db", "ClusterRole kecs-system-secret-reader"]
    assert "key" not in outs
    # Under another key (another stack of the same name, or none at all) nothing verifies either.
    genuine = ["Secret", "kecs-system", "sm-gone", "uid-g", ownership_mark(key, stack, "Secret", "kecs-system", "sm-gone")]
    for other in (bytes(32).hex(), None):
        outs = LeftoverSweepProvider().create({**props, "objects": [genuine], "key": other}).outs
        assert outs["skipped"] == ["Secret kecs-system/sm-gone"]
    # Nothing whose mark verifies is nothing to delete: no change, so copies never make a run a change. Without the key
    # (a preview in which the reader changes) any candidate may be one to delete.
    provider = LeftoverSweepProvider()
    assert provider.diff("id", props, props).changes is False
    assert provider.diff("id", props, {**props, "objects": [copied, genuine]}).changes is True
    assert provider.diff("id", props, {**props, "key": object()}).changes is True
    # Its own mark verifies: the sweep goes on to delete it (here it fails to load the missing kubeconfig).
    with pytest.raises(KecsSecretsError, match="/nonexistent"):
        LeftoverSweepProvider().create({**props, "objects": [genuine, copied]})
