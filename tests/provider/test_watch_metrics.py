"""The watch's HTTP endpoints on a real socket: Prometheus text at /metrics, /healthz, and /readyz failing with the
names of the stuck watchers."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from providers.watch_metrics import WatchMetrics, serve
from tests.support.real import free_ports


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_metrics_health_and_readiness():
    stuck: list[str] = []
    metrics = WatchMetrics()
    port = free_ports(1)[0]
    server = serve(port, metrics, lambda: stuck, host="127.0.0.1")
    try:
        metrics.updates.labels("pod-demand", "succeeded").inc()
        metrics.latency.labels("pod-demand").observe(2.5)
        metrics.staleness.set(4)
        status, text = get(port, "/metrics")
        assert status == 200
        assert 'kecs_watch_updates_total{result="succeeded",trigger="pod-demand"} 1.0' in text
        assert 'kecs_watch_trigger_to_converged_seconds_bucket{le="3.0",trigger="pod-demand"} 1.0' in text
        assert "kecs_watch_staleness_seconds 4.0" in text
        assert get(port, "/healthz") == (200, "ok\n")
        assert get(port, "/readyz") == (200, "ready\n")
        stuck.extend(["source-poll", "pod-watch"])
        assert get(port, "/readyz") == (503, "stuck: pod-watch, source-poll\n")
        with pytest.raises(OSError):
            serve(port, WatchMetrics(), lambda: [], host="127.0.0.1")
    finally:
        server.shutdown()
        server.server_close()
