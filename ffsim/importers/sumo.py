"""Scenario vehicles from SUMO's floating car data (``ffsim import sumo FCD --view VIEW``).

SUMO (Eclipse SUMO, https://eclipse.dev/sumo) simulates the traffic; its FCD output
(``sumo --fcd-output``) has every vehicle's position (x, y in metres) at every step. The view
maps four points on the road to four pixels of the camera's frame (a homography, solved with
numpy); a vehicle is seen while its position lies in the quadrilateral of those four road points
(edges included), and each stretch of its trajectory in there becomes one scenario vehicle:
`at` = the SUMO time of its first sample in view (SUMO's time is the scenario's time), a timed
path through its samples in pixels (samples on a straight line at an even pace are merged while
every sample stays within SIMPLIFY_PX of the path at its time: a wait in a queue is the same point
at two times), its type from SUMO's vehicle class, and a plate generated per country with the
engine's own generators, seeded by the vehicle's SUMO id.

The FCD is read with sumolib (the ``sumo`` extra: ``pip install 'ffsim[sumo]'``), imported when
needed, so that the rest of ffsim does not need it.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import combinations
from typing import Any
from xml.etree.ElementTree import ParseError

import numpy as np

from ..engine.plates import BRANDS, COLOR_WEIGHTS, GENERATORS, Rng, Weighted
from ..scenario import schema as S
from ..scenario.loader import (_Builder, _Collector, _Validator, _texts_stay_texts, read_bounded,
                               scenario_from_text, ScenarioError, Problem, MAX_FILE_BYTES)
from ..scenario.model import Camera
from ..scenario.yamlsource import YamlProblem, load
from ..terminal import printable
from ..units import parse_duration

EXTRA_HINT = "pip install 'ffsim[sumo]'"
SIMPLIFY_PX = 0.25  # how far a dropped FCD sample may lie from the imported path at its time, in pixels
DECIMALS = 2  # of the pixel coordinates written (0.01 px)

# SUMO's vehicle classes (vClass) and what the camera reports as vehicle_info type; classes
# without a plate the camera reads are left out
SUMO_TYPES = {
    "passenger": "CAR", "private": "CAR", "taxi": "CAR", "evehicle": "CAR", "emergency": "CAR",
    "authority": "CAR", "army": "CAR", "vip": "CAR", "custom1": "CAR", "custom2": "CAR",
    "motorcycle": "CAR", "moped": "CAR",
    "delivery": "VAN",
    "truck": "TRUCK", "trailer": "TRUCK",
    "bus": "BUS", "coach": "BUS",
}
NO_PLATE = {"pedestrian", "bicycle", "scooter", "wheelchair", "tram", "rail_urban", "rail", "rail_electric",
            "rail_fast", "ship", "subway", "cable_car", "aircraft", "drone", "container"}
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


def missing_extra_message(exc: ImportError) -> str:
    """The one line said when sumolib cannot be imported."""
    return (f"ffsim import sumo needs SUMO's Python library sumolib, which is not installed "
            f"({exc.name or 'sumolib'}): {EXTRA_HINT}")


def _sumolib() -> Any:
    try:
        import sumolib  # type: ignore[import-untyped]  # the sumo extra (no type hints)
    except ImportError as exc:
        raise ImportProblem([missing_extra_message(exc)]) from None
    return sumolib


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
    """The plane-to-plane projection that takes four points to four others: H [x, y, 1] ~ [u, v, w]."""

    def __init__(self, source: Sequence[tuple[float, float]], target: Sequence[tuple[float, float]]):
        rows, values = [], []
        for (x, y), (u, v) in zip(source, target):
            rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
            rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
            values += [u, v]
        h = np.linalg.solve(np.array(rows, dtype=float), np.array(values, dtype=float))
        self.matrix = np.append(h, 1.0).reshape(3, 3)

    def w(self, x: float, y: float) -> float:
        """The projective weight: of one sign on the camera's side of the horizon."""
        return float(self.matrix[2] @ (x, y, 1.0))

    def __call__(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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

    def sees(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Which SUMO points lie in the road quadrilateral (edges included)."""
        inside_left = np.ones(len(xs), dtype=bool)
        inside_right = np.ones(len(xs), dtype=bool)
        scale = max(abs(c) for p in self.road for c in p) or 1.0
        eps = 1e-9 * scale * scale
        for (ax, ay), (bx, by) in zip(self.road, self.road[1:] + self.road[:1]):
            turn = (bx - ax) * (ys - ay) - (by - ay) * (xs - ax)
            inside_left &= turn >= -eps
            inside_right &= turn <= eps
        return inside_left | inside_right

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
@dataclass
class Track:
    """One SUMO vehicle's samples, in time order."""

    id: str
    type: str
    times_us: list[int] = field(default_factory=list)
    xs: list[float] = field(default_factory=list)
    ys: list[float] = field(default_factory=list)


@dataclass
class Fcd:
    tracks: dict[str, Track]  # in order of first appearance
    first_us: int | None
    last_us: int | None
    step_us: int | None  # the shortest time between two timesteps
    generator: str  # "Eclipse SUMO sumo 1.28.0" from the file's header, or ""


_GENERATED_BY = re.compile(r"by (Eclipse SUMO [\w.-]+(?: Version)? v?[\w.+-]+)")


def _time_us(text: str) -> int:
    return int((Decimal(text) * 1_000_000).to_integral_value())


def read_fcd(path: str) -> Fcd:
    """Every vehicle's samples of an FCD file (plain or .gz), parsed with sumolib's XML parser."""
    sumolib = _sumolib()
    file = os.fsdecode(path)
    shown = printable(file)
    tracks: dict[str, Track] = {}
    first = last = step = previous = None
    try:
        with sumolib.miscutils.openz(file, "r") as head:
            match = _GENERATED_BY.search(head.read(4096))
        for timestep in sumolib.xml.parse(file, "timestep"):
            t = _time_us(timestep.time)
            if previous is not None and t > previous:
                step = t - previous if step is None else min(step, t - previous)
            previous = t
            first = t if first is None else first
            last = t
            for vehicle in timestep.getChild("vehicle") if timestep.hasChild("vehicle") else ():
                track = tracks.get(vehicle.id)
                if track is None:
                    track = tracks[vehicle.id] = Track(vehicle.id, vehicle.type or "DEFAULT_VEHTYPE")
                track.times_us.append(t)
                track.xs.append(float(vehicle.x))
                track.ys.append(float(vehicle.y))
    except OSError as exc:
        raise ImportProblem([f"{shown}: cannot read the FCD: {exc.strerror or exc}"]) from None
    except ParseError as exc:
        line, col = exc.position
        raise ImportProblem([f"{shown}:{line}:{col + 1}: not SUMO floating car data (XML): {_reason(exc)}"]) \
            from None
    except (TypeError, ValueError, InvalidOperation, AttributeError, UnicodeDecodeError, EOFError) as exc:
        raise ImportProblem([f"{shown}: not SUMO floating car data: each <timestep time=...> holds <vehicle id=... "
                             f"x=... y=... type=...> ({type(exc).__name__})"]) from None
    if first is None:
        raise ImportProblem([f"{shown}: no <timestep> in it: not SUMO floating car data (sumo --fcd-output FILE)"])
    return Fcd(tracks, first, last, step, match.group(1) if match else "")


def _reason(exc: ParseError) -> str:
    """expat's message without its own ": line 3, column 2" (the position is said first)."""
    return re.sub(r": line \d+, column \d+$", "", str(exc))


def read_vtypes(paths: Sequence[str]) -> dict[str, str]:
    """vType id -> vClass from SUMO route or additional files."""
    sumolib = _sumolib()
    classes: dict[str, str] = {}
    for path in paths:
        try:
            for vtype in sumolib.xml.parse(os.fsdecode(path), "vType"):
                classes[vtype.id] = vtype.getAttributeSecure("vClass", "passenger")
        except OSError as exc:
            raise ImportProblem([f"{printable(path)}: cannot read the vTypes: {exc.strerror or exc}"]) from None
        except ParseError as exc:
            line, col = exc.position
            raise ImportProblem([f"{printable(path)}:{line}:{col + 1}: not a SUMO file of vTypes (XML): "
                                 f"{_reason(exc)}"]) from None
    return classes


# -- the scenario ---------------------------------------------------------------------------
def simplify(times: np.ndarray, us: np.ndarray, vs: np.ndarray, tolerance: float = SIMPLIFY_PX) -> list[int]:
    """Indices of the samples to keep (the first and the last among them) such that every sample
    dropped lies within tolerance pixels of the straight, even move between the two kept around it,
    at its own time. The first and the last sample of a stop (samples at one position) are kept:
    the vehicle stands exactly there for exactly that long."""
    same = (us[1:] == us[:-1]) & (vs[1:] == vs[:-1])  # same[i]: sample i + 1 is where sample i is
    before, after = np.append(False, same), np.append(same, False)
    stop_ends = before != after
    keep = [0]
    start, n = 0, len(times)
    while start < n - 1:
        end = start + 1
        while end + 1 < n and not stop_ends[end] and _fits(times, us, vs, start, end + 1, tolerance):
            end += 1
        keep.append(end)
        start = end
    return keep


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
    """One stretch of a SUMO vehicle's trajectory inside the view."""

    track: Track
    start_us: int
    times_us: list[int]
    points: list[tuple[float | int, float | int]]


@dataclass
class Imported:
    text: str  # the scenario
    vehicles: int  # scenario vehicles (a SUMO vehicle that leaves and comes back makes two)
    sumo_vehicles: int  # in the FCD
    never_in_view: int
    without_plate: dict[str, int]  # vClass -> SUMO vehicles left out for it
    first_us: int | None  # the first sample in view
    last_us: int | None  # the last sample in view

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
               seed: int = 0, vtype_files: Sequence[str] = ()) -> Imported:
    """The scenario (YAML text) of the vehicles an FCD file has in the view; ImportProblem if none can be made."""
    if not isinstance(view, View):
        view = load_view(view)
    fcd = read_fcd(fcd_path)
    classes = read_vtypes(vtype_files)
    passages: list[Passage] = []
    never = 0
    without_plate: dict[str, int] = {}
    gap_us = 1.5 * fcd.step_us if fcd.step_us else math.inf  # a longer gap: the vehicle was out of the FCD
    for track in fcd.tracks.values():
        vclass = classes.get(track.type, SUMO_DEFAULT_TYPES.get(track.type, track.type))
        if vclass in NO_PLATE:
            without_plate[vclass] = without_plate.get(vclass, 0) + 1
            continue
        times = np.array(track.times_us, dtype=np.int64)
        xs, ys = np.array(track.xs), np.array(track.ys)
        seen = view.sees(xs, ys)
        if not seen.any():
            never += 1
            continue
        us, vs = view.homography(xs, ys)
        stretch: list[int] = []  # indices of the samples of the stretch under way
        for i in range(len(times) + 1):
            ends = i == len(times) or not seen[i] or (stretch and times[i] - times[stretch[-1]] > gap_us)
            if ends and stretch:
                passages.append(_passage(track, times[stretch], us[stretch], vs[stretch]))
                stretch = []
            if i < len(times) and seen[i]:
                stretch.append(i)
    if not passages:
        raise ImportProblem([f"{printable(fcd_path)}: no vehicle of the FCD comes into the view "
                             f"({printable(view.file)}): check its sumo points against the network "
                             f"(sumo-gui shows x/y under the mouse)"])
    passages.sort(key=lambda p: p.start_us)  # stable: same time, order of first appearance in the FCD
    text = _scenario_text(fcd_path, view, fcd, passages, countries, seed, classes)
    try:
        scenario_from_text(text, "<import>")  # what is written loads
    except ScenarioError as exc:  # ffsim's own mistake
        raise ImportProblem(["ffsim made a scenario it cannot load (please report this):"]
                            + [str(p) for p in exc.problems]) from None
    return Imported(text=text, vehicles=len(passages), sumo_vehicles=len(fcd.tracks), never_in_view=never,
                    without_plate=without_plate, first_us=min(p.start_us for p in passages),
                    last_us=max(p.start_us + p.times_us[-1] for p in passages))


def _passage(track: Track, times: np.ndarray, us: np.ndarray, vs: np.ndarray) -> Passage:
    kept = simplify(times.astype(float), us, vs) if len(times) > 1 else [0]
    start = int(times[0])
    return Passage(track, start, [int(times[i]) - start for i in kept], [(_number(us[i]), _number(vs[i])) for i in kept])


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


def _scenario_text(fcd_path: str, view: View, fcd: Fcd, passages: list[Passage], countries: Sequence[tuple[str, float]],
                   seed: int, classes: dict[str, str]) -> str:
    name = view.name or re.sub(r"(\.fcd)?\.xml(\.gz)?$", "", os.path.basename(os.fsdecode(fcd_path))) or "sumo"
    weights = Weighted(list(countries))
    lines = [
        "# Traffic from SUMO: made by ffsim import sumo from",
        f"#   floating car data {printable(os.fsdecode(fcd_path))}" + (f" ({fcd.generator})" if fcd.generator else ""),
        f"#   seen through the view {printable(view.file)}",
        "# Each vehicle is a SUMO vehicle's stretch inside the view: `at` is SUMO's time of its first",
        "# sample there, its path the samples in frame pixels at SUMO's times (a repeated point is a",
        "# wait); type from SUMO's vehicle class, plate generated per country. Check it with",
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
    identities: dict[str, dict[str, str]] = {}
    taken: set[str] = set()
    for passage in passages:
        track = passage.track
        vclass = classes.get(track.type, SUMO_DEFAULT_TYPES.get(track.type, track.type))
        kind = SUMO_TYPES.get(vclass, "CAR")
        if track.id not in identities:
            identities[track.id] = _identity(track, Rng(seed, "sumo", track.id), weights, kind, taken)
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
        lines.append("    path:")
        for i, ((u, v), t) in enumerate(zip(passage.points, passage.times_us)):
            lines.append(f"      - [{u}, {v}]" if i == 0 else f"      - {{at: [{u}, {v}], time: {duration_text(t)}}}")
    return "\n".join(lines) + "\n"
