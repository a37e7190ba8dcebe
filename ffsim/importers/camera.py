"""A scenario skeleton from the camera's own recognition configuration (``ffsim import camera``).

The vendor documents the fields of a recognition zone (ROI) in the camera's JSON
configuration, not the layout of the whole document (FF-EVENTS.md, sections 1-3):

* ``coordinates``: the zone's polygon, ``[[x, y], ...]`` in frame pixels;
* ``angle``: the installer's arrow "in the direction of the traffic flow", 0-360000,
  thousandths of a degree;
* ``active``: whether the zone is in use;
* ``ttl``: the lost timeout, in milliseconds.

So the reader looks for them wherever they stand: every JSON object with a ``coordinates``
key is a zone (its ``id``, ``roiID`` or ``roi_id`` names it, else its order does), and the
``ttl`` nearest the top of the document is the lost timeout. Everything else is left alone,
and said so. The arrow is read in ffsim's own convention (0 up the image, clockwise, as
``zones[].direction``); the documentation gives the unit, not the origin, so
``angle_offset`` turns every arrow by a constant where a camera's come out rotated.

Every mistake is a :class:`~ffsim.scenario.Problem` at the line and column of the value
(the JSON is parsed strictly by :mod:`json`, then located by the scenario loader's YAML
reader, of which JSON is a subset), and the skeleton it writes validates and plays: one
example vehicle crosses each active zone along its arrow.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, replace

from ..engine import geometry
from ..scenario.loader import MAX_FILE_BYTES, Problem, ScenarioError, read_bounded, scenario_from_text, show_path
from ..scenario.schema import MAX_FRAME_SIDE, MIN_FRAME_SIDE
from ..scenario.yamlsource import Located, YamlProblem
from ..terminal import printable
from ..units import MAX_DURATION_US
from ..scenario.yamlsource import load as locate

__all__ = ["ImportedZone", "CameraImport", "import_camera_config", "FRAME_SIZES"]

FRAME_SIZES = ((1920, 1080), (2560, 1440), (3840, 2160))  # FF-EVENTS.md, section 3
MAX_ZONES = 2  # the camera recognises in at most two zones
ID_KEYS = ("id", "roiID", "roi_id")
ANGLE_FULL = 360_000  # thousandths of a degree
MAX_DIGITS = 300  # an integer longer than this is beyond a float's range (1.8e308)


@dataclass(frozen=True)
class ImportedZone:
    id: int
    polygon: tuple[tuple[float, float], ...]
    direction: float | None  # degrees, ffsim's convention; None: the configuration gives no angle
    active: bool
    where: str  # the JSON path it was read from, for the skeleton's comments


@dataclass(frozen=True)
class CameraImport:
    """What the configuration says, and the scenario skeleton made of it."""

    zones: tuple[ImportedZone, ...]
    lost_timeout_ms: int | None
    resolution: tuple[int, int]
    resolution_given: bool  # False: the smallest documented frame that holds every zone
    ignored: tuple[str, ...] = field(default=())  # top-level keys that were not read
    text: str = ""  # the scenario skeleton (YAML)

    @property
    def active(self) -> tuple[ImportedZone, ...]:
        return tuple(z for z in self.zones if z.active)


class _Reader:
    def __init__(self, source: str, located: Located):
        self.source = source
        self.located = located
        self.problems: list[Problem] = []

    def problem(self, path: tuple, message: str, key: bool = False) -> None:
        line, column = self.located.where(path, key)
        self.problems.append(Problem(self.source, line, column, message, path))


def _number(value: object) -> float | None:
    """The value as a finite float, or None (not a number, NaN, infinite, or an integer beyond a
    float: float() of it overflows)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _whole(text: str) -> int | float:
    """A JSON integer; one of more digits than any configuration holds is taken as infinite (refused
    where it stands, by the check of its field), not converted (Python refuses 4,300 digits)."""
    if len(text.lstrip("-")) <= MAX_DIGITS:
        return int(text)
    return -math.inf if text.startswith("-") else math.inf


def _find(value: object, path: tuple, depth: int, zones: list, ttls: list) -> None:
    """Every object with `coordinates` (a zone) and every `ttl`, with its path and depth."""
    if isinstance(value, dict):
        if "coordinates" in value:
            zones.append((path, value))
            if "ttl" in value:  # the lost timeout is the camera's, wherever the document keeps it
                ttls.append((depth, path + ("ttl",), value["ttl"]))
            return
        for key, item in value.items():
            if key == "ttl":
                ttls.append((depth, path + (key,), item))
            else:
                _find(item, path + (key,), depth + 1, zones, ttls)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _find(item, path + (i,), depth + 1, zones, ttls)


