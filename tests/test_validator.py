"""The FF-Events validator judges fairly: every shape a real camera sends (FF-EVENTS.md
section 10) passes, what a receiver started mid-traffic sees is a notice, and each real
problem, made on purpose, stays a violation."""

import json
import random
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from ffsim.receiver.validate import NOTICE, REORDER_PACKETS, VIOLATION, Validator, identify
from ffsim.vocabulary import GENERATIONS

from .field_payloads import (DROP, KEYS, OFFSET_H, T0, image_array_entry, jpeg, local, passage, payload,
                             wire)

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
SHAPES = ("2019", "2021-lpv", "2021-cammra", "2024-lpv", "2024-cammra", "documented")


def violations(found):
    return [f for f in found if f.severity == VIOLATION]


def notices(found):
    return [f for f in found if f.severity == NOTICE]


def play(v, events, sender="cam", rate=1.0, start_s=100.0):
    """Feed (payload, sender ms) pairs, arriving at sender time / rate; all findings."""
    t0 = events[0][1]
    out = []
    for p, sent_ms in events:
        raw = wire(p)
        out += v.check(json.loads(raw), sender, raw, None, start_s + (sent_ms - t0) / 1000 / rate)
    return out


# -- every field shape passes ---------------------------------------------------------------
@pytest.mark.parametrize("gen", SHAPES)
def test_each_generation_as_the_field_sends_it_has_no_violation(gen):
    """Counters in the millions, local datetime (+1, +3, +2, +05:45, UTC), jpg, percent
    confidences, no IPAddress, short vehicle_info, the 2019 17 keys, Reliable where it exists."""
    v = Validator(lost_timeout_s=5, speed=1.0)
    first = passage(gen, 412377, T0, 11890300, reliable=gen.startswith("2024"))
    events = first + passage(gen, 412378, T0 + 20_000, 11890300 + len(first))
    found = play(v, events)
    assert violations(found) == []
    assert notices(found) == []  # the whole passage was seen, counters run on: nothing to note
    assert [p for p, _ in events][0].keys() == set(KEYS[gen])
    assert all(identify(p) == gen for p, _ in events)
    (summary,) = v.sender_summary().values()
    assert summary["generation"] == gen and summary["generations"] == {gen: len(events)}
    hours = OFFSET_H[gen]
    expected = None if gen == "2019" else "%s%02d:%02d" % ("+", int(hours), round(hours % 1 * 60))
    assert summary["utc_offset"] == expected
    assert v.open_passages() == []


def test_field_variants_within_a_generation_pass():
    variants = [
        payload("2024-lpv", vehicle_info={"view": "front"}),  # a P1465-LE: view alone
        payload("2024-lpv", camera_info={"SerialNumber": "A", "ProdShortName": "B", "IPAddress": "10.0.0.2",
                                         "MACAddress": "AC:CC:8E:00:00:03"}),  # MAC with colons
        payload("2024-cammra", vehicle_info={"view": "front", "type": "CAR", "color": "RED", "brand": "Kia",
                                             "model": "Ceed", "confidenceMMR": "0.5", "confidenceColor": "1"}),
        payload("2024-lpv", imageFile="/var/spool/storage/SD_DISK/fflprapp/images/3/2024_1roi_A_1.jpg"),
        payload("2024-lpv", ImageArray=[image_array_entry(jpeg(), ""), image_array_entry(jpeg(), "plate"),
                                        image_array_entry(jpeg(), "vehicle", "jpeg")]),
        payload("2024-lpv", datetime=local(T0, 2) + "+0200"),  # the API doc's optional zone
        payload("2024-lpv", plateImageType="jpg"),
        payload("documented", plateImageSize=str(len(jpeg()))),
    ]
    for index, p in enumerate(variants):
        raw = wire(p)
        images = [("image/jpeg", jpeg())] if p["plateImageSize"] != "0" else None
        found = Validator().check(json.loads(raw), f"cam{index}", raw, images)
        assert violations(found) == [], (index, found)


@pytest.mark.parametrize("gen", GENERATIONS)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.name)
def test_ffsim_traffic_in_every_generation_has_no_violation(tmp_path, scenario, gen):
    from ffsim.protocol import Camera
    from ffsim.scenario import load_scenario

    data = yaml.safe_load(scenario.read_text())
    data.setdefault("camera", {})["firmware"] = gen
    path = tmp_path / scenario.name
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    model = load_scenario(path)
    v = Validator(speed=None)
    for packet in Camera(model, model.start_us).packets(120_000_000):
        raw = packet.payload.camera_json()
        images = [(a.content_type, a.data) for a in packet.payload.attachments]
        found = v.check(json.loads(raw), f"cam-{packet.profile}", raw, images)
        assert violations(found) == [], found
    assert all(s["generation"] == gen for s in v.sender_summary().values())


