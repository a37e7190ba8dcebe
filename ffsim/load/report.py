"""The HTML report of a load run (``ffsim load --report report.html``).

One self-contained file that opens without a network: inline CSS, plots as inline SVG drawn by
matplotlib, no script, no font, no link to anything (a Content-Security-Policy in the page
forbids loading anything at all). It shows:

* a header with the run's description (``meta``: fleet, cameras, groups, speed, target, ...),
  the headline figures, the thresholds (passed or failed) and the end-to-end check;
* events per second over time (the total, and each group when there are several, plus failed
  attempts per second when there were failures);
* latency percentiles over time (p50, p90, p99, p99.9, max, in ms);
* answers by status (a bar per HTTP status; "no answer" for connection errors);
* lateness of the sends against the schedule over time (p50, p99, max, in ms);
* a table per camera group (and the total), and the most frequent failure reasons.

matplotlib is imported by :func:`render_report` only: a load run without a report never loads
it. The output is deterministic (same measurements and meta, same bytes): the SVG hash salt is
fixed and no date is written. Every text coming from the fleet, the receiver or the user (group
names, failure details, meta) is HTML-escaped.
"""

from __future__ import annotations

import html
import io
import math
import os
import re
from typing import TYPE_CHECKING, Any

from ffsim.load.stats import TOTAL

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ffsim.load.stats import LoadStats

FIGURE_IDS = ("events-per-s", "latency", "statuses", "lateness")
MAX_GROUP_LINES = 8  # groups drawn in the events/s plot (the busiest); the table lists them all
MAX_DETAILS_SHOWN = 20
MAX_LABEL = 40  # characters of a group name in a legend

# matplotlib settings: its defaults (whatever the user's matplotlibrc says), text kept as text,
# fixed hash salt (deterministic ids), no mathtext (a group name "$x$" is shown as typed)
_RC: Any = {  # (Any: matplotlib types the keys as a Literal of every rcParam)
    "svg.fonttype": "none",
    "svg.hashsalt": "ffsim-load-report",
    "text.parse_math": False,
    "font.size": 10,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "axes.axisbelow": True,
}
_FIGSIZE = (10.0, 3.6)  # inches; 720 x 259 pt, shown 960 px wide at most

_TOTAL_COLOR = "#1f77b4"
_GROUP_COLORS = ("#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f")
_FAILED_COLOR = "#d62728"
_PCT_STYLES = (  # series column, label, colour, line width
    ("p50_ms", "p50", "#1f77b4", 1.6),
    ("p90_ms", "p90", "#2ca02c", 1.4),
    ("p99_ms", "p99", "#ff7f0e", 1.4),
    ("p99.9_ms", "p99.9", "#d62728", 1.2),
    ("max_ms", "max", "#7f7f7f", 1.0),
)
_LATENESS_STYLES = (
    ("lateness_p50_ms", "p50", "#1f77b4", 1.6),
    ("lateness_p99_ms", "p99", "#ff7f0e", 1.4),
    ("lateness_max_ms", "max", "#7f7f7f", 1.0),
)

_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")

_CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  margin: 0 auto; padding: 1em 1.5em 3em; max-width: 1120px; color: #1d1d1f; background: #fff;
  line-height: 1.4; }
