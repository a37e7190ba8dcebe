"""Each engine rule, with the exact event sequence it must give."""

import textwrap

import pytest

from ffsim.protocol import Camera
from ffsim.scenario import load_scenario

START = "2026-11-24T08:00:00Z"
START_MS = 1795507200000

HEADER = """\
version: 1
start: {start}
camera: {{resolution: [1920, 1080], fps: 10}}
"""
FULL_ZONE = "zones: [{id: 1, polygon: [[0, 300], [1920, 300], [1920, 1080], [0, 1080]], direction: 180}]\n"


def events(tmp_path, body: str, header: bool = True, **kw):
    text = (HEADER.format(start=START) if header else "") + textwrap.dedent(body)
    path = tmp_path / "s.yaml"
    path.write_text(text)
    scenario = load_scenario(path)
    return [
        (
            round((p.epoch_ms - START_MS) / 1000, 3),
            p.payload["carState"],
            int(p.payload["carID"]),
            p.payload["plateUTF8"],
            p.payload["carMoveDirection"],
            p.payload["roiID"],
            round((int(p.payload["capture_timestamp"]) - START_MS) / 1000, 3),
        )
        for p in Camera(scenario, scenario.start_us, **kw).packets()
    ]


def test_new_update_lost_of_one_passage(tmp_path):
    # 740 px in 4 s = 185 px/s; 40 px of travel after 0.3 s; last recognition at 6.0 s
    got = events(tmp_path, FULL_ZONE + textwrap.dedent("""
        vehicles: [{plate: 5SX2207, at: 2s, path: [[960, 320], [960, 1060]], duration: 4s}]
    """))
    assert got == [
        (2.0, "new", 1, "5SX2207", "unknown", "1", 2.0),
        (2.3, "update", 1, "5SX2207", "in", "1", 2.3),
        (11.1, "lost", 1, "5SX2207", "in", "1", 6.0),  # first frame after 6.0 s + 5 s
    ]


def test_first_car_id_is_a_setting_and_ids_increase(tmp_path):
    got = events(tmp_path, FULL_ZONE + textwrap.dedent("""
        recognition: {first_car_id: 500}
        vehicles:
          - {plate: AAA111, at: 0s, path: [[500, 320], [500, 1060]], duration: 2s}
          - {plate: BBB222, at: 1s, path: [[900, 320], [900, 1060]], duration: 2s}
    """))
    assert [(e[1], e[2]) for e in got if e[1] == "new"] == [("new", 500), ("new", 501)]


def test_lost_timeout_setting(tmp_path):
    got = events(tmp_path, FULL_ZONE + textwrap.dedent("""
        recognition: {lost_timeout: 10s}
        vehicles: [{plate: AAA111, at: 0s, path: [[500, 320], [500, 1060]], duration: 2s}]
    """))
    assert got[-1][:2] == (12.1, "lost")


def test_waiting_vehicle_keeps_its_passage(tmp_path):
    got = events(tmp_path, FULL_ZONE + textwrap.dedent("""
        vehicles:
          - {plate: AAA111, at: 0s, path: [[500, 320], {at: [500, 700], wait: 60s}, [500, 1060]], speed: 380}
    """))
    # moves 1 s, waits 60 s, moves ~0.95 s: no Update and no Lost while waiting
    assert [e[1] for e in got] == ["new", "update", "lost"]
    assert got[2][6] == 61.9 and got[2][0] == 67.0


def test_hidden_shorter_than_timeout_is_the_same_passage(tmp_path):
    got = events(tmp_path, FULL_ZONE + textwrap.dedent("""
        vehicles: [{plate: AAA111, at: 0s, path: [[500, 320], [500, 1060]], duration: 8s, hidden: [[1s, 5s]]}]
    """))
    assert [(e[1], e[2]) for e in got] == [("new", 1), ("update", 1), ("lost", 1)]


def test_hidden_interval_start_included_end_excluded(tmp_path):
    # hidden [0s, 1s): the first recognised frame is at exactly 1.0 s
    got = events(tmp_path, FULL_ZONE + textwrap.dedent("""
        vehicles: [{plate: AAA111, at: 0s, path: [[500, 320], [500, 1060]], duration: 4s, hidden: [[0s, 1s]]}]
    """))
    assert got[0][:2] == (1.0, "new")


def test_back_after_the_timeout_is_a_new_passage(tmp_path):
    got = events(tmp_path, FULL_ZONE + textwrap.dedent("""
        vehicles: [{plate: AAA111, at: 0s, path: [[500, 320], [500, 1060]], duration: 10s, hidden: [[1s, 7s]]}]
    """))
    # last seen 0.9 s, Lost at 6.0 s (first frame after 5.9 s), back at 7.0 s with carID 2
    assert [(e[0], e[1], e[2]) for e in got] == [
        (0.0, "new", 1), (0.6, "update", 1), (6.0, "lost", 1), (7.0, "new", 2), (7.6, "update", 2), (15.1, "lost", 2),
    ]