def _zone(reader: _Reader, path: tuple, roi: dict, offset: float) -> ImportedZone | None:
    """The zone at path (its id 0 when the configuration names none: numbered later), or None
    (its problems are in reader)."""
    bad = len(reader.problems)
    points: list[tuple[float, float]] = []
    coordinates = roi["coordinates"]
    if not isinstance(coordinates, list) or len(coordinates) < 3:
        reader.problem(path + ("coordinates",), "must be a polygon [[x, y], ...] of at least 3 points")
    else:
        for i, point in enumerate(coordinates):
            xy = [_number(v) for v in point] if isinstance(point, list) and len(point) == 2 else []
            if len(xy) != 2 or None in xy:
                reader.problem(path + ("coordinates", i), "must be a point [x, y] in frame pixels")
            elif xy[0] < 0 or xy[1] < 0:  # type: ignore[operator]
                reader.problem(path + ("coordinates", i), "must not be negative (frame pixels, (0, 0) top left)")
            else:
                points.append((xy[0], xy[1]))  # type: ignore[arg-type]
    direction: float | None = None
    if "angle" in roi:
        angle = _number(roi["angle"])
        if angle is None or not 0 <= angle <= ANGLE_FULL:
            reader.problem(path + ("angle",), "must be a number 0-360000 (thousandths of a degree)")
        else:
            direction = round((angle / 1000 + offset) % 360, 3) + 0.0
    active = True
    if "active" in roi:
        if not isinstance(roi["active"], bool):
            reader.problem(path + ("active",), "must be true or false")
        else:
            active = roi["active"]
    zone_id = 0
    for key in ID_KEYS:
        if key in roi:
            raw = roi[key]
            text = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw
            if not isinstance(text, str) or text not in ("1", "2"):
                reader.problem(path + (key,), 'must be 1 or 2 (the camera\'s roiID "1" or "2")')
            else:
                zone_id = int(text)
            break
    if len(reader.problems) == bad and geometry.polygon_area(points) <= 0.0:
        reader.problem(path + ("coordinates",), "the polygon has no area")
    if len(reader.problems) > bad:
        return None
    return ImportedZone(zone_id, tuple(points), direction, active, show_path(path, "the configuration"))


def _resolution(zones: list[ImportedZone]) -> tuple[int, int]:
    far_x = max((x for z in zones for x, _ in z.polygon), default=0.0)
    far_y = max((y for z in zones for _, y in z.polygon), default=0.0)
    for w, h in FRAME_SIZES:
        if far_x <= w and far_y <= h:
            return (w, h)
    return FRAME_SIZES[-1]


