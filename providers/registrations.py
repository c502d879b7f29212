"""Starting the registrations the program made, so that the Pulumi Python SDK waits for them efficiently.

When the program's top-level code returns, the SDK (pulumi 3.272, ``runtime/stack.py: wait_for_rpcs``)
first awaits the registration RPCs one after the other, then every output still pending. But a
registration made by top-level code only joins that list of RPCs when its task first runs, on the event
loop's next turn, and no turn has happened yet: the SDK finds no RPC to await and goes straight to its
output loop, which calls ``asyncio.wait(every pending output, FIRST_COMPLETED)`` again after each
completion while the engine works through the resources: work that grows with the number of resources
times the number of outputs (profiled: 30% of the program's CPU at 400 masters). Turning the event loop
once, as a synchronous invoke in the program would, starts every registration, so the SDK awaits them
one by one (linear) and finds the outputs resolved.
"""

from __future__ import annotations

import asyncio

__all__ = ["start_registrations"]


def start_registrations() -> None:
    """Call once, after the program registered its resources (a no-op if the SDK changes shape)."""
    try:
        from pulumi.runtime.sync_await import _sync_await
    except ImportError:  # another SDK: it only loses the speed-up
        return
    _sync_await(asyncio.sleep(0))
