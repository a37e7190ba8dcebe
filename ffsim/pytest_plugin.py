"""pytest plugin: a camera, a scenario factory and ffsim's receiver as fixtures.

Registered by the ``pytest11`` entry point, so installing ffsim is enough. A thin
layer over the library (``ffsim.Run``, ``ffsim.Receiver``, ``ffsim.scenario_of``)::

    def test_my_receiver_stores_every_plate(ffsim_camera, my_receiver_url):
        run = ffsim_camera("scenarios/parking-gate.yaml", http=my_receiver_url)
        assert run.summary.delivered_all
        assert [a.status for a in run.attempts] == [200] * len(run.attempts)

Fixtures:

``ffsim_receiver``
    ffsim's built-in receiver (HTTP and TCP on loopback), started once per session and
    cleared before each test: ``.url``, ``.tcp_address``, ``.records``, ``.wait(count=N)``,
    ``.check()`` (raises AssertionError listing protocol violations).
``ffsim_scenario``
    ``ffsim_scenario(source, firmware=None)``: a Scenario from a path, YAML text, a dict or
    a ScenarioBuilder, with the camera's firmware generation replaced when given.
``ffsim_camera``
    ``ffsim_camera(scenario, http=None, tcp=None, speed=None, **options)``: plays a scenario
    to its end and returns the finished ``ffsim.Run`` (``.summary``, ``.attempts``: every
    packet with its answer and latency). Without http/tcp, and no target in the scenario,
    it sends to ``ffsim_receiver``. Events still buffered at the end of the scenario (a
    receiver that fails) are retried for ``drain`` seconds (10 by default) before the run
    ends with them undelivered. ``background=True`` returns the started run instead
    (``wait()``/``stop()``); runs still going at the end of the test are stopped.

Options: ``--ffsim-speed`` (default ``max``): the speed of runs that do not give one.
Markers: ``@pytest.mark.ffsim_bundled`` parametrizes the test's ``ffsim_bundled_scenario``
argument over ffsim's bundled scenarios (paths); ``@pytest.mark.ffsim_firmware`` its
``ffsim_firmware`` argument over every firmware generation.
"""

from __future__ import annotations

import copy
import os
import warnings
from pathlib import Path

import pytest

from .vocabulary import GENERATIONS

# How long ffsim_camera waits at the end of a scenario for events still buffered (retried
# after a failure), unless drain= says otherwise: a receiver that answers 500 to everything
# fails its test after this long rather than after the command line's 60 s.
DRAIN_S = 10.0

# The library is imported when a fixture is used, not when pytest starts: a test session
# that uses no ffsim fixture does not load libcurl and aiohttp.


def bundled_scenarios() -> list[Path]:
    """The scenarios that come with ffsim (paths inside the installed package)."""
    from . import bundled, bundled_names

    return [bundled(name) for name in bundled_names()]


def _scenario_data(source) -> dict:
    """The scenario as data, to change before it is loaded."""
    from . import scenario_of
    from .scenario import ScenarioBuilder

    if isinstance(source, ScenarioBuilder):
        return source.to_dict()
    if isinstance(source, dict):
        return copy.deepcopy(source)
    if isinstance(source, (str, os.PathLike)):
        import yaml

        scenario_of(source)  # problems (an unreadable file too) with their lines, before the data is changed
        from .scenario.loader import read_bounded

        text = source if isinstance(source, str) and "\n" in source else \
            read_bounded(os.fsdecode(os.fspath(source))).decode("utf-8-sig")
        return yaml.safe_load(text)
    raise TypeError("firmware= and faults= need the scenario as a path, YAML text, a dict or a ScenarioBuilder")


def with_firmware(source, firmware: str | None = None):
    """A Scenario of source, its camera's firmware generation replaced (with that
    generation's defaults, as when the scenario says it)."""
    return with_changes(source, firmware=firmware)


def fault_data(fault) -> list[dict]:
    """faults= items as `faults:` entries: a catalogue name ("restart"), an ffsim.faults.Entry,
    a dict, or YAML text (one entry or a list). A catalogue fault applies to every profile it
    fits (its snippet's `profiles` is left out)."""
    import yaml

    from .faults import Entry, entry

    if isinstance(fault, str) and entry(fault) is not None:
        fault = entry(fault)
    if isinstance(fault, Entry):
        data = yaml.safe_load(fault.yaml)
        data.pop("profiles", None)
        return [data]
    if isinstance(fault, dict):
        return [copy.deepcopy(fault)]
    if isinstance(fault, str):
        data = yaml.safe_load(fault)
        if isinstance(data, dict) and "faults" in data:
            data = data["faults"]
        if isinstance(data, dict):
            return [data]
        if isinstance(data, list) and all(isinstance(d, dict) for d in data):
            return data
        from .faults import CATALOGUE

        raise ValueError(f"faults=: {fault!r} is no fault of the catalogue ({', '.join(e.name for e in CATALOGUE)}) "
                         "and no faults: entry in YAML")
    raise TypeError(f"faults= takes catalogue names, ffsim.faults.Entry, dicts or YAML text, not {type(fault).__name__}")


def with_faults(source, faults) -> object:
    """A Scenario of source with these faults added to its own (see fault_data)."""
    return with_changes(source, faults=faults)


