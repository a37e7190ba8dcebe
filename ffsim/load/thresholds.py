"""Pass/fail thresholds of a load run, as k6 users write them: ``p99<500ms``, ``rejected==0``.

Syntax: ``[GROUP:]METRIC OP VALUE[UNIT]``, spaces allowed around the parts.

* METRIC, latency (ms; a bare number is ms, as k6's ``http_req_duration``): ``p50 p90 p95 p99
  p99.9 min mean max``; k6 spellings ``p(99)``, ``avg`` (mean) and ``med`` (p50) are accepted.
  Send lateness against the schedule: ``lateness_p50`` ... ``lateness_max``, same units.
* Counts (whole run, no unit): ``sent`` (= ``attempts``), ``delivered``, ``failed``, ``retried``,
  ``rejected``, ``dropped``, ``connection_errors``, ``buffered`` (still buffered at the end),
  ``buffered_max``, ``lost`` (events the receiver did not store; set by the caller with
  ``LoadStats.set_lost``, a threshold on an unknown ``lost`` fails).
* ``error_rate``: failed / attempts, ``1%`` or a fraction ``0.01`` (as k6's ``rate<0.01``).
* ``events_per_s``: delivered events per second over the run, ``/s`` optional.
* OP: ``< <= > >= == !=``. UNIT: ``us ms s`` for times, ``%`` for rates, ``/s`` for events_per_s.
* GROUP prefix: the metric of one camera group (``gate:p99<500ms``); without it, the whole run.

As in k6 a threshold states what must hold: it fails when the comparison is false. A metric
without data (no latency sample, ``lost`` unknown, an error rate without attempts) fails too,
and says so, rather than passing silently.
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
    "<": operator.lt, ">": operator.gt,
}

_TIME_KEYS = {"p50": "p50", "p90": "p90", "p95": "p95", "p99": "p99", "p99.9": "p99.9",
              "min": "min", "mean": "mean", "max": "max"}
_COUNTS = ("sent", "attempts", "delivered", "failed", "retried", "rejected", "dropped",
           "connection_errors", "buffered", "buffered_max", "lost")

# metric name -> (kind, path in a totals entry)
METRICS: dict[str, tuple[str, tuple[str, ...]]] = {}
for _name, _key in _TIME_KEYS.items():
    METRICS[_name] = ("time", ("latency_ms", _key))
    METRICS["lateness_" + _name] = ("time", ("lateness_ms", _key))
for _name in _COUNTS:
    METRICS[_name] = ("count", (_name,))
METRICS["error_rate"] = ("rate", ("error_rate",))
METRICS["events_per_s"] = ("per_s", ("events_per_s",))

ALIASES = {"avg": "mean", "med": "p50", "lateness_avg": "lateness_mean", "lateness_med": "lateness_p50"}

_UNITS = {
    "time": {"": 1.0, "ms": 1.0, "s": 1000.0, "us": 0.001, "µs": 0.001},
    "count": {"": 1.0},
    "rate": {"": 1.0, "%": 0.01},
    "per_s": {"": 1.0, "/s": 1.0},
}
_UNIT_HELP = {"time": "ms (the default), s or us", "count": "no unit", "rate": "% or a fraction",
              "per_s": "/s or none"}

_OP_RE = re.compile(r"<=|>=|==|!=|=<|=>|<|>|=")
_VALUE_RE = re.compile(r"([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S*)")
_K6_PCT = re.compile(r"^(lateness_)?p\((\d+(?:\.\d+)?)\)$")


SHOWN = 120  # characters of a bad threshold echoed with its caret line


def _error(text: str, start: int, end: int, message: str) -> ValueError:
    from ..terminal import printable

    if len(text) > SHOWN or start >= SHOWN:
        return ValueError(f"bad threshold {printable(text[:SHOWN])}... ({len(text)} characters): {message}")
    shown = printable(text)
    # the caret line lines up under the text as printed (escapes are wider than their character)
    lead, marked = len(printable(text[:start])), max(1, len(printable(text[start:end])))
    return ValueError(f"bad threshold {text!r}: {message}\n  {shown}\n  {' ' * lead}{'^' * marked}")


def _did_you_mean(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.5)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


@dataclass(frozen=True)
class Threshold:
    """A parsed threshold; ``value`` is in the metric's unit (ms, count, fraction, per second)."""

    text: str
    metric: str
    op: str
    value: float
    group: str | None = None

    @property
    def kind(self) -> str:
        return METRICS[self.metric][0]

    def actual(self, totals: dict[str, Any]) -> float | None:
        """The measured value in ``totals`` (``LoadStats.totals()``), None without data."""
        entry = totals["total"] if self.group is None else totals["groups"].get(self.group)
        if entry is None:
            return None
        value: Any = entry
        for key in METRICS[self.metric][1]:
            value = value.get(key) if isinstance(value, dict) else None
        return None if value is None else float(value)

    def check(self, totals: dict[str, Any]) -> tuple[bool, float | None, str]:
        """``(ok, actual value, text)``; a metric without data fails."""
        actual = self.actual(totals)
        if actual is None or math.isnan(actual):
            return False, None, self.text
        return bool(OPS[self.op](actual, self.value)), actual, self.text

    def describe(self, actual: float | None, totals: dict[str, Any] | None = None) -> str:
        """``'p99<500ms' failed: actual 612.3ms`` or the reason there is no value."""
        if actual is None:
            if self.group is not None and totals is not None and self.group not in totals["groups"]:
                why = f"no group {self.group!r}{_did_you_mean(self.group, totals['groups'])}"
            elif self.metric == "lost":
                why = "lost is unknown (the receiver's store was not checked)"
            else:
                why = "no data"
            return f"{self.text!r} failed: {why}"
        return f"{self.text!r} failed: actual {format_value(self.kind, actual)}"


