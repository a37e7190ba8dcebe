"""Clock faults: the camera writes its own clock's time; it sends when it always did.

Every timestamp the camera writes (capture_timestamp, frame_timestamp, capture_ts, datetime,
the image names, the heartbeat's system.timestamp) must be the no-fault run's plus the clock's
offset at the capture, exactly; nothing else in a payload, and no send time, may change.
"""

import json
import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from ffsim import scenario_from_text
from ffsim.faults.clock import CameraClock
from ffsim.protocol import Camera, HeartbeatPacket, Packet

S = 1_000_000
UNTIL = 100 * S

BASE = """\
version: 1
seed: 5
start: 2026-11-24T08:00:00Z
camera: {fps: 10%s}
zones: [{id: 1, polygon: [[0, 300], [1920, 300], [1920, 1080], [0, 1080]], direction: 180}]
traffic: [{zone: 1, rate: 1200/h, until: 90s}]
profiles: [{id: 1, image: vehicle, second_image: true}, {id: 2, protocol: tcp, events: [new, reliable, lost]}]
heartbeat: {period: 15s}
"""
STAMPS = ("capture_timestamp", "frame_timestamp", "capture_ts", "datetime")
NAMES = re.compile(r"(\d{8})(\d{6})_(\d+)")


def run(text: str) -> tuple[list, Camera]:
    scenario = scenario_from_text(text)
    camera = Camera(scenario, scenario.start_us)
    return list(camera.packets_and_heartbeats(UNTIL)), camera


