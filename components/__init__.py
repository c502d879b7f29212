"""Pulumi ComponentResources that turn a plan of the core (``kecs_secrets``) into Kubernetes objects.

``CentralizedSecrets`` holds everything: ``Masters`` (with their value readers), ``NamespaceReplicas`` per
namespace, and the reader RBAC (``ReaderClusterRole``, ``NamespaceReader``).
"""
