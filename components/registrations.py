"""Turning the Pulumi Python SDK's event loop from the program's top-level code, where that saves time.

The SDK (pulumi 3.272) sends a registration when its task runs on the event loop, and the loop does not
run while top-level code does: every registration the program makes goes out only after the program's
last line. Two places turn it earlier, as a synchronous invoke in the program would:

- ``send_registrations(parent)``, right after the value reader is made: its registration reaches the
  engine at once, so the dynamic provider reads the values while the program goes on building the
  thousands of objects that take their data from it, instead of after them (at 1,000 masters it takes
  the reads, 2-3 s, off the first ``up``'s critical path).
- ``start_registrations()``, at the end. When the program's top-level code returns, the SDK
  (``runtime/stack.py: wait_for_rpcs``) first awaits the registration RPCs one after the other, then every
  output still pending. But a registration made by top-level code only joins that list of RPCs when its
  task first runs, and no turn has happened yet: the SDK finds no RPC to await and goes straight to its
  output loop, which calls ``asyncio.wait(every pending output, FIRST_COMPLETED)`` again after each
  completion while the engine works through the resources: work that grows with the number of
  resources times the number of outputs (profiled: 30% of the program's CPU at 400 masters). Turning the
  event loop once starts every registration, so the SDK awaits them one by one (linear) and finds the
  outputs resolved.

Both only change when registrations are sent, never what is sent; with another SDK (no ``_sync_await``)
they do nothing, and the program only loses the speed-up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pulumi

__all__ = ["send_registrations", "start_registrations"]

# Turns after the parent's URN is known: enough for a registration's own preparation (its inputs, aliases and
# URN are plain values by then) to reach the RPC; each turn costs microseconds at that point of the program.
_TURNS = 20


def _pump() -> Callable[[Awaitable[Any]], Any] | None:
    try:
        from pulumi.runtime.sync_await import _sync_await
    except ImportError:  # another SDK: it only loses the speed-up
        return None
    return _sync_await


def send_registrations(parent: pulumi.Resource) -> None:
    """Send the registrations made so far under ``parent`` (a component, whose URN they wait for) now."""
    pump = _pump()
    if pump is None:
        return
    pump(parent.urn.future())
    for _ in range(_TURNS):
        pump(asyncio.sleep(0))


def start_registrations() -> None:
    """Call once, after the program registered its resources."""
    pump = _pump()
    if pump is not None:
        pump(asyncio.sleep(0))
