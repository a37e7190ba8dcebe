"""The delivery policy of one profile, sans I/O: no threads, no clock, no sockets.

Like the camera's event buffer: events go out in order, one at a time. What happens
to an event depends on how its attempt went and on the profile's settings:

* delivered (2xx, or TCP confirmed): counted ``sent``, the next event goes;
* a failure listed in ``retry_on`` (``connection`` = refused, reset, timeout; ``5xx``,
  ``4xx``, or a status such as ``408``): with the buffer, the event stays at the head
  and is tried again after a backoff that doubles up to a bound, while newer events
  wait behind it; without the buffer it is dropped and counted;
* any other answer outside 2xx: the receiver refused this event, and retrying would
  block every later one; it is counted ``rejected`` and the next event goes;
* a connection failure when ``connection`` is not in ``retry_on``: dropped;
* a fatal outcome (bad URL, certificate refused): the queue stops, the event stays.

The queue holds at most ``capacity`` events (the camera's 1000); when an event is
offered to a full queue the oldest one waiting is dropped, never the one on the wire.

The driver (a thread per profile today) asks ``next_send(now)`` for the event to put
on the wire, reports ``on_outcome(outcome, now)`` (or ``on_cancel()`` when a stop cut
the attempt short: the event stays at the head, not counted), and sleeps until
``wake_at()`` or a new ``offer``. Every call returns the (item, outcome) pairs to show
on the live line. ``now`` is whatever clock the driver keeps; the queue only compares it.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from dataclasses import dataclass

from ..vocabulary import DEFAULT_RETRY_ON
from . import Message, Outcome



@dataclass(slots=True)
class Item:
    """A packet on its way: the message and what to report about it."""

    message: Message
    label: dict  # time, state, carID, plate, direction: for the live line and reports
    attempts: int = 0

    def message_for_attempt(self) -> Message:
        """What the attempt under way (counted in attempts) sends: a wire fault hits the first
        attempt only; the retries send the packet intact, as the camera's libcurl would (the
        documents coalesced with it stay: they are what this item is)."""
        if self.attempts <= 1 or self.message.wire is None:
            return self.message
        return dataclasses.replace(self.message, wire=None)


@dataclass(slots=True)
class Counters:
    sent: int = 0  # events delivered
    failed: int = 0  # attempts that did not deliver (retried, dropped or rejected after)
    retried: int = 0  # attempts after a failure
    rejected: int = 0  # events the receiver refused with an answer not in retry_on
    dropped: int = 0  # events given up: buffer full, no buffer, or a failure not retried
    # events counted sent on a kept TCP connection that the receiver later reset with
    # unread data: some of them may not have been read (an upper bound)
    unconfirmed: int = 0
    # how long the deliveries took, from the start of the attempt to the receipt (the
    # driver measures it): over the attempts that delivered
    timed: int = 0
    latency_total_s: float = 0.0
    latency_max_s: float = 0.0


def should_retry(outcome: Outcome, retry_on: tuple[str, ...]) -> bool:
    """Whether retry_on lists this failure: a connection failure, or its HTTP status."""
    if outcome.status is None:
        return "connection" in retry_on
    return str(outcome.status) in retry_on or f"{outcome.status // 100}xx" in retry_on


Reports = list[tuple[Item, Outcome]]


class DeliveryQueue:
    def __init__(self, buffer: bool = True, capacity: int = 1000,
                 retry_on: tuple[str, ...] = DEFAULT_RETRY_ON, backoff: tuple[float, float] = (0.1, 5.0)):
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.buffer = buffer
        self.capacity = capacity
        self.retry_on = tuple(retry_on)
        self.backoff = backoff
        self.counters = Counters()
        self.fatal: Outcome | None = None
        self._waiting: deque[Item] = deque()  # in order; the head may be waiting for its retry time
        self._inflight: Item | None = None  # taken off the front by next_send, on the wire
        self._due: float | None = None  # when the head may be tried again (None: at once)
        self._delay = backoff[0]  # the next backoff

    # -- producer side -------------------------------------------------------------------
    def has_room(self) -> bool:
        return len(self) < self.capacity

    def __len__(self) -> int:
        return len(self._waiting) + (self._inflight is not None)

    def offer(self, item: Item) -> Reports:
        """Queue item. A full queue drops its oldest waiting event; item itself only when
        the event on the wire is the one ahead of it (capacity 1)."""
        if self.has_room():
            self._waiting.append(item)
            return []
        # the backoff (_due) stays: it is the receiver that is down, not one event
        victim = self._waiting.popleft() if self._waiting else item
        if victim is not item:
            self._waiting.append(item)
        return [self._drop(victim, "buffer full")]

    def pending(self) -> list[Item]:
        """Every event not yet sent, rejected or dropped, in order (the one on the wire first)."""
        return ([self._inflight] if self._inflight is not None else []) + list(self._waiting)

    @property
    def idle(self) -> bool:
        """Nothing left to send (or nothing more will be sent: fatal)."""
        return self.fatal is not None or len(self) == 0

    # -- driver side -------------------------------------------------------------------------
    def wake_at(self) -> float | None:
        """When next_send will have an event: a time (perhaps already past), or None (nothing
        to send, an event on the wire, or stopped by a fatal outcome)."""
        if self.fatal is not None or self._inflight is not None or not self._waiting:
            return None
        return self._due if self._due is not None else float("-inf")

    def next_send(self, now: float) -> Item | None:
        """The event to put on the wire now, or None."""
        due = self.wake_at()
        if due is None or due > now:
            return None
        item = self._inflight = self._waiting.popleft()
        self._due = None
        item.attempts += 1
        if item.attempts > 1:
            self.counters.retried += 1
        return item

    def on_outcome(self, outcome: Outcome, now: float) -> Reports:
        """How the attempt of the event from next_send went."""
        item, self._inflight = self._inflight, None
        if item is None:
            raise RuntimeError("on_outcome without next_send")
        self.counters.unconfirmed += outcome.unconfirmed
        if outcome.ok:
            self.counters.sent += 1
            if outcome.latency_s is not None:
                self.counters.timed += 1
                self.counters.latency_total_s += outcome.latency_s
                self.counters.latency_max_s = max(self.counters.latency_max_s, outcome.latency_s)
            self._delay = self.backoff[0]
            return [(item, outcome)]
        self.counters.failed += 1
        if outcome.fatal:
            self.fatal = outcome
            self._waiting.appendleft(item)  # still buffered: it was not delivered
            return [(item, outcome)]
        if outcome.status is not None and not should_retry(outcome, self.retry_on):
            # the receiver answered, and refused this event: skip it, keep going
            self.counters.rejected += 1
            self._delay = self.backoff[0]
            return [(item, _with_detail(outcome, f"{outcome.detail} rejected"))]
        if not self.buffer or not should_retry(outcome, self.retry_on):
            return [self._drop(item, outcome.detail, outcome)]
        self._waiting.appendleft(item)
        self._due = now + self._delay
        report = (item, _with_detail(outcome, f"{outcome.detail}, retrying in {self._delay:.1f} s"))
        self._delay = min(self._delay * 2, self.backoff[1])
        return [report]

    def on_cancel(self) -> None:
        """The attempt of the event from next_send was cut short by a stop: it was not
        delivered as far as ffsim knows, so it goes back to the head, uncounted."""
        item, self._inflight = self._inflight, None
        if item is None:
            raise RuntimeError("on_cancel without next_send")
        self._waiting.appendleft(item)

    def _drop(self, item: Item, why: str, outcome: Outcome | None = None) -> tuple[Item, Outcome]:
        self.counters.dropped += 1
        base = outcome or Outcome(False, why)
        return item, _with_detail(base, f"dropped: {why}")


def _with_detail(outcome: Outcome, detail: str) -> Outcome:
    return dataclasses.replace(outcome, detail=detail)