def import_camera_config(source: str | os.PathLike[str] | bytes, *, name: str | None = None,
                         resolution: tuple[int, int] | None = None, angle_offset: float = 0.0,
                         fps: int = 10) -> CameraImport:
    """Read a camera's recognition configuration (a file, or its bytes) into a scenario skeleton.

    Raises ScenarioError with FILE:LINE:COL problems for what cannot be read."""
    if isinstance(source, bytes):
        file, raw = "<config>", source
    else:
        file = os.fspath(source)
        raw = read_bounded(file)
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError([Problem(file, 1, 1, f"larger than {MAX_FILE_BYTES // 1_000_000} MB: not a camera's "
                                                 "recognition configuration")])
    if not math.isfinite(angle_offset):
        raise ValueError(f"angle_offset must be a finite number of degrees, not {angle_offset!r}")
    if resolution is not None and not all(MIN_FRAME_SIDE <= side <= MAX_FRAME_SIDE for side in resolution):
        raise ValueError(f"resolution sides must be {MIN_FRAME_SIDE}-{MAX_FRAME_SIDE} pixels, not {resolution[0]}x{resolution[1]}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError([Problem(file, 1, 1, f"not UTF-8 text (byte {exc.start})")]) from None
    try:
        data = json.loads(text, parse_int=_whole)
    except json.JSONDecodeError as exc:
        raise ScenarioError([Problem(file, exc.lineno, exc.colno, f"not valid JSON: {exc.msg}")]) from None
    except RecursionError:
        raise ScenarioError([Problem(file, 1, 1, "not valid JSON: nested too deeply")]) from None
    try:  # JSON is YAML: the loader's reader knows where every value stands (tabs are JSON's whitespace)
        located = locate(text.replace("\t", " "))
    except YamlProblem as exc:  # its bounds: nesting deeper than a configuration's, too many values
        raise ScenarioError([Problem(file, exc.line, exc.column, exc.message.replace("not valid YAML: ", ""))]) from None
    reader = _Reader(file, located)
    if not isinstance(data, dict):
        reader.problem((), "must be a JSON object: the camera's recognition configuration")
        raise ScenarioError(reader.problems)
    found: list[tuple[tuple, object]] = []
    ttls: list[tuple[int, tuple, object]] = []
    _find(data, (), 0, found, ttls)
    pairs: list[tuple[tuple, ImportedZone]] = []  # (where, zone) of each zone read without a problem
    for path, roi in found:
        zone = _zone(reader, path, roi, angle_offset)  # type: ignore[arg-type]
        if zone is not None:
            pairs.append((path, zone))
    if not found:
        reader.problem((), "no recognition zone: no object with `coordinates` (the ROI polygons) in it")
    pairs = _numbered(pairs)
    seen: dict[int, ImportedZone] = {}
    for path, zone in pairs:
        if zone.active and zone.id in seen:
            reader.problem(path, f"a second active zone {zone.id} (the first is at {seen[zone.id].where})")
        elif zone.active:
            seen[zone.id] = zone
    active = [(path, z) for path, z in pairs if z.active]
    if pairs and not active and not reader.problems:
        reader.problem((), "every zone is inactive (`active`: false): the camera would recognise nothing")
    if len(active) > MAX_ZONES:
        reader.problem(active[MAX_ZONES][0],
                       f"more than {MAX_ZONES} active zones: the camera recognises in at most {MAX_ZONES}")
    lost_ms: int | None = None
    if ttls:
        depth = min(d for d, _, _ in ttls)
        top = [(p, v) for d, p, v in ttls if d == depth]
        path, value = top[0]
        number = _number(value)
        if number is None or number <= 0 or number != int(number) or number * 1000 > MAX_DURATION_US:
            reader.problem(path, "must be the lost timeout in milliseconds, a whole number > 0 (at most 10 years)")
        else:
            lost_ms = int(number)
            for other, again in top[1:]:
                if again != value:
                    reader.problem(other, f"a second ttl ({again!r}) that differs from {value!r} at "
                                          f"{show_path(path, 'the configuration')}")
    given = resolution is not None
    frame = resolution if resolution is not None else _resolution([z for _, z in active])
    for path, zone in pairs:
        for i, (x, y) in enumerate(zone.polygon):
            if x > frame[0] or y > frame[1]:
                reader.problem(path + ("coordinates", i),
                               f"outside the {frame[0]}x{frame[1]} frame" + ("" if given else " (give --resolution)"))
    if reader.problems:
        raise ScenarioError(reader.problems)
    if any(not p for p, _ in found):  # the document itself is the zone
        read_keys = {"coordinates", "angle", "active", "ttl", *ID_KEYS}
    else:
        read_keys = {p[0] for p, _ in found} | {p[0] for _, p, _ in ttls}
    ignored = tuple(str(k) for k in data if k not in read_keys)
    result = CameraImport(tuple(z for _, z in pairs), lost_ms, frame, given, ignored)
    stem = name or (os.path.splitext(os.path.basename(file))[0] if file != "<config>" else "camera")
    text = _skeleton(result, file, stem, fps)
    try:  # what it writes, the loader reads: a mistake here is ffsim's, not the configuration's
        scenario_from_text(text, "<skeleton>")
    except ScenarioError as exc:  # pragma: no cover - the tests play every kind of skeleton
        raise RuntimeError(f"ffsim made a skeleton it cannot load (please report this): {exc}") from None
    return CameraImport(result.zones, lost_ms, frame, given, ignored, text)


def _numbered(pairs: list[tuple[tuple, ImportedZone]]) -> list[tuple[tuple, ImportedZone]]:
    """Zones the configuration names keep their id; the others take, in order, the ids still free
    (1 and 2), active zones first; an inactive one with none free gets the next number (it is only
    shown, commented out)."""
    taken = {z.id for _, z in pairs if z.id}
    free = [i for i in range(1, MAX_ZONES + 1) if i not in taken]
    ids: dict[int, int] = {}
    for active in (True, False):
        for i, (_, zone) in enumerate(pairs):
            if not zone.id and zone.active == active:
                ids[i] = free.pop(0) if free else max([*taken, *ids.values(), MAX_ZONES]) + 1
    return [(path, replace(zone, id=ids[i]) if i in ids else zone) for i, (path, zone) in enumerate(pairs)]


# -- the skeleton ---------------------------------------------------------------------------------

def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=True)  # a YAML double-quoted scalar, whatever the name holds


