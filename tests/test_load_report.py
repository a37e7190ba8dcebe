"""ffsim.load.report: the self-contained HTML report of a load run (ffsim load --report).

Unit tests on the text (escaping, no resource reference, determinism, empty runs, the file's mode,
speed), and two tests in a real headless browser (Debian's chromium): the figures' SVG are in the
DOM, and a screenshot taken with every network path blocked shows each plot drawn.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from ffsim.load import LoadStats
from ffsim.load.report import FIGURE_IDS, render_report, write_report
from ffsim.load.stats import ROW_FIELDS, TOTAL

HOSTILE = "<script>alert(1)</script>"
HOSTILE_DETAIL = '"><img src=x onerror=alert(2)>'
TARGET = "http://127.0.0.1:8080/ff?x=<b>"
META: dict[str, Any] = {
    "fleet": "car park <b>north</b>",
    "source": "fleets/north.yaml",
    "cameras": 12,
    "groups": {"gate": 4, HOSTILE: 8},
    "speed": "10",
    "duration_s": 20.0,
    "target": TARGET,
    "started": "2025-11-26T02:00:00+00:00",
    "ffsim_version": "0.1.0",
    "end_to_end": {"delivered": 530, "stored": 529, "duplicates": 1, "lost": 1, "violations": 0},
    "interrupted": False,
}
THRESHOLDS = [
    {"text": "p99<500ms", "ok": True, "detail": "p99 = 41.0 ms"},
    {"text": "error_rate<1%", "ok": False, "detail": f"error rate = 4.1 % {HOSTILE_DETAIL}"},
]

# the elements and attributes a report may contain (matplotlib's SVG included)
ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "dl", "dt", "dd", "div", "nav", "a",
    "section", "table", "thead", "tbody", "tfoot", "tr", "th", "td", "span", "code", "p", "figure",
    "figcaption", "footer",
    "svg", "g", "defs", "path", "use", "text", "clippath", "rect", "polyline", "polygon", "line", "circle", "tspan",
}


def _stats(seconds: int = 20, groups: tuple[str, ...] = ("gate", HOSTILE)) -> LoadStats:
    """A deterministic run: a few attempts per group and second, failures, retries, lateness."""
    s = LoadStats(list(groups))
    for sec in range(seconds):
        for gi, g in enumerate(groups):
            for k in range(8):
                t = sec + k / 8
                ok = (sec + k + gi) % 11 != 0
                status = 200 if ok else (503 if k % 2 else None)
                detail = "" if ok else (HOSTILE_DETAIL if k % 2 else "connection refused")
                latency = 0.004 + 0.001 * gi + 0.0007 * ((sec * 3 + k) % 13) + (0.2 if k == 0 and sec % 5 == 0 else 0)
                s.record_attempt(g, t, ok, status, detail, latency, retry=not ok, connection_error=status is None)
                s.record_lateness(g, t, 0.0005 * ((sec + k) % 7))
        s.set_buffered(groups[0], sec % 4, t_s=sec + 0.9)
    s.tick(seconds)
    return s


class _Collect(HTMLParser):
    """Every start tag with its attributes, and the text, of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(page: str) -> _Collect:
    parser = _Collect()
    parser.feed(page)
    parser.close()
    return parser


def _assert_inert(page: str) -> None:
    """Only known elements, no event handler, no script, nothing loaded from anywhere."""
    parsed = _parse(page)
    for tag, attrs in parsed.tags:
        assert tag in ALLOWED_TAGS, tag
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert name not in ("src", "srcset", "action", "formaction", "poster", "data"), (tag, name)
            if name.endswith("href"):
                assert value is not None and value.startswith("#"), (tag, name, value)
            if name == "style" and value:
                assert "url(" not in value.replace("url(#", ""), value
    lowered = page.lower()
    assert "<script" not in lowered and "<img" not in lowered and "<iframe" not in lowered
    assert "@import" not in lowered and "@font-face" not in lowered
    assert "url(" not in lowered.replace("url(#", "")


# -- the text ------------------------------------------------------------------------------------------


