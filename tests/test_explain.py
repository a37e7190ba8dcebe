"""ffsim explain: its events are exactly those `ffsim events` sends (every bundled scenario, per
profile), its reasons carry the engine's numbers (direction, reads, timeouts, gaps, restarts),
and tracing changes nothing the engine sends. Real scenarios, in this process; a few runs of the
command itself."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings

import ffsim
from ffsim.engine import Engine
from ffsim.engine.frames import FrameClock
from ffsim.engine.vehicle import Recogniser
from ffsim.explain import PassageExplanation, explain, iter_explain, json_object, seconds, text_lines
from ffsim.scenario import scenario_from_text
from ffsim.vocabulary import CAMERA_FAULTS

from .cli import ffsim as run_ffsim
from .test_engine_vs_reference import (FPS, INTERVALS, LOST_TIMEOUTS, MIN_TRAVELS, RELIABLE_CONFIDENCES,
                                       RELIABLE_TIMEOUTS, dark_windows, vehicles, zones)

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ffsim.bundled_names() + [f"faults/{name}" for name in ffsim.fault_scenarios()]
TEMPLATES = sorted((ROOT / "ffsim" / "templates").glob("*.yaml"))

HEAD = """\
version: 1
name: t
seed: 3
start: 2026-11-24T08:00:00Z
camera: {fps: 10}
"""
ZONE_DOWN = "zones: [{id: 1, polygon: [[0, 300], [1920, 300], [1920, 1080], [0, 1080]], direction: 180}]\n"


def scenario(body: str, zones: str = ZONE_DOWN):
    return scenario_from_text(HEAD + zones + body)


def sent(passages: list[PassageExplanation]) -> Counter:
    """(profile, carID, state, send time, plate, direction, zone) of every event explain says a profile sends."""
    out: Counter = Counter()
    for p in passages:
        for ev in p.events:
            for profile in ev.profiles:
                out[(profile, p.car_id, ev.state, ev.time_us, ev.text, ev.direction, ev.zone)] += 1
    return out


def packets(model, until) -> Counter:
    """The same of every packet `ffsim events` gives, read from the payloads; the faults that act
    after the engine left out (--no-faults), the camera's own (restarts, clocks) kept."""
    own = dataclasses.replace(model, faults=tuple(f for f in model.faults if f.type in CAMERA_FAULTS))
    out: Counter = Counter()
    for packet in ffsim.events(own, until=until):
        p = packet.payload.as_dict()
        out[(packet.profile, int(p["carID"]), p["carState"], packet.time_us, p["plateUTF8"],
             p["carMoveDirection"], int(p["roiID"]))] += 1
    return out


def agree(model, until=None) -> int:
    got, expected = sent(explain(model, until=until)), packets(model, until)
    assert got == expected, (f"only in explain: {sorted((got - expected).elements())[:5]}; "
                             f"only in ffsim events: {sorted((expected - got).elements())[:5]}")
    return sum(got.values())


def lines(model, **kwargs) -> list[str]:
    several = len(model.profiles) > 1
    return [line for p in explain(model, **kwargs) for line in text_lines(p, several)]


def line_of(all_lines: list[str], *parts: str) -> str:
    found = [line for line in all_lines if all(part in line for part in parts)]
    assert len(found) == 1, (parts, all_lines)
    return found[0]


# -- agreement with ffsim events ---------------------------------------------------------------------
@pytest.mark.parametrize("name", BUNDLED)
def test_explain_lists_exactly_the_events_ffsim_events_sends(name):
    model = ffsim.scenario_of(ffsim.bundled(name))
    until = "10m" if model.traffic else None  # busy-road's day: its first ten minutes
    assert agree(model, until) > 0


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_and_on_the_init_templates(path):
    if path.stem != "fleet":
        agree(ffsim.scenario_of(path), "5m")


