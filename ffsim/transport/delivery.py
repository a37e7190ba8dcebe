"""One profile's deliveries: in order, one at a time, retried until they succeed.

Like the camera's event buffer: a failed event stays at the head of the queue and
is sent again with backoff while newer events wait behind it. The queue is
bounded (1000 events, the camera's); when it is full the oldest waiting event is
dropped and counted. Without the buffer a failed event is dropped and counted.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from . import Message, Outcome


@dataclass(slots=True)
class Item:
    """A packet on its way: the message and what to report about it."""

    message: Message
    label: dict  # time, state, carID, plate, direction: for the live line and reports
    attempts: int = 0


@dataclass(slots=True)
class Counters:
    sent: int = 0
    failed: int = 0  # failed attempts
    retried: int = 0  # attempts after a failure
    dropped: int = 0


class Delivery:
    def __init__(self, profile_id: int, transport, buffer: bool = True, capacity: int = 1000,
                 report: Callable[[int, Item, Outcome], None] | None = None,
                 backoff: tuple[float, float] = (0.1, 5.0)):
        self.profile_id = profile_id
        self.transport = transport
        self.buffer = buffer
        self.capacity = capacity
        self.report = report or (lambda profile, item, outcome: None)
        self.backoff = backoff
        self.counters = Counters()
        self.fatal: Outcome | None = None
        self._queue: deque[Item] = deque()
        self._inflight = False
        self._stopping = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=f"ffsim-profile-{profile_id}", daemon=True)
        self._thread.start()

    # -- producer side -------------------------------------------------------------------
    def offer(self, item: Item, wait: bool = False) -> None:
        """Queue item. When full: wait for room (wait=True), or drop the oldest waiting event."""
        with self._cond:
            if wait:
                while len(self._queue) >= self.capacity and not self._stopping and self.fatal is None:
                    self._cond.wait()
            elif len(self._queue) >= self.capacity:
                # never the one being sent right now: it may already be on the wire
                index = 1 if self._inflight and len(self._queue) > 1 else 0
                victim = self._queue[index]
                del self._queue[index]
                self._drop(victim, Outcome(False, "buffer full"))
            self._queue.append(item)
            self._cond.notify_all()

    def pending(self) -> list[Item]:
        with self._cond:
            return list(self._queue)

    def drain(self, timeout: float) -> bool:
        """Wait until every queued event is delivered (True) or timeout seconds pass."""
        with self._cond:
            self._cond.notify_all()
            self._cond.wait_for(lambda: not self._queue or self.fatal is not None, timeout)
            return not self._queue

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout=max(5.0, self.backoff[1] + 1))
        self.transport.close()

    # -- the worker ------------------------------------------------------------------------
    def _drop(self, item: Item, outcome: Outcome) -> None:
        self.counters.dropped += 1
        self.report(self.profile_id, item, Outcome(False, f"dropped: {outcome.detail}"))

    def _run(self) -> None:
        delay = self.backoff[0]
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._stopping)
                if self._stopping:
                    return
                item = self._queue[0]
                self._inflight = True
            item.attempts += 1
            if item.attempts > 1:
                self.counters.retried += 1
            outcome = self.transport.send(item.message)
            with self._cond:
                self._inflight = False
                if outcome.ok:
                    self._queue.popleft()
                    self.counters.sent += 1
                    delay = self.backoff[0]
                    self.report(self.profile_id, item, outcome)
                    self._cond.notify_all()
                    continue
                self.counters.failed += 1
                if outcome.fatal:
                    self.fatal = outcome
                    self.report(self.profile_id, item, outcome)
                    self._cond.notify_all()
                    return
                if not self.buffer:
                    self._queue.popleft()
                    self._drop(item, outcome)
                    self._cond.notify_all()
                    continue
                self.report(self.profile_id, item, Outcome(False, f"{outcome.detail}, retrying in {delay:.1f} s"))
                self._cond.wait_for(lambda: self._stopping, delay)
                delay = min(delay * 2, self.backoff[1])