h1 { font-size: 1.5em; margin: 0.2em 0 0.4em; }
h2 { font-size: 1.15em; margin: 1.6em 0 0.4em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 0.15em 1em; margin: 0; }
dl.meta dt { color: #555; }
dl.meta dd { margin: 0; overflow-wrap: anywhere; }
.cards { display: flex; flex-wrap: wrap; gap: 0.6em; margin: 1em 0 0; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 0.4em 0.8em; min-width: 7em; }
.card .v { font-size: 1.25em; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .k { color: #555; font-size: 0.85em; }
.banner { padding: 0.5em 0.8em; border-radius: 6px; margin: 0.8em 0; font-weight: 600; }
.banner.warn { background: #fff4e0; border: 1px solid #f0b35a; }
.banner.fail { background: #fde8e8; border: 1px solid #e39a9a; }
.banner.pass { background: #e8f6ec; border: 1px solid #8fcf9f; }
.pass-mark { color: #17803d; font-weight: 600; }
.fail-mark { color: #b91c1c; font-weight: 600; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 0.9em; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #e5e5e5; text-align: right; white-space: nowrap; }
th { background: #f6f6f6; font-weight: 600; white-space: normal; vertical-align: bottom; }
td.name, th.name { text-align: left; white-space: normal; overflow-wrap: anywhere; min-width: 6em; max-width: 16em; }
#groups table { font-size: 0.8em; }
#groups th, #groups td { padding: 0.25em 0.4em; }
tfoot td { font-weight: 600; border-top: 2px solid #ccc; }
.scroll { overflow-x: auto; }
figure { margin: 1.2em 0; break-inside: avoid; }
figcaption { font-weight: 600; margin-bottom: 0.3em; }
figcaption .note { font-weight: normal; color: #555; }
figure svg { display: block; width: 100%; max-width: 960px; height: auto; }
.nodata { border: 1px dashed #bbb; border-radius: 6px; color: #666; padding: 2.5em 1em; text-align: center; }
nav { font-size: 0.9em; margin: 0.6em 0; }
nav a { margin-right: 1em; }
footer { margin-top: 2.5em; color: #777; font-size: 0.85em; }
@media print { nav { display: none; } }
"""

# Nothing may be loaded: no script, no image, no font, no connection; inline styles only.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


# -- text ----------------------------------------------------------------------------------------------


def _clean(value: object) -> str:
    """str(value) without control characters or lone surrogates (shown as U+FFFD)."""
    return _BAD_CHARS.sub("\ufffd", str(value))


def _e(value: object) -> str:
    """HTML-escaped text (quotes too: safe in attributes)."""
    return html.escape(_clean(value), quote=True)


def _label(name: str) -> str:
    text = _clean(name)
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "\u2026"


def _int(n: Any) -> str:
    return "\u2013" if n is None else f"{int(n):,}"


def _ms(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "\u2013"
    v = float(v)
    if v < 10:
        return f"{v:.2f}"
    if v < 1000:
        return f"{v:.1f}"
    return f"{v:,.0f}"


def _rate(v: Any) -> str:
    return "\u2013" if v is None else f"{float(v):,.1f}"


def _pct(v: Any) -> str:
    return "\u2013" if v is None else f"{float(v) * 100:.2f}\u202f%"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}h {m:02d}m {s:02d}s" if h else f"{m}m {s:02d}s"


# -- the page ------------------------------------------------------------------------------------------


def render_report(stats: LoadStats, meta: dict[str, Any], thresholds: list[dict[str, Any]] | None = None) -> str:
    """The HTML text of the report of a load run.

    ``stats``: the run's measurements (tick it to the end of the run first: the open interval is
    not in the series). ``meta``: what to show about the run, every key optional: ``fleet``,
    ``source``, ``cameras``, ``groups`` ({name: cameras}), ``speed``, ``duration_s`` (wall
    seconds; also the duration of the rates), ``target``, ``started``, ``ffsim_version``,
    ``end_to_end`` ({"delivered", "stored", "duplicates", "lost", "violations"} or None: not
    checked), ``interrupted``. ``thresholds``: [{"text", "ok", "detail"}] as checked.
    """
    duration = meta.get("duration_s")
    totals = stats.totals(duration_s=float(duration) if duration is not None else None)
    series = stats.series()
    by_group: dict[str, list[dict[str, Any]]] = {}
    for row in series:
        by_group.setdefault(row["group"], []).append(row)
    for rows in by_group.values():
        rows.sort(key=lambda r: r["start_s"])
    total_rows = by_group.pop(TOTAL, [])

    figures = _figures(totals, total_rows, by_group)

    title = "ffsim load report" + (f" \u2013 {_clean(meta['fleet'])}" if meta.get("fleet") else "")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{_e(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        '<header id="run">',
        f"<h1>{_e(title)}</h1>",
        _meta_html(meta, totals),
        _cards_html(totals),
        "</header>",
        '<nav><a href="#events-per-s">events/s</a><a href="#latency">latency</a>'
        '<a href="#statuses">statuses</a><a href="#lateness">lateness</a>'
        '<a href="#groups">groups</a><a href="#failures">failures</a></nav>',
    ]
    if meta.get("interrupted"):
        parts.append('<div class="banner warn" id="interrupted">The run was interrupted: '
                     "the figures cover the part that ran.</div>")
    if thresholds is not None:
        parts.append(_thresholds_html(thresholds))
    if "end_to_end" in meta:
        parts.append(_end_to_end_html(meta["end_to_end"]))
    parts.append("<h2>Over time</h2>")
    if total_rows:
        widths = sorted({float(r["duration_s"]) for r in total_rows})
        plural = "s" if len(total_rows) != 1 else ""
        parts.append(f'<p class="note">{len(total_rows):,} interval{plural} of '
                     f"{' / '.join(f'{w:g}' for w in widths)} s.</p>")
    parts.extend(figures)
    parts.append(_groups_html(totals, meta))
    parts.append(_details_html(totals))
    version = meta.get("ffsim_version")
    parts.append(f"<footer>Made by ffsim{(' ' + _e(version)) if version else ''} load. "
                 "Whole-run figures (summary and tables) come from the run's histograms "
                 "(HdrHistogram, 3 significant digits); the plots show each interval's, and "
                 "merged intervals of a long run keep the larger of their percentiles.</footer>")
    parts.append("</body>")
    parts.append("</html>")
    return "\n".join(parts) + "\n"


def write_report(path: str | os.PathLike[str], html_text: str) -> None:
    """Write the report, readable by its owner only (0600, also when the file existed)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        st = os.fstat(fd)
        if st.st_mode & 0o077 and hasattr(os, "fchmod") and st.st_uid == os.geteuid():
            os.fchmod(fd, 0o600)
        data = html_text.encode("utf-8", errors="replace")
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os.close(fd)


def _meta_html(meta: dict[str, Any], totals: dict[str, Any]) -> str:
    items: list[tuple[str, str]] = []
    if meta.get("fleet") is not None:
        items.append(("Fleet", _e(meta["fleet"])))
    if meta.get("source") is not None:
        items.append(("Source", _e(meta["source"])))
    if meta.get("cameras") is not None:
        items.append(("Cameras", _e(meta["cameras"])))
    groups = meta.get("groups")
    if isinstance(groups, dict) and groups:
        items.append(("Groups", ", ".join(f"{_e(name)} ({_e(n)})" for name, n in groups.items())))
    if meta.get("speed") is not None:
        speed = str(meta["speed"])
        items.append(("Speed", _e(speed if speed == "max" else f"\u00d7{speed}")))
    if meta.get("target") is not None:
        items.append(("Target", _e(meta["target"])))
    if meta.get("started") is not None:
        items.append(("Started", _e(meta["started"])))
    if meta.get("duration_s") is not None:
        items.append(("Duration", _e(_duration(float(meta["duration_s"])))))
    elif totals.get("duration_s"):
        items.append(("Duration", _e(_duration(float(totals["duration_s"]))) + " (measured)"))
    if meta.get("ffsim_version") is not None:
        items.append(("ffsim", _e(meta["ffsim_version"])))
    if not items:
        return ""
    return '<dl class="meta">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def _cards_html(totals: dict[str, Any]) -> str:
    t = totals["total"]
    lat, late = t["latency_ms"], t["lateness_ms"]
    cards = [
        ("attempts", _int(t["attempts"])),
        ("delivered", _int(t["delivered"])),
        ("events/s", _rate(t["events_per_s"])),
        ("error rate", _pct(t["error_rate"])),
        ("p50 latency (ms)", _ms(lat["p50"])),
        ("p99 latency (ms)", _ms(lat["p99"])),
        ("max latency (ms)", _ms(lat["max"])),
        ("lateness p99 (ms)", _ms(late["p99"])),
        ("rejected", _int(t["rejected"])),
        ("dropped", _int(t["dropped"])),
        ("buffered at end", _int(t["buffered"])),
    ]
    if t.get("lost") is not None:
        cards.append(("lost", _int(t["lost"])))
    return '<div class="cards" id="summary">' + "".join(
        f'<div class="card"><div class="v">{v}</div><div class="k">{_e(k)}</div></div>' for k, v in cards) + "</div>"


def _thresholds_html(thresholds: list[dict[str, Any]]) -> str:
    out = ['<section id="thresholds">', "<h2>Thresholds</h2>"]
    if not thresholds:
        out.append("<p>No thresholds were given.</p>")
    else:
        failed = sum(1 for t in thresholds if not t.get("ok"))
        if failed:
            out.append(f'<div class="banner fail">{failed} of {len(thresholds)} '
                       f"threshold{'s' if len(thresholds) != 1 else ''} failed.</div>")
        else:
            out.append(f'<div class="banner pass">All {len(thresholds)} '
                       f"threshold{'s' if len(thresholds) != 1 else ''} passed.</div>")
        out.append('<div class="scroll"><table><thead><tr><th class="name">threshold</th><th>result</th>'
                   '<th class="name">detail</th></tr></thead><tbody>')
        for t in thresholds:
            ok = bool(t.get("ok"))
            mark = '<span class="pass-mark">\u2713 pass</span>' if ok else '<span class="fail-mark">\u2717 FAIL</span>'
            out.append(f'<tr class="{"pass" if ok else "fail"}"><td class="name"><code>{_e(t.get("text", ""))}</code></td>'
                       f'<td>{mark}</td><td class="name">{_e(t.get("detail", ""))}</td></tr>')
        out.append("</tbody></table></div>")
    out.append("</section>")
    return "\n".join(out)


def _end_to_end_html(check: Any) -> str:
    out = ['<section id="end-to-end">', "<h2>End-to-end check</h2>"]
    if not isinstance(check, dict):
        out.append("<p>Not checked (the receiver's store was not compared with what was sent).</p>")
    else:
        bad = any((check.get(k) or 0) > 0 for k in ("lost", "duplicates", "violations"))
        if check.get("checked"):
            out.append(f"<p>Checked against: {_e(str(check['checked']))}</p>")
        out.append(f'<div class="banner {"fail" if bad else "pass"}">'
                   f"{'Events were lost or duplicated, or the receiver found violations.' if bad else 'Every delivered event was stored, once.'}"
                   "</div>")
        out.append("<table><tbody>")
        for key in ("delivered", "stored", "duplicates", "lost", "violations"):
            if key in check:
                value = check[key]
                cls = ' class="fail-mark"' if key in ("lost", "duplicates", "violations") and (value or 0) > 0 else ""
                out.append(f'<tr><th class="name">{key}</th><td{cls}>{_e(_int(value))}</td></tr>')
        out.append("</tbody></table>")
    out.append("</section>")
    return "\n".join(out)


_GROUP_COLUMNS = ("cameras", "attempts", "delivered", "events/s", "error rate", "retried", "rejected", "dropped",
                  "connection errors", "buffered", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms",
                  "lateness p99 ms")


def _group_cells(entry: dict[str, Any], cameras: Any) -> str:
    lat = entry["latency_ms"]
    cells = [
        _e(cameras) if cameras is not None else "\u2013",
        _int(entry["attempts"]), _int(entry["delivered"]), _rate(entry["events_per_s"]), _pct(entry["error_rate"]),
        _int(entry["retried"]), _int(entry["rejected"]), _int(entry["dropped"]), _int(entry["connection_errors"]),
        _int(entry["buffered"]),
        _ms(lat["p50"]), _ms(lat["p90"]), _ms(lat["p99"]), _ms(lat["p99.9"]), _ms(lat["max"]),
        _ms(entry["lateness_ms"]["p99"]),
    ]
    return "".join(f"<td>{c}</td>" for c in cells)


def _groups_html(totals: dict[str, Any], meta: dict[str, Any]) -> str:
    groups = meta.get("groups")
    cameras: dict[str, Any] = groups if isinstance(groups, dict) else {}
    head = '<th class="name">group</th>' + "".join(f"<th>{_e(c)}</th>" for c in _GROUP_COLUMNS)
    rows = [f'<tr><td class="name">{_e(name)}</td>{_group_cells(entry, cameras.get(name))}</tr>'
            for name, entry in totals["groups"].items()]
    foot = f'<tr><td class="name">total</td>{_group_cells(totals["total"], meta.get("cameras"))}</tr>'
    return ('<section id="groups"><h2>Per group</h2><div class="scroll"><table>'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody><tfoot>{foot}</tfoot>"
            "</table></div></section>")


def _details_html(totals: dict[str, Any]) -> str:
    out = ['<section id="failures">', "<h2>Failure reasons</h2>"]
    rows: list[tuple[int, str, str]] = []
    for name, entry in totals["groups"].items():
        for detail, n in entry["details"].items():
            rows.append((int(n), name, detail))
    if not rows:
        out.append("<p>No failed attempts.</p>")
    else:
        rows.sort(key=lambda r: (-r[0], r[1], r[2]))
        out.append('<div class="scroll"><table><thead><tr><th>attempts</th><th class="name">group</th>'
                   '<th class="name">reason</th></tr></thead><tbody>')
        for n, name, detail in rows[:MAX_DETAILS_SHOWN]:
            out.append(f'<tr><td>{n:,}</td><td class="name">{_e(name)}</td><td class="name">{_e(detail)}</td></tr>')
        out.append("</tbody></table></div>")
        if len(rows) > MAX_DETAILS_SHOWN:
            out.append(f"<p>{len(rows) - MAX_DETAILS_SHOWN:,} less frequent reasons not shown.</p>")
    out.append("</section>")
    return "\n".join(out)


# -- the plots -----------------------------------------------------------------------------------------


def _figure_html(fig_id: str, caption: str, svg: str | None, note: str = "", nodata: str = "no data") -> str:
    cap = f"<figcaption>{_e(caption)}{f' <span class=note>{_e(note)}</span>' if note else ''}</figcaption>"
    body = svg if svg is not None else f'<div class="nodata">{_e(nodata)}</div>'
    return f'<figure id="{fig_id}">{cap}\n{body}\n</figure>'


def _figures(totals: dict[str, Any], total_rows: list[dict[str, Any]],
             by_group: dict[str, list[dict[str, Any]]]) -> list[str]:
    import matplotlib  # lazily: only a run with --report needs it
    import matplotlib.style
    from matplotlib.figure import Figure

    attempts = totals["total"]["attempts"]
    series_missing = "no data" if not attempts else "no data (the run was shorter than one interval)"
    out: list[str] = []
    with matplotlib.style.context("default"), matplotlib.rc_context(_RC):
        unit, unit_name = _time_unit(total_rows)

        # events per second
        svg = None
        note = ""
        if total_rows:
            fig = Figure(figsize=_FIGSIZE, layout="constrained")
            ax = fig.add_subplot()
            handles, labels = [], []
            busiest = sorted(by_group, key=lambda g: (-sum(r["delivered"] for r in by_group[g]), g))
            if len(by_group) > 1:
                shown = busiest[:MAX_GROUP_LINES]
                if len(busiest) > len(shown):
                    note = f"(the {len(shown)} busiest of {len(busiest)} groups)"
                for color, name in zip(_GROUP_COLORS, shown):
                    xs, ys = _steps(by_group[name], "events_per_s", unit)
                    (line,) = ax.plot(xs, ys, drawstyle="steps-post", color=color, linewidth=1.1)
                    handles.append(line)
                    labels.append(_label(name))
            xs, ys = _steps(total_rows, "events_per_s", unit)
            (line,) = ax.plot(xs, ys, drawstyle="steps-post", color=_TOTAL_COLOR, linewidth=2.0)
            handles.insert(0, line)
            labels.insert(0, "total")
            if any(r["failed"] for r in total_rows):
                xs, ys = _steps(total_rows, "failed", unit, per_s=True)
                (line,) = ax.plot(xs, ys, drawstyle="steps-post", color=_FAILED_COLOR, linewidth=1.2,
                                  linestyle="--")
                handles.append(line)
                labels.append("failed attempts/s (total)")
            ax.set_ylabel("delivered events/s")
            ax.set_xlabel(f"time since start ({unit_name})")
            ax.set_ylim(bottom=0)
            _xlim(ax, total_rows, unit)
            ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.0, 1.0))
            svg = _svg(fig, "events-per-s")
        out.append(_figure_html("events-per-s", "Delivered events per second", svg, note, series_missing))

        out.append(_percentile_figure(Figure, "latency", "Latency percentiles per interval", _PCT_STYLES,
                                      "latency (ms)", total_rows, unit, unit_name, series_missing))

        # answers by status
        statuses = totals["total"]["statuses"]
        svg = None
        if statuses:
            fig = Figure(figsize=_FIGSIZE, layout="constrained")
            ax = fig.add_subplot()
            keys = sorted(statuses, key=_status_order)
            names = ["no answer" if k == "none" else _label(k) for k in keys]
            values = [statuses[k] for k in keys]
            bars = ax.bar(range(len(keys)), values, color=[_status_color(k) for k in keys], width=0.6)
            ax.set_xticks(range(len(keys)), names, rotation=45 if len(keys) > 12 else 0)
            ax.bar_label(bars, labels=[f"{v:,}" for v in values], padding=2, fontsize=9)
            ax.set_ylabel("answers")
            ax.set_xlabel("HTTP status")
            ax.set_xlim(-0.8, max(len(keys), 4) - 0.2)
            ax.grid(axis="x", visible=False)
            ax.margins(y=0.12)
            svg = _svg(fig, "statuses")
        out.append(_figure_html("statuses", "Answers by status", svg, "(whole run)", "no data (no attempts)"))

        late_missing = series_missing if not total_rows else "no data (no lateness measured)"
        out.append(_percentile_figure(Figure, "lateness", "Lateness of the sends against the schedule",
                                      _LATENESS_STYLES, "lateness (ms)", total_rows, unit, unit_name, late_missing))
    return out


def _percentile_figure(figure_cls: Any, fig_id: str, caption: str, styles: tuple[tuple[str, str, str, float], ...],
                       ylabel: str, rows: list[dict[str, Any]], unit: float, unit_name: str, missing: str) -> str:
    values = [float(r[col]) for r in rows for col, *_ in styles if r[col] is not None]
    if not values:
        if rows:
            missing = f"no data (no {ylabel.split(' ')[0]} measured)"
        return _figure_html(fig_id, caption, None, "", missing)
    fig = figure_cls(figsize=_FIGSIZE, layout="constrained")
    ax = fig.add_subplot()
    for col, label, color, width in styles:
        xs, ys = _steps(rows, col, unit)
        ax.plot(xs, ys, drawstyle="steps-post", color=color, linewidth=width, label=label)
    positive = [v for v in values if v > 0]
    log = bool(positive) and max(positive) / min(positive) > 100
    if log:
        from matplotlib.ticker import FuncFormatter, LogLocator

        ax.set_yscale("log")
        # plain numbers: the default labels are mathtext ($10^{2}$), which SVG text with
        # svg.fonttype "none" shows as written
        ax.yaxis.set_major_locator(LogLocator(base=10))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _pos: ""))
    else:
        ax.set_ylim(bottom=0)
    ax.set_ylabel(ylabel + (", log scale" if log else ""))
    ax.set_xlabel(f"time since start ({unit_name})")
    _xlim(ax, rows, unit)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _figure_html(fig_id, caption, _svg(fig, fig_id), "(total, all groups)")


def _time_unit(rows: list[dict[str, Any]]) -> tuple[float, str]:
    end = max((r["start_s"] + r["duration_s"] for r in rows), default=0.0)
    if end <= 600:
        return 1.0, "s"
    if end <= 3 * 3600:
        return 60.0, "min"
    return 3600.0, "h"


def _xlim(ax: Axes, rows: list[dict[str, Any]], unit: float) -> None:
    start = min(r["start_s"] for r in rows)
    end = max(r["start_s"] + r["duration_s"] for r in rows)
    ax.set_xlim(start / unit, end / unit)


def _steps(rows: list[dict[str, Any]], key: str, unit: float, per_s: bool = False) -> tuple[list[float], list[float]]:
    """x (interval starts, then the last end) and y for a steps-post line; NaN breaks gaps and missing values."""
    xs: list[float] = []
    ys: list[float] = []
    prev_end: float | None = None
    for r in rows:
        start, width = float(r["start_s"]), float(r["duration_s"])
        v = r[key]
        y = math.nan if v is None else float(v) / (width if per_s and width > 0 else 1.0)
        if prev_end is not None and start > prev_end + 1e-9:
            xs.append(prev_end / unit)
            ys.append(math.nan)
        xs.append(start / unit)
        ys.append(y)
        prev_end = start + width
    if prev_end is not None:
        xs.append(prev_end / unit)
        ys.append(ys[-1])
    return xs, ys


def _status_order(key: str) -> tuple[int, int, str]:
    if key.isdigit():
        return (0, int(key), key)
    return (1 if key == "none" else 2, 0, key)


def _status_color(key: str) -> str:
    if key == "none":
        return "#7f7f7f"
    if key.isdigit():
        code = int(key)
        if 200 <= code < 300:
            return "#2ca02c"
        if 500 <= code < 600:
            return "#d62728"
        if 400 <= code < 500:
            return "#ff7f0e"
    return "#9467bd"


_SVG_TAG = re.compile(r"(<[^<>]*>)")
_SVG_ID = re.compile(r'\bid="([^"]*)"')
_SVG_REF = re.compile(r'(href="#|url\(#)([^")]*)')
_SVG_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)


def _svg(fig: Any, prefix: str) -> str:
    """The figure as inline SVG: no XML prolog nor metadata, ids prefixed (unique in the page)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = _SVG_METADATA.sub("", text, count=1)
    parts = _SVG_TAG.split(text)
    for i in range(1, len(parts), 2):  # the tags (text between them is left alone)
        tag = _SVG_ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', parts[i])
        parts[i] = _SVG_REF.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", tag)
    text = "".join(parts)
    return text.replace("<svg ", f'<svg role="img" aria-label="{_e(prefix)}" ', 1).strip()


__all__ = ["FIGURE_IDS", "render_report", "write_report"]