@dataclass(frozen=True)
class ThresholdFailure:
    threshold: Threshold
    actual: float | None
    message: str


def format_value(kind: str, value: float) -> str:
    if kind == "time":
        return f"{value:g}ms"
    if kind == "rate":
        return f"{value * 100:g}%"
    if kind == "per_s":
        return f"{value:g}/s"
    return f"{value:g}"


def parse_threshold(text: str) -> Threshold:
    """Parse ``[GROUP:]METRIC OP VALUE[UNIT]``; ValueError names and marks the bad part."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("bad threshold: empty (expected e.g. 'p99<500ms' or 'rejected==0')")
    match = _OP_RE.search(text)
    if not match:
        raise _error(text, 0, len(text), "missing comparison operator (one of < <= > >= == !=), e.g. 'p99<500ms'")
    op = match.group()
    if op in ("=", "=<", "=>"):
        fix = {"=": "==", "=<": "<=", "=>": ">="}[op]
        raise _error(text, match.start(), match.end(), f"operator {op!r} is not one of < <= > >= == != (did you mean {fix!r}?)")
    left, right = text[: match.start()], text[match.end():]

    group: str | None = None
    metric_start = len(left) - len(left.lstrip())
    if ":" in left:
        g, _, rest = left.partition(":")
        group = g.strip()
        if not group:
            raise _error(text, 0, left.index(":") + 1, "empty group name before ':'")
        metric_start = left.index(":") + 1 + len(rest) - len(rest.lstrip())
    metric_text = left[metric_start:].strip()
    metric_end = metric_start + len(metric_text)
    if not metric_text:
        raise _error(text, 0, max(1, match.start()), "missing metric before the operator, e.g. 'p99<500ms'")
    metric = metric_text.lower()
    k6 = _K6_PCT.match(metric)
    if k6:
        metric = f"{k6.group(1) or ''}p{float(k6.group(2)):g}"
    metric = ALIASES.get(metric, metric)
    if metric not in METRICS:
        raise _error(text, metric_start, metric_end,
                     f"unknown metric {metric_text!r}{_did_you_mean(metric, [*METRICS, *ALIASES])}; "
                     f"metrics: {', '.join(METRICS)}")

    value_start = match.end() + len(right) - len(right.lstrip())
    value_text = right.strip()
    if not value_text:
        raise _error(text, match.end(), len(text) + 1, "missing value after the operator")
    vm = _VALUE_RE.fullmatch(value_text)
    if not vm:
        raise _error(text, value_start, value_start + len(value_text),
                     f"value {value_text!r} is not a number with an optional unit")
    number, unit = float(vm.group(1)), vm.group(2)
    kind = METRICS[metric][0]
    factor = _UNITS[kind].get(unit.lower() if unit != "µs" else unit)
    if factor is None:
        unit_start = value_start + vm.start(2)
        raise _error(text, unit_start, unit_start + len(unit),
                     f"unit {unit!r} does not fit {metric} (expected {_UNIT_HELP[kind]})")
    if not math.isfinite(number):
        raise _error(text, value_start, value_start + len(value_text), "value is not finite")
    return Threshold(text=text.strip(), metric=metric, op=op, value=number * factor, group=group)


def parse_thresholds(texts: Iterable[str]) -> list[Threshold]:
    return [parse_threshold(t) for t in texts]


def validate_groups(thresholds: Iterable[Threshold], groups: Iterable[str]) -> None:
    """Refuse (ValueError) thresholds naming a group the fleet does not have, before the run."""
    names = list(groups)
    for t in thresholds:
        if t.group is not None and t.group not in names:
            raise ValueError(f"bad threshold {t.text!r}: unknown group {t.group!r}"
                             f"{_did_you_mean(t.group, names)}; groups: {', '.join(names) or '(none)'}")


def check_all(thresholds: Iterable[Threshold], totals: dict[str, Any]) -> list[ThresholdFailure]:
    """The failing thresholds, in the order given (empty: all passed; exit 1 otherwise)."""
    failures = []
    for t in thresholds:
        ok, actual, _text = t.check(totals)
        if not ok:
            failures.append(ThresholdFailure(t, actual, t.describe(actual, totals)))
    return failures


def results(thresholds: Iterable[Threshold], totals: dict[str, Any]) -> list[dict[str, Any]]:
    """Every threshold with its verdict, for summaries and reports: ``{"text", "ok", "actual",
    "detail"}`` where detail reads ``p99 = 612ms`` (or why there is no value)."""
    out = []
    for t in thresholds:
        ok, actual, _text = t.check(totals)
        name = f"{t.group}:{t.metric}" if t.group else t.metric
        if actual is None:
            detail = t.describe(None, totals).split(" failed: ", 1)[-1]
        else:
            detail = f"{name} = {format_value(t.kind, actual)}"
        out.append({"text": t.text, "ok": ok, "actual": actual, "detail": detail})
    return out


__all__ = ["METRICS", "Threshold", "ThresholdFailure", "check_all", "parse_threshold", "parse_thresholds",
           "results", "validate_groups"]
