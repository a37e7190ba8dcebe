"""Fleet files (issue 10): expansion, positioned errors, determinism, the quick fleet."""

import shutil
import textwrap
from pathlib import Path

import pytest

import ffsim
from ffsim.scenario import FleetError, ScenarioError, fleet_from_scenario, load_fleet

ROAD = ffsim.bundled("busy-road")  # traffic flows: seeded plates

FLEET = """\
version: 1
name: rush-hour
duration: 10m
targets: {http: ["http://127.0.0.1:8080/a", "http://127.0.0.1:8081/b"]}
groups:
  - scenario: road.yaml
    count: 5
    device_id: "GATE-{n:03}"
    serial: "ACCC8E{n:06X}"
    offset: [0s, 30s]
    ramp: 60s
  - scenario: road.yaml
    name: late
    count: 3
    seed: "{n}"
    firmware: 2021-lpv
    timezone: Europe/Prague
    offset: 2s
seed: 1
"""


def write(tmp_path: Path, text: str = FLEET, name: str = "fleet.yaml") -> Path:
    shutil.copy(ROAD, tmp_path / "road.yaml")
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(FleetError) as info:
        load_fleet(path)
    assert isinstance(info.value, ScenarioError)  # the CLI and callers treat both alike
    return [str(p) for p in info.value.problems]


def test_expansion(tmp_path):
    fleet = load_fleet(write(tmp_path))
    assert fleet.name == "rush-hour" and fleet.duration_us == 600_000_000 and fleet.seed == 1
    assert fleet.groups() == ["road", "late"]
    cams = fleet.cameras
    assert [c.index for c in cams] == list(range(8))
    assert [c.device_id for c in cams] == ["GATE-001", "GATE-002", "GATE-003", "GATE-004", "GATE-005",
                                           "late-001", "late-002", "late-003"]
    assert [c.scenario.camera.serial for c in cams[:5]] == [f"ACCC8E{n:06X}" for n in range(1, 6)]
    assert cams[1].scenario.camera.mac == "ACCC8E000002"  # a serial brings its mac (the scenario's gives way)
    assert cams[6].scenario.camera.mac == "ACCC8E0000A7"  # no serial: the scenario's
    # seeds: derived and distinct in group 1, the pattern's in group 2
    assert len({c.scenario.seed for c in cams[:5]}) == 5
    assert [c.scenario.seed for c in cams[5:]] == [1, 2, 3]
    # targets round-robin over the whole fleet
    assert [c.target for c in cams] == [("http", f"http://127.0.0.1:{8080 + i % 2}/{'ab'[i % 2]}") for i in range(8)]
    assert cams[3].sending_scenario().profiles[0].url == "http://127.0.0.1:8081/b"
    # offsets spread evenly over [0s, 30s]; fixed 2s; ramp 60s over 5 cameras: every 12 s
    assert [c.offset_us for c in cams] == [0, 7_500_000, 15_000_000, 22_500_000, 30_000_000] + [2_000_000] * 3
    assert [c.join_us for c in cams] == [0, 12_000_000, 24_000_000, 36_000_000, 48_000_000, 0, 0, 0]
    assert cams[1].start_us == 19_500_000
    # overrides as if the scenario said them: the generation's defaults apply
    assert {c.scenario.camera.firmware for c in cams[5:]} == {"2021-lpv"}
    assert {c.scenario.camera.timezone for c in cams[5:]} == {"Europe/Prague"}
    assert cams[0].scenario.camera.firmware != "2021-lpv"


def test_seeded_offsets_and_no_targets(tmp_path):
    fleet = load_fleet(write(tmp_path, """\
        version: 1
        groups: [{scenario: road.yaml, count: 20, offset: [0s, 10s], offset_spread: seeded}]
    """))
    offsets = [c.offset_us for c in fleet.cameras]
    assert all(0 <= o <= 10_000_000 for o in offsets) and len(set(offsets)) > 15
    assert {c.target for c in fleet.cameras} == {None}
    assert fleet.duration_us is None and fleet.name == "fleet"


def test_determinism(tmp_path):
    path = write(tmp_path)
    one, two = load_fleet(path), load_fleet(path)
    assert one == two
    changed = write(tmp_path, FLEET.replace("seed: 1\n", "seed: 2\n"), "other.yaml")
    assert [c.scenario.seed for c in load_fleet(changed).cameras[:5]] != [c.scenario.seed for c in one.cameras[:5]]


