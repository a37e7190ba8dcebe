"""``ffsim preview``: one picture of a scenario, to read at a glance before sending it.

Above, the camera's frame at its resolution (pixel coordinates, y down, origin top-left as
in the image): the zones with their ids and direction arrows, and each vehicle's path with
a dot every second while it moves (a round spacing, said in its label, for a path of more
than a minute: at most about MAX_DOTS dots) and one at each wait, its times (arrival, waits,
departure) and its plate. Below, per sending
profile, a timeline of the passages: one bar per carID from its New to its Lost, with the
events that profile sends (New, Update, Reliable, Lost), plate text changes (misreads)
and occlusions (``hidden``) marked, restarts shaded and the passages they cut marked; over
MAX_BARS passages (without ``at_us``), counts per time bin instead, streamed from the engine
(nothing kept grows with the passages), and the paths of the first BINNED_PATHS vehicles.
The frame's labels never cover each other (see _Labels).
With ``at_us`` the frame shows the scene at that moment as the camera sees it: the road
and every vehicle in sight, drawn by the same renderer as the images the camera sends, each
labelled with what the engine's Recogniser decides of it (its zone, outside the zones, hidden,
camera down); and the picture shows a window around the moment (AT_BEFORE_US before it to
AT_AFTER_US after it), so that a moment hours into long traffic draws its minute, not the hours:
the vehicles on their way in the window, those that arrived earlier included, and the passages
that reach it. The work grows with what is drawn (a path's pieces, the vehicles in the window),
not with the length of a wait or of the traffic before the window, whose vehicles the engine
still makes in its order and the preview lets go.

Nothing here decides anything about the scenario: vehicles are built as the engine builds
them (``vehicle_from_spec``, ``FlowGenerator``), so their paths are the engine's
trajectories, and the timeline is drawn from the packets ``ffsim.protocol.Camera`` makes,
restarts included. It shows what the camera decides to send; faults on the way to the
receiver (duplicates, reordering, bursts, wire and payload faults) are ``ffsim events``'s to show.

Deterministic: the same scenario gives the same bytes (matplotlib's own defaults and its
bundled DejaVu Sans whatever the user's matplotlibrc says, a fixed layout in inches, no
date or software version in the file, a fixed SVG hash salt). matplotlib is imported by
:func:`render_preview` only, so that ``import ffsim`` stays fast.
"""

from __future__ import annotations

import heapq
import io
import math
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..engine import geometry
from ..engine.frames import FrameClock
from ..engine.traffic import FlowGenerator, make_normaliser, vehicle_from_spec
from ..engine.vehicle import Passage, Recogniser, Trajectory, Vehicle
from ..scenario.model import Scenario
from ..terminal import printable
from ..vocabulary import LOST, NEW, RELIABLE, UPDATE

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# -- colours: module constants, so that a test can find what was drawn where -------------------
FIGURE_BACKGROUND = "#ffffff"
FRAME_BACKGROUND = "#eceff1"  # the camera frame, where no road is drawn (without --at)
ZONE_COLORS = ("#1f4fd1", "#8e24aa", "#00897b", "#6d4c41")  # zone edges by position in the file
ZONE_FILL_ALPHA = 0.10
# paths, and the same vehicle's bars on the timeline, by arrival order
PATH_COLORS = ("#e53935", "#2e7d32", "#ef6c00", "#5e35b1", "#00838f", "#ad1457", "#827717", "#4e342e")
EVENT_COLOR = "#111111"  # New, Update and Lost marks
RELIABLE_COLOR = "#f9a825"
MISREAD_COLOR = "#d50000"
RESTART_COLOR = "#ffcdd2"
AT_COLOR = "#0d47a1"
UNTIL_COLOR = "#9e9e9e"

DPI = 100  # picture pixels per inch: a 12-inch-wide picture is 1200 pixels wide
FIGURE_WIDTH_IN = 12.0
LEFT_IN, RIGHT_IN = 1.9, 0.35  # the timeline's carID and plate labels need the left margin
TITLE_LEFT_IN = 0.3
FRAME_MAX_HEIGHT_IN = 6.5
ROW_IN = 0.24  # one passage on a timeline
TIMELINE_MAX_IN = 24.0  # per profile: beyond this, rows get thinner
BAR_HEIGHT = 0.6  # of a row
LEGEND_COLUMNS = 4
PATH_WIDTH_PT = 2.2
ZONE_EDGE_PT = 2.5
# generated traffic without an end in sight: how much of it a preview shows unless told
DEFAULT_WINDOW_US = 60_000_000
# --at: the time shown around the moment, so that a moment late in long traffic does not draw all
# that came before it (from 0 for a moment in the first minute, as long a window)
AT_BEFORE_US, AT_AFTER_US = 60_000_000, 10_000_000
# more vehicles than this (generated traffic, an imported hour of SUMO): paths as thin lines, the
# plates on the timeline only
MAX_LABELLED_VEHICLES = 40
# a path's dots: at most about this many, at the first of these spacings (s) that allows it
MAX_DOTS = 60
DOT_SPACINGS_S = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21_600, 43_200, 86_400)
MAX_WAIT_LABELS = 12  # per path: the longest waits, when it has more
# more passages than this (without --at): the timelines count passages and events per time bin, at
# most MAX_BINS bins of a round width (BIN_WIDTHS_S, each a multiple of the one before, so that a
# run whose end is not known merges its bins as it goes), and the frame draws the first
# BINNED_PATHS vehicles' paths; nothing kept grows with the passages
MAX_BARS = 200
MAX_BINS = 240
BIN_WIDTHS_S = (1, 10, 60, 600, 3600, 21_600, 86_400, 604_800)
BINNED_PATHS = 40
COUNTS_IN = 2.2  # a counting timeline's height
PASSAGES_COLOR = "#90a4ae"
# a path's stops: waits closer than this share of the frame's diagonal are one stop (SUMO's stop-and-go),
# and a stop shorter than MIN_WAIT_LABEL_US gets its dot but no label
WAIT_MERGE_SHARE = 0.01
MIN_WAIT_LABEL_US = 1_000_000

_RC: Any = {  # (Any: matplotlib types the keys as a Literal of every rcParam)
    "font.family": "DejaVu Sans",  # bundled with matplotlib: the same letters on every machine
    "font.size": 9,
    "text.parse_math": False,  # a plate "$5" is shown as written
    "svg.fonttype": "path",  # glyphs as paths: the SVG looks the same without the font installed
    "svg.hashsalt": "ffsim-preview",
    "svg.image_inline": True,
    "axes.titlesize": 10,
    "axes.titlelocation": "left",
    "legend.fontsize": 8,
    "legend.frameon": False,
    "figure.facecolor": FIGURE_BACKGROUND,
    "savefig.facecolor": FIGURE_BACKGROUND,
}

FORMATS = ("png", "svg")

__all__ = ["DEFAULT_WINDOW_US", "FORMATS", "Preview", "PreviewError", "Row", "preview", "render_preview"]


class PreviewError(ValueError):
    """A preview that cannot be drawn as asked (--at outside the scenario, an unknown format)."""


# -- what is drawn: vehicles and passages ------------------------------------------------------
@dataclass(slots=True)
class Row:
    """One passage on the timelines (the same on every profile's; what each profile sends differs)."""

    car_id: int
    vehicle: int  # index into Preview.vehicles (and so its colour)
    new_us: int
    end_us: int  # the Lost's send time, or where the passage was cut
    ended: str  # "lost" | "restart" (cut by a restart) | "until" (still under way at the window's end)
    text: str  # the last reported plate text
    direction: str
    texts: list[tuple[int, str, str]] = field(default_factory=list)  # (time, from, to) of each text change
    sent: dict[int, list[tuple[int, str]]] = field(default_factory=dict)  # profile: (time, state) per packet