# -- a receiver started while cameras run ---------------------------------------------------
def test_started_mid_traffic_sees_notices_not_violations():
    v = Validator(speed=None)
    first = [
        payload("2024-lpv", "update", 11890300, 412370),  # a passage begun before we listened
        payload("2024-lpv", "lost", 11890301, 412369),  # and one that only ends
        payload("2024-lpv", "new", 11890302, 412371),
        payload("2024-lpv", "update", 11890303, 412371),
    ]
    found = [f for p in first for f in v.check(p, "cam")]
    assert violations(found) == []
    assert [f.rule for f in notices(found)] == ["lifecycle", "lifecycle"]
    assert "first seen as update; its New came before the receiver listened" in notices(found)[0].message
    # the passage that began after the receiver's first New must have shown its New
    late = v.check(payload("2024-lpv", "update", 11890304, 412372), "cam")
    assert [f.message for f in violations(late)] == [
        "carID 412372: first event is update, not new (carID 412371 had its New)"]
    # the receiver stops while the camera runs on: open passages are notices, not violations
    assert {f.severity for f in v.open_passages()} == {NOTICE}
    assert len(v.open_passages()) == 3  # 412370 (update), 412371, 412372


def test_an_open_passage_is_a_violation_only_when_its_sender_went_on_for_long():
    v = Validator(speed=None)
    v.check(payload("2024-lpv", "new", 1, 7), "cam")
    (finding,) = v.open_passages()  # the camera may still send its Lost: the receiver stopped first
    assert finding.severity == NOTICE and "had a New but no Lost (yet" in finding.message
    later = passage("2024-lpv", 8, T0 + 11 * 60_000, 2)
    assert play(v, later) == []
    (finding,) = v.open_passages()
    assert finding.severity == VIOLATION
    assert str(finding) == ("lifecycle: sender cam: profile 1 carID 7 had a New but no Lost, though the sender "
                            "went on for 11 min of its time after its last event")


def test_a_profile_without_new_events_is_noted_a_few_times_then_counted():
    v = Validator(speed=None)
    found = []
    for i in range(30):
        found += v.check(payload("2021-lpv", "lost", 500 + i, 9000 + i), "cam")
    assert violations(found) == []
    assert len(found) == 10 and "it may not send New" in found[-1].message


def test_a_duplicate_re_send_is_a_notice_another_payload_on_the_counter_is_a_violation():
    v = Validator(speed=None)
    new, update = payload("2024-lpv", "new", 5000, 1), payload("2024-lpv", "update", 5001, 1)
    assert v.check(new, "cam", wire(new)) == []
    assert v.check(update, "cam", wire(update)) == []
    again = v.check(update, "cam", wire(update))  # the camera timed out waiting and sent it again
    assert [(f.severity, f.rule) for f in again] == [(NOTICE, "duplicate")]
    after = payload("2024-lpv", "update", 5002, 1)
    assert v.check(after, "cam", wire(after)) == []  # counting goes on from the original
    other = payload("2024-lpv", "update", 5002, 1, plate="9ZZ9999")
    assert [f.message for f in v.check(other, "cam", wire(other))] == [
        "profile 1: packetCounter 5002 again, with another payload"]


def test_profile_absent_is_one_profile_and_a_restart_at_1_is_a_notice():
    v = Validator(speed=None)
    p = passage("2021-cammra", 300, T0, 900)
    assert play(v, p) == []
    restart = play(v, passage("2021-cammra", 1, T0 + 60_000, 1))
    assert [(f.severity, f.rule) for f in restart] == [(NOTICE, "counter")]
    assert "restarted" in restart[0].message


# -- real problems stay violations ------------------------------------------------------------
def swap(p, a, b):
    keys = list(p)
    i, j = keys.index(a), keys.index(b)
    keys[i], keys[j] = keys[j], keys[i]
    return {k: p[k] for k in keys}


