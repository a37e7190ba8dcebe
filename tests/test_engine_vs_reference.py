"""The analytic engine must give exactly what the frame-by-frame reference gives."""

from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ffsim.engine.frames import FrameClock
from ffsim.engine.vehicle import Reading, Recogniser, Trajectory, Vehicle
from ffsim.scenario.model import Zone

from .reference import reference_events

W, H = 640, 360

coord_x = st.integers(0, W // 20).map(lambda v: v * 20) | st.floats(0, W)
coord_y = st.integers(0, H // 20).map(lambda v: v * 20) | st.floats(0, H)


@st.composite
def polygons(draw):
    kind = draw(st.sampled_from(["rect", "poly"]))
    if kind == "rect":
        x0, x1 = sorted(draw(st.lists(st.integers(0, W // 20), min_size=2, max_size=2, unique=True)))
        y0, y1 = sorted(draw(st.lists(st.integers(0, H // 20), min_size=2, max_size=2, unique=True)))
        return ((x0 * 20, y0 * 20), (x1 * 20, y0 * 20), (x1 * 20, y1 * 20), (x0 * 20, y1 * 20))
    points = draw(st.lists(st.tuples(coord_x, coord_y), min_size=3, max_size=6))
    return tuple((float(x), float(y)) for x, y in points)


@st.composite
def zones(draw):
    n = draw(st.integers(1, 2))
    return [Zone(i + 1, draw(polygons()), float(draw(st.sampled_from([0, 90, 180, 270, 45, 300])))) for i in range(n)]


@st.composite
def vehicles(draw):
    n_points = draw(st.integers(1, 4))
    points = []
    for _ in range(n_points):
        wait = draw(st.sampled_from([0, 0, 0, 300_000, 1_200_000, 2_500_000]))
        points.append((draw(coord_x), draw(coord_y), wait))
    speed = draw(st.floats(40, 900))
    at = draw(st.integers(0, 2_000_000))
    hidden = []
    for _ in range(draw(st.integers(0, 2))):
        a = draw(st.integers(0, 4_000_000))
        hidden.append((at + a, at + a + draw(st.integers(1, 3_000_000))))
    n_reads = draw(st.integers(1, 4))
    texts = ["AB123", "AB128", "A8123", "AB12"]
    reads = [
        Reading(draw(st.sampled_from(texts)), draw(st.sampled_from([0.5, 0.6, 0.9])),
                None if i == n_reads - 1 else draw(st.integers(1, 1_500_000)))
        for i in range(n_reads)
    ]
    return Vehicle(
        seq=0, trajectory=Trajectory(at, points, speed, None), hidden=hidden, reads=reads, plate="AB123",
        country="CZE", region="", region_code="", iso3166_2="", brand="", model="", color="", type="CAR",
        view="front", confidence_mmr=0.0, confidence_color=0.0, plate_w=40, plate_h=10,
    )


def engine_events(rec, v):
    return [(e.time_us, e.state, e.capture_us, e.text, e.confidence, e.direction, e.zone) for e in rec.events(v)]


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    zones(),
    vehicles(),
    st.sampled_from([Fraction(10), Fraction(25, 2), Fraction(15), Fraction(5), Fraction(30), Fraction(7)]),
    st.sampled_from([300_000, 1_000_000, 2_000_000]),
    st.sampled_from([5.0, 40.0, 120.0]),
    st.sampled_from([0, 0, 250_000, 900_000]),
)
def test_engine_matches_reference(zone_list, vehicle, fps, timeout, travel, interval):
    rec = Recogniser(zone_list, FrameClock(fps), timeout, travel, interval)
    assert engine_events(rec, vehicle) == reference_events(rec, vehicle), (
        f"pieces={vehicle.trajectory.pieces} hidden={vehicle.hidden} runs={rec.runs(vehicle)}")


def test_path_along_a_zone_edge_is_recognised():
    """Boundary included, also when the path runs on an edge (collinear crossings)."""
    zone = Zone(1, ((100.0, 100.0), (300.0, 100.0), (300.0, 300.0), (100.0, 300.0)), 90.0)
    rec = Recogniser([zone], FrameClock(Fraction(10)), 1_000_000, 40.0, 0)
    v = Vehicle(
        seq=0, trajectory=Trajectory(0, [(0, 100, 0), (400, 100, 0)], 100.0, None), hidden=[],
        reads=[Reading("X1", 0.9, None)], plate="X1", country="CZE", region="", region_code="", iso3166_2="",
        brand="", model="", color="", type="CAR", view="front", confidence_mmr=0.0, confidence_color=0.0,
        plate_w=40, plate_h=10,
    )
    assert rec.runs(v) == [[10, 30, 1]]
    assert engine_events(rec, v) == reference_events(rec, v)
