"""kecs-secrets policy pack: ADR 21's rules for masters, replicas, RBAC and secrecy, checked at preview/up.

Run: ``pulumi preview --policy-pack policies [--policy-pack-config policies/config.json]``.
The analyzer runs this file with ``policies/`` as the working directory; the repository root goes on
``sys.path`` first so the pack uses the program's own naming code (components.naming, components.layout),
which imports no Pulumi.
"""

import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from kecs_policies import DEFAULT_ENFORCEMENT_LEVEL, PACK_NAME, POLICIES  # noqa: E402
from pulumi_policy import PolicyPack  # noqa: E402

PolicyPack(
    name=PACK_NAME,
    enforcement_level=DEFAULT_ENFORCEMENT_LEVEL,
    policies=POLICIES,
    description="KECS ADR 21 centralized secrets: replica metadata, master placement and names, read-only RBAC, secrecy.",
)
