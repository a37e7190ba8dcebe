"""ffsim.load.stats and ffsim.load.thresholds: measurements of load runs and k6-style thresholds."""

from __future__ import annotations

import csv
import io

import pytest

from ffsim.load import LoadStats, check_all, parse_threshold
from ffsim.load.stats import SERIES_COLUMNS, TOTAL
from ffsim.load.thresholds import parse_thresholds, validate_groups


def _ms_data(stats: LoadStats, group: str = "gate", n: int = 1000, start_s: float = 0.0, per_s: int = 500) -> None:
    """n ok attempts with latencies 1, 2, ..., n ms, per_s of them each second."""
    for i in range(n):
        stats.record_attempt(group, start_s + i / per_s, True, 200, "", (i + 1) / 1000)


def test_exact_percentiles_known_data() -> None:
    s = LoadStats(["gate"])
    _ms_data(s)
    lat = s.totals(duration_s=2.0)["total"]["latency_ms"]
    # hdrh, 3 significant digits: the highest value equivalent to the bucket (within 0.1 %)
    assert lat == {"count": 1000, "p50": 500.223, "p90": 900.095, "p95": 950.271, "p99": 990.207,
                   "p99.9": 999.423, "min": 1.0, "mean": pytest.approx(500.5, rel=1e-3), "max": 1000.447}
    for p, want in (("p50", 500), ("p90", 900), ("p99", 990), ("max", 1000)):
        assert lat[p] == pytest.approx(want, rel=1e-3)


def test_counts_statuses_rates_and_groups() -> None:
    s = LoadStats(["gate", "lane"])
    s.record_attempt("gate", 0.1, True, 200, "", 0.010)
    s.record_attempt("gate", 0.2, False, 503, "", 0.020, retry=True)
    s.record_attempt("lane", 0.3, False, None, "connection refused", None, connection_error=True)
    s.record_attempt("lane", 0.4, False, 422, "bad plate", 0.005, rejected=True)
    s.record_attempt("lane", 0.5, False, None, "buffer full", None, dropped=True)
    s.set_buffered("lane", 7)
    s.set_buffered("lane", 3)
    s.set_lost(1)
    tot = s.totals(duration_s=2.0)
    gate, lane, total = tot["groups"]["gate"], tot["groups"]["lane"], tot["total"]
    assert (gate["attempts"], gate["delivered"], gate["failed"], gate["retried"]) == (2, 1, 1, 1)
    assert gate["statuses"] == {"200": 1, "503": 1} and gate["details"] == {"status 503": 1}
    assert (lane["connection_errors"], lane["rejected"], lane["dropped"]) == (1, 1, 1)
    assert lane["details"] == {"connection refused": 1, "bad plate": 1, "buffer full": 1}
    assert (lane["buffered"], lane["buffered_max"]) == (3, 7)
    assert total["statuses"] == {"200": 1, "422": 1, "503": 1, "none": 2}
    assert total["sent"] == total["attempts"] == 5
    assert total["events_per_s"] == 0.5 and total["attempts_per_s"] == 2.5
    assert total["error_rate"] == 0.8
    assert total["lost"] == 1 and gate["lost"] is None
    assert total["latency_ms"]["count"] == 3 and lane["latency_ms"]["max"] == pytest.approx(5, rel=1e-3)


def test_lateness_clamped_and_percentiles() -> None:
    s = LoadStats(["g"])
    for i in range(100):
        s.record_lateness("g", i / 100, (i + 1) / 1000)  # 1..100 ms
    s.record_lateness("g", 0.5, -0.5)  # early: counted as 0
    s.record_attempt("g", 0.5, True, 200, "", 120.0)  # beyond 60 s: recorded as 60 s
    tot = s.totals()["total"]
    assert tot["lateness_ms"]["count"] == 101
    assert tot["lateness_ms"]["min"] == 0
    assert tot["lateness_ms"]["p99"] == pytest.approx(99, rel=1e-3)
    assert tot["lateness_ms"]["max"] == pytest.approx(100, rel=1e-3)
    assert tot["latency_ms"]["max"] == pytest.approx(60_000, rel=1e-3)