def test_report_shows_the_run_and_escapes_hostile_text() -> None:
    page = render_report(_stats(), META, THRESHOLDS)
    _assert_inert(page)
    assert HOSTILE not in page and HOSTILE_DETAIL not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # table, meta and legend (matplotlib escapes its text)
    assert "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" in page  # failure reason and threshold detail
    text = "".join(_parse(page).text)
    for shown in (HOSTILE, HOSTILE_DETAIL, "car park <b>north</b>", TARGET, "fleets/north.yaml", "p99<500ms",
                  "p99 = 41.0 ms", "connection refused", "2025-11-26T02:00:00+00:00", "\u00d710", "20.0 s"):
        assert shown in text, shown
    for fig_id in FIGURE_IDS:
        assert re.search(rf'<figure id="{fig_id}"><figcaption>[^\n]*</figcaption>\n<svg ', page), fig_id
    assert page.count("<svg ") == len(FIGURE_IDS)
    # thresholds marked, end-to-end check, per-group table with the total
    assert "1 of 2 thresholds failed" in page and page.count('class="fail-mark">\u2717 FAIL') == 1
    assert 'id="end-to-end"' in page and "Events were lost" in page
    table = page[page.index('<section id="groups">'):]
    table = table[: table.index("</section>")]
    assert table.count("<tr>") == 1 + 2 + 1  # header, two groups, total
    assert "<td>320</td>" in table  # 20 s x 8 attempts x 2 groups, total row


def test_ids_are_unique_in_the_page() -> None:
    page = render_report(_stats(), META, THRESHOLDS)
    ids = [str(attrs["id"]) for _tag, attrs in _parse(page).tags if "id" in attrs]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)[:5]
    for ref in re.findall(r'href="#([^"]+)"', page):
        assert ref in ids, ref


def test_no_network_reference_but_the_target_text() -> None:
    page = render_report(_stats(), META, THRESHOLDS)
    _assert_inert(page)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    escaped_target = "http://127.0.0.1:8080/ff?x=&lt;b&gt;"
    assert page.count(escaped_target) == 1
    rest = page.replace(escaped_target, "")
    for url in re.findall(r"https?://[^\s\"'<>]*", rest):
        assert url in ("http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"), url
    for ns in re.findall(r'(\S+)="https?://', rest):
        assert ns in ("xmlns", "xmlns:xlink"), ns


def test_same_stats_same_bytes() -> None:
    stats = _stats()
    one = render_report(stats, META, THRESHOLDS)
    assert render_report(_stats(), META, THRESHOLDS).encode() == one.encode()  # built again from scratch


@pytest.mark.parametrize("groups", [["gate"], []])
def test_empty_run(groups: list[str]) -> None:
    page = render_report(LoadStats(groups), {}, [])
    _assert_inert(page)
    assert "<svg" not in page
    for fig_id in FIGURE_IDS:
        assert re.search(rf'<figure id="{fig_id}">.*\n<div class="nodata">no data', page), fig_id
    assert "No thresholds were given" in page and "No failed attempts" in page
    assert 'id="end-to-end"' not in page and 'class="meta"' not in page  # nothing to show: not shown
    assert render_report(LoadStats(groups), {"end_to_end": None}).count("Not checked") == 1


def test_single_interval_and_shorter_than_one() -> None:
    s = LoadStats(["gate"])
    s.record_attempt("gate", 0.5, True, 200, "", 0.010)
    short = render_report(s, {"duration_s": 0.7})  # nothing closed yet: no series, but totals
    assert short.count("no data (the run was shorter than one interval)") == 3
    assert short.count("<svg ") == 1  # the statuses
    s.tick(1.0)
    no_lateness = render_report(s, {"duration_s": 1.0})
    assert no_lateness.count("<svg ") == 3 and "no data (no lateness measured)" in no_lateness
    s.record_lateness("gate", 1.2, 0.003)
    s.tick(2.0)
    page = render_report(s, {"duration_s": 2.0, "interrupted": True})
    _assert_inert(page)
    assert page.count("<svg ") == len(FIGURE_IDS)
    assert "The run was interrupted" in page and "2 intervals of 1 s" in page


def test_group_names_matplotlib_would_mangle() -> None:
    """Legends take names as typed: no mathtext, no hidden '_' labels, no control characters."""
    names = ["_hidden", r"$\frac{a}{b}$", "nul\x00here", "x" * 200]
    s = _stats(seconds=3, groups=tuple(names))
    page = render_report(s, {"groups": dict.fromkeys(names, 1)})
    _assert_inert(page)
    legend = page[page.index('<figure id="events-per-s">'):page.index('<figure id="latency">')]
    assert "_hidden" in legend and r"$\frac{a}{b}$" in legend and "nul\ufffdhere" in legend
    assert "x" * 39 + "\u2026" in legend and "\x00" not in page
    page.encode("utf-8")


