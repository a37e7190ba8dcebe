"""The pacer: maps virtual time to wall time, and is the only reader of the wall clock.

Every driver (run, replay, demo, the pytest plugin, load) asks the pacer when to hand
a packet over and what time it is; the engine, the payloads and the delivery policy
only ever see virtual time or the instants the pacer gives them. The pacer also owns
the stop signal: a stop wakes every wait at once, at every speed.

Lateness is how far behind its schedule a packet was handed over (speed 1 or N only;
at speed max there is no schedule). A driver that keeps up has lateness close to zero;
a machine that cannot produce packets as fast as asked shows it here.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass

# Slices in which blocking I/O (sockets, libcurl) checks for a stop: a stop takes effect
# within this long, whatever the driver is doing.
STOP_SLICE_S = 0.05
MAX_WAIT_S = 3600.0  # the longest single wait (Event.wait has a ceiling)


def wall() -> float:
    """The wall clock (monotonic seconds). Only the pacer and the I/O drivers' deadlines read it."""
    return time.monotonic()


LATE_S = 0.010  # a packet handed over this much after its time counts as late


@dataclass
class Lateness:
    """How late packets were handed over against their schedule (a wait wakes a little after
    its time: every packet is some microseconds late; `late` counts those over LATE_S)."""

    count: int = 0  # packets handed over on a schedule
    late: int = 0  # of them, handed over more than LATE_S after their time
    total_s: float = 0.0
    max_s: float = 0.0

    def add(self, seconds: float) -> None:
        self.count += 1
        seconds = max(0.0, seconds)
        self.total_s += seconds
        self.max_s = max(self.max_s, seconds)
        if seconds > LATE_S:
            self.late += 1

    def as_dict(self) -> dict:
        return {"scheduled": self.count, "late": self.late, "late_after_ms": LATE_S * 1000,
                "mean_ms": round(self.total_s / self.count * 1000, 3) if self.count else 0.0,
                "max_ms": round(self.max_s * 1000, 3)}


class Pacer:
    """Virtual seconds since the start -> wall time, at a speed (None: as fast as possible)."""

    def __init__(self, speed: float | None = 1.0):
        if speed is not None and not speed > 0:
            raise ValueError("speed must be positive, or None for as fast as possible")
        self.speed = speed
        self.stopped = threading.Event()
        self.lateness = Lateness()
        self._wall0: float | None = None

    def start(self) -> float:
        """Virtual time 0 is now (the first call counts; later ones do nothing); its wall time."""
        if self._wall0 is None:
            self._wall0 = wall()
        return self._wall0

    def now(self) -> float:
        """Wall seconds (monotonic): for deadlines, backoffs and latencies."""
        return wall()

    def wait_until(self, virtual_s: float) -> bool:
        """Wait until virtual time virtual_s is due on the wall clock (at once at speed max).
        False when stopped meanwhile (or before)."""
        if self.stopped.is_set():
            return False
        if self.speed is None:
            return True
        due = self.start() + virtual_s / self.speed
        if not self._wait_for(due):
            return False
        self.lateness.add(wall() - due)
        return True

    async def sleep_until(self, virtual_s: float) -> float | None:
        """wait_until for an asyncio driver (ffsim load): awaits instead of blocking, and a stop
        is the cancellation of the awaiting task. The lateness of the hand-over in seconds
        (also added to ``lateness``); None at speed max, where there is no schedule."""
        if self.speed is None:
            return None
        due = self.start() + virtual_s / self.speed
        while (delay := due - wall()) > 0:
            await asyncio.sleep(min(delay, MAX_WAIT_S))
        late = wall() - due
        self.lateness.add(late)
        return late

    async def sleep_until_wall(self, seconds: float) -> None:
        """Await the moment `seconds` of wall time after the start (a ramp at speed max)."""
        due = self.start() + seconds
        while (delay := due - wall()) > 0:
            await asyncio.sleep(min(delay, MAX_WAIT_S))

    def elapsed(self) -> float:
        """Wall seconds since the start."""
        return wall() - self.start()

    def _wait_for(self, moment: float) -> bool:
        # Event.wait has a ceiling (about 49 days on some platforms, OverflowError beyond):
        # a far moment is waited for in steps
        while (delay := moment - wall()) > 0:
            if self.stopped.wait(min(delay, MAX_WAIT_S)):
                return False
        return not self.stopped.is_set()

    def stop(self) -> None:
        self.stopped.set()
