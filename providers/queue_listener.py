"""The watch's optional push queue: an SQS queue fed by EventBridge rules on Secrets Manager and SSM changes,
read with long polling (20 s per ReceiveMessage).

A message only says "look now": it wakes the metadata poll, which finds exactly what changed (so a message
that is late, repeated, lost or not an event at all costs at most one poll, never a wrong update), and the
poll every --interval stays the backstop. Messages are deleted once the poll has been woken. Never reads a
value (an event carries none).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError

from providers.aws import client, describe_error

__all__ = ["QueueListener"]

WAIT_SECONDS = 20  # SQS's longest long poll
RETRY_SECONDS = 5.0


class QueueListener:
    def __init__(
        self,
        url: str,
        endpoint: str,
        region: str,
        on_messages: Callable[[int], None],
        on_problem: Callable[[str | None], None] = lambda problem: None,
    ) -> None:
        """``on_messages(n)`` after each receive of n > 0 messages; ``on_problem(text)`` when a receive fails
        (``None`` when one succeeds again)."""
        self.url, self._endpoint, self._region = url, endpoint, region
        self._on_messages, self._on_problem = on_messages, on_problem
        self._stop = threading.Event()
        self.last_contact = time.monotonic()

    def start(self) -> QueueListener:
        threading.Thread(target=self._run, name="queue-listener", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        sqs = client("sqs", self._endpoint, self._region)
        while not self._stop.is_set():
            try:
                answer = sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=WAIT_SECONDS)
                self.last_contact = time.monotonic()
                self._on_problem(None)
                messages = answer.get("Messages") or []
                if not messages:
                    continue
                self._on_messages(len(messages))
                sqs.delete_message_batch(
                    QueueUrl=self.url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
                )
            except (BotoCoreError, ClientError) as err:
                self._on_problem(f"SQS {self.url}: {describe_error(err)}")
                self._stop.wait(RETRY_SECONDS)