def test_cameras_send_different_traffic(tmp_path):
    fleet = load_fleet(write(tmp_path))
    seen = []
    for camera in fleet.cameras[:3]:
        packets = list(ffsim.events(camera.sending_scenario(), until="30s"))
        assert packets
        assert {p.payload["sensorProviderID"] for p in packets} == {camera.device_id}
        seen.append([p.payload["plateText"] for p in packets])
    assert seen[0] != seen[1] != seen[2] != seen[0]


def test_profile_device_id_follows_the_fleet(tmp_path):
    text = ("version: 1\nzones: [{id: 1, polygon: [[0, 0], [10, 0], [10, 10]], direction: 0}]\n"
            "profiles: [{id: 1, device_id: FIXED}, {id: 2, protocol: tcp}]\n")
    (tmp_path / "p.yaml").write_text(text)
    fleet = load_fleet(write(tmp_path, "version: 1\ngroups: [{scenario: p.yaml, count: 2}]\n"))
    assert [c.scenario.profiles[0].device_id for c in fleet.cameras] == ["p-001", "p-002"]
    assert [c.scenario.profiles[1].device_id for c in fleet.cameras] == [None, None]


ERRORS = [
    # (replace, with, line, column, message pattern)
    ("    count: 5\n", "    cuont: 5\n", 7, 5, r"groups\[0\]: unknown key 'cuont'; did you mean 'count'\?"),
    ("name: rush-hour", "nmae: rush-hour", 2, 1, r"unknown key 'nmae'; did you mean 'name'\?"),
    ('device_id: "GATE-{n:03}"', 'device_id: "GATE-{grop:03}"', 8, 16,
     r"groups\[0\]\.device_id names \{grop\}; did you mean 'group'\? \(a pattern may use \{n\}, \{i\} and "
     r"\{group\}\)"),
    ('device_id: "GATE-{n:03}"', 'device_id: "GATE-{n:03"', 8, 16, r"groups\[0\]\.device_id is not a valid pattern"),
    ('device_id: "GATE-{n:03}"', 'device_id: "GATE-{n:q}"', 8, 16, r"groups\[0\]\.device_id cannot be formatted"),
    ('device_id: "GATE-{n:03}"', 'device_id: "GATE-{n.real}"', 8, 16, r"names \{n\.real\}"),
    ('device_id: "GATE-{n:03}"', 'device_id: "GATE-\\t{n}"', 8, 16, r"not a device id: .*printable ASCII"),
    ('device_id: "GATE-{n:03}"', 'device_id: "GATE"', 8, 16,
     r"device id 'GATE' of camera n=2 is also camera n=1's of group 'road'; device ids must differ"),
    ('seed: "{n}"', 'seed: "x{n}"', 15, 11, r"groups\[1\]\.seed gives 'x1' for camera n=1, not a whole number"),
    ("count: 5", "count: 0", 7, 12, r"groups\[0\]\.count must be >= 1, got 0"),
    ("count: 5", "count: 10001", 7, 12, r"groups\[0\]\.count must be <= 10000"),
    ("count: 3", "count: 9999", 14, 12, r"groups\[1\]\.count: the fleet would have 10004 or more cameras; at most "
                                        r"10000"),
    ("duration: 10m", "duration: ten minutes", 3, 11, r"duration must be a duration such as 500ms"),
    ("duration: 10m", "duration: 0s", 3, 11, r"duration must be longer than 0"),
    ("offset: [0s, 30s]", "offset: [30s, 0s]", 10, 13, r"offset must be \[min, max\] with min <= max"),
    ("timezone: Europe/Prague", "timezone: Europe/Prag", 17, 15,
     r"groups\[1\]\.timezone: for camera n=1: camera\.timezone: unknown time zone 'Europe/Prag'; did you mean "
     r"'Europe/Prague'\?"),
    ("firmware: 2021-lpv", "firmware: 2021", 16, 15, r"groups\[1\]\.firmware must be one of: .*did you mean"),
    ('"http://127.0.0.1:8081/b"', '"ftp://x/b"', 4, 45, r"targets\.http\[1\]: "),
    ("version: 1", "version: 2", 1, 10, r"version must be 1 \(the only fleet format version\)"),
]


