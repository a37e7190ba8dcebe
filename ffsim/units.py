"""Durations, rates and virtual time.

Virtual time is held in integer microseconds so that frame times, timeouts and
payload timestamps never accumulate floating-point error.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import zoneinfo
from datetime import datetime, timezone, tzinfo
from decimal import Decimal, InvalidOperation

US_PER_S = 1_000_000

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|min|h)?\s*$")  # no unit: seconds
_DURATION_FACTOR = {"ms": 1_000, "s": US_PER_S, "m": 60 * US_PER_S, "min": 60 * US_PER_S, "h": 3600 * US_PER_S}
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*/\s*(h|min|m|s)\s*$")
_RATE_DIVISOR = {"h": 3600, "min": 60, "m": 60, "s": 1}

MAX_DURATION_US = 10 * 365 * 86_400 * US_PER_S  # ten years: far beyond any run, far below overflow
MAX_DURATION_TEXT = "10 years (87600h)"
DURATION_HELP = "a duration such as 500ms, 5s, 1.5s, 2m or 1h (or a number of seconds)"
RATE_HELP = "a rate such as 300/h, 5/min or 0.5/s"


def parse_duration(value: object) -> int:
    """Return microseconds for '500ms', '5s', '2m', '1h' or a bare number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"expected {DURATION_HELP}")
    if isinstance(value, (int, float)):
        if value < 0 or value != value or value in (float("inf"),):
            raise ValueError(f"expected {DURATION_HELP}, not negative")
        return _bounded(Decimal(str(value)) * US_PER_S, value)
    if not isinstance(value, str):
        raise ValueError(f"expected {DURATION_HELP}")
    match = _DURATION.match(value)
    if not match:
        if value.strip().startswith("-"):
            raise ValueError(f"a duration cannot be negative: {value!r}")
        raise ValueError(f"expected {DURATION_HELP}, got {value!r}")
    number, unit = match.groups()
    try:
        return _bounded(Decimal(number) * _DURATION_FACTOR[unit or "s"], value)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only decimals
        raise ValueError(f"expected {DURATION_HELP}, got {value!r}") from exc


def _bounded(us: Decimal, value: object) -> int:
    if us > MAX_DURATION_US:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise ValueError(f"a duration must be from 0 to {MAX_DURATION_TEXT}, got {shown}")
    return int(round(us))


def parse_rate(value: object) -> float:
    """Return events per second for 'N/h', 'N/min', 'N/s'."""
    if not isinstance(value, str):
        raise ValueError(f"expected {RATE_HELP}")
    match = _RATE.match(value)
    if not match:
        raise ValueError(f"expected {RATE_HELP}, got {value!r}")
    number, unit = match.groups()
    return float(Decimal(number) / _RATE_DIVISOR[unit])


def parse_start(value: object, zone: tzinfo | None = None) -> int:
    """Return epoch microseconds for an ISO 8601 time; a time without an offset is in zone
    (the camera's time zone), UTC when none is given."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            moment = datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError as exc:
            raise ValueError(
                f"expected an ISO 8601 time such as 2026-11-24T08:00:00Z, got {value!r}"
            ) from exc
    else:
        raise ValueError("expected an ISO 8601 time such as 2026-11-24T08:00:00Z")
    if moment.tzinfo is None:
        naive, moment = moment, moment.replace(tzinfo=zone or timezone.utc)
        if not 1970 <= naive.year < 9000:
            raise ValueError(f"{value!r} is outside the years 1970 to 8999 (epoch timestamps, local time in any zone)")
        if moment.astimezone(timezone.utc).astimezone(moment.tzinfo).replace(tzinfo=None) != naive:
            raise ValueError(f"{value!r} does not exist in {zone} (the clocks skip it); give an offset")
    if not datetime(1970, 1, 1, tzinfo=timezone.utc) <= moment < datetime(9000, 1, 1, tzinfo=timezone.utc):
        raise ValueError(f"{value!r} is outside the years 1970 to 8999 (epoch timestamps, local time in any zone)")
    delta = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * US_PER_S + delta.microseconds


@functools.cache
def zone_names() -> frozenset[str]:
    """The IANA time zones of the tzdata package."""
    return frozenset(importlib.resources.files("tzdata").joinpath("zones").read_text().split())


@functools.cache
def camera_zone(name: str) -> zoneinfo.ZoneInfo | None:
    """The time zone of that IANA name, always from the tzdata package (never the machine's
    own files, whose rules and names vary from one machine to the next), or None."""
    if name not in zone_names():
        return None
    with importlib.resources.files("tzdata.zoneinfo").joinpath(*name.split("/")).open("rb") as f:
        return zoneinfo.ZoneInfo.from_file(f, key=name)
