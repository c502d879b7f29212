"""The program's wiring: stack settings -> adapters -> ``make_plan`` (the pure core) -> ``CentralizedSecrets``.

``__main__.py`` runs it for ``pulumi up``; the watch mode runs the same function in its own process (an Automation
API inline program), so each of its updates starts with the imports done and the source already being listed.
"""