def written(epoch_us: int, lost: bool, zone: str) -> dict:
    """The timestamps of a payload whose capture the camera's clock reads as epoch_us."""
    ms = epoch_us // 1000
    local = datetime.fromtimestamp(ms // 1000, ZoneInfo(zone))
    return {"capture_timestamp": str(ms), "frame_timestamp": "0" if lost else str(epoch_us),
            "capture_ts": "%d000000" % ms, "datetime": local.strftime("%Y%m%d %H%M%S") + "%03d" % (ms % 1000)}


def shifted(name: str, offset_us: int, zone_from: str, zone_to: str) -> str:
    """An image name, its time moved by offset_us and written in zone_to."""
    m = NAMES.search(name)
    assert m is not None, name
    local = datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H%M%S").replace(tzinfo=ZoneInfo(zone_from))
    moment = local + timedelta(microseconds=int(m.group(3)) + offset_us)
    moved = moment.astimezone(ZoneInfo(zone_to))
    return name[:m.start()] + moved.strftime("%Y%m%d%H%M%S") + "_%d" % moment.microsecond + name[m.end():]


def names(p: Packet) -> list[tuple[str, str]]:
    """(name, which shot: plate | vehicle) of every image name a packet shows."""
    body = json.loads(p.json_bytes())
    out = []
    if "imagesURI" in body:
        out += [(body["imagesURI"][0], "plate"), (body["imagesURI"][1], "vehicle")]
    out += [(body[key], shot) for key, shot in (("imageFile", "vehicle"), ("imageFile2", "plate")) if key in body]
    kinds = {"image": "vehicle", "image2": "plate"}
    out += [(a.filename, kinds[a.field]) for a in p.payload.attachments]
    return out


def without(body: dict, keys) -> dict:
    return {k: v for k, v in body.items() if k not in keys and k not in ("imagesURI", "imageFile", "imageFile2")}


def compare(plain: list, faulted: list, clock: CameraClock, camera: Camera, zone: str = "UTC",
            names_zone: str | None = None) -> int:
    """Check every packet of the faulted run against the plain run's; the number changed."""
    assert [(type(p), p.time_us, getattr(p, "profile", None)) for p in plain] == [
        (type(p), p.time_us, getattr(p, "profile", None)) for p in faulted]  # what and when: unchanged
    frames_us = camera.frames_us
    changed = 0
    for a, b in zip(plain, faulted):
        if isinstance(a, HeartbeatPacket):
            off = clock.offset_us(a.time_us)
            moment = datetime.fromtimestamp((camera.start_us + a.time_us + off) / S, timezone.utc)
            assert b.payload["system"]["timestamp"] == moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (
                (camera.start_us + a.time_us + off) // 1000 % 1000)
            assert without(a.payload, ("system",)) == without(b.payload, ("system",))
            assert a.epoch_ms == b.epoch_ms
            continue
        ev = a.event
        lost = ev.state == "lost"
        true_us = frames_us + ev.capture_us
        off = clock.offset_us(ev.capture_us)
        here = clock.zone_at(ev.capture_us) or "UTC"
        before, after = json.loads(a.json_bytes()), json.loads(b.json_bytes())
        assert {k: before[k] for k in STAMPS} == written(true_us, lost, "UTC")  # the formula is today's
        assert {k: after[k] for k in STAMPS} == written(true_us + off, lost, here)
        assert without(before, STAMPS) == without(after, STAMPS)
        to_zone = (names_zone and clock.zone_at(ev.capture_us)) or "UTC"
        assert len(names(a)) == len(names(b))
        for (name, shot), (moved, _) in zip(names(a), names(b)):
            capture = (ev.plate_shot if shot == "plate" else ev.vehicle_shot)[0]
            assert moved == shifted(name, clock.offset_us(capture), "UTC", to_zone)
        changed += before != after
        assert a.epoch_ms == b.epoch_ms
    return changed


JUMPS = """\
faults:
  - {type: clock_jump, name: ntp step, at: 30s, by: +1h}
  - {type: clock_drift, ppm: 20000, during: [10s, 50s]}
  - {type: clock_jump, at: 60s, by: -30s}
"""


def test_jumps_and_drift_shift_every_timestamp_exactly():
    plain, camera = run(BASE % "")
    faulted, _ = run(BASE % "" + JUMPS)
    clock = CameraClock(scenario_from_text(BASE % "" + JUMPS).faults)
    assert compare(plain, faulted, clock, camera) > 20
    # the labels: the faults that moved the packet's capture time, each with its own share (a list when
    # several did)
    for p in faulted:
        t = p.time_us if isinstance(p, HeartbeatPacket) else p.event.capture_us
        expected = []
        if t >= 30 * S:
            expected.append({"type": "clock_jump", "name": "ntp step", "offset_ms": 3_600_000})
        gained = int(20000 * (min(t, 50 * S) - 10 * S) / 1e6) if t > 10 * S else 0
        if gained:
            expected.append({"type": "clock_drift", "name": "clock_drift",
                             "offset_ms": gained // 1000 if gained % 1000 == 0 else gained / 1000})
        if t >= 60 * S:
            expected.append({"type": "clock_jump", "name": "clock_jump", "offset_ms": -30_000})
        label = None if not expected else expected[0] if len(expected) == 1 else expected
        assert p.fault == label, (t, p.fault)


def test_a_wrong_timezone_changes_datetime_and_local_names_only():
    text = BASE % "" + "faults: [{type: wrong_timezone, timezone: Europe/Kyiv, during: [20s, 70s]}]\n"
    plain, camera = run(BASE % "")
    faulted, _ = run(text)
    clock = CameraClock(scenario_from_text(text).faults)
    assert clock.offset_us(30 * S) == 0 and clock.zone_at(30 * S) == "Europe/Kyiv" and clock.zone_at(70 * S) is None
    assert compare(plain, faulted, clock, camera, names_zone="local") > 10
    label = {"type": "wrong_timezone", "name": "wrong_timezone", "timezone": "Europe/Kyiv"}
    assert {json.dumps(p.fault) for p in faulted if isinstance(p, Packet) and 20 * S <= p.event.capture_us < 70 * S} \
        == {json.dumps(label)}
    assert all(p.fault is None for p in faulted if isinstance(p, HeartbeatPacket))  # its timestamp is UTC
    # a firmware that names its images in UTC: the names stay, the datetime moves
    old = (BASE % ", firmware: 2021-lpv").replace("new, reliable, lost", "new, lost")
    plain, camera = run(old)
    text = old + "faults: [{type: wrong_timezone, timezone: Europe/Kyiv}]\n"
    faulted, _ = run(text)
    assert compare(plain, faulted, CameraClock(scenario_from_text(text).faults), camera) > 10


def test_clock_faults_and_a_restart_label_the_same_packet():
    text = BASE % "" + """\
faults:
  - {type: clock_jump, at: 5s, by: -2s}
  - {type: restart, at: 40s, down: 5s}
"""
    faulted, _ = run(text)
    first = [p for p in faulted if isinstance(p, Packet) and p.time_us >= 45 * S and p.profile == 1][0]
    assert first.fault == [{"type": "restart", "name": "restart", "down_ms": 5000},
                           {"type": "clock_jump", "name": "clock_jump", "offset_ms": -2000}]
    beat = [p for p in faulted if isinstance(p, HeartbeatPacket) and p.time_us == 45 * S][0]
    assert beat.fault == first.fault
    assert beat.payload["system"]["timestamp"] == "2026-11-24T08:00:43.000Z"


def test_the_camera_clock():
    faults = scenario_from_text(BASE % "" + """\
faults:
  - {type: clock_jump, at: 10s, by: +1h}
  - {type: clock_jump, at: 20s, by: -30s}
  - {type: clock_drift, ppm: -500}
  - {type: clock_drift, ppm: 100, during: [1s, 3s]}
  - {type: wrong_timezone, timezone: Europe/Kyiv}
  - {type: wrong_timezone, timezone: America/New_York, during: [5s, 6s]}
""").faults
    clock = CameraClock(faults)
    assert clock.offset_us(0) == 0
    assert clock.offset_us(2 * S) == -1000 + 100
    assert clock.offset_us(10 * S) == 3_600_000_000 - 5000 + 200
    assert clock.offset_us(40 * S) == 3_570_000_000 - 20000 + 200
    assert clock.zone_at(0) == "Europe/Kyiv" and clock.zone_at(5 * S) == "America/New_York"
    assert clock.zone_at(6 * S) == "Europe/Kyiv"
    assert [label["type"] for label in clock.labels(5 * S)] == [
        "clock_drift", "clock_drift", "wrong_timezone", "wrong_timezone"]
    assert [label["type"] for label in clock.labels(5 * S, zones=False)] == ["clock_drift", "clock_drift"]
    assert not CameraClock(()) and clock


@pytest.mark.parametrize("fault", ["{type: clock_jump, at: 1s, by: +1h}", "{type: clock_drift, ppm: 50}"])
def test_the_same_clock_fault_gives_the_same_bytes(fault):
    text = BASE % "" + f"faults: [{fault}]\n"
    first, _ = run(text)
    again, _ = run(text)
    assert [(p.time_us, p.json_bytes(), p.fault) for p in first] == [(p.time_us, p.json_bytes(), p.fault)
                                                                      for p in again]
