"""Each engine rule, with the exact event sequence it must give.

The rules are checked on the engine's events (Engine(...).events()), before any
profile turns them into payloads: times and capture times in seconds of virtual time.
"""

import textwrap

import pytest

from ffsim.engine import Engine
from ffsim.scenario import load_scenario

START = "2026-11-24T08:00:00Z"

HEADER = """\
version: 1
start: {start}
camera: {{resolution: [1920, 1080], fps: 10}}
"""
FULL_ZONE = "zones: [{id: 1, polygon: [[0, 300], [1920, 300], [1920, 1080], [0, 1080]], direction: 180}]\n"
WITHOUT_RELIABLE = ("new", "update", "lost")
ALL_STATES = ("new", "update", "reliable", "lost")


def engine(tmp_path, body: str, header: bool = True) -> Engine:
    text = (HEADER.format(start=START) if header else "") + textwrap.dedent(body)
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return Engine(load_scenario(path))


def seconds(us: int) -> float:
    return round(us / 1e6, 3)


def events(tmp_path, body: str, header: bool = True, states=WITHOUT_RELIABLE):
    """(send time, state, carID, text, direction, roiID, capture time) of each event in states."""
    return [
        (seconds(ev.time_us), ev.state, ev.passage.car_id, ev.text, ev.direction, str(ev.zone), seconds(ev.capture_us))
        for ev in engine(tmp_path, body, header).events()
        if ev.state in states
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
    eng = engine(tmp_path, FULL_ZONE + textwrap.dedent("""
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
    confidences = [(ev.state, ev.confidence) for ev in eng.events() if ev.state in WITHOUT_RELIABLE]
    assert confidences == [("new", 0.70), ("lost", 0.95)]


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


# -- Reliable -------------------------------------------------------------------------------

def test_reliable_when_the_reported_confidence_reaches_the_threshold(tmp_path):
    got = events(tmp_path, FULL_ZONE + textwrap.dedent("""
        recognition: {direction_min_travel: 2000, reliable_confidence: 0.9}
        vehicles:
          - plate: AB1
            at: 0s
            path: [[960, 320], [960, 1060]]
            duration: 4s
            reads: [{text: AB1, confidence: 0.6, for: 0.3s}, {text: AB1, confidence: 0.9}]
    """), states=ALL_STATES)
    # the confidence alone makes no Update, but reaching 0.9 (inclusive) at 0.3 s makes the Reliable
    assert got == [
        (0.0, "new", 1, "AB1", "unknown", "1", 0.0),
        (0.3, "reliable", 1, "AB1", "unknown", "1", 0.3),
        (9.1, "lost", 1, "AB1", "unknown", "1", 4.0),
    ]


def test_reliable_on_the_new_frame_comes_right_after_the_new(tmp_path):
    got = events(tmp_path, FULL_ZONE + textwrap.dedent("""
        recognition: {direction_min_travel: 2000}
        vehicles:
          - {plate: AAA111, at: 0s, path: [[500, 320], [500, 1060]], duration: 2s, reads: [{text: AAA111, confidence: 0.95}]}
          - {plate: BBB222, at: 0s, path: [[900, 320], [900, 1060]], duration: 2s, reads: [{text: BBB222, confidence: 0.97}]}
    """), states=ALL_STATES)
    # same time: by carID, then New, Update, Reliable, Lost
    assert [e[:3] for e in got] == [
        (0.0, "new", 1), (0.0, "reliable", 1), (0.0, "new", 2), (0.0, "reliable", 2), (7.1, "lost", 1), (7.1, "lost", 2),
    ]


def test_reliable_after_the_timeout_carries_the_result_so_far(tmp_path):
    got = events(tmp_path, FULL_ZONE + textwrap.dedent("""
        vehicles:
          - {plate: AB1, at: 0s, path: [[960, 320], [960, 1060]], speed: 200, reads: [{text: AB1, confidence: 0.6}]}
    """), states=ALL_STATES)
    # never confident enough: the Reliable comes 1 s (the default timeout) after the New
    assert got[:3] == [
        (0.0, "new", 1, "AB1", "unknown", "1", 0.0),
        (0.2, "update", 1, "AB1", "in", "1", 0.2),
        (1.0, "reliable", 1, "AB1", "in", "1", 1.0),
    ]
    assert [e[1] for e in got].count("reliable") == 1


def test_reliable_timeout_goes_to_the_first_frame_at_or_after_it(tmp_path):
    text = """\
version: 1
start: 2026-11-24T08:00:00Z
camera: {fps: 4}
recognition: {reliable_timeout: 300ms, direction_min_travel: 2000}
zones: [{id: 1, polygon: [[0, 300], [1920, 300], [1920, 1080], [0, 1080]], direction: 180}]
vehicles: [{plate: AAA111, at: 0.1s, path: [[500, 320], [500, 1060]], speed: 100, reads: [{text: AAA111, confidence: 0.5}]}]
"""
    got = events(tmp_path, text, header=False, states=ALL_STATES)
    # frames every 250 ms: New at 0.25 s; 0.25 + 0.3 = 0.55 s falls between frames: 0.75 s
    assert [(e[0], e[1]) for e in got[:2]] == [(0.25, "new"), (0.75, "reliable")]


def test_reliable_never_after_the_lost(tmp_path):
    body = FULL_ZONE + textwrap.dedent("""
        recognition: {lost_timeout: 1s, reliable_timeout: %s}
        vehicles: [{plate: AAA111, at: 0s, path: [[500, 1000]], duration: 0.1s, reads: [{text: AAA111, confidence: 0.5}]}]
    """)
    # seen at 0.0 and 0.1 s; Lost on the first frame after 1.1 s: 1.2 s
    for timeout in ("1.2s", "5s"):
        got = events(tmp_path, body % timeout, states=ALL_STATES)
        assert got == [
            (0.0, "new", 1, "AAA111", "unknown", "1", 0.0),
            (1.2, "reliable", 1, "AAA111", "unknown", "1", 0.1),  # on the Lost's frame, before it
            (1.2, "lost", 1, "AAA111", "unknown", "1", 0.1),
        ]
    got = events(tmp_path, body % "1.1s", states=ALL_STATES)
    assert [(e[0], e[1], e[6]) for e in got] == [(0.0, "new", 0.0), (1.1, "reliable", 0.1), (1.2, "lost", 0.1)]


def test_one_reliable_per_passage(tmp_path):
    got = events(tmp_path, FULL_ZONE + textwrap.dedent("""
        vehicles:
          - plate: AAA111
            at: 0s
            path: [[500, 320], [500, 1060]]
            duration: 10s
            hidden: [[1s, 7s]]
            reads: [{text: AAA111, confidence: 0.95}]
    """), states=ALL_STATES)
    # the Reliable of the first passage comes on its New; it does not count for the second
    assert [(e[0], e[1], e[2]) for e in got] == [
        (0.0, "new", 1), (0.0, "reliable", 1), (0.6, "update", 1), (6.0, "lost", 1),
        (7.0, "new", 2), (7.0, "reliable", 2), (7.6, "update", 2), (15.1, "lost", 2),
    ]


def test_reliable_carries_changes_an_update_interval_has_not_announced(tmp_path):
    got = events(tmp_path, FULL_ZONE + textwrap.dedent("""
        recognition: {update_interval: 400ms}
        vehicles:
          - plate: AB1
            at: 0s
            path: [[960, 320], [960, 1060]]
            speed: 200
            reads: [{text: AB7, confidence: 0.5, for: 0.1s}, {text: AB1, confidence: 0.93}]
    """), states=ALL_STATES)
    # AB1 is reported from 0.1 s with 0.93: the Reliable goes then, the Update waits for its window
    assert got[:3] == [
        (0.0, "new", 1, "AB7", "unknown", "1", 0.0),
        (0.1, "reliable", 1, "AB1", "unknown", "1", 0.1),
        (0.5, "update", 1, "AB1", "in", "1", 0.5),
    ]


def test_reliable_after_an_update_of_the_same_frame(tmp_path):
    got = events(tmp_path, FULL_ZONE + textwrap.dedent("""
        recognition: {direction_min_travel: 2000}
        vehicles:
          - plate: AB1
            at: 0s
            path: [[960, 320], [960, 1060]]
            duration: 4s
            reads: [{text: AB7, confidence: 0.5, for: 0.2s}, {text: AB1, confidence: 0.95}]
    """), states=ALL_STATES)
    # AB1 ties AB7 at 0.3 s: the Update and the Reliable share the frame, Update first
    assert [(e[0], e[1], e[3]) for e in got[:3]] == [(0.0, "new", "AB7"), (0.3, "update", "AB1"),
                                                    (0.3, "reliable", "AB1")]


def test_images_of_reliable_and_lost(tmp_path):
    eng = engine(tmp_path, FULL_ZONE + textwrap.dedent("""
        vehicles: [{plate: 5SX2207, at: 2s, path: [[960, 320], [960, 1060]], duration: 4s, reads: [{text: 5SX2207, confidence: 0.5}]}]
    """))
    shots = {ev.state: (seconds(ev.plate_shot[0]), ev.plate_shot[1]) for ev in eng.events()}
    # the Reliable shoots its own frame (3.0 s); the Lost names the images of the last Update
    # (2.3 s, the result it finalises), not of its last recognition (6.0 s)
    assert shots == {"new": (2.0, "5SX2207"), "update": (2.3, "5SX2207"), "reliable": (3.0, "5SX2207"),
                     "lost": (2.3, "5SX2207")}


def test_lost_without_updates_names_the_images_of_the_new(tmp_path):
    eng = engine(tmp_path, FULL_ZONE + textwrap.dedent("""
        vehicles: [{plate: AAA111, at: 0s, path: [[500, 320], [500, 350]], speed: 10}]
    """))
    evs = list(eng.events())
    assert [ev.state for ev in evs] == ["new", "reliable", "lost"]
    assert evs[-1].plate_shot == evs[0].plate_shot == (0, "AAA111")
    assert evs[-1].capture_us == 3_000_000  # the Lost's capture time is still its last recognition's


def test_update_40_ms_after_the_new_when_the_direction_is_found_on_the_next_frame(tmp_path):
    text = """\
version: 1
start: 2026-11-24T08:00:00Z
camera: {fps: 25}
recognition: {direction_min_travel: 30}
zones: [{id: 1, polygon: [[0, 300], [1920, 300], [1920, 1080], [0, 1080]], direction: 180}]
vehicles: [{plate: AAA111, at: 0.5s, path: [[500, 320], [500, 1060]], speed: 1000}]
"""
    got = events(tmp_path, text, header=False)
    # 40 px in the 40 ms between two frames: the direction comes on the frame after the New
    assert [(e[0], e[1], e[4]) for e in got[:2]] == [(0.52, "new", "unknown"), (0.56, "update", "in")]


# -- misreads in generated traffic ----------------------------------------------------------

def traffic(tmp_path, misread: str, speed="[150, 400]", fps=25):
    """The engine's events of 10 minutes of one flow, grouped by passage; the plate each shows."""
    eng = engine(tmp_path, f"""\
version: 1
seed: 7
start: {START}
camera: {{resolution: [1920, 1080], fps: {fps}}}
recognition: {{direction_min_travel: 5000}}
zones: [{{id: 1, polygon: [[0, 300], [1920, 300], [1920, 1080], [0, 1080]], direction: 180}}]
traffic: [{{zone: 1, rate: 360/h, until: 10m, speed: {speed}, misread: {misread}}}]
""", header=False)
    passages: dict[int, list] = {}
    for ev in eng.events():
        if ev.state in WITHOUT_RELIABLE:
            passages.setdefault(ev.passage.car_id, []).append(ev)
    assert len(passages) > 30
    return [(eng.normalise(evs[0].passage.vehicle.plate), evs) for evs in passages.values()]


def test_substitution_misread_is_corrected_by_one_update(tmp_path):
    for plate, evs in traffic(tmp_path, "{substitution: 1}"):
        texts = [ev.text for ev in evs]
        assert texts[0] != plate and len(texts[0]) == len(plate)
        assert texts[1:] == [plate, plate]  # one Update, then the Lost


@pytest.mark.parametrize("fps", [25, 30, 7, 4])
def test_growing_misread_grows_by_one_character_per_update(tmp_path, fps):
    for plate, evs in traffic(tmp_path, "{growing: 1}", fps=fps):
        updates = [ev for ev in evs if ev.state == "update"]
        texts = [evs[0].text] + [ev.text for ev in updates]
        assert 2 <= len(plate) - len(texts[0]) <= 4
        assert texts == [plate[:n] for n in range(len(texts[0]), len(plate) + 1)]
        assert evs[-1].text == plate
        times = [evs[0].time_us] + [ev.time_us for ev in updates]
        # each step lasts 80-200 ms (at least a frame) and no less than the one before: the
        # next one takes over once it has as many frames, 80 ms to twice the longest step later
        assert all(80_000 <= b - a <= 400_000 for a, b in zip(times, times[1:])), times


def test_regression_misread_goes_back_to_an_earlier_wrong_reading(tmp_path):
    went_back = 0
    for plate, evs in traffic(tmp_path, "{regression: 1}", speed="[25, 35]"):
        texts = [ev.text for ev in evs if ev.state != "lost"]
        assert plate in texts
        right_at = next(ev.time_us for ev in evs if ev.text == plate)
        after = [ev for ev in evs if ev.state == "update" and ev.time_us > right_at]
        # the vehicles are slow enough to stay until the wrong reading overtakes the right one
        assert len(after) == 1, [(ev.time_us, ev.text) for ev in evs]
        back = after[0]
        assert back.text != plate and back.text in texts[:texts.index(plate)]
        assert len(back.text) == len(plate)
        assert back.time_us - right_at >= 1_000_000
        assert evs[-1].text == back.text
        went_back += 1
    assert went_back > 30


def test_misread_kinds_by_their_shares(tmp_path):
    kinds = {"right": 0, "substitution": 0, "growing": 0}
    for plate, evs in traffic(tmp_path, "{substitution: 0.25, growing: 0.5}"):
        first = evs[0].text
        kinds["right" if first == plate else "growing" if plate.startswith(first) else "substitution"] += 1
    total = sum(kinds.values())
    # a fixed seed: the counts are fixed; the bands only say they follow the shares
    assert 0.1 * total <= kinds["substitution"] <= 0.4 * total
    assert 0.35 * total <= kinds["growing"] <= 0.65 * total
    assert 0.1 * total <= kinds["right"] <= 0.4 * total


def test_generated_misreads_are_deterministic_and_seed_dependent(tmp_path):
    def reads(seed: int):
        eng = engine(tmp_path, f"""\
version: 1
seed: {seed}
start: {START}
zones: [{{id: 1, polygon: [[0, 300], [1920, 300], [1920, 1080], [0, 1080]], direction: 180}}]
traffic: [{{zone: 1, rate: 600/h, until: 5m, misread: {{substitution: 0.3, growing: 0.3, regression: 0.3}}}}]
""", header=False)
        return [(ev.time_us, ev.state, ev.text) for ev in eng.events()]

    first = reads(1)
    assert first == reads(1)
    assert first != reads(2)
