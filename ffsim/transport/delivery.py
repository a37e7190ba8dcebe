"""One profile's deliveries: a thread that drives the sans-I/O policy of ``policy``.

The thread is the only part that blocks (on the transport) and reads the clock; what
to send, when to retry, what to drop or reject is decided by ``DeliveryQueue``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from . import Outcome
from ..vocabulary import DEFAULT_RETRY_ON
from .policy import Counters, DeliveryQueue, Item

__all__ = ["Counters", "Delivery", "Item"]


class Delivery:
    def __init__(self, profile_id: int, transport, buffer: bool = True, capacity: int = 1000,
                 report: Callable[[int, Item, Outcome], None] | None = None,
                 backoff: tuple[float, float] = (0.1, 5.0), retry_on: tuple[str, ...] = DEFAULT_RETRY_ON):
        self.profile_id = profile_id
        self.transport = transport
        self.report = report or (lambda profile, item, outcome: None)
        self.backoff = backoff
        self.queue = DeliveryQueue(buffer, capacity, retry_on, backoff)
        self._stopping = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=f"ffsim-profile-{profile_id}", daemon=True)
        self._thread.start()

    @property
    def counters(self) -> Counters:
        return self.queue.counters

    @property
    def fatal(self) -> Outcome | None:
        return self.queue.fatal

    def _emit(self, reports) -> None:
        for item, outcome in reports:
            self.report(self.profile_id, item, outcome)

    # -- producer side -------------------------------------------------------------------
    def offer(self, item: Item, wait: bool | float = False) -> bool:
        """Queue item. When full: wait for room (wait=True: as long as it takes; a number: at
        most that many seconds), then drop the oldest waiting event if there is still none.
        True when there was room, False when an event was dropped for it."""
        with self._cond:
            if wait is not False and wait is not None:
                self._cond.wait_for(lambda: self.queue.has_room() or self._stopping or self.queue.fatal is not None,
                                    None if wait is True else max(0.0, wait))
            room = self.queue.has_room()
            self._emit(self.queue.offer(item))
            self._cond.notify_all()
            return room

    def pending(self) -> list[Item]:
        with self._cond:
            return self.queue.pending()

    def drain(self, timeout: float) -> bool:
        """Wait until every queued event is sent, rejected or dropped (True), or timeout seconds pass."""
        with self._cond:
            self._cond.wait_for(lambda: self.queue.idle, timeout)
            return len(self.queue) == 0

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout=max(5.0, self.backoff[1] + 1))
        if self._thread.is_alive():
            return  # still inside a send to a slow receiver: closing the handle under it would break libcurl
        # a kept TCP connection is confirmed (or found reset) only when it closes
        closing = self.transport.close()
        if isinstance(closing, Outcome):
            with self._cond:
                self.queue.counters.unconfirmed += closing.unconfirmed

    # -- the worker ------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._stopping or self.queue.fatal is not None:
                        return
                    now = time.monotonic()
                    item = self.queue.next_send(now)
                    if item is not None:
                        break
                    due = self.queue.wake_at()
                    self._cond.wait(None if due is None else due - now)
            try:
                outcome = self.transport.send(item.message)
            except Exception as exc:  # noqa: BLE001 - a dead thread would leave the run waiting for its drain
                outcome = Outcome(False, f"internal error: {exc!r}", fatal=True)
            with self._cond:
                self._emit(self.queue.on_outcome(outcome, time.monotonic()))
                self._cond.notify_all()
