import datetime as dt

import pytest

from kecs_secrets.errors import SourceUnavailableError
from kecs_secrets.inventory import read_inventory, rfc3339


class FakeSource:
    """The narrow MetadataSource interface, recording calls."""

    def __init__(self, secrets=(), parameters=(), tags=None, fail=False):
        self.secrets, self.parameters, self.tags, self.fail = list(secrets), list(parameters), tags or {}, fail
        self.calls: list[str] = []

    def list_secrets(self, prefixes=()):
        self.calls.append("list_secrets")
        if self.fail:
            raise SourceUnavailableError("cannot read Secrets Manager ListSecrets from http://x: EndpointConnectionError")
        return self.secrets

    def describe_parameters(self, path, prefixes=()):
        self.calls.append(f"describe_parameters {path}")
        return [p for p in self.parameters if path == "/" or p["Name"].startswith(path.rstrip("/") + "/")]

    def parameter_tags(self, name):
        self.calls.append(f"tags {name}")
        return self.tags.get(name, {})

    def account(self):
        self.calls.append("account")
        return "123456789012"


def sm(name, versions=None, **extra):
    return {
        "Name": name,
        "ARN": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf",
        "SecretVersionsToStages": versions if versions is not None else {"v2": ["AWSCURRENT"], "v1": ["AWSPREVIOUS"]},
        "LastChangedDate": 1755005925.233,
        **extra,
    }


def param(name, kind="String", version=3):
    return {"Name": name, "Type": kind, "Version": version, "LastModifiedDate": dt.datetime(2025, 8, 12, 13, 38, 45, tzinfo=dt.UTC)}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1755005925.233, "2025-08-12T13:38:45Z"),  # LocalStack's epoch float (KECS bug 11)
        (1755005925, "2025-08-12T13:38:45Z"),
        ("1755005925.233", "2025-08-12T13:38:45Z"),
        (dt.datetime(2025, 8, 12, 13, 38, 45, 500000, tzinfo=dt.UTC), "2025-08-12T13:38:45Z"),
        (dt.datetime(2025, 8, 12, 15, 38, 45, tzinfo=dt.timezone(dt.timedelta(hours=2))), "2025-08-12T13:38:45Z"),
        ("2025-08-12T13:38:45Z", "2025-08-12T13:38:45Z"),
        (None, ""),
    ],
)
def test_timestamps_become_rfc3339_utc(value, expected):
    assert rfc3339(value) == expected


def test_current_version_and_changed_time_come_from_metadata():
    items, warnings = read_inventory(FakeSource([sm("db")]), region="us-east-1")
    (item,) = items
    assert (item.version, item.last_changed, item.item_type) == ("v2", "2025-08-12T13:38:45Z", "secret")
    assert warnings == []


def test_secret_without_a_current_version_is_skipped_with_a_warning():
    items, warnings = read_inventory(FakeSource([sm("empty", versions={})]), region="us-east-1")
    assert items == [] and "'empty' has no AWSCURRENT version" in warnings[0]


def test_secret_scheduled_for_deletion_is_not_synced():
    items, _ = read_inventory(FakeSource([sm("going", DeletedDate=1755005925.0)]), region="us-east-1")
    assert items == []


def test_parameter_arn_is_built_with_the_real_account_when_the_api_omits_it():
    source = FakeSource(parameters=[param("/app/db/password", "SecureString"), param("plain")])
    items, _ = read_inventory(source, region="eu-west-1")
    assert {i.name: i.arn for i in items} == {
        "/app/db/password": "arn:aws:ssm:eu-west-1:123456789012:parameter/app/db/password",
        "plain": "arn:aws:ssm:eu-west-1:123456789012:parameter/plain",
    }
    assert source.calls.count("account") == 1


def test_parameter_paths_are_read_once_each_and_deduplicated():
    source = FakeSource(parameters=[param("/app/a"), param("/app/b/c"), param("/other/x")])
    items, _ = read_inventory(source, region="us-east-1", ssm_paths=("/app", "/app/b"))
    assert [i.name for i in items] == ["/app/a", "/app/b/c"]


def test_name_prefix_and_tag_filters():
    secrets = [sm("team-a/x", Tags=[{"Key": "env", "Value": "dev"}]), sm("team-a/y"), sm("team-b/z", Tags=[{"Key": "env", "Value": "dev"}])]
    source = FakeSource(secrets, [param("/team-a/p")], tags={"/team-a/p": {"env": "dev"}})
    items, _ = read_inventory(source, region="us-east-1", name_prefixes=("team-a/", "/team-a/"), tags={"env": "dev"})
    assert [i.name for i in items] == ["team-a/x", "/team-a/p"]


def test_unreadable_source_raises_instead_of_returning_nothing():
    with pytest.raises(SourceUnavailableError):
        read_inventory(FakeSource(fail=True), region="us-east-1")


def test_name_prefixes_become_server_side_filters_only_when_expressible():
    from providers.aws_source import parameter_filters, secret_name_filters

    assert secret_name_filters(("app/", "/app/")) == [{"Key": "name", "Values": ["app/", "/app/"]}]
    assert secret_name_filters(()) == []
    assert secret_name_filters(("!app",)) == []  # '!' means "not" to ListSecrets
    assert secret_name_filters(tuple(f"p{i}" for i in range(11))) == []  # over the 10-value limit
    assert parameter_filters("/", ("/app/",)) == [{"Key": "Name", "Option": "BeginsWith", "Values": ["/app/"]}]
    assert parameter_filters("/app", ("/app/",)) == [{"Key": "Path", "Option": "Recursive", "Values": ["/app"]}]
    assert parameter_filters("/", ()) == []


def test_a_rejected_name_filter_falls_back_to_the_full_listing():
    from botocore.exceptions import ClientError

    from providers.aws_source import BotoSource

    seen = []

    def list_all(filters):
        seen.append(filters)
        if filters:
            raise ClientError({"Error": {"Code": "ValidationException", "Message": "bad filter"}}, "ListSecrets")
        return [{"Name": "app/x"}]

    filters = [{"Key": "name", "Values": ["app/"]}]
    assert BotoSource("http://x", "us-east-1")._list("ListSecrets", list_all, filters) == [{"Name": "app/x"}]
    assert seen == [filters, []]


def test_other_list_errors_are_source_unavailable_never_empty():
    from botocore.exceptions import ClientError

    from providers.aws_source import BotoSource

    def list_all(filters):
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "ListSecrets")

    with pytest.raises(SourceUnavailableError, match="ListSecrets.*AccessDenied"):
        BotoSource("http://x", "us-east-1")._list("ListSecrets", list_all, [{"Key": "name", "Values": ["a"]}])
