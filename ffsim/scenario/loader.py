"""Scenario file, YAML text or Python dict to validated model, or a list of problems.

A file's or a text's problems are ``file:line:col: message``; a dict has no lines, so its
problems are ``<dict>: key.path: message`` (every message names the key path). All three go
through the same schema and the same checks.
"""

from __future__ import annotations

import difflib
import gc
import math
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta
from numbers import Integral, Real
from typing import Any
from fractions import Fraction
from pathlib import Path as FsPath

import jsonschema

from ..engine import geometry
from ..engine.plates import GENERATORS, Rng
from ..generations import generation
from ..terminal import printable
from ..transport.targets import target_problem
from .. import vocabulary as V
from ..vocabulary import DEFAULT_EVENTS, RELIABLE
from ..units import camera_zone, parse_duration, parse_rate, parse_start, zone_names
from . import schema as S
from .model import (
    Auth,
    Burst,
    Camera,
    ClockFault,
    Duplicate,
    Fault,
    FaultSpec,
    PayloadFault,
    Reorder,
    Restart,
    Timing,
    WireFault,
    Flow,
    Heartbeat,
    ListEntry,
    Lists,
    Profile,
    Read,
    Recognition,
    Scenario,
    VehicleSpec,
    Waypoint,
    Zone,
)
from .yamlsource import MAX_DEPTH, MAX_INT_DIGITS, MAX_NODES, Located, YamlProblem, load

MAX_FILE_BYTES = 10_000_000
MAX_PROBLEMS = 100  # listed for one file; the rest are counted (a list of 100,000 bad entries is not read)
MIN_TIMEOUT_US, MAX_TIMEOUT_US = 1_000, 86_400_000_000
MAX_RATE_PER_S = 100  # vehicles per second of one flow; more only floods the output
MAX_OVERSIZED = 64 * 1024 * 1024  # an oversized_image's size
_SIGNED = re.compile(r"^\s*([+-]?)\s*(.*)$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|KiB|MiB)\s*$")
_SIZE_FACTOR = {"B": 1, "KB": 1000, "MB": 1000_000, "KiB": 1024, "MiB": 1024 * 1024}


def parse_signed_duration(value: object) -> int:
    """Microseconds for '+1h', '-30s', '2m' or a signed number of seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return -parse_duration(-value) if value < 0 else parse_duration(value)
    if not isinstance(value, str):
        raise ValueError("expected a signed duration such as +1h or -30s")
    match = _SIGNED.match(value)
    assert match is not None  # the pattern matches any text
    sign, rest = match.groups()
    us = parse_duration(rest)
    return -us if sign == "-" else us


def parse_size(value: object) -> int:
    """Bytes for '8MB', '512KiB' or a number of bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f"expected a size such as 8MB, got {value!r}")
    return int(float(match.group(1)) * _SIZE_FACTOR[match.group(2)])
# a whole number is an int: JSON Schema's integer also admits 5.0, which `seed`, counters and sizes cannot use
_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)),
)
_VALIDATOR = _Validator(S.SCENARIO)


@dataclass(frozen=True, slots=True)
class Problem:
    file: str  # the file, or what stands for a text or dict: <text>, <dict>, <builder>
    line: int  # 1-based; 0 for a dict, which has no lines (the message names the key path)
    column: int
    message: str
    path: tuple = ()  # keys and indices of the value concerned, where known: ("vehicles", 0, "plate")

    def __str__(self) -> str:
        # messages show values as their repr; printable() is for anything that still is not
        if self.line <= 0:
            return f"{self.file}: {printable(self.message)}"
        return f"{self.file}:{self.line}:{self.column}: {printable(self.message)}"


class ScenarioError(Exception):
    def __init__(self, problems: list[Problem], more: Problem | None = None):
        self.problems = sorted(problems, key=lambda p: (p.line, p.column))
        if more is not None:  # that the list was cut short: said last
            self.problems.append(more)
        super().__init__("\n".join(str(p) for p in self.problems))


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*")


