"""A loopback HTTP proxy in front of LocalStack that counts calls per API (X-Amz-Target / Action).

Used by the benchmark to show how many calls each phase makes, e.g. that a no-change `up` makes no
call that reads a secret value (GetSecretValue, BatchGetSecretValue, GetParameter(s)). Tests can also
make it answer chosen APIs with an AWS error (``fail``), to reach the program's error paths for real.
"""

from __future__ import annotations

import collections
import http.client
import http.server
import json
import threading
import urllib.parse
from collections.abc import Callable

__all__ = ["VALUE_READS", "CountingProxy", "Limits"]

# (API, request body) -> (an error to answer instead, the body to forward, a change of the answer's body).
Limits = Callable[[str, bytes | None], tuple[tuple[int, str] | None, bytes | None, Callable[[bytes], bytes] | None]]

VALUE_READS = {
    "secretsmanager.GetSecretValue",
    "secretsmanager.BatchGetSecretValue",
    "AmazonSSM.GetParameter",
    "AmazonSSM.GetParameters",
    "AmazonSSM.GetParametersByPath",
}


class CountingProxy:
    def __init__(
        self, upstream: str, fail: dict[str, tuple[int, str]] | None = None, limits: Limits | None = None, port: int = 0
    ) -> None:
        """``port``: where to listen (0: a port the kernel picks; a proxy stopped and started again on its port looks
        like the upstream going away and coming back). ``fail`` maps an API (``secretsmanager.BatchGetSecretValue``) to the (HTTP status, AWS error code) it answers;
        ``limits`` may refuse a call, change what is forwarded and change the answer (e.g. AWS's page and batch limits
        that the upstream does not enforce)."""
        self.fail = dict(fail or {})
        self.limits = limits
        self.stopped = False
        parsed = urllib.parse.urlparse(upstream)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The answer goes out as two writes (headers, then body): with Nagle's algorithm on, the client's
            # delayed ACK holds the second one back ~40 ms, which made every proxied call that much slower.
            disable_nagle_algorithm = True

            def log_message(self, *args):  # quiet
                pass

            def _forward(self):
                if proxy.stopped:  # a kept-alive connection of a stopped proxy: dropped, as a dead upstream's would be
                    self.close_connection = True
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                target = self.headers.get("X-Amz-Target")
                if not target and body and b"Action=" in body:
                    target = "query." + urllib.parse.parse_qs(body.decode()).get("Action", ["?"])[0]
                with proxy._lock:
                    proxy.counts[target or f"{self.command} {self.path.split('?')[0]}"] += 1
                refused, reshape = None, None
                if proxy.limits is not None and target:
                    refused, body, reshape = proxy.limits(target, body)
                if target in proxy.fail or refused:
                    status, code = refused or proxy.fail[target]
                    self._answer(status, [("Content-Type", "application/x-amz-json-1.1")],
                                 json.dumps({"__type": code, "message": "injected by the test proxy"}).encode())
                    return
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                conn.request(self.command, self.path, body=body, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
                if reshape is not None and answer.status == 200:
                    data = reshape(data)
                self._answer(answer.status, answer.getheaders(), data)
                conn.close()

            def _answer(self, status, headers, data):
                self.send_response(status)
                for key, value in headers:
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped = True
        self.server.shutdown()
        self.server.server_close()

    def take(self) -> dict[str, int]:
        """The counts since the last take, and reset."""
        with self._lock:
            counts = dict(self.counts)
            self.counts.clear()
        return counts
