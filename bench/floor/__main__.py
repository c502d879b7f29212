"""The benchmark's floor: the objects kecs-secrets makes, as a plain Pulumi program.

The benchmark writes the spec (``kecs-secrets:floorSpec``, a JSON file): every master, replica,
ServiceAccount, RoleBinding and the ClusterRole that the project's layout gives for the data set,
with the same names, labels, annotations and data. This program registers them as they are, through
a Kubernetes provider with the project's settings: no inventory, no planning, no value reader.
With ``kecs-secrets:floorReaders`` true each master's data also passes through one trivial dynamic
resource (no I/O), to measure what per-item dynamic resources cost by themselves. With
``kecs-secrets:floorDrain`` true it ends as the project's program does (components/registrations.py:
one turn of the event loop, so the SDK awaits the registrations one by one instead of polling every
output): what that workaround of the SDK's end-of-program wait gives any program.
"""

import json

import pulumi
import pulumi_kubernetes as k8s

config = pulumi.Config("kecs-secrets")
with open(config.require("floorSpec"), encoding="utf-8") as handle:
    spec = json.load(handle)
readers = config.get_bool("floorReaders") or False
drain = config.get_bool("floorDrain") or False

provider = k8s.Provider(
    "k8s",
    kubeconfig=config.get("kubeconfig") or None,
    enable_secret_mutable=True,
    enable_config_map_mutable=True,
    cluster_identifier="kecs-secrets",
    kube_client_settings=k8s.KubeClientSettingsArgs(
        qps=config.get_int("kubeClientQps") or 1000, burst=config.get_int("kubeClientBurst") or 2000
    ),
)
opts = pulumi.ResourceOptions(provider=provider)
if readers:
    from echo import Echo


def rule(r: dict) -> k8s.rbac.v1.PolicyRuleArgs:
    return k8s.rbac.v1.PolicyRuleArgs(
        api_groups=r["apiGroups"], resources=r["resources"], verbs=r["verbs"], resource_names=r.get("resourceNames")
    )


data_of: dict[str, pulumi.Input] = {}
for obj in spec["objects"]:
    body, name = obj["body"], obj["resource"]
    kind = body["kind"]
    meta = k8s.meta.v1.ObjectMetaArgs(**body["metadata"])
    if kind in ("Secret", "ConfigMap"):
        data = body["data"]
        if readers:
            master = obj["master"]
            if master not in data_of:
                data_of[master] = Echo(f"value-{master}", obj["version"], data).data
            data = data_of[master]
        if kind == "Secret":
            k8s.core.v1.Secret(name, metadata=meta, type="Opaque", data=data, opts=opts)
        else:
            k8s.core.v1.ConfigMap(name, metadata=meta, data=data, opts=opts)
    elif kind == "ServiceAccount":
        k8s.core.v1.ServiceAccount(name, metadata=meta, automount_service_account_token=False, opts=opts)
    elif kind in ("ClusterRole", "Role"):
        cls = k8s.rbac.v1.ClusterRole if kind == "ClusterRole" else k8s.rbac.v1.Role
        cls(name, metadata=meta, rules=[rule(r) for r in body["rules"]], opts=opts)
    elif kind == "RoleBinding":
        ref = body["roleRef"]
        k8s.rbac.v1.RoleBinding(
            name,
            metadata=meta,
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group=ref["apiGroup"], kind=ref["kind"], name=ref["name"]),
            subjects=[k8s.rbac.v1.SubjectArgs(kind=s["kind"], name=s["name"], namespace=s["namespace"]) for s in body["subjects"]],
            opts=opts,
        )
    else:
        raise ValueError(f"floor spec: unknown kind {kind!r}")

if drain:
    import asyncio

    from pulumi.runtime.sync_await import _sync_await

    _sync_await(asyncio.sleep(0))
