"""The built-in receiver: round trips with ffsim run, hostile input, safe storage."""

import json
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ffsim.protocol import Camera
from ffsim.receiver.server import Receiver, safe_name

from ffsim.scenario import load_scenario

from .field_payloads import T0, image_array_entry, jpeg, passage, payload, wire
from .servers import free_port, wait_for, wait_for_port

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def run(path, *args):
    return subprocess.run([sys.executable, "-m", "ffsim", "run", str(path), "--speed", "max", "--quiet", *args],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("protocol", ["http", "tcp"])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda p: p.name)
def test_round_trip_has_no_violations_and_stores_what_events_print(tmp_path, scenario, protocol):
    until = ["--until", "10m"] if scenario.name == "busy-road.yaml" else []
    with Receiver(http="127.0.0.1:0", tcp="127.0.0.1:0", out=tmp_path, speed=None) as rx:
        target = ["--http", rx.http_url + "listener.php"] if protocol == "http" else ["--tcp", rx.tcp_address]
        result = run(scenario, *target, *until)
        assert result.returncode == 0, result.stderr
        # what ffsim events prints for the scenario as this run retargeted it
        scenario_model = load_scenario(scenario).retargeted(rx.http_url if protocol == "http" else None,
                                                            rx.tcp_address if protocol == "tcp" else None)
        until_us = 600_000_000 if until else None
        expected = [p.payload.as_dict() for p in Camera(scenario_model, scenario_model.start_us).packets(until_us)]
        rx.wait(len(expected), timeout=20, raise_on_timeout=True)  # TCP: the last reads may still be checked
    assert rx.violations == [], rx.violations[:5]
    assert [r.payload for r in rx.records] == expected
    stored = [json.loads(line) for line in (tmp_path / "packets.jsonl").read_text().splitlines()]
    assert [s["payload"] for s in stored] == [r.payload for r in rx.records]
    assert (tmp_path / "capture.jsonl").exists()


def post(url, body, content_type, headers=None):
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type, **(headers or {})})
    try:
        return urllib.request.urlopen(request, timeout=10).status
    except urllib.error.HTTPError as exc:
        return exc.code


def good_packet():
    scenario = load_scenario(ROOT / "scenarios" / "misread-corrected.yaml")
    return next(iter(Camera(scenario, scenario.start_us).packets())).payload.camera_json()


