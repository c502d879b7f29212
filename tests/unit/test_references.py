import pytest

from kecs_secrets.errors import ReferenceResolutionError
from kecs_secrets.references import Inventory, resolve_reference
from tests.unit.conftest import REGION, ref


@pytest.fixture
def inventory(inventory_items):
    return Inventory(inventory_items, REGION)


def resolve(inventory, value):
    return resolve_reference(ref("ns", value, "config demand.ns[0]"), inventory)


def test_full_secret_arn_with_random_suffix(inventory):
    got = resolve(inventory, "arn:aws:secretsmanager:us-east-1:000000000000:secret:myapp/prod/db.v2-Xy12Zq")
    assert (got.item.name, got.json_key) == ("myapp/prod/db.v2", None)


def test_secret_arn_with_json_key_and_empty_stage_and_id(inventory):
    got = resolve(inventory, "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-creds-A1b2C3:username::")
    assert (got.item.name, got.json_key) == ("db-creds", "username")


def test_secret_arn_with_star_json_key_selects_the_whole_secret_as_kecs_reads_it(inventory):
    got = resolve(inventory, "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-creds-A1b2C3:*::")
    assert (got.item.name, got.json_key) == ("db-creds", None)


def test_secret_arn_with_current_stage_and_current_version_id(inventory):
    got = resolve(inventory, "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-creds-A1b2C3:password:AWSCURRENT:cur-id")
    assert got.json_key == "password"


def test_secret_arn_with_previous_stage_is_rejected_not_ignored(inventory):
    with pytest.raises(ReferenceResolutionError, match="version stage 'AWSPREVIOUS' is not served"):
        resolve(inventory, "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-creds-A1b2C3:password:AWSPREVIOUS:")


def test_secret_arn_with_old_version_id_is_rejected(inventory):
    with pytest.raises(ReferenceResolutionError, match="version id 'old-id' is not the current version"):
        resolve(inventory, "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-creds-A1b2C3:::old-id")


def test_name_ending_like_a_suffix_is_not_stripped(inventory):
    # KECS bug 2: "app-config" must not become "app". The full ARN of secret "app" ends in "-config".
    assert resolve(inventory, "app-config").item.name == "app-config"
    full = resolve(inventory, "arn:aws:secretsmanager:us-east-1:000000000000:secret:app-config-QwErTy")
    assert full.item.name == "app-config"


def test_full_arn_that_is_also_a_partial_arn_of_another_secret_is_ambiguous(inventory):
    with pytest.raises(ReferenceResolutionError, match="ambiguous"):
        resolve(inventory, "arn:aws:secretsmanager:us-east-1:000000000000:secret:app-config")


def test_ssm_parameter_arn_hierarchical(inventory):
    got = resolve(inventory, "arn:aws:ssm:us-east-1:000000000000:parameter/app/db/password")
    assert got.item.name == "/app/db/password"


def test_ssm_parameter_arn_plain(inventory):
    assert resolve(inventory, "arn:aws:ssm:us-east-1:000000000000:parameter/app-param").item.name == "app-param"


@pytest.mark.parametrize("value", ["/app/db/password", "app/db/password"])
def test_bare_parameter_name_with_or_without_leading_slash(inventory, value):
    assert resolve(inventory, value).item.name == "/app/db/password"


def test_bare_secret_name(inventory):
    got = resolve(inventory, "myapp/prod/db.v2")
    assert got.item.source == "secretsmanager"


def test_bare_name_matching_secret_and_parameter_is_an_error_naming_both():
    from tests.unit.conftest import parameter, secret

    inventory = Inventory([secret("shared"), parameter("shared", "String")], REGION)
    with pytest.raises(ReferenceResolutionError, match="SSM parameter 'shared' and Secrets Manager secret 'shared'"):
        resolve(inventory, "shared")


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("nope", "no SSM parameter or Secrets Manager secret"),
        ("arn:aws:secretsmanager:us-east-1:000000000000:secret:nope-AbCdEf", "no Secrets Manager secret with that ARN"),
        ("arn:aws:ssm:us-east-1:000000000000:parameter/nope", "no SSM parameter with that ARN"),
        ("arn:aws:secretsmanager:us-east-1:000000000000:notsecret:x", "malformed Secrets Manager ARN"),
        ("arn:aws:secretsmanager:us-east-1", "malformed ARN"),
        ("arn:aws:ssm:us-east-1:000000000000:document/x", "malformed SSM parameter ARN"),
        ("arn:aws:s3:::bucket", "unsupported service 's3'"),
        ("arn:aws:secretsmanager:eu-west-1:000000000000:secret:app-config-QwErTy", "region 'eu-west-1'"),
        ("arn:aws:secretsmanager:us-east-1:000000000000:secret:db-creds-A1b2C3:value::", "reserved for the whole secret"),
        ("arn:aws:secretsmanager:us-east-1:000000000000:secret:db-creds-A1b2C3:bad key::", "not a valid Kubernetes data key"),
        ("   ", "empty reference"),
    ],
)
def test_unresolvable_references_name_the_reference_and_its_origin(inventory, value, why):
    with pytest.raises(ReferenceResolutionError) as caught:
        resolve(inventory, value)
    message = str(caught.value)
    assert why in message
    assert "config demand.ns[0]" in message
    assert repr(value) in message


