"""`ffsim replay`: captures byte for byte, JSON lines with re-timing and renumbering."""

import base64
import json
import subprocess
import sys
import time
from pathlib import Path

from ffsim.receiver.server import Receiver
from tests.servers import RawRecorder, wait_for

ROOT = Path(__file__).resolve().parents[1]
GATE = ROOT / "scenarios" / "parking-gate.yaml"


def ffsim(*args):
    return subprocess.run([sys.executable, "-m", "ffsim", *args], capture_output=True, text=True, timeout=300)


def test_a_capture_replayed_gives_the_same_packets(tmp_path):
    with Receiver(http="127.0.0.1:0", tcp="127.0.0.1:0", out=tmp_path / "a", speed=None) as first:
        assert ffsim("run", str(GATE), "--http", first.http_url + "gate.php", "--speed", "max", "--quiet").returncode == 0
        assert ffsim("run", str(ROOT / "scenarios" / "two-zones.yaml"), "--tcp", first.tcp_address, "--speed", "max",
                     "--quiet").returncode == 0
        wait_for(lambda: len(first.records) == 12 + 8, what="the first receiver's 20 packets")
    with Receiver(http="127.0.0.1:0", tcp="127.0.0.1:0", out=tmp_path / "b", speed=None) as second:
        result = ffsim("replay", str(tmp_path / "a" / "capture.jsonl"), "--http", second.http_url,
                       "--tcp", second.tcp_address, "--speed", "max", "--quiet", "--json")
        wait_for(lambda: len(second.records) == 12 + 8, what="the replayed 20 packets")
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
    assert result.returncode == 1
    assert result.stderr.strip() == f"ffsim: error: {bad}:1: not JSON: Expecting value (column 1); nothing to replay"


def test_retime_keeps_the_cameras_local_time():
    from ffsim.replay import retime

    payload = {"capture_timestamp": "1718373876372", "capture_ts": "1718373876372000000",
               "frame_timestamp": "1718373876372442", "datetime": "20240614 170436372"}  # Prague, +2 h
    moved = retime(payload, 60_000)
    assert moved == {"capture_timestamp": "1718373936372", "capture_ts": "1718373936372000000",
                     "frame_timestamp": "1718373936372442", "datetime": "20240614 170536372"}


def test_retime_keeps_the_zone_written_in_datetime():
    from ffsim.replay import retime

    moved = retime({"capture_timestamp": "1718373876372", "datetime": "20240614 170436372+0200"}, 60_000)
    assert moved["datetime"] == "20240614 170536372+0200"


def test_retime_leaves_times_that_are_not_ascii_digits_or_would_leave_the_calendar():
    from ffsim.replay import retime

    odd = {"capture_timestamp": "\u00b2", "frame_timestamp": "\u0663", "datetime": "20240614 170436372"}
    assert retime(odd, 60_000) == odd  # "²".isdigit() holds, int("²") fails
    far = {"capture_timestamp": "253402300799000", "capture_ts": "1", "datetime": "99991231 235959000"}
    assert retime(far, 86_400_000) == far  # a day later is the year 10000


def _events(tmp_path, until="10s"):
    lines = tmp_path / "events.jsonl"
    lines.write_text(ffsim("events", str(GATE), "--until", until).stdout)
    return lines


def test_a_renamed_capture_of_http_and_tcp_replays(tmp_path):
    """What a file holds decides how it is replayed, never its name (it was: "capture*")."""
    events = _events(tmp_path)
    with Receiver(http="127.0.0.1:0", tcp="127.0.0.1:0", out=tmp_path / "a", speed=None) as first:
        for target in (("--http", first.http_url), ("--tcp", first.tcp_address)):
            assert ffsim("replay", str(events), *target, "--speed", "max", "-q").returncode == 0
        wait_for(lambda: len(first.records) == 12, what="the first receiver's 12 packets")
    renamed = tmp_path / "traffic.jsonl"
    (tmp_path / "a" / "capture.jsonl").rename(renamed)
    with Receiver(http="127.0.0.1:0", tcp="127.0.0.1:0", speed=None) as second:
        result = ffsim("replay", str(renamed), "--http", second.http_url, "--tcp", second.tcp_address,
                       "--speed", "max", "-q")
        wait_for(lambda: len(second.records) == 12, what="the replayed 12 packets")
    assert result.returncode == 0, result.stderr
    for protocol in ("http", "tcp"):
        assert ([r.payload for r in second.records if r.protocol == protocol]
                == [r.payload for r in first.records if r.protocol == protocol])


def test_payload_lines_still_take_one_target(tmp_path):
    result = ffsim("replay", str(_events(tmp_path)), "--http", "http://127.0.0.1:9/x", "--tcp", "127.0.0.1:9")
    assert result.returncode == 1
    assert result.stderr.strip() == "ffsim: error: this file holds payloads: give --http or --tcp, not both"


REQUEST = (b"POST /listener.php HTTP/1.1\r\nHost: camera\r\nAuthorization: ***\r\nX-Auth-Key: ***\r\n"
           b"Content-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"plate\": 1}\n")