def test_per_second_rows_ticks_and_empty_seconds() -> None:
    s = LoadStats(["gate", "lane"])
    _ms_data(s, n=1000, per_s=500)  # seconds 0 and 1
    assert s.series() and s.series()[-1]["start_s"] == 0.0  # second 0 closed by the first record at t=1.0
    s.record_lateness("lane", 1.5, 0.004)
    assert s.tick(1.99) == 0
    assert s.tick(5.0) == 4  # closes 1, 2, 3, 4; 5 stays open
    rows = s.series()
    assert [(r["start_s"], r["group"]) for r in rows[:3]] == [(0.0, "gate"), (0.0, "lane"), (0.0, TOTAL)]
    assert len(rows) == 5 * 3
    by = {(r["start_s"], r["group"]): r for r in rows}
    first = by[(0.0, "gate")]
    assert first["attempts"] == first["delivered"] == 500 and first["events_per_s"] == 500
    assert first["p50_ms"] == pytest.approx(250, rel=1e-3) and first["max_ms"] == pytest.approx(500, rel=1e-3)
    assert first["statuses"] == "200:500"
    second = by[(1.0, TOTAL)]
    assert second["p50_ms"] == pytest.approx(750, rel=1e-3) and second["max_ms"] == pytest.approx(1000, rel=1e-3)
    assert second["lateness_max_ms"] == pytest.approx(4, rel=1e-3)
    empty = by[(3.0, TOTAL)]
    assert empty["attempts"] == 0 and empty["events_per_s"] == 0 and empty["p99_ms"] is None
    assert empty["statuses"] == ""
    # a late report (time of an already closed second) counts in the open one
    s.record_attempt("gate", 0.5, True, 200, "", 0.001)
    s.tick(6.0)
    assert {(r["start_s"], r["attempts"]) for r in s.series() if r["group"] == "gate"} >= {(5.0, 1)}


def test_buffered_gauge_in_rows() -> None:
    s = LoadStats(["a", "b"])
    s.set_buffered("a", 4, t_s=0.2)
    s.set_buffered("b", 6, t_s=0.3)
    s.tick(1.0)
    by = {r["group"]: r["buffered"] for r in s.series()}
    assert by == {"a": 4, "b": 6, TOTAL: 10}


def test_series_is_bounded_by_coarsening() -> None:
    s = LoadStats(["g"], max_intervals=4)
    for sec in range(10):
        s.record_attempt("g", sec + 0.5, True, 200, "", (sec + 1) / 1000)
    s.tick(10.0)
    assert s.interval_s == 4  # 1 s rows, then 2 s, then 4 s: the open interval is [8, 12)
    s.tick(12.0)
    rows = [r for r in s.series() if r["group"] == "g"]
    assert [(r["start_s"], r["duration_s"]) for r in rows] == [(0, 4), (4, 4), (8, 4)]
    assert sum(r["attempts"] for r in rows) == 10  # whole run still covered
    assert rows[0]["start_s"] == 0.0
    assert max(r["max_ms"] for r in rows) == pytest.approx(10, rel=1e-3)  # max stays exact
    assert s.interval_s > 1
    assert s.totals()["total"]["attempts"] == 10


def test_unknown_group_and_bad_names() -> None:
    s = LoadStats(["gate"])
    with pytest.raises(ValueError, match="unknown group 'gat'"):
        s.record_attempt("gat", 0, True, 200, "", 0.001)
    with pytest.raises(ValueError, match="total"):
        LoadStats(["total"])
    with pytest.raises(ValueError, match="twice"):
        LoadStats(["a", "a"])


def _two_halves_and_whole() -> tuple[LoadStats, LoadStats, LoadStats]:
    whole, a, b = LoadStats(["gate", "lane"]), LoadStats(["gate", "lane"]), LoadStats(["gate"])
    for i in range(600):
        group = "gate" if i % 3 else "lane"
        t, ok = i / 200, i % 7 != 0
        status, latency = (200 if ok else 503), (i % 97 + 1) / 1000
        half = a if i % 2 or group == "lane" else b
        for target in (whole, half):
            target.record_attempt(group, t, ok, status, "", latency, retry=not ok)
            target.record_lateness(group, t, (i % 13) / 1000)
    for st in (whole, a, b):
        st.tick(3.0)
    return whole, a, b