BROKEN = [
    ("key order", lambda: swap(payload("2024-lpv"), "plateText", "plateUnicode"), "keys",
     "not in the order of a 2023-2024 payload"),
    ("2019 order", lambda: swap(payload("2019"), "cameraId", "plateConfidence"), "keys", "2019 payload"),
    ("missing", lambda: payload("2024-lpv", carID=DROP), "keys", "missing: carID"),
    ("unknown", lambda: payload("2024-lpv", extra="x"), "keys", "unknown: extra"),
    ("foreign key", lambda: payload("2021-lpv", cameraId="1"), "keys", "cameraId not in a 2021-lpv payload"),
    ("number not string", lambda: payload("2024-lpv", packetCounter=1), "type", "packetCounter must be a string"),
    ("geotag", lambda: payload("2024-lpv", geotag={"lat": "50"}), "type", "geotag"),
    ("box", lambda: payload("2024-lpv", plateCoordinates=[1, 2, 3]), "type", "plateCoordinates must be 4 integers"),
    ("camera_info", lambda: payload("2024-lpv", camera_info={"SerialNumber": "x"}), "keys", "camera_info misses"),
    ("mac", lambda: payload("2024-lpv", camera_info={"SerialNumber": "A", "ProdShortName": "B",
                                                      "MACAddress": "not-a-mac"}), "format", "MACAddress"),
    ("capture_ts", lambda: payload("2024-lpv", capture_ts="1"), "timestamps", "capture_ts"),
    ("datetime format", lambda: payload("2024-lpv", datetime="20261124 0800"), "timestamps", "datetime"),
    ("datetime no date", lambda: payload("2024-lpv", datetime="20241341 250000000"), "timestamps", "real"),
    ("offset not a quarter hour", lambda: payload("2024-lpv", offset_h=2.1), "timestamps",
     "not a time zone (a whole number of quarter hours"),
    ("datetime ms", lambda: payload("2024-lpv", datetime=local(T0 + 1, 2)), "timestamps", "+2:00:00.001"),
    ("offset out of range", lambda: payload("2024-lpv", offset_h=15), "timestamps", "-12 to +14 h"),
    ("zone suffix disagrees", lambda: payload("2024-lpv", datetime=local(T0, 2) + "+0300"), "timestamps",
     "says zone +03:00"),
    ("direction", lambda: payload("2024-lpv", carMoveDirection="left"), "vocabulary", "carMoveDirection"),
    ("state", lambda: payload("2024-lpv", carState="gone"), "vocabulary", "carState"),
    ("confidence", lambda: payload("2024-lpv", plateConfidence="0.9"), "format", "plateConfidence"),
    ("confidence above 1", lambda: payload("2024-lpv", plateConfidence="1.500000"), "format", "plateConfidence"),
    ("percent above 100", lambda: payload("2021-cammra", vehicle_info={"confidenceMMR": "250.5"}), "format",
     "confidenceMMR"),
    ("vehicle box", lambda: payload("2021-cammra", vehicle_info={"coordinates": [1, 2]}), "type", "coordinates"),
    ("frame far", lambda: payload("2024-lpv", frame_timestamp="12"), "timestamps", "frame_timestamp"),
    ("lost frame", lambda: payload("2024-lpv", "lost", frame_timestamp=str(T0 * 1000)), "timestamps",
     'a Lost has frame_timestamp "0"'),
    ("roi", lambda: payload("2024-lpv", roiID="3"), "vocabulary", "roiID"),
    ("new with direction", lambda: payload("2024-lpv", direction="in"), "lifecycle", "New with direction"),
    ("unicode digits", lambda: payload("2024-lpv", packetCounter="١٢"), "format", "packetCounter must be digits"),
    ("endless digits", lambda: payload("2024-lpv", carID="9" * 5000), "format", "carID must be digits"),
    ("image array", lambda: payload("2024-lpv", ImageArray=[{"ImageType": "", "ImageFormat": "jpg",
                                                              "BinaryImage": "!!"}]), "image", "not base64"),
    ("image array format", lambda: payload("2024-lpv", ImageArray=[image_array_entry(jpeg(fmt="PNG"))]), "image",
     "is PNG, ImageFormat says 'jpg'"),
]


@pytest.mark.parametrize("name, make, rule, words", BROKEN, ids=[b[0] for b in BROKEN])
def test_each_real_problem_is_a_violation(name, make, rule, words):
    p = make()
    found = violations(Validator().check(p, "cam", wire(p)))
    assert rule in {f.rule for f in found}, found
    assert any(words in f.message for f in found), found