@pytest.mark.parametrize("old,new,line,col,pattern", ERRORS, ids=[e[1].strip()[:30] for e in ERRORS])
def test_positioned_errors(tmp_path, old, new, line, col, pattern):
    import re

    assert old in FLEET
    path = write(tmp_path, FLEET.replace(old, new, 1))
    found = problems(path)
    assert any(p.startswith(f"{path}:{line}:{col}: ") and re.search(pattern, p) for p in found), found


def test_missing_scenario_file(tmp_path):
    path = write(tmp_path, FLEET.replace("  - scenario: road.yaml\n    name: late", "  - scenario: nope.yaml\n"
                                                                                     "    name: late"))
    found = problems(path)
    assert found[0].startswith(f"{tmp_path / 'nope.yaml'}:1:1: cannot read the file: No such file")
    assert found[1].startswith(f"{path}:12:15: groups[1].scenario: the scenario above is this group's")
    assert len(found) == 2


def test_invalid_scenario_keeps_its_positions(tmp_path):
    write(tmp_path)
    (tmp_path / "bad.yaml").write_text("version: 1\nzones:\n  - {id: 1, polygon: [[0, 0], [10, 0], [10, 10]], "
                                       "direction: 0}\nvehicles: [{plate: A1, paht: []}]\n")
    path = write(tmp_path, "version: 1\ngroups:\n  - {scenario: road.yaml}\n  - {scenario: bad.yaml, count: 2}\n", "f.yaml")
    found = problems(path)
    assert any(p.startswith(f"{tmp_path / 'bad.yaml'}:4:") and "unknown key 'paht'" in p for p in found), found
    assert found[-1].startswith(f"{path}:4:16: groups[1].scenario: the scenario above is this group's (camera n=1")


def test_not_a_fleet(tmp_path):
    for text, message in [("", "got empty"), ("[1]", "got a list"), ("version: 1\n", "missing required key 'groups'"),
                          ("version: 1\ngroups: []\n", "groups must list 1 to 1000 groups")]:
        path = write(tmp_path, text)
        assert any(message in p for p in problems(path)), (text, problems(path))


def test_fleet_from_scenario_path_and_model(tmp_path):
    from_path = fleet_from_scenario(ROAD, cameras=4, target=["http://127.0.0.1:1/a", "http://127.0.0.1:2/b"])
    assert [c.device_id for c in from_path.cameras] == ["CAMERA-001", "CAMERA-002", "CAMERA-003", "CAMERA-004"]
    assert len({c.scenario.seed for c in from_path.cameras}) == 4
    assert [c.target[1] for c in from_path.cameras] == ["http://127.0.0.1:1/a", "http://127.0.0.1:2/b"] * 2
    assert from_path.name == "busy-road" and from_path.cameras[0].scenario.name == "busy-road"
    model = fleet_from_scenario(ffsim.scenario_of(ROAD), cameras=4, target="127.0.0.1:9", protocol="tcp")
    # a Scenario object gives the same cameras as its file
    assert [c.scenario for c in model.cameras] == [c.scenario for c in from_path.cameras]
    assert {c.target for c in model.cameras} == {("tcp", "127.0.0.1:9")}
    assert fleet_from_scenario(ROAD, cameras=4, target=["http://127.0.0.1:1/a", "http://127.0.0.1:2/b"]) == from_path
    with pytest.raises(ValueError):
        fleet_from_scenario(ROAD, cameras=0)
    with pytest.raises(ValueError):
        fleet_from_scenario(ROAD, cameras=2, target="ftp://nowhere")
    with pytest.raises(ScenarioError) as info:
        fleet_from_scenario(tmp_path / "missing.yaml", cameras=2)
    assert [str(p) for p in info.value.problems] == [f"{tmp_path / 'missing.yaml'}:1:1: cannot read the file: "
                                                    "No such file or directory"]


def test_exports():
    for name in ("Fleet", "load_fleet", "fleet_from_scenario"):
        assert name in ffsim.__all__ and getattr(ffsim, name) is not None


