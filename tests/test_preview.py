"""ffsim preview: the picture is the same bytes for the same scenario (PNG and SVG, in separate
processes with different hash seeds), and it shows what the scenario says where the scenario
says it: pixels of the PNG are read back at the places a scenario written here puts its zone,
its paths and its passages. Every bundled scenario renders; the command's errors are one line.
Real scenarios, real matplotlib, real PNG decoding (Pillow); no mocks."""

from __future__ import annotations

import cProfile
import dataclasses
import io
import json
import os
import pstats
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

import ffsim
from ffsim.cli_common import FILE_MODE
from ffsim.render import ImageRenderer
from ffsim.render.preview import (
    AT_AFTER_US,
    AT_BEFORE_US,
    BINNED_PATHS,
    MAX_BARS,
    PASSAGES_COLOR,
    DEFAULT_WINDOW_US,
    MAX_DOTS,
    MAX_WAIT_LABELS,
    FRAME_BACKGROUND,
    PATH_COLORS,
    RESTART_COLOR,
    ZONE_COLORS,
    ZONE_FILL_ALPHA,
    PreviewError,
    _path_dots,
    _vehicles,
    _waits,
    preview,
    render_preview,
)
from ffsim.scenario.model import Waypoint
from ffsim.vocabulary import LOST, NEW
from tests.cli import ffsim as run_ffsim

SMALL_DPI = 30  # enough to draw everything, a tenth of the pixels

# a zone, a vehicle across it, another down it with a long occlusion (two passages), lost after 1 s
PIXELS = """\
version: 1
name: pixels
seed: 1
camera: {resolution: [1000, 500], fps: 10}
recognition: {lost_timeout: 1s}
zones:
  - {id: 1, polygon: [[100, 100], [900, 100], [900, 400], [100, 400]], direction: 90}
vehicles:
  - {plate: AB 1234, color: RED, at: 1s, path: [[50, 250], [950, 250]], duration: 4s}
  - {plate: CD 5678, at: 2s, path: [[300, 120], [300, 480]], duration: 6s, hidden: [[2s, 4s]]}
"""

TEMPLATES = Path(ffsim.__file__).resolve().parent / "templates"
EVERY_SCENARIO = ([str(ffsim.bundled(n)) for n in ffsim.bundled_names()]
                  + [str(p) for p in ffsim.fault_scenarios().values()]
                  + [str(p) for p in sorted(TEMPLATES.glob("*.yaml")) if p.stem != "fleet"])


def rgb(color: str) -> tuple[int, int, int]:
    return (int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16))


def blend(top: str, alpha: float, under: str) -> tuple[int, ...]:
    return tuple(round(alpha * a + (1 - alpha) * b) for a, b in zip(rgb(top), rgb(under)))


def close(pixel, expected, tolerance: int = 3) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], expected))


@pytest.fixture(scope="module")
def pixels_scenario(tmp_path_factory):
    path = tmp_path_factory.mktemp("preview") / "pixels.yaml"
    path.write_text(PIXELS)
    return path


@pytest.fixture(scope="module")
def drawn(pixels_scenario):
    picture = render_preview(ffsim.scenario_of(pixels_scenario))
    return picture, Image.open(io.BytesIO(picture.data)).convert("RGB")


def at(image: Image.Image, point: tuple[float, float]) -> tuple[int, int, int]:
    return image.getpixel((int(point[0]), int(point[1])))


# -- what is drawn where -------------------------------------------------------------------------
def test_the_picture_is_a_png_of_the_size_it_says(drawn):
    picture, image = drawn
    assert picture.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert image.size == picture.size
    assert b"Software" not in picture.data  # no version of anything in the file


def test_the_zone_s_edges_lie_where_the_scenario_puts_them(drawn):
    picture, image = drawn
    edge = rgb(ZONE_COLORS[0])
    for point in [(100, 320), (700, 100), (900, 180), (700, 400)]:  # left, top, right, bottom edges
        assert close(at(image, picture.frame_pixel(*point)), edge), point
    # just off the edges, on either side: not the edge's colour
    for point in [(100, 320), (700, 400)]:
        x, y = picture.frame_pixel(*point)
        for dx, dy in [(-6, 0), (6, 0)] if point[0] == 100 else [(0, -6), (0, 6)]:
            assert not close(image.getpixel((int(x + dx), int(y + dy))), edge), (point, dx, dy)


def test_inside_the_zone_its_fill_outside_the_frame_s_background(drawn):
    picture, image = drawn
    fill = blend(ZONE_COLORS[0], ZONE_FILL_ALPHA, FRAME_BACKGROUND)
    assert close(at(image, picture.frame_pixel(800, 330)), fill)
    for point in [(980, 30), (50, 480), (500, 460), (960, 440)]:
        assert close(at(image, picture.frame_pixel(*point)), rgb(FRAME_BACKGROUND)), point