def show_path(path, root: str = "the scenario") -> str:
    """vehicles[0].path[1]; a key that is not plain text is shown as its repr, in brackets, so that
    nothing of a file reaches the terminal unescaped: countries['\\x1b[2J']."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not _PLAIN_KEY.fullmatch(str(part)):
            out += f"[{str(part)!r}]"
        else:
            out += f".{part}" if out else str(part)
    return out or root


_SECRET_PARTS = {"auth", "auth_header", "password"}  # values under these keys are never echoed


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "null": "empty",
}


def _type_name(expected: str | list[str]) -> str:
    if isinstance(expected, list):
        return " or ".join(_TYPE_NAMES.get(t, t) for t in expected)
    return _TYPE_NAMES.get(expected, expected)


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


class _Collector:
    def __init__(self, file: str, located: Located, root: str = "the scenario"):
        self.file = file
        self.located = located
        self.root = root  # what the document is called in its own problems
        self.problems: list[Problem] = []
        self.more: Problem | None = None  # the first problem past MAX_PROBLEMS
        self.mistyped: set = set()  # paths of values of the wrong type, or not one of the choices
        self.missing: set = set()  # (path, key) of the missing required keys said

    @property
    def full(self) -> bool:
        return self.more is not None

    def add(self, path, message: str, key: bool = False) -> None:
        if self.more is not None:
            return
        line, col = self.located.where(tuple(path), key=key)
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(self.file, line, col, message, tuple(path)))
        elif self.more is None:
            self.more = Problem(self.file, line, col, f"more problems, from here on, are not listed (at most "
                                                      f"{MAX_PROBLEMS} are): {message}", tuple(path))

    def error(self) -> ScenarioError:
        return ScenarioError(self.problems, self.more)

    # -- schema errors -----------------------------------------------------------------
    def schema_error(self, error: jsonschema.ValidationError) -> None:
        path = tuple(error.absolute_path)
        where = show_path(path, self.root)
        kind, schema, instance = error.validator, error.schema, error.instance
        if kind in ("type", "enum"):  # {"enum": [1, 2], "type": "integer"}: one complaint about a value
            if path in self.mistyped:
                return
            self.mistyped.add(path)
        shown = "***" if _SECRET_PARTS & set(path) else _short(instance)  # a mistyped password is still one
        if kind == "additionalProperties":
            allowed = sorted(schema.get("properties", {}))
            for extra in sorted(set(instance) - set(allowed)):
                hint = _did_you_mean(extra, allowed)
                self.add(
                    path + (extra,),
                    f"{where}: unknown key {extra!r}{hint} (allowed: {', '.join(allowed)})",
                    key=True,
                )
            return
        if kind == "required":  # one error per missing key, each with the whole list
            for name in error.validator_value:
                if name not in instance and (path, name) not in self.missing:
                    self.missing.add((path, name))
                    self.add(path, f"{where}: missing required key {name!r}")
            return
        if kind in ("anyOf", "oneOf"):
            branch = self._matching_branch(error)
            # descend into the alternative only when it says more than our own message would
            if branch is not None and ("x-message" not in schema or any(
                    s.relative_path or s.validator in ("additionalProperties", "required") for s in branch)):
                for sub in branch:
                    self.schema_error(sub)
                return
        if kind == "not" and "x-message" not in schema:  # the only `not` in the schema: NO_CONTROL
            self.add(path, f"{where} must be printable ASCII text, without line breaks or other control "
                           f"characters (it goes into an HTTP request's headers), got {shown}")
            return
        if "x-message" in schema:
            got = f"{len(instance)} entries" if kind in ("minItems", "maxItems") and any(
                isinstance(x, (dict, list)) for x in instance) else shown
            self.add(path, f"{where} {schema['x-message']}, got {got}")
            return
        if kind == "type":
            self.add(path, f"{where} must be {_type_name(error.validator_value)}, got {shown}")
        elif kind == "enum":
            options = ", ".join(str(o) for o in error.validator_value)
            hint = _did_you_mean(instance, error.validator_value) if isinstance(instance, str) else ""
            self.add(path, f"{where} must be one of: {options}; got {shown}{hint}")
        elif kind == "const":
            self.add(path, f"{where} must be {error.validator_value!r}, got {shown}")
        elif kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            op = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}[kind]
            self.add(path, f"{where} must be {op} {error.validator_value}, got {shown}")
        elif kind == "minItems":
            self.add(path, f"{where} must have at least {error.validator_value} item(s), got {len(instance)}")
        elif kind == "maxItems":
            self.add(path, f"{where} must have at most {error.validator_value} item(s), got {len(instance)}")
        elif kind == "minLength":
            self.add(path, f"{where} must not be empty")
        elif kind == "maxLength":
            self.add(path, f"{where} must be 1 to {error.validator_value} characters, got {len(instance)}")
        elif kind == "uniqueItems":
            self.add(path, f"{where} must not repeat an item")
        else:
            self.add(path, f"{where}: {error.message}")

    @staticmethod
    def _matching_branch(error: jsonschema.ValidationError):
        """Sub-errors of the one alternative whose type fits the value, if exactly one does."""
        by_branch: dict[int, list] = {}
        for sub in error.context or ():
            by_branch.setdefault(sub.relative_schema_path[0], []).append(sub)
        fitting = []
        for index in range(len(error.validator_value)):
            subs = by_branch.get(index, [])
            if not any(s.validator == "type" and not s.relative_path for s in subs):
                fitting.append(subs)
        if len(fitting) == 1 and fitting[0]:
            return fitting[0]
        return None


def _fps(value) -> Fraction:
    return Fraction(str(value)).limit_denominator(1000)


class _Builder:
    """Semantic checks and conversion of schema-valid data into the model."""

    def __init__(self, c: _Collector):
        self.c = c

    def duration(self, data: dict, key: str, path, default: int | None = None) -> int | None:
        if key not in data:
            return default
        try:
            return parse_duration(data[key])
        except ValueError as exc:
            self.c.add(path + (key,), f"{show_path(path + (key,))}: {exc}")
            return default

    def duration_or(self, data: dict, key: str, path, default: int) -> int:
        found = self.duration(data, key, path, default)
        return default if found is None else found

    def timeout(self, data: dict, key: str, path, default: int) -> int:
        """A libcurl timeout: whole milliseconds in a C long, and 0 would mean none at all."""
        found = self.duration_or(data, key, path, default)
        if not MIN_TIMEOUT_US <= found <= MAX_TIMEOUT_US:
            self.c.add(path + (key,), f"{show_path(path + (key,))} must be from 1ms to 24h, got {data[key]!r}")
            return default
        return found

    def build(self, data: dict, file: str) -> Scenario:
        camera = self.camera(data.get("camera", {}), data.get("seed", 0))
        start_us = None
        if data.get("start") is not None:
            try:
                start_us = parse_start(data["start"], camera_zone(camera.timezone))
            except ValueError as exc:
                self.c.add(("start",), f"start: {exc}")
        recognition = self.recognition(data.get("recognition", {}))
        zones = self.zones(data["zones"], camera)
        vehicles = tuple(
            self.vehicle(v, ("vehicles", i), camera, recognition) for i, v in enumerate(data.get("vehicles", []))
        )
        zone_ids = {z.id for z in zones}
        traffic = tuple(self.flow(f, ("traffic", i), zone_ids) for i, f in enumerate(data.get("traffic", [])))
        lists = self.lists(data.get("lists", {}), recognition)
        profiles = self.profiles(data.get("profiles"), camera)
        heartbeat = self.heartbeat(data["heartbeat"]) if "heartbeat" in data else None
        photos = self.photos(data["images"]["photos"], file) if "photos" in data.get("images", {}) else ()
        faults = self.faults(data.get("faults", []), camera, profiles, recognition, data.get("seed", 0))
        return Scenario(
            name=data.get("name", FsPath(file).stem),
            seed=data.get("seed", 0),
            start_us=start_us,
            camera=camera,
            recognition=recognition,
            zones=zones,
            vehicles=vehicles,
            traffic=traffic,
            lists=lists,
            profiles=profiles,
            heartbeat=heartbeat,
            photos=photos,
            image_seed=data.get("images", {}).get("seed"),
            faults=faults,
            source=file,
        )

    def camera(self, d: dict, seed: int) -> Camera:
        base = Camera()
        width, height = d.get("resolution", (base.width, base.height))
        geotag = d.get("geotag", {})
        folders = d.get("image_folders", {})
        serial = d.get("serial", base.serial)
        path = ("camera",)
        zone = d.get("timezone", base.timezone)
        if "timezone" in d and camera_zone(zone) is None:
            self.c.add(path + ("timezone",), f"camera.timezone: unknown time zone {zone!r}"
                       f"{_did_you_mean(zone, sorted(zone_names()))} (an IANA name such as Europe/Prague)")
        gen = generation(d.get("firmware", base.firmware))
        phase = d.get("frame_phase", "seeded" if gen.frame_phase else 0)
        if phase == "seeded":
            phase_us = 1 + Rng(seed, "frame-phase").index(999)  # never 0: real frame times have sub-ms digits
        else:
            phase_us = self.duration_or(d, "frame_phase", path, 0)
            if phase_us >= 1000:
                self.c.add(path + ("frame_phase",), "camera.frame_phase must be under 1ms (it is the frame clock's "
                                                    "sub-millisecond phase)")
        delay = gen.save_delay_us
        if "image_save_delay" in d:
            try:
                delay = (parse_duration(d["image_save_delay"][0]), parse_duration(d["image_save_delay"][1]))
            except ValueError as exc:
                self.c.add(path + ("image_save_delay",), f"camera.image_save_delay: {exc}")
            if delay[0] > delay[1]:
                self.c.add(path + ("image_save_delay",), "camera.image_save_delay must be [min, max] with min <= max")
        return Camera(
            device_id=d.get("device_id", base.device_id),
            serial=serial,
            model=d.get("model", base.model),
            mac=d.get("mac", serial if "serial" in d else base.mac),
            ip=d.get("ip", base.ip),
            lat=float(geotag.get("lat", base.lat)),
            lon=float(geotag.get("lon", base.lon)),
            geo_target=d.get("geo_target", base.geo_target),
            width=width,
            height=height,
            fps=_fps(d.get("fps", 10)),
            plate_folder=folders.get("plate", base.plate_folder),
            vehicle_folder=folders.get("vehicle", base.vehicle_folder),
            timezone=zone,
            firmware=gen.name,
            recognises=tuple(d.get("recognises", gen.recognises)),
            mac_format=d.get("mac_format", gen.mac_format),
            storage=d.get("storage", gen.storage),
            make_key=d.get("make_key", base.make_key),
            plate_crop_name=d.get("plate_crop_name", base.plate_crop_name),
            image_array_type=d.get("image_array_type", base.image_array_type),
            relative_coordinates=d.get("relative_coordinates", gen.relative_coordinates),
            plate_image_size=d.get("plate_image_size", gen.plate_image_size),
            frame_phase_us=phase_us,
            image_save_delay_us=delay,
            lost_images=d.get("lost_images", gen.lost_images),
            camera_id=d.get("camera_id", serial),
        )

    def recognition(self, d: dict) -> Recognition:
        path = ("recognition",)
        base = Recognition()
        return Recognition(
            lost_timeout_us=self.duration_or(d, "lost_timeout", path, base.lost_timeout_us),
            direction_min_travel=float(d.get("direction_min_travel", base.direction_min_travel)),
            update_interval_us=self.duration_or(d, "update_interval", path, base.update_interval_us),
            first_car_id=d.get("first_car_id", base.first_car_id),
            keep_separators=d.get("plate_separators", "strip") == "keep",
            fold_ascii=d.get("plate_ascii", "unfolded") == "folded",
            reliable_confidence=float(d.get("reliable_confidence", base.reliable_confidence)),
            reliable_timeout_us=self.duration_or(d, "reliable_timeout", path, base.reliable_timeout_us),
        )

    def _inside_frame(self, point, path, camera: Camera, what: str) -> None:
        x, y = point
        if not (0 <= x <= camera.width and 0 <= y <= camera.height):
            self.c.add(
                path,
                f"{show_path(path)}: {what} [{x}, {y}] is outside the {camera.width}x{camera.height} frame",
            )

    def zones(self, items: list, camera: Camera) -> tuple[Zone, ...]:
        zones = []
        seen: set[int] = set()
        for i, d in enumerate(items):
            path = ("zones", i)
            if d["id"] in seen:
                self.c.add(path + ("id",), f"{show_path(path + ('id',))}: zone id {d['id']} is used twice")
            seen.add(d["id"])
            polygon = tuple((float(x), float(y)) for x, y in d["polygon"])
            for j, point in enumerate(polygon):
                self._inside_frame(point, path + ("polygon", j), camera, "point")
            if geometry.polygon_area(polygon) <= 0.0:
                self.c.add(path + ("polygon",), f"{show_path(path + ('polygon',))}: the polygon has no area")
            zones.append(Zone(id=d["id"], polygon=polygon, direction=float(d["direction"]) % 360.0))
        return tuple(sorted(zones, key=lambda z: z.id))

    def vehicle(self, d: dict, path, camera: Camera, recognition: Recognition) -> VehicleSpec:
        timed = any(isinstance(w, dict) and "time" in w for w in d["path"])
        waypoints = self.timed_path(d["path"], path, camera) if timed else []
        for j, w in enumerate(() if timed else d["path"]):
            wpath = path + ("path", j)
            if isinstance(w, dict):
                point = w["at"]
                wait = self.duration_or(w, "wait", wpath, 0)
                ppath = wpath + ("at",)
            else:
                point, wait, ppath = w, 0, wpath
            self._inside_frame(point, ppath, camera, "path point")
            waypoints.append(Waypoint(float(point[0]), float(point[1]), wait))
        moves = any((a.x, a.y) != (b.x, b.y) for a, b in zip(waypoints, waypoints[1:]))
        has_duration, has_speed = "duration" in d, "speed" in d
        where = show_path(path)
        if timed and (has_duration or has_speed):
            key = "speed" if has_speed else "duration"
            self.c.add(path + (key,), f"{where}: a timed path (its points have `time`) takes its timing from "
                                      f"them; remove {key}", key=True)
        elif has_duration and has_speed:
            self.c.add(path + ("speed",), f"{where}: give either duration or speed, not both", key=True)
        elif moves and not (has_duration or has_speed or timed):
            self.c.add(path + ("path",), f"{where}: a path that moves needs duration (e.g. 4s) or speed (pixels/second)")
        duration = self.duration(d, "duration", path)
        if moves and duration == 0:
            self.c.add(path + ("duration",), f"{where}.duration must be more than 0 for a path that moves")
        hidden = []
        for j, (a, b) in enumerate(d.get("hidden", [])):
            hpath = path + ("hidden", j)
            try:
                start, end = parse_duration(a), parse_duration(b)
            except ValueError as exc:
                self.c.add(hpath, f"{show_path(hpath)}: {exc}")
                continue
            if end <= start:
                self.c.add(hpath, f"{show_path(hpath)}: the interval must end after it starts, got [{a}, {b}]")
            hidden.append((start, end))
        reads = []
        raw_reads = d.get("reads", [])
        for j, r in enumerate(raw_reads):
            rpath = path + ("reads", j)
            last = j == len(raw_reads) - 1
            if last and "for" in r:
                self.c.add(rpath + ("for",), f"{show_path(rpath)}: the last read lasts to the end; remove `for`", key=True)
            if not last and "for" not in r:
                self.c.add(rpath, f"{show_path(rpath)}: every read but the last needs `for` (how long it lasts)")
            for_us = self.duration(r, "for", rpath)
            if not last and for_us == 0:
                self.c.add(rpath + ("for",), f"{show_path(rpath)}.for must be more than 0")
            reads.append(Read(r["text"], r.get("confidence", -1.0), None if last else for_us))
        plate_size = (float(d["plate_size"][0]), float(d["plate_size"][1])) if "plate_size" in d else None
        return VehicleSpec(
            plate=d["plate"],
            country=d.get("country", "CZE"),
            at_us=self.duration_or(d, "at", path, 0),
            path=tuple(waypoints),
            speed=float(d["speed"]) if has_speed else None,
            duration_us=duration,
            hidden=tuple(hidden),
            reads=tuple(reads),
            region=d.get("region"),
            region_code=d.get("region_code"),
            iso3166_2=d.get("iso3166_2", ""),
            brand=d.get("brand", ""),
            model=d.get("model", ""),
            color=d.get("color", ""),
            type=d.get("type", "CAR"),
            view=d.get("view"),
            confidence_mmr=d.get("confidence_mmr"),
            confidence_color=d.get("confidence_color"),
            plate_size=plate_size,
        )

    def timed_path(self, raw: list, path, camera: Camera) -> list[Waypoint]:
        """A path whose points carry `time` (after the vehicle's `at`): every point has one, the first
        may leave it out (0), they increase; the vehicle waits by being at one point at two times."""
        waypoints: list[Waypoint] = []
        before: tuple[int, object] | None = None  # the previous point's time, and as written
        for j, w in enumerate(raw):
            wpath = path + ("path", j)
            where = show_path(wpath)
            parsed: int | None = 0  # None: a time that is not a duration (said already)
            if not isinstance(w, dict) or "time" not in w:
                point = w["at"] if isinstance(w, dict) else w
                ppath = wpath + ("at",) if isinstance(w, dict) else wpath
                self._inside_frame(point, ppath, camera, "path point")
                if j > 0:
                    self.c.add(wpath, f"{where}: in a timed path every point has a time: {{at: [x, y], time: "
                                      f"DURATION}} (only the first may leave it out, meaning 0)")
                time_us, shown = 0, "0s"
            else:
                point = w["at"]
                self._inside_frame(point, wpath + ("at",), camera, "path point")
                parsed = self.duration(w, "time", wpath)  # None: not a duration, said already
                time_us, shown = (0 if parsed is None else parsed), w["time"]
                if parsed is None:
                    pass  # its order cannot be judged: no second message about it
                elif j == 0 and time_us != 0:
                    self.c.add(wpath + ("time",), f"{where}.time must be 0 (or left out): the first point is "
                                                  f"where the vehicle is at its `at`, got {shown!r}")
                elif before is not None and time_us <= before[0]:
                    self.c.add(wpath + ("time",), f"{where}.time must be later than the time of the point "
                                                  f"before ({before[1]!r}), got {shown!r}")
            if isinstance(w, dict) and "wait" in w:
                self.c.add(wpath + ("wait",), f"{where}: a timed path waits by repeating the point with a "
                                              f"later time; remove wait", key=True)
            if parsed is not None and (before is None or time_us > before[0]):
                before = (time_us, shown)
            waypoints.append(Waypoint(float(point[0]), float(point[1]), 0, time_us))
        return waypoints

    def rate(self, d: dict, path) -> float:
        """d["rate"] per second, within (0, MAX_RATE_PER_S]."""
        rate = parse_rate(d["rate"])
        if not 0 < rate <= MAX_RATE_PER_S:
            self.c.add(path + ("rate",), f"{show_path(path)}.rate must be more than 0 and at most {MAX_RATE_PER_S}/s "
                                         f"({MAX_RATE_PER_S * 3600}/h), got {d['rate']!r}")
        return rate

    def from_until(self, d: dict, path) -> tuple[int, int | None]:
        """d's `from` (default 0) and `until` (default None: no end), until later than from."""
        start = self.duration_or(d, "from", path, 0)
        until = self.duration(d, "until", path)
        if until is not None and until <= start:
            self.c.add(path + ("until",), f"{show_path(path)}.until must be later than from")
        return start, until

    def flow(self, d: dict, path, zone_ids: set[int]) -> Flow:
        where = show_path(path)
        if d["zone"] not in zone_ids:
            self.c.add(path + ("zone",), f"{where}.zone {d['zone']} is not defined in zones (defined: {sorted(zone_ids)})")
        rate = self.rate(d, path)
        start, until = self.from_until(d, path)
        direction = d.get("direction", {"in": 0.5, "out": 0.5})
        p_in, p_out = direction.get("in", 0.0), direction.get("out", 0.0)
        if p_in + p_out <= 0:
            self.c.add(path + ("direction",), f"{where}.direction needs a weight above 0 for in or out")
        speed = d.get("speed", [150, 400])
        if speed[0] > speed[1]:
            self.c.add(path + ("speed",), f"{where}.speed must be [min, max] with min <= max, got {speed}")
        countries = d.get("countries", {"CZE": 1.0})
        for code in countries:
            if code not in GENERATORS:
                self.c.add(
                    path + ("countries", code),
                    f"{where}.countries: no plate generator for {code!r}{_did_you_mean(code, GENERATORS)} "
                    f"(available: {', '.join(sorted(GENERATORS))})",
                    key=True,
                )
        if countries and sum(countries.values()) <= 0:
            self.c.add(path + ("countries",), f"{where}.countries needs a weight above 0")
        if not countries:
            self.c.add(path + ("countries",), f"{where}.countries must name at least one country")
        lateral = d.get("lateral", [-20, 20])
        if lateral[0] > lateral[1]:
            self.c.add(path + ("lateral",), f"{where}.lateral must be [min, max] with min <= max")
        total = (p_in + p_out) or 1.0
        return Flow(
            zone=d["zone"],
            rate_per_s=rate,
            from_us=start,
            until_us=until,
            p_in=p_in / total,
            speed_min=float(speed[0]),
            speed_max=float(speed[1]),
            countries=tuple((k, float(v)) for k, v in countries.items()),
            misread=self.misread(d.get("misread", 0.0), path),
            lateral=(float(lateral[0]), float(lateral[1])),
        )

    # -- faults on purpose ----------------------------------------------------------------
    def faults(self, items: list, camera: Camera, profiles: tuple[Profile, ...], recognition: Recognition,
               seed: int) -> tuple[Fault, ...]:
        out = [self.fault(d, ("faults", i), i, camera, profiles, seed) for i, d in enumerate(items)]
        built = tuple(f for f in out if f is not None)
        self._restarts_apart(built, camera)
        return built

    def _timing(self, d: dict, path, kind: str) -> Timing:
        where = show_path(path)
        given = [k for k in ("at", "during", "rate", "share") if k in d]
        whole_run = kind in ("clock_drift", "wrong_timezone")
        if len(given) > 1:
            self.c.add(path + (given[1],), f"{where}: give one of at, during, rate or share, not both "
                                           f"`{given[0]}` and `{given[1]}`", key=True)
        elif not given and not whole_run:
            self.c.add(path, f"{where}: say when with one of at, during, rate or share")
        allowed = {"burst": ("during",), "clock_jump": ("at",), "clock_drift": ("during",),
                   "wrong_timezone": ("during",), "restart": ("at", "during", "rate")}.get(kind)
        if given and allowed is not None and given[0] not in allowed:
            self.c.add(path + (given[0],), f"{where}: a {kind} is timed by {' or '.join(allowed)}, not "
                                           f"`{given[0]}`", key=True)
        for key in ("from", "until"):
            if key in d and not ({"rate", "share"} & set(d)):
                self.c.add(path + (key,), f"{where}.{key} bounds a rate or a share; with at or during it "
                                          "says nothing", key=True)
        during = None
        if "during" in d:
            try:
                start, end = parse_duration(d["during"][0]), parse_duration(d["during"][1])
            except ValueError as exc:
                self.c.add(path + ("during",), f"{where}.during: {exc}")
                start, end = 0, 1
            if end <= start:
                self.c.add(path + ("during",), f"{where}.during must be [start, end] with start before end")
            during = (start, end)
        rate = self.rate(d, path) if "rate" in d else None
        start_us, until_us = self.from_until(d, path)
        return Timing(at_us=self.duration(d, "at", path), during_us=during, rate_per_s=rate,
                      share=float(d["share"]) if "share" in d else None, from_us=start_us, until_us=until_us)

    def fault(self, d: dict, path, index: int, camera: Camera, profiles: tuple[Profile, ...],
              seed: int) -> Fault | None:
        kind = d["type"]
        where = show_path(path)
        timing = self._timing(d, path, kind)
        defined = {p.id: p for p in profiles}
        chosen = list(defined.values())
        if kind in V.CAMERA_FAULTS:
            for key in ("profiles", "events"):
                if key in d:
                    self.c.add(path + (key,), f"{where}: a {kind} is a fault of the whole camera; it takes no "
                                              f"`{key}`", key=True)
        elif "profiles" in d:
            for i, pid in enumerate(d["profiles"]):
                if pid not in defined:
                    self.c.add(path + ("profiles", i), f"{where}.profiles: profile {pid} is not defined "
                                                       f"(profiles: {', '.join(str(p) for p in sorted(defined))})")
            chosen = [defined[p] for p in d["profiles"] if p in defined]
        spec = self._fault_spec(d, path, kind, camera, chosen)
        if spec is None:
            return None
        events = frozenset(d["events"]) if "events" in d else None
        fault_seed = d["seed"] if "seed" in d else Rng(seed, "fault", index).index(2**31)
        return Fault(index=index, type=kind, name=d.get("name", kind), timing=timing, spec=spec,
                     profiles=frozenset(d["profiles"]) if "profiles" in d and kind not in V.CAMERA_FAULTS else None,
                     events=events, seed=fault_seed)

    def _needs(self, path, kind: str, chosen: list[Profile], test, what: str) -> bool:
        if any(test(p) for p in chosen):
            return True
        article = "an" if kind[0] in "aeiou" else "a"
        self.c.add(path, f"{show_path(path)}: {article} {kind} needs {what} among the profiles it applies to")
        return False

    def _fault_spec(self, d: dict, path, kind: str, camera: Camera, chosen: list[Profile]) -> FaultSpec | None:
        where = show_path(path)
        if kind == "duplicate":
            return Duplicate(delay_us=self.duration_or(d, "delay", path, 0), copies=d.get("copies", 1))
        if kind == "reorder":
            return Reorder(window=d.get("window", 3))
        if kind == "burst":
            during = d.get("during")
            if during is not None:
                try:
                    held = parse_duration(during[1]) - parse_duration(during[0])
                except ValueError:
                    held = 0
                if held > 3600 * 1_000_000:  # every packet of the outage is held in memory
                    self.c.add(path + ("during",), f"{where}.during: a burst's outage lasts at most 1h (its "
                                                   "packets are held until it ends)")
            return Burst(coalesce=d.get("coalesce", False))
        if kind == "restart":
            down = self.duration_or(d, "down", path, Restart().down_us)
            if "during" in d and "down" in d:
                self.c.add(path + ("down",), f"{where}: `during` already says how long the camera is down; "
                                             "leave out `down`", key=True)
            frame_us = math.ceil(Fraction(1_000_000) / camera.fps)
            if down < frame_us:
                self.c.add(path + ("down",), f"{where}.down must be at least one frame "
                                             f"({frame_us / 1000:g}ms), got {d.get('down')!r}")
            if "rate" in d and parse_rate(d["rate"]) > 1 / 60:
                self.c.add(path + ("rate",), f"{where}.rate: a camera restarts at most once a minute (60/h), "
                                             f"got {d['rate']!r}")
            for keep, first in (("counters", "first_packet_counter"), ("car_ids", "first_car_id")):
                if d.get(keep) == "keep" and first in d:
                    self.c.add(path + (first,), f"{where}.{first} says where {keep} start again, but {keep}: keep",
                               key=True)
            return Restart(down_us=down, counters=d.get("counters", "restart"),
                           first_packet_counter=d.get("first_packet_counter"), car_ids=d.get("car_ids", "restart"),
                           first_car_id=d.get("first_car_id"))
        if kind == "clock_jump":
            try:
                by = parse_signed_duration(d.get("by", "+1h"))
            except ValueError as exc:
                self.c.add(path + ("by",), f"{where}.by: {exc}")
                by = 1
            if by == 0:
                self.c.add(path + ("by",), f"{where}.by must not be 0 (a jump of nothing)")
            return ClockFault(kind, by_us=by)
        if kind == "clock_drift":
            return ClockFault(kind, ppm=float(d.get("ppm", 50)))
        if kind == "wrong_timezone":
            zone = d.get("timezone", "")
            if not zone:
                self.c.add(path, f"{where}: say which zone the camera wrongly uses: timezone: (an IANA name such as "
                                 "America/New_York)")
            elif camera_zone(zone) is None:
                self.c.add(path + ("timezone",), f"{where}.timezone: unknown time zone {zone!r}"
                                                 f"{_did_you_mean(zone, sorted(zone_names()))}")
            elif zone == camera.timezone:
                self.c.add(path + ("timezone",), f"{where}.timezone is the camera's own ({zone}): no fault")
            return ClockFault(kind, timezone=zone)
        if kind in V.HTTP_WIRE_FAULTS:
            http = self._needs(path, kind, chosen, lambda p: p.protocol == "http", "an http profile")
            for p in chosen:
                if p.protocol == "http" and p.auth is not None and p.auth.type == "digest":
                    self.c.add(path, f"{where}: a {kind} cannot be sent with Digest authentication "
                                     f"(profile {p.id}); ffsim writes the cut request itself")
                if p.protocol == "http" and (p.url or "").lower().startswith("https://"):
                    self.c.add(path, f"{where}: a {kind} is written over plain HTTP; profile {p.id} sends to "
                                     "https://")
            cut = d.get("cut")
            if "cut" in d and "cut_after" in d:
                self.c.add(path + ("cut_after",), f"{where}: give cut or cut_after, not both", key=True)
            if kind == "truncated_multipart" and http:
                self._needs(path, kind, chosen, lambda p: p.protocol == "http" and p.format == "multipart",
                            "a multipart http profile")
            return WireFault(kind, cut=None if cut in (None, "image") else float(cut), cut_after=d.get("cut_after"),
                             cut_image=kind == "truncated_multipart" and "cut_after" not in d and cut in (None, "image"),
                             chunk=d.get("chunk", 64), every_us=self.duration_or(d, "every", path, 100_000),
                             head=d.get("head", "normal"))
        if kind in V.TCP_WIRE_FAULTS:
            self._needs(path, kind, chosen, lambda p: p.protocol == "tcp", "a tcp profile")
            return WireFault(kind, pieces=d.get("pieces", 8), pause_us=self.duration_or(d, "pause", path, 20_000),
                             documents=d.get("documents", 3))
        if kind in V.IMAGE_FAULTS:
            self._needs(path, kind, chosen, lambda p: p.image_kind != "none", "a profile that sends an image")
            size = 0
            if kind == "oversized_image":
                size = parse_size(d.get("size", "8MB"))
                if not 0 < size <= MAX_OVERSIZED:
                    self.c.add(path + ("size",), f"{where}.size must be more than 0 and at most 64MiB, "
                                                 f"got {d.get('size')!r}")
            return PayloadFault(kind, size=size, how=d.get("how", "garbage"))
        keys = generation(camera.firmware).keys
        if kind == "invalid_utf8_plate":
            name = d.get("field", "plateUTF8")
            if name not in keys:
                self.c.add(path + ("field",), f"{where}.field: firmware {camera.firmware} has no {name!r}")
            data = bytes.fromhex(d.get("bytes", "ff"))
            try:
                data.decode("utf-8")
                valid = True
            except UnicodeDecodeError:
                valid = False
            if valid or any(b < 0x20 or b in b'"\\' for b in data):
                self.c.add(path + ("bytes",), f"{where}.bytes must not be valid UTF-8 (it would be no fault) nor hold "
                                              f"a control character, \" or \\ (they would break the JSON, not the "
                                              f"text), got {d.get('bytes')!r}")
            return PayloadFault(kind, field=name, data=data)
        name = d.get("field", "plateUTF8" if kind == "missing_field" else "carID")
        top, _, inner = name.partition(".")
        gen = generation(camera.firmware)
        nested = {"vehicle_info": gen.vehicle_info_keys(camera.recognises, camera.make_key),
                  "camera_info": tuple(k for k in gen.camera_info if k)}
        if top not in keys:
            self.c.add(path + ("field",), f"{where}.field: firmware {camera.firmware} payloads have no "
                                          f"{top!r}{_did_you_mean(top, keys)}")
        elif inner and (top not in nested or inner not in nested[top]):
            inside = nested.get(top, ())
            self.c.add(path + ("field",), f"{where}.field: firmware {camera.firmware}'s {top} has no {inner!r}"
                                          f"{_did_you_mean(inner, inside)}" + (
                                              f" (it has: {', '.join(inside)})" if inside else " (it holds no keys)"))
        return PayloadFault(kind, field=name, as_type=d.get("as", "number" if kind == "wrong_type" else ""))

    def _restarts_apart(self, faults: tuple[Fault, ...], camera: Camera) -> None:
        """Restart windows given by at or during must not overlap (a camera cannot go dark twice at once)."""
        windows = []
        for f in faults:
            if f.type != "restart" or f.timing.rate_per_s is not None:
                continue
            assert isinstance(f.spec, Restart)
            if f.timing.during_us is not None:
                start, end = f.timing.during_us
            else:
                start = f.timing.at_us or 0
                end = start + f.spec.down_us
            windows.append((start, end, f.index))
        windows.sort()
        for (_, end, _), (start, _, index) in zip(windows, windows[1:]):
            if start < end:
                self.c.add(("faults", index), f"{show_path(('faults', index))}: this restart begins while the "
                                              "camera is still down from an earlier one")

    def misread(self, value, path) -> tuple[tuple[str, float], ...]:
        """Shares of misread kinds; a bare number is the share of substitutions."""
        shares = {"substitution": float(value)} if isinstance(value, (int, float)) else dict(value)
        if sum(shares.values()) > 1.0 + 1e-9:
            self.c.add(path + ("misread",), f"{show_path(path + ('misread',))}: the shares add up to more than 1")
        return tuple((kind, float(share)) for kind, share in shares.items() if share > 0)

    def lists(self, d: dict, recognition: Recognition) -> Lists:
        def entries(name: str) -> tuple[ListEntry, ...]:
            out = []
            for e in d.get(name, []):
                if isinstance(e, str):
                    out.append(ListEntry(e))
                else:
                    out.append(ListEntry(e["plate"], e.get("description", "")))
            return tuple(out)

        return Lists(entries("allow"), entries("block"), entries("custom"), d.get("match", "soft") == "strict")

    PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")

    def photos(self, folder: str, file: str) -> tuple[str, ...]:
        path = (FsPath(file).parent / folder).resolve()
        where = ("images", "photos")
        if not path.is_dir():
            self.c.add(where, f"images.photos: {folder!r} is not a folder (relative to the scenario file)")
            return ()
        found = sorted(str(p) for p in path.iterdir() if p.suffix.lower() in self.PHOTO_SUFFIXES and p.is_file())
        if not found:
            self.c.add(where, f"images.photos: no .jpg, .png or .bmp files in {folder!r}")
        return tuple(found)

    def _auth(self, d: dict) -> tuple[Auth | None, Auth | None]:
        auth = Auth(d["auth"]["type"], d["auth"]["user"], d["auth"]["password"]) if "auth" in d else None
        header = (Auth("header", "", d["auth_header"]["value"], d["auth_header"].get("name", "X-Auth-Key"))
                  if "auth_header" in d else None)
        return auth, header

    def heartbeat(self, d: dict) -> Heartbeat:
        path = ("heartbeat",)
        if d.get("url") is not None:
            problem = target_problem("http", d["url"])
            if problem:
                self.c.add(path + ("url",), f"heartbeat.url: {problem}")
        base = Heartbeat()
        period = self.duration_or(d, "period", path, base.period_us)
        if period < 1_000_000:
            self.c.add(path + ("period",), "heartbeat.period must be at least 1s (the camera offers 5m to daily)")
        auth, header = self._auth(d)
        return Heartbeat(d.get("url"), period, tuple(d.get("fields", ())), d.get("firmware", base.firmware),
                         d.get("anpr_version", base.anpr_version), auth, header, d.get("ca_file"),
                         d.get("insecure", False))

    def profiles(self, items: list | None, camera: Camera) -> tuple[Profile, ...]:
        gen = generation(camera.firmware)
        if not items:
            return (Profile(image_format=gen.image_format),)
        out = []
        seen: set[int] = set()
        for i, d in enumerate(items):
            path = ("profiles", i)
            if d["id"] in seen:
                self.c.add(path + ("id",), f"{show_path(path + ('id',))}: profile id {d['id']} is used twice")
            seen.add(d["id"])
            protocol = d.get("protocol", "http")
            url = d.get("url")
            if url is not None:
                problem = target_problem(protocol, url)
                if problem:
                    self.c.add(path + ("url",), f"{show_path(path + ('url',))}: {problem}")
            if d.get("ca_file") is not None and d.get("insecure"):
                self.c.add(path + ("insecure",), f"{show_path(path)}: give ca_file or insecure, not both", key=True)
            base = Profile()
            events = d.get("events", DEFAULT_EVENTS)
            if RELIABLE in events and not gen.reliable:
                self.c.add(path + ("events",), f"{show_path(path + ('events',))}: firmware {gen.name} sends no "
                                               "Reliable event (2024-lpv, 2024-cammra and documented do)")
            out.append(
                Profile(
                    id=d["id"],
                    protocol=protocol,
                    url=url,
                    events=frozenset(events),
                    device_id=d.get("device_id"),
                    format=d.get("format", "multipart"),
                    image=d.get("image"),
                    image_format=d.get("image_format", gen.image_format),
                    second_image=d.get("second_image", False),
                    buffer=d.get("buffer", True),
                    buffer_size=d.get("buffer_size", base.buffer_size),
                    auth=self._auth(d)[0],
                    auth_header=self._auth(d)[1],
                    ca_file=d.get("ca_file"),
                    insecure=d.get("insecure", False),
                    framing=d.get("framing", base.framing),
                    connect_timeout_us=self.timeout(d, "connect_timeout", path, base.connect_timeout_us),
                    timeout_us=self.timeout(d, "timeout", path, base.timeout_us),
                    user_agent=d.get("user_agent"),
                    json_filename=d.get("json_filename", base.json_filename),
                    image_filename=d.get("image_filename", base.image_filename),
                    boundary=d.get("boundary"),
                    json_content_type=d.get("json_content_type", base.json_content_type),
                    expect_threshold=d.get("expect_threshold", base.expect_threshold),
                    first_packet_counter=d.get("first_packet_counter", base.first_packet_counter),
                    retry_on=tuple(str(x) for x in d.get("retry_on", base.retry_on)),
                    image_quality=d.get("image_quality", base.image_quality),
                )
            )
        return tuple(sorted(out, key=lambda p: p.id))


def load_scenario(source: str | os.PathLike | Scenario | Mapping) -> Scenario:
    """Read, validate and convert one scenario file; raise ScenarioError on any problem.

    A Scenario is returned as it is and a dict goes to scenario_from_dict, so that whatever takes a
    scenario takes any of the three. A str is always a path: YAML text goes to scenario_from_text.
    """
    if isinstance(source, Scenario):
        return source
    if isinstance(source, Mapping):
        return scenario_from_dict(source)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"load_scenario takes a path (str or pathlib.Path), a dict or a Scenario, "
                        f"not {type(source).__name__}")
    file = os.fsdecode(os.fspath(source))
    try:
        raw = read_bounded(file)
    except OSError as exc:
        raise ScenarioError([Problem(file, 1, 1, f"cannot read the file: {exc.strerror or exc}")]) from None
    return _from_bytes(file, raw, "file")


