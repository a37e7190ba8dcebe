"""Fleet files: many cameras, made from scenarios, against one receiver (issue 10, `ffsim load`).

A fleet file is YAML, validated like a scenario (the same machinery: every problem is
``FILE:LINE:COL: message``, unknown keys get a did-you-mean, sizes are bounded)::

    version: 1
    fleet: true                 # optional marker; a `groups:` key marks a fleet file as well
    name: rush-hour             # default: the file's name
    duration: 10m               # optional: how long the load runs (virtual time); else --until
    seed: 1                     # the fleet's seed: derives each camera's seed and seeded offsets
    targets:                    # optional; else each scenario's own profiles (or the command's --http/--tcp)
      http: [http://127.0.0.1:8080/a, http://127.0.0.1:8081/b]   # one or a list; or tcp: HOST:PORT (or a list)
    groups:                     # 1 to 1,000 groups; at most 10,000 cameras in all
      - scenario: gate.yaml     # a scenario file, relative to the fleet file (required)
        name: gate              # the group's name, {group} in patterns (default: the scenario file's stem)
        count: 50               # cameras in the group, 1 to 10,000 (default 1)
        device_id: "GATE-{n:03}"    # default "{group}-{n:03}"; sets camera.device_id and every profile's device_id
        serial: "ACCC8E{n:06X}"     # optional: camera.serial, and so its mac and cameraId (the scenario's
                                    # own mac and camera_id give way)
        mac: "ACCC8E{n:06X}"        # optional: camera.mac
        seed: "{n}"             # a whole number, a pattern giving one, or omitted: derived from the
                                # fleet's seed and the camera's index, so that cameras differ
        offset: [0s, 30s]       # the camera's t=0 after its joining: a duration, or [min, max] spread
        offset_spread: even     # even (min, ..., max by n; the default) | seeded (uniform, from the fleet's seed)
        ramp: 60s               # the group's cameras join one by one, evenly over this period
        timezone: Europe/Prague # optional: camera.timezone for every camera of the group
        firmware: 2021-lpv      # optional: camera.firmware (the generation's defaults apply, as if the
                                # scenario said it)
        faults:                 # optional: added to each camera's own faults (ffsim faults lists them);
          - {type: burst, during: [10m, 12m]}        # every camera of the group flushes at 12m
          - {type: restart, at: 5m, cameras: [1, 7]} # cameras: only these (n within the group)

Patterns are Python format strings over three names: ``n`` (1..count within the group), ``i``
(0-based index of the camera in the whole fleet) and ``group`` (the group's name); format specs
such as ``{n:03}`` or ``{n:06X}`` work, attributes and indexing do not. Device ids must come out
non-empty printable ASCII, and distinct over the fleet.

Every camera's scenario is made by the normal loader: the scenario file is read once (its
positions kept), then per camera the camera keys and the seed are replaced (and ``images.seed``
set to the file's seed unless it gives one: the cameras of a group share one road texture behind
their vehicles, drawn once rather than per camera) and the result goes
through the same schema and checks as a scenario file, so that a camera of a fleet is exactly
the scenario that file with those keys would be. A problem caused by a replaced value points at
the fleet file's key; any other problem of the scenario keeps the scenario file's position and is
followed by a line saying which group referenced it.

Time: camera k of a group with ramp R joins at ``join_us = R * (k - 1) / count`` after the start
of the load, and its scenario's t=0 is ``offset_us`` after it joins (``FleetCamera.start_us``).
Targets are spread over the cameras of the whole fleet round-robin, by index.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any

from ..units import parse_duration
from . import schema as S
from .loader import (
    MAX_FILE_BYTES,
    Problem,
    ScenarioError,
    _Collector,
    _did_you_mean,
    _from_located,
    read_bounded,
    _without_gc,
    _texts_stay_texts,
    _Validator,
    show_path,
)
from .model import Scenario
from .yamlsource import Located, YamlProblem, load

MAX_CAMERAS = S.MAX_FLEET_CAMERAS
_FLEET_VALIDATOR = _Validator(S.FLEET)
_PATTERN_NAMES = ("n", "i", "group")
_SEED_LIMIT = 2**31  # derived seeds are 0..2**31-1


@dataclass(frozen=True, slots=True)
class FleetCamera:
    index: int  # 0-based, in the whole fleet
    group: str  # the group's name
    n: int  # 1-based, within the group
    scenario: Scenario
    offset_us: int  # its scenario's t=0, after it joins
    join_us: int  # when it joins, after the start of the load
    target: tuple[str, str] | None  # ("http", URL) or ("tcp", "HOST:PORT"); None: the scenario's own

    @property
    def device_id(self) -> str:
        return self.scenario.camera.device_id

    @property
    def start_us(self) -> int:
        """When the camera's scenario t=0 is, after the start of the load."""
        return self.join_us + self.offset_us

    def sending_scenario(self) -> Scenario:
        """The scenario with every profile sending to the camera's target (as it is without one)."""
        if self.target is None:
            return self.scenario
        protocol, url = self.target
        return self.scenario.retargeted(url if protocol == "http" else None, url if protocol == "tcp" else None)


