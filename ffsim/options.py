"""The options every way of running takes (library, CLI, plugin): speed, durations, start time.

Kept apart from the run itself so that reading them needs neither libcurl nor aiohttp.
"""

from __future__ import annotations

import time
from datetime import datetime

from .scenario.model import Scenario
from .units import camera_zone, parse_duration, parse_start


def parse_speed(speed: float | int | str | None) -> float | None:
    """1 = real time, N = N times faster, "max" or None = as fast as the receiver takes them."""
    if speed is None or speed == "max":
        return None
    try:
        value = float(speed)
    except (TypeError, ValueError):
        value = -1.0
    if not value > 0:
        raise ValueError(f"speed: expected 1 (real time), a factor such as 10, or 'max'; got {speed!r}")
    return value


def duration_us(value: float | int | str | None, what: str) -> int | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None


def start_time(scenario: Scenario, start: str | int | datetime | None) -> int:
    """Virtual t=0 as epoch microseconds: start (ISO 8601 text, in the camera's time zone
    unless it has an offset; a datetime; or epoch microseconds), else the scenario's, else
    now (read once)."""
    if isinstance(start, int) and not isinstance(start, bool):
        return start
    if start is not None:
        return parse_start(start, camera_zone(scenario.camera.timezone))
    if scenario.start_us is not None:
        return scenario.start_us
    return time.time_ns() // 1000