def test_and_on_traffic_with_every_engine_setting_and_profiles_that_differ():
    """Misreads of each kind, hiding, update_interval windows, Reliable by confidence and by
    timeout, restarts at a rate that keep and restart carIDs, two zones, three profiles."""
    model = scenario("""\
recognition: {lost_timeout: 2s, update_interval: 300ms, reliable_confidence: 0.8, reliable_timeout: 700ms}
traffic:
  - {zone: 1, rate: 1200/h, until: 5m, speed: [60, 400], direction: {in: 0.6, out: 0.4},
     misread: {substitution: 0.3, growing: 0.3, regression: 0.3}}
  - {zone: 2, rate: 600/h, until: 5m, speed: [100, 300], misread: 0.5}
vehicles:
  - {plate: 5SX 2207, at: 3s, path: [[500, 320], [500, 1000]], speed: 100, hidden: [[1s, 2.5s], [3s, 6s]],
     reads: [{text: 5SX22O7, confidence: 0.4, for: 0.5s}, {text: 5SX2207, confidence: 0.95}]}
  - {plate: 1AB 2345, at: 33s, path: [[100, 320], [1800, 1000]], speed: 200}
profiles:
  - {id: 1, events: [new, update, lost]}
  - {id: 2, events: [new, reliable, lost]}
  - {id: 3, protocol: tcp, events: [update, reliable]}
faults:
  - {type: restart, rate: 1/min, until: 5m, down: 3s, car_ids: keep}
  - {type: restart, at: 150s, down: 100ms}
""", zones="""\
zones:
  - {id: 1, polygon: [[0, 300], [950, 300], [950, 1080], [0, 1080]], direction: 180}
  - {id: 2, polygon: [[950, 300], [1920, 300], [1920, 1080], [950, 1080]], direction: 45}
""")
    passages = explain(model, until="6m")
    assert agree(model, "6m") > 1000
    states = Counter(ev.state for p in passages for ev in p.events)
    assert all(states[s] > 20 for s in ("new", "update", "reliable", "lost")), states
    words = "\n".join(line for p in passages for line in text_lines(p, True))
    for reason in ("held for the update_interval", "reaches reliable_confidence", "reliable_timeout 0.7 s after",
                   "the camera restarted at", "plate text changed", "now in zone", "[profiles 2, 3]",
                   "[profiles 1, 3]"):
        assert reason in words, reason


def test_tracing_changes_nothing_the_engine_sends():
    model = ffsim.scenario_of(ffsim.bundled("busy-road"))
    plain = Engine(model)
    assert plain.recogniser.trace is None and plain.origins is None  # off unless asked for
    traced = Engine(model)
    records = traced.trace()

    def seen(engine):
        return [(e.time_us, e.state, e.passage.car_id, e.text, e.confidence, e.direction, e.zone, e.capture_us, e.x,
                 e.y, e.plate_shot, e.vehicle_shot) for e in engine.events(600_000_000)]

    assert seen(plain) == seen(traced)
    assert len(records) > 100


@settings(max_examples=3 * settings.default.max_examples)
@given(zones(), vehicles(), FPS, LOST_TIMEOUTS, MIN_TRAVELS, INTERVALS, RELIABLE_CONFIDENCES, RELIABLE_TIMEOUTS,
       dark_windows())
def test_the_trace_records_the_decisions_behind_each_event(zone_list, vehicle, fps, timeout, travel, interval,
                                                            reliable_conf, reliable_timeout, dark):
    """On the engine-versus-reference tests' random vehicles: every event's time and value is
    the one its passage's record names, and recording changes none of them."""
    def make():
        return Recogniser(zone_list, FrameClock(fps), timeout, travel, interval, reliable_conf, reliable_timeout,
                          dark=dark)

    def seen(events):
        return [(e.time_us, e.state, e.text, e.confidence, e.direction, e.zone, e.capture_us, e.x, e.y,
                 e.plate_shot, e.vehicle_shot) for e in events]

    rec = make()
    rec.trace = []
    events = rec.events(vehicle)
    assert seen(events) == seen(make().events(vehicle))
    time = rec.clock.time
    assert [run for why in rec.trace for run in why.runs] == [tuple(run) for run in rec.runs(vehicle)]
    assert [why.passage for why in rec.trace] == list(dict.fromkeys(e.passage for e in events))
    for why in rec.trace:
        mine = [e for e in events if e.passage is why.passage]
        due = [(time(why.runs[0][0]), "new")]
        due += [(time(send), "update") for send, _, _, _, sent in why.updates if sent]
        if why.reliable is not None:
            due.append((time(why.reliable[0]), "reliable"))
        due.append((time(why.lost_frame), "lost"))
        restarts = [start for start, _ in dark if time(why.runs[0][0]) < start <= time(why.lost_frame)]
        assert why.cut_us == (restarts[0] if restarts else None)
        if why.cut_us is not None:
            assert sorted(why.dropped) == sorted(d for d in due if d[0] >= why.cut_us)
            due = [d for d in due if d[0] < why.cut_us]
        assert sorted((e.time_us, e.state) for e in mine) == sorted(due)
        assert mine[0].text == vehicle.reads[why.first_read].text
        assert len(why.text_reads) == sum(1 for c in why.changes if c[1] == 2)
        for (frame, kind, value), (read_frame, replaced, n_new, n_old) in zip(
                [c for c in why.changes if c[1] == 2], why.text_reads):
            assert frame == read_frame and value[0] != replaced and n_new >= n_old >= 1
        if why.direction is not None:
            frame, zone, x0, y0, x, y, ax, ay = why.direction
            assert math.hypot(x - x0, y - y0) >= travel
            assert (frame, 3, "in" if (x - x0) * ax + (y - y0) * ay > 0 else "out") in why.changes
        for (_, k1, _), (k0, _, _) in zip(why.runs, why.runs[1:]):
            assert all(rec.unseen_because(vehicle, k) != "" for k in range(k1 + 1, k0))
        if why.cut_us is None:  # a restart too short to hold a frame parts passages all the same
            assert rec.unseen_because(vehicle, why.last_frame + 1) != ""


