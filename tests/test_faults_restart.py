"""A restart on purpose: the camera goes dark, forgets the passages under way, and counts again.

In process, over Camera(...).packets_and_heartbeats: what the camera sends with the restart
against what it sends without it (the same scenario, no faults).
"""

import json

import ffsim

import pytest

from ffsim import scenario_from_text
from ffsim.faults.timing import restart_windows
from ffsim.protocol import Camera, HeartbeatPacket, Packet

S = 1_000_000

BASE = """\
version: 1
seed: 3
start: 2026-11-24T08:00:00Z
camera: {fps: 10}
recognition: {lost_timeout: 5s, first_car_id: 10}
zones: [{id: 1, polygon: [[0, 300], [1920, 300], [1920, 1080], [0, 1080]], direction: 180}]
traffic: [{zone: 1, rate: 1200/h, until: 2m}]
profiles:
  - {id: 1}
  - {id: 2, protocol: tcp, first_packet_counter: 5000, events: [new, update, reliable, lost]}
heartbeat: {period: 20s}
"""
RESTART = "faults: [{type: restart, name: power cut, at: 30s, down: 10s}]\n"
UNTIL = 150 * S


def sent(text: str, until_us: int = UNTIL) -> list:
    scenario = scenario_from_text(text)
    return list(Camera(scenario, scenario.start_us).packets_and_heartbeats(until_us))


def fields(p: Packet) -> dict:
    return json.loads(p.json_bytes())


def packets(items, profile: int | None = None) -> list[Packet]:
    return [p for p in items if isinstance(p, Packet) and (profile is None or p.profile == profile)]


@pytest.fixture(scope="module")
def runs():
    return sent(BASE), sent(BASE + RESTART)


def test_nothing_is_sent_in_the_dark_and_the_time_before_it_is_untouched(runs):
    plain, faulted = runs
    assert not [p for p in faulted if 30 * S <= p.time_us < 40 * S]
    before = [(p.time_us, type(p).__name__, p.json_bytes()) for p in plain if p.time_us < 30 * S]
    assert before == [(p.time_us, type(p).__name__, p.json_bytes()) for p in faulted if p.time_us < 30 * S]
    assert all(p.fault is None for p in faulted if p.time_us < 30 * S)
    assert packets(faulted, 1)[-1].time_us > 60 * S  # and the camera goes on after it


def test_passages_under_way_end_without_a_lost(runs):
    plain, faulted = runs
    # the passages of the plain run that the restart cuts: a New before it, a Lost after its start
    news = {fields(p)["carID"]: p.time_us for p in packets(plain, 1) if fields(p)["carState"] == "new"}
    cut = {fields(p)["carID"] for p in packets(plain, 1)
           if fields(p)["carState"] == "lost" and news[fields(p)["carID"]] < 30 * S <= p.time_us}
    assert len(cut) >= 2
    before = [fields(p) for p in packets(faulted, 1) if p.time_us < 30 * S]
    lost_before = {p["carID"] for p in before if p["carState"] == "lost"}
    assert cut.isdisjoint(lost_before)
    # after the restart, every event belongs to a passage begun after it: each carID's first is a New
    seen: set[str] = set()
    for p in packets(faulted):
        if p.time_us >= 40 * S:
            body = fields(p)
            if body["carID"] not in seen:
                assert body["carState"] == "new", body
                seen.add(body["carID"])
    started = {id(p.event.passage): p.event.passage for p in packets(faulted) if p.time_us < 30 * S}
    assert not [p for p in packets(faulted) if p.time_us >= 30 * S and id(p.event.passage) in started]