@dataclass(frozen=True, slots=True)
class Fleet:
    name: str
    duration_us: int | None  # None: none given (the command's --until decides)
    seed: int
    cameras: tuple[FleetCamera, ...]
    source: str = "<fleet>"

    def groups(self) -> list[str]:
        """The group names, in the file's order."""
        return list(dict.fromkeys(c.group for c in self.cameras))


class FleetError(ScenarioError):
    """Problems of a fleet file, in the order found (they may span the fleet and scenario files)."""

    def __init__(self, problems: list[Problem]):
        super().__init__([])
        self.problems = list(problems)
        Exception.__init__(self, "\n".join(str(p) for p in self.problems))


def is_fleet(data: object) -> bool:
    """Whether parsed YAML data is a fleet file rather than a scenario (a `fleet:` or `groups:` key)."""
    return isinstance(data, Mapping) and ("fleet" in data or "groups" in data)


def is_fleet_file(path: str | os.PathLike[str]) -> bool:
    """Whether the YAML file is a fleet file (a `fleet:` or `groups:` key) rather than a scenario.
    A file that cannot be read or parsed is not: the scenario loader then says why, with positions."""
    import yaml

    try:
        raw = read_bounded(os.fsdecode(path))
    except OSError:
        return False
    if b"fleet" not in raw and b"groups" not in raw:  # a scenario: not parsed twice (10 MB take seconds)
        return False
    try:
        data = yaml.safe_load(raw)
    except Exception:  # noqa: BLE001 - PyYAML's constructors raise assorted errors on hostile text
        return False
    return is_fleet(data)


# -- patterns -----------------------------------------------------------------------------------
class _PatternError(ValueError):
    pass


_FORMATTER = string.Formatter()


def _check_pattern(pattern: str) -> None:
    """Refuse what is not plain `{name:spec}` fields over n, i and group."""
    try:
        parts = list(_FORMATTER.parse(pattern))
    except ValueError as exc:
        raise _PatternError(f"is not a valid pattern ({exc}); write a literal brace as {{{{ or }}}}") from None
    for _literal, field, spec, _conversion in parts:
        if field is None:
            continue
        if field not in _PATTERN_NAMES:
            hint = _did_you_mean(field, _PATTERN_NAMES)
            raise _PatternError(f"names {{{field}}}{hint} (a pattern may use {{n}}, {{i}} and {{group}})")
        if spec and ("{" in spec or "}" in spec):
            raise _PatternError("must not nest fields in a format spec")
        if spec and any(len(digits) > 3 or int(digits) > S.MAX_PATTERN
                        for digits in re.findall(r"\d+", spec)):
            raise _PatternError(f"{{{field}:{spec[:20]}}}: a width or precision over {S.MAX_PATTERN} "
                                "(a device id, serial or seed is short)")