def test_unseen_because_answers_as_the_per_frame_test_does():
    reasons: Counter = Counter()
    for name in ("faults/restart", "occlusion", "two-zones"):
        engine = Engine(ffsim.scenario_of(ffsim.bundled(name)))
        trace = engine.trace()
        list(engine.events())
        rec = engine.recogniser
        for vehicle in {id(w.vehicle): w.vehicle for w in trace}.values():
            for k in range(0, 500):
                reason = rec.unseen_because(vehicle, k)
                assert (reason == "") == (rec.state_at(vehicle, k) is not None)
                reasons[reason] += 1
    assert set(reasons) == {"", "path", "dark", "hidden", "outside"}


# -- the reasons, with their numbers --------------------------------------------------------------
def test_the_direction_gives_distance_and_angles_in_the_scenario_convention():
    # 3-4-5: 50 px a frame, down and to the right (143.1 degrees, 0 up, 90 right), 36.9 off the arrow
    model = scenario("vehicles: [{plate: 1AB 2345, at: 1s, path: [[1000, 400], [1300, 800]], speed: 500}]\n")
    got = lines(model)
    assert ("direction decided at 1.100 s after 50 px at 143.1 degrees compared with the arrow of zone 1 at 180 degrees: "
            "36.9 degrees off (less than 90): in") in line_of(got, "Update")
    [update] = [ev for ev in explain(model)[0].events if ev.state == "update"]
    facts = update.facts["direction"]
    assert facts["distance_px"] == pytest.approx(50) and facts["angle"] == pytest.approx(143.130102)
    assert facts["min_travel_px"] == 40 and update.direction == "in"


def test_the_direction_against_the_arrow_is_out():
    zones = "zones: [{id: 1, polygon: [[0, 0], [1920, 0], [1920, 1080], [0, 1080]], direction: 270}]\n"
    model = scenario("vehicles: [{plate: 1AB 2345, at: 0s, path: [[100, 500], [1800, 500]], speed: 300}]\n", zones)
    assert ("direction decided at 0.200 s after 60 px at 90 degrees compared with the arrow of zone 1 at 270 degrees: "
            "180 degrees off (90 or more): out") in line_of(lines(model), "Update")


def test_a_text_change_comes_after_as_many_reads_as_the_text_it_replaces():
    # A on 2 frames, B takes over on its 2nd (a tie: the more recent), has 5 by 0.6 s; A returns at
    # 0.7 s and, with its 2 earlier frames, is reported again on its 3rd frame after that
    model = scenario("""\
vehicles:
  - {plate: 1AB 2345, at: 1s, path: [[960, 400], [960, 1000]], duration: 6s,
     reads: [{text: 1AB2346, confidence: 0.5, for: 0.2s}, {text: 1A82345, confidence: 0.6, for: 0.5s},
             {text: 1AB2346, confidence: 0.7}]}
""")
    got = lines(model)
    assert line_of(got, "New").endswith("first frame in zone 1 at 1.000 s; read 1 of 3: 1AB2346, confidence 0.5")
    assert ("plate text changed from 1AB2346 to 1A82345 at 1.300 s after 2 reads "
            "(as many as 1AB2346 had, and the more recent)") in line_of(got, "to 1A82345")
    assert ("plate text changed from 1A82345 to 1AB2346 at 1.900 s after 5 reads "
            "(as many as 1A82345 had, and the more recent)") in line_of(got, "to 1AB2346")


