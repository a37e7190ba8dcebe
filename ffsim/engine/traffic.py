"""Vehicles for the engine: from the scenario's list, and generated from traffic flows."""

from __future__ import annotations

import math

from ..scenario.model import Flow, Scenario, VehicleSpec
from . import geometry
from .frames import FrameClock
from .plates import (
    BRANDS,
    COLOR_WEIGHTS,
    GENERATORS,
    TYPE_WEIGHTS,
    Rng,
    Weighted,
    growing,
    misread,
    misread_kind,
    plate_size,
    region_of,
)
from .vehicle import Reading, Trajectory, Vehicle

SEPARATORS = str.maketrans("", "", " -·.")


def make_normaliser(keep_separators: bool):
    """Plates are written as the vehicle shows them; the camera reports them without separators."""
    if keep_separators:
        return lambda text: text.strip()
    return lambda text: text.translate(SEPARATORS)


def _view(points) -> str:
    dy = points[-1][1] - points[0][1]
    return "rear" if dy < 0 else "front"  # moving down the image = towards the camera


def vehicle_from_spec(spec: VehicleSpec, index: int, seq: int, scenario: Scenario, normalise) -> Vehicle:
    rng = Rng(scenario.seed, "vehicle", index)
    default_conf = round(rng.uniform(0.80, 0.98), 4)
    points = [(w.x, w.y, w.wait_us) for w in spec.path]
    timed = spec.path[0].time_us is not None  # the loader: every point has a time, or none has
    times = [w.time_us or 0 for w in spec.path] if timed else None
    trajectory = Trajectory(spec.at_us, points, spec.speed, spec.duration_us, times)
    reported = normalise(spec.plate)
    if spec.reads:
        reads = [
            Reading(normalise(r.text), default_conf if r.confidence < 0 else r.confidence, r.for_us)
            for r in spec.reads
        ]
    else:
        reads = [Reading(reported, default_conf, None)]
    region, code, iso = region_of(spec.country, reported)
    conf_mmr = rng.uniform(0.85, 0.999)
    conf_color = rng.uniform(0.85, 0.999)
    w, h = spec.plate_size or plate_size(spec.country, scenario.camera.width)
    return Vehicle(
        seq=seq,
        trajectory=trajectory,
        hidden=[(spec.at_us + a, spec.at_us + b) for a, b in spec.hidden],
        reads=reads,
        plate=spec.plate,
        country=spec.country,
        region=spec.region if spec.region is not None else region,
        region_code=spec.region_code if spec.region_code is not None else code,
        iso3166_2=spec.iso3166_2,
        brand=spec.brand,
        model=spec.model,
        color=spec.color,
        type=spec.type,
        view=spec.view or _view(points),
        confidence_mmr=spec.confidence_mmr if spec.confidence_mmr is not None else (round(conf_mmr, 4) if spec.brand else 0.0),
        confidence_color=spec.confidence_color if spec.confidence_color is not None else (round(conf_color, 4) if spec.color else 0.0),
        plate_w=w,
        plate_h=h,
    )