def _format(pattern: str, n: int, i: int, group: str) -> str:
    try:
        return pattern.format(n=n, i=i, group=group)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise _PatternError(f"cannot be formatted: {exc}") from None


def _device_problem(value: str) -> str | None:
    if not value:
        return "gives an empty device id"
    if len(value) > S.MAX_PATTERN or any(not 0x20 <= ord(ch) <= 0x7E for ch in value):
        return (f"gives {value[:60]!r}, not a device id: it must be 1 to {S.MAX_PATTERN} printable ASCII "
                "characters")
    return None


def derived_seed(fleet_seed: int, index: int) -> int:
    """The seed of camera `index` of a fleet whose seed is fleet_seed, when its group gives none."""
    digest = hashlib.sha256(f"ffsim-fleet/{fleet_seed}/{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % _SEED_LIMIT


def _unit(fleet_seed: int, index: int, what: str) -> float:
    digest = hashlib.sha256(f"ffsim-fleet/{fleet_seed}/{index}/{what}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


# -- reading ------------------------------------------------------------------------------------
def load_fleet(source: str | os.PathLike[str]) -> Fleet:
    """Read, validate and expand a fleet file; raise FleetError (a ScenarioError) on any problem."""
    file = os.fsdecode(os.fspath(source))
    try:
        raw = read_bounded(file)
    except OSError as exc:
        raise FleetError([Problem(file, 1, 1, f"cannot read the file: {exc.strerror or exc}")]) from None
    return fleet_from_text(raw, file, base=FsPath(file).parent)


def fleet_from_text(text: str | bytes, source: str = "<text>", base: str | os.PathLike[str] | None = None) -> Fleet:
    """Validate and expand fleet YAML text; scenario paths are relative to base (default: the current directory)."""
    if isinstance(text, (bytes, bytearray)):
        if len(text) > MAX_FILE_BYTES:
            raise FleetError([Problem(source, 1, 1, f"larger than {MAX_FILE_BYTES // 1_000_000} MB; "
                                                    "a fleet is a short text")])
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise FleetError([Problem(source, 1, 1, "the file is not UTF-8 text")]) from None
    try:
        located = load(text)
    except YamlProblem as exc:
        raise FleetError([Problem(source, exc.line, exc.column, exc.message)]) from None
    expander = _Expander(source, located, FsPath(base) if base is not None else FsPath("."))
    fleet: Fleet = _without_gc(expander.fleet)
    return fleet


@dataclass(slots=True)
class _Base:
    """A group's scenario file, read once: its data and positions, or its problems."""

    file: str
    located: Located | None
    error: ScenarioError | None


class _Expander:
    def __init__(self, file: str, located: Located, base: FsPath):
        self.file = file
        self.located = located
        self.base = base
        self.c = _Collector(file, located, "the fleet file")
        self.others: list[Problem] = []  # problems of scenario files, each followed by the referencing line
        self.bases: dict[str, _Base] = {}
        self.cache: dict[tuple[object, ...], Scenario] = {}

    def fail(self) -> FleetError:
        own = sorted(self.c.problems, key=lambda p: (p.line, p.column))
        if self.c.more is not None:
            own.append(self.c.more)
        return FleetError(own + self.others)

    def at(self, path: tuple[Any, ...], message: str) -> None:
        self.c.add(path, f"{show_path(path)} {message}" if not message.startswith(":") else
                   f"{show_path(path)}{message}")

    def fleet(self) -> Fleet:
        data = self.located.data
        if not isinstance(data, dict):
            kind = "empty" if data is None else f"a {type(data).__name__}"
            raise FleetError([Problem(self.file, 1, 1, f"a fleet must be a mapping with version: 1 and groups:, "
                                                       f"got {kind}")])
        _texts_stay_texts(S.FLEET, data, (), self.located)
        for error in _FLEET_VALIDATOR.iter_errors(data):
            self.c.schema_error(error)
            if self.c.full:
                break
        if self.c.problems:
            raise self.fail()
        duration_us = None
        if "duration" in data:
            duration_us = self.duration(data["duration"], ("duration",))
            if duration_us == 0:
                self.at(("duration",), "must be longer than 0")
        seed = int(data.get("seed", 0))
        targets = self.targets(data.get("targets"))
        total = 0
        for g, group in enumerate(data["groups"]):
            total += int(group.get("count", 1))
            if total > MAX_CAMERAS:
                where = ("groups", g, "count") if "count" in group else ("groups", g)
                self.at(where, f": the fleet would have {total} or more cameras; at most {MAX_CAMERAS} are "
                               "allowed in one fleet file")
                raise self.fail()
        if self.c.problems:
            raise self.fail()
        cameras: list[FleetCamera] = []
        names: dict[str, int] = {}
        devices: dict[str, tuple[str, int]] = {}
        for g, group in enumerate(data["groups"]):
            self.group(g, group, seed, targets, cameras, names, devices)
            if self.c.full:
                break
        if self.c.problems or self.others:
            raise self.fail()
        return Fleet(name=str(data.get("name", FsPath(self.file).stem)), duration_us=duration_us, seed=seed,
                     cameras=tuple(cameras), source=self.file)

    def duration(self, value: object, path: tuple[Any, ...]) -> int:
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.at(path, f": {exc}")
            return 0

    def targets(self, d: dict[str, Any] | None) -> list[tuple[str, str]]:
        if d is None:
            return []
        from ..transport.targets import target_problem

        (protocol, value), = d.items()
        items = [value] if isinstance(value, str) else list(value)
        out = []
        for k, url in enumerate(items):
            path: tuple[Any, ...] = ("targets", protocol) if isinstance(value, str) else ("targets", protocol, k)
            problem = target_problem(protocol, url)
            if problem:
                self.at(path, f": {problem}")
            out.append((protocol, url))
        return out

    def base_of(self, g: int, scenario: str) -> _Base:
        path = FsPath(scenario)
        file = str(path if path.is_absolute() else self.base / path)
        found = self.bases.get(file)
        if found is None:
            found = self.read(file)
            self.bases[file] = found
        return found

    @staticmethod
    def read(file: str) -> _Base:
        try:
            raw = read_bounded(file)
        except OSError as exc:
            return _Base(file, None, ScenarioError([Problem(file, 1, 1, f"cannot read the file: "
                                                                        f"{exc.strerror or exc}")]))
        if len(raw) > MAX_FILE_BYTES:
            return _Base(file, None, ScenarioError([Problem(file, 1, 1, f"the file is larger than "
                                                                        f"{MAX_FILE_BYTES // 1_000_000} MB")]))
        try:
            located = load(raw.decode("utf-8-sig"))
        except UnicodeDecodeError:
            return _Base(file, None, ScenarioError([Problem(file, 1, 1, "the file is not UTF-8 text")]))
        except YamlProblem as exc:
            return _Base(file, None, ScenarioError([Problem(file, exc.line, exc.column, exc.message)]))
        if not isinstance(located.data, dict):
            try:
                _from_located(file, located)
            except ScenarioError as exc:
                return _Base(file, None, exc)
        return _Base(file, located, None)

    def referenced(self, g: int, error: ScenarioError, detail: str = "") -> None:
        self.others.extend(error.problems)
        line, col = self.located.where(("groups", g, "scenario"))
        self.others.append(Problem(self.file, line, col, f"groups[{g}].scenario: the scenario above is this group's"
                                                         f"{detail}", ("groups", g, "scenario")))

    def patterns(self, g: int, group: dict[str, Any]) -> bool:
        ok = True
        for key in ("device_id", "serial", "mac", "seed"):
            value = group.get(key)
            if isinstance(value, str):
                try:
                    _check_pattern(value)
                except _PatternError as exc:
                    self.at(("groups", g, key), str(exc))
                    ok = False
        return ok

    def group(self, g: int, group: dict[str, Any], fleet_seed: int, targets: list[tuple[str, str]],
              cameras: list[FleetCamera], names: dict[str, int], devices: dict[str, tuple[str, int]]) -> None:
        gpath: tuple[Any, ...] = ("groups", g)
        name = str(group.get("name", FsPath(group["scenario"]).stem))
        if name in names:
            self.at(gpath + (("name",) if "name" in group else ("scenario",)),
                    f": group name {name!r} is also groups[{names[name]}]'s; give each group its own name:")
            return
        names[name] = g
        count = int(group.get("count", 1))
        ramp_us = self.duration(group["ramp"], gpath + ("ramp",)) if "ramp" in group else 0
        low = high = 0
        if "offset" in group:
            offset = group["offset"]
            if isinstance(offset, list):
                low = self.duration(offset[0], gpath + ("offset", 0))
                high = self.duration(offset[1], gpath + ("offset", 1))
                if low > high:
                    self.at(gpath + ("offset",), "must be [min, max] with min <= max")
            else:
                low = high = self.duration(offset, gpath + ("offset",))
        for f, fault in enumerate(group.get("faults", [])):
            for j, n in enumerate(fault.get("cameras", [])):
                if n > count:
                    self.at(gpath + ("faults", f, "cameras", j), f"names camera {n}, but the group has {count} "
                                                                 f"(n is 1 to count)")
        if not self.patterns(g, group) or self.c.problems:
            return
        base = self.base_of(g, group["scenario"])
        if base.error is not None or base.located is None:
            if base.error is not None:
                self.referenced(g, base.error)
            return
        device_pattern = str(group.get("device_id", "{group}-{n:03}"))
        spread = group.get("offset_spread", "even")
        for n in range(1, count + 1):
            index = len(cameras)
            values: dict[str, str] = {}
            try:
                for key in ("serial", "mac"):
                    if key in group:
                        values[key] = _format(str(group[key]), n, index, name)
                key = "device_id"
                values["device_id"] = _format(device_pattern, n, index, name)
            except _PatternError as exc:
                self.at(gpath + (key,), str(exc))
                return
            where = gpath + ("device_id",) if "device_id" in group else gpath
            problem = _device_problem(values["device_id"])
            if problem:
                self.at(where, f"{problem} (camera n={n})" if "device_id" in group else
                        f": the default device id pattern {{group}}-{{n:03}} {problem}; give device_id:")
                return
            other = devices.get(values["device_id"])
            if other is not None:
                self.at(where, f": device id {values['device_id']!r} of camera n={n} is also camera n={other[1]}'s "
                               f"of group {other[0]!r}; device ids must differ (use {{n}}, {{i}} or {{group}})")
                return
            devices[values["device_id"]] = (name, n)
            seed = self.seed(g, group, fleet_seed, n, index, name)
            if seed is None:
                return
            scenario = self.camera_scenario(g, group, base, values, seed, n)
            if scenario is None:
                return
            if spread == "seeded":
                offset_us = low + round((high - low) * _unit(fleet_seed, index, "offset"))
            else:
                offset_us = low if count == 1 else low + (high - low) * (n - 1) // (count - 1)
            cameras.append(FleetCamera(
                index=index, group=name, n=n, scenario=scenario, offset_us=offset_us,
                join_us=ramp_us * (n - 1) // count,
                target=targets[index % len(targets)] if targets else None,
            ))

    def seed(self, g: int, group: dict[str, Any], fleet_seed: int, n: int, index: int, name: str) -> int | None:
        value = group.get("seed")
        if value is None:
            return derived_seed(fleet_seed, index)
        if isinstance(value, int):
            return value
        try:
            text = _format(value, n, index, name)
        except _PatternError as exc:
            self.at(("groups", g, "seed"), str(exc))
            return None
        try:
            return int(text.strip())
        except ValueError:
            self.at(("groups", g, "seed"), f"gives {text[:60]!r} for camera n={n}, not a whole number")
        return None

    def camera_scenario(self, g: int, group: dict[str, Any], base: _Base, values: dict[str, str], seed: int,
                        n: int) -> Scenario | None:
        assert base.located is not None
        original = base.located.data
        assert isinstance(original, dict)
        overrides = dict(values)
        for key in ("timezone", "firmware"):
            if key in group:
                overrides[key] = group[key]
        # the group's faults for this camera (all, or those whose `cameras` name its n)
        faults = [i for i, f in enumerate(group.get("faults", [])) if n in f.get("cameras", [n])]
        cache_key = (base.file, seed, tuple(sorted(overrides.items())), tuple(faults))
        found = self.cache.get(cache_key)
        if found is not None:
            return found
        data = dict(original)
        # the cameras of a group share their scenario file's road texture (drawn once, not per camera)
        images = data.get("images")
        images = dict(images) if isinstance(images, dict) else {}
        if "seed" not in images:
            images["seed"] = original.get("seed", 0) if isinstance(original.get("seed", 0), int) else 0
            data["images"] = images
        data["seed"] = seed
        camera = data.get("camera")
        camera = dict(camera) if isinstance(camera, dict) else {}
        if "serial" in overrides:  # a camera's MAC and cameraId are its serial (unless the group gives mac:)
            camera.pop("mac", None)
            camera.pop("camera_id", None)
        data["camera"] = {**camera, **overrides}
        profiles = data.get("profiles")
        if isinstance(profiles, list):  # the fleet's device id is every profile's: cameras must differ
            data["profiles"] = [{**p, "device_id": values["device_id"]} if isinstance(p, dict) and "device_id" in p
                                else p for p in profiles]
        own = data.get("faults")
        own = list(own) if isinstance(own, list) else []
        if faults:
            data["faults"] = own + [{k: v for k, v in group["faults"][i].items() if k != "cameras"} for i in faults]
        try:
            scenario = _from_located(base.file, Located(data, base.located.root, base.located.origin))
        except ScenarioError as exc:
            self.remap(g, group, exc, n, seed, len(own), faults)
            return None
        self.cache[cache_key] = scenario
        return scenario

    def remap(self, g: int, group: dict[str, Any], error: ScenarioError, n: int, seed: int, own_faults: int = 0,
              faults: list[int] | None = None) -> None:
        """A camera's scenario problems: those of a replaced value or a group's fault at the fleet's key,
        the rest at the scenario file's position followed by the referencing line."""
        rest = []
        for problem in error.problems:
            path = problem.path
            if faults and len(path) >= 2 and path[0] == "faults" and isinstance(path[1], int) \
                    and path[1] >= own_faults:
                at = ("groups", g, "faults", faults[path[1] - own_faults]) + tuple(path[2:])
                message = problem.message.replace(f"faults[{path[1]}]", show_path(at[:4]), 1)
                self.c.add(at, message if len(faults) == group.get("count", 1) or "cameras" not in
                           group["faults"][at[3]] else f"{message} (camera n={n})")
                continue
            key: str | None = None
            if len(path) >= 2 and path[0] == "camera" and path[1] in ("device_id", "serial", "mac", "timezone",
                                                                      "firmware"):
                key = str(path[1])
            elif len(path) >= 3 and path[0] == "profiles" and path[2] == "device_id":
                key = "device_id"
            elif path[:1] == ("seed",):
                key = "seed"
            if key is not None and key in group:
                message = problem.message
                self.at(("groups", g, key), f": for camera n={n}: {message}")
            else:
                rest.append(problem)
        if rest:
            detail = f" (camera n={n}, seed {seed}, with the group's camera keys in place)"
            self.referenced(g, ScenarioError(rest), detail)


# -- the quick fleet ----------------------------------------------------------------------------
def fleet_from_scenario(scenario_or_path: Scenario | str | os.PathLike[str] | Mapping[str, Any], cameras: int = 1,
                        target: str | list[str] | tuple[str, ...] | None = None, protocol: str = "http",
                        seed: int = 0, duration_us: int | None = None, ramp_us: int = 0) -> Fleet:
    """The quick fleet of `ffsim load --cameras N SCENARIO`: N cameras of one scenario, device ids
    CAMERA-001, CAMERA-002..., serials ACCC8E000001..., and distinct seeds derived from `seed`.

    target: one URL (or HOST:PORT with protocol="tcp") or a list spread round-robin; None keeps
    the scenario's own profiles. A path is read with its positions, as a fleet file would read it."""
    from .loader import load_scenario

    if isinstance(cameras, bool) or not isinstance(cameras, int) or not 1 <= cameras <= MAX_CAMERAS:
        raise ValueError(f"cameras must be a whole number from 1 to {MAX_CAMERAS}, got {cameras!r}")
    if protocol not in ("http", "tcp"):
        raise ValueError(f"protocol must be http or tcp, got {protocol!r}")
    targets: list[tuple[str, str]] = []
    if target is not None:
        from ..transport.targets import target_problem

        for url in [target] if isinstance(target, str) else list(target):
            problem = target_problem(protocol, url)
            if problem:
                raise ValueError(problem)
            targets.append((protocol, url))
    if isinstance(scenario_or_path, (str, os.PathLike)):
        text = f"version: 1\ngroups:\n  - {{scenario: {_quoted(os.fsdecode(scenario_or_path))}, count: {cameras}, " \
               f"device_id: \"CAMERA-{{n:03}}\", serial: \"ACCC8E{{n:06X}}\"}}\nseed: {int(seed)}\n"
        try:
            fleet = fleet_from_text(text, "<--cameras>")
        except FleetError as exc:  # the scenario's own problems; the made-up fleet text is no one's
            raise ScenarioError([p for p in exc.problems if p.file != "<--cameras>"] or exc.problems) from None
        scenario = fleet.cameras[0].scenario
        name = scenario.name
        made = [dataclasses.replace(c, scenario=dataclasses.replace(c.scenario, name=name)) for c in fleet.cameras]
    else:
        base = load_scenario(scenario_or_path) if isinstance(scenario_or_path, Mapping) else scenario_or_path
        name = base.name
        made = []
        for n in range(1, cameras + 1):
            one = _from_model(base, f"CAMERA-{n:03}", f"ACCC8E{n:06X}", derived_seed(seed, n - 1))
            made.append(FleetCamera(index=n - 1, group=name, n=n, scenario=one, offset_us=0, join_us=0,
                                    target=None))
    out = [dataclasses.replace(c, group=name, join_us=ramp_us * c.index // cameras,
                               target=targets[c.index % len(targets)] if targets else None) for c in made]
    return Fleet(name=name, duration_us=duration_us, seed=seed, cameras=tuple(out), source=str(
        scenario_or_path if isinstance(scenario_or_path, (str, os.PathLike)) else "<scenario>"))


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _from_model(base: Scenario, device_id: str, serial: str, seed: int) -> Scenario:
    """A camera of a quick fleet made from a Scenario object (no file to re-read): the same values
    with the device id, serial and seed replaced, and what the loader derives from them redone."""
    from ..engine.plates import Rng

    camera = base.camera
    phase = camera.frame_phase_us
    changes: dict[str, Any] = {"device_id": device_id, "serial": serial}
    if camera.mac == camera.serial:
        changes["mac"] = serial
    if camera.camera_id == camera.serial:
        changes["camera_id"] = serial
    if phase == 1 + Rng(base.seed, "frame-phase").index(999):  # seeded: seeded again
        changes["frame_phase_us"] = 1 + Rng(seed, "frame-phase").index(999)
    profiles = tuple(dataclasses.replace(p, device_id=device_id) if p.device_id is not None else p
                     for p in base.profiles)
    return dataclasses.replace(base, seed=seed, image_seed=base.road_seed,
                               camera=dataclasses.replace(camera, **changes), profiles=profiles)