def test_the_datetime_offset_stays_the_same():
    v = Validator(speed=None)
    assert v.check(payload("2024-lpv", counter=1, car=1, offset_h=2), "cam") == []
    changed = v.check(payload("2024-lpv", counter=2, car=2, offset_h=5.75), "cam")
    assert [(f.severity, f.message) for f in changed] == [
        (VIOLATION, "datetime is now UTC+05:45, was UTC+02:00: a sender's datetime keeps one offset")]
    # one hour, once: a daylight-saving change is legal
    v = Validator(speed=None)
    v.check(payload("2024-lpv", counter=1, car=1, offset_h=2), "cam")
    dst = v.check(payload("2024-lpv", counter=2, car=2, offset_h=3, ms=T0 + 3_600_000), "cam")
    assert [f.severity for f in dst] == [NOTICE] and "daylight-saving" in dst[0].message
    back = v.check(payload("2024-lpv", counter=3, car=3, offset_h=2, ms=T0 + 7_200_000), "cam")
    assert [f.severity for f in back] == [VIOLATION]  # and back within the day: not a clock change
    # senders are apart: two cameras in two zones
    assert v.check(payload("2024-lpv", counter=1, offset_h=-3.5), "other") == []


def test_plate_text_must_be_u_escaped_and_match_utf8():
    p = payload("2024-lpv")
    assert Validator().check(p, "cam", wire(p)) == []
    plain = wire(p).replace(b"\\u0031\\u0041\\u0042", b"1AB", 1)
    found = Validator().check(json.loads(plain), "cam", plain)
    assert [f.message for f in found] == ["plateText is not written as \\uXXXX escapes"]
    other = dict(p, plateUTF8="XXX")
    assert "does not match plateUTF8" in str(Validator().check(other, "cam", wire(p)))


def test_image_content_type_decoding_and_size():
    image = jpeg()
    for kind in ("jpeg", "jpg"):
        p = payload("2024-lpv", plateImageType=kind)
        assert Validator().check(p, "cam", images=[("image/jpeg", image)]) == []
    p = payload("2024-lpv")
    found = Validator().check(p, "cam", images=[("image/png", image)])
    assert [f.message for f in found] == ["image is 'image/png', plateImageType says 'jpeg'"]
    found = Validator().check(payload("documented", plateImageSize="999"), "cam",
                              images=[("image/jpeg", b"not a picture" * 10)])
    assert any("does not decode" in f.message for f in found)
    assert any("plateImageSize 999" in f.message for f in found)


def test_second_new_nothing_after_lost_and_one_reliable():
    v = Validator(speed=None)
    assert v.check(payload("2024-lpv", "new", 10, 1), "a") == [] and v.check(payload("2024-lpv", "new", 10, 1),
                                                                              "b") == []
    assert v.check(payload("2024-lpv", "update", 11, 1), "a") == []
    found = v.check(payload("2024-lpv", "new", 12, 1), "a")
    assert [(f.severity, f.message) for f in found] == [(VIOLATION, "carID 1: a second New")]
    v.check(payload("2024-lpv", "lost", 13, 1), "a")
    found = v.check(payload("2024-lpv", "update", 14, 1), "a")
    assert [(f.severity, f.message) for f in found] == [(VIOLATION, "carID 1: update after its Lost")]
    v.check(payload("2024-lpv", "reliable", 11, 1), "b")
    found = v.check(payload("2024-lpv", "reliable", 12, 1), "b")
    assert [f.message for f in found] == ["carID 1: a second Reliable (one per passage)"]


def test_a_counter_gap_no_late_packet_fills_is_one_violation():
    """A jump is a gap a late packet may fill (a reorder); unfilled after REORDER_PACKETS more
    packets of the profile it is one violation, and so is one still open at the end."""
    v = Validator(speed=None)
    assert v.check(payload("2024-lpv", "new", 10, 1), "a") == []
    assert v.check(payload("2024-lpv", "update", 13, 1), "a") == []  # 11-12 may come yet
    found = v.check(payload("2024-lpv", "new", 14, 1), "a")  # caused by the gap, maybe: a notice
    assert [(f.severity, f.message) for f in found] == [
        (NOTICE, "carID 1: a second New (out of order: packets 11-12 not yet received)")]
    found = []
    for counter in range(15, 15 + REORDER_PACKETS):
        found += v.check(payload("2024-lpv", "update", counter, 1), "a")
    assert [(f.severity, f.rule, f.message) for f in found] == [
        (VIOLATION, "counter", "profile 1: packets 11-12 never arrived")]
    assert v.check(payload("2024-lpv", "update", 100, 1), "a") == []
    assert [str(f) for f in v.open_passages() if f.rule == "counter"] == [
        "counter: sender a: profile 1: packets %d-99 never arrived" % (15 + REORDER_PACKETS)]