def _number_text(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(round(value, 3))


def _polygon_text(polygon: tuple[tuple[float, float], ...]) -> str:
    return "[" + ", ".join(f"[{_number_text(x)}, {_number_text(y)}]" for x, y in polygon) + "]"


def _inside(polygon: tuple[tuple[float, float], ...]) -> tuple[float, float]:
    """A point well inside the polygon: its centroid, or (a concave one's centroid may lie
    outside) the middle of the longest inside stretch of the horizontal line through it."""
    cx, cy = geometry.polygon_centroid(polygon)
    if geometry.contains(polygon, cx, cy):
        return cx, cy
    xs = sorted(x for x, _ in polygon)
    left, right = xs[0] - 1.0, xs[-1] + 1.0
    cuts = sorted(geometry.segment_crossings((left, cy), (right, cy), polygon))
    best, where = -1.0, (cx, cy)
    for a, b in zip(cuts, cuts[1:]):
        mid = left + (a + b) / 2 * (right - left)
        if (b - a) > best and geometry.contains(polygon, mid, cy):
            best, where = b - a, (mid, cy)
    return where


def _crossing(zone: ImportedZone, frame: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """A straight path through the zone's centre along its arrow, from frame edge to frame edge
    (pulled in by a pixel, whole pixels): the example vehicle drives it and is seen going `in`."""
    cx, cy = _inside(zone.polygon)
    rad = math.radians(zone.direction if zone.direction is not None else 180.0)
    dx, dy = round(math.sin(rad), 12), round(-math.cos(rad), 12)
    w, h = frame[0] - 1, frame[1] - 1

    def reach(sx: float, sy: float) -> float:
        """How far from the centre along (sx, sy) the frame ends."""
        limits = []
        if sx > 0:
            limits.append((w - cx) / sx)
        elif sx < 0:
            limits.append(-cx / sx)
        if sy > 0:
            limits.append((h - cy) / sy)
        elif sy < 0:
            limits.append(-cy / sy)
        return min(limits)

    back, ahead = reach(-dx, -dy), reach(dx, dy)
    start = (round(cx - dx * back), round(cy - dy * back))
    end = (round(cx + dx * ahead), round(cy + dy * ahead))
    return start, end


def _skeleton(result: CameraImport, file: str, name: str, fps: int) -> str:
    frame = result.resolution
    lines = [
        f"# Scenario skeleton from the camera's recognition configuration {printable(os.path.basename(file))}",
        "# (ffsim import camera): its zones, arrows and lost timeout; the rest is yours to fill in.",
        "# One example vehicle crosses each active zone along its arrow: replace them with your traffic",
        "# (`ffsim preview` draws the zones and paths, `ffsim explain` says why each event comes).",
        "version: 1",
        f"name: {_quote(name)}",
        "seed: 1",
        "start: 2026-01-01T08:00:00Z   # virtual time of t=0 (delete it to start now)",
        "camera:",
        "  device_id: CAMERA-1          # sensorProviderID: set it to the camera's",
        f"  resolution: [{frame[0]}, {frame[1]}]"
        + ("" if result.resolution_given else "   # the smallest frame that holds the zones: check it"),
        f"  fps: {fps}",
    ]
    if result.lost_timeout_ms is not None:
        ms = result.lost_timeout_ms
        shown = f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"
        lines += ["recognition:", f"  lost_timeout: {shown}   # the configuration's ttl: {ms} ms"]
    else:
        lines += ["recognition:", "  lost_timeout: 5s   # no ttl in the configuration: ffsim's default"]
    lines.append("zones:")
    for zone in result.zones:
        prefix = "  " if zone.active else "  # "
        if not zone.active:
            lines.append(f"  # zone {zone.id} ({zone.where}) is inactive in the configuration:")
        lines.append(f"{prefix}- id: {zone.id}")
        lines.append(f"{prefix}  polygon: {_polygon_text(zone.polygon)}")
        if zone.direction is None:
            lines.append(f"{prefix}  direction: 180   # no angle in the configuration: set the arrow")
        else:
            lines.append(f"{prefix}  direction: {_number_text(zone.direction)}   # angle "
                         f"{_number_text(zone.direction * 1000)} thousandths of a degree")
    lines.append("vehicles:")
    for i, zone in enumerate(result.active):
        start, end = _crossing(zone, frame)
        lines += [
            f"  - plate: 1AB {1000 + i}            # example: drives through zone {zone.id} along its arrow",
            f"    at: {2 + 10 * i}s",
            f"    path: [[{start[0]}, {start[1]}], [{end[0]}, {end[1]}]]",
            "    duration: 4s",
        ]
    return "\n".join(lines) + "\n"
