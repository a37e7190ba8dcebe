"""The faults: section: the model it builds, and every mistake with its file:line:col."""

import pytest

from ffsim import load_scenario, scenario_from_text
from ffsim.scenario.loader import ScenarioError
from ffsim.scenario.model import ClockFault, Duplicate, Restart, WireFault

BASE = """\
version: 1
zones: [{id: 1, polygon: [[0, 0], [1000, 0], [1000, 1000]], direction: 180}]
profiles: [{id: 1}, {id: 2, protocol: tcp}]
faults:
"""


def problems(faults: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        scenario_from_text(BASE + faults, "f.yaml")
    return [str(p) for p in caught.value.problems]


def test_faults_build_the_model_with_seeds_derived_per_index():
    s = scenario_from_text(BASE + """\
  - {type: restart, at: 2m, down: 30s}
  - {type: duplicate, share: 0.1, profiles: [1], events: [lost], copies: 2}
  - {type: clock_jump, at: 1m, by: -30s}
  - {type: tcp_split, at: 1s, profiles: [2], seed: 7}
""")
    restart, dup, jump, split = s.faults
    assert restart.spec == Restart(down_us=30_000_000) and restart.timing.at_us == 120_000_000
    assert restart.profiles is None and restart.events is None
    assert dup.spec == Duplicate(copies=2) and dup.timing.share == 0.1
    assert dup.profiles == {1} and dup.events == {"lost"}
    assert jump.spec == ClockFault("clock_jump", by_us=-30_000_000)
    assert split.spec == WireFault("tcp_split") and split.seed == 7
    assert len({f.seed for f in s.faults}) == 4
    again = scenario_from_text(BASE + "  - {type: restart, at: 2m, down: 30s}\n")
    assert again.faults[0].seed == restart.seed  # the same index and scenario seed: the same seed


def test_no_faults_key_and_an_empty_list_are_the_same_scenario():
    plain = scenario_from_text(BASE.replace("faults:\n", ""))
    empty = scenario_from_text(BASE.replace("faults:\n", "faults: []\n"))
    assert plain.faults == empty.faults == ()


@pytest.mark.parametrize("fault, expected", [
    ("{type: duplicat, at: 1s}", "f.yaml:5:12: faults[0].type must be one of:"),
    ("{type: reorder, at: 1s, windw: 3}", "f.yaml:5:29: faults[0]: unknown key 'windw'; did you mean 'window'?"),
    ("{type: restart, at: 2m, profiles: [1]}", "f.yaml:5:29: faults[0]: a restart is a fault of the whole camera"),
    ("{type: duplicate, at: 1s, rate: 1/s}", "f.yaml:5:31: faults[0]: give one of at, during, rate or share, "
                                             "not both `at` and `rate`"),
    ("{type: duplicate}", "f.yaml:5:5: faults[0]: say when with one of at, during, rate or share"),
    ("{type: burst, at: 1s}", "f.yaml:5:19: faults[0]: a burst is timed by during, not `at`"),
    ("{type: missing_field, at: 1s, field: plateUTF9}", "f.yaml:5:42: faults[0].field: firmware 2024-lpv "
                                                        "payloads have no 'plateUTF9'; did you mean 'plateUTF8'?"),
    ("{type: duplicate, at: 1s, profiles: [3]}", "f.yaml:5:42: faults[0].profiles: profile 3 is not defined "
                                                 "(profiles: 1, 2)"),
    ("{type: clock_jump, at: 1m, by: 0}", "f.yaml:5:36: faults[0].by must not be 0"),
    ("{type: clock_jump, at: 1m, by: 1 hour}", "f.yaml:5:36: faults[0].by must be a signed duration"),
    ("{type: wrong_timezone, timezone: Europe/Prag}", "f.yaml:5:38: faults[0].timezone: unknown time zone "
                                                      "'Europe/Prag'; did you mean 'Europe/Prague'?"),
    ("{type: restart, during: [1m, 2m], down: 5s}", "f.yaml:5:39: faults[0]: `during` already says"),
    ("{type: restart, during: [2m, 1m]}", "f.yaml:5:29: faults[0].during must be [start, end] with start "
                                          "before end"),
    ("{type: restart, at: 1m, down: 1ms}", "f.yaml:5:35: faults[0].down must be at least one frame (100ms)"),
    ("{type: undecodable_image, from: 1s, at: 2s}", "f.yaml:5:31: faults[0].from bounds a rate or a share"),
    ("{type: tcp_split, at: 1s, profiles: [1]}", "f.yaml:5:5: faults[0]: a tcp_split needs a tcp profile"),
    ("{type: trickle, at: 1s, profiles: [2]}", "f.yaml:5:5: faults[0]: a trickle needs an http profile"),
    ("{type: oversized_image, at: 1s, size: 100MB}", "f.yaml:5:43: faults[0].size must be more than 0 and at "
                                                     "most 64MiB"),
    ("{type: missing_image, at: 1s, profiles: [2]}", "f.yaml:5:5: faults[0]: a missing_image needs a profile "
                                                     "that sends an image"),
    ("{type: restart, rate: 2/min}", "f.yaml:5:27: faults[0].rate: a camera restarts at most once a minute"),
    ("{type: wrong_type, at: 1s, as: float}", "f.yaml:5:36: faults[0].as must be one of: null, number"),
])
def test_each_mistake_is_one_positioned_line(fault, expected):
    found = problems(f"  - {fault}\n")
    assert len(found) == 1, found
    assert found[0].startswith(expected), found


def test_restarts_may_not_overlap():
    found = problems("  - {type: restart, at: 2m, down: 30s}\n  - {type: restart, at: 135s}\n")
    assert found == ["f.yaml:6:5: faults[1]: this restart begins while the camera is still down from an "
                     "earlier one"]


def test_a_dict_scenario_names_the_key_path():
    from ffsim import scenario_from_dict
    data = {"version": 1, "zones": [{"id": 1, "polygon": [[0, 0], [100, 0], [100, 100]], "direction": 0}],
            "faults": [{"type": "duplicate", "at": "1s", "copies": 9}]}
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(data)
    assert [str(p) for p in caught.value.problems] == ["<dict>: faults[0].copies must be <= 5, got 9"]


def test_the_builder_writes_faults_as_the_yaml_would():
    from ffsim import ScenarioBuilder

    builder = (ScenarioBuilder(seed=1).zone(1, [(0, 0), (1920, 0), (1920, 1080)], direction=180)
               .fault("wrong_type", at="0s", field="carID", as_="number").fault("duplicate", share=0.5, from_="1s"))
    assert builder.to_dict()["faults"] == [{"type": "wrong_type", "at": "0s", "field": "carID", "as": "number"},
                                           {"type": "duplicate", "share": 0.5, "from": "1s"}]
    assert builder.build().faults == scenario_from_text(builder.to_yaml()).faults


@pytest.mark.parametrize("field, expected", [
    ("vehicle_info.colour", "f.yaml:5:42: faults[0].field: firmware 2024-lpv's vehicle_info has no 'colour'; did "
                            "you mean 'color'? (it has: view, type, color)"),
    ("vehicle_info.color.x", "f.yaml:5:42: faults[0].field: firmware 2024-lpv's vehicle_info has no 'color.x'"),
    ("plateUTF8.x", "f.yaml:5:42: faults[0].field: firmware 2024-lpv's plateUTF8 has no 'x' (it holds no keys)"),
])
def test_a_nested_field_must_exist_in_the_generation(field, expected):
    found = problems(f"  - {{type: missing_field, at: 1s, field: {field}}}\n")
    assert len(found) == 1 and found[0].startswith(expected), found


@pytest.mark.parametrize("fault, expected", [
    ('{type: invalid_utf8_plate, at: 1s, bytes: "41"}', "faults[0].bytes must not be valid UTF-8"),
    ('{type: invalid_utf8_plate, at: 1s, bytes: "22"}', "faults[0].bytes must not be valid UTF-8"),
    ("{type: clock_jump, at: 1s, by: 876000h}", "faults[0].by: a duration must be from 0 to 10 years"),
    ("{type: wrong_timezone}", "faults[0]: say which zone the camera wrongly uses"),
    ("{type: restart, at: 1s, counters: keep, first_packet_counter: 5}",
     "faults[0].first_packet_counter says where counters start again, but counters: keep"),
    ("{type: empty_image, at: 1s, profiles: [2]}", "faults[0]: an empty_image needs a profile that sends an image"),
    ("{type: truncated_multipart, at: 1s, profiles: [2]}", "faults[0]: a truncated_multipart needs an http profile"),
    ("{type: duplicate, share: 0}", "faults[0].share must be > 0"),
    ("{type: burst, during: [0s, 2h]}", "faults[0].during: a burst's outage lasts at most 1h"),
    ("{type: duplicate, at: 1s, cameras: [1]}", "faults[0]: unknown key 'cameras'"),  # a fleet group's key only
])
def test_what_would_be_no_fault_or_a_broken_one_is_refused(fault, expected):
    found = problems(f"  - {fault}\n")
    assert len(found) == 1 and found[0].split(": ", 1)[1].startswith(expected), found
