"""Scenario vehicles from SUMO's floating car data (``ffsim import sumo FCD --view VIEW``).

SUMO (Eclipse SUMO, https://eclipse.dev/sumo) simulates the traffic; its FCD output
(``sumo --fcd-output``) has every vehicle's position (x, y in metres) at every step. The view
maps four points on the road to four pixels of the camera's frame (a homography, solved with
numpy); a vehicle is seen while its position lies in the quadrilateral of those four road points
(edges included), and each stretch of its trajectory in there becomes one scenario vehicle:
`at` = when it comes in, in SUMO's time (the scenario's time): where its straight, even move
between its last sample outside and its first inside crosses the quadrilateral's edge, as SUMO
interpolates between its steps (so that New comes on time also at SUMO's default step of 1 s), a
timed path in pixels from there through its samples to where it leaves (samples on a straight line
at an even pace are merged while every sample stays within SIMPLIFY_PX of the path at its time: a
wait in a queue is the same point at two times), its type from SUMO's vehicle class, and a plate
generated per country with the engine's own generators, seeded by the vehicle's SUMO id.

The FCD's times are checked as they are read, and only the samples near the view are kept (an FCD
may cover a city for hours); a scenario larger than the loader takes is refused before it is
written, with what to do.

A SUMO vehicle that leaves the view and comes back within the lost timeout (a one-step jump of
its position, a bend out of the view's corner) stays one scenario vehicle, out of sight in between
(`hidden`): the camera would keep its passage; later, it is a new one with the same plate.
With --begin/--end only a time window of the FCD is imported, cut as at the view's edge.

The FCD is read with expat (what xml.etree and sumolib's parser use) through handlers that keep
no tree and no text, and at most MAX_XML_BYTES of it (decompressed): memory and work stay bounded
whatever the file (a gzip bomb, billions of empty elements). SUMO itself (the ``sumo`` extra:
``pip install 'ffsim[sumo]'``) is needed only to make the FCD, not to import it.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import os
import re
import zlib
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import combinations
from typing import IO, Any
from xml.parsers import expat

import numpy as np

from ..engine.plates import BRANDS, COLOR_WEIGHTS, GENERATORS, Rng, Weighted
from ..scenario import schema as S
from ..scenario.loader import (_Builder, _Collector, _Validator, _texts_stay_texts, read_bounded,
                               scenario_from_text, ScenarioError, Problem, MAX_FILE_BYTES)
from ..scenario.model import Camera, Recognition
from ..scenario.yamlsource import MAX_NODES, YamlProblem, load
from ..terminal import printable
from ..units import MAX_DURATION_TEXT, MAX_DURATION_US, parse_duration

SIMPLIFY_PX = 0.25  # how far a dropped FCD sample may lie from the imported path at its time, in pixels
DECIMALS = 2  # of the pixel coordinates written (0.01 px)

# SUMO's vehicle classes (vClass) and what the camera reports as vehicle_info type; classes
# without a plate the camera reads are left out
SUMO_TYPES = {
    "passenger": "CAR", "private": "CAR", "taxi": "CAR", "evehicle": "CAR", "emergency": "CAR",
    "authority": "CAR", "army": "CAR", "vip": "CAR", "custom1": "CAR", "custom2": "CAR",
    "motorcycle": "CAR", "moped": "CAR", "hov": "CAR", "ignoring": "CAR",
    "delivery": "VAN",
    "truck": "TRUCK", "trailer": "TRUCK",
    "bus": "BUS", "coach": "BUS",
}
NO_PLATE = {"pedestrian", "bicycle", "scooter", "wheelchair", "tram", "rail_urban", "rail", "rail_electric",
            "rail_fast", "ship", "subway", "cable_car", "aircraft", "drone", "container"}
SUMO_CLASSES = set(SUMO_TYPES) | NO_PLATE  # every vClass sumo takes (SUMOVehicleClass.cpp; sumo 1.28)
# SUMO's own default vType ids (used when a route names no type) and their classes
SUMO_DEFAULT_TYPES = {"DEFAULT_VEHTYPE": "passenger", "DEFAULT_PEDTYPE": "pedestrian", "DEFAULT_BIKETYPE": "bicycle",
                      "DEFAULT_TAXITYPE": "taxi", "DEFAULT_RAILTYPE": "rail", "DEFAULT_CONTAINERTYPE": "container"}

# makes and models of heavy vehicles (the engine's BRANDS are cars, per country)
HEAVY_BRANDS: dict[str, list[tuple[str, list[str]]]] = {
    "TRUCK": [("Scania", ["R 450", "S 500"]), ("Volvo", ["FH", "FM"]), ("MAN", ["TGX", "TGS"]),
              ("Mercedes-Benz", ["Actros", "Arocs"]), ("DAF", ["XF", "CF"]), ("Iveco", ["S-Way"])],
    "BUS": [("Mercedes-Benz", ["Citaro", "Tourismo"]), ("Solaris", ["Urbino 12", "Urbino 18"]),
            ("Iveco", ["Crossway", "Urbanway"]), ("MAN", ["Lion's City"]), ("Volvo", ["7900"]), ("SOR", ["NS 12"])],
    "VAN": [("Volkswagen", ["Transporter", "Crafter"]), ("Ford", ["Transit"]), ("Mercedes-Benz", ["Sprinter", "Vito"]),
            ("Renault", ["Master"]), ("Fiat", ["Ducato"])],
}
HEAVY_COLORS = Weighted([("WHITE", 0.45), ("RED", 0.12), ("BLUE", 0.12), ("GRAY", 0.1), ("SILVER", 0.08),
                         ("BLACK", 0.05), ("YELLOW", 0.04), ("GREEN", 0.04)])


class ImportProblem(Exception):
    """What keeps an import from being made: one line per problem (FILE:LINE:COL: message where
    the problem is in a file of the user's)."""

    def __init__(self, lines: Sequence[str]):
        self.lines = list(lines)
        super().__init__("\n".join(self.lines))


# -- the view --------------------------------------------------------------------------------
_SUMO_POINT = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2,
               "x-message": "must be a point [x, y] of the SUMO network, in metres"}
VIEW_SCHEMA = S._obj(
    {
        "name": S.TEXT,
        "camera": S._obj({"resolution": S.CAMERA["properties"]["resolution"],
                          "fps": S.CAMERA["properties"]["fps"]}),
        "points": {
            "type": "array",
            "items": S._obj({"sumo": _SUMO_POINT, "pixel": S.POINT}, ("sumo", "pixel")),
            "minItems": 4,
            "maxItems": 4,
            "x-message": "must list four points, each {sumo: [x, y], pixel: [x, y]}, in order around the road",
        },
        "lost_timeout": S.DURATION,
        "zones": {"type": "array", "items": S.ZONE, "minItems": 1, "maxItems": 2,
                  "x-message": "must list 1 or 2 zones (the camera supports at most 2)"},
    },
    ("points",),
)
_VIEW_VALIDATOR = _Validator(VIEW_SCHEMA)


