"""kecs-secrets policy pack: ADR 21's rules for masters, replicas, RBAC and secrecy, checked at preview/up.

Run: ``pulumi preview --policy-pack policies [--policy-pack-config policies/config.json]``.
The analyzer runs this file with ``policies/`` as the working directory. The pack uses the program's
own rules from the installed core package ``kecs_secrets`` (see requirements.txt), which imports no Pulumi.
"""

from kecs_policies import DEFAULT_ENFORCEMENT_LEVEL, PACK_NAME, POLICIES
from pulumi_policy import PolicyPack

PolicyPack(
    name=PACK_NAME,
    enforcement_level=DEFAULT_ENFORCEMENT_LEVEL,
    policies=POLICIES,
    description="KECS ADR 21 centralized secrets: replica metadata, master placement and names, read-only RBAC, secrecy.",
)