def test_recognised_again_exactly_at_the_timeout_is_the_same_passage(tmp_path):
    # last seen at 0.9 s, hidden until 5.9 s: 5.0 s is not *more* than the timeout
    got = events(tmp_path, FULL_ZONE + textwrap.dedent("""
        vehicles: [{plate: AAA111, at: 0s, path: [[500, 320], [500, 1060]], duration: 10s, hidden: [[1s, 5.9s]]}]
    """))
    assert [e[1] for e in got] == ["new", "update", "lost"]


@pytest.mark.parametrize(
    "arrow, path, expected",
    [
        (180, "[[500, 320], [500, 1060]]", "in"),  # down the image, arrow down
        (180, "[[500, 1060], [500, 320]]", "out"),  # up the image, arrow down
        (0, "[[500, 1060], [500, 320]]", "in"),
        (90, "[[100, 600], [1800, 700]]", "in"),  # right, arrow right (a few degrees off)
        (90, "[[1800, 600], [100, 600]]", "out"),
        (135, "[[100, 600], [1000, 600]]", "in"),  # 45 degrees off: in
        (180, "[[100, 600], [1000, 600]]", "out"),  # exactly 90 degrees off: out
    ],
)
def test_direction_against_the_zone_arrow(tmp_path, arrow, path, expected):
    got = events(tmp_path, f"""
        zones: [{{id: 1, polygon: [[0, 300], [1920, 300], [1920, 1080], [0, 1080]], direction: {arrow}}}]
        vehicles: [{{plate: AAA111, at: 0s, path: {path}, speed: 200}}]
    """)
    directions = [e[4] for e in got]
    assert directions[0] == "unknown"
    assert directions[1:] == [expected] * (len(directions) - 1)


def test_direction_needs_min_travel(tmp_path):
    got = events(tmp_path, FULL_ZONE + textwrap.dedent("""
        recognition: {direction_min_travel: 100}
        vehicles: [{plate: AAA111, at: 0s, path: [[500, 320], [500, 1060]], speed: 200}]
    """))
    assert got[1][:2] == (0.5, "update")  # 100 px at 200 px/s


def test_direction_never_decided_without_enough_travel(tmp_path):
    got = events(tmp_path, FULL_ZONE + textwrap.dedent("""
        vehicles: [{plate: AAA111, at: 0s, path: [[500, 320], [500, 350]], speed: 10}]
    """))
    assert [(e[1], e[4]) for e in got] == [("new", "unknown"), ("lost", "unknown")]


def test_plate_consolidation_most_frames_ties_to_the_most_recent(tmp_path):
    got = events(tmp_path, FULL_ZONE + textwrap.dedent("""
        recognition: {direction_min_travel: 2000}
        vehicles:
          - plate: 5SX2207
            at: 0s
            path: [[960, 320], [960, 1060]]
            duration: 4s
            reads:
              - {text: 5SX2201, confidence: 0.55, for: 0.3s}
              - {text: 5SX2207, confidence: 0.91, for: 0.2s}
              - {text: 5SX2201, confidence: 0.60, for: 0.5s}
              - {text: 5SX2207, confidence: 0.93}
    """))
    # frames: 01 x3 (0.0-0.2), 07 x2 (0.3-0.4), 01 x5 (0.5-0.9), 07 from 1.0 on.
    # 07 reaches 01's 8 frames at 1.5 s (2 + 6) and wins the tie.
    assert [(e[0], e[1], e[3]) for e in got] == [
        (0.0, "new", "5SX2201"), (1.5, "update", "5SX2207"), (9.1, "lost", "5SX2207"),
    ]