@dataclass(frozen=True, slots=True)
class Preview:
    """A drawn preview: its bytes, and where things are in it (pixels of the PNG, origin top-left)."""

    data: bytes
    image_format: str
    size: tuple[int, int]  # the picture's width and height in pixels (at the dpi drawn)
    vehicles: tuple[Vehicle, ...]  # as the engine moves them, in arrival order
    rows: tuple[Row, ...]  # the passages, in the order of their New
    profiles: tuple[int, ...]  # a timeline per profile, top to bottom
    events: int  # packets drawn, all profiles
    window_us: tuple[int, int]  # the time the timeline shows: (start, end)
    until_us: int | None  # vehicles and events up to this time (None: the whole scenario)
    windowed: bool  # until_us was chosen by the preview (endless or long traffic, or --at late in it), not given
    # "all" (the whole scenario), "until" (up to --until), "first" (the first minute of traffic without an
    # end in sight) or "around" (--at: from AT_BEFORE_US before it to AT_AFTER_US after it)
    window_kind: str
    at_us: int | None
    frame_box: tuple[float, float, float, float]  # (left, top, right, bottom) of the camera frame
    frame_size: tuple[int, int]  # the camera's resolution
    timeline_boxes: tuple[tuple[float, float, float, float], ...]  # per profile, (left, top, right, bottom)
    timeline_span: tuple[float, float]  # the times (s) at the left and right edges of the timelines
    timeline_rows: tuple[float, float]  # the row values at the top and bottom edges of each timeline
    # with at_us: what the frame says of each vehicle on its path then, as the engine's Recogniser decides
    # it: (index into vehicles, "zone N" | "outside the zones" | "hidden" | "camera down")
    scene: tuple[tuple[int, str], ...] = ()
    # the frame's labels as placed: (text, (left, top, right, bottom) in picture pixels)
    frame_labels: tuple[tuple[str, tuple[float, float, float, float]], ...] = ()
    labels_left_out: int = 0  # frame labels without a free place
    passages: int = 0  # passages drawn (bars) or counted (bins)
    bin_us: int = 0  # over MAX_BARS passages: the width of a timeline's bins (0: a bar per passage)
    # with bin_us: the counts per bin, from t=0: ("new", 0) passages (their New), ("sent", profile)
    # events, ("misread", profile) Updates changing the plate text, ("cut", 0) passages cut by a restart
    counts: tuple[tuple[tuple[str, int], tuple[int, ...]], ...] = ()

    @property
    def shown(self) -> str:
        """What part of the scenario the picture shows, for a summary ("" for all of it)."""
        start, end = self.window_us
        if self.window_kind == "first" and end > DEFAULT_WINDOW_US:
            return (f"the first {_moment(end)}, a minute after its first generated vehicle "
                    "(--until for more)")
        if self.window_kind == "first":
            return f"the first {_moment(end)} of its traffic (--until for more)"
        if self.window_kind == "until":
            return f"up to {_moment(end)}"
        if self.window_kind == "around":
            return f"from {_moment(start)} to {_moment(end)}, around --at"
        return ""

    def frame_pixel(self, x: float, y: float) -> tuple[float, float]:
        """Where the frame's pixel (x, y) is in the picture."""
        left, top, right, bottom = self.frame_box
        w, h = self.frame_size
        return left + x * (right - left) / w, top + y * (bottom - top) / h

    def timeline_pixel(self, profile_index: int, time_us: float, row: float) -> tuple[float, float]:
        """Where time time_us on passage row `row` (0: the first) is in a profile's timeline."""
        left, top, right, bottom = self.timeline_boxes[profile_index]
        t0, t1 = self.timeline_span
        r0, r1 = self.timeline_rows
        return (left + (time_us / 1e6 - t0) * (right - left) / (t1 - t0),
                top + (row - r0) * (bottom - top) / (r1 - r0))


def _moment(us: float) -> str:
    """A time in seconds as the summary says it, with hours past a day ("2592000 s (720 h)", not 2.592e+06)."""
    seconds = us / 1e6
    return f"{seconds:g} s" if seconds < 100_000 else f"{seconds:.0f} s ({seconds / 3600:g} h)"


def _seconds(us: float) -> str:
    return f"{us / 1e6:.1f} s"


def _vehicles(scenario: Scenario, until_us: int | None, from_us: int,
              keep: int | None = None) -> tuple[list[Vehicle], list[bool], bool, float]:
    """The vehicles that arrive by until_us, built as the engine builds them, in arrival order (the
    engine's seq: listed vehicles by `at`, then file order, before generated ones at the same time;
    flows by index), less those whose path ends too long before from_us for any of their passages to
    reach it (so that a window late in long traffic keeps only what it draws: every vehicle up to it
    is made, as the engine makes them, and let go); for each, whether a traffic flow generated it;
    whether a vehicle arrives after until_us; and the latest end of any path. With keep, the first
    `keep` vehicles only, and no more are made (later and the latest end are then of those)."""
    normalise = make_normaliser(scenario.recognition.keep_separators)
    # a passage ends (its Lost) at most the lost timeout and a frame after its vehicle's path
    margin_us = scenario.recognition.lost_timeout_us + 1e6 / float(scenario.camera.fps) + 1_000_000

    def listed() -> Iterator[tuple[int, int, int, int, Any]]:
        for i in sorted(range(len(scenario.vehicles)), key=lambda i: (scenario.vehicles[i].at_us, i)):
            yield scenario.vehicles[i].at_us, 0, i, 0, scenario.vehicles[i]

    def flow(i: int, gen: FlowGenerator) -> Iterator[tuple[int, int, int, int, Any]]:
        # a flow without an end is only drawn with a window (render_preview sees to it)
        n = 0
        while gen.next_us is not None:
            yield gen.next_us, 1, i, n, gen.make(0)
            gen.advance()
            n += 1

    flows = [flow(i, FlowGenerator(f, i, scenario, normalise)) for i, f in enumerate(scenario.traffic)]
    out: list[Vehicle] = []
    generated: list[bool] = []
    later = False
    last_end = 0.0
    # (time, kind, index, n) is unique: the vehicles themselves are never compared
    for seq, (at_us, kind, i, _, item) in enumerate(heapq.merge(listed(), *flows)):
        if until_us is not None and at_us > until_us:
            later = True
            break
        if kind == 0:
            vehicle = vehicle_from_spec(item, i, seq, scenario, normalise)
        else:
            item.seq = seq
            vehicle = item
        last_end = max(last_end, vehicle.trajectory.end)
        if vehicle.trajectory.end + margin_us >= from_us:
            out.append(vehicle)
            generated.append(kind == 1)
            if keep is not None and len(out) >= keep:
                break
    return out, generated, later, last_end


class _Counts:
    """Counts per time bin from t=0, of a round width (BIN_WIDTHS_S, then doubling) that keeps them
    within MAX_BINS: a time past the last bin widens the bins, merging them."""

    def __init__(self, end_us: int | None):
        self.width_s = BIN_WIDTHS_S[0]
        while end_us is not None and end_us / 1e6 / self.width_s > MAX_BINS:
            self.width_s = self._wider()
        self.series: dict[tuple[str, int], list[int]] = {}

    def _wider(self) -> int:
        later = [w for w in BIN_WIDTHS_S if w > self.width_s]
        return later[0] if later else self.width_s * 2

    def add(self, name: str, profile: int, time_us: int) -> None:
        i = time_us // (self.width_s * 1_000_000)
        while i >= MAX_BINS:
            wider = self._wider()
            factor = wider // self.width_s
            for key, seq in self.series.items():
                self.series[key] = [sum(seq[j:j + factor]) for j in range(0, len(seq), factor)]
            self.width_s = wider
            i = time_us // (self.width_s * 1_000_000)
        seq = self.series.setdefault((name, profile), [])
        if len(seq) <= i:
            seq.extend([0] * (i + 1 - len(seq)))
        seq[i] += 1


