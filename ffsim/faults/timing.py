"""When faults strike, in virtual time: pure functions of the scenario (no clock, no I/O).

A fault is timed by `at` (one moment), `during` (an interval), `rate` (seeded moments) or
`share` (each eligible packet with a probability). Every random choice is drawn from the
fault's own seed, keyed by what it decides, so adding a fault never changes another's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..engine.plates import Rng
from ..scenario.model import Fault, Restart, Scenario

US_PER_S = 1_000_000


def moments(fault: Fault, until_us: int | None) -> Iterator[int]:
    """The moments a fault timed by `at` or `rate` strikes, in order (endless for an open rate)."""
    timing = fault.timing
    if timing.at_us is not None:
        yield timing.at_us
        return
    if timing.rate_per_s is None:
        return
    ends = [e for e in (timing.until_us, until_us) if e is not None]
    end = min(ends) if ends else None
    rng = Rng(fault.seed, "fault-rate")
    t = float(timing.from_us)
    while True:
        t += rng.expovariate(timing.rate_per_s) * US_PER_S
        if end is not None and t >= end:
            return
        yield int(t)


def share_hit(fault: Fault, profile: int, counter: object) -> bool:
    """Whether a `share` fault strikes this packet: drawn per (profile, packetCounter), independent of order."""
    share = fault.timing.share
    assert share is not None
    return Rng(fault.seed, "fault-share", profile, counter).random() < share


@dataclass(frozen=True, slots=True)
class Window:
    """The camera is dark in [start_us, end_us): a restart."""

    start_us: int
    end_us: int
    restart: Restart
    fault: Fault


def restart_windows(scenario: Scenario, until_us: int | None = None) -> tuple[Window, ...]:
    """The scenario's restarts as sorted, non-overlapping dark windows.

    The loader refuses overlapping `at`/`during` restarts; a `rate` restart that would begin while
    the camera is still down is skipped (the camera cannot lose power twice at once). An open
    rate is expanded up to until_us, or to the last vehicle's time plus an hour when no end is known
    (30 days for traffic without end), and never beyond 30 days (43,200 windows at most).
    """
    found: list[Window] = []
    for fault in scenario.faults:
        if fault.type != "restart":
            continue
        spec = fault.spec
        assert isinstance(spec, Restart)
        if fault.timing.during_us is not None:
            start, end = fault.timing.during_us
            found.append(Window(start, end, spec, fault))
            continue
        horizon = until_us
        if horizon is None and fault.timing.rate_per_s is not None and fault.timing.until_us is None:
            horizon = _horizon(scenario)
        if fault.timing.rate_per_s is not None:  # bounded: at most one a minute over 30 days
            horizon = min(horizon if horizon is not None else ENDLESS_HORIZON_US, ENDLESS_HORIZON_US)
        for start in moments(fault, horizon):
            found.append(Window(start, start + spec.down_us, spec, fault))
    found.sort(key=lambda w: (w.start_us, w.fault.index))
    out: list[Window] = []
    for window in found:
        if out and window.start_us < out[-1].end_us:
            continue
        out.append(window)
    return tuple(out)


ENDLESS_HORIZON_US = 30 * 86_400 * US_PER_S  # restarts at a rate in traffic without end: its first 30 days


def _horizon(scenario: Scenario) -> int:
    if any(f.until_us is None for f in scenario.traffic):
        return ENDLESS_HORIZON_US  # at most one restart a minute (the loader's bound): 43,200 windows
    last = max((v.at_us for v in scenario.vehicles), default=0)
    last = max([last] + [f.until_us for f in scenario.traffic if f.until_us is not None])
    return last + 3600 * US_PER_S