def test_each_path_lies_where_the_vehicle_drives(drawn):
    picture, image = drawn
    first, second = rgb(PATH_COLORS[0]), rgb(PATH_COLORS[1])
    # AB 1234 along y = 250, between its dots (every 225 px) and away from its labels and the arrow
    for x in (220, 390, 620, 840):
        assert close(at(image, picture.frame_pixel(x, 250)), first), x
        assert not close(at(image, picture.frame_pixel(x, 270)), first), x  # the line is thin
    # CD 5678 down x = 300 while it is seen
    for y in (150, 210):
        assert close(at(image, picture.frame_pixel(300, y)), second), y
    # no path where no vehicle goes
    for point in [(600, 150), (600, 350)]:
        assert close(at(image, picture.frame_pixel(*point)), blend(ZONE_COLORS[0], ZONE_FILL_ALPHA, FRAME_BACKGROUND))


def test_the_paths_are_the_engine_s_trajectories(drawn):
    picture, _ = drawn
    first, second = picture.vehicles
    assert first.trajectory.start == 1_000_000 and first.trajectory.end == 5_000_000
    assert first.trajectory.position(3_000_000) == (500.0, 250.0)
    assert second.hidden == [(4_000_000, 6_000_000)]


def new_packets(scenario, **kwargs):
    """The New packets of ffsim.events, once each (a duplicate fault sends some twice)."""
    seen, out = set(), []
    for p in ffsim.events(scenario, start=0, **kwargs):
        key = (p.event.passage.car_id, p.event.time_us)
        if p.event.state == NEW and key not in seen:
            seen.add(key)
            out.append(p)
    return out


def test_the_timeline_has_a_bar_per_passage_in_the_vehicle_s_colour(drawn, pixels_scenario):
    picture, image = drawn
    news = new_packets(pixels_scenario)
    assert len(news) == 3  # the occlusion is longer than the lost timeout: CD 5678 twice
    assert [(r.car_id, r.new_us) for r in picture.rows] == [(p.event.passage.car_id, p.time_us) for p in news]
    assert [r.vehicle for r in picture.rows] == [0, 1, 1]
    for r, row in enumerate(picture.rows):
        # the middle of the longest stretch without a mark (event ticks, the occlusion's edges)
        marks = sorted({row.new_us, row.end_us, *(t for t, _ in row.sent[1]),
                        *(t for h in picture.vehicles[row.vehicle].hidden for t in h if row.new_us < t < row.end_us)})
        gap, start = max((b - a, a) for a, b in zip(marks, marks[1:]))
        middle = start + gap / 2
        color = rgb(PATH_COLORS[row.vehicle])
        assert close(at(image, picture.timeline_pixel(0, middle, r)), color), (r, middle)
        for inside in (-0.2, 0.2):  # the bar is 0.6 of a row high, centred on it
            assert close(at(image, picture.timeline_pixel(0, middle, r + inside)), color), (r, inside)
        for outside in (-0.42, 0.42, 0.5):
            assert not close(at(image, picture.timeline_pixel(0, middle, r + outside)), color), (r, outside)
        # before the New and after the Lost, no bar
        assert not close(at(image, picture.timeline_pixel(0, row.new_us - 150_000, r)), color)
        assert not close(at(image, picture.timeline_pixel(0, row.end_us + 300_000, r)), color)
    assert all(row.ended == "lost" for row in picture.rows)
    # the timeline's box is where its axis is drawn: its left spine, black, on every row
    left, top, right, bottom = picture.timeline_boxes[0]
    for y in (top + 5, (top + bottom) / 2, bottom - 5):
        assert close(image.getpixel((int(left), int(y))), (0, 0, 0), 40)


def test_a_restart_cuts_the_bars_of_the_passages_it_ends():
    scenario = ffsim.scenario_of(ffsim.bundled("faults/restart"))
    picture = render_preview(scenario)
    image = Image.open(io.BytesIO(picture.data)).convert("RGB")
    cut = [r for r in picture.rows if r.ended == "restart"]
    assert len(cut) == 3 and {r.end_us for r in cut} == {10_000_000}  # `restart, at: 10s`
    assert all(LOST not in {s for _, s in r.sent[1]} for r in cut)
    for r, row in enumerate(picture.rows):
        if row.ended != "restart":
            continue
        color = rgb(PATH_COLORS[row.vehicle])
        assert close(at(image, picture.timeline_pixel(0, row.end_us - 400_000, r)), color)
        # after the cut: the restart's dark window, not the bar
        assert close(at(image, picture.timeline_pixel(0, row.end_us + 1_000_000, r)), rgb(RESTART_COLOR))
    assert len(picture.rows) == len(new_packets(scenario))


