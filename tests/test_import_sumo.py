"""ffsim import sumo: SUMO's floating car data as scenario vehicles (issue 12, item 5).

The bundled example (examples/sumo: a 3 x 3 grid with a traffic light, its traffic and FCD, made
by examples/sumo/regenerate.sh) is imported and played through ffsim's engine; what the engine
does is compared with the FCD itself, mapped through a homography this file computes on its own
(the null space of the 8 x 9 system, by SVD; the importer solves the 8 x 8 one). The view's checks
need no SUMO; the rest skips where the sumo extra (sumolib) is not installed.
"""

import gzip
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
from ffsim.engine.loop import Engine
from ffsim.engine.traffic import make_normaliser, vehicle_from_spec
from ffsim.importers.sumo import (EXTRA_HINT, ImportProblem, Homography, duration_text, load_view,
                                  missing_extra_message, quadrilateral_problem)
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
    (POINTS + "zones: [{id: 1, polygon: [[0, 0], [10, 0], [2000, 10]], direction: 90}]\n",
     ["view.yaml:6:44: zones[0].polygon[2]: point [2000.0, 10.0] is outside the 1920x1080 frame"]),
])
def test_view_mistakes_are_named_with_their_position(tmp_path, text, expected):
    assert view_problems(tmp_path, text) == expected


def test_the_default_zone_covers_the_view_along_the_road():
    view = load_view(str(VIEW))
    assert view.zone_list() == [{"id": 1, "polygon": [[660, 180], [1260, 180], [1880, 1040], [40, 1040]],
                                 "direction": 180}]


def test_the_missing_extra_is_named_in_one_line():
    message = missing_extra_message(ModuleNotFoundError("No module named 'sumolib'", name="sumolib"))
    assert message == ("ffsim import sumo needs SUMO's Python library sumolib, which is not installed (sumolib): "
                       "pip install 'ffsim[sumo]'")
    assert EXTRA_HINT in message and "\n" not in message


def test_without_sumolib_the_command_says_how_to_install_it(tmp_path):
    """Python's own way to make an import fail (a None in sys.modules), in a process of its own."""
    code = "import sys; sys.modules['sumolib'] = None; from ffsim.cli import main; main()"
    done = subprocess.run([sys.executable, "-c", code, "import", "sumo", str(FCD), "--view", str(VIEW)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines()[-1] == ("ffsim import sumo needs SUMO's Python library sumolib, which is not "
                                            "installed (sumolib): pip install 'ffsim[sumo]'")
    assert "Traceback" not in done.stderr


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
    ids = re.findall(r'^  - plate: .*# SUMO vehicle "([^"]*)"', text, flags=re.M)
    return text, scenario_from_text(text, "junction.yaml"), ids, result.stderr


def test_the_import_is_the_bundled_scenario_byte_for_byte(imported):
    text, scenario, ids, summary = imported
    assert text == (EXAMPLE / "junction.yaml").read_text()
    assert summary == ("ffsim import sumo: 35 vehicles imported from 50 in the FCD (left out: 15 never in the "
                       "view), in view from 28.5s to 238.5s (SUMO time)\n")
    assert len(scenario.vehicles) == len(ids) == 35


def test_each_vehicle_is_where_sumo_puts_it_at_every_fcd_time(sumolib, imported):
    text, scenario, ids, _ = imported
    reference = homography_by_svd(ROAD, PIXELS)
    tracks = fcd_tracks(sumolib, FCD)
    normalise = make_normaliser(False)
    checked = 0
    for index, (spec, sumo_id) in enumerate(zip(scenario.vehicles, ids)):
        trajectory = vehicle_from_spec(spec, index, index, scenario, normalise).trajectory
        seen = [(t, x, y) for t, x, y, _, _ in tracks[sumo_id] if inside(ROAD, x, y)]
        assert (trajectory.start, trajectory.end) == (seen[0][0], seen[-1][0])
        for t, x, y in seen:
            u, v = trajectory.position(t)
            pu, pv = project(reference, x, y)
            assert abs(u - pu) <= 1 and abs(v - pv) <= 1, (sumo_id, t, (u, v), (pu, pv))
            checked += 1
    assert checked > 3_000


def test_passages_match_sumos_timing_within_a_frame(sumolib, imported):
    """New within a frame of the first FCD sample in the zone, Lost within a frame of the last
    one + the lost timeout; one passage per vehicle, also for those that wait at the red light."""
    text, scenario, ids, _ = imported
    frame_us = 1_000_000 / scenario.camera.fps
    zone = [project(homography_by_svd(ROAD, PIXELS), x, y) for x, y in ROAD]
    tracks = fcd_tracks(sumolib, FCD)
    plate_of = {sumo_id: spec.plate for spec, sumo_id in zip(scenario.vehicles, ids)}
    events = defaultdict(list)
    for event in Engine(scenario).events():
        events[event.passage.vehicle.plate].append(event)
    timeout = scenario.recognition.lost_timeout_us
    for sumo_id, plate in plate_of.items():
        reference = homography_by_svd(ROAD, PIXELS)
        in_zone = [t for t, x, y, _, _ in tracks[sumo_id] if inside(zone, *project(reference, x, y))]
        states = [e.state for e in events[plate] if e.state in (NEW, LOST)]
        assert states == [NEW, LOST], (sumo_id, states)
        new = next(e for e in events[plate] if e.state == NEW)
        lost = next(e for e in events[plate] if e.state == LOST)
        assert 0 <= new.time_us - in_zone[0] < frame_us, (sumo_id, new.time_us, in_zone[0])
        assert 0 < lost.time_us - (in_zone[-1] + timeout) <= frame_us, (sumo_id, lost.time_us, in_zone[-1])


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
    assert oct(output.stat().st_mode & 0o777) == "0o644"


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
