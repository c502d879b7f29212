"""The pack's RFC 3339 rule matches the whole string (``$`` would also match before a trailing newline)."""

from kecs_policies.common import is_rfc3339


def test_a_time_with_a_trailing_newline_is_not_rfc3339():
    assert is_rfc3339("2025-08-12T13:38:45Z")
    assert not is_rfc3339("2025-08-12T13:38:45Z\n")
    assert not is_rfc3339("2025-08-12T13:38:4\u0665Z")
