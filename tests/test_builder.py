"""Scenarios from YAML text, from a dict and from ScenarioBuilder: the same model, the same checks."""

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import ffsim.scenario
from ffsim.scenario import (Problem, Scenario, ScenarioBuilder, ScenarioError, load_scenario, scenario_from_dict,
                            scenario_from_text)

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
FRAME = [(0, 300), (1920, 300), (1920, 1080), (0, 1080)]


def problems(call) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        call()
    return [str(p) for p in info.value.problems]


def parking_gate() -> ScenarioBuilder:
    """scenarios/parking-gate.yaml, written with the builder."""
    return (
        ScenarioBuilder(name="parking-gate", seed=7, start=datetime(2026, 11, 24, 8, tzinfo=timezone.utc))
        .camera(device_id="GATE-1", serial="ACCC8E000001", model="AXIS P1465-LE", mac="ACCC8E000001",
                ip="10.0.3.21", geotag={"lat": 50.08804, "lon": 14.42076}, resolution=(1920, 1080), fps=10)
        .recognition(lost_timeout="5s", direction_min_travel=40)
        .zone(1, [(400, 300), (1520, 300), (1520, 1080), (400, 1080)], direction=180)
        .vehicle("5SX 2207", [(960, 320), {"at": (960, 760), "wait": "8s"}, (960, 1070)], country="CZE",
                 brand="Skoda", model="Octavia", color="WHITE", at="2s", speed=220)
        .vehicle("2AB 4455", [(960, 320), {"at": (960, 520), "wait": 7}, {"at": (960, 760), "wait": timedelta(seconds=6)},
                              (960, 1070)], country="CZE", brand="Hyundai", model="i30", color="BLUE", at=4, speed=200)
        .vehicle("1AZ 9981", [(1300, 1070), (1300, 320)], country="CZE", brand="Toyota", model="Corolla",
                 color="GRAY", type="CAR", at=timedelta(seconds=9), speed=300)
        .vehicle("7T1 3030", [(960, 320), {"at": (960, 760), "wait": "4s"}, (960, 1070)], country="CZE",
                 brand="Volkswagen", model="Golf", color="BLACK", at="30s", speed=250)
        .lists(allow=[{"plate": "5SX 2207", "description": "staff"}], match="soft")
    )


def test_the_builder_makes_the_model_of_the_same_file():
    path = SCENARIOS / "parking-gate.yaml"
    assert parking_gate().build(source=str(path)) == load_scenario(path)


def test_to_yaml_and_to_dict_give_the_same_scenario_back():
    builder = parking_gate().traffic(1, "120/h", from_=timedelta(seconds=30), until="10m",
                                     direction={"in": 0.7, "out": 0.3}, misread=0.1)
    builder.profile(1, protocol="http", format="json").profile(2, protocol="tcp", framing="newline")
    builder.heartbeat(period="5m").camera(firmware="2019", timezone="Europe/Prague")
    scenario = builder.build("x")
    assert scenario.traffic[0].from_us == 30_000_000 and scenario.camera.firmware == "2019"
    text = builder.to_yaml()
    assert "from: 30s" in text and "polygon: [[400, 300], [1520, 300], [1520, 1080], [400, 1080]]" in text
    assert scenario_from_text(text, "x") == scenario
    data = builder.to_dict()
    assert scenario_from_dict(json.loads(json.dumps(data)), "x") == scenario
    assert ScenarioBuilder(data).build("x") == scenario


def test_text_that_yaml_would_read_otherwise_is_quoted():
    builder = (ScenarioBuilder().zone(1, FRAME, 180)
               .vehicle("NO", [(5, 400)], reads=[{"text": "0o17", "for": "1s"}, {"text": "true"}])
               .vehicle("1e5", [(5, 400)], model="", brand="~")
               .traffic(1, "60/h", until="1m", countries={"NO": 0, "CZE": 1}))
    with pytest.raises(ScenarioError, match="no plate generator for 'NO'"):
        builder.build()
    builder._data["traffic"][0]["countries"] = {"CZE": 1}
    scenario = builder.build("x")
    assert scenario_from_text(builder.to_yaml(), "x") == scenario
    assert [r.text for r in scenario.vehicles[0].reads] == ["0o17", "true"]
    assert (scenario.vehicles[1].plate, scenario.vehicles[1].brand) == ("1e5", "~")