def _redacted_capture(tmp_path, count=2):
    """capture.jsonl as the receiver stores it by default: credentials' values *** and named in "redacted"."""
    capture = tmp_path / "capture.jsonl"
    entry = {"t": 0.5, "protocol": "http", "peer": "127.0.0.1", "data": base64.b64encode(REQUEST).decode(),
             "redacted": ["authorization", "x-auth-key"]}
    plain = {"t": 0.6, "protocol": "http", "peer": "127.0.0.1",
             "data": base64.b64encode(REQUEST.replace(b"Authorization: ***\r\nX-Auth-Key: ***\r\n", b"")).decode()}
    capture.write_text("".join(json.dumps(entry) + "\n" for _ in range(count)) + json.dumps(plain) + "\n")
    return capture


def _head(request):
    return {k.lower(): v for k, v in request["headers"]}


def test_redacted_credentials_are_not_sent_as_stars(tmp_path):
    capture = _redacted_capture(tmp_path)
    with RawRecorder() as recorder:
        result = ffsim("replay", str(capture), "--http", recorder.url, "--speed", "max", "-q")
        wait_for(lambda: len(recorder.requests) == 3, what="three requests")
    assert result.returncode == 0, result.stderr
    for request in recorder.requests:
        assert b"***" not in request["head"]
        assert "authorization" not in _head(request) and "x-auth-key" not in _head(request)
        assert _head(request)["content-type"] == "application/json" and request["body"] == b'{"plate": 1}\n'
        assert request["request_line"] == "POST /listener.php HTTP/1.1"
    notes = [line for line in result.stderr.splitlines() if "redacted" in line]
    assert notes == ["ffsim: 2 recorded request(s) sent without their redacted credentials (authorization, x-auth-key: "
                     "the capture holds *** in their place); give --basic or --auth-header if the receiver needs "
                     "them, or capture with `ffsim receive --capture-secrets` to keep them"]


def test_the_users_credentials_go_with_every_recorded_request(tmp_path):
    capture = _redacted_capture(tmp_path)
    with RawRecorder() as recorder:
        result = ffsim("replay", str(capture), "--http", recorder.url, "--speed", "max", "-q",
                       "--basic", "cam:pa:ss", "--auth-header", "X-Auth-Key: s3cret")
        wait_for(lambda: len(recorder.requests) == 3, what="three requests")
    assert result.returncode == 0, result.stderr
    basic = "Basic " + base64.b64encode(b"cam:pa:ss").decode()
    for request in recorder.requests:
        assert b"***" not in request["head"]
        assert [(k, v) for k, v in request["headers"] if k.lower() in ("authorization", "x-auth-key")] == [
            ("Authorization", basic), ("X-Auth-Key", "s3cret")]
        assert request["body"] == b'{"plate": 1}\n'
    assert "redacted" not in result.stderr and "s3cret" not in result.stderr + result.stdout


def test_a_capture_replays_to_a_receiver_that_needs_auth(tmp_path):
    """The first receiver stores the credentials redacted (or, before redaction, in clear): the
    user's --basic replaces them, for payloads and recorded requests alike."""
    events = _events(tmp_path)
    with Receiver(out=tmp_path / "a", speed=None, basic=("cam", "pw")) as first:
        refused = ffsim("replay", str(events), "--http", first.http_url, "--speed", "max", "-q", "--drain", "1s")
        assert refused.returncode == 1  # 401: the receiver needs them
        accepted = ffsim("replay", str(events), "--http", first.http_url, "--speed", "max", "-q", "--basic", "cam:pw")
        assert accepted.returncode == 0, accepted.stderr
        wait_for(lambda: sum(r.status == 200 for r in first.records) == 6, what="six accepted packets")
    capture = tmp_path / "a" / "capture.jsonl"
    with Receiver(speed=None, basic=("cam", "other")) as second:
        result = ffsim("replay", str(capture), "--http", second.http_url, "--speed", "max", "-q",
                       "--basic", "cam:other")
        wait_for(lambda: len(second.records) == 6, what="six replayed packets")
    assert result.returncode == 0, result.stderr
    assert [r.status for r in second.records] == [200] * 6
    assert [r.payload for r in second.records] == [r.payload for r in first.records if r.status == 200]


def test_credentials_with_a_line_break_are_refused_without_showing_them(tmp_path):
    events = _events(tmp_path)
    for option, value in (("--auth-header", "X-Auth-Key: s3cret\r\nX-Evil: 1"), ("--basic", "cam:s3cret\n"),
                          ("--basic", "no-colon-s3cret"), ("--auth-header", "Bad Name:s3cret")):
        result = ffsim("replay", str(events), "--http", "http://127.0.0.1:9/x", option, value)
        assert result.returncode == 2 and f"Invalid value for {option}: " in result.stderr, result.stderr
        assert "s3cret" not in result.stderr and "Traceback" not in result.stderr