def test_lost_is_the_first_frame_after_the_last_recognition_plus_the_timeout():
    model = scenario("""\
recognition: {lost_timeout: 2.25s}
vehicles: [{plate: 1AB 2345, at: 1s, path: [[960, 400], [960, 700]], duration: 1.3s}]
""")
    [passage] = explain(model)
    lost = passage.events[-1]
    assert lost.state == "lost" and lost.time_us == 4_600_000  # 2.3 s + 2.25 s = 4.55 s: the next frame
    assert lost.facts["last_recognition_us"] == 2_300_000 and lost.facts["lost_timeout_us"] == 2_250_000
    assert lost.why == ("the first frame more than lost_timeout 2.25 s after the last recognition at 2.300 s "
                        "(then its path ends)")


def test_an_occlusion_within_the_timeout_is_rejoined_and_a_longer_one_is_a_new_passage():
    model = scenario("""\
vehicles:
  - {plate: 1AB 2345, at: 1s, path: [[960, 320], [960, 1000]], duration: 20s, hidden: [[2s, 4s], [6s, 13s]],
     reads: [{text: 1AB2345, confidence: 0.9}]}
""")
    got = lines(model)
    assert line_of(got, "not recognised") == (
        "    3.000 s            not recognised from 3.000 s (hidden from 3.000 s to 5.000 s); recognised again at "
        "5.000 s in zone 1, 2.1 s after the last recognition: within lost_timeout 5 s, the same passage")
    assert line_of(got, "carID 2", "plate 1AB 2345") == "carID 2: plate 1AB 2345, vehicles[0]"
    assert ("first frame in zone 1 at 14.000 s; read 1AB2345, confidence 0.9") in line_of(got, "14.000 s  New")
    assert ("a new passage: seen again 7.1 s after the last recognition at 6.900 s, more than lost_timeout 5 s"
            in line_of(got, "14.000 s  New"))
    assert "(then hidden from 7.000 s to 14.000 s)" in line_of(got, "12.000 s  Lost")


def test_a_restart_cuts_the_passage_and_carids_start_again():
    model = scenario("""\
vehicles:
  - {plate: 1AB 2345, at: 1s, path: [[960, 320], [960, 1000]], duration: 10s}
  - {plate: 9XY 8765, at: 1.5s, path: [[100, 320], [100, 1000]], duration: 2s}
faults: [{type: restart, name: power cut, at: 4s, down: 2s}]
""")
    passages = explain(model)
    assert [(p.car_id, p.plate, p.index) for p in passages] == [(1, "1AB 2345", 0), (2, "9XY 8765", 1),
                                                                (1, "1AB 2345", 0)]
    assert [[ev.state for ev in p.events] for p in passages] == [["new", "update"]] * 2 + [["new", "update", "lost"]]
    got = [line for p in passages for line in text_lines(p)]
    assert line_of(got, "Lost at 9.000 s").endswith(
        "4.000 s            the camera restarted at 4.000 s (power cut, down until 6.000 s): the passage is "
        "forgotten; not sent: Lost at 9.000 s")
    assert line_of(got, "Lost at 8.600 s").endswith("not sent: Lost at 8.600 s")  # gone before it, Lost due after
    assert line_of(got, "6.000 s  New").endswith(
        "a new passage: the camera restarted at 4.000 s, after the vehicle's last recognition at 3.900 s; carIDs "
        "count from 1 again after the restart at 4.000 s")


def test_an_update_held_by_the_update_interval_and_changes_that_cancel_out():
    model = scenario("""\
recognition: {update_interval: 500ms}
vehicles:
  - {plate: 1AB 2345, at: 1s, path: [{at: [960, 400], wait: 3s}, [960, 1000]], speed: 300,
     reads: [{text: 1AB2345, confidence: 0.9, for: 0.2s}, {text: 1AB2346, confidence: 0.6, for: 0.4s},
             {text: 1AB2345, confidence: 0.95}]}
""")
    got = lines(model)
    # 1AB2346 reported at 1.3 s, 1AB2345 again at 1.7 s: the window from 1.3 s ends at 1.8 s with nothing new
    assert line_of(got, "cancelled out") == (
        "    1.800 s            the changes since 1.300 s cancelled out within the update_interval 0.5 s: no Update")
    assert ("direction decided at 4.200 s after 60 px at 180 degrees compared with the arrow of zone 1 at 180 degrees: 0 "
            "degrees off (less than 90): in; held for the update_interval 0.5 s from the change at 4.200 s: sent on its "
            "last frame") in line_of(got, "4.700 s  Update")


