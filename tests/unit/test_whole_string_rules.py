"""Every rule that validates a whole string matches the whole string: ``$`` also matches before a trailing newline,
so a name, region, endpoint, data key or time with "\\n" at its end passed rules written with ``match``/``$``."""

from __future__ import annotations

import pytest

from kecs_secrets.config import is_region_name, parse_config
from kecs_secrets.demand import references_from_pod
from kecs_secrets.errors import ConfigError
from kecs_secrets.model import is_data_key
from kecs_secrets.naming import is_dns1123_label, is_dns1123_subdomain, kecs_secret_key_ref


@pytest.mark.parametrize("rule, good", [
    (is_dns1123_subdomain, "sm-app.db"),
    (is_dns1123_label, "web-us-east-1"),
    (is_region_name, "us-east-1"),
    (is_data_key, "password"),
])
def test_a_trailing_newline_is_refused(rule, good):
    assert rule(good)
    assert not rule(good + "\n")
    assert not rule("\n" + good)


def test_a_region_has_ascii_digits_only():
    assert not is_region_name("us-east-\u0661")


def test_an_endpoint_with_a_trailing_newline_is_a_config_error():
    with pytest.raises(ConfigError, match="endpoint"):
        parse_config({"endpoint": "http://localhost:4566\n"})


def test_a_pod_annotation_key_with_a_trailing_newline_declares_nothing():
    pod = {"metadata": {"namespace": "web-us-east-1", "name": "p", "annotations": {"kecs.dev/secret-0-arn\n": "c:E:db"}}}
    assert references_from_pod(pod) == []


def test_kecs_strips_the_arn_suffix_only_at_the_very_end():
    ref = kecs_secret_key_ref("arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf\n")
    assert ref is not None and ref.arn_name == "db-AbCdEf\n"


@pytest.mark.parametrize("key", ["a", "value", "A-b_c.d", ".x", "x.", "a..b", "x..", "-", "_", "a" * 253])
def test_data_keys_the_api_server_takes(key):
    assert is_data_key(key)


@pytest.mark.parametrize("key", [".", "..", "..x", "...", "key\n", "", "a" * 254, "bad key", "é", "a/b", "k\u0661"])
def test_data_keys_the_api_server_refuses(key):
    assert not is_data_key(key)
