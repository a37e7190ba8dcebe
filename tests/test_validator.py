"""The FF-Events validator: ffsim's own traffic passes; each rule, broken on purpose, is caught."""

import json
from pathlib import Path

import pytest

from ffsim.protocol import Camera
from ffsim.receiver.validate import Validator
from ffsim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def traffic(name="misread-corrected.yaml", until_us=None):
    scenario = load_scenario(ROOT / "scenarios" / name)
    return list(Camera(scenario, scenario.start_us).packets(until_us))


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.name)
def test_ffsim_traffic_has_no_violations(scenario):
    validator = Validator(speed=None)
    for packet in traffic(scenario.name, 600_000_000):
        raw = packet.payload.camera_json()
        images = [(a.content_type, a.data) for a in packet.payload.attachments]
        assert validator.check(json.loads(raw), "cam", raw, images) == []
    if scenario.name != "busy-road.yaml":
        assert validator.open_passages() == []


def first_payload():
    packet = traffic()[0]
    return packet.payload.as_dict(), packet


def rules(violations):
    return {v.rule for v in violations}


@pytest.mark.parametrize(
    "change, rule, words",
    [
        (lambda p: p.pop("carID"), "keys", "missing: carID"),
        (lambda p: p.update(extra="x"), "keys", "unknown: extra"),
        (lambda p: p.update(packetCounter=1), "type", "packetCounter must be a string"),
        (lambda p: p.update(geotag={"lat": "50"}), "type", "geotag"),
        (lambda p: p.update(plateCoordinates=[1, 2, 3]), "type", "plateCoordinates must be 4 integers"),
        (lambda p: p.update(camera_info={"SerialNumber": "x"}), "keys", "camera_info misses"),
        (lambda p: p.update(capture_ts="1"), "timestamps", "capture_ts"),
        (lambda p: p.update(datetime="20261124 0800"), "timestamps", "datetime"),
        (lambda p: p.update(carMoveDirection="left"), "vocabulary", "carMoveDirection"),
        (lambda p: p.update(carState="gone"), "vocabulary", "carState"),
        (lambda p: p.update(plateConfidence="0.9"), "format", "plateConfidence"),
        (lambda p: p.update(frame_timestamp="12"), "timestamps", "frame_timestamp"),
        (lambda p: p.update(roiID="3"), "vocabulary", "roiID"),
    ],
)
def test_each_field_rule(change, rule, words):
    payload, _ = first_payload()
    change(payload)
    found = Validator().check(payload, "cam")
    assert rule in rules(found), found
    assert any(words in v.message for v in found), found


def test_plate_text_must_be_u_escaped_and_match_utf8():
    payload, packet = first_payload()
    raw = packet.payload.camera_json()
    assert Validator().check(payload, "cam", raw) == []
    plain = raw.replace(b'"plateText": "\\u0035\\u0053', b'"plateText": "5S', 1)
    found = Validator().check(json.loads(plain), "cam", plain)
    assert [v.message for v in found] == ["plateText is not written as \\uXXXX escapes"]
    other = dict(payload, plateUTF8="XXX")
    assert "does not match plateUTF8" in str(Validator().check(other, "cam", raw))


def test_image_content_type_decoding_and_size():
    path = ROOT / "scenarios" / "parking-gate.yaml"
    scenario = load_scenario(path)
    packet = next(iter(Camera(scenario, scenario.start_us).packets()))
    payload = packet.payload.as_dict()
    image = packet.payload.attachments[0].data
    assert Validator().check(payload, "cam", images=[("image/jpeg", image)]) == []
    found = Validator().check(payload, "cam", images=[("image/png", image)])
    assert [v.message for v in found] == ["image is 'image/png', plateImageType says 'jpeg'"]
    found = Validator().check(payload, "cam", images=[("image/jpeg", b"not a picture" * 10)])
    assert any("does not decode" in v.message for v in found)
    assert any("plateImageSize" in v.message for v in found)


def test_packet_counter_continuity_per_sender_and_profile():
    packets = [p.payload.as_dict() for p in traffic()]
    v = Validator(speed=None)
    assert v.check(packets[0], "a") == [] and v.check(packets[0], "b") == []  # senders are apart
    found = v.check(packets[2], "a")
    assert [x.message for x in found] == ["profile 1: packetCounter 3 after 1"]


def test_lifecycle():
    new, update_dir, update_text, lost = [p.payload.as_dict() for p in traffic()]
    v = Validator(speed=None)
    assert rules(v.check(update_dir, "s")) == {"lifecycle"}  # an Update with no New first
    v = Validator(speed=None)
    assert v.check(new, "s") == [] and v.check(lost, "s") != []  # counter gap only
    assert rules(v.check(dict(update_text, packetCounter="4"), "s")) == {"counter", "lifecycle"}
    v = Validator(speed=None)
    v.check(new, "s")
    found = v.check(dict(new, packetCounter="2"), "s")
    assert [x.message for x in found] == ["carID 1: a second New"]
    v = Validator(speed=None)
    v.check(dict(new, carMoveDirection="in"), "s")
    assert v.open_passages()[0].message == "sender s: profile 1 carID 1 had a New but no Lost"
    assert rules(Validator(speed=None).check(dict(new, carMoveDirection="in"), "t")) == {"lifecycle"}


def test_nothing_after_lost_and_lost_timing():
    new, update_dir, update_text, lost = [p.payload.as_dict() for p in traffic()]
    v = Validator(lost_timeout_s=5, speed=1)
    assert v.check(new, "s", arrival_s=0.0) == []
    assert v.check(update_dir, "s", arrival_s=0.3) == []
    assert v.check(update_text, "s", arrival_s=0.7) == []
    early = v.check(lost, "s", arrival_s=2.0)
    assert [x.message for x in early] == ["carID 1: Lost 1.3 s after its last event, before the 5 s lost timeout"]
    after = v.check(dict(update_text, packetCounter="5"), "s", arrival_s=9.0)
    assert [x.message for x in after] == ["carID 1: update after its Lost"]
    fast = Validator(lost_timeout_s=5, speed=10)
    for p, t in ((new, 0.0), (update_dir, 0.03), (update_text, 0.07), (lost, 0.6)):
        assert fast.check(p, "s", arrival_s=t) == []  # 0.53 s at ten times real time is 5.3 s


def test_not_an_object():
    assert rules(Validator().check([1, 2], "s")) == {"json"}
