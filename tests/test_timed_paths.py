"""Timed paths: waypoints with a time each ({at: [x, y], time: 1.5s}), as SUMO's traffic has them.

The vehicle is at each point exactly at its `at` + time, moves straight and evenly between two
points, and waits where a point repeats; the rules are checked with FILE:LINE:COL messages."""

import pytest
from click.testing import CliRunner

from ffsim.cli import main
from ffsim.engine.loop import Engine
from ffsim.engine.traffic import make_normaliser, vehicle_from_spec
from ffsim.scenario import ScenarioBuilder, ScenarioError, load_scenario, scenario_from_text
from ffsim.vocabulary import LOST, NEW

HEAD = """version: 1
camera: {resolution: [1920, 1080], fps: 10}
recognition: {lost_timeout: 5s}
zones: [{id: 1, polygon: [[0, 300], [1920, 300], [1920, 1080], [0, 1080]], direction: 180}]
vehicles:
"""


def problems(vehicle: str) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        scenario_from_text(HEAD + vehicle, "timed.yaml")
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(("vehicle", "expected"), [
    ("  - plate: A1\n    path: [[960, 100], {at: [960, 500], time: 2s}, [960, 900]]\n",
     ["timed.yaml:7:52: vehicles[0].path[2]: in a timed path every point has a time: {at: [x, y], time: DURATION} "
      "(only the first may leave it out, meaning 0)"]),
    ("  - plate: A1\n    path: [{at: [960, 100], time: 1s}, {at: [960, 500], time: 2s}]\n",
     ["timed.yaml:7:35: vehicles[0].path[0].time must be 0 (or left out): the first point is where the vehicle "
      "is at its `at`, got '1s'"]),
    ("  - plate: A1\n    path: [[960, 100], {at: [960, 500], time: 2s}, {at: [960, 900], time: 2s}]\n",
     ["timed.yaml:7:75: vehicles[0].path[2].time must be later than the time of the point before ('2s'), "
      "got '2s'"]),
    ("  - plate: A1\n    path: [[960, 100], {at: [960, 500], time: 2s, wait: 3s}]\n",
     ["timed.yaml:7:51: vehicles[0].path[1]: a timed path waits by repeating the point with a later time; "
      "remove wait"]),
    ("  - plate: A1\n    path: [{at: [960, 100], wait: 1s}, {at: [960, 500], time: 2s}]\n",
     ["timed.yaml:7:29: vehicles[0].path[0]: a timed path waits by repeating the point with a later time; "
      "remove wait"]),
    ("  - plate: A1\n    speed: 200\n    path: [[960, 100], {at: [960, 500], time: 2s}]\n",
     ["timed.yaml:7:5: vehicles[0]: a timed path (its points have `time`) takes its timing from them; "
      "remove speed"]),
    ("  - plate: A1\n    duration: 3s\n    path: [[960, 100], {at: [960, 500], time: 2s}]\n",
     ["timed.yaml:7:5: vehicles[0]: a timed path (its points have `time`) takes its timing from them; "
      "remove duration"]),
    ("  - plate: A1\n    path: [[960, 100], {at: [960, 1500], time: 2s}]\n",
     ["timed.yaml:7:29: vehicles[0].path[1].at: path point [960, 1500] is outside the 1920x1080 frame"]),
    ("  - plate: A1\n    path: [[960, 100], {at: [960, 500], time: -2s}]\n",
     ["timed.yaml:7:47: vehicles[0].path[1].time must be a duration such as 500ms, 5s, 2m or 1h (not negative), "
      "got '-2s'"]),
])
def test_mistakes_are_named_with_their_position(vehicle, expected):
    assert problems(vehicle) == expected


def test_validate_gives_file_line_col_and_exit_1(tmp_path):
    path = tmp_path / "timed.yaml"
    path.write_text(HEAD + "  - plate: A1\n    path: [{at: [960, 100], time: 0s}, {at: [960, 500], time: 0s}]\n")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:7:63: vehicles[0].path[1].time must be later than the time of the point before ('0s')" \
           in result.output
    assert "Traceback" not in result.output


# a vehicle stopping in the zone: times that fall between frames, speeds that change, a 12.5 s wait
POINTS = [(960, 100), (960, 400), (965.5, 700.25), (965.5, 700.25), (960, 1000)]
TIMES_US = [0, 1_234_567, 2_000_001, 14_500_001, 15_100_000]
AT_US = 3_050_000