def with_changes(source, firmware: str | None = None, faults=None):
    from . import scenario_of
    from .scenario import scenario_from_dict

    if firmware is None and not faults:
        return scenario_of(source)
    data = _scenario_data(source)
    if firmware is not None:
        data.setdefault("camera", {})["firmware"] = firmware
    if faults:
        items = [faults] if isinstance(faults, (str, dict)) or not hasattr(faults, "__iter__") else list(faults)
        data["faults"] = list(data.get("faults") or []) + [d for f in items for d in fault_data(f)]
    named = isinstance(source, os.PathLike) or (isinstance(source, str) and "\n" not in source)
    return scenario_from_dict(data, os.fsdecode(os.fspath(source)) if named else "<dict>")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ffsim", "ffsim: simulated licence-plate cameras")
    group.addoption("--ffsim-speed", default="max", metavar="1|N|max",
                    help="speed of ffsim_camera runs that do not give one (default: max)")


def pytest_configure(config: pytest.Config) -> None:
    # ffsim sends multipart with libcurl's HTTPPOST (its bytes are the camera's; MIMEPOST
    # writes other ones); pycurl warns that it is deprecated on every send
    config.addinivalue_line("filterwarnings", "ignore:HTTPPOST is deprecated:DeprecationWarning")
    from .options import parse_speed

    try:
        parse_speed(config.getoption("--ffsim-speed", "max"))
    except ValueError as exc:
        raise pytest.UsageError(f"--ffsim-speed: {exc}") from None
    config.addinivalue_line("markers", "ffsim_bundled: parametrize the test's ffsim_bundled_scenario argument "
                                       "over ffsim's bundled scenarios")
    config.addinivalue_line("markers", "ffsim_firmware: parametrize the test's ffsim_firmware argument over "
                                       "every firmware generation ffsim simulates")
    config.addinivalue_line("markers", "ffsim_faults(*names, families=None): parametrize the test's ffsim_fault "
                                       "argument over ffsim's catalogue of faults (or those named)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("ffsim_bundled") and \
            "ffsim_bundled_scenario" in metafunc.fixturenames:
        paths = bundled_scenarios()
        metafunc.parametrize("ffsim_bundled_scenario", paths, ids=[p.stem for p in paths])
    if metafunc.definition.get_closest_marker("ffsim_firmware") and "ffsim_firmware" in metafunc.fixturenames:
        metafunc.parametrize("ffsim_firmware", GENERATIONS, ids=list(GENERATIONS))
    marker = metafunc.definition.get_closest_marker("ffsim_faults")
    if marker and "ffsim_fault" in metafunc.fixturenames:
        metafunc.parametrize("ffsim_fault", faults_of_marker(*marker.args, **marker.kwargs),
                             ids=lambda e: e.name)


def faults_of_marker(*names: str, families=None) -> list:
    """The catalogue entries a ffsim_faults marker names (all of them by default)."""
    from .faults import CATALOGUE, FAMILIES, entry

    unknown = [n for n in names if entry(n) is None] + [f for f in families or () if f not in FAMILIES]
    if unknown:
        raise pytest.UsageError(f"ffsim_faults: unknown {', '.join(map(repr, unknown))} (faults: "
                                f"{', '.join(e.name for e in CATALOGUE)}; families: {', '.join(FAMILIES)})")
    return [e for e in CATALOGUE if (not names or e.name in names) and (families is None or e.family in families)]


def _skip_unfit(faults, exc: Exception) -> None:
    """A catalogue fault (from the ffsim_faults marker) that does not fit the scenario (a TCP fault
    and no TCP profile...) skips the test, saying why; the user's own faults fail it."""
    from .faults import Entry, entry
    from .scenario import ScenarioError
    from .transport import TargetError

    items = [faults] if isinstance(faults, (str, dict, Entry)) else list(faults or ())
    if items and all(isinstance(f, Entry) or (isinstance(f, str) and entry(f) is not None) for f in items):
        if isinstance(exc, (ScenarioError, TargetError)) and ("needs" in str(exc) or "applies to no" in str(exc)):
            pytest.skip(f"the fault does not fit this scenario: {exc}")


@pytest.fixture(scope="session")
def ffsim_session_receiver():
    """The session's built-in receiver (use ffsim_receiver, which clears it per test)."""
    from . import Receiver

    receiver = Receiver(http="127.0.0.1:0", tcp="127.0.0.1:0", speed=None).start()
    yield receiver
    receiver.stop()


@pytest.fixture
def ffsim_receiver(ffsim_session_receiver):
    ffsim_session_receiver.clear()
    return ffsim_session_receiver


@pytest.fixture
def ffsim_scenario():
    return with_firmware


@pytest.fixture
def ffsim_camera(request: pytest.FixtureRequest):
    default_speed = request.config.getoption("--ffsim-speed")
    started = []

    def play(scenario, *, http: str | None = None, tcp: str | None = None, speed=None, firmware: str | None = None,
             faults=None, background: bool = False, drain=DRAIN_S, **options):
        from . import Run

        try:
            model = with_changes(scenario, firmware, faults)
        except Exception as exc:
            _skip_unfit(faults, exc)
            raise
        if http is None and tcp is None and "receiver" not in options:
            from .runner import embedded_needed

            if embedded_needed(model):  # no target anywhere: the session's receiver receives
                options["receiver"] = request.getfixturevalue("ffsim_receiver")
        try:
            run = Run(model, http=http, tcp=tcp, speed=default_speed if speed is None else speed, drain=drain,
                      **options)
        except Exception as exc:
            _skip_unfit(faults, exc)
            raise
        if background:
            started.append(run)
            return run.start()
        if run.endless:
            run.close()
            raise ValueError("this scenario's traffic has no end: give until=, or background=True and stop()")
        run.play()
        for line in run.unstruck_faults():  # a fault asked for and never done: said where pytest shows it
            warnings.warn(f"ffsim: {line}", stacklevel=2)
        return run

    yield play
    for run in started:
        run.stop()