def test_durations_as_seconds_text_or_timedelta_are_the_same():
    def built(wait, at):
        return ScenarioBuilder().zone(1, FRAME, 180).vehicle("A1", [{"at": (9, 400), "wait": wait}], at=at).build()

    expected = built("1.5s", "250ms")
    assert built(1.5, 0.25) == expected
    assert built(timedelta(milliseconds=1500), timedelta(microseconds=250_000)) == expected
    assert expected.vehicles[0].path[0].wait_us == 1_500_000 and expected.vehicles[0].at_us == 250_000


def test_a_wrong_value_names_its_key():
    builder = ScenarioBuilder().zone(1, FRAME, 180).vehicle("", [(960, 400)])
    assert problems(builder.build) == ["<builder>: vehicles[0].plate must not be empty"]
    with pytest.raises(ScenarioError) as info:
        builder.build(source="gate test")
    assert info.value.problems == [Problem("gate test", 0, 0, "vehicles[0].plate must not be empty",
                                           ("vehicles", 0, "plate"))]
    assert problems(ScenarioBuilder().zone(1, FRAME, 180).vehicle("A", [(960, 400), (960, 900)], sped=200).build)[0]\
        .startswith("<builder>: vehicles[0]: unknown key 'sped'; did you mean 'speed'?")
    assert problems(ScenarioBuilder().zone(1, FRAME, 180).camera(firmware="2025").build) == [
        "<builder>: camera.firmware must be one of: 2019, 2021-lpv, 2021-cammra, 2024-lpv, 2024-cammra, "
        "documented; got '2025'"]
    assert problems(ScenarioBuilder().zone(1, FRAME, 180).traffic(2, "60/h").build) == [
        "<builder>: traffic[0].zone 2 is not defined in zones (defined: [1])"]
    assert problems(ScenarioBuilder().zone(1, FRAME, 180).vehicle("A", [(960, 400), (960, 900)], at="-2s").build) \
        == ["<builder>: vehicles[0].at must be a duration such as 500ms, 5s, 2m or 1h (not negative), got '-2s'"]
    assert problems(ScenarioBuilder().build) == ["<builder>: the scenario: missing required key 'zones'"]


def test_none_is_left_out_and_from_takes_an_underscore():
    scenario = (ScenarioBuilder(seed=None).zone(1, FRAME, 180).vehicle("A1", [(9, 400)], speed=None, region=None)
                .traffic(1, "60/h", from_="10s", until="1m").profile(1, url=None).build())
    assert scenario.seed == 0 and scenario.vehicles[0].region is None and scenario.traffic[0].from_us == 10_000_000


# -- the loader's three doors ------------------------------------------------------------------

GOOD_YAML = """\
version: 1
zones: [{id: 1, polygon: [[0, 300], [1920, 300], [1920, 1080], [0, 1080]], direction: 180}]
vehicles:
  - {plate: 1234, at: 2s, path: [[960, 320], [960, 1070]], speed: 250}
"""
GOOD_DICT = {"version": 1, "zones": [{"id": 1, "polygon": FRAME, "direction": 180}],
             "vehicles": [{"plate": 1234, "at": "2s", "path": [(960, 320), (960, 1070)], "speed": 250}]}


