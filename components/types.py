"""The Pulumi type tokens of the components: a resource's URN holds its parent's token, so targets name them."""

CENTRALIZED_SECRETS = "kecs:secrets:CentralizedSecrets"
MASTERS = "kecs:secrets:Masters"
NAMESPACE_REPLICAS = "kecs:secrets:NamespaceReplicas"
NAMESPACE_READER = "kecs:secrets:NamespaceReader"
READER_CLUSTER_ROLE = "kecs:secrets:ReaderClusterRole"
