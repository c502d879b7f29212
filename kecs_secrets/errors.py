"""The project's errors. The class says whether retrying can help; messages name the culprit, never a value."""

from __future__ import annotations

__all__ = [
    "ClusterAuthError",
    "ClusterRequestError",
    "ClusterUnavailableError",
    "ConfigError",
    "DeletionGuardError",
    "KecsSecretsError",
    "LayoutError",
    "OwnershipError",
    "ReferenceResolutionError",
    "RetryableError",
    "SourceGoneError",
    "SourceUnavailableError",
    "StateUnavailableError",
    "UnmanagedObjectError",
    "ValueShapeError",
]


class KecsSecretsError(Exception):
    """Base class: something is wrong and nothing was changed."""


class RetryableError(KecsSecretsError):
    """A dependency did not answer; the same run may succeed later."""


class ConfigError(KecsSecretsError):
    """A stack config key or a demand file is invalid: fix it, retrying does not help."""


class ReferenceResolutionError(KecsSecretsError):
    """A secret reference (valueFrom) cannot be resolved against the inventory; ``why`` is the reason alone."""

    why: str = ""


class LayoutError(KecsSecretsError):
    """The demanded layout is impossible (reserved namespace, invalid key, name clash)."""


class ValueShapeError(KecsSecretsError):
    """A value cannot become data, or cannot give the data keys a consumer selects (the message names the item and keys, never values)."""


class SourceGoneError(KecsSecretsError):
    """The item (or the version of it that the inventory saw) no longer exists in the source."""


class DeletionGuardError(KecsSecretsError):
    """The run would delete more masters than allowed; refused without an explicit override."""


class UnmanagedObjectError(KecsSecretsError):
    """An object the stack did not create already holds a name the stack wants."""


class OwnershipError(KecsSecretsError):
    """An object the stack would delete is no longer provably its own (someone else's holds the name)."""


class SourceUnavailableError(RetryableError):
    """LocalStack / AWS could not be read."""


class ClusterUnavailableError(RetryableError):
    """The Kubernetes API server could not be reached (or answered 429/5xx)."""


class ClusterAuthError(KecsSecretsError):
    """The Kubernetes API server refused the credentials (401) or the permission (403) of a context's user,
    or no credentials could be had (a failing exec plugin). Fails preview and update alike: fix the kubeconfig."""


class ClusterRequestError(KecsSecretsError):
    """The Kubernetes API server answered a read with an error that retrying does not fix (not 401/403)."""


class StateUnavailableError(RetryableError):
    """The stack's own state could not be read (``pulumi stack export``)."""
