"""kecs-secrets' pure core: every rule of the layout, with no Pulumi, no AWS SDK, no Kubernetes client, no I/O.

- :mod:`~kecs_secrets.model` and :mod:`~kecs_secrets.errors`: the data types and the one error hierarchy;
- :mod:`~kecs_secrets.naming`: every Kubernetes name the project makes;
- :mod:`~kecs_secrets.config`: stack settings, parsed and validated once;
- :mod:`~kecs_secrets.inventory`: which source items are synced (current version, filters);
- :mod:`~kecs_secrets.references`, :mod:`~kecs_secrets.demand`: who needs what;
- :mod:`~kecs_secrets.values`: how a value becomes data keys;
- :mod:`~kecs_secrets.layout`: masters, replicas and RBAC, labels and annotations;
- :mod:`~kecs_secrets.preflight`: checks against a snapshot of the cluster, and the deletion guard;
- :mod:`~kecs_secrets.ports`: what the adapters provide; :mod:`~kecs_secrets.planning`: ``make_plan`` over them.
"""
