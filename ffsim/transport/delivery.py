"""One profile's deliveries: a thread that drives the sans-I/O policy of ``policy``.

The thread is the only part that blocks (on the transport); what to send, when to
retry, what to drop or reject is decided by ``DeliveryQueue``, and the time comes
from the pacer. A stop (``halt``) wakes every wait here and aborts the send in
progress through the transport, so it takes effect within a fraction of a second in
every state: waiting for a send time, for room in a full buffer, for a backoff, or
inside a send to a receiver that does not answer.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable

from . import Outcome
from ..vocabulary import DEFAULT_RETRY_ON
from .pacer import Pacer
from .policy import Counters, DeliveryQueue, Item

__all__ = ["Counters", "Delivery", "Item"]

JOIN_S = 2.0  # how long stop() waits for the worker after an abort (it needs STOP_SLICE_S)


class Delivery:
    def __init__(self, profile_id: int, transport, buffer: bool = True, capacity: int = 1000,
                 report: Callable[[int, Item, Outcome], None] | None = None,
                 backoff: tuple[float, float] = (0.1, 5.0), retry_on: tuple[str, ...] = DEFAULT_RETRY_ON,
                 pacer: Pacer | None = None):
        self.profile_id = profile_id
        self.transport = transport
        self.report = report or (lambda profile, item, outcome: None)
        self.pacer = pacer or Pacer(None)
        self.queue = DeliveryQueue(buffer, capacity, retry_on, backoff)
        self._halted = False
        self._closed = False
        self.report_error: Exception | None = None
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
        """Report outcomes; called without the lock held, so that a report may call halt()
        or anything else here. A report that raises does not end the worker (a dead worker
        would leave the run waiting out its drain): the first such error is kept in
        report_error. The run handle (session.Run) catches its callbacks' errors itself,
        stops the run and raises them."""
        for item, outcome in reports:
            try:
                self.report(self.profile_id, item, outcome)
            except Exception as exc:  # noqa: BLE001 - a dead worker would leave the run waiting for its drain
                if self.report_error is None:
                    self.report_error = exc

    # -- producer side -------------------------------------------------------------------
    def offer(self, item: Item, wait: bool | float = False) -> bool | None:
        """Queue item. When full: wait for room (wait=True: until there is room or a stop; a
        number: at most that many seconds), then drop the oldest waiting event if there is
        still none. True when there was room, False when an event was dropped for it, None
        when a stop (or a fatal outcome) ended the wait for room: item was not queued."""
        with self._cond:
            if wait is not False and wait is not None:
                self._cond.wait_for(lambda: self.queue.has_room() or self._halted or self.queue.fatal is not None,
                                    None if wait is True else max(0.0, wait))
                if not self.queue.has_room() and (self._halted or self.queue.fatal is not None):
                    return None  # nothing was dropped for an event the run will not send
            room = self.queue.has_room()
            reports = self.queue.offer(item)
            self._cond.notify_all()
        self._emit(reports)
        return room

    def pending(self) -> list[Item]:
        with self._cond:
            return self.queue.pending()

    def drain(self, timeout: float) -> bool:
        """Wait until every queued event is sent, rejected or dropped (True), or timeout
        seconds pass, or a stop."""
        with self._cond:
            self._cond.wait_for(lambda: self.queue.idle or self._halted, timeout)
            return len(self.queue) == 0

    def halt(self) -> None:
        """Stop sending, from any thread, without waiting: the send in progress is aborted
        (its event stays buffered) and every wait here returns."""
        with self._cond:
            self._halted = True
            self._cond.notify_all()
        abort = getattr(self.transport, "abort", None)
        if abort is not None:
            abort()

    def stop(self, abort: bool = False) -> None:
        """End the worker and close the transport. abort=False (the end of a run, after its
        drain): a kept TCP connection is closed and its receipt awaited; abort=True (a stop):
        nothing more is awaited."""
        if abort:
            self.halt()
        with self._cond:
            self._halted = True
            self._cond.notify_all()
        self._thread.join(JOIN_S if abort else None)
        if self._thread.is_alive() or self._closed:
            return  # still inside a send (a transport that cannot abort): closing under it would break it
        self._closed = True
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
                    if self._halted or self.queue.fatal is not None:
                        return
                    now = self.pacer.now()
                    item = self.queue.next_send(now)
                    if item is not None:
                        break
                    due = self.queue.wake_at()
                    self._cond.wait(None if due is None else due - now)
            started = self.pacer.now()
            try:
                outcome = self.transport.send(item.message_for_attempt())
            except Exception as exc:  # noqa: BLE001 - a dead thread would leave the run waiting for its drain
                outcome = Outcome(False, f"internal error: {exc!r}", fatal=True)
            ended = self.pacer.now()
            reports = []
            with self._cond:
                if outcome.cancelled or (self._halted and not outcome.ok):
                    self.queue.on_cancel()  # a stop cut it short: still buffered
                else:
                    reports = self.queue.on_outcome(dataclasses.replace(outcome, latency_s=ended - started), ended)
                self._cond.notify_all()
            self._emit(reports)
