"""Recorded traffic of one camera as a fleet: `ffsim load capture.jsonl --cameras N`."""

from __future__ import annotations

import json

from ffsim import Run, bundled, events
from ffsim.load.recorded import load_recording, rekeyed
from ffsim.load.run import LoadRun
from ffsim.receiver.server import Receiver

from .cli import ffsim
from .servers import wait_for

START_US = 1_760_000_000_000_000


def test_json_lines_become_cameras_of_their_own_in_recorded_order(tmp_path):
    source = tmp_path / "events.jsonl"
    source.write_text("".join(json.dumps({"payload": json.loads(p.json_bytes())}) + "\n"
                              for p in events(bundled("misread-corrected"), start=START_US)))
    recorded = [json.loads(line)["payload"] for line in source.read_text().splitlines()]
    with Receiver(http="127.0.0.1:0") as receiver:
        start = START_US + 3_600_000_000  # an hour later: the first capture moves there, the rest with it
        summary = LoadRun(load_recording(str(source), cameras=3), http=receiver.http_url + "e", speed="max",
                          start=start).play()
        wait_for(lambda: len(receiver.records) >= 3 * len(recorded), what="every event")
        by_camera: dict[str, list] = {}
        for record in receiver.records:
            by_camera.setdefault(record.payload["sensorProviderID"], []).append(record.payload)
    assert summary.ok and summary.total["delivered"] == 3 * len(recorded)
    assert sorted(by_camera) == ["CAMERA-001", "CAMERA-002", "CAMERA-003"]
    for payloads in by_camera.values():
        assert [p["packetCounter"] for p in payloads] == [p["packetCounter"] for p in recorded]
        shift = start // 1000 - int(recorded[0]["capture_timestamp"])
        assert [int(p["capture_timestamp"]) - int(r["capture_timestamp"]) for p, r in zip(payloads, recorded)] \
            == [shift] * len(recorded)
        assert [{**p, "sensorProviderID": "", "capture_timestamp": "", "capture_ts": "", "frame_timestamp": "",
                 "datetime": ""} for p in payloads] == \
               [{**r, "sensorProviderID": "", "capture_timestamp": "", "capture_ts": "", "frame_timestamp": "",
                 "datetime": ""} for r in recorded]


def test_a_capture_s_raw_requests_are_re_keyed_with_their_images(tmp_path):
    with Receiver(http="127.0.0.1:0", out=tmp_path / "first") as first:
        Run(bundled("misread-corrected"), http=first.http_url + "x", speed="max").play()
        sent = len(first.records)
    capture = tmp_path / "first" / "capture.jsonl"
    with Receiver(http="127.0.0.1:0") as receiver:
        result = ffsim("load", capture, "--cameras", "2", "--speed", "max", "-q", "--json",
                       "--http", receiver.http_url + "x")
        assert result.returncode == 0, result.stderr
        wait_for(lambda: len(receiver.records) >= 2 * sent, what="every request")
        records = list(receiver.records)
    assert sorted({r.payload["sensorProviderID"] for r in records}) == ["CAMERA-001", "CAMERA-002"]
    assert all(r.status == 200 and r.images and not r.violations for r in records)


def test_rekeying_fixes_the_content_length_and_escapes_the_new_id():
    body = b'--b\r\nContent-Type: application/json\r\n\r\n{"sensorProviderID": "OLD", "x": 1}\r\n--b--\r\n'
    request = b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    out = rekeyed(request, 'NEW"ID-0001')
    head, _, new_body = out.partition(b"\r\n\r\n")
    assert b'"sensorProviderID": "NEW\\"ID-0001"' in new_body
    assert f"Content-Length: {len(new_body)}".encode() in head
    assert rekeyed(b'{"sensorProviderID":"A"}\n', "B") == b'{"sensorProviderID":"B"}\n'  # raw TCP


def test_a_recording_with_nothing_to_replay_is_one_clear_line(tmp_path):
    source = tmp_path / "bad.jsonl"
    source.write_text("{not json\n")
    result = ffsim("load", source, "--speed", "max")
    assert result.returncode == 1
    assert result.stderr.startswith(f"ffsim: error: {source}:1: ") and "Traceback" not in result.stderr


def test_a_recording_of_several_cameras_is_refused_naming_them(tmp_path):
    source = tmp_path / "two.jsonl"
    lines = []
    for device in ("GATE-1", "GATE-2"):
        for packet in events(bundled("misread-corrected"), start=START_US):
            payload = json.loads(packet.json_bytes())
            payload["sensorProviderID"] = device
            lines.append(json.dumps({"payload": payload}))
    source.write_text("\n".join(lines) + "\n")
    result = ffsim("load", source, "--cameras", "2", "--speed", "max")
    assert result.returncode == 1 and "2 cameras (GATE-1, GATE-2)" in result.stderr, result.stderr
