"""Hand a schedule of packets to their deliveries on time, drain, stop, sum up.

One implementation for every sender of ffsim: ``ffsim run`` (a scenario's packets),
``ffsim replay`` (recorded traffic), the demo and the library's run handle. The
schedule is any iterable of ``(virtual seconds or None, delivery name, Item)``; the
pacer decides when each is due, and ``stop()`` from any thread ends everything
within a fraction of a second: the wait for a send time, the wait for room in a full
buffer, the drain, and the sends in progress.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass

from .delivery import Delivery, Item
from .pacer import Pacer


@dataclass
class Summary:
    profiles: dict  # "1".."3" or "heartbeat" (or a replay's kind) -> counters and buffered
    fatal: str | None = None
    interrupted: bool = False  # cut short: Ctrl-C or stop()
    # events of the scenario never handed to a delivery, by profile name: the run stopped
    # before them (fatal, Ctrl-C, stop()). Empty when all were handed over; None when unknown
    # (the rest of the scenario was not sent, and it has no end or is too long to count
    # quickly). With the counters, every
    # event is one of: sent, rejected, dropped, buffered, not_sent.
    not_sent: dict | None = dataclasses.field(default_factory=dict)
    # how late packets were handed over against the schedule (speed 1 or N), see pacer.Lateness
    lateness: dict = dataclasses.field(default_factory=dict)
    # per profile: mean and max seconds from the start of an attempt to its receipt, in ms
    # (over the attempts that delivered; None when none did)
    latency_ms: dict = dataclasses.field(default_factory=dict)

    COLUMNS = ("sent", "failed", "retried", "rejected", "dropped", "unconfirmed", "buffered")

    @property
    def not_sent_total(self) -> int | None:
        return None if self.not_sent is None else sum(self.not_sent.values())

    @property
    def delivered_all(self) -> bool:
        """Every event sent and read: nothing rejected, dropped, unconfirmed, left buffered or never sent."""
        return self.fatal is None and not self.interrupted and self.not_sent_total == 0 and all(
            p["rejected"] == 0 and p["dropped"] == 0 and p["unconfirmed"] == 0 and p["buffered"] == 0
            for p in self.profiles.values())

    def as_dict(self) -> dict:
        return {"profiles": self.profiles, "fatal": self.fatal, "interrupted": self.interrupted,
                "not_sent": self.not_sent, "lateness": self.lateness, "latency_ms": self.latency_ms, "delivered_all": self.delivered_all}

    def as_json(self) -> str:
        return json.dumps(self.as_dict())

    @classmethod
    def of(cls, deliveries: dict, fatal: str | None, interrupted: bool) -> Summary:
        """The summary of named deliveries."""
        profiles, latency = {}, {}
        for name, d in deliveries.items():
            c = d.counters
            profiles[name] = {"sent": c.sent, "failed": c.failed, "retried": c.retried, "rejected": c.rejected,
                              "dropped": c.dropped, "unconfirmed": c.unconfirmed, "buffered": len(d.pending())}
            latency[name] = {"mean": round(c.latency_total_s / c.timed * 1000, 3) if c.timed else None,
                             "max": round(c.latency_max_s * 1000, 3) if c.timed else None}
        return cls(profiles, fatal, interrupted, latency_ms=latency)

    def not_sent_text(self) -> str | None:
        """A line on what the run never handed over, or None when it handed over everything."""
        if self.not_sent is None:
            return "not sent: the rest of the scenario (not counted: it has no end, or too much of it is left)"
        total = self.not_sent_total
        if not total:
            return None
        by = ", ".join(f"{'heartbeat' if name == 'heartbeat' else 'profile ' + name}: {n}"
                       for name, n in sorted(self.not_sent.items(), key=lambda kv: (kv[0] == "heartbeat", kv[0]))
                       if n)
        return f"not sent: {total} event(s) of the scenario, the run stopped before them ({by})"

    def __str__(self) -> str:
        """The table: what a failed `assert summary.delivered_all` shows."""
        return self.table()

    def table(self) -> str:
        lines = ["  profile  " + "  ".join(self.COLUMNS) + "  latency (mean/max ms)"]
        for name, c in sorted(self.profiles.items(), key=lambda kv: (kv[0] == "heartbeat", kv[0])):
            latency = self.latency_ms.get(name) or {"mean": None}
            shown = "-" if latency["mean"] is None else f"{latency['mean']:.1f}/{latency['max']:.1f}"
            lines.append(f"{name:>9}  " + "  ".join(f"{c[k]:>{len(k)}}" for k in self.COLUMNS) + f"  {shown:>21}")
        if (line := self.not_sent_text()) is not None:
            lines.append(line)
        if self.lateness.get("late"):
            lines.append(f"late: {self.lateness['late']} of {self.lateness['scheduled']} packet(s) handed over more "
                         f"than {self.lateness['late_after_ms']:g} ms after their time (mean lateness "
                         f"{self.lateness['mean_ms']:.1f} ms, max {self.lateness['max_ms']:.1f} ms)")
        if self.fatal:
            lines.append(f"stopped: {self.fatal}")
        return "\n".join(lines)


class Dispatcher:
    """Named deliveries fed from one schedule, paced by one pacer."""

    def __init__(self, deliveries: dict[str, Delivery], pacer: Pacer):
        self.deliveries = deliveries
        self.pacer = pacer
        self.handed = dict.fromkeys(deliveries, 0)  # items given to each delivery
        self.interrupted = False
        self.keyboard = False  # a Ctrl-C (KeyboardInterrupt) cut play() short

    def fatal(self) -> str | None:
        for name, d in self.deliveries.items():
            if d.fatal is not None:
                return f"{name}: {d.fatal.detail}"
        return None

    @property
    def stopped(self) -> bool:
        return self.pacer.stopped.is_set()

    def stop(self) -> None:
        """From any thread: play() returns within a fraction of a second, its sends aborted."""
        self.pacer.stop()
        for d in self.deliveries.values():
            d.halt()

    def play(self, schedule: Iterable[tuple[float | None, str, Item]], drain_s: float = 60.0) -> bool:
        """Hand every item over at its time, then wait up to drain_s for the buffers. True when
        every item of the schedule was handed over.

        At speed max the producer waits for room in a full buffer (rather than drop), but
        at most drain_s at a time: a buffer that has not moved for that long belongs to a
        receiver that is down, and then, like the camera, it drops its oldest events for
        the new ones until it delivers again. So a run ends at most drain_s after the end
        of the schedule even when nobody receives.
        """
        produced_all = False
        patient = dict.fromkeys(self.deliveries, True)  # speed max: waiting for room, not dropping
        sent_when_given_up = dict.fromkeys(self.deliveries, 0)
        max_speed = self.pacer.speed is None
        try:
            self.pacer.start()
            for moment, name, item in schedule:
                if self.fatal() or self.stopped:
                    break
                if moment is not None and not self.pacer.wait_until(moment):
                    break
                delivery = self.deliveries[name]
                if max_speed:
                    if not patient[name] and delivery.counters.sent > sent_when_given_up[name]:
                        patient[name] = True  # it delivers again: wait for room again
                    room = delivery.offer(item, wait=drain_s if patient[name] else False)
                    if room is None:
                        break  # stopped while waiting for room: item not handed over
                    if not room and patient[name]:
                        patient[name] = False
                        sent_when_given_up[name] = delivery.counters.sent
                else:
                    delivery.offer(item)
                self.handed[name] += 1
            else:
                produced_all = not self.stopped
            deadline = self.pacer.now() + drain_s
            for d in self.deliveries.values():
                d.drain(max(0.0, deadline - self.pacer.now()))
        except KeyboardInterrupt:
            self.interrupted = self.keyboard = True
        finally:
            cut = self.interrupted or self.stopped
            for d in self.deliveries.values():
                # after a stop, or a drain that ran out, nothing more is awaited
                d.stop(abort=cut or bool(d.pending()))
            # a stop during the closing of kept connections skipped their receipts
            self.interrupted = cut or self.stopped
        return produced_all

    def summary(self) -> Summary:
        summary = Summary.of(self.deliveries, self.fatal(), self.interrupted)
        summary.lateness = self.pacer.lateness.as_dict()
        return summary

    def pending(self) -> list[Item]:
        return [item for d in self.deliveries.values() for item in d.pending()]
