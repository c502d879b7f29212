"""The watch's Prometheus metrics (prometheus_client) and its health endpoints, on one port.

``/metrics``: the metrics below; ``/healthz``: the process answers; ``/readyz``: 200 while every watcher
(pod watch, source poll, ECS poll) has reached its API within its allowed silence, 503 naming the stuck ones.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app

__all__ = ["WatchMetrics", "serve"]

# Seconds: from a trigger to its update's end; from 0.5 s (a small focused update) to 30 min (a long outage).
LATENCY_BUCKETS = (0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 60, 120, 300, 600, 1800)


class WatchMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.last_success = Gauge("kecs_watch_last_success_timestamp_seconds", "When the last update succeeded (Unix time)", registry=r)
        self.updates = Counter("kecs_watch_updates", "Updates run, by trigger and result", ["trigger", "result"], registry=r)
        self.duration = Histogram("kecs_watch_update_duration_seconds", "How long an update took", ["scope"],
                                  buckets=LATENCY_BUCKETS, registry=r)
        self.pending = Gauge("kecs_watch_pending_triggers", "Triggers waiting for the next update", registry=r)
        self.latency = Histogram("kecs_watch_trigger_to_converged_seconds", "From a trigger to the end of the update that served it",
                                 ["trigger"], buckets=LATENCY_BUCKETS, registry=r)
        self.restarts = Counter("kecs_watch_connection_restarts", "Watch connections started again, by watcher and reason",
                                ["watcher", "reason"], registry=r)
        self.staleness = Gauge("kecs_watch_staleness_seconds", "Seconds since the oldest unserved demand or unapplied source change",
                               registry=r)
        self.polls = Counter("kecs_watch_polls", "Polls of the source and the ECS API, by poller and result", ["poller", "result"],
                             registry=r)


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(port: int, metrics: WatchMetrics, stuck: Callable[[], Iterable[str]], host: str = "0.0.0.0") -> WSGIServer:
    """Serve /metrics, /healthz and /readyz on ``port`` in a daemon thread; ``stuck()`` names the stuck watchers."""
    metrics_app = make_wsgi_app(metrics.registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        if path == "/readyz":
            names = sorted(stuck())
            if names:
                start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
                return [f"stuck: {', '.join(names)}\n".encode()]
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ready\n"]
        return metrics_app(environ, start_response)

    server = make_server(host, port, app, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="watch-metrics", daemon=True).start()
    return server