def test_merge_two_halves_equals_whole() -> None:
    whole, a, b = _two_halves_and_whole()
    halves = {(r["start_s"], r["group"]): r for r in a.series()}
    for r in b.series():
        mine = halves[(r["start_s"], r["group"])]
        for k, v in r.items():
            if k.endswith("_ms") and v is not None:
                mine[k] = v if mine[k] is None else max(mine[k], v)
    a.merge(b.encode())
    assert a.totals() == whole.totals()
    merged = {(r["start_s"], r["group"]): r for r in a.series()}
    for r in whole.series():
        m = merged[(r["start_s"], r["group"])]
        for field in ("attempts", "delivered", "failed", "retried", "statuses", "max_ms", "lateness_max_ms"):
            assert m[field] == r[field], field
        for field in ("p50_ms", "p99_ms"):  # merged rows: the larger of the two halves (an estimate)
            assert m[field] == halves[(r["start_s"], r["group"])][field]
            assert m[field] == pytest.approx(r[field], rel=0.1)


def test_merge_into_empty_master_and_refuses_garbage() -> None:
    whole, _a, _b = _two_halves_and_whole()
    master = LoadStats([])
    master.merge(whole.encode())
    assert master.groups == ["gate", "lane"]
    assert master.totals() == whole.totals()
    assert master.series() == whole.series()
    with pytest.raises(ValueError, match="not an encoding"):
        master.merge(b'{"version": 99}')


def test_csv_round_trip() -> None:
    s = LoadStats(["gate"])
    _ms_data(s, n=600, per_s=200)
    s.tick(4.0)
    buf = io.StringIO()
    s.to_csv(buf)
    buf.seek(0)
    rows = list(csv.DictReader(buf))
    assert tuple(rows[0]) == SERIES_COLUMNS
    series = s.series()
    assert len(rows) == len(series) == 8
    for got, want in zip(rows, series):
        for key, value in want.items():
            if value is None:
                assert got[key] == ""
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                assert float(got[key]) == pytest.approx(value)
            else:
                assert got[key] == value


# -- thresholds ---------------------------------------------------------------------------------------


def _totals() -> dict:
    s = LoadStats(["gate", "lane"])
    _ms_data(s, "gate", n=1000, per_s=500)  # latencies 1..1000 ms over 2 s
    s.record_attempt("lane", 1.0, False, 503, "", 0.002, retry=True)
    s.record_attempt("lane", 1.1, False, 422, "", 0.002, rejected=True)
    for i in range(10):
        s.record_lateness("gate", i / 10, (i + 1) / 100)  # 10..100 ms
    s.set_buffered("lane", 2)
    s.set_lost(0)
    return s.totals(duration_s=2.0)


@pytest.mark.parametrize(
    ("text", "metric", "op", "value", "group"),
    [
        ("p99<500ms", "p99", "<", 500, None),
        ("p99 < 0.5s", "p99", "<", 500, None),
        ("p(99.9)<=1500", "p99.9", "<=", 1500, None),
        ("avg<200us", "mean", "<", 0.2, None),
        ("med>=1ms", "p50", ">=", 1, None),
        ("lateness_p99<50ms", "lateness_p99", "<", 50, None),
        ("rejected==0", "rejected", "==", 0, None),
        ("lost==0", "lost", "==", 0, None),
        ("error_rate<1%", "error_rate", "<", 0.01, None),
        ("error_rate<0.01", "error_rate", "<", 0.01, None),
        ("events_per_s>100/s", "events_per_s", ">", 100, None),
        ("events_per_s>=100", "events_per_s", ">=", 100, None),
        ("sent!=0", "sent", "!=", 0, None),
        ("gate:p99<500ms", "p99", "<", 500, "gate"),
        (" gate : max > 1e3 ", "max", ">", 1000, "gate"),
    ],
)
def test_parse_good(text: str, metric: str, op: str, value: float, group: str | None) -> None:
    t = parse_threshold(text)
    assert (t.metric, t.op, t.value, t.group) == (metric, op, pytest.approx(value), group)