def test_not_an_object():
    assert [f.rule for f in Validator().check([1, 2], "s")] == ["json"]


def test_a_generation_change_within_one_sender_is_a_notice():
    v = Validator(speed=None)
    assert v.check(payload("2024-lpv", counter=1, car=1), "cam") == []
    found = v.check(payload("2021-lpv", counter=2, car=2, offset_h=2), "cam")
    assert [(f.severity, f.rule) for f in found] == [(NOTICE, "generation")]
    assert v.sender_summary()["cam"]["generations"] == {"2024-lpv": 1, "2021-lpv": 1}


# -- the Lost timing rule in the sender's time ----------------------------------------------
def traffic(gen="2024-lpv", passages=12, lost_after_ms=5200, gap_ms=15_000):
    events = []
    for i in range(passages):
        events += passage(gen, 1000 + i, T0 + i * gap_ms, 1 + 4 * i, lost_after_ms)
    return sorted(events, key=lambda e: e[1])  # the camera sends in time order


def renumber(events):
    return [(dict(p, packetCounter=str(i + 1)), t) for i, (p, t) in enumerate(events)]


def test_a_real_time_sender_sending_lost_1_s_after_its_last_event_is_caught():
    v = Validator(lost_timeout_s=5)
    found = play(v, renumber(traffic(lost_after_ms=1000)), rate=1.0)
    early = [f.message for f in violations(found)]
    assert early and all(m.endswith("Lost 1.0 s after its last event, before the 5 s lost timeout") for m in early)
    assert len(early) >= 10  # all but the Losts that came before the rate could be inferred
    summary = v.sender_summary()["cam"]
    assert summary["clock"] == "inferred" and abs(summary["clock_rate"] - 1) < 0.01


@pytest.mark.parametrize("rate", [1.0, 7.0, 50.0])
def test_a_sender_at_any_rate_with_proper_losts_passes_and_its_rate_shows(rate):
    jitter = random.Random(4)
    v = Validator(lost_timeout_s=5)
    events = renumber(traffic())
    t0 = events[0][1]
    found = []
    for p, sent_ms in events:  # arrival: sender time / rate plus up to 20 ms of network
        found += v.check(p, "cam", wire(p), None, (sent_ms - t0) / 1000 / rate + jitter.uniform(0, 0.02))
    assert violations(found) == []
    summary = v.sender_summary()["cam"]
    assert abs(summary["clock_rate"] - rate) / rate < 0.05, summary
    assert summary["lost_timing"]["status"] in ("checked", "partly checked") and summary["lost_timing"]["checked"]


def test_a_replay_at_50x_of_early_losts_is_still_caught():
    v = Validator(lost_timeout_s=5)
    found = play(v, renumber(traffic(lost_after_ms=1000)), rate=50.0)
    assert any("Lost 1.0 s after" in f.message for f in violations(found))


def test_a_sender_as_fast_as_it_can_is_not_timed_and_the_summary_says_why():
    v = Validator(lost_timeout_s=5)
    found = []
    for i, (p, _) in enumerate(renumber(traffic())):  # back to back, 5 ms apart, whatever the payload times
        found += v.check(p, "cam", None, None, i * 0.005)
    assert violations(found) == []
    timing = v.sender_summary()["cam"]["lost_timing"]
    assert timing["status"] == "skipped" and timing["checked"] == 0 and timing["reason"]
    given = Validator(lost_timeout_s=5, speed=None)
    play(given, renumber(traffic(lost_after_ms=1000)))
    assert "as fast as it can" in given.sender_summary()["cam"]["lost_timing"]["reason"]


def test_a_given_speed_is_used_as_the_rate():
    v = Validator(lost_timeout_s=5, speed=1.0)
    new, lost = payload("2024-lpv", "new", 1, 1), payload("2024-lpv", "lost", 2, 1)
    assert v.check(new, "s", arrival_s=0.0) == []
    found = v.check(lost, "s", arrival_s=0.5)
    assert [f.message for f in found] == ["carID 1: Lost 0.5 s after its last event, before the 5 s lost timeout"]
    assert v.sender_summary()["s"]["clock"] == "given"


