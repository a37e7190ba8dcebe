"""ffsim import sumo: SUMO's floating car data as scenario vehicles (issue 12, item 5).

The bundled example (examples/sumo: a 3 x 3 grid with a traffic light, its traffic and FCD, made
by examples/sumo/regenerate.sh) is imported and played through ffsim's engine; what the engine
does is compared with the FCD itself, mapped through a homography this file computes on its own
(the null space of the 8 x 9 system, by SVD; the importer solves the 8 x 8 one). The view's checks
need no SUMO; the rest skips where the sumo extra (sumolib) is not installed.
"""

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ffsim.cli import main
from ffsim.cli_common import FILE_MODE
from ffsim.engine.loop import Engine
from ffsim.engine.traffic import make_normaliser, vehicle_from_spec
from ffsim.importers.sumo import (MAX_XML_BYTES, SUMO_CLASSES, ImportProblem, Homography, duration_text,
                                  import_fcd, load_view, quadrilateral_problem, read_fcd, read_vtypes)
from ffsim.scenario import scenario_from_text
from ffsim.vocabulary import LOST, NEW

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "sumo"
FCD = EXAMPLE / "fcd.xml.gz"
VIEW = EXAMPLE / "view.yaml"
BIN = Path(sys.executable).parent  # the venv's: sumo and netgenerate come with the eclipse-sumo package


# -- the view: no SUMO needed ---------------------------------------------------------------
ROAD = [(135.0, 196.0), (135.0, 204.0), (185.0, 204.0), (185.0, 196.0)]
PIXELS = [(660.0, 180.0), (1260.0, 180.0), (1880.0, 1040.0), (40.0, 1040.0)]


def homography_by_svd(source, target) -> np.ndarray:
    """H with H [x, y, 1] ~ [u, v, 1]: the null space of the 8 x 9 direct linear transform."""
    rows = []
    for (x, y), (u, v) in zip(source, target):
        rows.append([-x, -y, -1, 0, 0, 0, u * x, u * y, u])
        rows.append([0, 0, 0, -x, -y, -1, v * x, v * y, v])
    return np.linalg.svd(np.array(rows, dtype=float))[2][-1].reshape(3, 3)


def project(matrix: np.ndarray, x: float, y: float) -> tuple[float, float]:
    u, v, w = matrix @ (x, y, 1.0)
    return u / w, v / w


def test_the_homography_takes_the_four_points_to_their_pixels_and_lines_to_lines():
    h = Homography(ROAD, PIXELS)
    us, vs = h(np.array([p[0] for p in ROAD]), np.array([p[1] for p in ROAD]))
    assert np.allclose(np.column_stack([us, vs]), PIXELS, atol=1e-9)
    reference = homography_by_svd(ROAD, PIXELS)
    for x, y in [(150, 198.4), (160.5, 201.6), (184, 197)]:
        u, v = h(np.array([x]), np.array([y]))
        assert np.allclose((u[0], v[0]), project(reference, x, y), atol=1e-6)


@pytest.mark.parametrize(("points", "expected"), [
    ([(0, 0), (10, 0), (20, 0), (0, 10)], "the sumo points 1, 2 and 3 lie on one line"),
    ([(0, 0), (10, 10), (10, 0), (0, 10)], "the sumo points must go around the quadrilateral in order"),
    ([(0, 0), (10, 0), (3, 3), (0, 10)], "the sumo points must go around the quadrilateral in order"),
])
def test_a_degenerate_quadrilateral_is_refused(points, expected):
    assert expected in quadrilateral_problem(points, "the sumo")
    assert quadrilateral_problem(ROAD, "the sumo") is None


def view_problems(tmp_path, text: str) -> list[str]:
    path = tmp_path / "view.yaml"
    path.write_text(text)
    with pytest.raises(ImportProblem) as info:
        load_view(str(path))
    return [line.replace(str(path), "view.yaml") for line in info.value.lines]


POINTS = """points:
  - {sumo: [135, 196], pixel: [660, 180]}
  - {sumo: [135, 204], pixel: [1260, 180]}
  - {sumo: [185, 204], pixel: [1880, 1040]}
  - {sumo: [185, 196], pixel: [40, 1040]}
"""


@pytest.mark.parametrize(("text", "expected"), [
    (POINTS.replace("[185, 204]", "[135, 200]"),
     ["view.yaml:2:3: points: the sumo points 1, 2 and 3 lie on one line: a view needs four points of which no "
      "three are on a line"]),
    (POINTS.replace("[1880, 1040]", "[1880, 1140]"),
     ["view.yaml:4:31: points[2].pixel [1880, 1140] is outside the 1920x1080 frame"]),
    (POINTS.replace("pixel: [40, 1040]", "pixle: [40, 1040]"),
     ["view.yaml:5:5: points[3]: missing required key 'pixel'",
      "view.yaml:5:24: points[3]: unknown key 'pixle'; did you mean 'pixel'? (allowed: pixel, sumo)"]),
    ("camera: {fps: 10}\n",
     ["view.yaml:1:1: the view: missing required key 'points'"]),
    (POINTS.replace("sumo: [135, 196]", "sumo: [.nan, 196]"),
     ["view.yaml:2:12: points[0].sumo: each coordinate must be a finite number, got [.nan, 196]"]),
    (POINTS.replace("pixel: [40, 1040]", "pixel: [-.inf, 1040]"),
     ["view.yaml:5:31: points[3].pixel: each coordinate must be a finite number, got [-.inf, 1040]"]),
    (POINTS.replace("sumo: [135, 196]", "sumo: [1" + "0" * 400 + ", 196]"),
     ["view.yaml:2:12: points[0].sumo: each coordinate must be a finite number, got [1" + "0" * 400 + ", 196]"]),
    (POINTS + "zones: [{id: 1, polygon: [[0, 0], [10, 0], [2000, 10]], direction: 90}]\n",
     ["view.yaml:6:44: zones[0].polygon[2]: point [2000.0, 10.0] is outside the 1920x1080 frame"]),
])
def test_view_mistakes_are_named_with_their_position(tmp_path, text, expected):
    assert view_problems(tmp_path, text) == expected


def test_the_default_zone_covers_the_view_along_the_road():
    view = load_view(str(VIEW))
    assert view.zone_list() == [{"id": 1, "polygon": [[660, 180], [1260, 180], [1880, 1040], [40, 1040]],
                                 "direction": 180}]