@pytest.mark.parametrize(
    ("text", "message", "caret"),
    [
        ("p98<500ms", "unknown metric 'p98' (did you mean 'p99'", "^^^"),
        ("rejectd==0", "did you mean 'rejected'", "^^^^^^^"),
        ("p99=500", "did you mean '=='", "   ^"),
        ("p99=<500", "did you mean '<='", "   ^^"),
        ("p99 500ms", "missing comparison operator", ""),
        ("p99<", "missing value", ""),
        ("<500", "missing metric", ""),
        ("p99<fast", "'fast' is not a number", "    ^^^^"),
        ("p99<500kb", "unit 'kb' does not fit p99 (expected ms", "       ^^"),
        ("rejected==0ms", "unit 'ms' does not fit rejected (expected no unit)", ""),
        ("error_rate<1ms", "expected % or a fraction", ""),
        (":p99<5", "empty group name", ""),
        ("", "empty", ""),
    ],
)
def test_parse_bad_messages(text: str, message: str, caret: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_threshold(text)
    msg = str(info.value)
    assert message in msg
    if text:
        assert msg.startswith(f"bad threshold {text!r}")
    if caret:
        assert msg.splitlines()[-1] == "  " + caret


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("p99<1000ms", True), ("p99<990ms", False), ("p99<=990.207", True), ("p99>990", True),
        ("p99>=991", False), ("max==1000.447", True), ("max!=1000.447", False),
        ("rejected==0", False), ("rejected<=1", True), ("retried==1", True), ("failed==2", True),
        ("buffered==2", True), ("lost==0", True), ("sent==1002", True), ("delivered>=1000", True),
        ("error_rate<1%", True), ("error_rate<0.1%", False), ("events_per_s>=500/s", True),
        ("events_per_s>500", False), ("lateness_p99<=100ms", False), ("lateness_max<101ms", True),
        ("lateness_p50<51ms", True),
        ("gate:error_rate==0", True), ("lane:error_rate==100%", True), ("lane:p99<1ms", False),
        ("gate:rejected==0", True), ("lane:rejected==0", False),
    ],
)
def test_each_op_against_totals(text: str, ok: bool) -> None:
    got, actual, echoed = parse_threshold(text).check(_totals())
    assert (got, echoed) == (ok, text)
    assert actual is not None


def test_failures_are_named_and_no_data_fails() -> None:
    totals = _totals()
    ths = parse_thresholds(["p99<500ms", "rejected==0", "lateness_p99<50ms", "lost==0", "lane:lateness_p99<1s",
                            "gat:p99<1s", "error_rate<50%"])
    failures = check_all(ths, totals)
    assert [f.threshold.text for f in failures] == ["p99<500ms", "rejected==0", "lateness_p99<50ms",
                                                     "lane:lateness_p99<1s", "gat:p99<1s"]
    messages = [f.message for f in failures]
    assert messages[0] == "'p99<500ms' failed: actual 990.207ms"
    assert messages[1] == "'rejected==0' failed: actual 1"
    assert messages[3] == "'lane:lateness_p99<1s' failed: no data"
    assert messages[4] == "'gat:p99<1s' failed: no group 'gat' (did you mean 'gate'?)"
    s = LoadStats(["g"])
    [lost] = check_all([parse_threshold("lost==0")], s.totals())
    assert "lost is unknown" in lost.message and lost.actual is None
    assert check_all(parse_thresholds(["p99<1000ms", "lost==0"]), totals) == []


def test_validate_groups() -> None:
    validate_groups(parse_thresholds(["gate:p99<1s", "p99<1s"]), ["gate", "lane"])
    with pytest.raises(ValueError, match="unknown group 'gat' \\(did you mean 'gate'\\?\\); groups: gate, lane"):
        validate_groups([parse_threshold("gat:p99<1s")], ["gate", "lane"])


def test_a_short_last_interval_joins_the_row_before_it_and_a_long_one_stands_alone():
    from ffsim.load.stats import LoadStats

    for end, rows, last_width in ((3.009, 3, 1.009), (3.6, 4, 0.6), (0.3, 1, 0.3)):
        stats = LoadStats(["gate"])
        for t in (0.5, 1.5, 2.5, 3.005):
            if t < end:
                stats.record_attempt("gate", t, True, 200, latency_s=0.001)
        stats.finish(end)
        total = [r for r in stats.series() if r["group"] == "total"]
        assert len(total) == rows and abs(total[-1]["duration_s"] - last_width) < 1e-9
        assert sum(r["delivered"] for r in total) == stats.totals()["total"]["delivered"]
        assert max(r["events_per_s"] for r in total) < 2.5
