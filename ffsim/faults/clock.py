"""The camera's own clock when a clock fault is on: what it writes, never when it sends.

A pure function of the scenario's clock faults (no clock, no I/O). Times are virtual
microseconds after t=0; the offset is what the camera adds to the true time in every
timestamp it writes (capture and frame timestamps, datetime, image names, the heartbeat's
system.timestamp). Send order and send times never change.

* clock_jump (`at`, `by`): from `at` on, the clock is `by` off (the jumps add up).
* clock_drift (`ppm`, whole run or `during [a, b)`): the clock runs ppm millionths fast (or slow
  when negative) while it drifts; after `b` it keeps what it gained.
* wrong_timezone (`timezone`, whole run or `during`): `datetime` and the local image names are
  written in that zone (the epoch timestamps are unchanged).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..scenario.model import ClockFault, Fault, Scenario

CLOCK_FAULTS = ("clock_jump", "clock_drift", "wrong_timezone")


@dataclass(frozen=True, slots=True)
class _Part:
    fault: Fault
    spec: ClockFault
    start_us: int  # the jump's moment, or the drift's or zone's beginning
    end_us: int | None  # drift, zone: the end of `during` (None: the whole run)


def ms(us: int) -> int | float:
    """Microseconds as milliseconds: an integer when exact."""
    return us // 1000 if us % 1000 == 0 else us / 1000


class CameraClock:
    """The offset and the zone of the camera's clock at each moment of a run."""

    __slots__ = ("_jumps", "_drifts", "_zones")

    def __init__(self, faults: Iterable[Fault]):
        self._jumps: list[_Part] = []
        self._drifts: list[_Part] = []
        self._zones: list[_Part] = []
        for fault in faults:
            spec = fault.spec
            if fault.type not in CLOCK_FAULTS or not isinstance(spec, ClockFault):
                continue
            during = fault.timing.during_us
            if spec.kind == "clock_jump":
                at = fault.timing.at_us
                self._jumps.append(_Part(fault, spec, at if at is not None else 0, None))
            elif during is not None:
                part = _Part(fault, spec, during[0], during[1])
                (self._drifts if spec.kind == "clock_drift" else self._zones).append(part)
            else:
                part = _Part(fault, spec, 0, None)
                (self._drifts if spec.kind == "clock_drift" else self._zones).append(part)

    def __bool__(self) -> bool:
        return bool(self._jumps or self._drifts or self._zones)

    @property
    def shifts(self) -> bool:
        """Whether any fault moves the timestamps (a jump or a drift), not only the zone."""
        return bool(self._jumps or self._drifts)

    def offset_us(self, t_us: int) -> int:
        """How far the camera's clock is off the true time at t_us (microseconds, signed)."""
        total = 0
        for part in self._jumps:
            if part.start_us <= t_us:
                total += part.spec.by_us
        for part in self._drifts:
            total += _drift(part, t_us)
        return total

    def zone_at(self, t_us: int) -> str | None:
        """The zone the camera writes local times in at t_us, when a wrong_timezone is on (the
        last listed wins when several are); None: the camera's own."""
        found = None
        for part in self._zones:
            if part.start_us <= t_us and (part.end_us is None or t_us < part.end_us):
                found = part.spec.timezone
        return found

    def labels(self, t_us: int, zones: bool = True) -> list[dict]:
        """One label per fault that changes what the camera writes at t_us, in file order:
        {"type", "name", "offset_ms"} for a jump or a drift (its own share of the offset),
        {"type", "name", "timezone"} for a zone (left out when zones is False: the heartbeat's
        timestamp is UTC)."""
        found: list[tuple[int, dict]] = []
        for part in self._jumps:
            if part.start_us <= t_us:
                found.append((part.fault.index, _label(part, {"offset_ms": ms(part.spec.by_us)})))
        for part in self._drifts:
            gained = _drift(part, t_us)
            if gained:
                found.append((part.fault.index, _label(part, {"offset_ms": ms(gained)})))
        if zones:
            for part in self._zones:
                if part.start_us <= t_us and (part.end_us is None or t_us < part.end_us):
                    found.append((part.fault.index, _label(part, {"timezone": part.spec.timezone})))
        found.sort(key=lambda item: item[0])
        return [label for _, label in found]


def camera_clock(scenario: Scenario) -> CameraClock | None:
    """The scenario's camera clock, or None when no clock fault is set (the fast path)."""
    if not scenario.faults:
        return None
    clock = CameraClock(scenario.faults)
    return clock if clock else None


def _drift(part: _Part, t_us: int) -> int:
    if t_us <= part.start_us:
        return 0
    until = t_us if part.end_us is None or t_us < part.end_us else part.end_us
    return int(part.spec.ppm * (until - part.start_us) / 1e6)


def _label(part: _Part, extra: dict) -> dict:
    return {"type": part.fault.type, "name": part.fault.name, **extra}
