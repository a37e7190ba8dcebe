"""Hypothesis strategies of random valid scenarios, to property-test a receiver with random traffic.

    from hypothesis import given, settings
    from ffsim.protocol import Camera
    from ffsim.testing import scenarios

    @settings(max_examples=25, deadline=None)
    @given(scenarios(max_vehicles=5, protocols=("http",)))
    def test_my_receiver_takes_anything(scenario):
        for packet in Camera(scenario, scenario.start_us).packets():
            assert my_receiver(packet.json_bytes()) ...

Every scenario is built with ScenarioBuilder and validated as a file is, so it is always valid,
and it always ends: its last event is sent before MAX_TIME_US of virtual time (no flow runs
without `until`). Every listed vehicle starts inside a zone and stays there for at least one
frame, so each makes at least one passage: a New, and a Lost at its end, on every profile (every
profile sends New, Update and Lost; some also Reliable, where the firmware has it). Profiles have
no url: send with scenario.retargeted(http=URL, tcp=None), as `ffsim run --http URL` does.

The strategies that build them are here too: plates(), zones(), vehicles() (YAML-form dicts, for
ScenarioBuilder.zone(**z) and .vehicle(**v)) and scenario_builders(), whose builders can be changed
before build(): scenario_builders().map(lambda b: b.camera(timezone="Asia/Tokyo").build()).

With the pytest plugin, a property test plays each example into the receiver under test:

    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(scenario=scenarios(max_vehicles=3))
    def test_any_traffic_is_taken(ffsim_camera, receiver_url, scenario):
        assert ffsim_camera(scenario, http=receiver_url).summary.delivered_all

(hypothesis asks to confirm that a function-scoped fixture serves every example: the
camera fixture does, it keeps no state between runs; a shared receiver, ffsim_receiver
included, is cleared by the test itself per example when it counts what it got.)

hypothesis is a test dependency (pip install 'ffsim[test]'); this module is for tests only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime

try:
    from hypothesis import assume
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - hypothesis is in the test extra
    raise ImportError("ffsim.testing needs hypothesis, a test dependency: pip install 'ffsim[test]' "
                      "(or pip install hypothesis)") from exc

from .engine.geometry import contains
from .engine.plates import GENERATORS, Rng
from .generations import generation
from .scenario import Scenario, ScenarioBuilder
from .vocabulary import COLORS, DEFAULT_EVENTS, FRAMINGS, GENERATIONS, HTTP_FORMATS, IMAGE_KINDS, PROTOCOLS, \
    RELIABLE, VEHICLE_TYPES

__all__ = ["MAX_TIME_US", "plates", "zones", "vehicles", "scenario_builders", "scenarios"]

MAX_TIME_US = 10 * 60 * 1_000_000  # every generated scenario's last event is sent before this
RESOLUTIONS = ((1920, 1080), (1280, 720), (2688, 1512), (3840, 2160))
FPS = (5, 10, 12.5, 15, 25, 30)
TIMEZONES = ("UTC", "Europe/Prague", "America/New_York", "Asia/Tokyo", "Australia/Adelaide")
BRANDS = ("Skoda", "Volkswagen", "Toyota", "BMW", "Hyundai", "Ford", "Renault", "Tesla")
COUNTRIES = tuple(sorted(GENERATORS))  # those with a plate generator
_UNUSUAL = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789ÄÖÜÅŁŠŽ"
_CONFUSED = {"0": "O", "O": "0", "8": "B", "B": "8", "5": "S", "S": "5", "1": "I", "I": "1", "2": "Z", "Z": "2"}


def plates(countries: Iterable[str] | None = None) -> st.SearchStrategy[str]:
    """Plate texts as vehicles show them: plausible ones of these countries (default: all of
    COUNTRIES); without countries, now and then an unusual one (one character, letters with
    diacritics, dashes)."""
    codes = COUNTRIES if countries is None else tuple(countries)
    unknown = [c for c in codes if c not in GENERATORS]
    if unknown or not codes:
        raise ValueError(f"plates(countries=...): no plate generator for {unknown or 'no country'} "
                         f"(available: {', '.join(COUNTRIES)})")
    plausible = st.builds(lambda code, seed: GENERATORS[code](Rng("ffsim.testing", seed))[0],
                          st.sampled_from(codes), st.integers(0, 2**32))
    if countries is not None:
        return plausible
    unusual = st.lists(st.text(_UNUSUAL, min_size=1, max_size=4), min_size=1, max_size=3).flatmap(
        lambda parts: st.sampled_from([" ", "-", ""]).map(lambda sep: sep.join(parts)))
    return st.one_of(plausible, unusual)


@st.composite
def zones(draw, resolution: tuple[int, int] = (1920, 1080), max_zones: int = 2) -> list[dict]:
    """1 to max_zones (at most 2) zones, as dicts of ScenarioBuilder.zone's arguments: convex
    rectangles or trapezoids (a lane in perspective) inside the frame, ids 1 and 2."""
    w, h = resolution
    out = []
    for zone_id in range(1, draw(st.integers(1, min(max(max_zones, 1), 2))) + 1):
        x0, x1 = draw(st.integers(0, w * 3 // 10)), draw(st.integers(w * 6 // 10, w))
        y0 = draw(st.integers(0, h // 2))
        y1 = draw(st.integers(y0 + h // 5, h))
        inset = draw(st.integers(0, (x1 - x0) * 3 // 10))
        polygon = [(x0 + inset, y0), (x1 - inset, y0), (x1, y1), (x0, y1)]
        direction = draw(st.one_of(st.sampled_from([180, 0]), st.integers(0, 359)))
        out.append({"id": zone_id, "polygon": polygon, "direction": direction})
    return out


def _misread(plate: str, index: int) -> str:
    """The plate with one character read wrong (a confusable one where there is one)."""
    spots = [i for i, ch in enumerate(plate) if ch.isalnum()] or [0]
    i = spots[index % len(spots)]
    wrong = _CONFUSED.get(plate[i], "8" if plate[i] != "8" else "B")
    return plate[:i] + wrong + plate[i + 1:]


@st.composite
def vehicles(draw, zones: Sequence[dict] | None = None, resolution: tuple[int, int] = (1920, 1080),
             fps: float = 10) -> dict:
    """A listed vehicle, as a dict of ScenarioBuilder.vehicle's arguments (the YAML keys).

    With zones (dicts as zones() gives: id, polygon, direction), it starts inside one of them
    (a convex one; others may be rejected) and waits there at least one frame at this fps, so the
    camera recognises it; its path then goes anywhere in the frame, at a speed or in a duration;
    now and then it is hidden for a while later on, or first misread.
    """
    w, h = resolution
    country = draw(st.sampled_from(COUNTRIES))
    plate = draw(st.one_of(plates([country]), plates()))
    frame_ms = math.ceil(1000 / fps)
    if zones:
        polygon = [(float(x), float(y)) for x, y in draw(st.sampled_from(list(zones)))["polygon"]]
        cx = sum(p[0] for p in polygon) / len(polygon)
        cy = sum(p[1] for p in polygon) / len(polygon)
        vx, vy = draw(st.sampled_from(polygon))
        share = draw(st.integers(0, 80)) / 100
        x, y = round(cx + share * (vx - cx)), round(cy + share * (vy - cy))
        assume(contains(polygon, x, y))
        wait_ms = draw(st.integers(frame_ms, 3000))
    else:
        x, y = draw(st.integers(0, w)), draw(st.integers(0, h))
        wait_ms = draw(st.integers(0, 3000))
    moves = draw(st.lists(st.tuples(st.integers(0, w), st.integers(0, h)), max_size=3))
    vehicle: dict = {"plate": plate, "country": country, "at": f"{draw(st.integers(0, 60_000))}ms",
                     "path": [{"at": (x, y), "wait": f"{wait_ms}ms"}, *moves]}
    if moves:
        if draw(st.booleans()):
            vehicle["speed"] = draw(st.integers(50, 800))
        else:
            vehicle["duration"] = f"{draw(st.integers(1, 20))}s"
    if draw(st.integers(0, 4)) == 0:  # hidden after the first wait, so that it is still recognised
        start = wait_ms + draw(st.integers(1, 5000))
        vehicle["hidden"] = [[f"{start}ms", f"{start + draw(st.integers(100, 8000))}ms"]]
    if draw(st.integers(0, 3)) == 0:
        vehicle["reads"] = [
            {"text": _misread(plate, draw(st.integers(0, 31))), "confidence": draw(st.integers(30, 80)) / 100,
             "for": f"{draw(st.integers(100, 1000))}ms"},
            {"text": plate, "confidence": draw(st.integers(80, 99)) / 100},
        ]
    if draw(st.booleans()):
        vehicle.update(brand=draw(st.sampled_from(BRANDS)), color=draw(st.sampled_from(COLORS)),
                       type=draw(st.sampled_from(VEHICLE_TYPES)))
    return vehicle


@st.composite
def _flow(draw, zone_ids: list[int]) -> dict:
    start = draw(st.integers(0, 30))
    low = draw(st.integers(100, 400))
    countries = draw(st.lists(st.sampled_from(COUNTRIES), min_size=1, max_size=4, unique=True))
    return {
        "zone": draw(st.sampled_from(zone_ids)),
        "rate": f"{draw(st.integers(30, 900))}/h",
        "from_": f"{start}s",
        "until": f"{start + draw(st.integers(10, 120))}s",
        "direction": {"in": draw(st.integers(0, 10)), "out": draw(st.integers(1, 10))},
        "speed": [low, low + draw(st.integers(0, 400))],
        "countries": {c: draw(st.integers(1, 5)) for c in countries},
        "misread": draw(st.one_of(st.just(0), st.integers(0, 30).map(lambda n: n / 100),
                                  st.just({"substitution": 0.1, "growing": 0.1, "regression": 0.1}))),
    }


def _choices(value, everything: Sequence[str], what: str) -> st.SearchStrategy[str]:
    chosen = everything if value is None else (value,) if isinstance(value, str) else tuple(value)
    wrong = [c for c in chosen if c not in everything]
    if wrong or not chosen:
        raise ValueError(f"{what}: {', '.join(map(repr, wrong)) or 'none given'} "
                         f"(choose from: {', '.join(everything)})")
    return st.sampled_from(chosen)


def scenario_builders(max_vehicles: int = 5, protocols: Iterable[str] = ("http",),
                      firmware: str | Iterable[str] | None = None, *, min_vehicles: int = 1, max_flows: int = 1,
                      max_profiles: int = 2, resolution: tuple[int, int] | None = None
                      ) -> st.SearchStrategy[ScenarioBuilder]:
    """ScenarioBuilders of valid scenarios (see scenarios() for the arguments), to change before build()."""
    if not 0 <= min_vehicles <= max_vehicles:
        raise ValueError(f"need 0 <= min_vehicles <= max_vehicles, got {min_vehicles} and {max_vehicles}")
    return _builders(_choices(firmware, GENERATIONS, "firmware"), _choices(protocols, PROTOCOLS, "protocols"),
                     min_vehicles, max_vehicles, max_flows, max_profiles, resolution)


@st.composite
def _builders(draw, firmware: st.SearchStrategy[str], protocol: st.SearchStrategy[str], min_vehicles: int,
              max_vehicles: int, max_flows: int, max_profiles: int, resolution: tuple[int, int] | None
              ) -> ScenarioBuilder:
    fw = draw(firmware)
    w, h = resolution if resolution is not None else draw(st.sampled_from(RESOLUTIONS))
    fps = draw(st.sampled_from(FPS))
    start = draw(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)))
    builder = ScenarioBuilder(seed=draw(st.integers(0, 2**31 - 1)), start=start.isoformat(timespec="milliseconds") + "Z")
    builder.camera(device_id=f"CAM-{draw(st.integers(1, 999))}", firmware=fw, resolution=(w, h), fps=fps,
                   timezone=draw(st.sampled_from(TIMEZONES)))
    builder.recognition(lost_timeout=draw(st.sampled_from(["1s", "2s", "5s"])),
                        update_interval=draw(st.sampled_from(["0s", "0s", "300ms"])),
                        direction_min_travel=draw(st.integers(10, 100)),
                        first_car_id=draw(st.one_of(st.just(1), st.integers(1, 10**6))),
                        reliable_confidence=draw(st.integers(50, 100)) / 100,
                        reliable_timeout=draw(st.sampled_from(["500ms", "1s", "3s"])))
    zone_list = draw(zones((w, h)))
    for zone in zone_list:
        builder.zone(**zone)
    listed = draw(st.lists(vehicles(zone_list, (w, h), fps), min_size=min_vehicles, max_size=max_vehicles))
    for vehicle in listed:
        builder.vehicle(**vehicle)
    for _ in range(draw(st.integers(0, max_flows))):
        builder.traffic(**draw(_flow([z["id"] for z in zone_list])))
    if listed and draw(st.integers(0, 3)) == 0:
        some = draw(st.lists(st.sampled_from([v["plate"] for v in listed]), max_size=3, unique=True))
        allow = [{"plate": p, "description": "staff"} for p in some[:1]]
        builder.lists(allow=allow, block=some[1:], match=draw(st.sampled_from(["soft", "strict"])))
    reliable = generation(fw).reliable
    for profile_id in range(1, draw(st.integers(1, min(max(max_profiles, 1), 3))) + 1):
        kind = draw(protocol)
        events = list(DEFAULT_EVENTS) + ([RELIABLE] if reliable and draw(st.booleans()) else [])
        settings: dict = {"protocol": kind, "events": events}
        if kind == "http":
            settings.update(format=draw(st.sampled_from(HTTP_FORMATS)),
                            image=draw(st.sampled_from(IMAGE_KINDS)), second_image=draw(st.booleans()))
        else:
            settings.update(framing=draw(st.sampled_from(FRAMINGS)))
        builder.profile(profile_id, **settings)
    return builder


def scenarios(max_vehicles: int = 5, protocols: Iterable[str] = ("http",), firmware: str | Iterable[str] | None = None,
              *, min_vehicles: int = 1, max_flows: int = 1, max_profiles: int = 2,
              resolution: tuple[int, int] | None = None) -> st.SearchStrategy[Scenario]:
    """Random valid Scenarios (see the module's doc for what each one guarantees).

    max_vehicles, min_vehicles: how many listed vehicles. protocols: those the profiles use
    (http, tcp). firmware: one generation, several, or None for any of GENERATIONS.
    max_flows: generated traffic flows (0: none), each ending within 150 s. max_profiles: 1 to 3.
    resolution: (width, height), else one of RESOLUTIONS.
    """
    return scenario_builders(max_vehicles, protocols, firmware, min_vehicles=min_vehicles, max_flows=max_flows,
                             max_profiles=max_profiles, resolution=resolution).map(
        lambda builder: builder.build("<hypothesis>"))