def test_reliable_by_confidence_by_timeout_and_on_the_new():
    model = scenario("""\
recognition: {reliable_confidence: 0.9, reliable_timeout: 800ms}
vehicles:
  - {plate: 1AB 2345, at: 1s, path: [[960, 320], [960, 1000]], duration: 5s,
     reads: [{text: 1AB2345, confidence: 0.5, for: 0.3s}, {text: 1AB2345, confidence: 0.93}]}
  - {plate: 2AB 2345, at: 10s, path: [[960, 320], [960, 1000]], duration: 5s, reads: [{text: 2AB2345, confidence: 0.5}]}
  - {plate: 3AB 2345, at: 20s, path: [[960, 320], [960, 1000]], duration: 5s, reads: [{text: 3AB2345, confidence: 0.97}]}
profiles: [{id: 1, events: [new, update, reliable, lost]}]
""")
    got = lines(model)
    assert line_of(got, "1.300 s  Reliable").endswith(
        "confidence 0.93 of 1AB2345 at 1.300 s reaches reliable_confidence 0.9")
    assert line_of(got, "10.800 s  Reliable").endswith(
        "reliable_timeout 0.8 s after the New at 10.000 s ran out; confidence 0.5 stayed below reliable_confidence 0.9")
    assert line_of(got, "20.000 s  Reliable").endswith(
        "the first read's confidence 0.97 reaches reliable_confidence 0.9 on the New's frame")


def test_which_profiles_send_each_event():
    model = scenario("""\
vehicles: [{plate: 1AB 2345, at: 1s, path: [[960, 320], [960, 1000]], duration: 3s}]
profiles: [{id: 1, events: [new, lost]}, {id: 2, protocol: tcp, events: [new, update]}]
""")
    got = lines(model)
    assert line_of(got, "New").endswith("[profiles 1, 2]")
    assert line_of(got, "Update").endswith("[profile 2]")
    assert line_of(got, "Lost").endswith("[profile 1]")
    one = scenario("vehicles: [{plate: 1AB 2345, at: 1s, path: [[960, 320], [960, 1000]], duration: 3s}]\n"
                   "profiles: [{id: 1, events: [new, lost]}]\n")
    assert line_of(lines(one), "Update").endswith("[no profile sends update]")
    assert not line_of(lines(one), "New").endswith("]")


def test_until_stops_the_listing_as_ffsim_events_does():
    model = scenario("vehicles: [{plate: 1AB 2345, at: 1s, path: [[960, 320], [960, 1000]], duration: 3s}]\n")
    [passage] = explain(model, until="2s")
    assert [ev.state for ev in passage.events] == ["new", "update"]
    assert passage.notes[-1].text == "under way at the end (--until); its Lost is due at 9.100 s"
    assert explain(model, until=0.5) == []
    with pytest.raises(ValueError, match="has no `until`"):
        explain(scenario("traffic: [{zone: 1, rate: 60/h}]\n"))


def test_seconds_truncate_to_milliseconds():
    assert seconds(0) == "0.000 s" and seconds(33_333) == "0.033 s" and seconds(123_456_789) == "123.456 s"


# -- the command ------------------------------------------------------------------------------------
def test_the_command_prints_each_passage_of_a_bundled_scenario():
    result = run_ffsim("explain", ffsim.bundled("misread-corrected"))
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.splitlines() == [
        "carID 1: plate 5SX 2287, vehicles[0]",
        "    1.000 s  New       5SX22B7     unknown  zone 1  first frame in zone 1 at 1.000 s; read 1 of 2: 5SX22B7, "
        "confidence 0.512",
        "    1.300 s  Update    5SX22B7     in       zone 1  direction decided at 1.300 s after 55.5 px at 180 degrees "
        "compared with the arrow of zone 1 at 180 degrees: 0 degrees off (less than 90): in",
        "    1.700 s  Update    5SX2287     in       zone 1  plate text changed from 5SX22B7 to 5SX2287 at 1.700 s "
        "after 4 reads (as many as 5SX22B7 had, and the more recent)",
        "   10.100 s  Lost      5SX2287     in       zone 1  the first frame more than lost_timeout 5 s after the last "
        "recognition at 5.000 s (then its path ends)",
    ]