def test_counters_and_car_ids_start_again_and_the_first_packet_is_labelled(runs):
    _, faulted = runs
    label = {"type": "restart", "name": "power cut", "down_ms": 10000}
    for profile, first in ((1, 1), (2, 5000)):
        mine = packets(faulted, profile)
        before = [int(fields(p)["packetCounter"]) for p in mine if p.time_us < 30 * S]
        after = [int(fields(p)["packetCounter"]) for p in mine if p.time_us >= 40 * S]
        assert before == list(range(first, first + len(before)))
        assert after == list(range(first, first + len(after)))
        assert [p.fault for p in mine if p.fault is not None] == [label]
        assert mine[len(before)].fault == label
    news = [int(fields(p)["carID"]) for p in packets(faulted, 1) if fields(p)["carState"] == "new"]
    n_before = sum(1 for p in packets(faulted, 1) if p.time_us < 30 * S and fields(p)["carState"] == "new")
    assert news[:n_before] == list(range(10, 10 + n_before))
    assert news[n_before:] == list(range(10, 10 + len(news) - n_before))
    assert "fault" not in packets(faulted)[n_before].json_bytes().decode()  # a label, never in the payload


def test_heartbeats_stop_in_the_dark_and_resume_at_its_end_counting_from_the_boot(runs):
    plain, faulted = runs
    beats = [p for p in faulted if isinstance(p, HeartbeatPacket)]
    assert [b.time_us // S for b in beats] == [0, 20, 40, 60, 80, 100, 120, 140]
    assert [b.time_us // S for b in plain if isinstance(b, HeartbeatPacket)] == [0, 20, 40, 60, 80, 100, 120, 140]
    down = {"type": "restart", "name": "power cut", "down_ms": 10000}
    assert [b.fault for b in beats] == [None, None, down] + [None] * 5
    for beat in beats:
        boot = 40 * S if beat.time_us >= 40 * S else 0
        assert beat.payload["ALPV"]["numFrames"] == str((beat.time_us - boot) // 100_000 + 1)
        reads = sum(1 for p in packets(faulted, 1)
                    if boot <= p.time_us <= beat.time_us and fields(p)["carState"] == "new")
        assert beat.payload["ALPV"]["numberOfReads"] == str(reads)
    # a restart off the heartbeat's beat: the timer starts again at its end
    shifted = sent(BASE + "faults: [{type: restart, during: [25s, 33.5s]}]\n", 80 * S)
    times = [b.time_us for b in shifted if isinstance(b, HeartbeatPacket)]
    assert times == [0, 20 * S, 33_500_000, 53_500_000, 73_500_000]
    at_boot = next(b for b in shifted if isinstance(b, HeartbeatPacket) and b.time_us == 33_500_000)
    assert at_boot.payload["ALPV"]["numFrames"] == "1"
    assert at_boot.payload["system"]["timestamp"] == "2026-11-24T08:00:33.500Z"


VEHICLE = """\
version: 1
start: 2026-11-24T08:00:00Z
camera: {fps: 10}
recognition: {lost_timeout: 5s}
zones: [{id: 1, polygon: [[0, 300], [1920, 300], [1920, 1080], [0, 1080]], direction: 180}]
vehicles:
  - {plate: 5SX 2207, at: 1s, path: [[960, 320], {at: [960, 760], wait: 20s}, [960, 1070]], speed: 200}
  - {plate: 2AB 4455, at: 40s, path: [[960, 320], [960, 1070]], speed: 200}
profiles: [{id: 1, image: none, events: [new, update, reliable, lost]}]
"""


def states(text: str) -> list[tuple[int, int, str, str]]:
    return [(p.time_us, int(fields(p)["carID"]), fields(p)["carState"], fields(p)["plateUTF8"])
            for p in packets(sent(text, 90 * S))]


def test_a_short_restart_still_forgets_the_passage_under_way():
    # 2 s dark, well under the lost timeout, while the car waits at the barrier: a new passage
    events = states(VEHICLE + "faults: [{type: restart, at: 10s, down: 2s}]\n")
    first = [e for e in events if e[0] < 10 * S]
    again = [e for e in events if e[0] >= 12 * S]
    assert sorted(e[2] for e in first) == ["new", "reliable", "update"]
    assert again[0] == (12 * S, 1, "new", "5SX2207")
    assert [(e[1], e[2]) for e in again if e[3] == "5SX2207"][-1] == (1, "lost")
    assert [(e[1], e[2]) for e in again if e[3] == "2AB4455"][0] == (2, "new")
    # without the restart: one passage of 5SX2207 only
    plain = states(VEHICLE)
    assert [e[2] for e in plain if e[3] == "5SX2207"].count("new") == 1


@pytest.mark.parametrize("keys, counters, car_ids", [
    ("counters: keep, car_ids: keep", "on", "on"),
    ("first_packet_counter: 100, first_car_id: 50", 100, 50),
    ("counters: keep, first_car_id: 7", "on", 7),
])
def test_what_a_restart_keeps_and_where_it_starts_again(keys, counters, car_ids):
    items = packets(sent(BASE + f"faults: [{{type: restart, at: 30s, down: 10s, {keys}}}]\n"), 1)
    before = [fields(p) for p in items if p.time_us < 30 * S]
    after = [fields(p) for p in items if p.time_us >= 40 * S]
    first_counter = int(before[-1]["packetCounter"]) + 1 if counters == "on" else counters
    assert int(after[0]["packetCounter"]) == first_counter
    assert [int(p["packetCounter"]) for p in after] == list(range(first_counter, first_counter + len(after)))
    last_car = max(int(p["carID"]) for p in before)
    first_car = last_car + 1 if car_ids == "on" else car_ids
    assert [int(p["carID"]) for p in after if p["carState"] == "new"][0] == first_car


def test_restarts_at_a_rate_keep_every_window_dark_and_are_the_same_each_run():
    text = BASE + "faults: [{type: restart, rate: 1/min, down: 5s, seed: 1}]\n"
    scenario = scenario_from_text(text)
    windows = restart_windows(scenario, UNTIL)
    assert len(windows) >= 2
    first = sent(text)
    for w in windows:
        assert not [p for p in first if w.start_us <= p.time_us < w.end_us]
    labelled = [p.time_us for p in packets(first, 1) if p.fault is not None]
    assert len(labelled) == len([w for w in windows if any(p.time_us >= w.end_us for p in packets(first, 1))])
    assert [(p.time_us, p.json_bytes(), p.fault) for p in first] == [
        (p.time_us, p.json_bytes(), p.fault) for p in sent(text)]


def test_the_images_of_cut_passages_are_forgotten():
    scenario = scenario_from_text(BASE + RESTART)
    camera = Camera(scenario, scenario.start_us)
    names = [(p.time_us, fields(p)["imagesURI"]) for p in camera.packets()]  # to the end: every Lost sent
    assert all(not builder._images for builder in camera.builders)
    # a passage after the restart names its images with the new counters
    after = next(uris for t, uris in names if t >= 40 * S)
    assert after[1].endswith("_1.jpg")


@pytest.mark.parametrize("faults", ["faults: []\n", "faults: [{type: duplicate, at: 5s}]\n"])
def test_no_fault_of_the_camera_itself_leaves_its_bytes_alone(faults):
    plain = sent(BASE, 60 * S)
    other = sent(BASE + faults, 60 * S)
    assert [(p.time_us, p.json_bytes(), p.fault) for p in plain] == [
        (p.time_us, p.json_bytes(), p.fault) for p in other]
    assert all(p.fault is None for p in other)


def test_restarts_at_a_rate_go_on_in_traffic_without_end():
    from ffsim.faults.timing import restart_windows

    text = ffsim.bundled("busy-road").read_text().replace("until: 24h, ", "")
    scenario = ffsim.scenario_from_text(text + "faults:\n  - {type: restart, rate: 6/h, down: 20s, seed: 3}\n")
    assert all(f.until_us is None for f in scenario.traffic)
    windows = restart_windows(scenario, None)
    assert windows[-1].start_us > 29 * 86_400_000_000  # drawn for the first 30 days, not the first hour
