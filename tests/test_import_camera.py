"""ffsim import camera: the documented fields of a camera's recognition configuration (ROI
`coordinates`, `angle` in thousandths of a degree, `active`, `ttl` in milliseconds) become a
scenario skeleton that validates and plays; every mistake is FILE:LINE:COL. Real files, the
real loader and engine, the real built-in receiver for one run."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

import ffsim
from ffsim.cli import main
from ffsim.importers.camera import import_camera_config
from ffsim.scenario import ScenarioError

CONFIG = """{
  "version": "2.3",
  "ttl": 10000,
  "roi": [
    {"id": 1, "active": true, "angle": 180000,
     "coordinates": [[200, 300], [1700, 300], [1800, 1000], [100, 1000]]},
    {"id": "2", "active": false, "angle": 90000,
     "coordinates": [[0, 0], [300, 0], [300, 200]]}
  ],
  "lists": {"allow": []}
}
"""


def write(tmp_path, text: str, name: str = "camera.json") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def problems(tmp_path, text: str, **options) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        import_camera_config(path, **options)
    return [str(p).replace(path, "FILE") for p in caught.value.problems]


def states(scenario) -> list[tuple[int, str, str, int]]:
    """(time from t=0 in ms, state, direction, zone) of every event of profile 1."""
    out = []
    for packet in ffsim.events(scenario):
        p = json.loads(packet.json_bytes())
        out.append((packet.time_us // 1000, p["carState"], p["carMoveDirection"], int(p["roiID"])))
    return out


def test_the_documented_fields_become_zones_arrows_and_the_lost_timeout(tmp_path):
    result = import_camera_config(write(tmp_path, CONFIG))
    assert [(z.id, z.active, z.direction) for z in result.zones] == [(1, True, 180.0), (2, False, 90.0)]
    assert result.zones[0].polygon == ((200, 300), (1700, 300), (1800, 1000), (100, 1000))
    assert result.lost_timeout_ms == 10000
    assert result.resolution == (1920, 1080) and not result.resolution_given
    assert result.ignored == ("version", "lists")

    scenario = ffsim.scenario_from_text(result.text, "skeleton.yaml")
    assert [(z.id, z.polygon, z.direction) for z in scenario.zones] == [
        (1, ((200.0, 300.0), (1700.0, 300.0), (1800.0, 1000.0), (100.0, 1000.0)), 180.0)]  # inactive: left out
    assert scenario.recognition.lost_timeout_us == 10_000_000
    assert (scenario.camera.width, scenario.camera.height) == (1920, 1080)
    assert "# - id: 2" in result.text  # the inactive zone stays, commented out, for the author to see


def test_the_skeleton_plays_each_active_zone_along_its_arrow(tmp_path):
    config = json.loads(CONFIG)
    config["roi"][1]["active"] = True
    config["roi"][1]["coordinates"] = [[1000, 100], [1900, 100], [1900, 250], [1000, 250]]
    result = import_camera_config(write(tmp_path, json.dumps(config)))
    scenario = ffsim.scenario_from_text(result.text, "skeleton.yaml")
    seen = states(scenario)
    # one example vehicle per zone: New, then `in` (along the arrow), Lost after the config's ttl
    assert [(s, d, z) for _, s, d, z in seen if s != "reliable"] == [
        ("new", "unknown", 1), ("update", "in", 1), ("new", "unknown", 2), ("update", "in", 2),
        ("lost", "in", 1), ("lost", "in", 2)]


def test_the_skeleton_is_sent_to_the_built_in_receiver_without_a_violation(tmp_path):
    path = tmp_path / "skeleton.yaml"
    path.write_text(import_camera_config(write(tmp_path, CONFIG)).text)
    run = ffsim.Run(str(path), speed="max")
    summary = run.play()
    assert summary.delivered_all and run.receiver_summary["violations"] == 0
    assert [a.state for a in run.attempts if a.state != "reliable"] == ["new", "update", "lost"]


@pytest.mark.parametrize("angle, direction", [(0, 0.0), (90000, 90.0), (270500, 270.5), (360000, 0.0)])
def test_the_angle_is_thousandths_of_a_degree(tmp_path, angle, direction):
    config = {"roi": [{"coordinates": [[0, 0], [1920, 0], [1920, 1080]], "angle": angle}]}
    zone = import_camera_config(write(tmp_path, json.dumps(config))).zones[0]
    assert zone.direction == direction and zone.id == 1 and zone.active


def test_angle_offset_turns_every_arrow(tmp_path):
    config = {"roi": [{"coordinates": [[0, 0], [1920, 0], [1920, 1080]], "angle": 350000}]}
    zone = import_camera_config(write(tmp_path, json.dumps(config)), angle_offset=90).zones[0]
    assert zone.direction == 80.0


def test_zones_are_found_wherever_they_stand_and_missing_fields_get_defaults(tmp_path):
    config = {"recognition": {"zones": {"entry": {"coordinates": [[0, 500], [1920, 500], [1920, 1080], [0, 1080]]}},
                              "settings": {"ttl": 2500}}}
    result = import_camera_config(write(tmp_path, json.dumps(config, indent="\t")), name="gate")
    assert result.zones[0].direction is None and result.lost_timeout_ms == 2500
    assert "direction: 180   # no angle in the configuration" in result.text
    scenario = ffsim.scenario_from_text(result.text, "skeleton.yaml")
    assert scenario.name == "gate" and scenario.recognition.lost_timeout_us == 2_500_000
    assert ("new", "unknown", 1) in [(s, d, z) for _, s, d, z in states(scenario)]


def test_a_concave_zone_still_gets_a_vehicle_through_it(tmp_path):
    # a U: its centroid lies in the notch, outside the zone
    u = [[100, 100], [1800, 100], [1800, 1000], [1400, 1000], [1400, 300], [500, 300], [500, 1000], [100, 1000]]
    config = {"roi": [{"coordinates": u, "angle": 90000}]}
    scenario = ffsim.scenario_from_text(import_camera_config(write(tmp_path, json.dumps(config))).text, "s.yaml")
    assert ("update", "in", 1) in [(s, d, z) for _, s, d, z in states(scenario)]


def test_a_larger_frame_is_chosen_when_the_zones_need_it_or_given(tmp_path):
    config = {"roi": [{"coordinates": [[0, 0], [2400, 0], [2400, 1400]]}]}
    assert import_camera_config(write(tmp_path, json.dumps(config))).resolution == (2560, 1440)
    result = import_camera_config(write(tmp_path, json.dumps(config)), resolution=(3840, 2160))
    assert result.resolution == (3840, 2160) and result.resolution_given
    assert "resolution: [3840, 2160]\n" in result.text


@pytest.mark.parametrize("text, expected", [
    ('{"roi": [', "FILE:1:10: not valid JSON: Expecting value"),
    ('[1, 2]', "FILE:1:1: must be a JSON object: the camera's recognition configuration"),
    ('{"roi": []}', "FILE:1:1: no recognition zone: no object with `coordinates` (the ROI polygons) in it"),
    ('{"roi": [{"coordinates": [[0, 0], [10, 0]]}]}',
     "FILE:1:26: must be a polygon [[x, y], ...] of at least 3 points"),
    ('{"roi": [{"coordinates": [[0, 0], [10, 0], [5, "a"]]}]}', "FILE:1:44: must be a point [x, y] in frame pixels"),
    ('{"roi": [{"coordinates": [[0, 0], [10, 0], [20, 0]]}]}', "FILE:1:26: the polygon has no area"),
    ('{"roi": [{"coordinates": [[0, 0], [10, 0], [5, -1]]}]}',
     "FILE:1:44: must not be negative (frame pixels, (0, 0) top left)"),
    ('{"roi": [{"coordinates": [[0, 0], [10, 0], [5, 5]], "angle": 360001}]}',
     "FILE:1:62: must be a number 0-360000 (thousandths of a degree)"),
    ('{"roi": [{"coordinates": [[0, 0], [10, 0], [5, 5]], "angle": "180"}]}',
     "FILE:1:62: must be a number 0-360000 (thousandths of a degree)"),
    ('{"roi": [{"coordinates": [[0, 0], [10, 0], [5, 5]], "active": "yes"}]}', "FILE:1:63: must be true or false"),
    ('{"roi": [{"coordinates": [[0, 0], [10, 0], [5, 5]], "id": 3}]}',
     'FILE:1:59: must be 1 or 2 (the camera\'s roiID "1" or "2")'),
    ('{"ttl": 0, "roi": [{"coordinates": [[0, 0], [10, 0], [5, 5]]}]}',
     "FILE:1:9: must be the lost timeout in milliseconds, a whole number > 0 (at most 10 years)"),
    ('{"ttl": 1.5, "roi": [{"coordinates": [[0, 0], [10, 0], [5, 5]]}]}',
     "FILE:1:9: must be the lost timeout in milliseconds, a whole number > 0 (at most 10 years)"),
    ('{"roi": [{"coordinates": [[0, 0], [10, 0], [5, 5]], "active": false}]}',
     "FILE:1:1: every zone is inactive (`active`: false): the camera would recognise nothing"),
    ('{"roi": [{"coordinates": [[0, 0], [10, 0], [5, 5]]}, {"coordinates": [[0, 0], [10, 0], [5, 5]]},\n'
     ' {"coordinates": [[0, 0], [10, 0], [5, 5]]}]}',
     "FILE:2:2: more than 2 active zones: the camera recognises in at most 2"),
    ('{"roi": [{"id": 1, "coordinates": [[0, 0], [10, 0], [5, 5]]},\n {"id": 1, "coordinates": [[0, 0], [10, 0], [5, 5]]}]}',
     "FILE:2:2: a second active zone 1 (the first is at roi[0])"),
    ('{"roi": [{"coordinates": [[0, 0], [5000, 0], [5, 5]]}]}',
     "FILE:1:35: outside the 3840x2160 frame (give --resolution)"),
])
def test_mistakes_are_file_line_col(tmp_path, text, expected):
    assert expected in problems(tmp_path, text)


def test_a_file_that_is_not_utf8_is_one_problem(tmp_path):
    path = tmp_path / "camera.json"
    path.write_bytes(b'{"roi": "\xff"}')
    with pytest.raises(ScenarioError, match="not UTF-8 text"):
        import_camera_config(str(path))


def test_the_same_config_gives_the_same_bytes(tmp_path):
    path = write(tmp_path, CONFIG)
    assert import_camera_config(path).text == import_camera_config(path).text


# -- the command ----------------------------------------------------------------------------------

def invoke(*args: str):
    return CliRunner().invoke(main, ["import", "camera", *args], catch_exceptions=False)


def test_the_command_prints_the_skeleton_or_writes_it(tmp_path):
    config = write(tmp_path, CONFIG)
    shown = invoke(config)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout == import_camera_config(config).text
    assert shown.stderr == "1 zone (1 inactive left out); lost timeout 10000 ms; frame 1920x1080 (guessed); not read: version, lists\n"

    out = tmp_path / "skeleton.yaml"
    written = invoke(config, "-o", str(out))
    assert written.exit_code == 0 and out.read_text() == shown.stdout
    again = invoke(config, "-o", str(out))
    assert again.exit_code == 1 and "already exists; give --force" in again.stderr
    assert invoke(config, "-o", str(out), "--force").exit_code == 0


def test_the_command_options_and_its_errors(tmp_path):
    config = write(tmp_path, CONFIG)
    wide = invoke(config, "--resolution", "2560x1440", "--angle-offset", "90", "--name", "yard")
    assert wide.exit_code == 0 and "resolution: [2560, 1440]" in wide.stdout and 'name: "yard"' in wide.stdout
    assert "direction: 270" in wide.stdout
    assert invoke(config, "--resolution", "wide").exit_code == 2
    bad = invoke(write(tmp_path, '{"roi": [{"coordinates": [[0, 0]]}]}', "bad.json"))
    assert bad.exit_code == 1 and bad.stderr.startswith(os.path.join(str(tmp_path), "bad.json") + ":1:")
    missing = invoke(str(tmp_path / "nope.json"))
    assert missing.exit_code == 1 and "nope.json" in missing.stderr and "Traceback" not in missing.output


@pytest.mark.parametrize("text, expected", [
    ('{"a":' * 200 + "1" + "}" * 200, "FILE:1:501: document nested too deeply (more than 100 levels)"),
    ("[" * 100_000 + "]" * 100_000, "FILE:1:1: not valid JSON: nested too deeply"),
    ('{"ttl": 1000, "ttl": 2000, "roi": [{"coordinates": [[0, 0], [1, 0], [0, 1]]}]}',
     "FILE:1:15: duplicate key 'ttl' (first given at line 1, column 2)"),
    ('{"roi": [{"coordinates": [[0, 0], [1, 0], [0, 1]], "angle": NaN}]}',
     "FILE:1:61: must be a number 0-360000 (thousandths of a degree)"),
])
def test_hostile_configurations_get_an_answer_not_a_crash(tmp_path, text, expected):
    assert problems(tmp_path, text) == [expected]


def test_unnamed_zones_take_the_free_ids_active_ones_first(tmp_path):
    square = [[0, 0], [900, 0], [900, 500], [0, 500]]
    config = {"rois": [{"coordinates": square, "active": False},
                       {"coordinates": square, "angle": 90000},
                       {"coordinates": [[1000, 500], [1900, 500], [1900, 1000], [1000, 1000]], "angle": 270000}]}
    result = import_camera_config(write(tmp_path, json.dumps(config)))
    assert [(z.id, z.active) for z in result.zones] == [(3, False), (1, True), (2, True)]
    scenario = ffsim.scenario_from_text(result.text, "s.yaml")
    assert [z.id for z in scenario.zones] == [1, 2]


def test_a_named_zone_keeps_its_id_and_an_unnamed_one_takes_the_other(tmp_path):
    config = {"rois": [{"coordinates": [[0, 0], [900, 0], [900, 500]]},
                       {"roiID": "1", "coordinates": [[1000, 500], [1900, 500], [1900, 1000]]}]}
    assert [z.id for z in import_camera_config(write(tmp_path, json.dumps(config))).zones] == [2, 1]


def test_a_problem_is_placed_at_its_own_zone_even_after_an_invalid_one(tmp_path):
    text = ('{"rois": [{"coordinates": [[0, 0]]},\n'
            ' {"id": 1, "coordinates": [[0, 0], [10, 0], [5, 5]]},\n'
            ' {"id": 1, "coordinates": [[0, 0], [10, 0], [5, 5]]}]}')
    assert problems(tmp_path, text) == ["FILE:1:27: must be a polygon [[x, y], ...] of at least 3 points",
                                        "FILE:3:2: a second active zone 1 (the first is at rois[1])"]


def test_a_ttl_kept_in_the_zone_and_a_document_that_is_the_zone(tmp_path):
    inside = {"rois": [{"coordinates": [[0, 0], [1920, 0], [1920, 1080]], "ttl": 3000}]}
    assert import_camera_config(write(tmp_path, json.dumps(inside))).lost_timeout_ms == 3000
    alone = {"coordinates": [[0, 0], [1920, 0], [1920, 1080]], "angle": 90000, "note": "x"}
    result = import_camera_config(write(tmp_path, json.dumps(alone)))
    assert result.zones[0].direction == 90.0 and result.ignored == ("note",)


def test_a_file_name_cannot_break_the_skeleton(tmp_path):
    path = write(tmp_path, CONFIG, "evil\nseed: 5\nname.json")
    text = import_camera_config(path).text
    assert "evil\\x0aseed: 5\\x0aname" in text.splitlines()[0]
    assert ffsim.scenario_from_text(text, "s.yaml").seed == 1


def test_a_larger_file_is_refused_by_its_size(tmp_path):
    path = tmp_path / "big.json"
    path.write_bytes(b'{"x": "' + b"a" * 10_000_001 + b'"}')
    with pytest.raises(ScenarioError, match="larger than 10 MB"):
        import_camera_config(str(path))


@pytest.mark.parametrize("args", [("--angle-offset", "nan"), ("--angle-offset", "inf"),
                                  ("--resolution", "100000x100000"), ("--resolution", "8x8")])
def test_options_out_of_range_are_usage_errors(tmp_path, args):
    done = invoke(write(tmp_path, CONFIG), *args)
    assert done.exit_code == 2 and "Traceback" not in done.output


@pytest.mark.parametrize("text, expected", [
    ('{"ttl": ' + "1" * 5000 + ', "roi": [{"coordinates": [[0, 0], [1, 0], [0, 1]]}]}',
     "FILE:1:9: an integer of 5000 digits is too long (at most 4300 digits)"),
    ('{"ttl": ' + "1" * 310 + ', "roi": [{"coordinates": [[0, 0], [1, 0], [0, 1]]}]}',
     "FILE:1:9: must be the lost timeout in milliseconds, a whole number > 0 (at most 10 years)"),
    ('{"roi": [{"coordinates": [[0, 0], [1, 0], [0, 1]], "angle": ' + "9" * 400 + '}]}',
     "FILE:1:61: must be a number 0-360000 (thousandths of a degree)"),
    ('{"roi": [{"coordinates": [[0, 0], [' + "9" * 400 + ', 0], [0, 1]]}]}',
     "FILE:1:35: must be a point [x, y] in frame pixels"),
    ('{"ttl": 1000000000000000, "roi": [{"coordinates": [[0, 0], [1, 0], [0, 1]]}]}',
     "FILE:1:9: must be the lost timeout in milliseconds, a whole number > 0 (at most 10 years)"),
])
def test_numbers_beyond_reason(tmp_path, text, expected):
    got = problems(tmp_path, text)
    assert len(got) == 1 and got[0].startswith(expected)