# -- sans-I/O: the validator reads no clock; arrival times are the caller's ---------------------
CLOCKS = {"time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns", "process_time",
          "process_time_ns", "thread_time", "thread_time_ns", "clock_gettime", "clock_gettime_ns"}


@pytest.fixture
def no_clock(monkeypatch):
    """ffsim.receiver.validate's time module, without its clocks: reading one fails the test
    (converting a given time, time.gmtime(seconds), is no clock read and works)."""
    import time as real

    from ffsim.receiver import validate

    class NoClock:
        def __getattr__(self, name):
            if name in CLOCKS:
                raise AssertionError(f"the validator read the clock: time.{name}()")
            if name in ("gmtime", "localtime", "ctime", "asctime", "strftime"):
                def given_time_only(*args, _f=getattr(real, name), _n=name):
                    if len(args) < (2 if _n == "strftime" else 1):  # without a time: the clock's
                        raise AssertionError(f"the validator read the clock: time.{_n}() of now")
                    return _f(*args)
                return given_time_only
            return getattr(real, name)

    monkeypatch.setattr(validate, "time", NoClock())


def test_without_an_arrival_time_the_validator_reads_no_clock_and_leaves_the_lost_untimed(no_clock):
    """It was documented as sans-I/O but read time.monotonic() when no arrival time was given."""
    v = Validator(lost_timeout_s=5, speed=1.0)
    found = [f for p, _ in passage("2024-lpv", 7, T0, 1, lost_after_ms=1000) for f in v.check(p, "cam", wire(p))]
    assert violations(found) == []  # the early Lost cannot be timed without arrival times: not judged
    timing = v.sender_summary()["cam"]["lost_timing"]
    assert timing["status"] == "skipped" and timing["reason"] == "no arrival time given for the Lost"


def test_lost_timing_is_judged_on_the_arrival_times_given_and_only_on_them(no_clock):
    early = renumber(traffic(lost_after_ms=1000))
    first, again = Validator(lost_timeout_s=5), Validator(lost_timeout_s=5)
    found = play(first, early, rate=1.0)
    assert len(violations(found)) >= 10  # as when the clock was read: the early Losts are caught
    assert [str(f) for f in play(again, early, rate=1.0)] == [str(f) for f in found]  # same input, same findings
    # the same payloads arriving as a proper sender's would (the Lost 6 s after the last event): no finding
    v = Validator(lost_timeout_s=5, speed=1.0)
    new, lost = payload("2024-lpv", "new", 1, 1), payload("2024-lpv", "lost", 2, 1)
    assert v.check(new, "s", arrival_s=1000.0) == [] and v.check(lost, "s", arrival_s=1006.0) == []
    assert v.sender_summary()["s"]["lost_timing"]["status"] == "checked"


# -- hostile input, bounded memory ----------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)


@given(st.sampled_from(SHAPES), st.lists(st.tuples(st.sampled_from(sorted(set(KEYS["2024-lpv"]) | {"x"})),
                                                   json_values), max_size=6))
def test_any_value_anywhere_gets_findings_never_an_exception(gen, changes):
    p = payload(gen)
    for key, value in changes:
        p[key] = value
    v = Validator()
    for _ in range(2):
        found = v.check(p, "cam", json.dumps(p).encode(), [("image/jpeg", b"x")])
        assert all(f.severity in (VIOLATION, NOTICE) and f.message for f in found)
    v.open_passages()
    json.dumps(v.sender_summary())


def test_memory_is_bounded_and_what_is_forgotten_is_counted():
    v = Validator(speed=None, max_senders=5, max_passages=50)
    counter = 1
    for car in range(400):  # a long run: passages come and end
        for state in ("new", "update", "lost"):
            assert v.check(payload("2024-lpv", state, counter, car), "cam") == []
            counter += 1
    assert len(v.passages) == 50 and v.forgotten["ended passages"] == 350
    for i in range(20):  # hostile: a new device id per packet
        v.check(payload("2024-lpv", "new", 1, 1, device=f"d{i}"), f"cam|d{i}")
    assert len(v.senders) == 5 and v.forgotten["senders"] == 16
    for car in range(100):  # hostile: News that never end
        v.check(payload("2024-lpv", "new", 1 + car, 10_000 + car), "open")
    assert len(v.passages) == 50 and v.forgotten["open passages"] >= 50
    clock = v.senders["open"].clock
    assert len(clock.points) <= clock.POINTS