def test_at_draws_the_scene_the_camera_sees(pixels_scenario, drawn):
    plain, plain_image = drawn
    picture = render_preview(ffsim.scenario_of(pixels_scenario), at_us=4_500_000)
    image = Image.open(io.BytesIO(picture.data)).convert("RGB")
    red_car = picture.vehicles[0]
    x, y = red_car.trajectory.position(4_500_000)
    assert (x, y) == (837.5, 250.0)
    body = (x - 1.2 * red_car.plate_w, y - 8)  # beside the plate, on the car's red body
    r, g, b = at(image, picture.frame_pixel(*body))
    assert r > 120 and g < 90 and b < 90, (r, g, b)
    assert close(at(plain_image, plain.frame_pixel(*body)), blend(ZONE_COLORS[0], ZONE_FILL_ALPHA, FRAME_BACKGROUND))
    # CD 5678 is hidden at 4.5 s: not drawn where it would be
    hx, hy = picture.vehicles[1].trajectory.position(4_500_000)
    pixel = at(image, picture.frame_pixel(hx - 1.2 * picture.vehicles[1].plate_w, hy - 8))
    assert max(pixel) - min(pixel) < 40  # grey road, not a painted car
    # the timeline's line at --at
    assert picture.at_us == 4_500_000


def test_a_scene_of_one_vehicle_is_its_frame_image():
    picture = render_preview(ffsim.scenario_of(ffsim.bundled("parking-gate")), dpi=SMALL_DPI)
    cam = ffsim.scenario_of(ffsim.bundled("parking-gate")).camera
    renderer = ImageRenderer(cam.width, cam.height, (), 7)
    v = picture.vehicles[0]
    assert renderer.scene([(v, 960.0, 700.0)]).tobytes() == renderer.render("frame", v, 960.0, 700.0).tobytes()


# -- determinism ---------------------------------------------------------------------------------
def test_the_same_scenario_gives_the_same_bytes_in_process(pixels_scenario):
    scenario = ffsim.scenario_of(pixels_scenario)
    assert preview(scenario) == preview(scenario)
    assert preview(scenario, image_format="svg") == preview(scenario, image_format="svg")


@pytest.mark.parametrize("name, args", [("parking-gate.png", []), ("occlusion.png", ["--at", "4s"]),
                                        ("faults/restart.svg", [])])