@pytest.mark.parametrize(
    ("value", "why"),
    [
        # Another partition or account: never resolved by the name alone.
        ("arn:aws-cn:secretsmanager:us-east-1:000000000000:secret:db-creds", "partition 'aws-cn'"),
        ("arn:aws-cn:secretsmanager:us-east-1:999999999999:secret:db-creds-A1b2C3", "partition 'aws-cn'"),
        ("arn:aws:secretsmanager:us-east-1:999999999999:secret:db-creds", "account '999999999999'"),
        ("arn:aws:secretsmanager:us-east-1:999999999999:secret:db-creds-A1b2C3:username::", "account '999999999999'"),
        ("arn:aws-us-gov:ssm:us-east-1:000000000000:parameter/app/db/password", "partition 'aws-us-gov'"),
        ("arn:aws:ssm:us-east-1:999999999999:parameter/app/db/password", "account '999999999999'"),
        ("arn:aws:ssm:eu-west-1:000000000000:parameter/app/db/password", "region 'eu-west-1'"),
        # Empty parts.
        ("arn:aws:secretsmanager::000000000000:secret:db-creds-A1b2C3", "empty region"),
        ("arn:aws:secretsmanager:us-east-1::secret:db-creds-A1b2C3", "empty account"),
        ("arn:aws:ssm::000000000000:parameter/app/db/password", "empty region"),
        ("arn:aws:ssm:us-east-1::parameter/app/db/password", "empty account"),
        # An extra '/' names another parameter ('//app/db/password'), never /app/db/password.
        ("arn:aws:ssm:us-east-1:000000000000:parameter//app/db/password", "no SSM parameter with that ARN"),
        ("arn:aws:ssm:us-east-1:000000000000:parameter/app//db/password", "no SSM parameter with that ARN"),
    ],
)
def test_arn_scope_must_be_the_inventorys_naming_the_part_that_differs(inventory, value, why):
    with pytest.raises(ReferenceResolutionError) as caught:
        resolve(inventory, value)
    assert why in str(caught.value)
    assert repr(value) in str(caught.value) and "config demand.ns[0]" in str(caught.value)


def test_the_inventorys_partition_follows_its_arns_or_region():
    from tests.unit.conftest import secret

    assert Inventory([secret("x")], REGION).partitions == {"aws"}
    assert Inventory([], "cn-north-1").partitions == {"aws-cn"}
    assert Inventory([], "us-gov-west-1").partitions == {"aws-us-gov"}


def test_the_item_must_be_in_the_references_account_even_with_a_mixed_inventory():
    from kecs_secrets.model import SECRETSMANAGER, SourceItem

    other = SourceItem(SECRETSMANAGER, "db-creds", "arn:aws:secretsmanager:us-east-1:111111111111:secret:db-creds-A1b2C3", "v", "", "secret")
    mine = SourceItem(SECRETSMANAGER, "other", "arn:aws:secretsmanager:us-east-1:000000000000:secret:other-Zz9Zz9", "v", "", "secret")
    inventory = Inventory([other, mine], REGION)
    with pytest.raises(ReferenceResolutionError, match="account '000000000000' but 'db-creds' is in account '111111111111'"):
        resolve(inventory, "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-creds")


def test_a_parameter_whose_name_has_an_empty_segment_is_found_by_its_own_arn():
    from tests.unit.conftest import parameter

    inventory = Inventory([parameter("/a//b"), parameter("//app/db"), parameter("/app/db")], REGION)
    assert resolve(inventory, "arn:aws:ssm:us-east-1:000000000000:parameter/a//b").item.name == "/a//b"
    assert resolve(inventory, "arn:aws:ssm:us-east-1:000000000000:parameter//app/db").item.name == "//app/db"
    assert resolve(inventory, "arn:aws:ssm:us-east-1:000000000000:parameter/app/db").item.name == "/app/db"
