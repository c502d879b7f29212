"""The policies of the kecs-secrets CrossGuard pack (ADR 21), as module-level objects.

``__main__.py`` builds the ``PolicyPack`` from :data:`POLICIES`; tests import the validators directly
(constructing a ``PolicyPack`` starts the analyzer's gRPC server, so tests never do).
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Policy

from .aws import credential_parameter_securestring, secret_recovery_window
from .configmaps import no_secret_in_configmap
from .coverage import replica_coverage
from .masters import master_placement
from .rbac import no_cluster_wide_secret_read, reader_binding, reader_rbac_read_only
from .replicas import replica_metadata
from .secrecy import secret_data_is_secret

__all__ = ["DEFAULT_ENFORCEMENT_LEVEL", "PACK_NAME", "POLICIES"]

PACK_NAME = "kecs-secrets-policies"
# Every policy inherits this level; override per policy (or "all") with --policy-pack-config.
DEFAULT_ENFORCEMENT_LEVEL = EnforcementLevel.MANDATORY

POLICIES: list[Policy] = [
    replica_metadata,
    master_placement,
    no_secret_in_configmap,
    reader_rbac_read_only,
    no_cluster_wide_secret_read,
    reader_binding,
    replica_coverage,
    secret_data_is_secret,
    credential_parameter_securestring,
    secret_recovery_window,
]