def test_hostile_http_input_gets_an_error_and_a_violation_never_a_crash(tmp_path):
    with Receiver(out=tmp_path, max_body=1 << 20) as rx:
        url = rx.http_url + "in"
        assert post(url, b"{not json", "application/json") == 400
        truncated = b"--XyZ\r\nContent-Disposition: form-data; name=\"event\"; filename=\"e.json\"\r\n\r\n{\"a\""
        assert post(url, truncated, "multipart/form-data; boundary=XyZ") == 400
        assert post(url, b"hello", "text/plain") == 415
        # JSON all the same: stored, with what is wrong with it
        assert post(url, b"[" * 100_000 + b"]" * 100_000, "application/json") == 200  # a JSON bomb
        assert post(url, b'{"packetCounter": 1%s}' % (b"0" * 5000), "application/json") == 200
        assert post(url, b'{"plateText": "\\ud800"}', "application/json") == 200  # JSON, if no payload
        host, port = rx.http_url.split("//")[1].rstrip("/").split(":")
        with socket.create_connection((host, int(port))) as s:  # a 10 GB claim
            s.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 10000000000\r\n\r\n" + b"{" * 2_000_000)
            answer = s.recv(100)
        assert answer.startswith(b"HTTP/1.1 413")
        assert post(url, good_packet(), "application/json") == 200  # still alive, nothing lost
    violations = "\n".join(rx.violations)
    assert "json: not JSON at line 1 column 2 (character 1)" in violations
    assert "json: nested more than 512 levels deep at line 1 column 513" in violations
    assert "json: an integer of 5001 digits, more than 4300: kept as its text" in violations
    assert "multipart: no part named event" in violations or "multipart: cannot parse" in violations
    assert "neither multipart/form-data nor application/json" in violations
    assert "limit: body over" in violations
    assert rx.records[-1].payload["plateUTF8"] == "5SX22B7" and rx.records[-1].violations == []
    assert len((tmp_path / "packets.jsonl").read_text().splitlines()) == len(rx.records)


def test_hostile_tcp_input(tmp_path):
    with Receiver(http=None, tcp="127.0.0.1:0", out=tmp_path) as rx:
        host, port = rx.tcp_address.split(":")
        with socket.create_connection((host, int(port))) as s:
            s.sendall(b"\x00\xff\xfe binary")
        with socket.create_connection((host, int(port))) as s:
            s.sendall(good_packet()[:100])  # closes inside a document
        with socket.create_connection((host, int(port))) as s:
            packet = good_packet()
            s.sendall(packet[:50])
            wait_for(lambda: (tmp_path / "capture.jsonl").exists()
                     and len((tmp_path / "capture.jsonl").read_text().splitlines()) == 3, what="the first piece read")
            s.sendall(packet[50:])  # one document in two pieces
        rx.wait(3, timeout=20, raise_on_timeout=True)
    violations = "\n".join(rx.violations)
    assert "tcp: 10 byte(s) between documents that start none; skipped" in violations
    assert "tcp: the connection closed inside a JSON document (100 bytes)" in violations
    assert rx.records[-1].payload is not None and rx.records[-1].violations == []


def test_json_bombs_over_tcp_are_recorded_not_raised(tmp_path):
    with Receiver(http=None, tcp="127.0.0.1:0", out=tmp_path) as rx:
        host, port = rx.tcp_address.split(":")
        for bomb in (b"[" * 200_000 + b"]" * 200_000, b'{"carID": 1%s}' % (b"0" * 5000)):
            with socket.create_connection((host, int(port))) as s:
                s.sendall(bomb)
        rx.wait(2, timeout=20, raise_on_timeout=True)
    violations = "\n".join(rx.violations)
    assert "json: nested more than 512 levels deep at line 1 column 513" in violations
    assert "json: an integer of 5001 digits, more than 4300: kept as its text" in violations


def test_stored_files_are_owner_only_and_hold_no_credentials(tmp_path):
    out = tmp_path / "out"
    with Receiver(out=out, basic=("cam", "TopSecret99"), auth_header=("X-Site-Key", "k3y")) as rx:
        request = urllib.request.Request(rx.http_url + "listener.php", data=good_packet(), headers={
            "Content-Type": "application/json", "Authorization": "Basic Y2FtOlRvcFNlY3JldDk5",
            "X-Site-Key": "k3y"})
        assert urllib.request.urlopen(request, timeout=10).status == 200
    assert rx.violations == []
    stored = (out / "packets.jsonl").read_text()
    assert "Y2FtOlRvcFNlY3JldDk5" not in stored and "k3y" not in stored
    headers = dict(json.loads(stored)["headers"])
    assert headers["Authorization"] == headers["X-Site-Key"] == "***"
    for path in (out, out / "images"):
        assert path.stat().st_mode & 0o777 == 0o700
    for path in (out / "packets.jsonl", out / "capture.jsonl"):
        assert path.stat().st_mode & 0o777 == 0o600


def test_a_path_traversal_filename_stays_inside_out(tmp_path):
    out = tmp_path / "out"
    body = (b"--B\r\nContent-Disposition: form-data; name=\"event\"; filename=\"e.json\"\r\n"
            b"Content-Type: application/json\r\n\r\n" + good_packet() + b"\r\n"
            b"--B\r\nContent-Disposition: form-data; name=\"image\"; filename=\"../../../etc/evil.jpg\"\r\n"
            b"Content-Type: image/jpeg\r\n\r\nnot really\r\n--B--\r\n")
    with Receiver(out=out) as rx:
        assert post(rx.http_url + "x", body, "multipart/form-data; boundary=B") == 200
    (stored,) = rx.records[0].images
    assert (out / "images" / stored).is_file() and "/" not in stored and ".." not in stored
    assert not (tmp_path / "etc").exists()
    assert [p for p in tmp_path.rglob("*evil*")] == [out / "images" / stored]
    assert safe_name("..\\..\\x.jpg", "f") == "x.jpg" and safe_name("...", "f") == "f"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400), st.sampled_from(["application/json", "multipart/form-data; boundary=B",
                                                 "multipart/form-data", "text/plain"]))
