"""The heartbeat: a JSON POST every period, with counts that match the events."""

import json

from ffsim.protocol import Camera
from ffsim.protocol.heartbeat import mac_with_colons
from ffsim.scenario import load_scenario

from .cli import ffsim
from .servers import WerkzeugReceiver

SCENARIO = """\
version: 1
seed: 4
start: 2026-11-24T08:00:00Z
camera: {device_id: GATE-9, model: AXIS P1447-LE, mac: ACCC8E000001, ip: 10.0.3.167, fps: 5}
zones: [{id: 1, polygon: [[0, 300], [1920, 300], [1920, 1080], [0, 1080]], direction: 180}]
traffic: [{zone: 1, rate: 600/h, until: 5m}]
profiles: [{id: 1, image: none, events: [new, lost]}]
heartbeat: {period: 1m, firmware: 11.1.72, anpr_version: 2.7.1, %s}
"""


def test_heartbeat_every_period_with_exact_counts(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO % "auth: {type: basic, user: cam, password: pw}")
    with WerkzeugReceiver() as rx:
        result = ffsim("run", path, "--http", rx.url, "--speed", "max", "--quiet", "--json", "--until", "5m")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    beats = [json.loads(r.body) for r in rx.requests if r.content_type == "application/json"]
    assert summary["profiles"]["heartbeat"]["sent"] == len(beats) == 6  # at 0, 1, ... 5 minutes
    assert all(r.authorization.username == "cam" for r in rx.requests if r.content_type == "application/json")
    scenario = load_scenario(path)
    news = [p.time_us for p in Camera(scenario, scenario.start_us).packets(300_000_000)
            if p.payload["carState"] == "new"]
    for minute, beat in enumerate(beats):
        t = minute * 60_000_000
        assert beat == {
            "system": {"timestamp": f"2026-11-24T08:0{minute}:00.000Z"},
            "identify": {"platform": "AXIS P1447-LE", "version": "11.1.72", "ipAddress": "10.0.3.167",
                         "macAddress": "AC:CC:8E:00:00:01", "osVersion": "11.1.72", "anprVersion": "2.7.1"},
            "ALPV": {"device_ID": "GATE-9", "version": "2.7.1", "numFrames": str(minute * 60 * 5 + 1),
                     "numFramesAvg": "5", "numberOfReads": str(sum(1 for n in news if n <= t))},
        }
    assert int(beats[-1]["ALPV"]["numberOfReads"]) > 30


def test_heartbeat_fields_are_selectable(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO % "fields: [system.timestamp, ALPV.numberOfReads]")
    scenario = load_scenario(path)
    sent = list(Camera(scenario, scenario.start_us).packets_and_heartbeats(60_000_000))
    beats = [p for p in sent if not hasattr(p, "profile")]
    reads = sum(1 for p in sent if hasattr(p, "profile") and p.payload["carState"] == "new")
    assert reads > 0  # the count below is the cars' News of the first minute, not a default
    assert [b.payload for b in beats] == [
        {"system": {"timestamp": "2026-11-24T08:00:00.000Z"}, "ALPV": {"numberOfReads": "0"}},
        {"system": {"timestamp": "2026-11-24T08:01:00.000Z"}, "ALPV": {"numberOfReads": str(reads)}}]


def test_mac_format():
    assert mac_with_colons("ACCC8E000001") == "AC:CC:8E:00:00:01"
    assert mac_with_colons("ac:cc:8e:00:00:01") == "AC:CC:8E:00:00:01"