def _passages(scenario: Scenario, until_us: int | None, from_us: int, vehicles: list[Vehicle],
              windows: list[tuple[int, int]], bars_up_to: int | None = None,
              progress: Callable[[int, int | None], None] | None = None,
              ) -> tuple[list[Row], int, int, _Counts | None, int]:
    """The passages that reach from_us and what each profile sends of them from then on, from the
    camera's own packets; the packets drawn; the time the last passage ended (Lost or cut); the
    counts per bin instead of the rows when there were more than bars_up_to passages or one whose
    vehicle is not among `vehicles` (then only the passages under way are kept, their text and
    last change); and the number of passages. A passage is let go as soon as it ends before
    from_us. progress, if given, is called now and then with the virtual time reached and until_us."""
    from ..protocol import Camera, Packet

    by_seq = {v.seq: i for i, v in enumerate(vehicles)}
    rows: dict[Passage, Row] = {}  # the passages kept, in the order of their New
    under_way: dict[Passage, Row] = {}  # of those, the ones neither lost nor cut yet
    restarts = [start for start, _ in windows]
    next_restart = 0
    packets = 0
    last_us = 0
    counts: _Counts | None = None
    counted: dict[Passage, list[Any]] = {}  # binned: the passages under way, [New's time, text, last change]
    passages = 0

    def to_counts() -> _Counts:
        """From bars to counts: what the rows hold goes into the bins, and the rows are let go."""
        bins = _Counts(until_us)
        for passage, row in rows.items():
            bins.add("new", 0, row.new_us)
            changes = {t for t, _, _ in row.texts}
            for profile, sent in row.sent.items():
                for time_us, state in sent:
                    bins.add("sent", profile, time_us)
                    if state == UPDATE and time_us in changes:
                        bins.add("misread", profile, time_us)
            if row.ended == "restart":
                bins.add("cut", 0, row.end_us)
            if passage in under_way:
                counted[passage] = [row.new_us, row.text, row.texts[-1][0] if row.texts else -1]
        rows.clear()
        under_way.clear()
        return bins

    def cut(before_us: float) -> None:
        """Each restart that began before before_us cuts the passages under way since before it."""
        nonlocal next_restart, last_us
        while next_restart < len(restarts) and restarts[next_restart] < before_us:
            start = restarts[next_restart]
            next_restart += 1
            if counts is not None:
                for passage, state in list(counted.items()):
                    if state[0] < start:
                        counts.add("cut", 0, start)
                        last_us = max(last_us, start)
                        del counted[passage]
            for passage, row in list(under_way.items()):
                if row.new_us < start:
                    row.end_us, row.ended = start, "restart"
                    last_us = max(last_us, start)
                    del under_way[passage]
                    if start < from_us:
                        del rows[passage]

    camera = Camera(scenario, scenario.start_us or 0)
    for n, item in enumerate(camera.packets_and_events(until_us)):
        if progress is not None and n % 4096 == 0:
            progress(item.time_us, until_us)
        if counts is not None:  # over bars_up_to passages: counted, not kept
            if isinstance(item, Packet):
                packets += 1
                counts.add("sent", item.profile, item.time_us)
                state = counted.get(item.event.passage)
                if item.event.state == UPDATE and state is not None and state[2] == item.time_us:
                    counts.add("misread", item.profile, item.time_us)
                continue
            cut(item.time_us)
            if item.state == NEW:
                passages += 1
                counts.add("new", 0, item.time_us)
                counted[item.passage] = [item.time_us, item.text, -1]
                continue
            state = counted.get(item.passage)
            if state is None:
                continue
            if item.text != state[1]:
                state[1], state[2] = item.text, item.time_us
            if item.state == LOST:
                last_us = max(last_us, item.time_us)
                del counted[item.passage]
            continue
        if isinstance(item, Packet):
            row = rows.get(item.event.passage)
            if row is not None and item.time_us >= from_us:
                row.sent.setdefault(item.profile, []).append((item.time_us, item.event.state))
                packets += 1
            continue
        ev = item
        cut(ev.time_us)
        passage = ev.passage
        if ev.state == NEW:
            index = by_seq.get(passage.vehicle.seq)
            if bars_up_to is not None and (len(rows) >= bars_up_to or index is None):
                counts = to_counts()  # too many for a bar each (or its vehicle was not kept)
                passages += 1
                counts.add("new", 0, ev.time_us)
                counted[passage] = [ev.time_us, ev.text, -1]
                continue
            if index is None and from_us > 0:
                continue  # its vehicle left too long before the window: the passage ends before it
            if index is None or vehicles[index].plate != passage.vehicle.plate:  # pragma: no cover
                raise AssertionError("the preview's vehicles differ from the engine's")  # a bug of ours
            row = Row(passage.car_id or 0, index, ev.time_us, ev.time_us, "until", ev.text, ev.direction)
            rows[passage] = under_way[passage] = row
            passages += 1
            continue
        row = rows.get(passage)
        if row is None:
            if ev.state == LOST:  # a passage over before the window: not drawn, but the scenario's end
                last_us = max(last_us, ev.time_us)
            continue
        if ev.text != row.text:
            row.texts.append((ev.time_us, row.text, ev.text))
        row.text, row.direction = ev.text, ev.direction
        if ev.state == LOST:
            row.end_us, row.ended = ev.time_us, "lost"
            last_us = max(last_us, ev.time_us)
            under_way.pop(passage, None)
            if ev.time_us < from_us:
                del rows[passage]
    cut(math.inf if until_us is None else until_us + 1)  # the restarts up to the end shown
    if until_us is not None:
        for row in under_way.values():
            row.end_us = until_us
    if counts is not None:
        return [], packets, last_us, counts, passages
    return list(rows.values()), packets, last_us, None, len(rows)


def _default_window(scenario: Scenario) -> tuple[int, int | None] | None:
    """None when the whole scenario is short enough to draw; else the end of the time to show and
    when the first generated vehicle arrives (None: none does): the first DEFAULT_WINDOW_US, or,
    when the generated traffic starts after its first half, DEFAULT_WINDOW_US after its first
    vehicle (rounded up to a second), so that the picture shows some of it."""
    if all(f.until_us is not None and f.until_us <= DEFAULT_WINDOW_US for f in scenario.traffic):
        return None
    normalise = make_normaliser(scenario.recognition.keep_separators)
    firsts = [FlowGenerator(f, i, scenario, normalise).next_us for i, f in enumerate(scenario.traffic)]
    first = min((t for t in firsts if t is not None), default=None)
    if first is None or first <= DEFAULT_WINDOW_US // 2:
        return DEFAULT_WINDOW_US, first
    end = math.ceil(first / 1e6) * 1_000_000 + DEFAULT_WINDOW_US
    if all(f.until_us is not None and f.until_us <= end for f in scenario.traffic):
        return None
    return end, first


# -- the picture ------------------------------------------------------------------------------
class _Labels:
    """Places the frame's labels so that none covers another or leaves the frame. Labels are asked
    for while drawing and placed together by place(), in the order of their rank (zones, then
    plates, then the times a path leaves, then its waits), each in the first free place among a
    few: on its side of the point a line down or up, then two..., then the same on the other
    side. A label with no free place is left out (the timeline still has every plate) and
    counted, except a zone's, which stays where it was asked to be. Deterministic: the places
    tried depend on the labels only."""

    TRIES = 9  # 0, -1, +1, -2, +2... lines
    ZONE, PLATE, END, WAIT = range(4)  # ranks: the lower placed first

    def __init__(self, ax: Axes, renderer: Any):
        self.ax = ax
        self.renderer = renderer
        self.boxes: list[Any] = []
        self.area = ax.get_window_extent(renderer)
        self.asked: list[tuple[int, int, tuple[Any, ...]]] = []  # (rank, order, arguments)
        self.left_out = 0
        self.placed: list[tuple[str, Any]] = []  # (text, box in display pixels)

    def add(self, x: float, y: float, text: str, color: str, dx: float = 7.0, dy: float = 0.0,
            boxed: bool = False, ha: str = "left", size: float = 7.5, rank: int = 1) -> None:
        self.asked.append((rank, len(self.asked), (x, y, text, color, dx, dy, boxed, ha, size, rank)))

    def place(self) -> None:
        for _, _, args in sorted(self.asked, key=lambda a: a[:2]):
            self._place(*args)
        self.asked = []

    def _place(self, x: float, y: float, text: str, color: str, dx: float, dy: float, boxed: bool, ha: str,
               size: float, rank: int) -> None:
        kwargs: dict[str, Any] = {}
        if boxed:
            kwargs["bbox"] = {"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": color,
                              "linewidth": 1.0, "alpha": 0.92}
        step = size * (1.75 if boxed else 1.4)
        area = self.area
        other_side = "right" if ha == "left" else "left"
        places = [(dx, ha, attempt) for attempt in range(self.TRIES)] + [
            (-dx, other_side, attempt) for attempt in range(self.TRIES)]
        if rank == self.ZONE:
            places.append((dx, ha, -1))  # where it was asked
        for offset, align, attempt in places:
            last = attempt < 0
            lines = 0 if last else (attempt + 1) // 2 * (1 if attempt % 2 == 0 else -1)
            label = self.ax.annotate(
                text, (x, y), xytext=(offset, dy - lines * step), textcoords="offset points", ha=align,
                va="center", fontsize=size, color="black" if boxed else color, zorder=6, annotation_clip=False,
                **kwargs)
            box = label.get_window_extent(self.renderer)
            inside = area.x0 <= box.x0 and box.x1 <= area.x1 and area.y0 <= box.y0 and box.y1 <= area.y1
            if last or (inside and not any(box.overlaps(other) for other in self.boxes)):
                self.boxes.append(box)
                self.placed.append((text, box))
                return
            label.remove()
        self.left_out += 1