def test_write_report_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    write_report(path, "<p>\u00e9</p>")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == "<p>\u00e9</p>".encode()
    path.chmod(0o644)  # an existing, readable report is overwritten and made owner-only
    write_report(str(path), "new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text() == "new"
    with pytest.raises(OSError):
        write_report(tmp_path / "missing" / "report.html", "x")


def test_matplotlib_is_imported_by_render_only() -> None:
    code = ("import sys, ffsim.load, ffsim.load.report, ffsim.load.stats, ffsim.load.thresholds\n"
            "assert 'matplotlib' not in sys.modules, 'imported too early'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


class _LongRun(LoadStats):
    """LoadStats with a synthetic series: a 10-minute run of several groups without recording
    hundreds of thousands of attempts (the totals stay those of the few recorded)."""

    def __init__(self, groups: list[str], seconds: int) -> None:
        super().__init__(groups)
        for g in groups:
            self.record_attempt(g, 0.5, True, 200, "", 0.010)
            self.record_attempt(g, 0.6, False, 503, "", 0.020)
        self._synthetic: list[dict[str, Any]] = []
        for sec in range(seconds):
            for gi, name in enumerate([*groups, TOTAL]):
                row: dict[str, float] = dict.fromkeys(ROW_FIELDS, 0)
                row.update({"attempts": 50 + gi, "delivered": 49 + gi - sec % 3, "failed": 1 + sec % 3,
                            "buffered": sec % 5})
                for j, f in enumerate(("p50_ms", "p90_ms", "p99_ms", "p99.9_ms", "max_ms")):
                    row[f] = (5 + gi + (sec % 17)) * (1 + j)
                for j, f in enumerate(("lateness_p50_ms", "lateness_p99_ms", "lateness_max_ms")):
                    row[f] = (sec % 7) * (1 + j) / 10
                self._synthetic.append({"start_s": float(sec), "duration_s": 1.0, "group": name, **row,
                                        "events_per_s": float(row["delivered"]), "statuses": "200:49 503:1"})

    def series(self) -> list[dict[str, Any]]:
        return self._synthetic


def test_a_ten_minute_run_of_four_groups_renders_every_figure_in_a_bounded_page() -> None:
    # (how fast: about 0.4 s; measured by hand, not asserted: no timed assertions in tests)
    stats = _LongRun(["gate", "lane", "exit", "staff"], seconds=600)
    page = render_report(stats, {"duration_s": 600.0})
    assert page.count("<svg ") == len(FIGURE_IDS) and "600 intervals of 1 s" in page
    assert len(page) < 1_000_000


# -- in a browser ----------------------------------------------------------------------------------------


def _chromium() -> str:
    for name in (os.environ.get("FFSIM_CHROMIUM", ""), "chromium", "chromium-browser"):
        found = shutil.which(name) if name else None
        if found:
            return found
    if os.environ.get("CI"):  # CI installs it (.ci/run): there a missing browser is a failure, not a skip
        pytest.fail("no chromium binary found; .ci/run installs Debian's chromium")
    pytest.skip("no chromium binary found (Debian/Ubuntu: apt-get install chromium; or set FFSIM_CHROMIUM)")


def _run_chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
        "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--disable-sync",
        "--disable-background-networking", "--disable-component-update", "--hide-scrollbars",
        "--force-device-scale-factor=1", "--virtual-time-budget=5000", *args,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=90, env={**os.environ, "HOME": str(tmp_path)})
    assert proc.returncode == 0, f"chromium exited with {proc.returncode}:\n{proc.stderr[-3000:]}"
    return proc


def _write_page(tmp_path: Path, extra_css: str = "") -> Path:
    page = render_report(_stats(), META, THRESHOLDS)
    if extra_css:
        page = page.replace("</head>", f"<style>{extra_css}</style>\n</head>", 1)
    path = tmp_path / "report.html"
    write_report(path, page)
    return path


def test_browser_dom_has_the_figures(tmp_path: Path) -> None:
    path = _write_page(tmp_path)
    dom = _run_chromium(tmp_path, "--dump-dom", path.as_uri()).stdout
    parsed = _parse(dom)
    tags = [tag for tag, _attrs in parsed.tags]
    assert "script" not in tags and "img" not in tags  # the hostile names stayed text
    assert tags.count("svg") == len(FIGURE_IDS)
    for fig_id in FIGURE_IDS:
        figure = dom[dom.index(f'<figure id="{fig_id}">'):]
        figure = figure[: figure.index("</figure>")]
        assert "<svg" in figure and "</svg>" in figure, fig_id
        assert len(re.findall(r"<path ", figure)) >= 5, fig_id  # axes and data drawn as paths
    text = "".join(parsed.text)
    assert HOSTILE in text and HOSTILE_DETAIL in text
    assert dom.count(f"<td class=\"name\">{HOSTILE.replace('<', '&lt;').replace('>', '&gt;')}</td>") >= 1


# Each figure gets an outline of a colour found nowhere else in the page; its box is then found in
# the screenshot whatever the layout, and must hold the plot's colours (lines and bars are coloured,
# axes and text are black or grey).
_MARKERS = {"events-per-s": (255, 0, 255), "latency": (0, 255, 255), "statuses": (255, 255, 0), "lateness": (0, 255, 0)}
_PLOT_COLOURS = {  # the main colour drawn in each plot: total events/s, p50, 2xx bars, lateness p50
    "events-per-s": (0x1F, 0x77, 0xB4), "latency": (0x1F, 0x77, 0xB4), "statuses": (0x2C, 0xA0, 0x2C),
    "lateness": (0x1F, 0x77, 0xB4),
}


def _marker_box(pixels: Any, colour: tuple[int, int, int]) -> tuple[int, int, int, int]:
    """x0, y0, x1, y1 of the outline drawn in colour (rows and columns holding a long run of it)."""
    import numpy as np

    mask = np.all(pixels == np.array(colour, dtype=pixels.dtype), axis=2)
    xs = np.flatnonzero(mask.sum(axis=0) >= 80)
    ys = np.flatnonzero(mask.sum(axis=1) >= 80)
    assert xs.size and ys.size, f"outline {colour} not in the screenshot"
    return int(xs[0]), int(ys[0]), int(xs[-1]), int(ys[-1])


def test_browser_screenshot_offline_every_plot_drawn(tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    css = "".join(f"#{fig_id}{{outline:3px solid rgb{rgb};outline-offset:2px}}" for fig_id, rgb in _MARKERS.items())
    path = _write_page(tmp_path, css)
    shot = tmp_path / "shot.png"
    _run_chromium(
        tmp_path,
        # no network at all: every name resolves to nothing, every connection goes to a closed port
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost", "--proxy-server=127.0.0.1:9",
        "--window-size=1200,4000", f"--screenshot={shot}", path.as_uri(),
    )
    with Image.open(shot) as image:
        assert image.size == (1200, 4000)
        pixels = np.asarray(image.convert("RGB")).astype(np.int32)
    boxes = {fig_id: _marker_box(pixels, rgb) for fig_id, rgb in _MARKERS.items()}
    tops = [boxes[f][1] for f in FIGURE_IDS]
    assert tops == sorted(tops), boxes  # in the page's order, one below the other
    for fig_id, (x0, y0, x1, y1) in boxes.items():
        assert x1 - x0 > 600 and y1 - y0 > 250, (fig_id, boxes[fig_id])
        inside = pixels[y0 + 5 : y1 - 4, x0 + 5 : x1 - 4]  # within the outline
        spread = inside.max(axis=2) - inside.min(axis=2)
        coloured = int((spread > 60).sum())
        main = int((np.abs(inside - np.array(_PLOT_COLOURS[fig_id])).sum(axis=2) < 60).sum())
        dark = int(((spread <= 60) & (inside.max(axis=2) < 100)).sum())
        assert coloured >= 500, f"{fig_id}: {coloured} coloured pixels: nothing plotted"
        assert main >= 200, f"{fig_id}: {main} pixels of its main colour"
        assert dark >= 500, f"{fig_id}: {dark} dark pixels: no axes or labels"


def test_a_log_axis_is_labelled_with_plain_numbers_not_mathtext():
    from ffsim.load.report import render_report
    from ffsim.load.stats import LoadStats

    stats = LoadStats(["gate"])
    for second, latency in enumerate([0.0005, 0.5, 0.001, 2.0]):  # a span of 4,000x: a log axis
        stats.record_attempt("gate", second + 0.5, True, 200, latency_s=latency)
        stats.record_lateness("gate", second + 0.5, latency)
    stats.finish(4.0)
    html = render_report(stats, {"duration_s": 4.0})
    assert "log scale" in html
    assert "mathdefault" not in html and "10^{" not in html