def stopping_vehicle() -> ScenarioBuilder:
    path = [list(POINTS[0])] + [{"at": list(p), "time": f"{t / 1000}ms"} for p, t in zip(POINTS[1:], TIMES_US[1:])]
    return (ScenarioBuilder(seed=3).camera(resolution=(1920, 1080), fps=10).recognition(lost_timeout="5s")
            .zone(1, [(0, 300), (1920, 300), (1920, 1080), (0, 1080)], direction=180)
            .vehicle("1AB 2345", path, at=f"{AT_US / 1000}ms"))


def test_the_engine_puts_the_vehicle_at_each_point_exactly_at_its_time():
    scenario = stopping_vehicle().build()
    assert [(w.x, w.y, w.time_us) for w in scenario.vehicles[0].path] == [
        (x, y, t) for (x, y), t in zip(POINTS, TIMES_US)]
    vehicle = vehicle_from_spec(scenario.vehicles[0], 0, 0, scenario, make_normaliser(False))
    trajectory = vehicle.trajectory
    assert (trajectory.start, trajectory.end) == (AT_US, AT_US + TIMES_US[-1])
    for point, time in zip(POINTS, TIMES_US):
        assert trajectory.position(AT_US + time) == point
    # between two points: evenly, whatever the speed of the piece before
    middle = AT_US + (TIMES_US[0] + TIMES_US[1]) / 2
    assert trajectory.position(middle) == (960, 250)


def test_a_repeated_point_is_a_wait_without_a_lost():
    scenario = stopping_vehicle().build()
    vehicle = vehicle_from_spec(scenario.vehicles[0], 0, 0, scenario, make_normaliser(False))
    for t in range(AT_US + TIMES_US[2], AT_US + TIMES_US[3] + 1, 100_000):
        assert vehicle.trajectory.position(t) == POINTS[2]
    events = list(Engine(scenario).events())
    assert [e.state for e in events if e.state in (NEW, LOST)] == [NEW, LOST]
    new, lost = events[0], events[-1]
    # the first frame at or after the zone is entered (y = 300 at 2/3 of the first piece), the
    # last frame at or before the end of the path, and the Lost on the first frame after it + 5 s
    entered_us = AT_US + TIMES_US[1] * 2 / 3
    assert new.time_us == -(-entered_us // 100_000) * 100_000
    last_us = (AT_US + TIMES_US[-1]) // 100_000 * 100_000
    assert lost.capture_us == last_us
    assert lost.time_us == (last_us + 5_000_000) // 100_000 * 100_000 + 100_000


def test_the_builder_writes_a_timed_path_that_loads_the_same():
    builder = stopping_vehicle()
    text = builder.to_yaml()
    assert "time: 1234.567ms" in text
    assert scenario_from_text(text, "<builder>") == builder.build()


def test_a_timed_path_of_one_point_is_there_for_an_instant():
    scenario = scenario_from_text(HEAD + "  - plate: A1\n    at: 1s\n    path: [{at: [960, 500], time: 0s}]\n")
    vehicle = vehicle_from_spec(scenario.vehicles[0], 0, 0, scenario, make_normaliser(False))
    assert (vehicle.trajectory.start, vehicle.trajectory.end) == (1_000_000, 1_000_000)
    assert [e.state for e in Engine(scenario).events() if e.state in (NEW, LOST)] == [NEW, LOST]


def test_a_time_that_is_not_a_duration_gets_one_message_not_two(tmp_path):
    path = tmp_path / "years.yaml"
    path.write_text("version: 1\n"
                    "zones: [{id: 1, polygon: [[0, 0], [1920, 0], [1920, 1080], [0, 1080]], direction: 180}]\n"
                    "vehicles:\n"
                    "  - plate: 1AB 2345\n"
                    "    path: [[10, 10], {at: [20, 20], time: 87600h}, {at: [30, 30], time: 87601h},"
                    " {at: [40, 40], time: 1s}]\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(str(path))
    assert [p.message for p in caught.value.problems] == [
        "vehicles[0].path[2].time: a duration must be from 0 to 10 years (87600h), got '87601h'",
        "vehicles[0].path[3].time must be later than the time of the point before ('87600h'), got '1s'"]
