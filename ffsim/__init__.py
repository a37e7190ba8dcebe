"""ffsim: the camera side of CAMMRA / AXIS License Plate Verifier FF-Events, simulated."""

import importlib.machinery
import warnings
from pathlib import Path

__version__ = "0.1.0"

_HERE = Path(__file__).resolve().parent
# the modules setup.py compiles with mypyc
_COMPILED = ("engine/frames", "engine/geometry", "engine/lists", "engine/loop", "engine/plates", "engine/traffic",
             "engine/vehicle", "protocol/crops", "protocol/jsonwire", "protocol/payload")


def _extensions() -> dict[str, Path]:
    found = {}
    for name in _COMPILED:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            candidate = _HERE / f"{name}{suffix}"
            if candidate.exists():
                found[name] = candidate
                break
    return found


_BUILT = _extensions()
COMPILED = len(_BUILT) == len(_COMPILED)
# An edited .py next to an older compiled module would be silently ignored.
_STALE = [name for name, ext in _BUILT.items() if (_HERE / f"{name}.py").stat().st_mtime > ext.stat().st_mtime]
if _STALE:
    warnings.warn(
        f"ffsim: compiled modules older than their source: {', '.join(_STALE)}; "
        "run `pip install -e .` again (or FFSIM_PURE_PYTHON=1 pip install -e . while developing)",
        stacklevel=2,
    )


# -- the library: one import surface ------------------------------------------------------------
# Names are loaded on first use (PEP 562), so that `ffsim validate` and `ffsim events` do not
# load libcurl and aiohttp, and `import ffsim` stays fast.
_EXPORTS = {
    # scenarios
    "Scenario": "ffsim.scenario", "ScenarioError": "ffsim.scenario", "Problem": "ffsim.scenario",
    "ScenarioBuilder": "ffsim.scenario", "load_scenario": "ffsim.scenario",
    "scenario_from_text": "ffsim.scenario", "scenario_from_dict": "ffsim.scenario",
    # fleets: many cameras from scenarios (ffsim load)
    "Fleet": "ffsim.scenario", "FleetCamera": "ffsim.scenario", "FleetError": "ffsim.scenario",
    "load_fleet": "ffsim.scenario", "fleet_from_scenario": "ffsim.scenario",
    # load runs: a fleet on one loop, its measurements, recorded traffic as a fleet
    "LoadRun": "ffsim.load.run", "LoadSummary": "ffsim.load.run", "LoadStats": "ffsim.load.stats",
    "Recording": "ffsim.load.recorded", "load_recording": "ffsim.load.recorded",
    # what a camera sends
    "Packet": "ffsim.protocol", "HeartbeatPacket": "ffsim.protocol",
    # sending
    "Run": "ffsim.session", "run": "ffsim.session", "Attempt": "ffsim.session", "Summary": "ffsim.transport.dispatch",
    "TargetError": "ffsim.transport",
    # receiving
    "Receiver": "ffsim.receiver.server", "Record": "ffsim.receiver.server",
}

__all__ = sorted([*_EXPORTS, "scenario_of", "events", "bundled", "bundled_names", "fault_scenarios", "__version__", "COMPILED"])


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ffsim' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def bundled_names() -> list[str]:
    """The names of the scenarios that come with ffsim ("parking-gate", "busy-road"...)."""
    return sorted(p.stem for p in (_HERE / "scenarios").glob("*.yaml"))


def bundled(name: str) -> Path:
    """The path of a bundled scenario by name (with or without .yaml), inside the installed package."""
    path = _HERE / "scenarios" / f"{name.removesuffix('.yaml')}.yaml"
    if name not in bundled_names() and not path.is_file():
        raise ValueError(f"no bundled scenario {name!r}; there are: {', '.join(bundled_names())}")
    return path


def fault_scenarios() -> dict[str, Path]:
    """The bundled scenario of each fault family ("restart": .../scenarios/faults/restart.yaml);
    ``bundled("faults/restart")`` gives one by name."""
    return {p.stem: p for p in sorted((_HERE / "scenarios" / "faults").glob("*.yaml"))}


def scenario_of(source):
    """A Scenario from whatever describes one: a Scenario (as it is), a ScenarioBuilder, a dict
    (the YAML structure), a path (str or os.PathLike), or YAML text (a str with a line break).
    Raises ScenarioError listing the problems, with FILE:LINE:COL where there is a file or text."""
    import os

    from .scenario import Scenario, ScenarioBuilder, load_scenario, scenario_from_dict, scenario_from_text

    if isinstance(source, Scenario):
        return source
    if isinstance(source, ScenarioBuilder):
        return source.build()
    if isinstance(source, dict):
        return scenario_from_dict(source)
    if isinstance(source, str) and "\n" in source:
        return scenario_from_text(source)
    if isinstance(source, (str, os.PathLike)):
        return load_scenario(source)
    raise TypeError(f"a scenario is a Scenario, a ScenarioBuilder, a dict, a path or YAML text, not "
                    f"{type(source).__name__}")


def events(scenario, *, until=None, start=None, profile: int | None = None, http: str | None = None,
           tcp: str | None = None, heartbeats: bool = False):
    """Every packet the camera would send, in send order, without sending (`ffsim events`).

    until: virtual seconds or a duration ("10m"), required for a scenario whose traffic has no
    end; start: virtual t=0 (ISO 8601, datetime or epoch microseconds; default the scenario's,
    else now); profile: only that one's packets; http / tcp: the payloads `run` sends with
    that option; heartbeats: the heartbeat packets too. An iterator of Packet (time_us,
    epoch_ms, profile, payload, json_bytes(), fault) and HeartbeatPacket. With the scenario's
    faults: copies, held packets, payload faults as sent; `fault` lists each packet's marks."""
    from .protocol import Camera
    from .options import duration_us, start_time

    model = scenario_of(scenario).retargeted(http, tcp)
    until_us = duration_us(until, "until")
    if until_us is None and any(f.until_us is None for f in model.traffic):
        raise ValueError("a traffic flow of this scenario has no `until`: give until=")
    from .faults.plan import FaultPlan

    camera = Camera(model, start_time(model, start), None if profile is None else [profile])
    stream = camera.packets_and_heartbeats(until_us) if heartbeats else camera.packets(until_us)
    if not model.faults:
        return stream
    # as the faults have it: a faulted packet carries its marks in `fault` (a list), never in its payload
    return (doc.labelled() for sent in FaultPlan(model, until_us=until_us).apply(stream) for doc in sent.documents())