def _path_parts(v: Vehicle) -> list[tuple[bool, list[tuple[float, float]]]]:
    """The path as polylines, each (hidden, points): the parts in a hidden interval apart."""
    traj = v.trajectory
    times = {traj.start, traj.end}
    for t0, t1, *_ in traj.pieces:
        times.update((t0, t1))
    for a, b in v.hidden:
        times.update(t for t in (a, b) if traj.start <= t <= traj.end)
    ordered = sorted(times)
    parts: list[tuple[bool, list[tuple[float, float]]]] = []
    for t0, t1 in zip(ordered, ordered[1:]):
        mid = (t0 + t1) / 2
        hidden = any(a <= mid < b for a, b in v.hidden)
        p0, p1 = traj.position(t0), traj.position(t1)
        if parts and parts[-1][0] == hidden:
            parts[-1][1].append(p1)
        else:
            parts.append((hidden, [p0, p1]))
    if not parts:
        parts.append((False, [traj.position(traj.start)]))
    return parts


def _dot_spacing(moving_us: float) -> int:
    """Seconds between two dots of a path that moves for moving_us: the first round spacing that
    puts at most MAX_DOTS on it (a second for any path under a minute)."""
    for spacing_s in DOT_SPACINGS_S:
        if moving_us / 1e6 / spacing_s <= MAX_DOTS:
            return spacing_s
    day = 86_400
    return day * math.ceil(moving_us / 1e6 / MAX_DOTS / day)


def _spacing(seconds: int) -> str:
    """A dot spacing in words: "second", "5 s", "2 min", "1 h"."""
    if seconds == 1:
        return "second"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def _path_dots(traj: Trajectory) -> tuple[list[tuple[float, float]], int]:
    """The dots of a path, walked piece by piece (the work grows with its pieces and dots, not its
    duration): one at each wait, and while it moves one at each whole multiple of the spacing (s),
    chosen so that the path has at most about MAX_DOTS of them. Equal neighbours are one dot."""
    moving_us = sum(t1 - t0 for t0, t1, x0, y0, x1, y1 in traj.pieces if (x0, y0) != (x1, y1))
    spacing_s = _dot_spacing(moving_us)
    step_us = spacing_s * 1_000_000
    dots: list[tuple[float, float]] = []

    def keep(p: tuple[float, float]) -> None:
        if not dots or dots[-1] != p:
            dots.append(p)

    for t0, t1, x0, y0, x1, y1 in traj.pieces:
        if (x0, y0) == (x1, y1):
            if t1 > t0:  # a wait: one dot, its times are labelled
                keep((x0, y0))
            continue
        n = max(0, math.ceil(t0 / step_us))
        while n * step_us <= t1:
            keep(traj.position(n * step_us))  # the engine's own position at that time
            n += 1
    return dots, spacing_s


def _waits(traj: Trajectory, merge_px: float = 0.0) -> list[tuple[float, float, float, float]]:
    """The path's stops worth a label (t0, t1, x, y), in time order: a wait over several pieces at
    one point is one; waits separated by moves of less than merge_px (frame pixels) from the
    first are one stop, from the first's start to the last's end (SUMO's stop-and-go in a queue:
    dozens of 0.1 s waits a pixel apart); a stop shorter than MIN_WAIT_LABEL_US is not labelled
    (its dot is drawn); at most MAX_WAIT_LABELS of them, the longest, when it has more."""
    waits: list[tuple[float, float, float, float]] = []
    for t0, t1, x0, y0, x1, y1 in traj.pieces:
        if (x0, y0) != (x1, y1) or t1 <= t0:
            continue
        if waits and (waits[-1][1] == t0 and waits[-1][2:] == (x0, y0)
                      or math.hypot(x0 - waits[-1][2], y0 - waits[-1][3]) < merge_px):
            waits[-1] = (waits[-1][0], t1, waits[-1][2], waits[-1][3])
        else:
            waits.append((t0, t1, x0, y0))
    waits = [w for w in waits if w[1] - w[0] >= MIN_WAIT_LABEL_US]
    if len(waits) > MAX_WAIT_LABELS:
        longest = sorted(waits, key=lambda w: (w[0] - w[1], w[0]))[:MAX_WAIT_LABELS]
        waits = sorted(longest)
    return waits


def _draw_zones(ax: Axes, scenario: Scenario, labels: _Labels, faded: bool) -> None:
    from matplotlib.patches import FancyArrow, Polygon

    for i, zone in enumerate(scenario.zones):
        color = ZONE_COLORS[i % len(ZONE_COLORS)]
        # add_artist, not add_patch: the limits are the frame's, set already, and add_patch would
        # walk every vertex's curve to widen them (a second for a zone of 40,000 vertices)
        ax.add_artist(Polygon(zone.polygon, closed=True, facecolor=color, alpha=0.04 if faded else ZONE_FILL_ALPHA,
                              edgecolor="none", zorder=1))
        ax.add_artist(Polygon(zone.polygon, closed=True, fill=False, edgecolor=color, linewidth=ZONE_EDGE_PT,
                              zorder=2, joinstyle="miter"))
        xs, ys = [p[0] for p in zone.polygon], [p[1] for p in zone.polygon]
        cx, cy = geometry.polygon_centroid(zone.polygon)
        ax_, ay_ = zone.arrow
        length = 0.35 * min(max(xs) - min(xs), max(ys) - min(ys))
        if length > 0:
            ax.add_patch(FancyArrow(cx - ax_ * length / 2, cy - ay_ * length / 2, ax_ * length, ay_ * length,
                                    width=length * 0.07, head_width=length * 0.22, head_length=length * 0.22,
                                    length_includes_head=True, facecolor=color, edgecolor="none",
                                    alpha=0.5, zorder=4.5))  # over the paths, which would hide it
        # the label in the polygon's top-left corner (the first vertex nearest it); the box's
        # corner once, not once per vertex (a zone of 40,000 vertices took 27 s)
        left, top = min(xs), min(ys)
        corner = min(zone.polygon, key=lambda p: (p[0] - left) + (p[1] - top))
        labels.add(corner[0], corner[1], f"zone {zone.id}  arrow {zone.direction:g}°", color, dx=5, dy=-8,
                   boxed=True, size=8, rank=_Labels.ZONE)