def test_the_cameras_of_a_group_share_their_scenario_file_s_road_but_not_their_traffic(tmp_path):
    from ffsim import bundled, scenario_of

    base = scenario_of(bundled("parking-gate"))
    for fleet in (fleet_from_scenario(bundled("parking-gate"), cameras=3),
                  fleet_from_scenario(base, cameras=3)):
        seeds = {c.scenario.seed for c in fleet.cameras}
        assert len(seeds) == 3
        assert {c.scenario.road_seed for c in fleet.cameras} == {base.seed}


def test_images_seed_is_the_road_s_and_is_validated_with_a_position():
    from ffsim import bundled, scenario_from_text
    from ffsim.scenario import ScenarioError

    text = open(bundled("parking-gate")).read()
    assert scenario_from_text(text + "\nimages: {seed: 77}\n").road_seed == 77
    assert scenario_from_text(text).road_seed == scenario_from_text(text).seed
    with pytest.raises(ScenarioError, match=r":\d+:\d+: images.seed"):
        scenario_from_text(text + "\nimages: {seed: soon}\n")


GATE_FLEET = """\
version: 1
fleet: true
seed: 1
groups:
  - scenario: gate.yaml
    count: 3
    faults:
      - {type: burst, during: [3s, 26s]}
      - {type: duplicate, at: 18s, cameras: [2, 3]}
"""


def gate_fleet(tmp_path: Path, text: str) -> Path:
    shutil.copy(ffsim.bundled("parking-gate"), tmp_path / "gate.yaml")
    path = tmp_path / "fleet.yaml"
    path.write_text(text)
    return path


def test_a_group_s_faults_join_each_camera_s_or_the_cameras_it_names(tmp_path):
    fleet = load_fleet(gate_fleet(tmp_path, GATE_FLEET))
    assert [[f.type for f in c.scenario.faults] for c in fleet.cameras] == [
        ["burst"], ["burst", "duplicate"], ["burst", "duplicate"]]
    seeds = [c.scenario.faults[0].seed for c in fleet.cameras]
    assert len(set(seeds)) == 3  # derived from each camera's seed: the cameras differ
    # camera 2 sends the Lost at 18.5 s twice, camera 1 once
    lost = [sum(1 for p in ffsim.events(c.scenario) if p.payload.counter == "8") for c in fleet.cameras]
    assert lost == [1, 2, 2]


@pytest.mark.parametrize("fault, expected", [
    ("{type: duplicate, at: 18s, copis: 2}", "fleet.yaml:8:36: groups[0].faults[0]: unknown key 'copis'; "
                                             "did you mean 'copies'?"),
    ("{type: duplicate, at: 18s, profiles: [2]}", "fleet.yaml:8:47: groups[0].faults[0].profiles: profile 2 is "
                                                  "not defined (profiles: 1)"),
    ("{type: duplicate, at: 18s, profiles: [2], cameras: [3]}", "fleet.yaml:8:47: groups[0].faults[0].profiles: "
                                                                "profile 2 is not defined (profiles: 1) (camera n=3)"),
    ("{type: duplicate, at: 18s, cameras: [0]}", "fleet.yaml:8:46: groups[0].faults[0].cameras[0] must be >= 1"),
    ("{type: duplicate, at: 18s, cameras: [2, 7]}", "fleet.yaml:8:49: groups[0].faults[0].cameras[1] names camera 7, "
                                                    "but the group has 3 (n is 1 to count)"),
])
def test_a_group_fault_s_problem_points_at_the_fleet_file(tmp_path, fault, expected):
    text = GATE_FLEET.split("    faults:")[0] + f"    faults:\n      - {fault}\n"
    found = problems(gate_fleet(tmp_path, text))
    assert len(found) == 1 and found[0].split("/")[-1].startswith(expected), found


def test_ffsim_validate_checks_a_fleet_file_as_a_fleet(tmp_path):
    import subprocess
    import sys

    good = gate_fleet(tmp_path, GATE_FLEET)
    bad = tmp_path / "bad.yaml"
    bad.write_text(GATE_FLEET.replace("cameras: [2, 3]", "cameras: [2, 9]"))
    result = subprocess.run([sys.executable, "-W", "ignore", "-m", "ffsim", "validate", str(good), str(bad)],
                            capture_output=True, text=True)
    assert result.returncode == 1 and result.stdout == f"{good}: ok\n"
    assert result.stderr == (f"{bad}:9:49: groups[0].faults[1].cameras[1] names camera 9, but the group has 3 "
                             "(n is 1 to count)\n")