def test_text_dict_and_file_give_the_same_model(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(GOOD_YAML)
    from_file = load_scenario(path)
    assert from_file.vehicles[0].plate == "1234"  # a number where text is wanted is its text, in both
    assert scenario_from_text(GOOD_YAML, str(path)) == from_file
    assert scenario_from_text(GOOD_YAML.encode(), str(path)) == from_file
    assert scenario_from_dict(GOOD_DICT, str(path)) == from_file
    assert load_scenario(str(path)) == from_file
    assert scenario_from_text(GOOD_YAML).source == "<text>" and scenario_from_dict(GOOD_DICT).name == "<dict>"


def test_a_scenario_is_taken_as_it_is():
    scenario = scenario_from_dict(GOOD_DICT)
    assert load_scenario(scenario) is scenario
    assert scenario_from_dict(scenario) is scenario and scenario_from_text(scenario) is scenario
    assert isinstance(load_scenario(GOOD_DICT), Scenario)
    with pytest.raises(TypeError, match="a path"):
        load_scenario(42)


def test_the_dict_is_not_changed():
    data = json.loads(json.dumps(GOOD_DICT))
    before = json.dumps(data)
    scenario_from_dict(data)
    assert json.dumps(data) == before


def test_a_dict_has_the_same_problems_as_the_yaml_with_key_paths_for_positions():
    text = """\
version: 1
camera: {resolution: [1280, 720], fsp: 10}
zones: [{id: 3, polygon: [[0, 300], [1920, 300], [1920, 1080]], direction: 180}]
vehicles:
  - {plate: "", at: 2s, path: [[960, 320], [960, 1070]], speed: 250, duration: 4s}
"""
    data = {"version": 1, "camera": {"resolution": [1280, 720], "fsp": 10},
            "zones": [{"id": 3, "polygon": [[0, 300], [1920, 300], [1920, 1080]], "direction": 180}],
            "vehicles": [{"plate": "", "at": "2s", "path": [[960, 320], [960, 1070]], "speed": 250,
                          "duration": "4s"}]}
    with pytest.raises(ScenarioError) as from_text:
        scenario_from_text(text, "s.yaml")
    with pytest.raises(ScenarioError) as from_dict:
        scenario_from_dict(data)
    assert sorted(p.message for p in from_text.value.problems) == sorted(p.message for p in from_dict.value.problems)
    assert sorted(p.path for p in from_text.value.problems) == sorted(p.path for p in from_dict.value.problems)
    assert "s.yaml:2:35: camera: unknown key 'fsp'; did you mean 'fps'?" in str(from_text.value)
    assert str(from_dict.value).splitlines()[0].startswith("<dict>: ")
    assert "<dict>: camera: unknown key 'fsp'; did you mean 'fps'?" in str(from_dict.value)
    assert "<dict>: vehicles[0].plate must not be empty" in str(from_dict.value).splitlines()


def test_the_semantic_checks_apply_to_a_dict():
    data = {"version": 1, "zones": [{"id": 1, "polygon": [(0, 0), (10, 0), (20, 0)], "direction": 0}],
            "vehicles": [{"plate": "A1", "path": [(5000, 10)]}]}
    assert problems(lambda: scenario_from_dict(data)) == [
        "<dict>: zones[0].polygon: the polygon has no area",
        "<dict>: vehicles[0].path[0]: path point [5000, 10] is outside the 1920x1080 frame",
    ]


@pytest.mark.parametrize("data, expected", [
    ([1, 2], "<dict>: a scenario must be a mapping with version: 1 and zones:, got a list"),
    ({"version": 1, 3: "x"}, "<dict>: the scenario: a key must be text, got 3"),
    ({"version": 1, "zones": {1, 2}}, "<dict>: zones: set is not a scenario value"),
    ({"version": 1, "seed": 10**5000}, "<dict>: seed: an integer of more than 4300 digits is too long"),
    ({"version": 1, "seed": float("nan")}, "<dict>: seed must be a whole number, got nan"),
    ({"version": 1, "start": "yesterday", "zones": [{"id": 1, "polygon": FRAME, "direction": 0}]},
     "<dict>: start: expected an ISO 8601 time"),
])
def test_dict_problems(data, expected):
    assert problems(lambda: scenario_from_dict(data))[0].startswith(expected)


def test_a_dict_in_itself_or_too_deep_is_a_problem_not_a_crash():
    looped: dict = {"version": 1, "zones": []}
    looped["zones"].append(looped)
    assert problems(lambda: scenario_from_dict(looped)) == ["<dict>: zones[0]: the value contains itself"]
    deep: list = []
    for _ in range(200):
        deep = [deep]
    assert "nested too deeply" in problems(lambda: scenario_from_dict({"version": 1, "zones": deep}))[0]


def test_text_problems_keep_line_and_column():
    # each missing key once (jsonschema reports the `required` list once per missing key)
    assert problems(lambda: scenario_from_text("version: 1\nzones: [{id: 1}]\n")) == [
        "<text>:2:9: zones[0]: missing required key 'polygon'",
        "<text>:2:9: zones[0]: missing required key 'direction'",
    ]
    assert problems(lambda: scenario_from_text("version: 1\nzones: [\n", "mine"))[0].startswith(
        "mine:3:1: not valid YAML: ")
    assert problems(lambda: scenario_from_text(b"version: 1\n\xff")) == ["<text>:2:1: the text is not UTF-8"]


def test_exported():
    for name in ("load_scenario", "scenario_from_text", "scenario_from_dict", "ScenarioBuilder", "Scenario",
                 "ScenarioError", "Problem"):
        assert name in ffsim.scenario.__all__ and hasattr(ffsim.scenario, name)