def test_confidence_is_that_of_the_latest_read_of_the_reported_text(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(HEADER.format(start=START) + FULL_ZONE + textwrap.dedent("""
        recognition: {direction_min_travel: 2000}
        vehicles:
          - plate: AB1
            at: 0s
            path: [[960, 320], [960, 1060]]
            duration: 4s
            reads:
              - {text: AB1, confidence: 0.70, for: 1s}
              - {text: AB7, confidence: 0.40, for: 0.5s}
              - {text: AB1, confidence: 0.95}
    """))
    scenario = load_scenario(path)
    confidences = [(p.payload["carState"], p.payload["plateConfidence"]) for p in Camera(scenario, 0).packets()]
    assert confidences == [("new", "0.700000"), ("lost", "0.950000")]


def test_zone_change_and_lowest_id_wins_on_overlap(tmp_path):
    got = events(tmp_path, """
        zones:
          - {id: 2, polygon: [[0, 560], [1920, 560], [1920, 1080], [0, 1080]], direction: 180}
          - {id: 1, polygon: [[0, 200], [1920, 200], [1920, 600], [0, 600]], direction: 180}
        vehicles: [{plate: AAA111, at: 0s, path: [[500, 210], [500, 1060]], speed: 100}]
    """)
    # zone 1 up to y = 600 (overlap 560-600 goes to zone 1): y = 600 at 3.9 s, zone 2 from 4.0 s
    assert [(e[0], e[1], e[5]) for e in got] == [(0.0, "new", "1"), (0.4, "update", "1"), (4.0, "update", "2"),
                                                 (13.6, "lost", "2")]


def test_zone_boundary_is_inside(tmp_path):
    got = events(tmp_path, FULL_ZONE + textwrap.dedent("""
        vehicles: [{plate: AAA111, at: 0s, path: [[500, 300], [500, 100]], speed: 100}]
    """))
    assert [(e[0], e[1], e[6]) for e in got] == [(0.0, "new", 0.0), (5.1, "lost", 0.0)]


def test_changes_on_one_frame_make_one_update(tmp_path):
    got = events(tmp_path, FULL_ZONE + textwrap.dedent("""
        vehicles:
          - plate: AB1
            at: 0s
            path: [[960, 320], [960, 1060]]
            speed: 200
            reads: [{text: AB7, for: 0.1s}, {text: AB1}]
    """))
    # 0.2 s: AB1 ties AB7 (1 frame each... AB7 at 0.0, AB1 at 0.1: tie at 0.1), direction at 0.2
    assert [(e[0], e[1], e[3], e[4]) for e in got][:3] == [
        (0.0, "new", "AB7", "unknown"), (0.1, "update", "AB1", "unknown"), (0.2, "update", "AB1", "in"),
    ]
    got = events(tmp_path, FULL_ZONE + textwrap.dedent("""
        vehicles:
          - plate: AB1
            at: 0s
            path: [[960, 320], [960, 1060]]
            speed: 400
            reads: [{text: AB7, for: 0.1s}, {text: AB1}]
    """))
    # at 400 px/s the direction is known at 0.1 s too: one Update carries both
    assert [(e[0], e[1], e[3], e[4]) for e in got][:2] == [(0.0, "new", "AB7", "unknown"), (0.1, "update", "AB1", "in")]


def test_update_interval_merges_changes(tmp_path):
    body = FULL_ZONE + textwrap.dedent("""
        recognition: {update_interval: 400ms}
        vehicles:
          - plate: AB1
            at: 0s
            path: [[960, 320], [960, 1060]]
            speed: 200
            reads: [{text: AB7, for: 0.1s}, {text: AB1}]
    """)
    got = events(tmp_path, body)
    # text changes at 0.1 s, direction at 0.2 s: one Update at 0.5 s (0.1 s + 400 ms)
    assert [(e[0], e[1], e[3], e[4], e[6]) for e in got] == [
        (0.0, "new", "AB7", "unknown", 0.0), (0.5, "update", "AB1", "in", 0.5), (8.8, "lost", "AB1", "in", 3.7),
    ]


def test_same_time_events_ordered_by_car_id_then_state(tmp_path):
    got = events(tmp_path, FULL_ZONE + textwrap.dedent("""
        recognition: {lost_timeout: 1s}
        vehicles:
          - {plate: BBB222, at: 1.1s, path: [[900, 320], [900, 1060]], duration: 2s}
          - {plate: AAA111, at: 0s, path: [[500, 1000]], duration: 0.1s}
          - {plate: CCC333, at: 1.1s, path: [[1300, 320], [1300, 1060]], duration: 2s}
    """))
    # AAA111 last seen at 0.1 s, Lost at 1.2 s; at 1.1 s two News: BBB222 (listed first) gets the lower id
    assert [(e[0], e[1], e[2], e[3]) for e in got[:4]] == [
        (0.0, "new", 1, "AAA111"), (1.1, "new", 2, "BBB222"), (1.1, "new", 3, "CCC333"), (1.2, "lost", 1, "AAA111"),
    ]
    same = [(e[1], e[2]) for e in got if e[0] == 1.3]
    assert same == [("update", 2), ("update", 3)]


def test_fps_setting(tmp_path):
    text = """\
version: 1
start: 2026-11-24T08:00:00Z
camera: {fps: 4}
zones: [{id: 1, polygon: [[0, 300], [1920, 300], [1920, 1080], [0, 1080]], direction: 180}]
vehicles: [{plate: AAA111, at: 0.1s, path: [[500, 320], [500, 1060]], speed: 100}]
"""
    got = events(tmp_path, text, header=False)
    # frames every 250 ms: the first at or after 0.1 s is 0.25 s (y = 335); 40 px further
    # is y = 375 at 0.65 s, so the direction comes on the frame at 0.75 s
    assert [(e[0], e[1]) for e in got[:2]] == [(0.25, "new"), (0.75, "update")]
