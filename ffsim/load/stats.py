"""Measurements of a load run, per camera group and in total, per interval and for the whole run.

Sans-I/O: nothing here reads a clock. Every ``record_*`` call and :meth:`LoadStats.tick` receives
``t_s``, seconds since the start of the load (virtual or wall time, as the caller decides).

Latency and lateness go into HdrHistograms (``hdrh``) in microseconds, from 1 us to 60 s with
3 significant digits (values above 60 s are recorded as 60 s, negative lateness as 0). A
histogram takes about 144 KB, so each group keeps exactly four: latency and lateness for the
whole run, and latency and lateness of the current interval, summarised and reset when the
interval closes. The overall figures are obtained by adding the groups' histograms (exact).

hdrh reports a percentile as the highest value equivalent to its bucket: with 3 significant
digits, within 0.1 % above the recorded value (1000 us reads 1000, 3000 us reads 3001).

**Time series.** :meth:`tick` closes every whole interval that ends at or before ``t_s`` into a
row per group plus a ``total`` row; intervals are one second wide and seconds without traffic
give rows of zeros (percentiles empty). At most ``max_intervals`` intervals are kept (default
7,200, two hours at one second; about 1 KB per group-row): when the limit is reached, adjacent
pairs of rows are merged and the width of later intervals doubles (2 s, then 4 s...), so the
series always covers the whole run in bounded memory. A merged row sums the counts and takes,
for every percentile, the larger of the two (an estimate, close to an upper bound: hdrh rounds
the rank; ``max`` stays exact). The open interval keeps its start and ends at start + the new
width, so rows stay aligned to multiples of their width from 0; new wider
intervals are measured exactly from their own histograms. Totals are always exact.

**Distributed runs.** :meth:`encode` returns bytes (JSON with the histograms in HdrHistogram's
base64 format) holding the totals and the closed rows; :meth:`merge` adds them in: totals are
exact (histograms add exactly), rows with the same start add their counts, and take the larger
of each percentile (an estimate as above; exact for ``max``). Workers should ``tick`` to the
same time before encoding: the open interval is not encoded.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from typing import IO, Any

from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

LOWEST_US = 1
HIGHEST_US = 60_000_000
SIGNIFICANT_DIGITS = 3
TOTAL = "total"
DEFAULT_MAX_INTERVALS = 7_200
MAX_DETAILS = 100  # distinct failure details kept per group; more are counted as "(other)"
ENCODING_VERSION = 1

COUNTERS = ("attempts", "delivered", "failed", "retried", "rejected", "dropped", "connection_errors")
LATENCY_PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)
ROW_PERCENTILES = (50.0, 90.0, 99.0, 99.9)
LATENESS_ROW_PERCENTILES = (50.0, 99.0)

# One per-interval row: the counters, the gauge, the latency percentiles in ms, lateness in ms.
ROW_FIELDS = (
    *COUNTERS,
    "buffered",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "p99.9_ms",
    "max_ms",
    "lateness_p50_ms",
    "lateness_p99_ms",
    "lateness_max_ms",
)
_N_COUNTS = len(COUNTERS)
_BUFFERED = _N_COUNTS
_FIRST_PCT = _N_COUNTS + 1
# series()/CSV columns: interval, group, row fields, derived rate, statuses ("200:5 503:1").
SERIES_COLUMNS = ("start_s", "duration_s", "group", *ROW_FIELDS, "events_per_s", "statuses")

Row = tuple[Any, ...]  # ROW_FIELDS values then a tuple of (status, count) pairs


def _hist() -> Any:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


# HdrHistogram.record_value, for the two histograms of a group (the run's and the interval's,
# alike in layout) at once: the bucket index computed once, with int.bit_length (hdrh's own
# goes through bin()). The same counts, total, min and max as record_value (tested).
_LAYOUT = _hist()
_UNIT = _LAYOUT.unit_magnitude
_HALF_MAGNITUDE = _LAYOUT.sub_bucket_half_count_magnitude
_HALF = _LAYOUT.sub_bucket_half_count
_MASK = _LAYOUT.sub_bucket_mask
_BUCKET_SHIFT = _UNIT + _HALF_MAGNITUDE + 1
_COUNTS_LEN = _LAYOUT.counts_len
del _LAYOUT


def _record_both(a: Any, b: Any, us: int) -> None:
    bucket = (us | _MASK).bit_length() - _BUCKET_SHIFT
    index = ((bucket + 1) << _HALF_MAGNITUDE) + (us >> (bucket + _UNIT)) - _HALF
    if not 0 <= index < _COUNTS_LEN:  # cannot happen for 0..HIGHEST_US; as record_value, ignored
        return
    for h in (a, b):
        h.counts[index] += 1
        h.total_count += 1
        if us < h.min_value:
            h.min_value = us
        if us > h.max_value:
            h.max_value = us


def _to_us(seconds: float) -> int:
    if seconds != seconds:  # NaN
        return 0
    return max(0, min(HIGHEST_US, round(seconds * 1_000_000)))


def _ms(us: float) -> float:
    return us / 1000.0


def _percentiles_ms(hist: Any, percentiles: tuple[float, ...]) -> dict[float, float] | None:
    if hist.get_total_count() == 0:
        return None
    values = hist.get_percentile_to_value_dict(list(percentiles))
    return {p: _ms(values[p]) for p in percentiles}


def _pct_key(p: float) -> str:
    return f"p{p:g}"


def _summary_ms(hist: Any) -> dict[str, float | int | None]:
    """count, min, mean, p50...p99.9, max of a histogram, in ms (None when empty)."""
    count = hist.get_total_count()
    out: dict[str, float | int | None] = {"count": count}
    pcts = _percentiles_ms(hist, LATENCY_PERCENTILES)
    for p in LATENCY_PERCENTILES:
        out[_pct_key(p)] = pcts[p] if pcts else None
    out["min"] = _ms(hist.get_min_value()) if count else None
    out["mean"] = _ms(hist.get_mean_value()) if count else None
    out["max"] = _ms(hist.get_max_value()) if count else None
    return out


def _max_or_none(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _merge_rows(a: Row, b: Row, buffered: str = "last") -> Row:
    """Counts summed, percentiles the larger (an estimate), buffered last (coarsening) or summed."""
    counts = [x + y for x, y in zip(a[:_N_COUNTS], b[:_N_COUNTS])]
    buf = b[_BUFFERED] if buffered == "last" else a[_BUFFERED] + b[_BUFFERED]
    pcts = [_max_or_none(x, y) for x, y in zip(a[_FIRST_PCT:-1], b[_FIRST_PCT:-1])]
    statuses: Counter[str] = Counter(dict(a[-1]))
    statuses.update(dict(b[-1]))
    return (*counts, buf, *pcts, tuple(sorted(statuses.items())))


def _empty_row() -> Row:
    return (*([0] * _N_COUNTS), 0, *([None] * (len(ROW_FIELDS) - _FIRST_PCT)), ())


class _Group:
    __slots__ = (
        "name", "counts", "statuses", "details", "buffered", "buffered_max", "lost",
        "latency", "lateness", "cur_latency", "cur_lateness", "cur_counts", "cur_statuses",
    )

    def __init__(self, name: str) -> None:
        self.name = name
        self.counts = dict.fromkeys(COUNTERS, 0)
        self.statuses: Counter[str] = Counter()
        self.details: Counter[str] = Counter()
        self.buffered = 0
        self.buffered_max = 0
        self.lost: int | None = None
        self.latency = _hist()
        self.lateness = _hist()
        self.cur_latency = _hist()
        self.cur_lateness = _hist()
        self.cur_counts = dict.fromkeys(COUNTERS, 0)
        self.cur_statuses: Counter[str] = Counter()

    def close_row(self) -> Row:
        row = _row_from(self.cur_counts, self.buffered, self.cur_latency, self.cur_lateness, self.cur_statuses)
        if self.cur_latency.get_total_count():
            self.cur_latency.reset()
        if self.cur_lateness.get_total_count():
            self.cur_lateness.reset()
        self.cur_counts = dict.fromkeys(COUNTERS, 0)
        self.cur_statuses = Counter()
        return row


def _row_from(counts: dict[str, int], buffered: int, latency: Any, lateness: Any, statuses: Counter[str]) -> Row:
    lat = _percentiles_ms(latency, ROW_PERCENTILES)
    late = _percentiles_ms(lateness, LATENESS_ROW_PERCENTILES)
    lat_values = [lat[p] if lat else None for p in ROW_PERCENTILES]
    lat_max = _ms(latency.get_max_value()) if lat else None
    late_values = [late[p] if late else None for p in LATENESS_ROW_PERCENTILES]
    late_max = _ms(lateness.get_max_value()) if late else None
    return (
        *(counts[c] for c in COUNTERS),
        buffered,
        *lat_values,
        lat_max,
        *late_values,
        late_max,
        tuple(sorted(statuses.items())),
    )


class LoadStats:
    """Measurements of a load run; see the module docstring for the model and its bounds.

    Counting conventions: every :meth:`record_attempt` is one request (``attempts``, k6's
    ``http_reqs``); ``delivered`` counts the ok ones (events/s is delivered per second);
    ``failed`` the others (``error_rate`` = failed / attempts). ``retried``, ``rejected``
    (given up on a permanent answer), ``dropped`` (given up: buffer full, too old) and
    ``connection_errors`` (no answer) are flags of an attempt, counted independently.
    """

    def __init__(self, groups: list[str], max_intervals: int = DEFAULT_MAX_INTERVALS) -> None:
        if max_intervals < 2 or max_intervals % 2:
            raise ValueError("max_intervals must be an even number >= 2")
        self._groups: dict[str, _Group] = {}
        for name in groups:
            self._add_group(name)
        self.max_intervals = max_intervals
        self._width = 1.0
        self._start = 0.0  # start of the open interval
        self._rows: list[tuple[float, float, dict[str, Row]]] = []
        self._now = 0.0
        self._lost: int | None = None
        self._scratch_latency = _hist()
        self._scratch_lateness = _hist()

    def _add_group(self, name: str) -> _Group:
        if not isinstance(name, str) or not name or name == TOTAL:
            raise ValueError(f"invalid group name {name!r} (non-empty, and not {TOTAL!r})")
        if name in self._groups:
            raise ValueError(f"group {name!r} given twice")
        group = self._groups[name] = _Group(name)
        return group

    @property
    def groups(self) -> list[str]:
        return list(self._groups)

    @property
    def interval_s(self) -> float:
        """Width of the intervals now being measured (1 s until the series is coarsened)."""
        return self._width

    def _group(self, name: str) -> _Group:
        try:
            return self._groups[name]
        except KeyError:
            raise ValueError(f"unknown group {name!r}; groups: {', '.join(self._groups) or '(none)'}") from None

    def _advance(self, t_s: float) -> None:
        if t_s != t_s:
            raise ValueError("t_s is NaN")
        if t_s > self._now:
            self._now = t_s
        if t_s >= self._start + self._width:
            self.tick(t_s)

    # -- recording ---------------------------------------------------------------------------------

    def record_attempt(
        self,
        group: str,
        t_s: float,
        ok: bool,
        status: int | None = None,
        detail: str = "",
        latency_s: float | None = None,
        retry: bool = False,
        rejected: bool = False,
        dropped: bool = False,
        connection_error: bool = False,
    ) -> None:
        """One request (or TCP send) finished at ``t_s``; ``latency_s`` None when unmeasured.

        An attempt timed before the open interval (late report) counts in the open interval.
        """
        g = self._groups.get(group) or self._group(group)
        if t_s > self._now or t_s >= self._start + self._width or t_s != t_s:
            self._advance(t_s)
        counts, cur = g.counts, g.cur_counts
        counts["attempts"] += 1
        cur["attempts"] += 1
        if ok:
            counts["delivered"] += 1
            cur["delivered"] += 1
        else:
            counts["failed"] += 1
            cur["failed"] += 1
        if retry or rejected or dropped or connection_error:
            for name, flag in (("retried", retry), ("rejected", rejected), ("dropped", dropped),
                               ("connection_errors", connection_error)):
                if flag:
                    counts[name] += 1
                    cur[name] += 1
        key = str(status) if status is not None else "none"
        g.statuses[key] += 1
        g.cur_statuses[key] += 1
        if not ok:
            why = detail or (f"status {status}" if status is not None else "no answer")
            if why not in g.details and len(g.details) >= MAX_DETAILS:
                why = "(other)"
            g.details[why] += 1
        if latency_s is not None:
            _record_both(g.latency, g.cur_latency, _to_us(latency_s))

    def record_dropped(self, group: str, t_s: float, n: int = 1) -> None:
        """Events given up without an attempt (a full buffer dropped its oldest): ``dropped``
        counts them; ``attempts`` does not."""
        g = self._group(group)
        self._advance(t_s)
        g.counts["dropped"] += n
        g.cur_counts["dropped"] += n

    def record_lateness(self, group: str, t_s: float, lateness_s: float) -> None:
        """A send started ``lateness_s`` after its scheduled time (negative: early, counted as 0)."""
        g = self._group(group)
        self._advance(t_s)
        _record_both(g.lateness, g.cur_lateness, _to_us(lateness_s))

    def set_buffered(self, group: str, n: int, t_s: float | None = None) -> None:
        """Events waiting in the group's cameras' buffers now (a gauge; rows keep the last value)."""
        g = self._group(group)
        if t_s is not None:
            self._advance(t_s)
        g.buffered = n
        g.buffered_max = max(g.buffered_max, n)

    def set_lost(self, n: int, group: str | None = None) -> None:
        """Events the receiver did not store (known only to the caller, e.g. after an end check)."""
        if group is None:
            self._lost = n
        else:
            self._group(group).lost = n

    # -- time series -------------------------------------------------------------------------------

    def tick(self, t_s: float) -> int:
        """Close every interval ending at or before ``t_s``; return how many were closed."""
        if t_s > self._now:
            self._now = t_s
        closed = 0
        while t_s >= self._start + self._width:
            self._close_interval()
            closed += 1
        return closed

    def finish(self, t_s: float) -> None:
        """The end of the run at ``t_s``: whole intervals are closed, and the last, partial one
        too, so that the series covers the whole run (a run shorter than an interval has a row).
        A partial interval shorter than half the width joins the row before it (which widens):
        one event in its last 9 ms would read as a burst of 110 events/s. Record nothing after."""
        self.tick(t_s)
        if t_s <= self._start:
            return
        partial = t_s - self._start
        if not self._rows or partial >= self._width / 2:
            self._close_interval(partial)
            return
        self._close_interval(partial)
        (start, width, before), (_s, extra, last) = self._rows[-2], self._rows[-1]
        merged = {name: _merge_rows(before.get(name) or _empty_row(), last.get(name) or _empty_row())
                  for name in dict.fromkeys([*before, *last])}
        self._rows[-2:] = [(start, width + extra, merged)]

    def _close_interval(self, width: float | None = None) -> None:
        """Close the open interval; width: a partial last one's (default: the whole interval)."""
        rows: dict[str, Row] = {}
        lat, late = self._scratch_latency, self._scratch_lateness
        counts = dict.fromkeys(COUNTERS, 0)
        statuses: Counter[str] = Counter()
        buffered = 0
        for name, g in self._groups.items():
            if g.cur_latency.get_total_count():
                lat.add(g.cur_latency)
            if g.cur_lateness.get_total_count():
                late.add(g.cur_lateness)
            for c in COUNTERS:
                counts[c] += g.cur_counts[c]
            statuses.update(g.cur_statuses)
            buffered += g.buffered
            rows[name] = g.close_row()
        rows[TOTAL] = _row_from(counts, buffered, lat, late, statuses)
        if lat.get_total_count():
            lat.reset()
        if late.get_total_count():
            late.reset()
        self._rows.append((self._start, self._width if width is None else width, rows))
        self._start += self._width
        if len(self._rows) >= self.max_intervals:
            self._rows = _coarsen(self._rows)
            self._width *= 2

    def series(self) -> list[dict[str, Any]]:
        """Closed intervals, oldest first, one dict per (interval, group) with ``total`` last.

        Keys are :data:`SERIES_COLUMNS`; percentiles are ms or None when there was no sample;
        ``statuses`` is a text such as ``"200:5 503:1"``.
        """
        return [_row_dict(start, width, name, row) for start, width, rows in self._rows for name, row in rows.items()]

    def latest(self, group: str = TOTAL) -> dict[str, Any] | None:
        """The last closed interval's row of a group (default: the total), as series() gives it;
        None before the first interval closes. Cheap: for a live view."""
        if not self._rows:
            return None
        start, width, rows = self._rows[-1]
        row = rows.get(group)
        return None if row is None else _row_dict(start, width, group, row)

    def to_csv(self, file: IO[str]) -> None:
        """Write :meth:`series` with a header line; empty cells for missing percentiles."""
        writer = csv.DictWriter(file, fieldnames=list(SERIES_COLUMNS), lineterminator="\n")
        writer.writeheader()
        for d in self.series():
            writer.writerow({k: ("" if v is None else v) for k, v in d.items()})

    # -- totals ------------------------------------------------------------------------------------

    def totals(self, duration_s: float | None = None) -> dict[str, Any]:
        """Whole-run figures: ``{"duration_s", "groups": {name: {...}}, "total": {...}}``.

        Each entry: the counters (``sent`` = ``attempts``), ``buffered`` (now), ``buffered_max``,
        ``lost`` (None unless :meth:`set_lost`), ``statuses`` and ``details`` (dicts),
        ``events_per_s`` and ``attempts_per_s`` (over ``duration_s``, default the latest time
        seen; None for a zero duration), ``error_rate`` (None without attempts), ``latency_ms``
        and ``lateness_ms`` (count, p50, p90, p95, p99, p99.9, min, mean, max).
        """
        duration = self._now if duration_s is None else duration_s
        groups = {name: self._entry(g.counts, g.statuses, g.details, g.buffered, g.buffered_max,
                                    g.lost, g.latency, g.lateness, duration)
                  for name, g in self._groups.items()}
        lat, late = _hist(), _hist()
        counts = dict.fromkeys(COUNTERS, 0)
        statuses: Counter[str] = Counter()
        details: Counter[str] = Counter()
        for g in self._groups.values():
            lat.add(g.latency)
            late.add(g.lateness)
            for c in COUNTERS:
                counts[c] += g.counts[c]
            statuses.update(g.statuses)
            details.update(g.details)
        lost = self._lost
        if lost is None and self._groups and all(g.lost is not None for g in self._groups.values()):
            lost = sum(g.lost or 0 for g in self._groups.values())
        total = self._entry(counts, statuses, details,
                            sum(g.buffered for g in self._groups.values()),
                            sum(g.buffered_max for g in self._groups.values()),
                            lost, lat, late, duration)
        return {"duration_s": duration, "groups": groups, "total": total}

    @staticmethod
    def _entry(counts: dict[str, int], statuses: Counter[str], details: Counter[str], buffered: int,
               buffered_max: int, lost: int | None, latency: Any, lateness: Any,
               duration: float) -> dict[str, Any]:
        entry: dict[str, Any] = dict(counts)
        entry["sent"] = counts["attempts"]
        entry["buffered"] = buffered
        entry["buffered_max"] = buffered_max
        entry["lost"] = lost
        entry["statuses"] = dict(sorted(statuses.items()))
        entry["details"] = dict(details.most_common())
        entry["events_per_s"] = counts["delivered"] / duration if duration > 0 else None
        entry["attempts_per_s"] = counts["attempts"] / duration if duration > 0 else None
        entry["error_rate"] = counts["failed"] / counts["attempts"] if counts["attempts"] else None
        entry["latency_ms"] = _summary_ms(latency)
        entry["lateness_ms"] = _summary_ms(lateness)
        return entry

    # -- distribution ------------------------------------------------------------------------------

    def encode(self) -> bytes:
        """Totals and closed rows as bytes (JSON, histograms base64) for :meth:`merge` elsewhere."""
        doc = {
            "version": ENCODING_VERSION,
            "now": self._now,
            "width": self._width,
            "lost": self._lost,
            "groups": {
                name: {
                    "counts": g.counts,
                    "statuses": dict(g.statuses),
                    "details": dict(g.details),
                    "buffered": g.buffered,
                    "buffered_max": g.buffered_max,
                    "lost": g.lost,
                    "latency": g.latency.encode().decode("ascii") if g.latency.get_total_count() else None,
                    "lateness": g.lateness.encode().decode("ascii") if g.lateness.get_total_count() else None,
                }
                for name, g in self._groups.items()
            },
            "rows": [[start, width, {k: [*r[:-1], [list(s) for s in r[-1]]] for k, r in rows.items()}]
                     for start, width, rows in self._rows],
        }
        return json.dumps(doc, separators=(",", ":")).encode()

    def merge(self, encoded: bytes) -> None:
        """Add another :class:`LoadStats`' :meth:`encode` (e.g. a worker's) into this one.

        Groups unknown here are added. Counters, statuses, histograms and ``buffered`` add up;
        the series is aligned by interval start (the finer of the two is coarsened first).
        """
        doc = json.loads(encoded)
        if not isinstance(doc, dict) or doc.get("version") != ENCODING_VERSION:
            raise ValueError("not an encoding of LoadStats (version %r)" % (doc.get("version") if isinstance(doc, dict) else None))
        for name, gd in doc["groups"].items():
            g = self._groups.get(name) or self._add_group(name)
            for c in COUNTERS:
                g.counts[c] += int(gd["counts"].get(c, 0))
            g.statuses.update(gd["statuses"])
            g.details.update(gd["details"])
            g.buffered += gd["buffered"]
            g.buffered_max += gd["buffered_max"]
            if gd["lost"] is not None:
                g.lost = (g.lost or 0) + gd["lost"]
            if gd["latency"]:
                g.latency.decode_and_add(gd["latency"])
            if gd["lateness"]:
                g.lateness.decode_and_add(gd["lateness"])
        if doc["lost"] is not None:
            self._lost = (self._lost or 0) + doc["lost"]
        self._now = max(self._now, float(doc["now"]))
        other: list[tuple[float, float, dict[str, Row]]] = [
            (float(start), float(width), {k: (*r[:-1], tuple((str(s), int(n)) for s, n in r[-1])) for k, r in rows.items()})
            for start, width, rows in doc["rows"]
        ]
        other_width = float(doc["width"])
        while other_width < self._width:
            other = _coarsen(other)
            other_width *= 2
        while self._width < other_width:
            # coarsen our closed rows; the open interval keeps its start and takes the new width
            self._rows = _coarsen(self._rows) if len(self._rows) % 2 == 0 else _coarsen(self._rows[:-1]) + self._rows[-1:]
            self._width *= 2
        by_start = {start: i for i, (start, _w, _r) in enumerate(self._rows)}
        for start, width, rows in other:
            i = by_start.get(start)
            if i is None:
                self._rows.append((start, width, rows))
                continue
            mine = self._rows[i][2]
            for name, row in rows.items():
                mine[name] = _merge_rows(mine[name], row, buffered="sum") if name in mine else row
        self._rows.sort(key=lambda r: r[0])
        end = self._rows[-1][0] + self._rows[-1][1] if self._rows else 0.0
        self._start = max(self._start, end)
        while len(self._rows) >= self.max_intervals:
            self._rows = _coarsen(self._rows)
            self._width *= 2


def _row_dict(start: float, width: float, group: str, row: Row) -> dict[str, Any]:
    d: dict[str, Any] = {"start_s": start, "duration_s": width, "group": group}
    d.update(zip(ROW_FIELDS, row[:-1]))
    d["events_per_s"] = row[1] / width
    d["statuses"] = " ".join(f"{k}:{v}" for k, v in row[-1])
    return d


def _coarsen(rows: list[tuple[float, float, dict[str, Row]]]) -> list[tuple[float, float, dict[str, Row]]]:
    """Merge adjacent pairs of intervals (an odd last one stays as it is)."""
    out: list[tuple[float, float, dict[str, Row]]] = []
    for i in range(0, len(rows) - 1, 2):
        (s1, w1, r1), (_s2, w2, r2) = rows[i], rows[i + 1]
        merged = {}
        for name in dict.fromkeys([*r1, *r2]):
            a, b = r1.get(name), r2.get(name)
            merged[name] = _merge_rows(a or _empty_row(), b or _empty_row())
        out.append((s1, w1 + w2, merged))
    if len(rows) % 2:
        out.append(rows[-1])
    return out


__all__ = ["COUNTERS", "SERIES_COLUMNS", "TOTAL", "LoadStats"]
