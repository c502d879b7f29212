"""Everything that talks to the outside: LocalStack/AWS (inventory and the dynamic provider that reads
values) and the Kubernetes API (read-only checks at program time)."""