class Homography:
    """The plane-to-plane projection that takes four points to four others: H [x - x0, y - y0, 1] ~
    [u, v, w], with (x0, y0) the first source point. Solved relative to it, because SUMO's
    coordinates may be millions of metres (UTM without netconvert's offset) while a view is tens:
    with them as they are, the system would be ill-conditioned and the projection lose its pixels."""

    def __init__(self, source: Sequence[tuple[float, float]], target: Sequence[tuple[float, float]]):
        self.origin = (float(source[0][0]), float(source[0][1]))
        ox, oy = self.origin
        rows, values = [], []
        for (x, y), (u, v) in zip(source, target):
            x, y = x - ox, y - oy
            rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
            rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
            values += [u, v]
        h = np.linalg.solve(np.array(rows, dtype=float), np.array(values, dtype=float))
        self.matrix = np.append(h, 1.0).reshape(3, 3)

    def w(self, x: float, y: float) -> float:
        """The projective weight: of one sign on the camera's side of the horizon."""
        return float(self.matrix[2] @ (x - self.origin[0], y - self.origin[1], 1.0))

    def __call__(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = np.asarray(xs, dtype=float) - self.origin[0], np.asarray(ys, dtype=float) - self.origin[1]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # a point beyond a float: inf, NaN
            u, v, w = self.matrix @ np.vstack([xs, ys, np.ones_like(xs)])
            return u / w, v / w


def _cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def quadrilateral_problem(points: Sequence[tuple[float, float]], what: str) -> str | None:
    """Why four points cannot be a view's corners (three on a line, or not going around a convex
    quadrilateral in order), or None."""
    scale = max(max(abs(p[0] - q[0]), abs(p[1] - q[1])) for p, q in combinations(points, 2)) or 1.0
    for i, j, k in combinations(range(4), 3):
        if abs(_cross(points[i], points[j], points[k])) <= 1e-9 * scale * scale:
            return (f"{what} points {i + 1}, {j + 1} and {k + 1} lie on one line: a view needs four points "
                    f"of which no three are on a line")
    turns = [_cross(points[i], points[(i + 1) % 4], points[(i + 2) % 4]) for i in range(4)]
    if not (all(t > 0 for t in turns) or all(t < 0 for t in turns)):
        return (f"{what} points must go around the quadrilateral in order, as its corners (they cross, or "
                f"one lies inside the other three)")
    return None


@dataclass(frozen=True)
class View:
    """What the camera sees of the SUMO network: the road quadrilateral and its pixels."""

    file: str
    name: str | None
    width: int
    height: int
    fps: Any  # as written (a number): the scenario's camera.fps
    road: tuple[tuple[float, float], ...]  # SUMO x/y, metres
    pixels: tuple[tuple[float, float], ...]
    lost_timeout: str | None
    zones: list[dict] = field(default_factory=list)  # scenario zones, as written; [] for the default
    homography: Homography = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "homography", Homography(self.road, self.pixels))

    @property
    def _corners(self) -> list[tuple[float, float]]:
        """The road points relative to the first: the quadrilateral's own coordinates."""
        ox, oy = self.road[0]
        return [(x - ox, y - oy) for x, y in self.road]

    @property
    def _size(self) -> float:
        return max(abs(c) for p in self._corners for c in p) or 1.0

    def _turns(self, xs: np.ndarray, ys: np.ndarray) -> list[np.ndarray]:
        """Per edge of the quadrilateral (corner k to k + 1): the cross product of the edge with the
        way to each point, signed so that it is >= 0 on the inside; in the quadrilateral's own
        coordinates (its size, not the network's, sets the precision)."""
        corners = self._corners
        rx, ry = np.asarray(xs, dtype=float) - self.road[0][0], np.asarray(ys, dtype=float) - self.road[0][1]
        orientation = 1.0 if _cross(corners[0], corners[1], corners[2]) > 0 else -1.0
        with np.errstate(over="ignore", invalid="ignore"):  # a point beyond a float: inf or NaN, not seen
            return [orientation * ((bx - ax) * (ry - ay) - (by - ay) * (rx - ax))
                    for (ax, ay), (bx, by) in zip(corners, corners[1:] + corners[:1])]

    def _tolerance(self) -> float:
        """How far below 0 an edge's cross product may be for a point on that edge: a nanometre's
        worth for a quadrilateral of tens of metres (1e-9 of its size, times its size)."""
        return 1e-9 * self._size * self._size

    def sees(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Which SUMO points lie in the road quadrilateral (edges included)."""
        eps = self._tolerance()
        inside = np.ones(len(xs), dtype=bool)
        for turn in self._turns(xs, ys):
            inside &= turn >= -eps
        return inside

    def bounds(self) -> tuple[float, float, float, float]:
        """x and y from and to of the road quadrilateral and 1 % of its size around it: a sample
        outside them is far from the view (read_fcd keeps it only next to one near it)."""
        margin = 0.01 * self._size
        xs, ys = [p[0] for p in self.road], [p[1] for p in self.road]
        return min(xs) - margin, max(xs) + margin, min(ys) - margin, max(ys) + margin

    def crossing(self, outside: tuple[float, float], inside: tuple[float, float]) -> float:
        """Where the straight move from a point outside the quadrilateral to one inside it crosses
        its edge: the fraction of the way, in (0, 1] (the quadrilateral is convex: once); NaN when a
        point is too far for a float's arithmetic."""
        turns = self._turns(np.array([outside[0], inside[0]]), np.array([outside[1], inside[1]]))
        eps = self._tolerance()
        fraction = 0.0
        for turn in turns:
            start, end = float(turn[0]), float(turn[1])
            if not (math.isfinite(start) and math.isfinite(end)):
                return math.nan  # a point beyond a float's range
            if start < -eps:  # this edge's outside: in from where its cross product reaches 0
                fraction = max(fraction, -start / (end - start) if end > start else 1.0)
        return min(max(fraction, 0.0), 1.0)

    def zone_list(self) -> list[dict]:
        """The view's zones, or one zone covering the view with its arrow along the road: from the
        middle of points 1-2 to the middle of points 3-4."""
        if self.zones:
            return self.zones
        (x1, y1), (x2, y2), (x3, y3), (x4, y4) = self.pixels
        dx, dy = (x3 + x4 - x1 - x2) / 2, (y3 + y4 - y1 - y2) / 2
        direction = round(math.degrees(math.atan2(dx, -dy)) % 360.0, 1) % 360.0
        polygon = [[_number(x), _number(y)] for x, y in self.pixels]
        return [{"id": 1, "polygon": polygon, "direction": _number(direction)}]


def _yaml_number(value: float) -> str:
    """A number as YAML writes it (.nan, -.inf, 135; an integer beyond a float's range as written)."""
    if isinstance(value, int) and not _finite(value):
        return str(value)
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    return str(_number(value))


def _finite(value: float) -> bool:
    """A finite number (an integer beyond a float's range is not: float() of it overflows)."""
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def load_view(path: str) -> View:
    """The view file, checked: FILE:LINE:COL problems raise ImportProblem."""
    file = os.fsdecode(path)
    try:
        raw = read_bounded(file)
    except OSError as exc:
        raise ImportProblem([f"{printable(file)}: cannot read the view: {exc.strerror or exc}"]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ImportProblem([f"{printable(file)}: the view is larger than {MAX_FILE_BYTES // 1_000_000} MB"])
    try:
        text = raw.decode("utf-8-sig")
        located = load(text)
    except UnicodeDecodeError:
        raise ImportProblem([f"{printable(file)}: the view is not UTF-8 text"]) from None
    except YamlProblem as exc:
        raise ImportProblem([str(Problem(file, exc.line, exc.column, exc.message))]) from None
    data = located.data
    if not isinstance(data, dict):
        raise ImportProblem([str(Problem(file, 1, 1, "a view must be a mapping with points: (four {sumo: [x, y], "
                                                     "pixel: [x, y]})"))])
    collector = _Collector(file, located, "the view")
    _texts_stay_texts(VIEW_SCHEMA, data, (), located)
    for error in _VIEW_VALIDATOR.iter_errors(data):
        collector.schema_error(error)
    if collector.problems:
        raise ImportProblem([str(p) for p in collector.error().problems])
    width, height = data.get("camera", {}).get("resolution", (1920, 1080))
    for i, point in enumerate(data["points"]):  # YAML has .nan and .inf, which are numbers to the schema
        for key in ("sumo", "pixel"):
            if not all(_finite(c) for c in point[key]):
                collector.add(("points", i, key), f"points[{i}].{key}: each coordinate must be a finite number, "
                                                  f"got [{', '.join(_yaml_number(c) for c in point[key])}]")
    if collector.problems:
        raise ImportProblem([str(p) for p in collector.error().problems])
    road = tuple((float(p["sumo"][0]), float(p["sumo"][1])) for p in data["points"])
    pixels = tuple((float(p["pixel"][0]), float(p["pixel"][1])) for p in data["points"])
    for i, (x, y) in enumerate(pixels):
        if not (0 <= x <= width and 0 <= y <= height):
            collector.add(("points", i, "pixel"), f"points[{i}].pixel [{_number(x)}, {_number(y)}] is outside the "
                                                  f"{width}x{height} frame")
    for points, what in ((road, "sumo"), (pixels, "pixel")):
        problem = quadrilateral_problem(points, f"the {what}")
        if problem:
            collector.add(("points",), f"points: {problem}")
    if not collector.problems:
        homography = Homography(road, pixels)
        weights = [homography.w(x, y) for x, y in road]
        if not (all(w > 0 for w in weights) or all(w < 0 for w in weights)):
            collector.add(("points",), "points: the view puts part of the road behind the camera (the pixels "
                                       "cannot be a picture of that road quadrilateral)")
    lost_timeout = None
    if "lost_timeout" in data:
        try:
            parse_duration(data["lost_timeout"])
            lost_timeout = str(data["lost_timeout"])
        except ValueError as exc:
            collector.add(("lost_timeout",), f"lost_timeout: {exc}")
    zones = data.get("zones", [])
    if zones:
        _Builder(collector).zones(zones, Camera(width=width, height=height))
    if collector.problems:
        raise ImportProblem([str(p) for p in collector.error().problems])
    return View(file=file, name=data.get("name"), width=width, height=height, fps=data.get("camera", {}).get("fps", 10),
                road=road, pixels=pixels, lost_timeout=lost_timeout, zones=zones)


# -- the floating car data --------------------------------------------------------------------
@dataclass(slots=True)  # one per vehicle of the FCD, most of them never near the view
class Track:
    """One SUMO vehicle's samples near the view, in time order: those in the bounds of the view
    and, around each run of them, the sample before and the one after (where the vehicle comes
    from and goes to: the move between them and the first or last sample near crosses the edge);
    the rest are not kept, so that an FCD of a whole city fits in memory. Of a wait (samples at one
    position) only the first and the last are kept: a vehicle standing for hours is two samples."""

    id: str
    type: str
    times_us: array[int] = field(default_factory=lambda: array("q"))
    xs: array[float] = field(default_factory=lambda: array("d"))
    ys: array[float] = field(default_factory=lambda: array("d"))
    last: tuple[int, float, float] | None = None  # the last sample read, kept or not
    last_step: int = -1  # the index of its timestep in the file
    last_near: bool = False
    last_kept: bool = False
    in_window: bool = False  # has a sample in the time window imported (--begin/--end)

    def keep(self, t: int, x: float, y: float) -> None:
        if len(self.xs) >= 2 and self.xs[-1] == x == self.xs[-2] and self.ys[-1] == y == self.ys[-2]:
            self.times_us[-1] = t  # a wait: its first sample and its last are all there is to it
            return
        self.times_us.append(t)
        self.xs.append(x)
        self.ys.append(y)

    def add(self, t: int, x: float, y: float, step: int, near: bool) -> None:
        kept = near or self.last_near
        if near and self.last is not None and not self.last_kept:
            self.keep(*self.last)  # the sample before it comes near
        if kept:
            self.keep(t, x, y)
        self.last, self.last_step, self.last_near, self.last_kept = (t, x, y), step, near, kept


@dataclass
class Fcd:
    tracks: dict[str, Track]  # the vehicles that come near the view, in order of first appearance
    vehicles: int  # in the FCD (in the window): each counted when it appears, not in the timestep before
    first_us: int | None
    last_us: int | None
    step_us: int | None  # the shortest time between two timesteps
    generator: str  # "Eclipse SUMO sumo 1.28.0" from the file's header, or ""
    xml_bytes: int = 0  # the XML read (decompressed)


MAX_NEAR_VEHICLES = 100_000  # near the view: 8 times the most vehicles a scenario holds (MAX_NODES / 20)
MAX_STEP_VEHICLES = 2_000_000  # in one timestep: more than sumo simulates at once
_GENERATED_BY = re.compile(r"by (Eclipse SUMO [\w.-]+(?: Version)? v?[\w.+-]+)")
MAX_XML_BYTES = 2_000_000_000  # the most XML (decompressed) read of one file: see _read_xml
READ_CHUNK = 1 << 20
FCD_WHAT = "SUMO floating car data"
GZIP_MAGIC = b"\x1f\x8b"

Progress = Callable[[int, int], None]  # (bytes of the file read, its size): told after each chunk


def _shown(text: str | None, limit: int = 40) -> str:
    """An attribute of the user's file as said in a message: quoted, terminal-safe, not too long."""
    if text is None:
        return "(none)"
    text = text if len(text) <= limit else text[:limit - 3] + "..."
    return '"' + printable(text) + '"'


class _StopReading(Exception):
    """Raised by a handler: what is wanted of the file has been read (the --end of the window)."""


class _XmlProblem(Exception):
    """Raised by a handler of the XML's structure: "LINE:COL: message" (the file is added)."""


class _Counted(io.RawIOBase):
    """A file as it is read, counted: the bytes of the file itself (what a progress bar shows) are
    counted by the file position, those handed on (decompressed) here; more than `limit` raises
    _TooMuch before they are handed on."""

    def __init__(self, stream: IO[bytes] | gzip.GzipFile, limit: int):
        self.stream, self.limit, self.count = stream, limit, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(READ_CHUNK if size is None or size < 0 else size)
        self.count += len(data)
        if self.count > self.limit:
            raise _TooMuch()
        return data


class _TooMuch(Exception):
    pass


def too_much_xml(shown: str, what: str, limit: int = MAX_XML_BYTES) -> str:
    """The one line said when a file holds more XML than the limit."""
    return (f"{shown}: more than {limit // 1_000_000_000} GB of XML (decompressed), the most ffsim reads of "
            f"a file: " + ("import part of it with --begin/--end (reading stops at --end), or have sumo write only "
                           "the camera's roads (--fcd-output.filter-edges.input-file)" if what == FCD_WHAT else
                           "give a file with just the vTypes"))


def _xml_parser() -> Any:
    """expat, the parser under xml.etree and sumolib's parse, set for SUMO's files: an entity
    declaration is refused (SUMO writes none; no expansion, so no "billion laughs"), and no
    external DTD or entity is ever read."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse_entity(name: str, *_: object) -> None:
        raise _XmlProblem(f"{parser.CurrentLineNumber}:{parser.CurrentColumnNumber + 1}: an entity declaration "
                          f"(<!ENTITY {name}>): SUMO writes none, and ffsim expands none")

    parser.EntityDeclHandler = refuse_entity
    return parser


def _read_xml(file: str, what: str, parser: Any, progress: Progress | None = None,
              limit: int = MAX_XML_BYTES) -> int:
    """Reads an XML file (plain or gzip-compressed, as sumo writes either) with an _xml_parser
    whose handlers keep no text and no tree: memory stays bounded whatever the file holds. At most
    `limit` bytes of XML are read (MAX_XML_BYTES, 2 GB: a camera's FCD, sumo
    --fcd-output.filter-edges, is megabytes to hundreds; a city's unfiltered is more and needs
    --begin/--end, which stop the reading, or the filter; expat and the handlers read 25-30 MB/s,
    2 GB in about a minute and a half). Returns the bytes of XML read; mistakes raise
    ImportProblem (FILE:LINE:COL where there is a position)."""
    shown = printable(file)
    handle = parser.StartElementHandler

    def located(name: str, attrs: dict[str, str]) -> None:  # a mistake where its element starts
        try:
            handle(name, attrs)
        except ImportProblem as exc:
            where = f"{shown}:{parser.CurrentLineNumber}:{parser.CurrentColumnNumber + 1}"
            raise ImportProblem([f"{where}: {line}" for line in exc.lines]) from None

    parser.StartElementHandler = located
    try:
        with open(file, "rb") as raw:
            size = os.fstat(raw.fileno()).st_size
            compressed = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
            stream: IO[bytes] | gzip.GzipFile = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
            counted = _Counted(stream, limit)
            try:
                while chunk := counted.read(READ_CHUNK):
                    parser.Parse(chunk, False)
                    if progress is not None:
                        progress(raw.tell(), size)
                parser.Parse(b"", True)
            except _StopReading:
                pass
            return counted.count
    except _TooMuch:
        raise ImportProblem([too_much_xml(shown, what, limit)]) from None
    except _XmlProblem as exc:  # LINE:COL: message
        raise ImportProblem([f"{shown}:{exc}"]) from None
    except expat.ExpatError as exc:
        raise ImportProblem([f"{shown}:{exc.lineno}:{exc.offset + 1}: not {what} (XML): "
                             f"{expat.ErrorString(exc.code)}"]) from None
    except (OSError, EOFError, zlib.error) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise ImportProblem([f"{shown}: cannot read it: {reason}"]) from None


def _time_us(text: str | None) -> int:
    """A timestep's time in microseconds, checked: a number of seconds from 0 to the longest a
    scenario's times may be."""
    if text is not None:  # sumo's own "12.30": read without Decimal (it is most of the reading's work)
        whole, dot, fraction = text.partition(".")
        if whole.isdigit() and whole.isascii() and len(whole) < 9 and (not dot or (
                fraction.isdigit() and fraction.isascii() and len(fraction) <= 6)):
            return int(whole) * 1_000_000 + (int(fraction.ljust(6, "0")) if fraction else 0)
    try:
        seconds = Decimal(text.strip()) if text is not None else None
    except InvalidOperation:
        seconds = None
    if seconds is None or not seconds.is_finite() or seconds < 0 or seconds * 1_000_000 > MAX_DURATION_US:
        raise ImportProblem([f"<timestep time={_shown(text)}>: a time must be a number of seconds from 0 to "
                             f"{MAX_DURATION_TEXT}"])
    return int((seconds * 1_000_000).to_integral_value())


def seconds_us(text: str) -> int:
    """--begin/--end (SUMO's seconds) in microseconds; ValueError with a one-line reason."""
    try:
        return _time_us(text)
    except ImportProblem:
        raise ValueError(f"must be a number of seconds (SUMO's time) from 0 to {MAX_DURATION_TEXT}") from None


def _coordinate(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def read_fcd(path: str, view: View | None = None, *, begin_us: int | None = None, end_us: int | None = None,
             progress: Progress | None = None, max_xml_bytes: int = MAX_XML_BYTES) -> Fcd:
    """The vehicles of an FCD file (plain or .gz); with a view, only each vehicle's samples near it
    (Track). Times are checked as they are read: each a number of seconds from 0 to 10 years, the
    timesteps' increasing (by a microsecond at least: ffsim's times are microseconds; sumo writes
    them so), a vehicle at most once in a timestep; the first mistake raises ImportProblem with
    FILE:LINE:COL, the timestep's time and the vehicle. With end_us, reading stops after the first
    timestep past it (which is kept: a vehicle in view across the end is cut there, between its
    samples); with begin_us, a vehicle's samples before it are not kept but the last one.

    Memory is bounded by what is near the view: of a vehicle far from it only its sample of the
    timestep before is kept (the one before it comes near, when it does: a sample from further
    back is more than 1.5 steps before and never used), and vehicles are counted as they appear
    (a vehicle that leaves the FCD, sumo --fcd-output.filter-edges, and comes back counts again);
    more than MAX_NEAR_VEHICLES near the view or MAX_STEP_VEHICLES in one timestep is refused."""
    file = os.fsdecode(path)
    shown = printable(file)
    tracks: dict[str, Track] = {}
    far_before: dict[str, tuple[int, float, float]] = {}  # far vehicles' samples of the timestep before
    far_now: dict[str, tuple[int, float, float]] = {}
    begin = begin_us if begin_us is not None else -1
    end = end_us if end_us is not None else MAX_DURATION_US
    west, east, south, north = view.bounds() if view is not None else (-math.inf, math.inf, -math.inf, math.inf)
    first: int | None = None
    last: int | None = None
    step: int | None = None
    time_us, time_text, index = 0, "", -1
    in_timestep = stop = in_window = window_before = False
    appeared = 0
    try:
        with open(file, "rb") as raw:
            head = raw.read(4096)
        if head[:2] == GZIP_MAGIC:
            with gzip.open(file, "rb") as unpacked:
                head = unpacked.read(4096)
    except (OSError, EOFError, zlib.error):
        head = b""  # _read_xml says why
    match = _GENERATED_BY.search(head.decode("utf-8", "replace"))

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal first, last, step, time_us, time_text, index, in_timestep, stop, in_window, window_before
        nonlocal far_before, far_now, appeared
        if name == "timestep":
            text = attrs.get("time")
            t = _time_us(text)
            if last is not None:
                if t <= last:
                    raise ImportProblem([f"<timestep time={_shown(text)}>: " + (
                        f"the timesteps' times must increase (the one before is at {duration_text(last)})"
                        if t < last else f"less than a microsecond after the timestep before, at "
                                         f"{duration_text(last)} (ffsim's times are microseconds)")])
                step = t - last if step is None else min(step, t - last)
            if first is None:
                first = t
            window_before, in_window = in_window, begin <= t <= end
            last, time_us, time_text, in_timestep, stop = t, t, text or "", True, t > end
            index += 1
            far_before, far_now = far_now, {}
        elif name == "vehicle" and in_timestep:
            vehicle_id = attrs.get("id")
            if vehicle_id is None:
                raise ImportProblem([f"<timestep time={_shown(time_text)}>: a <vehicle> without an id"])
            x, y = _coordinate(attrs.get("x")), _coordinate(attrs.get("y"))
            if x is None or y is None:
                raise ImportProblem([f"<timestep time={_shown(time_text)}>: vehicle {_shown(vehicle_id)}: "
                                     f"x={_shown(attrs.get('x'))} y={_shown(attrs.get('y'))} is not a position "
                                     f"(metres)"])
            near = time_us >= begin and west <= x <= east and south <= y <= north
            track = tracks.get(vehicle_id)
            if track is not None:
                there_before = track.last_step == index - 1
                if track.last_step == index:
                    raise ImportProblem([f"<timestep time={_shown(time_text)}>: vehicle {_shown(vehicle_id)} is in "
                                         f"it twice"])
            else:
                if vehicle_id in far_now:
                    raise ImportProblem([f"<timestep time={_shown(time_text)}>: vehicle {_shown(vehicle_id)} is in "
                                         f"it twice"])
                before = far_before.get(vehicle_id)
                there_before = before is not None
                if near:
                    if len(tracks) >= MAX_NEAR_VEHICLES:
                        raise ImportProblem([f"<timestep time={_shown(time_text)}>: more than {MAX_NEAR_VEHICLES} "
                                             f"vehicles near the view, far more than a scenario holds: import part "
                                             f"of the FCD with --begin/--end"])
                    track = tracks[vehicle_id] = Track(vehicle_id, attrs.get("type") or "DEFAULT_VEHTYPE")
                    if before is not None:
                        track.last, track.last_step = before, index - 1
                else:
                    far_now[vehicle_id] = (time_us, x, y)
                    if len(far_now) > MAX_STEP_VEHICLES:
                        raise ImportProblem([f"<timestep time={_shown(time_text)}>: more than {MAX_STEP_VEHICLES} "
                                             f"vehicles in one timestep"])
            if in_window and not (there_before and window_before):
                appeared += 1
            if track is not None:
                track.in_window |= in_window
                track.add(time_us, x, y, index, near)

    def end_element(name: str) -> None:
        nonlocal in_timestep
        if name == "timestep":
            in_timestep = False
            if stop:
                raise _StopReading()

    parser = _xml_parser()
    parser.StartElementHandler, parser.EndElementHandler = start, end_element
    xml_bytes = _read_xml(file, FCD_WHAT, parser, progress, max_xml_bytes)
    if first is None:
        raise ImportProblem([f"{shown}: no <timestep> in it: not SUMO floating car data (sumo --fcd-output FILE)"])
    if begin_us is not None or end_us is not None:
        tracks = {key: track for key, track in tracks.items() if track.in_window}
    return Fcd(tracks, appeared, first, last, step, match.group(1) if match else "", xml_bytes)


def read_vtypes(paths: Sequence[str]) -> dict[str, str]:
    """vType id -> vClass from SUMO route or additional files. As sumo does, a vType id defined
    twice and a vClass sumo does not know are mistakes (ImportProblem, FILE:LINE:COL)."""
    classes: dict[str, str] = {}
    first_at: dict[str, str] = {}
    for path in paths:
        file = os.fsdecode(path)
        parser = _xml_parser()

        def start(name: str, attrs: dict[str, str], parser: Any = parser, file: str = file) -> None:
            if name != "vType":
                return
            vtype_id = attrs.get("id")
            if vtype_id is None:
                raise ImportProblem(["a <vType> without an id"])
            vclass = attrs.get("vClass", "passenger")
            if vtype_id in classes:
                raise ImportProblem([f"vType {_shown(vtype_id)} is defined twice (first at {first_at[vtype_id]}); "
                                     f"sumo refuses that too"])
            if vclass not in SUMO_CLASSES:
                raise ImportProblem([f"vType {_shown(vtype_id)}: vClass={_shown(vclass)} is not a SUMO vehicle "
                                     f"class (sumo refuses it too); they are: {', '.join(sorted(SUMO_CLASSES))}"])
            classes[vtype_id] = vclass
            first_at[vtype_id] = f"{printable(file)}:{parser.CurrentLineNumber}:{parser.CurrentColumnNumber + 1}"

        parser.StartElementHandler = start
        _read_xml(file, "a SUMO file of vTypes", parser)
    return classes


# -- the scenario ---------------------------------------------------------------------------
def simplify(times: np.ndarray, us: np.ndarray, vs: np.ndarray, tolerance: float = SIMPLIFY_PX) -> list[int]:
    """Indices of the samples to keep (the first and the last among them) such that every sample
    dropped lies within tolerance pixels of the straight, even move between the two kept around it,
    at its own time. The first and the last sample of a stop (samples at one position) are kept:
    the vehicle stands exactly there for exactly that long.

    In O(n log n): a stop is one step from its first sample to its last; a move is extended by
    doubling its length while it fits, then by halving the rest (one check costs its length)."""
    n = len(times)
    same = (us[1:] == us[:-1]) & (vs[1:] == vs[:-1])  # same[i]: sample i + 1 is where sample i is
    before, after = np.append(False, same), np.append(same, False)
    stop_ends = np.flatnonzero(before != after)  # the first and the last sample of each stop
    keep = [0]
    start = 0
    while start < n - 1:
        following = int(np.searchsorted(stop_ends, start, side="right"))
        limit = int(stop_ends[following]) if following < len(stop_ends) else n - 1  # a move ends there at last
        end = limit if after[start] else _longest_fit(times, us, vs, start, limit, tolerance)
        keep.append(end)
        start = end
    return keep


def _longest_fit(times: np.ndarray, us: np.ndarray, vs: np.ndarray, start: int, limit: int,
                 tolerance: float) -> int:
    """An end in (start, limit] of a move from start that fits, such that one sample further does
    not (or limit)."""
    fits, span = start + 1, 1  # two samples always fit: nothing lies between them
    while fits < limit:
        probe = min(start + 2 * span, limit)
        if not _fits(times, us, vs, start, probe, tolerance):
            break
        fits, span = probe, 2 * span
    else:
        return fits
    misses = probe  # fits < misses: the end is in between
    while misses - fits > 1:
        middle = (fits + misses) // 2
        if _fits(times, us, vs, start, middle, tolerance):
            fits = middle
        else:
            misses = middle
    return fits


def _fits(times: np.ndarray, us: np.ndarray, vs: np.ndarray, a: int, b: int, tolerance: float) -> bool:
    f = (times[a + 1:b] - times[a]) / (times[b] - times[a])
    du = us[a] + f * (us[b] - us[a]) - us[a + 1:b]
    dv = vs[a] + f * (vs[b] - vs[a]) - vs[a + 1:b]
    return bool(np.all(du * du + dv * dv <= tolerance * tolerance))


def _number(value: float) -> float | int:
    """A coordinate as written: 0.01 px, and no .0 on whole numbers."""
    rounded = round(float(value), DECIMALS) + 0.0
    return int(rounded) if rounded.is_integer() else rounded


def duration_text(us: int) -> str:
    """12.3s, 0s: exact to the microsecond."""
    whole, frac = divmod(us, 1_000_000)
    return f"{whole}.{frac:06d}".rstrip("0").rstrip(".") + "s"


def _text(value: str) -> str:
    return json.dumps(value)  # a JSON string is a YAML double-quoted scalar


@dataclass
class Passage:
    """A SUMO vehicle's stretch inside the view, or stretches separated by at most the lost
    timeout (out of sight in between: hidden)."""

    track: Track
    start_us: int
    times_us: list[int]  # after start_us
    points: list[tuple[float | int, float | int]]
    hidden: list[tuple[int, int]] = field(default_factory=list)  # [start, end) after start_us

    @property
    def end_us(self) -> int:
        return self.start_us + self.times_us[-1]

    def joined(self, later: Passage) -> Passage:
        """This passage and a later one of the same vehicle as one: its path goes straight from
        where it left to where it comes back, out of sight from just after it left (its last
        point in view is still seen, as it was) until it is back."""
        shift = later.start_us - self.start_us
        gap_start, gap_end = self.times_us[-1] + 1, shift
        hidden = self.hidden + ([(gap_start, gap_end)] if gap_start < gap_end else [])
        return Passage(self.track, self.start_us, self.times_us + [shift + t for t in later.times_us],
                       self.points + later.points, hidden + [(shift + a, shift + b) for a, b in later.hidden])


@dataclass
class Imported:
    text: str  # the scenario
    vehicles: int  # scenario vehicles (a SUMO vehicle back after more than the lost timeout makes two)
    sumo_vehicles: int  # in the FCD
    never_in_view: int
    without_plate: dict[str, int]  # vClass -> SUMO vehicles left out for it
    first_us: int | None  # when the first vehicle comes into the view
    last_us: int | None  # when the last leaves it
    nodes: int = 0  # the scenario's values (keys included), as the loader counts them

    def summary(self) -> str:
        left = [f"{self.never_in_view} never in the view"]
        left += [f"{n} {vclass} (no plate)" for vclass, n in sorted(self.without_plate.items())]
        span = ("" if self.first_us is None else
                f", in view from {duration_text(self.first_us)} to {duration_text(self.last_us or 0)} (SUMO time)")
        return (f"{self.vehicles} vehicle{'s' if self.vehicles != 1 else ''} imported from {self.sumo_vehicles} "
                f"in the FCD (left out: {', '.join(left)}){span}")


def parse_countries(text: str) -> list[tuple[str, float]]:
    """'CZE' or 'CZE=0.7,DEU=0.3' -> [(country, weight)]; ValueError with a one-line reason."""
    out: list[tuple[str, float]] = []
    for part in text.split(","):
        code, _, weight = part.strip().partition("=")
        code = code.strip().upper()
        if code not in GENERATORS:
            raise ValueError(f"no plate generator for {code!r} (available: {', '.join(sorted(GENERATORS))})")
        try:
            share = float(weight) if weight else 1.0
        except ValueError:
            raise ValueError(f"{part.strip()!r}: the weight must be a number, as in CZE=0.7,DEU=0.3") from None
        if not share >= 0 or math.isinf(share):
            raise ValueError(f"{part.strip()!r}: the weight must be a number >= 0")
        out.append((code, share))
    if sum(w for _, w in out) <= 0:
        raise ValueError("at least one country needs a weight above 0")
    return out


def import_fcd(fcd_path: str, view: View | str, *, countries: Sequence[tuple[str, float]] = (("CZE", 1.0),),
               seed: int = 0, vtype_files: Sequence[str] = (), begin_us: int | None = None,
               end_us: int | None = None, progress: Progress | None = None) -> Imported:
    """The scenario (YAML text) of the vehicles an FCD file has in the view (in the time window
    begin_us..end_us of SUMO's time, when given); ImportProblem if none can be made."""
    if not isinstance(view, View):
        view = load_view(view)
    if begin_us is not None and end_us is not None and end_us <= begin_us:
        raise ImportProblem([f"--end {duration_text(end_us)} must be later than --begin {duration_text(begin_us)}"])
    classes = read_vtypes(vtype_files)
    fcd = read_fcd(fcd_path, view, begin_us=begin_us, end_us=end_us, progress=progress)
    passages: list[Passage] = []
    never = 0
    without_plate: dict[str, int] = {}
    gap_us = 1.5 * fcd.step_us if fcd.step_us else math.inf  # a longer gap: the vehicle was out of the FCD
    lost_timeout_us = (parse_duration(view.lost_timeout) if view.lost_timeout is not None
                       else Recognition().lost_timeout_us)
    for track in fcd.tracks.values():
        if not track.times_us:  # near the view only before the window
            never += 1
            continue
        vclass = classes.get(track.type, SUMO_DEFAULT_TYPES.get(track.type, track.type))
        if vclass in NO_PLATE:
            without_plate[vclass] = without_plate.get(vclass, 0) + 1
            continue
        times = np.frombuffer(track.times_us, dtype=np.int64) if track.times_us else np.zeros(0, dtype=np.int64)
        xs = np.frombuffer(track.xs, dtype=float) if track.xs else np.zeros(0)
        ys = np.frombuffer(track.ys, dtype=float) if track.ys else np.zeros(0)
        if begin_us is not None or end_us is not None:
            times, xs, ys = _window(times, xs, ys, begin_us, end_us, gap_us)
        seen = view.sees(xs, ys).tolist()
        if not any(seen):
            never += 1
            continue
        us, vs = view.homography(xs, ys)
        n, first = len(seen), 0
        previous: Passage | None = None
        while first < n:  # each run of samples in view, one after the other in SUMO's steps, is a passage
            if not seen[first]:
                first += 1
                continue
            end = first
            while end + 1 < n and seen[end + 1] and _continued(times, xs, ys, end, gap_us):
                end += 1
            passage = _passage(track, view, times, xs, ys, us, vs, first, end, gap_us)
            if previous is not None and passage.start_us - previous.end_us <= lost_timeout_us:
                previous = passages[-1] = previous.joined(passage)  # out of sight, not gone: one passage
            else:
                passages.append(passage)
                previous = passage
            first = end + 1
    if not passages:
        window = "" if begin_us is None and end_us is None else " in the time window (--begin/--end)"
        raise ImportProblem([f"{printable(fcd_path)}: no vehicle of the FCD comes into the view "
                             f"({printable(view.file)}){window}: check its sumo points against the network "
                             f"(sumo-gui shows x/y under the mouse)"])
    passages.sort(key=lambda p: p.start_us)  # stable: same time, order of first appearance in the FCD
    identities = _identities(passages, countries, seed, classes)
    nodes = scenario_nodes(view, passages, identities)
    if nodes > MAX_NODES:
        raise _too_large(fcd_path, passages)
    text = _scenario_text(fcd_path, view, fcd, passages, identities, seed, classes)
    if len(text.encode()) > MAX_FILE_BYTES:
        raise _too_large(fcd_path, passages)
    try:
        scenario_from_text(text, "<import>")  # what is written loads
    except ScenarioError as exc:  # ffsim's own mistake
        raise ImportProblem(["ffsim made a scenario it cannot load (please report this):"]
                            + [str(p) for p in exc.problems]) from None
    near = len(fcd.tracks)
    never += max(fcd.vehicles - near, 0)  # those never near the view
    return Imported(text=text, vehicles=len(passages), sumo_vehicles=max(fcd.vehicles, near), never_in_view=never,
                    without_plate=without_plate, first_us=min(p.start_us for p in passages),
                    last_us=max(p.end_us for p in passages), nodes=nodes)


def _continued(times: np.ndarray, xs: np.ndarray, ys: np.ndarray, i: int, gap_us: float) -> bool:
    """Whether the vehicle goes from sample i to i + 1 in the FCD (it is not out of it in between):
    one step apart (1.5 steps at most), or at one position (a wait, of which Track keeps the first
    and the last sample)."""
    return bool(times[i + 1] - times[i] <= gap_us or (xs[i + 1] == xs[i] and ys[i + 1] == ys[i]))


def _window(times: np.ndarray, xs: np.ndarray, ys: np.ndarray, begin_us: int | None, end_us: int | None,
            gap_us: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A vehicle's samples in begin_us..end_us, and where it is at each bound it moves across
    between two samples one step apart (straight and even, as SUMO's vehicles between steps): a
    vehicle in view at --begin is there from then, one in view at --end until then."""
    for bound in (begin_us, end_us):
        if bound is None:
            continue
        after = int(np.searchsorted(times, bound))  # the first sample at or after it
        if 0 < after < len(times) and times[after] != bound and _continued(times, xs, ys, after - 1, gap_us):
            share = (bound - times[after - 1]) / (times[after] - times[after - 1])
            x = xs[after - 1] + share * (xs[after] - xs[after - 1])
            y = ys[after - 1] + share * (ys[after] - ys[after - 1])
            times, xs, ys = np.insert(times, after, bound), np.insert(xs, after, x), np.insert(ys, after, y)
    keep = np.ones(len(times), dtype=bool)
    if begin_us is not None:
        keep &= times >= begin_us
    if end_us is not None:
        keep &= times <= end_us
    return times[keep], xs[keep], ys[keep]


def _too_large(fcd_path: str, passages: list[Passage]) -> ImportProblem:
    points = sum(len(p.points) for p in passages)
    vehicles = len(passages)
    first, last = min(p.start_us for p in passages), max(p.end_us for p in passages)
    return ImportProblem([f"{printable(fcd_path)}: {vehicles} vehicle{'s' if vehicles != 1 else ''}, {points} points: "
                          f"more than a scenario holds ({MAX_NODES} values, {MAX_FILE_BYTES // 1_000_000} MB); "
                          f"import part of it with --begin/--end (SUMO seconds; vehicles are in view from "
                          f"{duration_text(first)} to {duration_text(last)}) or use a smaller view"])


def _json_nodes(value: object) -> int:
    """The YAML values a JSON-like value makes (keys included), as the loader counts them."""
    if isinstance(value, dict):
        return 1 + sum(1 + _json_nodes(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(_json_nodes(v) for v in value)
    return 1


def scenario_nodes(view: View, passages: Sequence[Passage], identities: dict[str, dict[str, str]]) -> int:
    """The values (keys included) of the scenario _scenario_text writes, counted before it is
    written, as the loader counts them (it allows MAX_NODES)."""
    head = 1 + 2 + 2 + 2 + 8 + (4 if view.lost_timeout is not None else 0)  # the document, version, name, seed,
    # camera, recognition
    head += 1 + _json_nodes(view.zone_list()) + 2  # zones: and its list, vehicles: and its list
    each = 1 + 2 * 8 + 3  # the vehicle's mapping, its keys but iso3166_2 with their values, the first point
    return head + sum(each + (2 if identities[p.track.id]["iso3166_2"] else 0) + 7 * (len(p.points) - 1)
                      + (2 + 3 * len(p.hidden) if p.hidden else 0) for p in passages)


def _passage(track: Track, view: View, times: np.ndarray, xs: np.ndarray, ys: np.ndarray, us: np.ndarray,
             vs: np.ndarray, first: int, end: int, gap_us: float) -> Passage:
    """The samples first..end in view, and where the vehicle crosses the edge of the view between
    the sample before and the first, and between the last and the sample after (when SUMO has them
    one step apart): its straight move between two samples, at an even pace, as SUMO's own
    positions between its steps, on the microsecond (in when it is in, out when it is still in)."""
    span = slice(first, end + 1)
    t, u, v = times[span].astype(float), us[span], vs[span]
    if first > 0 and _continued(times, xs, ys, first - 1, gap_us):
        crossing = _crossing(view, times, xs, ys, first - 1, first, entering=True)
        if crossing is not None:
            t, u, v = np.append(crossing[0], t), np.append(crossing[1], u), np.append(crossing[2], v)
    if end + 1 < len(times) and _continued(times, xs, ys, end, gap_us):
        crossing = _crossing(view, times, xs, ys, end + 1, end, entering=False)
        if crossing is not None:
            t, u, v = np.append(t, crossing[0]), np.append(u, crossing[1]), np.append(v, crossing[2])
    kept = simplify(t, u, v) if len(t) > 1 else [0]
    start = int(t[0])
    return Passage(track, start, [int(t[i]) - start for i in kept], [(_number(u[i]), _number(v[i])) for i in kept])


def _crossing(view: View, times: np.ndarray, xs: np.ndarray, ys: np.ndarray, outside: int, inside: int,
              entering: bool) -> tuple[float, float, float] | None:
    """(time, u, v) where the move between the samples outside and inside crosses the view's
    edge: its time rounded into the view (up when entering, down when leaving), the position
    there; None when that is the inside sample's own microsecond, or when the sample outside is so
    far (beyond 1e300 m: a float's range) that the move cannot be computed."""
    t_out, t_in = int(times[outside]), int(times[inside])
    fraction = view.crossing((float(xs[outside]), float(ys[outside])), (float(xs[inside]), float(ys[inside])))
    if not math.isfinite(fraction):
        return None
    exact = t_out + fraction * (t_in - t_out)  # the fraction runs from outside to inside
    time_us = math.ceil(exact) if entering else math.floor(exact)
    if (time_us >= t_in) if entering else (time_us <= t_in):
        return None
    share = (time_us - t_out) / (t_in - t_out)  # of the way from outside to inside, at that microsecond
    x = float(xs[outside]) + share * (float(xs[inside]) - float(xs[outside]))
    y = float(ys[outside]) + share * (float(ys[inside]) - float(ys[outside]))
    u, v = view.homography(np.array([x]), np.array([y]))
    if not (math.isfinite(u[0]) and math.isfinite(v[0])):
        return None
    return float(time_us), float(u[0]), float(v[0])


def _identity(track: Track, rng: Rng, countries: Weighted, kind: str, taken: set[str]) -> dict[str, str]:
    country = rng.weighted(countries)
    plate, _, _, iso = GENERATORS[country](rng)
    while plate in taken:  # two vehicles with one plate would be one car to a receiver
        plate, _, _, iso = GENERATORS[country](rng)
    taken.add(plate)
    brand, models = rng.choice(HEAVY_BRANDS[kind] if kind in HEAVY_BRANDS else BRANDS[country])
    color = rng.weighted(HEAVY_COLORS if kind in HEAVY_BRANDS else COLOR_WEIGHTS)
    return {"plate": plate, "country": country, "iso3166_2": iso, "brand": brand, "model": rng.choice(models),
            "color": color}


def _kind(track: Track, classes: dict[str, str]) -> str:
    """What the camera reports as the vehicle's type, from its SUMO vehicle class."""
    return SUMO_TYPES.get(classes.get(track.type, SUMO_DEFAULT_TYPES.get(track.type, track.type)), "CAR")


def _identities(passages: Sequence[Passage], countries: Sequence[tuple[str, float]], seed: int,
                classes: dict[str, str]) -> dict[str, dict[str, str]]:
    """SUMO id -> plate, country, make...: in the order of the passages (a plate taken is not given again)."""
    weights = Weighted(list(countries))
    identities: dict[str, dict[str, str]] = {}
    taken: set[str] = set()
    for passage in passages:
        track = passage.track
        if track.id not in identities:
            identities[track.id] = _identity(track, Rng(seed, "sumo", track.id), weights, _kind(track, classes), taken)
    return identities


def _scenario_text(fcd_path: str, view: View, fcd: Fcd, passages: list[Passage],
                   identities: dict[str, dict[str, str]], seed: int, classes: dict[str, str]) -> str:
    name = view.name or re.sub(r"(\.fcd)?\.xml(\.gz)?$", "", os.path.basename(os.fsdecode(fcd_path))) or "sumo"
    lines = [
        "# Traffic from SUMO: made by ffsim import sumo from",
        f"#   floating car data {printable(os.fsdecode(fcd_path))}" + (f" ({fcd.generator})" if fcd.generator else ""),
        f"#   seen through the view {printable(view.file)}",
        "# Each vehicle is a SUMO vehicle's stretch inside the view: `at` is SUMO's time when it comes",
        "# in (between two steps SUMO's vehicle moves straight and evenly), its path in frame pixels",
        "# from there through its samples at SUMO's times (a repeated point is a wait) to where it",
        "# leaves; type from SUMO's vehicle class, plate generated per country. Check it with",
        "# ffsim validate, look at it with ffsim preview, play it with ffsim run.",
        "version: 1",
        f"name: {_text(name)}",
        f"seed: {seed}",
        f"camera: {{resolution: [{view.width}, {view.height}], fps: {view.fps}}}",
    ]
    if view.lost_timeout is not None:
        lines.append(f"recognition: {{lost_timeout: {_text(view.lost_timeout)}}}")
    lines.append("zones:")
    for zone in view.zone_list():
        lines.append("  - {" + ", ".join(f"{key}: {json.dumps(value)}" for key, value in zone.items()) + "}")
    lines.append("vehicles:")
    for passage in passages:
        track = passage.track
        kind = _kind(track, classes)
        who = identities[track.id]
        lines.append(f"  - plate: {_text(who['plate'])}   # SUMO vehicle {_text(track.id)}, vType "
                     f"{_text(track.type)}")
        lines.append(f"    country: {who['country']}")
        if who["iso3166_2"]:
            lines.append(f"    iso3166_2: {who['iso3166_2']}")
        lines.append(f"    type: {kind}")
        lines.append(f"    brand: {_text(who['brand'])}")
        lines.append(f"    model: {_text(who['model'])}")
        lines.append(f"    color: {who['color']}")
        lines.append(f"    at: {duration_text(passage.start_us)}")
        if passage.hidden:
            lines.append("    hidden: [" + ", ".join(f"[{duration_text(a)}, {duration_text(b)}]"
                                                    for a, b in passage.hidden) + "]   # out of the view")
        lines.append("    path:")
        for i, ((u, v), t) in enumerate(zip(passage.points, passage.times_us)):
            lines.append(f"      - [{u}, {v}]" if i == 0 else f"      - {{at: [{u}, {v}], time: {duration_text(t)}}}")
    return "\n".join(lines) + "\n"