def test_car_filters_and_an_unknown_car_is_one_line_and_exit_1():
    path = ffsim.bundled("occlusion")
    result = run_ffsim("explain", path, "--car", "2")
    assert result.returncode == 0
    assert [line for line in result.stdout.splitlines() if line.startswith("carID")] == [
        "carID 2: plate 4A2 7788, vehicles[1]"]
    result = run_ffsim("explain", path, "--car", "99")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == f"ffsim: error: no passage has carID 99 in {path}\n"


def test_no_passage_at_all_is_said():
    path = ffsim.bundled("occlusion")
    result = run_ffsim("explain", path, "--until", "0")
    assert result.returncode == 0 and result.stdout == ""
    assert result.stderr == f"no passage in {path} up to --until 0 s\n"


def test_json_is_one_object_per_passage():
    result = run_ffsim("explain", ffsim.bundled("busy-road"), "--until", "2m", "--json")
    assert result.returncode == 0
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    model = ffsim.scenario_of(ffsim.bundled("busy-road"))
    assert objects == [json_object(p) for p in explain(model, until="2m")]
    assert len(objects) > 20 and [o["carID"] for o in objects] == list(range(1, len(objects) + 1))
    first = objects[0]
    assert set(first) == {"carID", "plate", "vehicle", "events", "notes"}
    assert first["vehicle"]["source"] == "traffic" and first["events"][0]["state"] == "new"
    assert first["events"][-1]["facts"]["lost_timeout_us"] == 5_000_000


def test_a_bad_scenario_is_file_line_col_and_exit_1(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(HEAD + ZONE_DOWN + "vehicles: [{plate: 1AB 2345, at: 1s, path: [[960, 320]], speed: -4}]\n")
    result = run_ffsim("explain", bad)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(f"{bad}:7:") and "Traceback" not in result.stderr


def test_traffic_without_end_needs_until_and_a_bad_until_is_a_usage_error(tmp_path):
    endless = tmp_path / "endless.yaml"
    endless.write_text(HEAD + ZONE_DOWN + "traffic: [{zone: 1, rate: 60/h}]\n")
    result = run_ffsim("explain", endless)
    assert result.returncode == 1
    assert result.stderr == (f"ffsim: error: a traffic flow of {endless} has no `until`: give --until "
                             "(e.g. --until 10m)\n")
    assert run_ffsim("explain", endless, "--until", "1m").returncode == 0
    result = run_ffsim("explain", endless, "--until", "soon")
    assert result.returncode == 2 and "Invalid value for '--until'" in result.stderr


def test_faults_after_the_engine_are_named_as_left_out():
    result = run_ffsim("explain", ffsim.bundled("faults/duplicate"))
    assert result.returncode == 0
    assert result.stdout.splitlines()[0] == (
        "(the engine's events, restarts included; the faults duplicate act on the packets after it: see ffsim events)")


def test_pure_python_explains_the_same(tmp_path):
    """The trace is recorded by the compiled engine and by its plain Python source alike."""
    shutil.copytree(ROOT / "ffsim", tmp_path / "ffsim", ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
    args = ["explain", str(ROOT / "scenarios" / "faults" / "restart.yaml")]
    pure = subprocess.run([sys.executable, "-m", "ffsim", *args], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(tmp_path)}, check=True)
    assert pure.stdout == run_ffsim(*args).stdout


def test_the_direction_verdict_is_the_engine_s_even_at_right_angles():
    # a movement exactly across the arrow: the engine's test (movement . arrow > 0) says out,
    # whatever the rounding of the angles; explain says what the engine decided
    for direction in (1, 45, 90, 133, 359):
        zones = ("zones: [{id: 1, polygon: [[0, 0], [1920, 0], [1920, 1080], [0, 1080]], "
                 f"direction: {direction}}}]\n")
        rad = math.radians(direction + 90)
        x1, y1 = 960 + 300 * math.sin(rad), 540 - 300 * math.cos(rad)
        model = scenario(f"vehicles: [{{plate: 1AB 2345, at: 0s, path: [[960, 540], [{x1!r}, {y1!r}]], "
                         "speed: 300}]\n", zones)
        [update] = [ev for ev in explain(model)[0].events if ev.state == "update"]
        assert update.why.endswith(f": {update.direction}") or f": {update.direction};" in update.why


def test_passages_come_one_at_a_time_from_a_run_that_would_not_fit_in_memory():
    # 100 vehicles a second for ten years: only a lazy explain gives its first passage at all
    model = scenario("traffic: [{zone: 1, rate: 100/s, until: 87600h}]\n")
    first = next(iter_explain(model, until="87600h"))
    assert first.car_id == 1 and first.events[0].state == "new" and first.events[-1].state == "lost"