def read_bounded(file: str) -> bytes:
    """A file's bytes, at most MAX_FILE_BYTES + 1 of them (so that a larger file can be told):
    bounded, so that /dev/zero or a huge file is not read forever, and not blocking, so that
    a named pipe nobody writes to does not hang validate. Raises OSError."""
    with open(os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb") as f:
        return f.read(MAX_FILE_BYTES + 1) or b""


def scenario_from_text(text: str | bytes | Scenario, source: str = "<text>") -> Scenario:
    """Validate and convert scenario YAML text; problems are SOURCE:LINE:COL: message.

    source names the text in problems and becomes Scenario.source (and Scenario.name when the text
    has no name:); images.photos is relative to the current directory.
    """
    if isinstance(text, Scenario):
        return text
    if isinstance(text, (bytes, bytearray)):
        return _from_bytes(source, bytes(text), "text")
    if not isinstance(text, str):
        raise TypeError(f"scenario_from_text takes YAML text (str or bytes), not {type(text).__name__}")
    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError([_too_large(source, "text")])
    return _without_gc(_from_text, source, text.removeprefix("\ufeff"))


def scenario_from_dict(data: Mapping | Scenario, source: str = "<dict>") -> Scenario:
    """Validate and convert a scenario given as Python data: the YAML's keys and values.

    The same schema and checks as a file; problems are SOURCE: key.path: message. Lists may be
    tuples; a number where the format wants text is taken as its text (as YAML takes an unquoted
    one); a datetime is taken as its ISO 8601 text (start) and a timedelta as a duration. The data
    is copied, never changed. source is as for scenario_from_text.
    """
    if isinstance(data, Scenario):
        return data
    return _without_gc(_from_dict, source, data)


def _too_large(file: str, what: str) -> Problem:
    return Problem(file, 1, 1, f"the {what} is larger than {MAX_FILE_BYTES // 1_000_000} MB; "
                               f"a scenario is a short text{' file' if what == 'file' else ''}")


def _without_gc(function, *args):
    # hundreds of thousands of small containers and no cycles worth collecting: the collector,
    # run again and again as they are built, would take more time than the building
    collecting = gc.isenabled()
    gc.disable()
    try:
        return function(*args)
    finally:
        if collecting:
            gc.enable()


def _from_bytes(file: str, raw: bytes, what: str) -> Scenario:
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError([_too_large(file, what)])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        start = raw.rfind(b"\n", 0, exc.start) + 1
        col = len(raw[start:exc.start].decode("utf-8", "replace")) + 1  # in characters, as every other column
        raise ScenarioError([Problem(file, line, col, "the file is not UTF-8 text" if what == "file"
                                     else "the text is not UTF-8")]) from None
    return _without_gc(_from_text, file, text)


def _from_text(file: str, text: str) -> Scenario:
    try:
        located = load(text)
    except YamlProblem as exc:
        raise ScenarioError([Problem(file, exc.line, exc.column, exc.message)]) from None
    return _from_located(file, located)


def _from_dict(file: str, data: object) -> Scenario:
    if not isinstance(data, Mapping):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise ScenarioError([Problem(file, 0, 0, f"a scenario must be a mapping with version: 1 and zones:, got {kind}")])
    try:
        plain = _Plain().copy(data, (), 0)
    except _DataProblem as exc:
        raise ScenarioError([Problem(file, 0, 0, f"{show_path(exc.path)}: {exc.message}", exc.path)]) from None
    return _from_located(file, _DictLocated(plain, None, (0, 0)))


class _DictLocated(Located):
    """Python data has no lines: every position is (0, 0), and every problem names its key path."""

    def source(self, path) -> str | None:
        """A number where the schema wants text is taken as its text, as YAML takes an unquoted one."""
        value: Any = self.data
        for part in path:
            value = value[part]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        if isinstance(value, float):
            return repr(value) if math.isfinite(value) else None
        return str(value) if abs(value) <= sys.float_info.max else None  # str() of 4300+ digits fails


def duration_text(value: timedelta) -> str:
    """A timedelta as a duration of the format: 2s, 250ms, 0.125ms (exact to the microsecond)."""
    us = value // timedelta(microseconds=1)
    sign, us = ("-", -us) if us < 0 else ("", us)
    if us % 1_000_000 == 0:
        return f"{sign}{us // 1_000_000}s"
    if us % 1000 == 0:
        return f"{sign}{us // 1000}ms"
    return f"{sign}{us // 1000}.{us % 1000:03d}ms"


class _DataProblem(Exception):
    def __init__(self, path: tuple, message: str):
        super().__init__(message)
        self.path = path
        self.message = message


class _Plain:
    """A copy of Python data as YAML would have built it: dicts with text keys, lists and scalars.

    Bounded as YAML is: at most MAX_DEPTH levels and MAX_NODES values; a container in itself is refused.
    """

    def __init__(self) -> None:
        self.count = 0
        self.active: set[int] = set()  # ids of the containers being copied

    def copy(self, value: object, path: tuple, depth: int) -> object:
        self.count += 1
        if self.count > MAX_NODES:
            raise _DataProblem(path, f"too many values: a scenario holds at most {MAX_NODES} (keys included)")
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, Integral):
            if int(value).bit_length() > MAX_INT_DIGITS * 3:  # as YAML: str() of it would fail
                raise _DataProblem(path, f"an integer of more than {MAX_INT_DIGITS} digits is too long")
            return int(value)
        if isinstance(value, Real):
            return float(value)
        if isinstance(value, date):  # datetime too: the text YAML gives for a timestamp
            return value.isoformat()
        if isinstance(value, timedelta):
            return duration_text(value)
        if not isinstance(value, (Mapping, list, tuple)):
            kind = "a time of day alone" if isinstance(value, time) else type(value).__name__
            raise _DataProblem(path, f"{kind} is not a scenario value (text, a number, true or false, None, "
                                     "a list or a dict; a datetime for start, a timedelta for a duration)")
        if depth >= MAX_DEPTH:
            raise _DataProblem(path, f"nested too deeply (more than {MAX_DEPTH} levels)")
        if id(value) in self.active:
            raise _DataProblem(path, "the value contains itself")
        self.active.add(id(value))
        try:
            if not isinstance(value, Mapping):
                return [self.copy(item, path + (i,), depth + 1) for i, item in enumerate(value)]
            out = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    raise _DataProblem(path, f"a key must be text, got {_short(key)}")
                self.count += 1
                out[key] = self.copy(item, path + (key,), depth + 1)
            return out
        finally:
            self.active.discard(id(value))