def test_the_import_needs_no_sumolib(tmp_path):
    """The FCD is read with expat: Python's own way to make an import fail (a None in
    sys.modules) keeps sumolib out, in a process of its own, and the import is the bundled one."""
    code = "import sys; sys.modules['sumolib'] = None; from ffsim.cli import main; main()"
    done = subprocess.run([sys.executable, "-c", code, "import", "sumo", "examples/sumo/fcd.xml.gz", "--view",
                           "examples/sumo/view.yaml"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert (done.returncode, done.stdout) == (0, (EXAMPLE / "junction.yaml").read_text()), done.stderr


# -- the bundled example: needs the sumo extra ------------------------------------------------
@pytest.fixture(scope="module")
def sumolib():
    # CI installs the extra (.ci/run): there a missing sumolib is a failure, not a skip
    if os.environ.get("CI"):
        import sumolib

        return sumolib
    return pytest.importorskip("sumolib")


def fcd_tracks(sumolib, path: Path) -> dict[str, list[tuple[int, float, float, float, str]]]:
    """SUMO id -> [(time us, x, y, speed, vType)] straight from the FCD."""
    tracks: dict[str, list] = defaultdict(list)
    for step in sumolib.xml.parse(str(path), "timestep"):
        t = round(float(step.time) * 1_000_000)
        for v in step.getChild("vehicle") if step.hasChild("vehicle") else ():
            tracks[v.id].append((t, float(v.x), float(v.y), float(v.speed), v.type))
    return tracks


def inside(polygon, x: float, y: float) -> bool:
    """In the convex polygon, edges included."""
    turns = [(bx - ax) * (y - ay) - (by - ay) * (x - ax)
             for (ax, ay), (bx, by) in zip(polygon, polygon[1:] + polygon[:1])]
    return all(t >= -1e-9 for t in turns) or all(t <= 1e-9 for t in turns)


def crossing_us(t0: int, p0: tuple[float, float], t1: int, p1: tuple[float, float]) -> float:
    """When SUMO's vehicle, moving straight and evenly from p0 (at t0) to p1 (at t1), crosses the
    edge of the road quadrilateral: by bisection (the importer solves it)."""
    start_inside = inside(ROAD, *p0)
    low, high = 0.0, 1.0
    for _ in range(60):
        middle = (low + high) / 2
        if inside(ROAD, p0[0] + middle * (p1[0] - p0[0]), p0[1] + middle * (p1[1] - p0[1])) == start_inside:
            low = middle
        else:
            high = middle
    return t0 + (low + high) / 2 * (t1 - t0)


def in_view(track, step_us: int) -> tuple[float, float, list[tuple[int, float, float]]]:
    """When a SUMO vehicle that passes the view once comes in and leaves (where its straight move
    between two steps crosses the edge; its first or last sample when the FCD has none a step
    before or after), and its samples in view."""
    indices = [i for i, (t, x, y, *_) in enumerate(track) if inside(ROAD, x, y)]
    first, last = indices[0], indices[-1]
    assert indices == list(range(first, last + 1))

    def neighbour(i: int, j: int) -> bool:
        return 0 <= j < len(track) and abs(track[j][0] - track[i][0]) <= 1.5 * step_us

    entry = (crossing_us(track[first - 1][0], track[first - 1][1:3], track[first][0], track[first][1:3])
             if neighbour(first, first - 1) else track[first][0])
    leave = (crossing_us(track[last][0], track[last][1:3], track[last + 1][0], track[last + 1][1:3])
             if neighbour(last, last + 1) else track[last][0])
    return entry, leave, [(t, x, y) for t, x, y, *_ in track[first:last + 1]]


@pytest.fixture(scope="module")
def imported(sumolib):
    """The bundled FCD imported as the README shows (from the repository's root), its scenario,
    and the SUMO id of each scenario vehicle (the comment on its plate line)."""
    runner = CliRunner()
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        result = runner.invoke(main, ["import", "sumo", "examples/sumo/fcd.xml.gz", "--view", "examples/sumo/view.yaml"])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    text = result.stdout
    return text, scenario_from_text(text, "junction.yaml"), sumo_ids(text), result.stderr


def sumo_ids(text: str) -> list[str]:
    """The SUMO id of each scenario vehicle (the comment on its plate line)."""
    return re.findall(r'^  - plate: .*# SUMO vehicle "([^"]*)"', text, flags=re.M)


def test_the_import_is_the_bundled_scenario_byte_for_byte(imported):
    text, scenario, ids, summary = imported
    assert text == (EXAMPLE / "junction.yaml").read_text()
    assert summary == ("ffsim import sumo: 35 vehicles imported from 50 in the FCD (left out: 15 never in the "
                       "view), in view from 28.44875s to 238.560144s (SUMO time)\n")
    assert len(scenario.vehicles) == len(ids) == 35


def check_where_and_when(scenario, ids, tracks, step_us: int) -> int:
    """Each vehicle comes in and leaves when SUMO's does (on the microsecond: the importer rounds
    into the view) and is where SUMO puts it (within a pixel) when it comes in, at every FCD time
    in view and when it leaves; the number of positions checked."""
    reference = homography_by_svd(ROAD, PIXELS)
    normalise = make_normaliser(False)
    checked = 0
    for index, (spec, sumo_id) in enumerate(zip(scenario.vehicles, ids)):
        trajectory = vehicle_from_spec(spec, index, index, scenario, normalise).trajectory
        entry, leave, seen = in_view(tracks[sumo_id], step_us)
        assert 0 <= trajectory.start - entry <= 1 and 0 <= leave - trajectory.end <= 1, \
            (sumo_id, trajectory.start, entry, trajectory.end, leave)
        track = tracks[sumo_id]
        between = {t: (x, y) for t, x, y, *_ in track}
        for t in (trajectory.start, trajectory.end):  # SUMO's vehicle there, moving straight between steps
            before = max(s for s in between if s <= t)
            after = min((s for s in between if s >= t), default=before)
            share = 0 if after == before else (t - before) / (after - before)
            x = between[before][0] + share * (between[after][0] - between[before][0])
            y = between[before][1] + share * (between[after][1] - between[before][1])
            seen.append((t, x, y))
        for t, x, y in seen:
            u, v = trajectory.position(t)
            pu, pv = project(reference, x, y)
            assert abs(u - pu) <= 1 and abs(v - pv) <= 1, (sumo_id, t, (u, v), (pu, pv))
            checked += 1
    return checked


def test_each_vehicle_is_where_sumo_puts_it_at_every_fcd_time(sumolib, imported):
    text, scenario, ids, _ = imported
    assert check_where_and_when(scenario, ids, fcd_tracks(sumolib, FCD), 100_000) > 3_000


def check_timing(scenario, ids, tracks, step_us: int) -> None:
    """New within a frame of when SUMO's vehicle (moving straight between its steps) comes into
    the zone, Lost within a frame of when it leaves + the lost timeout; one passage per vehicle,
    also for those that wait at the red light."""
    frame_us = 1_000_000 / scenario.camera.fps
    plate_of = {sumo_id: spec.plate for spec, sumo_id in zip(scenario.vehicles, ids)}
    events = defaultdict(list)
    for event in Engine(scenario).events():
        events[event.passage.vehicle.plate].append(event)
    timeout = scenario.recognition.lost_timeout_us
    for sumo_id, plate in plate_of.items():
        entry, leave, _ = in_view(tracks[sumo_id], step_us)
        states = [e.state for e in events[plate] if e.state in (NEW, LOST)]
        assert states == [NEW, LOST], (sumo_id, states)
        new = next(e for e in events[plate] if e.state == NEW)
        lost = next(e for e in events[plate] if e.state == LOST)
        assert 0 <= new.time_us - entry <= frame_us + 1, (sumo_id, new.time_us, entry)
        assert abs(lost.time_us - (leave + timeout)) <= frame_us + 1, (sumo_id, lost.time_us, leave)


def test_passages_match_sumos_timing_within_a_frame(sumolib, imported):
    """The bundled FCD: one step (0.1 s) a frame of the 10 fps camera."""
    text, scenario, ids, _ = imported
    check_timing(scenario, ids, fcd_tracks(sumolib, FCD), 100_000)


def sumo_binary() -> str:
    found = shutil.which("sumo", path=str(BIN))
    if found is None and not os.environ.get("CI"):
        pytest.skip("the eclipse-sumo package (sumo) is not installed next to python")
    assert found is not None
    return found


def test_with_sumos_default_step_of_a_second_new_and_lost_still_come_within_a_frame(sumolib, tmp_path):
    """sumo --step-length 1 (SUMO's default) on the bundled network and routes: ten frames a step;
    each path starts and ends where the straight move between two steps crosses the view's edge."""
    done = subprocess.run([sumo_binary(), "-n", str(EXAMPLE / "road.net.xml"), "-r", str(EXAMPLE / "routes.rou.xml"),
                           "--step-length", "1", "--seed", "5", "--end", "240", "--fcd-output", "fcd.xml",
                           "--fcd-output.filter-edges.input-file", str(EXAMPLE / "view-edges.txt"),
                           "--fcd-output.attributes", "x,y,speed,type", "--fcd-output.skip-empty", "--no-step-log"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    text = import_fcd(str(tmp_path / "fcd.xml"), str(VIEW)).text
    scenario, ids = scenario_from_text(text), sumo_ids(text)
    tracks = fcd_tracks(sumolib, tmp_path / "fcd.xml")
    assert len(ids) > 20
    assert check_where_and_when(scenario, ids, tracks, 1_000_000) > 300
    check_timing(scenario, ids, tracks, 1_000_000)


def test_a_vehicle_waiting_at_the_red_light_waits_in_view_without_a_lost(sumolib, imported):
    text, scenario, ids, _ = imported
    tracks = fcd_tracks(sumolib, FCD)
    normalise = make_normaliser(False)
    waits = 0
    for index, (spec, sumo_id) in enumerate(zip(scenario.vehicles, ids)):
        samples = [s for s in tracks[sumo_id] if inside(ROAD, s[1], s[2])]
        stop = []  # the longest run of samples at one position
        run = samples[:1]
        for s in samples[1:]:
            run = run + [s] if (s[1], s[2]) == (run[-1][1], run[-1][2]) else [s]
            stop = max(stop, run, key=len)
        if len(stop) < 50:  # 5 s standing still
            continue
        waits += 1
        assert all(s[3] < 0.05 for s in stop[1:])  # m/s: SUMO's speed 0, or creeping 1 cm in a step
        # a repeated point in the path: the wait, from the first to the last sample of the stop
        start_us, end_us = stop[0][0] - spec.at_us, stop[-1][0] - spec.at_us
        pairs = list(zip(spec.path, spec.path[1:]))
        assert any((a.x, a.y) == (b.x, b.y) and a.time_us <= start_us and b.time_us >= end_us for a, b in pairs)
        trajectory = vehicle_from_spec(spec, index, index, scenario, normalise).trajectory
        assert len({trajectory.position(t) for t, *_ in stop}) == 1
    assert waits >= 3  # the example's queues


def test_sumo_types_become_the_cameras_and_plates_fit_their_country(sumolib, imported, tmp_path):
    text, scenario, ids, _ = imported
    tracks = fcd_tracks(sumolib, FCD)
    expected = {"passenger": "CAR", "truck": "TRUCK", "bus": "BUS"}
    assert {spec.type: expected[tracks[sumo_id][0][4]] for spec, sumo_id in zip(scenario.vehicles, ids)
            if spec.type == expected[tracks[sumo_id][0][4]]}.keys() == {"CAR", "TRUCK", "BUS"}
    assert all(spec.type == expected[tracks[sumo_id][0][4]] for spec, sumo_id in zip(scenario.vehicles, ids))
    output = tmp_path / "mixed.yaml"
    result = CliRunner().invoke(main, ["import", "sumo", str(FCD), "--view", str(VIEW), "--country", "CZE=1,DEU=1",
                                       "--seed", "5", "-o", str(output)])
    assert result.exit_code == 0, result.output
    mixed = scenario_from_text(output.read_text())
    shapes = {"CZE": r"[1-9][A-Z][A-Z0-9] \d{4}", "DEU": r"[A-ZÄÖÜ]{1,3} [A-Z]{1,2} [1-9]\d{0,3}"}
    assert {v.country for v in mixed.vehicles} == {"CZE", "DEU"}
    for v in mixed.vehicles:
        assert re.fullmatch(shapes[v.country], v.plate), (v.country, v.plate)
    assert len({v.plate for v in mixed.vehicles}) == len(mixed.vehicles)
    assert output.stat().st_mode & 0o777 == FILE_MODE


def test_vtypes_files_give_the_classes(sumolib, imported, tmp_path):
    """--vtypes: SUMO's own vType definitions (here a made-up one: the buses are bicycles, which
    carry no plate and are left out); the example's routes file gives what the ids say."""
    text, scenario, ids, _ = imported
    result = CliRunner().invoke(main, ["import", "sumo", str(FCD), "--view", str(VIEW), "--vtypes",
                                       str(EXAMPLE / "routes.rou.xml")])
    assert result.exit_code == 0 and result.stdout.split("version: 1")[1] == text.split("version: 1")[1]
    bicycles = tmp_path / "bicycles.add.xml"
    bicycles.write_text('<additional>\n    <vType id="bus" vClass="bicycle"/>\n</additional>\n')
    result = CliRunner().invoke(main, ["import", "sumo", str(FCD), "--view", str(VIEW), "--vtypes", str(bicycles)])
    assert result.exit_code == 0, result.output
    buses = sum(1 for spec in scenario.vehicles if spec.type == "BUS")
    assert buses > 0 and "type: BUS" not in result.stdout
    assert f"{len(scenario.vehicles) - buses} vehicles imported" in result.stderr
    assert "bicycle (no plate)" in result.stderr


def test_bad_options_and_inputs_give_one_line(sumolib, tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["import", "sumo", str(FCD), "--view", str(VIEW), "--country", "XYZ"])
    assert result.exit_code == 2
    assert "Invalid value for '--country': no plate generator for 'XYZ'" in result.output
    not_fcd = tmp_path / "fcd.xml"
    not_fcd.write_text("<fcd-export>\n  <timestep time='1'>\n</fcd-export>\n")
    result = runner.invoke(main, ["import", "sumo", str(not_fcd), "--view", str(VIEW)])
    assert result.exit_code == 1
    assert result.stderr == f"{not_fcd}:3:3: not SUMO floating car data (XML): mismatched tag\n"
    elsewhere = tmp_path / "elsewhere.yaml"
    elsewhere.write_text(VIEW.read_text().replace("sumo: [1", "sumo: [9"))
    result = runner.invoke(main, ["import", "sumo", str(FCD), "--view", str(elsewhere)])
    assert result.exit_code == 1
    assert "no vehicle of the FCD comes into the view" in result.stderr
    assert "Traceback" not in result.output


# -- large coordinates, bad FCDs, long ones, SUMO's default step ---------------------------------
def write_fcd(path: Path, steps) -> Path:
    """An FCD as sumo --fcd-output writes it: steps are (time text, [(id, x, y)])."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<fcd-export>"]
    for time, vehicles in steps:
        lines.append(f'    <timestep time="{time}">')
        lines += [f'        <vehicle id="{vid}" x="{x}" y="{y}" angle="90.00" type="passenger" speed="7.00"/>'
                  for vid, x, y in vehicles]
        lines.append("    </timestep>")
    path.write_text("\n".join(lines + ["</fcd-export>", ""]))
    return path


SHIFT = 5_000_000  # metres: UTM-scale coordinates, as netconvert writes them without its offset


def shifted_view(tmp_path) -> Path:
    view = tmp_path / "far.yaml"
    view.write_text(re.sub(r"sumo: \[(\d+), (\d+)\]", lambda m: f"sumo: [{int(m[1]) + SHIFT}, {int(m[2]) + SHIFT}]",
                           VIEW.read_text()))
    return view


def test_a_view_millions_of_metres_from_the_origin_sees_the_road_and_not_beside_it(tmp_path):
    view = load_view(str(shifted_view(tmp_path)))
    xs = np.array([150, 150, 150, 150, 150, 135, 185.0]) + SHIFT
    ys = np.array([198.4, 196, 195.99, 204.01, 230, 204, 196]) + SHIFT  # in, on the edge, 1 cm off, 26 m off, corners
    assert view.sees(xs, ys).tolist() == [True, True, False, False, False, True, True]


def test_a_view_millions_of_metres_from_the_origin_imports_as_near_it(sumolib, imported, tmp_path):
    """The bundled FCD and view, both moved 5,000 km: the same vehicles, times and pixels."""
    far_fcd = tmp_path / "far.xml"
    far_fcd.write_text(re.sub(r' (x|y)="([-\d.]+)"', lambda m: f' {m[1]}="{float(m[2]) + SHIFT:.2f}"',
                              gzip.decompress(FCD.read_bytes()).decode()))
    text, scenario, ids, _ = imported
    far = scenario_from_text(import_fcd(str(far_fcd), str(shifted_view(tmp_path))).text)
    assert sumo_ids(import_fcd(str(far_fcd), str(shifted_view(tmp_path))).text) == ids
    normalise = make_normaliser(False)
    for index, (near_spec, far_spec) in enumerate(zip(scenario.vehicles, far.vehicles)):
        near_path = vehicle_from_spec(near_spec, index, index, scenario, normalise).trajectory
        far_path = vehicle_from_spec(far_spec, index, index, far, normalise).trajectory
        assert abs(near_path.start - far_path.start) <= 1 and abs(near_path.end - far_path.end) <= 1
        for t in range(int(near_path.start) + 1, int(near_path.end), 50_000):
            (u, v), (fu, fv) = near_path.position(t), far_path.position(t)
            assert abs(u - fu) <= 0.05 and abs(v - fv) <= 0.05, (ids[index], t)


ONE = [("a", 150, 198.4)]


@pytest.mark.parametrize(("steps", "expected"), [
    ([("0", ONE), ("inf", ONE)],
     '6:5: <timestep time="inf">: a time must be a number of seconds from 0 to 10 years (87600h)'),
    ([("1e20", ONE)], '3:5: <timestep time="1e20">: a time must be a number of seconds from 0 to 10 years (87600h)'),
    ([("-5.0", ONE)], '3:5: <timestep time="-5.0">: a time must be a number of seconds from 0 to 10 years (87600h)'),
    ([("nan", ONE)], '3:5: <timestep time="nan">: a time must be a number of seconds from 0 to 10 years (87600h)'),
    ([("soon", ONE)], '3:5: <timestep time="soon">: a time must be a number of seconds from 0 to 10 years (87600h)'),
    ([("1", ONE), ("2", ONE), ("1.5", [("b", 150, 198.4), ("a", 151, 198.4)])],
     '9:5: <timestep time="1.5">: the timesteps\' times must increase (the one before is at 2s)'),
    ([("1", ONE + ONE)], '5:9: <timestep time="1">: vehicle "a" is in it twice'),
    ([("1", ONE), ("1.0000001", ONE)],
     '6:5: <timestep time="1.0000001">: less than a microsecond after the timestep before, at 1s (ffsim\'s times '
     'are microseconds)'),
    ([("1", [("a", "nan", 198.4)])],
     '4:9: <timestep time="1">: vehicle "a": x="nan" y="198.4" is not a position (metres)'),
    ([("1", [("a", 150, "1e309")])],
     '4:9: <timestep time="1">: vehicle "a": x="150" y="1e309" is not a position (metres)'),
])
def test_fcd_mistakes_name_the_position_the_timestep_and_the_vehicle(tmp_path, steps, expected):
    fcd = write_fcd(tmp_path / "bad.xml", steps)
    with pytest.raises(ImportProblem) as info:
        import_fcd(str(fcd), str(VIEW))
    assert info.value.lines == [f"{fcd}:{expected}"]


def test_an_fcd_mistake_is_one_line_and_exit_1(sumolib, tmp_path):
    fcd = write_fcd(tmp_path / "inf.xml", [("0", ONE), ("inf", ONE)])
    result = CliRunner().invoke(main, ["import", "sumo", str(fcd), "--view", str(VIEW)])
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (f'{fcd}:6:5: <timestep time="inf">: a time must be a number of seconds from 0 to 10 '
                             f'years (87600h)\n')


def test_more_than_a_scenario_holds_is_said_with_what_to_do(sumolib, tmp_path):
    """Two vehicles weaving across the road for 2000 s at 0.1 s steps: no two samples merge."""
    steps = [(f"{i / 10:.1f}", [("a", 150, 197 if i % 2 else 203), ("b", 160, 203 if i % 2 else 197)])
             for i in range(20_000)]
    fcd = write_fcd(tmp_path / "weave.xml", steps)
    result = CliRunner().invoke(main, ["import", "sumo", str(fcd), "--view", str(VIEW)])
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (f"{fcd}: 2 vehicles, 40000 points: more than a scenario holds (250000 values, 10 MB); "
                             f"import part of it with --begin/--end (SUMO seconds; vehicles are in view from 0s to "
                             f"1999.9s) or use a smaller view\n")
    half = CliRunner().invoke(main, ["import", "sumo", str(fcd), "--view", str(VIEW), "--begin", "500", "--end",
                                     "1000"])
    assert half.exit_code == 0, half.stderr
    assert "2 vehicles imported from 2 in the FCD" in half.stderr and "in view from 500s to 1000s" in half.stderr


def yaml_values(text: str) -> int:
    """The values (keys included) of a YAML document, as PyYAML's parser gives them."""
    import yaml

    return sum(isinstance(event, (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent))
               for event in yaml.parse(text, Loader=yaml.SafeLoader))


def test_the_size_is_counted_before_the_scenario_is_written_as_the_loader_counts(sumolib, tmp_path):
    bare = tmp_path / "bare.yaml"  # no lost_timeout, zones of its own
    bare.write_text(POINTS + "zones:\n  - {id: 2, polygon: [[660, 180], [1260, 180], [1880, 1040]], direction: 90}\n")
    for view, countries in ((VIEW, (("CZE", 1.0),)), (bare, (("SWE", 1.0), ("DEU", 1.0)))):
        done = import_fcd(str(FCD), str(view), countries=countries)
        assert done.nodes == yaml_values(done.text)


def test_only_the_samples_near_the_view_are_kept_and_the_entry_is_exact(sumolib, tmp_path):
    """A vehicle driving 4.4 km at 15 m/s through the view: of its 2,934 samples the reader keeps
    those in the view's bounds and the one before and after them; it comes in where its move
    between the last sample before and the first in view crosses the edge (x = 135)."""
    positions = [(i, -2000.35 + 1.5 * i) for i in range(2934)]  # at 0.1 s steps
    fcd = write_fcd(tmp_path / "long.xml", [(f"{i / 10:.1f}", [("a", f"{x:.2f}", 198.4)]) for i, x in positions])
    view = load_view(str(VIEW))
    track = read_fcd(str(fcd), view).tracks["a"]
    west, east, _, _ = view.bounds()
    near = [i for i, x in positions if west <= round(x, 2) <= east]
    assert track.times_us.tolist() == [i * 100_000 for i in range(near[0] - 1, near[-1] + 2)]
    text = import_fcd(str(fcd), view).text
    entry_us = (135 - (-2000.35)) / 15 * 1_000_000  # 142.3566...s
    assert f"    at: {duration_text(int(np.ceil(entry_us)))}\n" in text


def test_simplify_is_not_quadratic_in_a_stop_or_a_move(monkeypatch):
    """A 4 h stop and an hour's straight, even move at 0.1 s steps, then a curve: the samples the
    fit looks at stay within n log n (the fit from a run's start to each further sample was n^2:
    6.5e9 here), and every dropped sample is within SIMPLIFY_PX of the path at its time."""
    from ffsim.importers import sumo

    stop, move, curve = 144_000, 36_000, 2_000
    times = np.arange(stop + move + curve, dtype=float) * 100_000
    us = np.concatenate([np.full(stop, 800.0), 800 + 0.01 * np.arange(1, move + 1),
                         1160 + 50 * np.sin(np.arange(curve) / 300)])
    vs = np.concatenate([np.full(stop, 300.0), np.full(move, 300.0), 300 + 50 * np.cos(np.arange(curve) / 300)])
    n = len(times)
    budget = 4 * n * int(np.log2(n))
    looked = 0
    real_fits = sumo._fits

    def counted(times, us, vs, a, b, tolerance):
        nonlocal looked
        looked += b - a
        assert looked <= budget, "simplify looks at more than n log n samples"
        return real_fits(times, us, vs, a, b, tolerance)

    monkeypatch.setattr(sumo, "_fits", counted)
    kept = sumo.simplify(times, us, vs)
    assert kept[:2] == [0, stop - 1]  # the stop: its first and last sample
    assert kept[2] == stop + move - 1 or kept[2] > stop  # the move: few points
    assert len(kept) < 200
    path_u, path_v = np.interp(times, times[kept], us[kept]), np.interp(times, times[kept], vs[kept])
    assert np.max(np.hypot(path_u - us, path_v - vs)) <= sumo.SIMPLIFY_PX + 1e-9


def test_at_a_step_of_a_second_the_path_starts_and_ends_on_the_edge_of_the_view(sumolib, tmp_path):
    """A car at 7 m/s, one sample a second (SUMO's default step): it crosses x = 135 (the far edge,
    pixels [660, 180]-[1260, 180]) at 4.242857...s and x = 185 (the near edge, y = 1040) at
    11.385714...s; New comes at the frame after it comes in, not at its first sample (5s), and
    Lost a lost timeout after the last frame before it leaves (11.3s), not after its last sample (11s)."""
    fcd = write_fcd(tmp_path / "second.xml", [(str(t), [("a", f"{105.3 + 7 * t:.2f}", 198.4)]) for t in range(16)])
    text = import_fcd(str(fcd), str(VIEW)).text
    assert "    at: 4.242858s\n    path:\n      - [840, 180]\n" in text
    assert text.endswith("      - {at: [592, 1040], time: 7.142856s}\n")
    scenario = scenario_from_text(text)
    events = [(e.state, e.time_us) for e in Engine(scenario).events() if e.state in (NEW, LOST)]
    assert events == [(NEW, 4_300_000), (LOST, 11_300_000 + scenario.recognition.lost_timeout_us + 100_000)]


def test_a_sample_at_the_end_of_the_float_range_next_to_the_view_leaves_the_path_at_the_samples(sumolib, tmp_path):
    """x = 1.7e308 m one step before and after the view: no move to interpolate (its arithmetic
    overflows), the path runs from the first sample in view to the last, and nothing is said."""
    fcd = write_fcd(tmp_path / "far.xml", [("0", [("a", "1.7e308", 198.4)]), ("0.1", [("a", 150, 198.4)]),
                                           ("0.2", [("a", 151, 198.4)]), ("0.3", [("a", "1.7e308", "-1.7e308")])])
    result = CliRunner().invoke(main, ["import", "sumo", str(fcd), "--view", str(VIEW)])
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("    at: 0.1s\n    path:\n      - [809.59, 285.45]\n"
                                  "      - {at: [807.01, 294.41], time: 0.1s}\n")
    assert result.stderr == ("ffsim import sumo: 1 vehicle imported from 1 in the FCD (left out: 0 never in the "
                             "view), in view from 0.1s to 0.2s (SUMO time)\n")


def _body(data: bytes) -> bytes:
    """A SUMO file without its header comment (it has the date and the command line)."""
    return re.sub(rb"<!-- generated on .*?-->", b"", data, flags=re.S)


def test_the_recipe_regenerates_the_bundled_files(sumolib, tmp_path):
    """SUMO with its seeds is deterministic: the same version makes the same network, routes and
    FCD; another version may differ in detail, and then the import of its FCD is compared."""
    if (shutil.which("sumo", path=str(BIN)) is None or shutil.which("netgenerate", path=str(BIN)) is None) \
            and not os.environ.get("CI"):
        pytest.skip("the eclipse-sumo package (sumo, netgenerate) is not installed next to python")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "PYTHON": sys.executable}
    done = subprocess.run(["sh", str(EXAMPLE / "regenerate.sh"), str(tmp_path)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    bundled_fcd = gzip.decompress(FCD.read_bytes())
    made_fcd = gzip.decompress((tmp_path / "fcd.xml.gz").read_bytes())
    version = re.search(rb"Eclipse SUMO sumo ([\w.]+)", made_fcd).group(1)
    if version == re.search(rb"Eclipse SUMO sumo ([\w.]+)", bundled_fcd).group(1):
        assert _body(made_fcd) == _body(bundled_fcd)
        for name in ("road.net.xml", "trips.rou.xml", "routes.rou.xml"):
            assert _body((tmp_path / name).read_bytes()) == _body((EXAMPLE / name).read_bytes()), name
    else:
        from ffsim.importers.sumo import import_fcd
        made = import_fcd(str(tmp_path / "fcd.xml.gz"), str(VIEW)).text.split("version: 1\n", 1)[1]
        assert made == (EXAMPLE / "junction.yaml").read_text().split("version: 1\n", 1)[1]


def test_duration_text_is_exact():
    assert [duration_text(us) for us in (0, 100_000, 8_300_000, 12_000_000, 1)] == \
           ["0s", "0.1s", "8.3s", "12s", "0.000001s"]
    assert Fraction(10) == scenario_from_text((EXAMPLE / "junction.yaml").read_text()).camera.fps


# -- bounded reading, XML attacks -------------------------------------------------------------
def whitespace_bomb(path: Path, megabytes: int, tail: str = "") -> Path:
    """A gzip file of an <fcd-export> holding megabytes of whitespace (a few kB compressed), then tail."""
    with gzip.open(path, "wb") as out:
        out.write(b"<fcd-export>\n")
        for _ in range(megabytes):
            out.write(b" " * 1_000_000)
        out.write(tail.encode() + b"</fcd-export>\n")
    return path


def test_the_xml_read_is_bounded_and_said_in_one_line(tmp_path):
    """At most max_xml_bytes of XML (decompressed) are read: the file is refused once it holds more,
    with the limit and what to do; just under it, it is read to the end."""
    from ffsim.importers.sumo import read_fcd

    step = '<timestep time="1"><vehicle id="a" x="150" y="198.4"/></timestep>\n'
    bomb = whitespace_bomb(tmp_path / "bomb.xml.gz", 3, step)
    size = len(gzip.decompress(bomb.read_bytes()))
    assert bomb.stat().st_size < 20_000 and size > 3_000_000
    with pytest.raises(ImportProblem) as info:
        read_fcd(str(bomb), load_view(str(VIEW)), max_xml_bytes=size - 1)
    assert info.value.lines == [f"{bomb}: more than 0 GB of XML (decompressed), the most ffsim reads of a file: "
                                f"import part of it with --begin/--end (reading stops at --end), or have sumo write "
                                f"only the camera's roads (--fcd-output.filter-edges.input-file)"]
    assert read_fcd(str(bomb), load_view(str(VIEW)), max_xml_bytes=size).xml_bytes == size
    assert MAX_XML_BYTES == 2_000_000_000


def test_whitespace_and_empty_elements_cost_no_memory(tmp_path):
    """40 MB of whitespace in the FCD (xml.etree keeps it as the root's text: 40 MB) and 200,000
    empty timesteps (an element each in a tree): the reader keeps neither (what it holds at most
    is a chunk read and expat's buffer: a few MB)."""
    import tracemalloc

    from ffsim.importers.sumo import read_fcd

    steps = "".join(f'<timestep time="{i}"/>' for i in range(200_000))
    bomb = whitespace_bomb(tmp_path / "bomb.xml.gz", 40, steps)
    view = load_view(str(VIEW))
    tracemalloc.start()
    try:
        fcd = read_fcd(str(bomb), view)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (fcd.first_us, fcd.last_us, fcd.xml_bytes > 40_000_000) == (0, 199_999_000_000, True)
    assert peak < 10_000_000, peak


def test_timesteps_must_increase_so_repeated_ones_stop_at_the_second(tmp_path):
    bomb = tmp_path / "same.xml.gz"
    with gzip.open(bomb, "wb") as out:
        out.write(b"<fcd-export>\n" + b'<timestep time="1"/>' * 1_000_000 + b"</fcd-export>\n")
    with pytest.raises(ImportProblem) as info:
        import_fcd(str(bomb), str(VIEW))
    assert info.value.lines == [f'{bomb}:2:21: <timestep time="1">: less than a microsecond after the timestep '
                                f"before, at 1s (ffsim's times are microseconds)"]


@pytest.mark.parametrize(("doctype", "name"), [
    ('<!DOCTYPE f [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>', "a"),
    ('<!DOCTYPE f [<!ENTITY x SYSTEM "file:///etc/hostname">]>', "x"),
    ('<!DOCTYPE f [<!ENTITY % p SYSTEM "file:///etc/hostname"> %p;]>', "p"),
])
def test_entities_are_refused(tmp_path, doctype, name):
    """Billion laughs and external entities: the first declaration stops the reading (expat says
    where it ends, on line 2)."""
    fcd = tmp_path / "fcd.xml"
    fcd.write_text(f'<?xml version="1.0"?>\n{doctype}\n<fcd-export><timestep time="1"/></fcd-export>\n')
    with pytest.raises(ImportProblem) as info:
        import_fcd(str(fcd), str(VIEW))
    line, = info.value.lines
    assert re.fullmatch(re.escape(f"{fcd}:2:") + r"\d+" + re.escape(f": an entity declaration (<!ENTITY {name}>): "
                                                                   f"SUMO writes none, and ffsim expands none"), line)


def test_an_external_dtd_is_not_fetched(tmp_path):
    """A DOCTYPE naming a DTD elsewhere: the FCD is read without it (nothing listens on port 9)."""
    fcd = write_fcd(tmp_path / "fcd.xml", [(f"{i / 10:.1f}", [("a", 130 + i, 198.4)]) for i in range(60)])
    fcd.write_text(fcd.read_text().replace("<fcd-export>", '<!DOCTYPE f SYSTEM "http://127.0.0.1:9/evil.dtd">\n'
                                                           "<fcd-export>"))
    assert import_fcd(str(fcd), str(VIEW)).vehicles == 1


def test_far_vehicles_are_counted_not_kept(tmp_path):
    """50,000 vehicles far from the view, each in two timesteps, and one that passes it: only the
    one near the view has a track; the others are counted once each."""
    from ffsim.importers.sumo import read_fcd

    far = [(f"f{i}", 5000 + i, 5000) for i in range(50_000)]
    steps = [(f"{i / 10:.1f}", [("a", 130 + i, 198.4)] + (far if i in (3, 4) else [])) for i in range(60)]
    fcd = write_fcd(tmp_path / "fcd.xml", steps)
    assert list(read_fcd(str(fcd), load_view(str(VIEW))).tracks) == ["a"]
    assert import_fcd(str(fcd), str(VIEW)).summary().startswith(
        "1 vehicle imported from 50001 in the FCD (left out: 50000 never in the view)")


# -- a time window: --begin/--end --------------------------------------------------------------
def crossing_fcd(tmp_path: Path) -> Path:
    """Vehicle a drives east along y=198.4 at 10 m/s from x=100 (0.1 s steps, 10 s): in view from
    x=135 (3.5 s) to 185 (8.5 s); b comes in at 5 s, the last step."""
    steps = [(f"{i / 10:.1f}", [("a", f"{100 + i:.1f}", 198.4)] + ([("b", 185, 198.4)] if i == 50 else []))
             for i in range(0, 101)]
    return write_fcd(tmp_path / "fcd.xml", steps)


def test_a_window_cuts_a_vehicle_in_view_at_its_bounds(tmp_path):
    fcd = crossing_fcd(tmp_path)
    whole = scenario_from_text(import_fcd(str(fcd), str(VIEW)).text)
    assert [spec.at_us for spec in whole.vehicles] == [3_500_000, 5_000_000]
    cut = import_fcd(str(fcd), str(VIEW), begin_us=5_050_000, end_us=7_025_000)
    scenario = scenario_from_text(cut.text)
    assert len(scenario.vehicles) == 1  # b is before the window
    trajectory = vehicle_from_spec(scenario.vehicles[0], 0, 0, scenario, make_normaliser(False)).trajectory
    reference = homography_by_svd(ROAD, PIXELS)
    assert (trajectory.start, trajectory.end) == (5_050_000, 7_025_000)
    for t in (5_050_000, 6_000_000, 7_025_000):  # x = 100 + 10 m/s * t, between the steps too
        u, v = trajectory.position(t)
        pu, pv = project(reference, 100 + 10 * t / 1_000_000, 198.4)
        assert abs(u - pu) <= 0.01 and abs(v - pv) <= 0.01, t
    assert cut.summary() == ("1 vehicle imported from 1 in the FCD (left out: 0 never in the view), in view "
                             "from 5.05s to 7.025s (SUMO time)")


def test_a_window_before_the_view_keeps_the_entry_crossing_and_end_stops_reading(tmp_path):
    from ffsim.importers.sumo import read_fcd

    fcd = crossing_fcd(tmp_path)
    text = import_fcd(str(fcd), str(VIEW), begin_us=1_000_000, end_us=4_000_000).text
    assert "    at: 3.5s\n" in text
    size = fcd.stat().st_size
    assert read_fcd(str(fcd), load_view(str(VIEW))).xml_bytes == size
    assert read_fcd(str(fcd), load_view(str(VIEW)), end_us=4_000_000).xml_bytes == size  # one chunk: all of it
    big = write_fcd(tmp_path / "long.xml", [(f"{i / 10:.1f}", [("a", 130, 198.4)]) for i in range(30_000)])
    read = read_fcd(str(big), load_view(str(VIEW)), end_us=4_000_000).xml_bytes
    assert read <= (1 << 20) < big.stat().st_size  # the first chunk; the rest is not read


def test_window_options_are_checked(tmp_path):
    runner = CliRunner()
    fcd = crossing_fcd(tmp_path)
    result = runner.invoke(main, ["import", "sumo", str(fcd), "--view", str(VIEW), "--begin", "soon"])
    assert result.exit_code == 2
    assert ("Invalid value for '--begin': must be a number of seconds (SUMO's time) from 0 to 10 years (87600h)"
            in result.stderr)
    result = runner.invoke(main, ["import", "sumo", str(fcd), "--view", str(VIEW), "--begin", "5", "--end", "5"])
    assert (result.exit_code, result.stderr) == (1, "--end 5s must be later than --begin 5s\n")
    result = runner.invoke(main, ["import", "sumo", str(fcd), "--view", str(VIEW), "--begin", "9", "--end", "10"])
    assert result.exit_code == 1 and "no vehicle of the FCD comes into the view" in result.stderr
    assert "in the time window (--begin/--end)" in result.stderr


# -- a vehicle out of the view for a moment ------------------------------------------------------
def away_fcd(tmp_path: Path, away: range) -> Path:
    """Vehicle j drives east at 5 m/s along y=198.4 from x=130 (0.1 s steps, 13 s), 5 km away at
    the steps in `away`, its position after them going on from where it was before."""
    steps, x = [], 130.0
    for i in range(130 + len(away)):
        steps.append((f"{i / 10:.1f}", [("j", 5000 if i in away else f"{x:.1f}", 198.4)]))
        x += 0 if i in away else 0.5
    return write_fcd(tmp_path / "away.xml", steps)


def passages(scenario_file: Path) -> list[list[str]]:
    """carID -> its events' carStates, as ffsim events sends them."""
    done = subprocess.run([sys.executable, "-c", "from ffsim.cli import main; main()", "events", str(scenario_file)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    by_car: dict[str, list[str]] = defaultdict(list)
    for line in done.stdout.splitlines():
        payload = json.loads(line)["payload"]
        by_car[payload["carID"]].append(payload["carState"])
    return list(by_car.values())


def test_a_one_step_jump_out_of_the_view_is_one_vehicle_and_one_passage(tmp_path):
    done = import_fcd(str(away_fcd(tmp_path, range(60, 61))), str(VIEW))
    scenario_file = tmp_path / "jump.yaml"
    scenario_file.write_text(done.text)
    scenario = scenario_from_text(done.text)
    assert len(scenario.vehicles) == 1 and done.vehicles == 1
    (start, end), = scenario.vehicles[0].hidden
    assert 4_900_000 < start < end < 5_100_000  # after at 1s: out of view between 5.9 s and 6.1 s
    cars = passages(scenario_file)
    assert len(cars) == 1 and cars[0][0] == "new" and cars[0][-1] == "lost" and cars[0].count("new") == 1


def test_a_return_after_the_lost_timeout_is_a_second_vehicle_with_the_same_plate(tmp_path):
    done = import_fcd(str(away_fcd(tmp_path, range(60, 120))), str(VIEW))  # 6 s away: lost_timeout is 5 s
    scenario_file = tmp_path / "back.yaml"
    scenario_file.write_text(done.text)
    scenario = scenario_from_text(done.text)
    assert len(scenario.vehicles) == 2 and len({spec.plate for spec in scenario.vehicles}) == 1
    assert all(not spec.hidden for spec in scenario.vehicles)
    assert [states.count("new") for states in passages(scenario_file)] == [1, 1]


def test_hidden_intervals_are_counted_as_the_loader_counts(tmp_path):
    done = import_fcd(str(away_fcd(tmp_path, range(60, 61))), str(VIEW))
    assert "    hidden: [[" in done.text and done.nodes == yaml_values(done.text)


# -- vTypes ---------------------------------------------------------------------------------------
def test_sumo_classes_are_sumos(sumolib, tmp_path):
    """sumolib's list (SUMOVehicleClass.cpp) but the names sumo no longer takes; and sumo takes each."""
    from sumolib.net.lane import SUMO_VEHICLE_CLASSES, SUMO_VEHICLE_CLASSES_DEPRECATED

    assert SUMO_CLASSES == (SUMO_VEHICLE_CLASSES - SUMO_VEHICLE_CLASSES_DEPRECATED) | {"ignoring", "rail_fast"}
    sumo = shutil.which("sumo", path=str(BIN)) or shutil.which("sumo")
    if sumo:
        vtypes = tmp_path / "all.add.xml"
        vtypes.write_text("<additional>\n" + "".join(f'  <vType id="{c}" vClass="{c}"/>\n'
                                                      for c in sorted(SUMO_CLASSES)) + "</additional>\n")
        done = subprocess.run([sumo, "-n", str(EXAMPLE / "road.net.xml"), "-a", str(vtypes), "--end", "1",
                               "--no-step-log"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and "Error" not in done.stderr, done.stderr


@pytest.mark.parametrize(("text", "expected"), [
    ('<additional>\n  <vType id="t" vClass="truck"/>\n  <vType id="t" vClass="bus"/>\n</additional>\n',
     '3:3: vType "t" is defined twice (first at {file}:2:3); sumo refuses that too'),
    ('<additional>\n  <vType id="s" vClass="spaceship"/>\n</additional>\n',
     '2:3: vType "s": vClass="spaceship" is not a SUMO vehicle class (sumo refuses it too); they are: '),
])
def test_vtype_mistakes_are_refused_as_sumo_refuses_them(tmp_path, text, expected):
    vtypes = tmp_path / "v.add.xml"
    vtypes.write_text(text)
    with pytest.raises(ImportProblem) as info:
        read_vtypes([str(vtypes)])
    line, = info.value.lines
    assert line.startswith(f"{vtypes}:" + expected.format(file=vtypes))
    sumo = shutil.which("sumo", path=str(BIN)) or shutil.which("sumo")
    if sumo:  # SUMO itself refuses the file
        done = subprocess.run([sumo, "-n", str(EXAMPLE / "road.net.xml"), "-a", str(vtypes), "--end", "1",
                               "--no-step-log"], capture_output=True, text=True, timeout=60)
        assert "Error:" in done.stderr + done.stdout


def test_a_vtype_id_twice_across_files_is_refused_too(tmp_path):
    one, two = tmp_path / "one.xml", tmp_path / "two.xml"
    one.write_text('<additional><vType id="t" vClass="truck"/></additional>')
    two.write_text('<routes><vType id="t" vClass="bus"/></routes>')
    with pytest.raises(ImportProblem) as info:
        read_vtypes([str(one), str(two)])
    assert info.value.lines == [f'{two}:1:9: vType "t" is defined twice (first at {one}:1:13); sumo refuses that too']


# -- the recipe's checks ---------------------------------------------------------------------------
def test_the_recipe_says_in_one_line_what_is_missing(tmp_path):
    """Without sumo on the PATH, or with a python that cannot import sumo: one line, exit 1, and
    nothing written."""
    recipe = str(EXAMPLE / "regenerate.sh")
    bare = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(["sh", recipe, str(tmp_path / "out")], capture_output=True, text=True, env=bare, timeout=60)
    if shutil.which("netgenerate", path=bare["PATH"]) is None:
        assert (done.returncode, done.stdout) == (1, "")
        assert done.stderr == ("regenerate.sh: netgenerate is not on the PATH: pip install 'ffsim[sumo]' and activate "
                               "that environment (. .venv/bin/activate), or install SUMO (https://eclipse.dev/sumo)\n")
    if shutil.which("netgenerate", path=str(BIN)):
        no_sumo_python = tmp_path / "python"
        no_sumo_python.write_text("#!/bin/sh\nexec /usr/bin/env -i python3 -I -S \"$@\"\n")
        no_sumo_python.chmod(0o755)
        env = dict(bare, PATH=f"{BIN}:/usr/bin:/bin", PYTHON=str(no_sumo_python))
        done = subprocess.run(["sh", recipe, str(tmp_path / "out")], capture_output=True, text=True, env=env,
                              timeout=60)
        assert (done.returncode, done.stdout) == (1, "")
        assert done.stderr == (f"regenerate.sh: {no_sumo_python} cannot import sumo (to find randomTrips.py): set "
                               f"PYTHON= to the python of the environment with ffsim[sumo] (e.g. "
                               f"PYTHON=.venv/bin/python), or SUMO_HOME= to SUMO's folder\n")
    assert not (tmp_path / "out").exists()
    usage = subprocess.run(["sh", recipe, "--help"], capture_output=True, text=True, timeout=60).stdout
    assert "default DIR: this folder, whose files it rewrites" in usage


def test_a_terminal_sees_a_progress_bar_of_the_bytes_read_and_a_pipe_does_not(tmp_path):
    """stderr a terminal (a pseudo-terminal here): the bar, by the file's bytes, then the summary;
    stderr a pipe: the summary alone (the byte-exact test above)."""
    import pty

    master, slave = pty.openpty()
    scenario = tmp_path / "junction.yaml"
    done = subprocess.Popen([sys.executable, "-c", "from ffsim.cli import main; main()", "import", "sumo", str(FCD),
                             "--view", str(VIEW), "-o", str(scenario)], stderr=slave, stdout=subprocess.DEVNULL)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the other end closed (Linux)
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert done.wait(timeout=120) == 0
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode())
    size = f"{FCD.stat().st_size / 1000:.1f}"
    assert f"reading fcd.xml.gz" in shown and f"{size}/{size} kB" in shown
    assert shown.rstrip().endswith("-> " + str(scenario))


def test_a_wait_is_kept_as_its_first_and_last_sample(tmp_path):
    """A vehicle drives in at 10 m/s, stands 2 hours at x=150 (72,000 samples at 0.1 s steps) and
    drives on: the reader keeps the wait as two samples, and the scenario has it standing there
    exactly that long and leaving the view (x=185) 3.5 s after."""
    xs = [130 + i for i in range(20)] + [150] * 72_000 + [151 + i for i in range(50)]
    fcd = write_fcd(tmp_path / "wait.xml", [(f"{i / 10:.1f}", [("a", x, 198.4)]) for i, x in enumerate(xs)])
    track = read_fcd(str(fcd), load_view(str(VIEW))).tracks["a"]
    assert len(track.times_us) < 60
    waits = [t for t, x in zip(track.times_us, track.xs) if x == 150]
    assert waits == [2_000_000, 7_201_900_000]
    scenario = scenario_from_text(import_fcd(str(fcd), str(VIEW)).text)
    trajectory = vehicle_from_spec(scenario.vehicles[0], 0, 0, scenario, make_normaliser(False)).trajectory
    reference = homography_by_svd(ROAD, PIXELS)
    assert abs(trajectory.end - 7_205_400_000) <= 1
    for t in (2_000_000, 3_600_000_000, 7_201_900_000):
        u, v = trajectory.position(t)
        pu, pv = project(reference, 150, 198.4)
        assert abs(u - pu) <= 0.01 and abs(v - pv) <= 0.01, t


def test_a_seed_beyond_64_bits_is_a_usage_error():
    done = CliRunner().invoke(main, ["import", "sumo", str(FCD), "--view", str(VIEW), "--seed", "9" * 400])
    assert done.exit_code == 2 and "--seed" in done.output and "Traceback" not in done.output
