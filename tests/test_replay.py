"""`ffsim replay`: captures byte for byte, JSON lines with re-timing and renumbering."""

import json
import subprocess
import sys
import time
from pathlib import Path

from ffsim.receiver.server import Receiver

ROOT = Path(__file__).resolve().parents[1]
GATE = ROOT / "scenarios" / "parking-gate.yaml"


def ffsim(*args):
    return subprocess.run([sys.executable, "-m", "ffsim", *args], capture_output=True, text=True, timeout=300)


def test_a_capture_replayed_gives_the_same_packets(tmp_path):
    with Receiver(http="127.0.0.1:0", tcp="127.0.0.1:0", out=tmp_path / "a", speed=None) as first:
        assert ffsim("run", str(GATE), "--http", first.http_url + "gate.php", "--speed", "max", "--quiet").returncode == 0
        assert ffsim("run", str(ROOT / "scenarios" / "two-zones.yaml"), "--tcp", first.tcp_address, "--speed", "max",
                     "--quiet").returncode == 0
        time.sleep(0.3)
    with Receiver(http="127.0.0.1:0", tcp="127.0.0.1:0", out=tmp_path / "b", speed=None) as second:
        result = ffsim("replay", str(tmp_path / "a" / "capture.jsonl"), "--http", second.http_url,
                       "--tcp", second.tcp_address, "--speed", "max", "--quiet", "--json")
        time.sleep(0.3)
    assert result.returncode == 0, result.stderr
    for protocol in ("http", "tcp"):  # in order within each; the two run side by side
        assert ([r.payload for r in second.records if r.protocol == protocol]
                == [r.payload for r in first.records if r.protocol == protocol])
    assert len(second.records) == 12 + 8 and second.violations == []
    images = lambda folder: sorted(p.read_bytes() for p in (folder / "images").iterdir())
    assert images(tmp_path / "b") == images(tmp_path / "a")
    raw = lambda folder: [json.loads(l)["data"] for l in (folder / "capture.jsonl").read_text().splitlines()
                          if json.loads(l)["protocol"] == "http"]
    assert raw(tmp_path / "b") == raw(tmp_path / "a")  # the same bytes on the wire


def test_json_lines_from_events_with_now_renumber_and_device(tmp_path):
    lines = tmp_path / "events.jsonl"
    lines.write_text(ffsim("events", str(GATE), "--until", "10s").stdout)
    with Receiver(speed=None) as rx:
        before = int(time.time() * 1000)
        result = ffsim("replay", str(lines), "--http", rx.http_url, "--speed", "max", "--quiet", "--now",
                       "--renumber", "--device-id", "REPLAY-7", "--format", "json")
    assert result.returncode == 0, result.stderr
    original = [json.loads(l)["payload"] for l in lines.read_text().splitlines()]
    got = [r.payload for r in rx.records]
    assert len(got) == len(original) == 6 and rx.violations == []
    assert {p["sensorProviderID"] for p in got} == {"REPLAY-7"}
    assert [p["packetCounter"] for p in got] == [str(i) for i in range(1, 7)]
    assert abs(int(got[0]["capture_timestamp"]) - before) < 60_000
    shift = int(got[0]["capture_timestamp"]) - int(original[0]["capture_timestamp"])
    assert all(int(g["capture_timestamp"]) - int(o["capture_timestamp"]) == shift for g, o in zip(got, original))


def test_replay_scales_the_recorded_timing(tmp_path):
    lines = tmp_path / "events.jsonl"
    lines.write_text(ffsim("events", str(GATE), "--until", "10s").stdout)  # 2 s to 9 s of virtual time
    with Receiver(speed=None) as rx:
        t0 = time.monotonic()
        result = ffsim("replay", str(lines), "--http", rx.http_url, "--speed", "5", "--quiet")
        elapsed = time.monotonic() - t0
    assert result.returncode == 0, result.stderr
    assert elapsed >= 7 / 5  # the recorded 7 s, five times faster


def test_replay_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    result = ffsim("replay", str(bad), "--http", "http://127.0.0.1:9/x")
    assert result.returncode == 1 and result.stderr.strip().endswith("not JSON: Expecting value")
    assert "Traceback" not in result.stderr


def test_retime_keeps_the_cameras_local_time():
    from ffsim.replay import retime

    payload = {"capture_timestamp": "1718373876372", "capture_ts": "1718373876372000000",
               "frame_timestamp": "1718373876372442", "datetime": "20240614 170436372"}  # Prague, +2 h
    moved = retime(payload, 60_000)
    assert moved == {"capture_timestamp": "1718373936372", "capture_ts": "1718373936372000000",
                     "frame_timestamp": "1718373936372442", "datetime": "20240614 170536372"}