def _draw_paths(ax: Axes, vehicles: list[Vehicle], generated: list[bool], labels: _Labels,
                faded: bool, merge_px: float = 0.0) -> tuple[bool, set[int]]:
    """Each vehicle's path; False when there were too many to label (lines only), and the dots'
    spacings (s) other than a second."""
    alpha = 0.35 if faded else 1.0
    dense = len(vehicles) > MAX_LABELLED_VEHICLES
    spacings: set[int] = set()
    for i, v in enumerate(vehicles):
        color = PATH_COLORS[i % len(PATH_COLORS)]
        traj = v.trajectory
        for hidden, points in _path_parts(v):
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            ax.plot(xs, ys, color=color, linewidth=PATH_WIDTH_PT * (0.6 if hidden or dense else 1.0),
                    alpha=alpha, linestyle=(0, (2, 2)) if hidden else "-", solid_capstyle="butt", zorder=3)
        if dense:
            continue
        # a dot every `spacing` seconds while it moves, one at each wait, the heading at the end
        dots, spacing_s = _path_dots(traj)
        if spacing_s != 1:
            spacings.add(spacing_s)
        if dots:
            ax.plot([p[0] for p in dots], [p[1] for p in dots], linestyle="none", marker="o", markersize=3.2,
                    markerfacecolor="white", markeredgecolor=color, markeredgewidth=1.0, alpha=alpha, zorder=4)
        start, end = traj.position(traj.start), traj.position(traj.end)
        before_end = traj.position(max(traj.start, traj.end - 1.0))
        if before_end != end:
            ax.annotate("", xy=end, xytext=before_end, zorder=4, annotation_clip=False,
                        arrowprops={"arrowstyle": "-|>,head_length=0.6,head_width=0.3", "color": color,
                                    "alpha": alpha, "shrinkA": 0, "shrinkB": 0, "linewidth": 0})
        if faded:
            continue
        plate = printable(v.plate)
        if generated[i]:  # generated traffic: many paths on one lane; the plate along the path, spread
            f = 0.12 + 0.76 * ((i * 0.6180339887) % 1.0)
            p = traj.position(traj.start + f * (traj.end - traj.start))
            labels.add(p[0], p[1], f"{plate} {_seconds(traj.start)}", color, boxed=True, size=7)
            continue
        every = "" if spacing_s == 1 else f"  (a dot every {_spacing(spacing_s)})"
        labels.add(start[0], start[1], f"{plate}  {_seconds(traj.start)}{every}", color, boxed=True, size=8)
        for t0, t1, x0, y0 in _waits(traj, merge_px):
            labels.add(x0, y0, f"{_seconds(t0)} – {_seconds(t1)}", color, rank=_Labels.WAIT)
        if traj.end > traj.start:
            labels.add(end[0], end[1], _seconds(traj.end), color, rank=_Labels.END)
    return not dense, spacings


def _scene_recogniser(scenario: Scenario, windows: list[tuple[int, int]]) -> Recogniser:
    """The engine's recogniser for this scenario, as ffsim.engine.loop.Engine makes it, dark in the
    restarts' windows: the scene says what the camera decides."""
    rec = scenario.recognition
    return Recogniser(scenario.zones, FrameClock(scenario.camera.fps), rec.lost_timeout_us, rec.direction_min_travel,
                      rec.update_interval_us, rec.reliable_confidence, rec.reliable_timeout_us, dark=windows)


_UNSEEN = {"hidden": "hidden", "dark": "camera down", "outside": "outside the zones"}


def _draw_scene(ax: Axes, scenario: Scenario, vehicles: list[Vehicle], at_us: int, size_px: tuple[int, int],
                windows: list[tuple[int, int]], labels: _Labels) -> tuple[str, list[tuple[int, str]]]:
    """The frame at at_us as the camera sees it; returns what the title says of that moment, and
    what the frame says of each vehicle on its path then (its index, "zone N", "outside the zones",
    "hidden" or "camera down"), as the engine's Recogniser decides it."""
    from matplotlib.patches import Rectangle
    from PIL import Image

    from ..protocol.crops import plate_box
    from . import ImageRenderer

    cam = scenario.camera
    recogniser = _scene_recogniser(scenario, windows)
    k = recogniser.clock.floor(at_us)
    t = recogniser.clock.time(k)
    on_road: list[tuple[int, Vehicle, float, float, str]] = []  # on its path: (index, vehicle, x, y, what)
    for i, v in enumerate(vehicles):
        zone = recogniser.state_at(v, k)
        why = "" if zone is not None else recogniser.unseen_because(v, k)
        if why != "path":
            x, y = v.trajectory.position(t)
            on_road.append((i, v, x, y, f"zone {zone}" if zone is not None else _UNSEEN[why]))
    in_sight = [s for s in on_road if s[4] != "hidden"]  # on the road in the picture (even while it is dark)
    renderer = ImageRenderer(cam.width, cam.height, (), scenario.road_seed)
    # the farther (higher in the image) first, the nearer in front of them
    image = renderer.scene([(v, x, y) for _, v, x, y, _ in sorted(in_sight, key=lambda s: (s[3], s[0]))])
    # drawn at the picture's own size: no resampling left to the backends, a smaller SVG
    image = image.resize(size_px, Image.Resampling.LANCZOS)
    ax.imshow(image, extent=(0, cam.width, cam.height, 0), interpolation="nearest", zorder=0, aspect="auto")
    hidden = [s for s in on_road if s[4] == "hidden"]
    dense = len(on_road) > MAX_LABELLED_VEHICLES  # a crowd: framed, not labelled (Preview.scene says)
    for i, v, x, y, where in in_sight + hidden:
        color = PATH_COLORS[i % len(PATH_COLORS)]
        seen = where not in ("hidden", "camera down")
        left, top, w, h = plate_box(x, y, v.plate_w, v.plate_h, cam.width, cam.height)
        ax.add_patch(Rectangle((left - 3, top - 3), w + 6, h + 6, fill=False, edgecolor=color, linewidth=1.8,
                               linestyle="-" if seen else (0, (2, 2)), zorder=5))
        if not dense:
            labels.add(left + w + 3, y, f"{printable(v.plate)}  {where}", color, dx=4, boxed=True, size=8)
    dark = bool(recogniser.dark) and any(a <= t < b for a, b in recogniser.dark)
    moment = f"frame {k} at {t / 1e6:.3f} s: {len(in_sight)} vehicle(s) in sight" + (
        f", {len(hidden)} hidden" if hidden else "") + (" (camera down: restarting)" if dark else "") + (
        f" (over {MAX_LABELLED_VEHICLES}: plates framed, not labelled)" if dense else "")
    return moment, [(i, where) for i, _, _, _, where in in_sight + hidden]


_MARKS = {  # state: (marker, size, face, edge)
    NEW: ("o", 6.0, "white", EVENT_COLOR),
    UPDATE: ("|", 11.0, EVENT_COLOR, EVENT_COLOR),
    RELIABLE: ("*", 10.0, RELIABLE_COLOR, EVENT_COLOR),
    LOST: ("s", 5.5, EVENT_COLOR, EVENT_COLOR),
}


