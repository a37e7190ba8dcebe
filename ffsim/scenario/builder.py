"""Scenarios written in Python, for tests: the YAML format's keys as methods and keyword arguments.

    from ffsim.scenario import ScenarioBuilder

    scenario = (ScenarioBuilder(name="gate", seed=1, start="2026-11-24T08:00:00Z")
                .camera(device_id="GATE-1", firmware="2024-lpv")
                .zone(1, [(0, 300), (1920, 300), (1920, 1080), (0, 1080)], direction=180)
                .vehicle("5SX 2207", [(960, 320), (960, 1070)], at="2s", speed=250)
                .traffic(zone=1, rate="120/h", until="10m")
                .profile(1, protocol="http", format="json")
                .build())

Each method adds the YAML key of its name, with its arguments as that key's keys, so the
README's "Scenario format v1" is the reference for every argument; a keyword that is a Python
word takes a trailing underscore (traffic(from_="30s") is `from: 30s`). An argument of None is
left out. Durations are a number of seconds, text such as "500ms" or "2m", or a timedelta; points
may be tuples. build() validates exactly as a file is validated (it goes through
scenario_from_dict) and raises ScenarioError naming the key: "<builder>: vehicles[0].plate must
not be empty". to_dict() and to_yaml() give the same scenario as data or as a file's text.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime

import yaml

from . import yamlsource
from .loader import Problem, ScenarioError, _DataProblem, _Plain, scenario_from_dict, show_path
from .model import Scenario


def _keys(given: dict) -> dict:
    """Keyword arguments as YAML keys: None left out, a trailing underscore dropped (from_ -> from)."""
    return {(k[:-1] if k.endswith("_") else k): v for k, v in given.items() if v is not None}


class ScenarioBuilder:
    """A scenario of format v1, built by methods named after its YAML keys (see the module's doc)."""

    def __init__(self, data: Mapping | None = None, *, name: str | None = None, description: str | None = None,
                 seed: int | None = None, start: str | datetime | None = None):
        """The top-level keys; start is ISO 8601 text or a datetime (a naive one is the camera's local
        time). data: a scenario's dict to start from (as to_dict() gives, or a loaded YAML file's)."""
        self._data: dict = {"version": 1, **copy.deepcopy(dict(data or {}))}
        self._data.update(_keys({"name": name, "description": description, "seed": seed, "start": start}))

    # -- mappings: given keys are added (or replace those given before) ------------------------
    def camera(self, **keys) -> ScenarioBuilder:
        """camera: device_id, serial, model, mac, ip, geotag, resolution, fps, timezone, firmware, ..."""
        return self._merge("camera", keys)

    def recognition(self, **keys) -> ScenarioBuilder:
        """recognition: lost_timeout, direction_min_travel, update_interval, first_car_id, ..."""
        return self._merge("recognition", keys)

    def lists(self, **keys) -> ScenarioBuilder:
        """lists: allow, block, custom (plates, or {plate, description} dicts) and match (soft | strict)."""
        return self._merge("lists", keys)

    def heartbeat(self, **keys) -> ScenarioBuilder:
        """heartbeat: url, period, fields, firmware, anpr_version, auth, auth_header, ca_file, insecure."""
        return self._merge("heartbeat", keys)

    def images(self, photos: str) -> ScenarioBuilder:
        """images: photos, a folder of your own pictures (relative to the current directory)."""
        return self._merge("images", {"photos": photos})

    # -- lists: each call adds an item ---------------------------------------------------------
    def zone(self, id: int, polygon, direction: float, **keys) -> ScenarioBuilder:
        """zones[]: id (1 or 2), polygon [(x, y), ...] in frame pixels, direction in degrees
        (0 up the image, 90 right, 180 down, 270 left); name."""
        return self._append("zones", {"id": id, "polygon": polygon, "direction": direction, **keys})

    def vehicle(self, plate: str, path, **keys) -> ScenarioBuilder:
        """vehicles[]: plate, path [(x, y) or {"at": (x, y), "wait": "8s"}, ...]; at, speed or duration,
        country, hidden, reads ([{"text": ..., "confidence": ..., "for": ...}, ...]), brand, color, ...
        A timed path gives each point its time after `at` instead of speed or duration:
        [(x, y), {"at": (x, y), "time": "1.5s"}, ...]."""
        return self._append("vehicles", {"plate": plate, "path": path, **keys})

    def traffic(self, zone: int, rate: str, **keys) -> ScenarioBuilder:
        """traffic[]: zone, rate ("300/h"); from_, until, direction ({"in": 0.7, "out": 0.3}), speed,
        countries, misread, lateral."""
        return self._append("traffic", {"zone": zone, "rate": rate, **keys})

    def profile(self, id: int, **keys) -> ScenarioBuilder:
        """profiles[]: id (1 to 3); protocol, url, events, device_id, format, image, ..."""
        return self._append("profiles", {"id": id, **keys})

    def fault(self, type: str, **keys) -> ScenarioBuilder:
        """faults[]: type (`ffsim faults` lists them) and one of at, during, rate or share; from_,
        until, profiles, events, seed, name and the type's own keys (as_ for wrong_type's `as`)."""
        return self._append("faults", {"type": type, **keys})

    # -- results -------------------------------------------------------------------------------
    def build(self, source: str = "<builder>") -> Scenario:
        """The validated Scenario; ScenarioError names the key of each problem. source names the
        builder in problems and becomes Scenario.source (and Scenario.name without name=)."""
        return scenario_from_dict(self._data, source)

    def to_dict(self) -> dict:
        """The scenario as plain data (lists, text durations): what scenario_from_dict and JSON take."""
        try:
            return _Plain().copy(self._data, (), 0)  # type: ignore[return-value]
        except _DataProblem as exc:
            raise ScenarioError([Problem("<builder>", 0, 0, f"{show_path(exc.path)}: {exc.message}",
                                         exc.path)]) from None

    def to_yaml(self) -> str:
        """The scenario as the text of a scenario file, which loads to the same Scenario."""
        return yaml.dump(self.to_dict(), Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                         default_flow_style=None, width=100)

    def copy(self) -> ScenarioBuilder:
        """An independent builder with what this one has so far."""
        return ScenarioBuilder(self._data)

    def __repr__(self) -> str:
        return f"ScenarioBuilder({self._data!r})"

    def _merge(self, key: str, keys: dict) -> ScenarioBuilder:
        self._data.setdefault(key, {}).update(_keys(keys))
        return self

    def _append(self, key: str, item: dict) -> ScenarioBuilder:
        self._data.setdefault(key, []).append(_keys(item))
        return self


class _Dumper(yaml.SafeDumper):
    """Quotes text that the scenario loader (YAML 1.2 core schema) would read as something else."""

    def ignore_aliases(self, data) -> bool:  # a scenario file without anchors, however the data was shared
        return True


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # PyYAML quotes what YAML 1.1 would not read as text (yes, NO, 2026-11-24); this adds what 1.2 would not
    other = not value or any(pattern.match(value) for _, pattern in yamlsource._RESOLVERS.get(value[:1], ()))
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="'" if other else None)


def _list(dumper: yaml.SafeDumper, value: list) -> yaml.SequenceNode:
    # points and polygons on one line each: [[0, 300], [1920, 300], ...]
    flow = all(not isinstance(item, (dict, list)) or isinstance(item, list) and not any(
        isinstance(x, (dict, list)) for x in item) for item in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow or None)


_Dumper.add_representer(str, _text)
_Dumper.add_representer(list, _list)
