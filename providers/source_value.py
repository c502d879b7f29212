"""The providers of resources earlier versions made and this one no longer does: kept so the engine can delete them.

The engine deletes a dynamic resource with the provider pickled into its state, by reference to its
class in this module, so these classes keep their names and module for as long as such a state may exist:

- ``SourceValueProvider``: earlier versions read each value with a resource of its own (``kecs:SourceValue``);
- ``FingerprintKeyProvider``: earlier versions kept the stack's fingerprint key in a resource of its own
  (``kecs:FingerprintKey``); the value reader now makes the key and keeps it in its outputs, and on an
  existing stack it already holds the same key there (its outputs echoed its input), so the fingerprints
  stay the same.

Neither does anything: the source is never written, and nothing outside the state holds the key.
"""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import ConfigureRequest, DiffResult, ReadResult, ResourceProvider

from providers.dynamic_errors import report_project_errors_in_one_line

__all__ = ["FingerprintKeyProvider", "RetiredProvider", "SourceValueProvider"]


class RetiredProvider(ResourceProvider):
    """The provider of a resource this version no longer makes: no change, a refresh keeps the state, delete does nothing."""

    serialize_as_secret_always = False

    def configure(self, req: ConfigureRequest) -> None:
        report_project_errors_in_one_line()

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=False, replaces=[], stables=[], delete_before_replace=False)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to do: the resource held nothing outside the state."""


# The names the states of earlier versions refer to.
SourceValueProvider = RetiredProvider
FingerprintKeyProvider = RetiredProvider