def _draw_timeline(ax: Axes, rows: list[Row], profile_id: int, vehicles: list[Vehicle],
                   windows: list[tuple[int, int]], span: tuple[float, float], at_us: int | None,
                   row_in: float, slots: int, width_in: float) -> None:
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    t0, t1 = span
    for start, end in windows:
        if start / 1e6 < t1:
            ax.axvspan(max(start / 1e6, t0), min(end / 1e6, t1), facecolor=RESTART_COLOR, edgecolor="none", zorder=0)
            ax.text(max(start / 1e6, t0), -0.45, f" restart, {(end - start) / 1e6:g} s down", fontsize=7,
                    color="#b71c1c", va="bottom", ha="left", zorder=6, clip_on=False)
    marker_scale = min(1.0, row_in / ROW_IN)
    bars, hidden = [], []
    # markers in one artist per look: thousands of passages draw as fast as a few
    marks: dict[tuple[str, float, str, str, float, int], tuple[list[float], list[float]]] = {}

    def mark(x_us: float, r: int, marker: str, size: float, face: str, edge: str, width: float, z: int) -> None:
        xs, ys = marks.setdefault((marker, size * marker_scale, face, edge, width, z), ([], []))
        xs.append(x_us / 1e6)
        ys.append(r)

    for r, row in enumerate(rows):
        v = vehicles[row.vehicle]
        color = PATH_COLORS[row.vehicle % len(PATH_COLORS)]
        left, width = row.new_us / 1e6, (row.end_us - row.new_us) / 1e6
        bars.append(Rectangle((left, r - BAR_HEIGHT / 2), width, BAR_HEIGHT, facecolor=color, edgecolor="none"))
        for a, b in v.hidden:
            a, b = max(a, row.new_us), min(b, row.end_us)
            if a < b:
                hidden.append(Rectangle((a / 1e6, r - BAR_HEIGHT / 2), (b - a) / 1e6, BAR_HEIGHT,
                                        facecolor="white", edgecolor=color, linewidth=0))
        changes = {t for t, _, _ in row.texts}
        for time_us, state in row.sent.get(profile_id, []):
            marker, size, face, edge = _MARKS[state]
            if state == UPDATE and time_us in changes:
                face = edge = MISREAD_COLOR
            mark(time_us, r, marker, size, face, edge, 1.6 if marker == "|" else 0.9, 4)
        if row.ended == "restart":
            mark(row.end_us, r, "X", 8, MISREAD_COLOR, "white", 0.6, 5)
        elif row.ended == "until":
            mark(row.end_us, r, ">", 6, UNTIL_COLOR, UNTIL_COLOR, 0.9, 5)
        read_texts = list(dict.fromkeys(r.text for r in v.reads))
        if (row.texts or len(read_texts) > 1) and row_in >= 0.12:
            if row.texts:  # what the receiver was told, in order
                note = " → ".join([printable(row.texts[0][1])] + [printable(b) for _, _, b in row.texts])
            else:  # misread, but the wrong text never won
                note = "reads " + ", ".join(printable(t) for t in read_texts) + ": no change reported"
            # beside the bar where it fits (7-point DejaVu: about 0.06 inch a character), else on it
            need = (len(note) + 2) * 0.06 / width_in * (t1 - t0)
            gap = 0.006 * (t1 - t0)
            style: dict[str, Any] = {"fontsize": 7, "color": MISREAD_COLOR, "va": "center", "zorder": 6}
            if row.end_us / 1e6 + need < t1:
                ax.text(row.end_us / 1e6 + gap, r, note, ha="left", **style)
            elif left - need > t0:
                ax.text(left - gap * 3, r, note, ha="right", **style)
            else:  # from its last change (or the bar's start), inside the time shown
                since = row.texts[-1][0] / 1e6 if row.texts else left
                ax.text(max(since, t0) + gap, r, note, ha="left", bbox={
                    "boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none"}, **style)
    if bars:
        ax.add_collection(PatchCollection(bars, match_original=True, zorder=2))
    if hidden:
        ax.add_collection(PatchCollection(hidden, match_original=True, hatch="////", zorder=3))
    for (marker, size, face, edge, width, z), (xs, ys) in marks.items():
        ax.plot(xs, ys, marker=marker, markersize=size, markerfacecolor=face, markeredgecolor=edge,
                markeredgewidth=width, linestyle="none", zorder=z)
    if at_us is not None:
        ax.axvline(at_us / 1e6, color=AT_COLOR, linewidth=1.4, zorder=5)
        # above the timeline, over the restarts' labels if there are any
        ax.annotate(f"{at_us / 1e6:g} s", (at_us / 1e6, -0.5), xytext=(2, 10 if windows else 1),
                    textcoords="offset points", fontsize=7, color=AT_COLOR, va="bottom", ha="left", zorder=6,
                    annotation_clip=False)
    ax.set_xlim(t0, t1)
    ax.set_ylim(slots - 0.5, -0.5)
    ticks = list(range(len(rows)))
    step = max(1, math.ceil(0.1 / row_in)) if row_in < 0.1 else 1  # thin rows: every nth label
    ax.set_yticks(ticks[::step])
    ax.set_yticklabels([f"#{rows[r].car_id}  {printable(rows[r].text)[:14]}  {rows[r].direction}"
                        for r in ticks[::step]], fontsize=7.5 if row_in >= 0.16 else 6)
    for label, r in zip(ax.get_yticklabels(), ticks[::step]):
        label.set_color(PATH_COLORS[rows[r].vehicle % len(PATH_COLORS)])
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="x", color="#e0e0e0", linewidth=0.6, zorder=0)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if not rows:
        ax.text(0.5, 0.5, "no passage: no vehicle is recognised in a zone", transform=ax.transAxes,
                ha="center", va="center", color="#616161")


def _draw_counts(ax: Axes, counts: _Counts, profile_id: int, windows: list[tuple[int, int]],
                 span: tuple[float, float]) -> None:
    """A timeline as counts per bin: passages (their New) filled, the events the profile sends as a
    line, the Updates that change the plate text in red, passages cut by a restart as red crosses."""
    t0, t1 = span
    width = counts.width_s
    keys = [("new", 0), ("sent", profile_id), ("misread", profile_id), ("cut", 0)]
    n = max((len(counts.series.get(k, [])) for k in keys), default=0)
    news, sent, misread, cut = ([*counts.series.get(k, []), *[0] * (n - len(counts.series.get(k, [])))]
                                for k in keys)
    edges = [i * width for i in range(n + 1)]
    for start, end in windows:
        if start / 1e6 < t1:
            ax.axvspan(max(start / 1e6, t0), min(end / 1e6, t1), facecolor=RESTART_COLOR, edgecolor="none", zorder=0)
    if n:
        ax.stairs(news, edges, fill=True, facecolor=PASSAGES_COLOR, edgecolor="none", zorder=2)
        ax.stairs(sent, edges, color=EVENT_COLOR, linewidth=1.1, zorder=3, baseline=None)
        if any(misread):
            ax.stairs(misread, edges, color=MISREAD_COLOR, linewidth=1.1, zorder=4, baseline=None)
        marked = [(edges[i] + width / 2, c) for i, c in enumerate(cut) if c]
        if marked:
            ax.plot([x for x, _ in marked], [c for _, c in marked], linestyle="none", marker="X", markersize=7,
                    markerfacecolor=MISREAD_COLOR, markeredgecolor="white", markeredgewidth=0.6, zorder=5)
    top = max([*news, *sent, 1])
    ax.set_xlim(t0, t1)
    ax.set_ylim(0, top * 1.12)
    ax.set_ylabel(f"per {_spacing(width)}" if width != 1 else "per second", fontsize=8)
    ax.tick_params(axis="y", labelsize=7)
    _time_ticks(ax, t1 - t0)
    ax.grid(axis="both", color="#e0e0e0", linewidth=0.6, zorder=0)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _time_ticks(ax: Axes, span_s: float) -> None:
    """Beyond two hours, ticks at whole hours (or days) and labelled so, not 86400."""
    if span_s <= 7200:
        return
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    unit, name = (86_400, "d") if span_s > 10 * 86_400 else (3600, "h")
    step = next((k for k in (1, 2, 3, 6, 12, 24, 48, 96, 168, 336, 720) if span_s / unit / k <= 12),
                math.ceil(span_s / unit / 12))
    ax.xaxis.set_major_locator(MultipleLocator(step * unit))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x / unit:g} {name}"))


def _count_handles(scenario: Scenario, counts: _Counts, windows: list[tuple[int, int]]) -> list[Any]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = [Patch(facecolor=PASSAGES_COLOR, label="passages (their New) per bin"),
                          Line2D([], [], color=EVENT_COLOR, linewidth=1.1, label="events the profile sends per bin")]
    if any(any(seq) for (name, _), seq in counts.series.items() if name == "misread"):
        handles.append(Line2D([], [], color=MISREAD_COLOR, linewidth=1.1, label="Updates changing the plate text"))
    if windows:
        handles.append(Patch(facecolor=RESTART_COLOR, label="camera restarting (dark)"))
    if any(counts.series.get(("cut", 0), [])):
        handles.append(Line2D([], [], linestyle="none", marker="X", markersize=8, markerfacecolor=MISREAD_COLOR,
                              markeredgecolor="white", label="passages cut by a restart (no Lost)"))
    return handles