def _from_located(file: str, located: Located) -> Scenario:
    collector = _Collector(file, located)
    data = located.data
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise ScenarioError([Problem(file, 1, 1, f"a scenario must be a mapping with version: 1 and zones:, got {kind}")])
    _texts_stay_texts(S.SCENARIO, data, (), located)
    for error in _VALIDATOR.iter_errors(data):
        collector.schema_error(error)
        if collector.full:
            break
    if collector.problems:
        raise collector.error()
    for problem in _finite_numbers(data, ()):
        value: Any = located.data
        for part in problem:
            value = value[part]
        if isinstance(value, str):
            what = "valid Unicode text (a \\u escape names half a character: write \\U0001xxxx)"
        elif isinstance(value, int):
            what = f"a number of at most {sys.float_info.max:.4g} in size, got one of {len(str(abs(value)))} digits"
        else:
            what = "a finite number"
        collector.add(problem, f"{show_path(problem)} must be {what}")
        if collector.full:
            break
    if collector.problems:
        raise collector.error()
    scenario = _Builder(collector).build(data, file)
    if collector.problems:
        raise collector.error()
    return scenario


def _wants_text(schema: dict) -> bool:
    return schema.get("type") == "string"


def _texts_stay_texts(schema: dict, value, path, located: Located):
    """Where the schema wants text and the YAML has an unquoted number, use the number's text.

    A plate like 5E50011 or 1234 is a number in YAML; nobody means that.
    """
    if isinstance(value, (dict, list)) and "anyOf" in schema:
        wanted = "object" if isinstance(value, dict) else "array"
        schema = next((b for b in schema["anyOf"] if b.get("type") == wanted), {})
    if isinstance(value, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key in list(value):
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if sub is not None:
                value[key] = _texts_stay_texts(sub, value[key], path + (key,), located)
        return value
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                value[i] = _texts_stay_texts(items, item, path + (i,), located)
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        branches = schema.get("anyOf", [schema])
        if any(_wants_text(b) for b in branches) and not any(b.get("type") in ("number", "integer") for b in branches):
            source = located.source(path)
            if source is not None:
                return source
    return value


def _finite_numbers(value, path):
    """Paths of values no payload can carry: inf/nan numbers, whole numbers beyond a double's
    range (float() of them fails), and lone surrogates in text."""
    if isinstance(value, float) and not math.isfinite(value):
        yield path
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > sys.float_info.max:
        yield path
    elif isinstance(value, str) and any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        yield path
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _finite_numbers(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _finite_numbers(v, path + (i,))