def test_fuzzed_http_never_crashes_the_receiver(tmp_path, body, content_type):
    import tempfile

    with Receiver(out=tempfile.mkdtemp(dir=tmp_path)) as rx:
        status = post(rx.http_url + "f", body, content_type)
        assert status in (200, 400, 413, 415)
        assert post(rx.http_url + "f", good_packet(), "application/json") == 200


def test_ffsim_receive_command(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "ffsim", "receive", "--http", f"127.0.0.1:{port}", "--out",
                             str(tmp_path), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_port(port)
        result = run(ROOT / "scenarios" / "misread-corrected.yaml", "--http", f"http://127.0.0.1:{port}/l.php")
        assert result.returncode == 0, result.stderr
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["packets"] == 4 and summary["states"] == {"new": 1, "update": 2, "lost": 1}
    assert len(list((tmp_path / "images").iterdir())) == 4


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=10,
)


def test_demo_plays_to_the_built_in_receiver(tmp_path):
    out = tmp_path / "demo"
    result = subprocess.run([sys.executable, "-m", "ffsim", "demo", "--speed", "max", "--out", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "built-in receiver: packets: 32  violations: 0" in result.stdout
    assert f"{out / 'images'} (32 images)" in result.stdout
    again = subprocess.run([sys.executable, "-m", "ffsim", "demo", "--speed", "max", "--out", str(out)],
                           capture_output=True, text=True, timeout=120)
    # the folder holds the first capture: refused, kept as it was (tests/test_receive_cli.py has more)
    assert again.returncode == 1 and "already holds a capture" in again.stderr, again.stderr
    assert len((out / "packets.jsonl").read_text().splitlines()) == 32


def test_run_without_target_uses_the_built_in_receiver():
    result = subprocess.run([sys.executable, "-m", "ffsim", "run", str(ROOT / "scenarios" / "two-zones.yaml"),
                             "--speed", "max", "--quiet"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "built-in receiver: packets: 8  violations: 0" in result.stdout
    # with --json, standard output is one JSON document, the receiver's summary in it
    result = subprocess.run([sys.executable, "-m", "ffsim", "run", str(ROOT / "scenarios" / "two-zones.yaml"),
                             "--speed", "max", "--json"], capture_output=True, text=True, timeout=120)
    summary = json.loads(result.stdout)
    assert summary["delivered_all"] and summary["receiver"]["packets"] == 8 and summary["receiver"]["violations"] == 0
    assert "built-in receiver: packets: 8" in result.stderr


def test_receive_wants_user_and_password():
    result = subprocess.run([sys.executable, "-m", "ffsim", "receive", "--basic", "nocolon"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "--basic: expected USER:PASSWORD (no colon)" in result.stderr


def test_receiver_refuses_an_out_folder_holding_a_capture(tmp_path):
    (tmp_path / "packets.jsonl").write_text("{}\n")
    with pytest.raises(FileExistsError):
        Receiver(out=tmp_path).start()
    assert (tmp_path / "packets.jsonl").read_text() == "{}\n"


BROKEN = [
    ("missing key", lambda p: p.pop("carID"), "keys: missing: carID"),
    ("number not string", lambda p: p.update(packetCounter=1), "type: packetCounter must be a string"),
    ("datetime", lambda p: p.update(datetime="20261124 0800"), "timestamps: datetime"),
    ("capture_ts", lambda p: p.update(capture_ts="1"), "timestamps: capture_ts"),
    ("direction", lambda p: p.update(carMoveDirection="left"), "vocabulary: carMoveDirection"),
    ("confidence", lambda p: p.update(plateConfidence="0.9"), "format: plateConfidence"),
    ("plate text", lambda p: p.update(plateText="OTHER"), "plate-text: plateText"),
    ("new with direction", lambda p: p.update(carMoveDirection="in"), "lifecycle: carID 1: New with direction"),
]


def test_each_rule_broken_over_plain_http_and_tcp_is_reported(tmp_path):
    from ffsim.protocol.jsonwire import camera_json

    good = json.loads(good_packet())
    with Receiver(tcp="127.0.0.1:0", out=tmp_path) as rx:
        for index, (_, change, _) in enumerate(BROKEN):
            payload = dict(good, sensorProviderID=f"cam-{index}")  # a sender per case: no cross-talk
            change(payload)
            assert post(rx.http_url + "x", camera_json(payload), "application/json") == 200
        host, port = rx.tcp_address.split(":")
        with socket.create_connection((host, int(port))) as s:
            s.sendall(camera_json(dict(good, plateConfidence="high")))
        # image against plateImageType, over multipart
        body = (b"--B\r\nContent-Disposition: form-data; name=\"event\"; filename=\"e.json\"\r\n\r\n"
                + camera_json(dict(good, sensorProviderID="img")) + b"\r\n--B\r\nContent-Disposition: form-data; "
                b"name=\"image\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\nnot a png\r\n--B--\r\n")
        assert post(rx.http_url + "x", body, "multipart/form-data; boundary=B") == 200
        rx.wait(len(BROKEN) + 2, timeout=20, raise_on_timeout=True)  # the TCP one is checked after its close
    by_packet = [r.violations for r in rx.records]
    for (name, _, words), found in zip(BROKEN, by_packet):
        assert any(v.startswith(words) for v in found), (name, found)
    assert any(v.startswith("format: plateConfidence") for v in by_packet[len(BROKEN)])
    image = by_packet[len(BROKEN) + 1]
    assert any("image/png" in v and "plateImageType says 'jpeg'" in v for v in image), image
    assert any("does not decode" in v for v in image)
    stored = [json.loads(l) for l in (tmp_path / "packets.jsonl").read_text().splitlines()]
    assert [s["violations"] for s in stored] == by_packet  # every packet stored, with its violations


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(min_size=1, max_size=200), min_size=1, max_size=5))
def test_fuzzed_tcp_never_crashes_the_receiver(tmp_path, chunks):
    with Receiver(http=None, tcp="127.0.0.1:0") as rx:
        host, port = rx.tcp_address.split(":")
        with socket.create_connection((host, int(port))) as s:
            for chunk in chunks:
                try:
                    s.sendall(chunk)
                except OSError:
                    break  # the receiver closed a connection it could not read: allowed
        with socket.create_connection((host, int(port))) as s:
            s.sendall(good_packet())
        assert rx.wait(until=lambda records: any(isinstance(r.payload, dict) and r.payload.get("plateUTF8") == "5SX22B7"
                                                 and not r.violations for r in records), timeout=20)


def test_respond_fail_rate_and_delay_exercise_a_senders_buffer(tmp_path):
    gate = ROOT / "scenarios" / "misread-corrected.yaml"
    with Receiver(respond=503, speed=None) as rx:
        result = run(gate, "--http", rx.http_url, "--json", "--drain", "1s")
    assert result.returncode == 1 and json.loads(result.stdout)["profiles"]["1"]["sent"] == 0
    assert {r.status for r in rx.records} == {503}
    with Receiver(fail_rate=0.5, seed=3, delay_s=0.05, speed=None) as rx:
        result = run(gate, "--http", rx.http_url, "--json")
    summary = json.loads(result.stdout)["profiles"]["1"]
    assert result.returncode == 0 and summary["sent"] == 4 and summary["retried"] > 0
    accepted = [r for r in rx.records if r.status == 200]
    refused = [r for r in rx.records if r.status == 503]
    assert len(accepted) == 4 and len(refused) == summary["failed"] > 0
    assert rx.violations == []  # a refused packet sent again is no duplicate: it was not taken


def test_required_auth_and_tls(tmp_path):
    import ssl

    import trustme

    gate = tmp_path / "s.yaml"
    gate.write_text((ROOT / "scenarios" / "misread-corrected.yaml").read_text()
                    + "profiles:\n  - {id: 1, image: none, auth: {type: basic, user: cam, password: pw}, "
                      "auth_header: {value: k3y}, ca_file: ca.pem}\n")
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with Receiver(basic=("cam", "pw"), auth_header=("X-Auth-Key", "k3y"), ssl_context=context, speed=None) as rx:
        ok = subprocess.run([sys.executable, "-m", "ffsim", "run", str(gate), "--http", rx.http_url, "--speed", "max",
                             "--quiet"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
        wrong = run(ROOT / "scenarios" / "misread-corrected.yaml", "--http", rx.http_url, "--drain", "1s")
        client = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
        request = urllib.request.Request(rx.http_url, data=good_packet(), headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, context=client, timeout=10)
    assert refused.value.code == 401
    assert "auth: missing or wrong" in rx.violations
    assert rx.http_url.startswith("https://")
    assert ok.returncode == 0, ok.stderr
    assert wrong.returncode == 1  # no CA given: the certificate fails verification
    assert len([r for r in rx.records if not r.violations]) == 4


def test_sequence_rules_over_plain_http():
    """packetCounter continuity, nothing after Lost, Lost frame_timestamp, Lost timing, New without Lost."""
    new, update, lost = (payload("2024-lpv", state, n, 1) for n, state in ((1, "new"), (2, "update"), (3, "lost")))

    def send(rx, p):
        assert post(rx.http_url + "x", wire(p), "application/json") == 200
        return rx.records[-1].violations

    with Receiver(speed=None) as rx:
        assert send(rx, new) == []
        assert send(rx, dict(lost, packetCounter="2")) == []
        assert send(rx, payload("2024-lpv", "new", 3, 2)) == []
        assert send(rx, payload("2024-lpv", "lost", 4, 2, frame_timestamp="1718373875705442")) == [
            'timestamps: a Lost has frame_timestamp "0", got \'1718373875705442\'']
        assert send(rx, dict(update, packetCounter="5")) == ["lifecycle: carID 1: update after its Lost"]
        assert send(rx, payload("2024-lpv", "new", 7, 9)) == []  # 6 may come yet (out of order)
    # car 9's Lost may be yet to come: the receiver stopped first; packet 6 never came
    assert rx.summary()["open_passages"] == ["counter: sender 127.0.0.1|PRG-82: profile 1: packet 6 never arrived"]
    assert rx.summary()["open_passage_notices"] == 1
    with Receiver(speed=1.0, lost_timeout_s=5) as rx:  # real time, said: a Lost right after the last event is early
        send(rx, new)
        found = send(rx, dict(lost, packetCounter="2"))
    assert len(found) == 1 and found[0].startswith("lifecycle: carID 1: Lost 0.")


def multipart(p, images=()):
    """The camera's multipart body: the event as a file part, then its images."""
    body = (b"--B\r\nContent-Disposition: form-data; name=\"event\"; filename=\"event.json\"\r\n"
            b"Content-Type: application/json\r\n\r\n" + wire(p) + b"\r\n")
    for index, (content_type, data) in enumerate(images):
        body += (b"--B\r\nContent-Disposition: form-data; name=\"image\"; filename=\"i%d.jpg\"\r\n" % index
                 + b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + data + b"\r\n")
    return body + b"--B--\r\n"


SHAPES = ("2019", "2021-lpv", "2021-cammra", "2024-lpv", "2024-cammra", "documented")


def test_every_field_shape_over_http_and_tcp_has_no_violation_and_the_summary_names_it(tmp_path):
    """Each generation from its own camera (multipart with images, plain JSON with ImageArray,
    TCP), mid-traffic counters, local time zones: zero violations, the generation of each
    sender in the summary, in text and JSON."""
    from ffsim.receiver.live import summary_text

    image = jpeg()
    with Receiver(http="127.0.0.1:0", tcp="127.0.0.1:0", out=tmp_path) as rx:
        host, port = rx.tcp_address.split(":")
        sent = 0
        for index, gen in enumerate(SHAPES):
            events = passage(gen, 412377, T0, 11890300, reliable=gen.startswith("2024"), device=f"CAM-{index}")
            for p, _ in events:
                if gen in ("2019", "2021-lpv"):  # TCP, one connection per event, as the field does
                    with socket.create_connection((host, int(port))) as s:
                        s.sendall(wire(p))
                elif gen == "2024-cammra":  # plain JSON, images inline
                    p = dict(p)
                    keys = list(p)
                    at = keys.index("imagesURI") + 1
                    p = {**{k: p[k] for k in keys[:at]}, "ImageArray": [image_array_entry(image, "plate")],
                         **{k: p[k] for k in keys[at:]}}
                    assert post(rx.http_url + "json", wire(p), "application/json") == 200
                else:
                    size = p["plateImageSize"]
                    if gen == "documented":
                        p = dict(p, plateImageSize=str(len(image)))
                    assert post(rx.http_url + "listener.php", multipart(p, [("image/jpeg", image)]),
                                "multipart/form-data; boundary=B") == 200
                    assert size == "0"
                sent += 1
        rx.wait(sent, timeout=20, raise_on_timeout=True)
    assert rx.violations == [], rx.violations[:5]
    assert rx.notices == []
    summary = rx.summary()
    assert summary["packets"] == sent and summary["violations"] == 0 and summary["notices"] == 0
    looks = {name.split("|")[1]: s["generation"] for name, s in summary["senders"].items()}
    assert looks == {f"CAM-{i}": gen for i, gen in enumerate(SHAPES)}
    offsets = {name.split("|")[1]: s["utc_offset"] for name, s in summary["senders"].items()}
    assert offsets == {"CAM-0": None, "CAM-1": "+03:00", "CAM-2": "+03:00", "CAM-3": "+02:00", "CAM-4": "+05:45",
                       "CAM-5": "+00:00"}
    assert all(s["mid_traffic"] for s in summary["senders"].values())  # counters in the millions
    json.dumps(summary)
    text = summary_text(summary)
    assert text.startswith(f"packets: {sent}  violations: 0  notices: 0")
    # a 2021 payload names no profile: its sender is told apart by how it arrived too
    assert re.search(r"sender 127\.0\.0\.1\|CAM-2\|(http/listener\.php|tcp): looks like 2021-cammra, "
                     r"UTC offset \+03:00", text), text
    stored = [json.loads(line) for line in (tmp_path / "packets.jsonl").read_text().splitlines()]
    assert len(stored) == sent and all(r["violations"] == [] and r["notices"] == [] for r in stored)


def test_a_receiver_started_mid_traffic_gives_notices_and_keeps_violations_apart():
    from ffsim.receiver.live import summary_text

    with Receiver() as rx:
        for p in (payload("2024-lpv", "update", 11890300, 412370), payload("2024-lpv", "lost", 11890301, 412369),
                  payload("2024-lpv", "new", 11890302, 412371),
                  payload("2024-lpv", "update", 11890304, 412371)):  # a real gap
            assert post(rx.http_url + "x", wire(p), "application/json") == 200
    assert rx.violations == []  # 11890303 may come yet (out of order): told at the end
    assert len(rx.notices) == 2 and all(n.startswith("lifecycle: carID 4123") for n in rx.notices)
    assert [r.notices != [] for r in rx.records] == [True, True, False, False]
    summary = rx.summary()
    assert summary["violations"] == 1 and summary["notices"] == 2 + 2  # two passages still open at the end
    assert summary["open_passages"] == ["counter: sender 127.0.0.1|PRG-82: profile 1: packet 11890303 never arrived"]
    assert summary["open_passage_notices"] == 2
    assert summary["rules"] == {"violations": {"counter": 1}, "notices": {"lifecycle": 4}}
    (sender,) = summary["senders"].values()
    assert sender["violations"] == 1 and sender["notices"] == 2 + 2 and sender["open_passages"] == 2
    assert "2 passage(s) still open when the receiver stopped" in summary_text(summary)


def test_a_camera_that_gives_up_waiting_and_sends_again_is_a_duplicate_notice():
    """The camera's curl times out while the receiver is slow to answer, and the event buffer
    sends the same packet again: a notice, and no counter or lifecycle violation."""
    first, second = payload("2024-lpv", "new", 7000, 5), payload("2024-lpv", "update", 7001, 5)
    with Receiver(delay_s=30) as rx:  # answers late: the camera will not wait that long
        host, port = rx.http_url.split("//")[1].rstrip("/").split(":")
        for attempt in range(2):
            body = wire(first)
            with socket.create_connection((host, int(port))) as s:
                s.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          b"Content-Length: %d\r\n\r\n" % len(body) + body)
                rx.wait(attempt + 1, timeout=20, raise_on_timeout=True)  # taken; the camera gives up before the answer
        body = wire(second)
        with socket.create_connection((host, int(port))) as s:
            s.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body) + body)
            rx.wait(3, timeout=20, raise_on_timeout=True)
        rx.delay_s = 0
    assert rx.violations == []
    assert len(rx.notices) == 1 and re.fullmatch(r"duplicate: profile 1: packet 7000 received again, the same bytes "
                                                 r"as arrival #1 \(\d+\.\d s earlier\): a re-send after a timeout\?",
                                                 rx.notices[0]), rx.notices
    assert [r.duplicate_of for r in rx.records] == [None, 1, None]
    assert rx.summary()["rules"]["notices"] == {"duplicate": 1, "lifecycle": 1}  # + the passage left open
    assert rx.summary()["senders"]["127.0.0.1|PRG-82"]["notices"] == 2  # as in the totals: + the open passage


def test_records_and_finding_lines_in_memory_are_bounded(tmp_path):
    with Receiver(out=tmp_path, max_records=5) as rx:
        for n in range(1, 13):  # every second one leaves a gap: a violation each (at the end: none came late)
            assert post(rx.http_url + "x", wire(payload("2024-lpv", "new", 2 * n - 1, n)), "application/json") == 200
    assert len(rx.records) == 5 and rx.records[-1].payload["packetCounter"] == "23"
    assert rx.summary()["packets"] == 12 and rx.summary()["violations"] == 11  # the gaps
    assert len((tmp_path / "packets.jsonl").read_text().splitlines()) == 12  # the store keeps every one


def test_two_profiles_of_a_2021_camera_are_two_senders_not_re_sends(tmp_path):
    """2021 payloads name no profile, and both profiles' payloads are the same bytes: told
    apart by how they arrive, neither looks like a re-send of the other."""
    from ffsim.runner import Runner, fill_targets

    text = (ROOT / "scenarios" / "parking-gate.yaml").read_text().replace("camera: {", "camera: {firmware: 2021-lpv, ")
    path = tmp_path / "two.yaml"
    path.write_text(text + "profiles: [{id: 1, protocol: http}, {id: 2, protocol: tcp}]\n")
    scenario = load_scenario(path)
    with Receiver(http="127.0.0.1:0", tcp="127.0.0.1:0", speed=None) as rx:
        scenario = fill_targets(scenario, rx.http_url + "listener.php", rx.tcp_address)
        summary = Runner(scenario, scenario.start_us, None).run()
        sent = sum(p["sent"] for p in summary.profiles.values())
        rx.wait(sent, timeout=20, raise_on_timeout=True)
    assert sent == 24 and rx.violations == [] and rx.notices == [], (rx.violations, rx.notices)