def _legend_handles(scenario: Scenario, rows: list[Row], vehicles: list[Vehicle],
                    windows: list[tuple[int, int]]) -> list[Any]:
    """The legend's entries: what the picture can show (a kind of event no profile sends, or a
    mark nothing needs, is left out)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    sends = set().union(*(p.events for p in scenario.profiles))
    handles: list[Any] = [Patch(facecolor=PATH_COLORS[0], label="passage, New to Lost (the vehicle's colour)")]
    if NEW in sends:
        handles.append(Line2D([], [], linestyle="none", marker="o", markerfacecolor="white",
                              markeredgecolor=EVENT_COLOR, label="New"))
    if UPDATE in sends:
        handles.append(Line2D([], [], linestyle="none", marker="|", markersize=10, markeredgewidth=1.6,
                              markeredgecolor=EVENT_COLOR, label="Update"))
    if any(r.texts for r in rows) or any(len(v.reads) > 1 for v in vehicles):
        handles.append(Line2D([], [], linestyle="none", marker="|", markersize=10, markeredgewidth=1.6,
                              markeredgecolor=MISREAD_COLOR, label="Update: plate text changed (misread)"))
    if RELIABLE in sends:
        handles.append(Line2D([], [], linestyle="none", marker="*", markersize=10, markerfacecolor=RELIABLE_COLOR,
                              markeredgecolor=EVENT_COLOR, markeredgewidth=0.9, label="Reliable"))
    if LOST in sends:
        handles.append(Line2D([], [], linestyle="none", marker="s", markerfacecolor=EVENT_COLOR,
                              markeredgecolor=EVENT_COLOR, label="Lost"))
    if any(v.hidden for v in vehicles):
        handles.append(Patch(facecolor="white", edgecolor=PATH_COLORS[0], hatch="////",
                             label="occluded (hidden); dashed on the path"))
    if windows:
        handles.append(Patch(facecolor=RESTART_COLOR, label="camera restarting (dark)"))
    if any(r.ended == "restart" for r in rows):
        handles.append(Line2D([], [], linestyle="none", marker="X", markersize=8, markerfacecolor=MISREAD_COLOR,
                              markeredgecolor="white", label="passage cut by the restart (no Lost)"))
    if any(r.ended == "until" for r in rows):
        handles.append(Line2D([], [], linestyle="none", marker=">", markerfacecolor=UNTIL_COLOR,
                              markeredgecolor=UNTIL_COLOR, label="still under way at the end shown"))
    return handles


def _legend(fig: Figure, handles: list[Any], top_in: float, left_in: float) -> None:
    width, height = fig.get_size_inches()
    fig.legend(handles=handles, loc="upper left", ncol=LEGEND_COLUMNS, handlelength=1.6, columnspacing=1.4,
               borderaxespad=0, borderpad=0, bbox_to_anchor=(left_in / width, 1 - top_in / height))


def render_preview(scenario: Scenario, until_us: int | None = None, at_us: int | None = None,
                   image_format: str = "png", dpi: float = DPI,
                   progress: Callable[[int, int | None], None] | None = None) -> Preview:
    """The preview of a scenario as a PNG or SVG file's bytes, with where things are in it.

    until_us: vehicles and events up to this virtual time; without it, the whole scenario, or
    the first DEFAULT_WINDOW_US of traffic that has no end (or a later one), which the
    picture says. at_us: the frame shows the scene at that moment (the last frame at or
    before it) as the camera sees it, and the timelines a line there; the picture shows from
    AT_BEFORE_US before it (0 at the earliest) to AT_AFTER_US after it, as long a window from 0
    for an early moment, and no later than until_us; all of a scenario that ends in that window.
    Without at_us, over MAX_BARS passages are counted per time bin instead of a bar each, and the
    frame draws the first BINNED_PATHS vehicles (the picture's size no longer grows with them).
    progress(time_us, until_us), if given, is called now and then as the engine runs (for a
    progress bar). Raises PreviewError when at_us falls outside what is drawn or the format is unknown."""
    if image_format not in FORMATS:
        raise PreviewError(f"unknown picture format {image_format!r} (formats: {', '.join(FORMATS)})")
    if at_us is not None and until_us is not None and at_us > until_us:
        raise PreviewError(f"--at {at_us / 1e6:g} s is after the time shown (up to {until_us / 1e6:g} s, "
                           "--until); give a later --until")
    given_until = until_us
    kind = "all" if until_us is None else "until"
    first_generated_us: int | None = None
    default = _default_window(scenario) if kind == "all" else None
    if default is not None:
        (until_us, first_generated_us), kind = default, "first"
    from_us = 0
    if at_us is not None:
        # the moment, what led to it and what follows, not the traffic of the hours before it: from
        # AT_BEFORE_US before it to AT_AFTER_US after it, as long a window from 0 for an early moment
        from_us = max(0, at_us - AT_BEFORE_US)
        to_us = from_us + AT_BEFORE_US + AT_AFTER_US
        if until_us is None:  # the whole scenario unless it goes on after the window (seen below)
            until_us = to_us
        elif (kind == "first" and at_us + AT_AFTER_US > until_us
              or kind == "until" and (from_us > 0 or to_us < until_us)):
            kind, until_us = "around", min(to_us, until_us) if kind == "until" else to_us
    from ..faults.timing import restart_windows

    windows = ([(w.start_us, w.end_us) for w in restart_windows(scenario, given_until if kind == "all" else until_us)]
               if scenario.faults else [])
    bars_up_to = MAX_BARS if at_us is None else None  # --at: its window bounds the bars
    vehicles, generated, later, last_path_us = _vehicles(scenario, until_us, from_us,
                                                         keep=None if bars_up_to is None else MAX_BARS + 1)
    rows, packets, last_passage_us, counts, passage_count = _passages(scenario, until_us, from_us, vehicles, windows,
                                                                      bars_up_to, progress)
    if counts is not None:
        vehicles, generated = vehicles[:BINNED_PATHS], generated[:BINNED_PATHS]
    if kind == "all" and at_us is not None and until_us is not None:
        whole = not later and last_path_us <= until_us and all(r.ended != "until" for r in rows)
        scenario_end_us = int(max(last_path_us, last_passage_us))
        if whole and at_us > scenario_end_us:
            raise PreviewError(f"--at {at_us / 1e6:g} s is after the end of the scenario at "
                               f"{scenario_end_us / 1e6:g} s (its last vehicle gone, its last Lost sent)")
        if whole and from_us == 0:
            until_us = None  # nothing after the window: the whole scenario, as without --at
        else:
            kind = "around"
    windowed = kind in ("first", "around")
    if kind == "around" and until_us is not None:
        # the vehicles the window shows: on their path in it, or with a passage in it
        shown_until = until_us
        keep = sorted({r.vehicle for r in rows} | {i for i, v in enumerate(vehicles)
                                                   if v.trajectory.end >= from_us and v.trajectory.start <= shown_until})
        renumber = {old: new for new, old in enumerate(keep)}
        vehicles, generated = [vehicles[i] for i in keep], [generated[i] for i in keep]
        for row in rows:
            row.vehicle = renumber[row.vehicle]
    ends = [v.trajectory.end for v in vehicles] + [r.end_us for r in rows] + ([last_passage_us] if counts else [])
    end_us = until_us if until_us is not None else int(max(ends, default=0))
    if at_us is not None and not 0 <= at_us <= end_us:  # pragma: no cover (refused above)
        raise PreviewError(f"--at {at_us / 1e6:g} s is outside the time shown")
    span = (from_us / 1e6, from_us / 1e6 + max((end_us - from_us) / 1e6, 1.0) * 1.02)
    shown_windows = [(a, b) for a, b in windows if b > from_us and a / 1e6 < span[1]]

    import matplotlib
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cam = scenario.camera
    profiles = list(scenario.profiles)
    # the layout, in inches from the top: fixed, so that nothing moves with the text drawn
    avail = FIGURE_WIDTH_IN - LEFT_IN - RIGHT_IN
    frame_w_in = min(avail, FRAME_MAX_HEIGHT_IN * cam.width / cam.height)
    frame_h_in = frame_w_in * cam.height / cam.width
    # above the frame: the title, a line or two of subtitle, the frame's x ticks
    frame_left, frame_top = LEFT_IN + (avail - frame_w_in) / 2, 0.85 if until_us is None else 1.0
    row_in = min(ROW_IN, TIMELINE_MAX_IN / max(1, len(rows)))
    slots = max(2, len(rows))  # rows of the timeline (one passage alone is not a fat bar)
    timeline_in = slots * row_in if counts is None else COUNTS_IN
    timeline_tops = []
    top = frame_top + frame_h_in + 0.3
    for _ in profiles:
        # the profile's title, and the labels of the restarts and of --at above the timeline
        top += 0.4 + (0.15 if shown_windows else 0) + (0.14 if at_us is not None else 0)
        timeline_tops.append(top)
        top += timeline_in + 0.3  # the time ticks
    legend_top = top + 0.3  # under the last timeline's axis label
    handles = (_legend_handles(scenario, rows, vehicles, shown_windows) if counts is None
               else _count_handles(scenario, counts, shown_windows))
    legend_rows = math.ceil(len(handles) / LEGEND_COLUMNS)
    height_in = legend_top + legend_rows * 0.22 + 0.15
    size = (round(FIGURE_WIDTH_IN * dpi), round(height_in * dpi))
    # the figure in whole pixels, so that the PNG is as large as the figure and the boxes exact
    fig_w_in, fig_h_in = size[0] / dpi, size[1] / dpi

    def box(left_in: float, top_in: float, w_in: float, h_in: float) -> tuple[float, float, float, float]:
        return (left_in / fig_w_in, 1 - (top_in + h_in) / fig_h_in, w_in / fig_w_in, h_in / fig_h_in)

    def pixels(left_in: float, top_in: float, w_in: float, h_in: float) -> tuple[float, float, float, float]:
        return (left_in * dpi, top_in * dpi, (left_in + w_in) * dpi, (top_in + h_in) * dpi)

    with warnings.catch_warnings(), matplotlib.style.context("default"), matplotlib.rc_context(_RC):
        warnings.simplefilter("ignore")  # a glyph DejaVu lacks is drawn as a box, not a warning on the terminal
        fig = Figure(figsize=(fig_w_in, fig_h_in), dpi=dpi)
        renderer = FigureCanvasAgg(fig).get_renderer()
        ax = fig.add_axes(box(frame_left, frame_top, frame_w_in, frame_h_in))
        ax.set_xlim(0, cam.width)
        ax.set_ylim(cam.height, 0)
        ax.set_facecolor(FRAME_BACKGROUND)
        ax.tick_params(labelsize=7, length=3, top=True, labeltop=True, bottom=False, labelbottom=False)
        for spine in ax.spines.values():
            spine.set_color("#90a4ae")
        labels = _Labels(ax, renderer)
        scene: list[tuple[int, str]] = []
        name = printable(scenario.name)
        name = name if len(name) <= 40 else name[:39] + "…"
        vehicles_said = f"{len(vehicles)} vehicle(s)" if counts is None else f"the first {len(vehicles)} vehicles' paths"
        heading = (f"{name}: {cam.width}×{cam.height} px at {float(cam.fps):g} fps, "
                   f"{len(scenario.zones)} zone(s), {vehicles_said}, {passage_count} passage(s), "
                   f"lost timeout {scenario.recognition.lost_timeout_us / 1e6:g} s")
        if at_us is not None:
            frame_px = pixels(frame_left, frame_top, frame_w_in, frame_h_in)
            scene_size = (max(1, round(frame_px[2] - frame_px[0])), max(1, round(frame_px[3] - frame_px[1])))
            moment, scene = _draw_scene(ax, scenario, vehicles, at_us, scene_size, windows, labels)
            _draw_zones(ax, scenario, labels, faded=True)
            _draw_paths(ax, vehicles, generated, labels, faded=True)
            sub = f"as the camera sees it: {moment}; zones and paths overlaid"
        else:
            _draw_zones(ax, scenario, labels, faded=False)
            labelled, spacings = _draw_paths(ax, vehicles, generated, labels, faded=False,
                                             merge_px=WAIT_MERGE_SHARE * math.hypot(cam.width, cam.height))
            every = "a dot every second"
            if spacings:  # long paths: fewer dots, each path's label says how far apart
                every += f" (longer paths: every {', '.join(_spacing(s) for s in sorted(spacings))}, as labelled)"
            sub = f"the frame in pixels: zones with their arrows; each path with {every}, its times and plate"
            if not labelled:
                sub += f" (over {MAX_LABELLED_VEHICLES} vehicles: thin lines, the plates on the timeline)"
        if counts is not None:
            sub += (f"\nover {MAX_BARS} passages: the paths of the first {len(vehicles)} vehicles only, and the "
                    f"timelines count passages and events per {_spacing(counts.width_s)}")
        labels.place()
        if labels.left_out:
            sub += f"; {labels.left_out} label(s) left out for want of room"
        if kind == "first" and end_us > DEFAULT_WINDOW_US and first_generated_us is not None:
            sub += (f"\ngenerated traffic: up to {_moment(end_us)} shown, a minute after its first vehicle at "
                    f"{first_generated_us / 1e6:.1f} s (--until to see more)")
        elif kind == "first":
            sub += f"\ngenerated traffic: its first {_moment(end_us)} shown (--until to see more)"
        elif kind == "until":
            sub += f"\nup to {_moment(end_us)} (--until)"
        elif kind == "around":
            sub += (f"\nfrom {_moment(from_us)} to {_moment(end_us)}, around --at: the vehicles on their way then "
                    "(those that arrived earlier too) and their passages")
        # from the left margin, whatever the frame's shape: the longest title fits
        fig.text(TITLE_LEFT_IN / fig_w_in, 1 - 0.12 / fig_h_in, heading, fontsize=10, fontweight="bold",
                 va="top", ha="left")
        fig.text(TITLE_LEFT_IN / fig_w_in, 1 - 0.32 / fig_h_in, sub, fontsize=8, color="#455a64", va="top",
                 ha="left", linespacing=1.3)

        timeline_boxes = []
        order = (NEW, UPDATE, RELIABLE, LOST)
        for n, profile in enumerate(profiles):
            tl = fig.add_axes(box(LEFT_IN, timeline_tops[n], avail, timeline_in))
            sent = (sum(len(r.sent.get(profile.id, [])) for r in rows) if counts is None
                    else sum(counts.series.get(("sent", profile.id), [])))
            kinds = ", ".join(sorted(profile.events, key=order.index))
            tl.set_title(f"profile {profile.id} ({profile.protocol}, sends {kinds}): {sent} event(s)",
                         fontsize=9, pad=4 + (12 if shown_windows else 0) + (10 if at_us is not None else 0))
            if counts is None:
                _draw_timeline(tl, rows, profile.id, vehicles, shown_windows, span, at_us, row_in, slots, avail)
            else:
                _draw_counts(tl, counts, profile.id, shown_windows, span)
            if n == len(profiles) - 1:
                tl.set_xlabel("time after t=0" + (" (s)" if counts is None or span[1] - span[0] <= 7200 else ""),
                              fontsize=8, labelpad=2)
            tl.tick_params(axis="x", labelsize=7, pad=2)
            timeline_boxes.append(pixels(LEFT_IN, timeline_tops[n], avail, timeline_in))
        _legend(fig, handles, legend_top, LEFT_IN)
        height_px = size[1]
        frame_labels = tuple((text, (b.x0, height_px - b.y1, b.x1, height_px - b.y0)) for text, b in labels.placed)

        out = io.BytesIO()
        if image_format == "png":
            fig.savefig(out, format="png", dpi=dpi, metadata={"Software": None})
        else:
            fig.savefig(out, format="svg", dpi=dpi, metadata={"Date": None, "Creator": None})
    return Preview(
        data=out.getvalue(), image_format=image_format, size=size, vehicles=tuple(vehicles), rows=tuple(rows),
        profiles=tuple(p.id for p in profiles), events=packets, window_us=(from_us, end_us), until_us=until_us,
        windowed=windowed, window_kind=kind, at_us=at_us, frame_box=pixels(frame_left, frame_top, frame_w_in, frame_h_in),
        frame_size=(cam.width, cam.height), timeline_boxes=tuple(timeline_boxes), timeline_span=span,
        timeline_rows=(-0.5, slots - 0.5), scene=tuple(scene), frame_labels=frame_labels,
        labels_left_out=labels.left_out, passages=passage_count, bin_us=0 if counts is None else counts.width_s * 1_000_000,
        counts=() if counts is None else tuple((k, tuple(v)) for k, v in sorted(counts.series.items())))


def preview(scenario: Scenario, until_us: int | None = None, at_us: int | None = None,
            image_format: str = "png") -> bytes:
    """The preview picture of a scenario, as PNG or SVG bytes (see render_preview)."""
    return render_preview(scenario, until_us, at_us, image_format).data