def test_the_same_scenario_gives_the_same_bytes_in_separate_processes(tmp_path, name, args):
    scenario = str(ffsim.bundled(name.rsplit(".", 1)[0]))
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / f"{seed}.{name.rsplit('.', 1)[1]}"
        env = dict(os.environ, PYTHONHASHSEED=seed)
        done = subprocess.run([sys.executable, "-m", "ffsim", "preview", scenario, "-o", str(out), *args],
                              capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    at_us = 4_000_000 if args else None
    assert outputs[0] == preview(ffsim.scenario_of(scenario), at_us=at_us, image_format=name.rsplit(".", 1)[1])


def test_the_svg_is_xml_without_a_date():
    data = preview(ffsim.scenario_of(ffsim.bundled("misread-corrected")), image_format="svg")
    root = ET.fromstring(data)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert b"dc:date" not in data and b"Matplotlib v" not in data


# -- every bundled scenario, and windows -----------------------------------------------------------
@pytest.mark.parametrize("path", EVERY_SCENARIO, ids=lambda p: Path(p).stem)
def test_every_bundled_scenario_renders(path):
    scenario = ffsim.scenario_of(path)
    picture = render_preview(scenario, dpi=SMALL_DPI)
    image = Image.open(io.BytesIO(picture.data))
    assert image.format == "PNG" and image.size == picture.size
    news = new_packets(scenario, until=picture.until_us / 1e6 if picture.until_us is not None else None)
    assert [(r.car_id, r.new_us) for r in picture.rows] == [(p.event.passage.car_id, p.time_us) for p in news]


def test_endless_traffic_is_shown_for_its_first_minute_and_says_so(tmp_path):
    path = tmp_path / "endless.yaml"
    path.write_text("version: 1\nname: endless\nseed: 4\nzones: [{id: 1, polygon: [[0, 300], [1920, 300], "
                    "[1920, 1080], [0, 1080]], direction: 180}]\ntraffic: [{zone: 1, rate: 1200/h}]\n")
    scenario = ffsim.scenario_of(path)
    picture = render_preview(scenario, dpi=SMALL_DPI)
    assert picture.windowed and picture.until_us == DEFAULT_WINDOW_US
    assert all(v.trajectory.start <= DEFAULT_WINDOW_US for v in picture.vehicles)
    news = new_packets(scenario, until=DEFAULT_WINDOW_US / 1e6)
    assert [(r.car_id, r.new_us) for r in picture.rows] == [(p.event.passage.car_id, p.time_us) for p in news]
    # plates as the engine generated them, vehicle by vehicle
    assert [picture.vehicles[r.vehicle].plate for r in picture.rows] == [p.event.passage.vehicle.plate for p in news]
    later = render_preview(scenario, at_us=90_000_000, dpi=SMALL_DPI)  # --at later: the window reaches it
    assert later.until_us is not None and later.until_us >= 90_000_000
    done = run_ffsim("preview", path, "-o", tmp_path / "e.png")
    assert done.returncode == 0 and "the first 60 s of its traffic (--until for more)" in done.stdout


def test_at_outside_the_scenario_is_an_error(pixels_scenario):
    scenario = ffsim.scenario_of(pixels_scenario)
    with pytest.raises(PreviewError, match=r"--at 99 s is after the end of the scenario at 8 s \("):
        render_preview(scenario, at_us=99_000_000)
    with pytest.raises(PreviewError, match=r"after the time shown \(up to 3 s, --until\)"):
        render_preview(scenario, until_us=3_000_000, at_us=4_000_000)
    with pytest.raises(PreviewError, match="unknown picture format"):
        render_preview(scenario, image_format="gif")


# -- the command ---------------------------------------------------------------------------------
def umasked(mode: int) -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mode & ~mask


def test_the_command_writes_file_stem_png_here_and_replaces_it(tmp_path, monkeypatch, pixels_scenario):
    monkeypatch.chdir(tmp_path)
    done = run_ffsim("preview", pixels_scenario)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "pixels.png"
    assert done.stdout.startswith("wrote pixels.png (PNG, ") and "3 passage(s), " in done.stdout
    assert out.read_bytes() == preview(ffsim.scenario_of(pixels_scenario))
    assert stat.S_IMODE(out.stat().st_mode) == umasked(FILE_MODE) == umasked(0o600)  # owner-only, as ffsim's files
    # asked again: replaced, and a link there is replaced, not written through
    target = tmp_path / "elsewhere.png"
    target.write_bytes(b"keep")
    out.unlink()
    out.symlink_to(target)
    assert run_ffsim("preview", pixels_scenario).returncode == 0
    assert target.read_bytes() == b"keep" and not out.is_symlink()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_the_command_writes_svg_and_to_standard_output(tmp_path, pixels_scenario):
    done = run_ffsim("preview", pixels_scenario, "-o", tmp_path / "p.svg", "--json")
    assert done.returncode == 0, done.stderr
    import json

    summary = json.loads(done.stdout)
    assert summary["format"] == "svg" and summary["passages"] == 3 and summary["vehicles"] == 2
    ET.fromstring((tmp_path / "p.svg").read_bytes())
    piped = run_ffsim("preview", pixels_scenario, "-o", "-", text=False)
    assert piped.returncode == 0
    assert piped.stdout == preview(ffsim.scenario_of(pixels_scenario))
    assert piped.stderr.startswith(b"wrote standard output (PNG, ")


def test_a_bad_scenario_is_file_line_col_and_exit_1(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text(PIXELS.replace("direction: 90", "direction: north"))
    done = run_ffsim("preview", bad)
    assert done.returncode == 1
    line = PIXELS.splitlines().index(next(ln for ln in PIXELS.splitlines() if "direction: 90" in ln)) + 1
    assert done.stderr.startswith(f"{bad}:{line}:"), done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "bad.png").exists()


def test_bad_options_are_one_line(tmp_path, pixels_scenario):
    done = run_ffsim("preview", pixels_scenario, "--at", "99s", "-o", tmp_path / "x.png")
    assert done.returncode == 1 and not (tmp_path / "x.png").exists()
    assert done.stderr.strip().count("\n") == 0
    assert done.stderr.startswith(f"ffsim: error: {pixels_scenario}: --at 99 s is after the end of the scenario")
    assert run_ffsim("preview", pixels_scenario, "-o", tmp_path / "x.jpg").returncode == 2
    assert run_ffsim("preview", pixels_scenario, "--at", "soon").returncode == 2
    # a folder: FILE's name with .png in it
    assert run_ffsim("preview", pixels_scenario, "-o", tmp_path, "--format", "svg").returncode == 0
    ET.fromstring((tmp_path / "pixels.svg").read_bytes())


# -- long paths, late moments, what the camera decides -----------------------------------------------
ONE_ZONE = """\
version: 1
name: long
seed: 1
camera: {resolution: [1000, 500], fps: 10}
zones:
  - {id: 1, polygon: [[100, 100], [900, 100], [900, 400], [100, 400]], direction: 90}
"""


def calls_while_drawing(scenario, file: str, function: str, **kwargs) -> int:
    """How many times drawing the preview calls a function (its name, and a part of its file's name;
    a compiled method's file is "~" and its name says its class)."""
    profile = cProfile.Profile()
    profile.enable()
    render_preview(scenario, dpi=SMALL_DPI, **kwargs)
    profile.disable()
    return sum(calls for (path, _, name), (_, calls, *_) in pstats.Stats(profile).stats.items()  # type: ignore[attr-defined]
               if file in path and (name == function or f"'{function}' of" in name))


def position_calls(scenario, **kwargs) -> int:
    """How many times drawing the preview asks a trajectory where it is (the engine's work is its own)."""
    return calls_while_drawing(scenario, "~", "position", **kwargs)


def test_a_long_wait_costs_the_preview_no_more_than_a_short_one(tmp_path):
    path = tmp_path / "wait.yaml"
    vehicle = "  - {plate: AB 1234, at: 1s, path: [[50, 250], {at: [500, 250], wait: WAIT}, [950, 250]], duration: 4s}\n"
    path.write_text(ONE_ZONE + "vehicles:\n" + vehicle.replace("WAIT", "10s"))
    short = position_calls(ffsim.scenario_of(path))
    path.write_text(ONE_ZONE + "vehicles:\n" + vehicle.replace("WAIT", "10h"))  # a dot a second: 36,000 more
    long = ffsim.scenario_of(path)
    assert position_calls(long) <= short + 10
    dots, spacing = _path_dots(render_preview(long, dpi=SMALL_DPI).vehicles[0].trajectory)
    # 4 s of moving from 1 s, a dot a second (the wait's at 3 s, where it begins)
    assert spacing == 1 and dots == [(50.0, 250.0), (275.0, 250.0), (500.0, 250.0), (725.0, 250.0), (950.0, 250.0)]


def test_a_long_path_has_at_most_max_dots_at_a_round_spacing(tmp_path):
    path = tmp_path / "slow.yaml"
    path.write_text(ONE_ZONE + "vehicles:\n  - {plate: AB 1234, at: 0s, path: [[50, 250], [950, 250]], duration: 2h}\n")
    scenario = ffsim.scenario_of(path)
    traj = render_preview(scenario, dpi=SMALL_DPI).vehicles[0].trajectory
    dots, spacing = _path_dots(traj)
    assert spacing == 120 and len(dots) == 61  # 2 h: a dot every 2 min, at 0, 2 min... 120 min
    assert dots == [traj.position(n * 120e6) for n in range(61)]  # where the engine puts it then
    assert position_calls(scenario) < 200  # not one a second (7200)
    path.write_text(ONE_ZONE + "vehicles:\n  - {plate: AB 1234, at: 0s, path: [[50, 250], [950, 250]], duration: 50s}\n")
    assert _path_dots(render_preview(ffsim.scenario_of(path), dpi=SMALL_DPI).vehicles[0].trajectory)[1] == 1


def crawling(points: int) -> ffsim.Scenario:
    """A vehicle on a timed path of `points` points 0.1 s apart, every tenth a wait (its point repeated):
    more than a scenario file may hold, so built as the loader would build it."""
    scenario = ffsim.scenario_of(PIXELS.replace("pixels", "crawl"))
    path = []
    for i in range(points):
        x, y = 50 + (i % 900), 150 + (i // 900) % 300
        if i % 10 == 9:
            x = 50 + (i - 1) % 900
        path.append(Waypoint(float(x), float(y), 0, i * 100_000))
    spec = dataclasses.replace(scenario.vehicles[0], path=tuple(path), speed=None, duration_us=None)
    return dataclasses.replace(scenario, vehicles=(spec,))


def test_a_timed_path_of_many_points_is_walked_once_and_labels_its_longest_waits():
    scenario = crawling(20_000)  # 2,000 waits of 0.1 s, 2,000 s of path
    picture = render_preview(scenario, dpi=SMALL_DPI)
    traj = picture.vehicles[0].trajectory
    assert len(traj.pieces) == 19_999
    assert _waits(traj) == []  # waits of 0.1 s: under a second, not labelled
    # two waits 10 px apart (closer than 11.2 px) are one stop of 1.1 s: labelled, the 12 longest
    waits = _waits(traj, 11.2)
    assert len(waits) == MAX_WAIT_LABELS and waits == sorted(waits)
    assert waits[0] == (1_800_000, 2_900_000, 58.0, 150.0)
    dots, spacing = _path_dots(traj)
    assert spacing == 30 and len(dots) <= 2_000 + 2 * MAX_DOTS  # a dot per wait, one every 30 s moving
    # the picture asks where the vehicle is about twice per piece (its line), not once per label tried
    assert position_calls(scenario) < 3 * len(traj.pieces)


def flow_scenario(tmp_path, rate: str = "20/s", extra: str = "") -> Path:
    path = tmp_path / "flow.yaml"
    path.write_text("version: 1\nname: flow\nseed: 3\nzones: [{id: 1, polygon: [[0, 300], [1920, 300], "
                    f"[1920, 1080], [0, 1080]], direction: 180}}]\ntraffic: [{{zone: 1, rate: {rate}}}]\n{extra}")
    return path


def test_at_late_in_long_traffic_draws_a_window_around_it(tmp_path):
    path = flow_scenario(tmp_path, extra="vehicles: [{plate: WAIT 1, at: 1s, path: [[200, 900], "
                                         "{at: [200, 700], wait: 3h}, [200, 400]], duration: 2s}]\n")
    scenario = ffsim.scenario_of(path)
    at_us = 300_000_000
    picture = render_preview(scenario, at_us=at_us, dpi=SMALL_DPI)
    start, end = at_us - AT_BEFORE_US, at_us + AT_AFTER_US
    assert picture.window_us == (start, end) and picture.until_us == end and picture.windowed
    assert picture.shown == "from 240 s to 310 s, around --at"
    assert picture.timeline_span[0] == 240.0
    # the vehicles drawn: on their path in the window, or with a passage in it; not the 5,000 before
    assert all(v.trajectory.end >= start or any(r.vehicle == i for r in picture.rows)
               for i, v in enumerate(picture.vehicles))
    assert len(picture.vehicles) < 20 * 80
    # the one that arrived at 1 s and waits there for 3 h is among them, in sight at --at, its
    # passage (New at 1 s) still under way at the window's end
    waiting = [i for i, v in enumerate(picture.vehicles) if v.plate == "WAIT 1"]
    assert waiting and (waiting[0], "zone 1") in picture.scene
    row = next(r for r in picture.rows if r.vehicle == waiting[0])
    assert row.new_us < 2_000_000 and row.ended == "until" and row.end_us == end
    # the passages are the camera's that reach the window: News as ffsim events sends them
    packets = list(ffsim.events(scenario, start=0, until=end / 1e6))
    lost = {p.event.passage.car_id: p.time_us for p in packets if p.event.state == LOST}
    expected = [(p.event.passage.car_id, p.time_us) for p in packets
                if p.event.state == NEW and lost.get(p.event.passage.car_id, end) >= start]
    assert [(r.car_id, r.new_us) for r in picture.rows] == expected
    assert picture.events == sum(1 for p in packets if p.time_us >= start and p.event.passage.car_id in
                                 {c for c, _ in expected})
    # a crowd in the frame (over 40 on the road): plates framed, not each labelled (the zone's label only)
    assert len(picture.scene) > 40 and calls_while_drawing(scenario, "preview.py", "add", at_us=at_us) == 1


def test_the_window_keeps_only_the_vehicles_it_can_draw(tmp_path):
    # every vehicle up to the window is made (the engine's order), and those gone long before let go
    scenario = ffsim.scenario_of(flow_scenario(tmp_path, rate="50/s"))
    kept, generated, later, _ = _vehicles(scenario, 610_000_000, 540_000_000)
    assert len(_vehicles(scenario, 610_000_000, 0, keep=201)[0]) == 201
    assert later and all(generated)
    assert 50 * 60 < len(kept) < 50 * 90  # 70 s of traffic and the few still in sight, not 30,000
    assert [v.seq for v in kept] == sorted(v.seq for v in kept) and kept[0].seq > 25_000


def test_at_early_in_a_short_scenario_still_draws_all_of_it(pixels_scenario, drawn):
    picture = render_preview(ffsim.scenario_of(pixels_scenario), at_us=4_500_000)
    assert picture.until_us is None and not picture.windowed and picture.shown == ""
    assert picture.window_us == drawn[0].window_us == (0, 8_000_000)


def test_the_scene_says_the_zone_the_engine_decides(tmp_path):
    # two overlapping zones, zone 2 listed first: where they overlap the engine's zone (the lower id)
    path = tmp_path / "overlap.yaml"
    path.write_text("version: 1\nname: overlap\nseed: 1\ncamera: {resolution: [1000, 500], fps: 10}\nzones:\n"
                    "  - {id: 2, polygon: [[400, 100], [900, 100], [900, 400], [400, 400]], direction: 90}\n"
                    "  - {id: 1, polygon: [[100, 100], [600, 100], [600, 400], [100, 400]], direction: 90}\n"
                    "vehicles:\n  - {plate: AB 1234, at: 0s, path: [[500, 50], [500, 450]], duration: 4s}\n")
    scenario = ffsim.scenario_of(path)
    update = next(p for p in ffsim.events(scenario, start=0) if p.event.state == "update")
    assert (update.time_us, update.event.x, update.event.y) == (900_000, 500.0, 140.0)  # in both zones
    picture = render_preview(scenario, at_us=900_000, dpi=SMALL_DPI)
    assert picture.scene == ((0, f"zone {update.event.zone}"),)


def test_the_scene_says_camera_down_during_a_restart():
    scenario = ffsim.scenario_of(ffsim.bundled("faults/restart"))  # down from 10 s to 22 s
    picture = render_preview(scenario, at_us=12_000_000, dpi=SMALL_DPI)
    assert len(picture.scene) >= 2 and {where for _, where in picture.scene} == {"camera down"}
    before = render_preview(scenario, at_us=9_500_000, dpi=SMALL_DPI)
    assert {where for _, where in before.scene} == {"zone 1"}


def test_the_command_says_the_window_around_at(tmp_path):
    done = run_ffsim("preview", flow_scenario(tmp_path), "--at", "5m", "-o", tmp_path / "f.png")
    assert done.returncode == 0, done.stderr
    assert "; from 240 s to 310 s, around --at, in " in done.stdout
    summary = run_ffsim("preview", flow_scenario(tmp_path), "--at", "5m", "-o", tmp_path / "f.png", "--json")
    assert json.loads(summary.stdout)["window"] == [240, 310]


# -- readable at a glance: labels that do not cover each other, counts instead of bars ---------------
def boxes_overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_the_frame_s_labels_do_not_cover_each_other_nor_the_zone_s(tmp_path):
    # 14 cars entering at the zone's top-left corner, under its label, and a queue creeping a pixel
    # at a time with a wait of 0.2 s at each (SUMO's stop-and-go): 20 waits, 9.5 px in all
    creep = ", ".join(f"{{at: [600, {300 + i / 2}], wait: 0.2s}}" for i in range(20))
    cars = "".join(f"  - {{plate: AB {1000 + i}, at: {1 + i}s, path: [[110, 105], [110, 480]], duration: 3s}}\n"
                   for i in range(14))
    path = tmp_path / "crowd.yaml"
    path.write_text(ONE_ZONE + "vehicles:\n" + cars
                    + f"  - {{plate: QU 1111, at: 1s, path: [[600, 110], {creep}, [600, 480]], speed: 100}}\n")
    picture = render_preview(ffsim.scenario_of(path), dpi=SMALL_DPI * 2)
    labels = picture.frame_labels
    zone = [box for text, box in labels if text.startswith("zone 1")]
    assert len(zone) == 1
    for i, (text, box) in enumerate(labels):
        for other, other_box in labels[i + 1:]:
            assert not boxes_overlap(box, other_box), (text, other)
        left, top, right, bottom = picture.frame_box
        assert left <= box[0] and box[2] <= right and top <= box[1] and box[3] <= bottom, text
    # every plate that has a place is written once; those without one are counted, not stacked
    plates = [text for text, _ in labels if text.startswith("AB ")]
    assert len(plates) + picture.labels_left_out >= 14 and len(set(plates)) == len(plates)
    # the queue's 20 waits half a pixel apart are one stop, labelled once, from its first wait to its last
    stops = [text for text, _ in labels if " – " in text]
    assert stops == ["2.9 s – 7.0 s"]


def busy(tmp_path) -> ffsim.Scenario:
    return ffsim.scenario_of(flow_scenario(tmp_path, rate="3600/h"))


def test_many_passages_are_counted_per_bin_in_a_picture_of_fixed_size(tmp_path):
    scenario = busy(tmp_path)
    hour = render_preview(scenario, until_us=3_600_000_000, dpi=SMALL_DPI)
    assert hour.passages > MAX_BARS and hour.rows == () and hour.bin_us == 60_000_000  # 60 bins of a minute
    assert len(hour.vehicles) == BINNED_PATHS  # the first 40 vehicles' paths
    counts = dict(hour.counts)
    packets = list(ffsim.events(scenario, start=0, until=3600))
    news = [p.time_us for p in packets if p.event.state == NEW]
    assert sum(counts[("new", 0)]) == hour.passages == len(news)
    assert sum(counts[("sent", 1)]) == hour.events == len(packets)
    per_minute = [0] * 61
    for t in news:
        per_minute[t // 60_000_000] += 1
    assert list(counts[("new", 0)]) == per_minute[:len(counts[("new", 0)])]
    # the filled steps are where the counts say: in a minute's middle, half its count high
    image = Image.open(io.BytesIO(hour.data)).convert("RGB")
    left, top, right, bottom = hour.timeline_boxes[0]
    t0, t1 = hour.timeline_span
    top_count = max(counts[("sent", 1)]) * 1.12
    for minute in (5, 30, 50):
        x = left + ((minute + 0.5) * 60 - t0) / (t1 - t0) * (right - left)
        c = counts[("new", 0)][minute]
        y = bottom - c / 2 / top_count * (bottom - top)
        assert close(image.getpixel((int(x), int(y))), rgb(PASSAGES_COLOR), 8), minute
        above = bottom - (c + 0.25 * top_count) / top_count * (bottom - top)
        assert not close(image.getpixel((int(x), int(above))), rgb(PASSAGES_COLOR), 8), minute
    # six hours: the same picture size, bins of 10 minutes
    six = render_preview(scenario, until_us=6 * 3_600_000_000, dpi=SMALL_DPI)
    assert six.size == hour.size and six.bin_us == 600_000_000 and len(dict(six.counts)[("new", 0)]) <= 37


def test_counting_keeps_no_passage_nor_vehicle_beyond_the_bins(tmp_path):
    import tracemalloc

    scenario = busy(tmp_path)

    def peak(until_us: int) -> int:
        render_preview(scenario, until_us=until_us, dpi=SMALL_DPI)  # matplotlib's caches warmed
        tracemalloc.start()
        render_preview(scenario, until_us=until_us, dpi=SMALL_DPI)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    # six times the passages (1,800 and 10,800): not six times the memory (a list of them was)
    assert peak(3 * 3_600_000_000) < 1.3 * peak(1_800_000_000)


def test_progress_is_reported_as_the_engine_runs(tmp_path):
    seen: list[tuple[int, int | None]] = []
    render_preview(busy(tmp_path), until_us=1_800_000_000, dpi=SMALL_DPI,
                   progress=lambda t, until: seen.append((t, until)))
    assert len(seen) >= 2 and all(until == 1_800_000_000 for _, until in seen)
    assert [t for t, _ in seen] == sorted(t for t, _ in seen) and seen[-1][0] <= 1_800_000_000


def calls_from(scenario, callee: str, caller: str) -> int:
    """How many times drawing the preview calls a function (a part of its name) from a function of
    preview.py (its name)."""
    profile = cProfile.Profile()
    profile.enable()
    render_preview(scenario, dpi=SMALL_DPI)
    profile.disable()
    total = 0
    for (_, _, name), (_, _, _, _, callers) in pstats.Stats(profile).stats.items():  # type: ignore[attr-defined]
        if callee in name:
            total += sum(c[0] if isinstance(c, tuple) else c for (path, _, func), c in callers.items()
                         if path.endswith("preview.py") and func == caller)
    return total


def test_a_zone_of_many_vertices_is_drawn_in_one_walk(tmp_path):
    import math as m

    n = 40_000
    ring = ", ".join(f"[{500 + 300 * m.cos(2 * m.pi * i / n):.3f}, {250 + 200 * m.sin(2 * m.pi * i / n):.3f}]"
                     for i in range(n))
    path = tmp_path / "round.yaml"
    path.write_text(ONE_ZONE.replace("[[100, 100], [900, 100], [900, 400], [100, 400]]", f"[{ring}]")
                    + "vehicles:\n  - {plate: AB 1234, at: 1s, path: [[500, 20], [500, 480]], duration: 4s}\n")
    scenario = ffsim.scenario_of(path)
    # the label's corner: the box's corner found once, not once per vertex (40,000 x 40,000 before)
    assert calls_from(scenario, "builtins.min", "_draw_zones") <= 10 * len(scenario.zones)
    # and the zone is added without walking its curves for the axes' limits (the frame's are set)
    assert calls_while_drawing(scenario, "bezier", "__call__") < 100  # 80,010 before: two per vertex


def test_generated_traffic_that_starts_late_is_in_the_default_window():
    scenario = ffsim.scenario_of(TEMPLATES / "garage.yaml")  # flows from 30 s to 3 min
    picture = render_preview(scenario, dpi=SMALL_DPI)
    listed = {v.plate for v in scenario.vehicles}
    generated = [r for r in picture.rows if picture.vehicles[r.vehicle].plate not in listed]
    assert generated, "no generated traffic drawn"
    first = min(v.trajectory.start for v in picture.vehicles if v.plate not in listed)
    assert first > DEFAULT_WINDOW_US / 2  # it does start late: after the first minute's half
    assert picture.window_kind == "first" and picture.until_us == m_ceil(first) + DEFAULT_WINDOW_US
    assert picture.shown == (f"the first {picture.until_us / 1e6:g} s, a minute after its first generated "
                             "vehicle (--until for more)")


def m_ceil(us: float) -> int:
    return -(-int(us) // 1_000_000) * 1_000_000


@pytest.mark.parametrize("at", ["50s", "110s", "10m"])
def test_a_moment_far_after_the_end_names_the_scenario_s_real_end(at):
    done = run_ffsim("preview", ffsim.bundled("parking-gate"), "--at", at, "-o", "-")
    assert done.returncode == 1
    assert "is after the end of the scenario at 42.1 s (its last vehicle gone, its last Lost sent)" in done.stderr