class FlowGenerator:
    """Poisson arrivals of vehicles crossing one zone along or against its arrow."""

    def __init__(self, flow: Flow, index: int, scenario: Scenario, normalise):
        self.flow = flow
        self.rng = Rng(scenario.seed, "traffic", index)
        self.normalise = normalise
        self.width, self.height = scenario.camera.width, scenario.camera.height
        self.frame_period_us = 1e6 / float(scenario.camera.fps)
        self.clock = FrameClock(scenario.camera.fps)
        # a step of a growing text lasts 80-200 ms, at least one frame, in whole frames: a read
        # of N frames lasting exactly the time of N frames keeps N frames whatever the phase
        fps = scenario.camera.fps
        self.step_frames = (max(1, math.ceil(fps * 80 / 1000)), max(1, math.floor(fps * 200 / 1000)))
        zone = next(z for z in scenario.zones if z.id == flow.zone)
        self.arrow = zone.arrow
        self.centre = geometry.polygon_centroid(zone.polygon)
        self.countries = Weighted(flow.countries)
        self.next_us: int | None = flow.from_us
        self.advance()

    def advance(self) -> None:
        """Draw the next arrival time (None once the flow has ended)."""
        if self.next_us is None:
            return
        nxt = self.next_us + int(round(self.rng.expovariate(self.flow.rate_per_s) * 1e6))
        until = self.flow.until_us
        self.next_us = nxt if until is None or nxt < until else None

    def _crossing(self, going_in: bool, lateral: float) -> list[tuple[float, float, int]]:
        """A straight path through the zone along (or against) its arrow, frame edge to frame edge."""
        ax, ay = self.arrow
        if not going_in:
            ax, ay = -ax, -ay
        width, height = float(self.width), float(self.height)
        cx = min(max(self.centre[0] - lateral * ay, 0.0), width)
        cy = min(max(self.centre[1] + lateral * ax, 0.0), height)
        # distance to the frame's edge going forwards (ahead) and backwards (back)
        ahead = back = math.inf
        if ax > 1e-12:
            ahead, back = (width - cx) / ax, cx / ax
        elif ax < -1e-12:
            ahead, back = -cx / ax, (cx - width) / ax
        if ay > 1e-12:
            ahead, back = min(ahead, (height - cy) / ay), min(back, cy / ay)
        elif ay < -1e-12:
            ahead, back = min(ahead, -cy / ay), min(back, (cy - height) / ay)
        if ahead == math.inf:
            ahead = back = 0.0
        x0, y0 = cx - ax * back, cy - ay * back
        x1, y1 = cx + ax * ahead, cy + ay * ahead
        return [(min(max(x0, 0.0), width), min(max(y0, 0.0), height), 0),
                (min(max(x1, 0.0), width), min(max(y1, 0.0), height), 0)]

    def _reads(self, reported: str, conf: float, kind: str) -> list[Reading]:
        """The reads of a plate: right from the start, or misread in one of the ways of FF-EVENTS.md
        section 10 before the right text takes over."""
        rng = self.rng
        right = Reading(reported, conf, None)
        if kind == "substitution":
            # a confusable character wrong for the first 1-3 frames
            frames = 1 + rng.index(3)
            wrong = misread(reported, rng)
            wrong_conf = round(rng.uniform(0.35, 0.65), 4)
            return [Reading(wrong, wrong_conf, int(math.ceil(frames * self.frame_period_us))), right]
        if kind != "growing" and kind != "regression":
            return [right]
        low, high = self.step_frames
        steps = growing(reported, rng, low, high)
        if not steps:
            return [right]
        time = self.clock.time
        if kind == "growing":
            return [Reading(text, c, time(n)) for text, n, c in steps] + [right]
        # regression: the text grows to a full-length wrong reading, the right text takes over,
        # and late (1.5-3 s after the first recognition) the wrong reading returns for good; it
        # overtakes once it has as many frames as the right text, if the vehicle stays that long
        wrong = misread(reported, rng)
        late_us = int(rng.uniform(1_500_000, 3_000_000))
        _, n_wrong, wrong_conf = steps[-1]
        reads = [Reading(text, c, time(n)) for text, n, c in steps[:-1]]
        reads.append(Reading(wrong, wrong_conf, time(n_wrong)))
        elapsed = 0
        for r in reads:
            elapsed += r.for_us or 0
        # at least twice the wrong reading's frames, so the right text does get reported
        reads.append(Reading(reported, conf, max(late_us - elapsed, time(2 * n_wrong))))
        reads.append(Reading(wrong, wrong_conf, None))
        return reads

    def make(self, seq: int) -> Vehicle:
        rng, flow = self.rng, self.flow
        at_us = self.next_us
        assert at_us is not None, "make() after the flow ended"
        going_in = rng.random() < flow.p_in
        country = rng.weighted(self.countries)
        shown, region, code, iso = GENERATORS[country](rng)
        speed = rng.uniform(flow.speed_min, flow.speed_max)
        lateral = rng.uniform(*flow.lateral)
        brand, models = rng.choice(BRANDS[country])
        model = rng.choice(models)
        color = rng.weighted(COLOR_WEIGHTS)
        kind = rng.weighted(TYPE_WEIGHTS)
        conf = round(rng.uniform(0.75, 0.99), 4)
        conf_mmr = round(rng.uniform(0.6, 0.999), 4)
        conf_color = round(rng.uniform(0.7, 0.999), 4)
        reported = self.normalise(shown)
        reads = self._reads(reported, conf, misread_kind(flow.misread, rng.random()))
        points = self._crossing(going_in, lateral)
        w, h = plate_size(country, self.width)
        return Vehicle(
            seq=seq,
            trajectory=Trajectory(at_us, points, speed, None),
            hidden=[],
            reads=reads,
            plate=shown,
            country=country,
            region=region,
            region_code=code,
            iso3166_2=iso,
            brand=brand,
            model=model,
            color=color,
            type=kind,
            view=_view(points),
            confidence_mmr=conf_mmr,
            confidence_color=conf_color,
            plate_w=w,
            plate_h=h,
        )
