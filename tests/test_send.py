"""`ffsim run` against real receivers on loopback."""

import json
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pycurl
import pytest

from werkzeug.wrappers import Response

from ffsim.protocol import Camera
from ffsim.runner import Runner
from ffsim.scenario import load_scenario

from .servers import RawRecorder, TcpListener, WerkzeugReceiver, refusing_port, refusing_socket, wait_for

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


def ffsim(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "ffsim", *args], capture_output=True, text=True, timeout=timeout)


def scenario_file(tmp_path, profiles: str, base="misread-corrected.yaml"):
    text = (SCENARIOS / base).read_text()
    path = tmp_path / "s.yaml"
    path.write_text(text + "profiles:\n" + textwrap.indent(textwrap.dedent(profiles), "  "))
    return path


def expected(path):
    scenario = load_scenario(path)
    return list(Camera(scenario, scenario.start_us).packets())


def test_multipart_bytes_equal_ffsim_events(tmp_path):
    path = scenario_file(tmp_path, "- {id: 1, image: vehicle, second_image: true}\n")
    with WerkzeugReceiver() as rx:
        result = ffsim("run", str(path), "--http", rx.url, "--speed", "max", "--quiet", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    packets = expected(path)
    assert summary["profiles"]["1"]["sent"] == len(packets) == len(rx.requests) == 4
    for packet, request in zip(packets, rx.requests):
        assert request.content_type == "multipart/form-data"
        name, ctype, data = request.files["event"]
        assert data == packet.payload.camera_json()
        assert name == f"event_{packet.payload['packetCounter']}.json" and ctype == "application/json"
        image_name, image_type, image = request.files["image"]
        assert image == packet.payload.attachments[0].data and image_type == "image/jpeg"
        assert image_name == packet.payload["imageFile"].rpartition("/")[2]
        assert json.loads(data)["plateImageSize"] == "0"  # as in the field, images attached or not
        assert request.files["image2"][2] == packet.payload.attachments[1].data


def test_json_format_posts_the_payload_as_body(tmp_path):
    path = scenario_file(tmp_path, "- {id: 1, format: json, image: plate}\n")
    with WerkzeugReceiver() as rx:
        result = ffsim("run", str(path), "--http", rx.url, "--speed", "max", "--quiet")
    assert result.returncode == 0, result.stderr
    packets = expected(path)
    assert [r.body for r in rx.requests] == [p.payload.camera_json() for p in packets]
    assert {r.content_type for r in rx.requests} == {"application/json"}
    assert "ImageArray" in json.loads(rx.requests[0].body)


def test_the_wire_looks_like_libcurl(tmp_path):
    path = scenario_file(tmp_path, "- {id: 1, image: plate}\n")
    with RawRecorder() as rx:
        result = ffsim("run", str(path), "--http", rx.url, "--speed", "max", "--quiet")
    assert result.returncode == 0, result.stderr
    first = rx.requests[0]
    assert first["request_line"] == "POST /listener.php HTTP/1.1"
    assert [k for k, _ in first["headers"]] == ["Host", "Accept", "Content-Length", "Content-Type"]
    headers = dict(first["headers"])
    assert headers["Host"] == f"127.0.0.1:{rx.port}" and headers["Accept"] == "*/*"
    boundary = re.fullmatch(r"multipart/form-data; boundary=(-{24}[0-9A-Za-z]{22})", headers["Content-Type"]).group(1)
    body = first["body"]
    assert int(headers["Content-Length"]) == len(body)
    assert body.startswith(f"--{boundary}\r\nContent-Disposition: form-data; name=\"event\"; "
                           f"filename=\"event_1.json\"\r\nContent-Type: application/json\r\n\r\n".encode())
    assert body.endswith(f"\r\n--{boundary}--\r\n".encode())
    assert expected(path)[0].payload.camera_json() in body


def test_one_kept_connection_carries_every_event(tmp_path):
    """Like the camera's libcurl handle, the connection is kept alive between events (now from
    the multi handle's connection cache, which a stop can abort)."""

    class Counting(RawRecorder):
        connections = 0

        def handle(self, conn):
            self.connections += 1
            super().handle(conn)

    path = scenario_file(tmp_path, "- {id: 1, image: plate}\n")
    with Counting() as rx:
        summary, _ = run_in_process(path, rx.url)
    assert summary.delivered_all and len(rx.requests) == len(expected(path)) > 1
    assert rx.connections == 1


def test_boundary_and_file_names_are_settings(tmp_path):
    path = scenario_file(tmp_path, "- {id: 1, image: plate, boundary: ffsim-b0undary, "
                                   "image_filename: 'plate-{packetCounter}.jpg', json_filename: ev.json}\n")
    with RawRecorder() as rx:
        result = ffsim("run", str(path), "--http", rx.url, "--speed", "max", "--quiet")
    assert result.returncode == 0, result.stderr
    packets = expected(path)
    for packet, request in zip(packets, rx.requests):
        headers = dict(request["headers"])
        assert [k for k, _ in request["headers"]] == ["Host", "Accept", "Content-Length", "Content-Type"]
        assert headers["Content-Type"] == "multipart/form-data; boundary=ffsim-b0undary"
        body = request["body"]
        assert body.startswith(b'--ffsim-b0undary\r\nContent-Disposition: form-data; name="event"; '
                               b'filename="ev.json"\r\nContent-Type: application/json\r\n\r\n'
                               + packet.payload.camera_json())
        counter = packet.payload["packetCounter"]
        assert f'name="image"; filename="plate-{counter}.jpg"'.encode() in body
        assert packet.payload.attachments[0].data in body and body.endswith(b"--ffsim-b0undary--\r\n")


def test_json_format_wire(tmp_path):
    path = scenario_file(tmp_path, "- {id: 1, format: json, image: none}\n")
    with RawRecorder() as rx:
        result = ffsim("run", str(path), "--http", rx.url, "--speed", "max", "--quiet")
    assert result.returncode == 0, result.stderr
    first = rx.requests[0]
    assert [k for k, _ in first["headers"]] == ["Host", "Accept", "Content-Length", "Content-Type"]
    assert dict(first["headers"])["Content-Type"] == "application/json"
    assert first["body"] == expected(path)[0].payload.camera_json()


@pytest.mark.parametrize("send_continue", [True, False])
def test_large_bodies_expect_100_continue(tmp_path, send_continue):
    # a 4K full frame as BMP is about 25 MB: over the 1 MiB threshold
    text = (SCENARIOS / "misread-corrected.yaml").read_text().replace("resolution: [1920, 1080]", "resolution: [3840, 2160]")
    text = text.replace("[[960, 320], [960, 1060]]", "[[1920, 640], [1920, 2120]]")
    path = tmp_path / "s.yaml"
    path.write_text(text + "profiles:\n  - {id: 1, image: frame, image_format: bmp, events: [new]}\n")
    with RawRecorder(send_continue=send_continue) as rx:
        result = ffsim("run", str(path), "--http", rx.url, "--speed", "max", "--quiet")
    assert result.returncode == 0, result.stderr
    (request,) = rx.requests
    headers = dict(request["headers"])
    assert headers["Expect"] == "100-continue"
    assert int(headers["Content-Length"]) > 20_000_000
    if not send_continue:
        assert request["body_after_s"] >= 0.9  # libcurl waited about 1 s, then sent the body anyway


@pytest.mark.parametrize("framing", ["newline", "none", "per-connection"])
def test_tcp_framings(tmp_path, framing):
    path = scenario_file(tmp_path, f"- {{id: 1, protocol: tcp, framing: {framing}}}\n", base="parking-gate.yaml")
    with TcpListener() as rx:
        # no wait needed: ffsim ends only after the receiver has closed each connection
        result = ffsim("run", str(path), "--tcp", rx.target, "--speed", "max", "--quiet")
    assert result.returncode == 0, result.stderr
    texts = [p.payload.camera_json() for p in expected(path)]
    if framing == "none":
        texts = [t.rstrip(b"\n") for t in texts]
    assert rx.data == b"".join(texts)
    assert len(rx.connections) == (len(texts) if framing == "per-connection" else 1)
    assert b"ImageArray" not in rx.data and b'"plateImageSize": "0"' in rx.data


def test_outage_every_event_arrives_once_in_order(tmp_path):
    """In the middle of a run the receiver refuses connections, then answers 503, then takes
    everything: each event arrives exactly once, in order (the buffer's retries)."""
    import threading

    from ffsim import Run

    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent("""\
        version: 1
        start: 2026-11-24T08:00:00Z
        recognition: {lost_timeout: 1s}
        zones: [{id: 1, polygon: [[0, 300], [1920, 300], [1920, 1080], [0, 1080]], direction: 180}]
        traffic: [{zone: 1, rate: 1200/h, until: 3m, misread: 0.3}]
        profiles:
          - {id: 1, image: plate, events: [new, update, lost]}
          - {id: 2, format: json, image: none, events: [lost]}
    """))
    packets = expected(path)
    refused = {1: 0, 2: 0}
    down = threading.Condition()

    def on_attempt(attempt):
        if attempt.detail.startswith("refused"):
            with down:
                refused[attempt.profile] += 1
                down.notify_all()

    with refusing_socket() as sock:
        run = Run(path, http=f"http://127.0.0.1:{sock.getsockname()[1]}/in", speed=60, on_attempt=on_attempt).start()
        with down:  # nobody listens: both profiles' first attempts are refused, and retried
            assert down.wait_for(lambda: min(refused.values()) >= 2, timeout=60)
        answers = iter([503] * 4)
        with WerkzeugReceiver(status=lambda: next(answers, 200), sock=sock) as rx:
            summary = run.wait(timeout=120)
    assert summary is not None and summary.delivered_all, summary
    assert summary.profiles["1"]["failed"] > 0 and summary.profiles["2"]["failed"] > 0
    assert any(a.status == 503 for a in run.attempts)
    for profile in (1, 2):
        sent = [p.payload.camera_json() for p in packets if p.profile == profile]
        got = [r.files["event"][2] if r.files else r.body for r in rx.requests]
        got = [g for g in got if json.loads(g)["profileID"] == str(profile)]
        assert got == sent  # each exactly once, in order


def test_without_buffer_failed_events_are_dropped_and_counted(tmp_path):
    path = scenario_file(tmp_path, "- {id: 1, buffer: false, image: none}\n")
    with WerkzeugReceiver(status=503) as rx:
        result = ffsim("run", str(path), "--http", rx.url, "--speed", "max", "--json", "--quiet")
    assert result.returncode == 1
    summary = json.loads(result.stdout)["profiles"]["1"]
    assert summary == {"sent": 0, "failed": 4, "retried": 0, "rejected": 0, "dropped": 4, "unconfirmed": 0,
                       "buffered": 0}


def test_full_buffer_drops_the_oldest_and_counts(tmp_path):
    path = scenario_file(tmp_path, "- {id: 1, buffer_size: 2, image: none}\n", base="parking-gate.yaml")
    with refusing_port() as port:
        result = ffsim("run", str(path), "--http", f"http://127.0.0.1:{port}/x", "--speed", "100", "--json",
                       "--quiet", "--drain", "1s")
    assert result.returncode == 1
    summary = json.loads(result.stdout)["profiles"]["1"]
    assert summary["dropped"] == 12 - 2 and summary["buffered"] == 2 and summary["sent"] == 0


@pytest.mark.parametrize(
    "target, message",
    [
        (["--http", "http://no-such-host.invalid/x"], "does not resolve"),
        (["--http", "htp:/broken"], "malformed URL"),
        (["--tcp", "127.0.0.1"], "malformed TCP target"),
    ],
)
def test_bad_targets_are_one_line_errors(tmp_path, target, message):
    result = ffsim("run", str(SCENARIOS / "misread-corrected.yaml"), *target, "--speed", "max")
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_live_lines_and_summary(tmp_path):
    with WerkzeugReceiver() as rx:
        result = ffsim("run", str(SCENARIOS / "misread-corrected.yaml"), "--http", rx.url, "--speed", "max")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert re.match(r"08:00:01\.000  p1  new       car 1       5SX22B7     unknown  200", lines[0])
    assert lines[-2].split() == ["profile", "sent", "failed", "retried", "rejected", "dropped", "unconfirmed",
                                 "buffered", "latency", "(mean/max", "ms)"]
    counts, latency = lines[-1].split()[:-1], lines[-1].split()[-1]
    assert counts == ["1", "4", "0", "0", "0", "0", "0", "0"]
    mean, most = (float(x) for x in latency.split("/"))
    assert 0 < mean <= most


# -- what the buffer retries (retry_on) ---------------------------------------------------
def answers(*first: int):
    """A status callable: these answers to the first requests, then 200."""
    queue = list(first)
    return lambda: queue.pop(0) if queue else 200


def run_in_process(path, url: str):
    scenario = load_scenario(path).retargeted(url, None)
    lines = []
    summary = Runner(scenario, scenario.start_us, None, lambda p, item, outcome: lines.append(outcome.detail),
                     (0.01, 0.05)).run(None, 30.0)
    return summary, lines


def bodies(path, profile=1):
    return [p.payload.camera_json() for p in expected(path) if p.profile == profile]


def test_a_rejected_event_is_counted_and_the_later_ones_go(tmp_path):
    """The receiver refuses event 2 with 400: it is rejected (not retried for ever), the
    others arrive, the live line says so, and the run does not claim success."""
    path = scenario_file(tmp_path, "- {id: 1, format: json, image: none}\n")

    def refuse_the_second(request):
        if json.loads(request.get_data(cache=True))["packetCounter"] == "2":
            return Response("bad event", status=400)
        return None

    with WerkzeugReceiver(check=refuse_the_second) as rx:
        result = ffsim("run", str(path), "--http", rx.url, "--speed", "max", "--json")
    assert result.returncode == 1, result.stderr
    summary = json.loads(result.stdout)  # with --json, standard output is the JSON alone
    live = result.stderr.splitlines()  # and the lines for people are on standard error
    assert summary["profiles"]["1"] == {"sent": 3, "failed": 1, "retried": 0, "rejected": 1, "dropped": 0,
                                        "unconfirmed": 0, "buffered": 0}
    assert summary["delivered_all"] is False
    assert [line.rsplit("  ", 1)[-1] for line in live] == ["200", "400 rejected", "200", "200"]
    sent = bodies(path)
    assert [r.body for r in rx.requests] == sent[:1] + sent[2:]


@pytest.mark.parametrize("status", [503, 408, 429])
def test_retried_answers_are_sent_again_until_they_pass(tmp_path, status):
    path = scenario_file(tmp_path, "- {id: 1, format: json, image: none}\n")
    with WerkzeugReceiver(status=answers(status, status, status)) as rx:
        summary, lines = run_in_process(path, rx.url)
    c = summary.profiles["1"]
    assert (c["failed"], c["retried"], c["rejected"], c["sent"]) == (3, 3, 0, 4) and summary.delivered_all
    assert [r.body for r in rx.requests] == bodies(path)  # each once, in order
    assert all(line.startswith(f"{status}, retrying in") for line in lines[:3]) and lines[3:] == ["200"] * 4


@pytest.mark.parametrize("retry_on, rejected", [(None, 2), ("[connection, 4xx, 5xx]", 0)])
def test_retry_on_decides_whether_a_400_is_retried(tmp_path, retry_on, rejected):
    setting = f", retry_on: {retry_on}" if retry_on else ""
    path = scenario_file(tmp_path, f"- {{id: 1, format: json, image: none{setting}}}\n")
    with WerkzeugReceiver(status=answers(400, 400)) as rx:
        summary, _ = run_in_process(path, rx.url)
    c = summary.profiles["1"]
    assert (c["rejected"], c["failed"], c["sent"]) == (rejected, 2, 4 - rejected)
    assert [r.body for r in rx.requests] == bodies(path)[rejected:]
    assert summary.delivered_all is (rejected == 0)


def test_a_connection_failure_not_in_retry_on_drops(tmp_path):
    path = scenario_file(tmp_path, "- {id: 1, format: json, image: none, retry_on: [5xx]}\n")
    with refusing_port() as port:  # nobody listens
        summary, lines = run_in_process(path, f"http://127.0.0.1:{port}/x")
    assert summary.profiles["1"]["dropped"] == 4 and summary.profiles["1"]["buffered"] == 0
    assert lines == ["dropped: refused"] * 4


def test_live_lines_read_in_the_cameras_time_zone():
    import io

    from ffsim.runner import LivePrinter
    from ffsim.transport import Message, Outcome
    from ffsim.transport.policy import Item

    out = io.StringIO()
    label = {"time": 1795507201250, "state": "new", "carID": 1, "plate": "5SX2207", "direction": "unknown"}
    LivePrinter(out, True, "Europe/Kyiv")(1, Item(Message(b"{}", (), "e.json"), label), Outcome(True, "200", status=200))
    assert out.getvalue().startswith("10:00:01.250  p1  new ")  # 08:00:01.250 UTC, +2 h in November


# -- hardening (issue 8) ------------------------------------------------------------------
def accounted(profile: dict, not_sent: int) -> int:
    """Every event ends as exactly one of these."""
    return profile["sent"] + profile["rejected"] + profile["dropped"] + profile["buffered"] + not_sent


def test_an_answer_that_is_not_http_is_a_failed_delivery_retried(tmp_path):
    """A receiver that answers "hello\\n" (no status line): libcurl reports an unsupported
    protocol (HTTP/0.9); that is the receiver's doing, not the URL's: retried, not fatal."""
    from .servers import NotHttpFirst

    path = scenario_file(tmp_path, "- {id: 1, format: json, image: none}\n")
    with NotHttpFirst(garbage=2) as rx:
        summary, lines = run_in_process(path, rx.url)
    assert summary.fatal is None, summary.fatal
    assert summary.delivered_all
    assert summary.profiles["1"]["sent"] == 4 and summary.profiles["1"]["failed"] == 2
    assert rx.bodies == bodies(path)
    assert any("not an HTTP answer" in line and "retrying" in line for line in lines), lines


def test_a_fatal_stop_accounts_for_every_event(tmp_path):
    """A certificate refused stops the run at its first event; the summary still accounts
    for the twelve: buffered, dropped, or never handed over (not_sent)."""
    import ssl

    import trustme

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    path = scenario_file(tmp_path, "- {id: 1, buffer_size: 1, image: none}\n", base="parking-gate.yaml")
    with WerkzeugReceiver(ssl_context=context) as rx:
        summary, _ = run_in_process(path, rx.url)
    assert summary.fatal and "certificate" in summary.fatal
    assert not summary.delivered_all
    not_sent = summary.not_sent["1"]
    assert not_sent > 0 and accounted(summary.profiles["1"], not_sent) == len(expected(path)) == 12
    assert "not sent: " in summary.table()
    assert json.loads(summary.as_json())["not_sent"] == {"1": not_sent}


def test_speed_max_ends_when_the_receiver_is_down_and_the_buffer_overflows(tmp_path):
    """Nobody listens, 12 events, a buffer of 2: the producer waits for room at most --drain,
    then drops the oldest like the camera; the run ends and counts the drops."""
    path = scenario_file(tmp_path, "- {id: 1, buffer_size: 2, image: none}\n", base="parking-gate.yaml")
    started = time.monotonic()
    with refusing_port() as port:
        result = ffsim("run", str(path), "--http", f"http://127.0.0.1:{port}/x", "--speed", "max", "--json",
                       "--quiet", "--drain", "1s", timeout=60)
    assert time.monotonic() - started < 30
    assert result.returncode == 1
    out = json.loads(result.stdout)
    summary = out["profiles"]["1"]
    assert summary["dropped"] == 12 - 2 and summary["buffered"] == 2 and summary["sent"] == 0
    assert out["not_sent"] == {"1": 0}


def test_speed_max_waits_for_a_slow_receiver_rather_than_drop(tmp_path):
    """The bound on waiting is for a receiver that does not move: one that takes events,
    slowly, loses none."""
    path = scenario_file(tmp_path, "- {id: 1, buffer_size: 1, format: json, image: none}\n",
                         base="parking-gate.yaml")

    def slow(request):
        time.sleep(0.05)  # the receiver's pace, not a wait in the test
        return None

    with WerkzeugReceiver(check=slow) as rx:
        summary, _ = run_in_process(path, rx.url)
    assert summary.delivered_all and summary.profiles["1"]["sent"] == 12 and len(rx.requests) == 12


def test_ctrl_c_counts_the_events_never_handed_over(tmp_path):
    """Interrupted after the first event: the rest of the scenario was never generated; the
    JSON summary says how many, so that every event is accounted for."""
    import signal

    path = scenario_file(tmp_path, "- {id: 1, format: json, image: none}\n", base="parking-gate.yaml")
    with WerkzeugReceiver() as rx:
        proc = subprocess.Popen([sys.executable, "-m", "ffsim", "run", str(path), "--http", rx.url, "--speed", "1",
                                 "--json", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: rx.requests, 30, "the first event")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, err
    summary = json.loads(out)
    assert summary["interrupted"] and not summary["delivered_all"]
    not_sent = summary["not_sent"]["1"]
    assert not_sent >= 12 - 3  # the second event goes 0.2 s after the first, the third 2 s later
    assert accounted(summary["profiles"]["1"], not_sent) == 12


def test_a_name_that_stops_resolving_mid_run_is_a_failed_attempt_not_the_end():
    """The target resolved before the first send; a later DNS failure is retried from the buffer."""
    from ffsim.scenario.model import Profile
    from ffsim.transport.http import HttpTransport

    transport = HttpTransport(Profile(id=1), "http://localhost:9/")
    try:
        outcome = transport._failure(pycurl.E_COULDNT_RESOLVE_HOST, "Could not resolve host: localhost")
        assert not outcome.ok and not outcome.fatal and outcome.detail == "host name did not resolve"
        assert transport._failure(pycurl.E_URL_MALFORMAT, "bad").fatal
    finally:
        transport.close()


def test_a_process_with_more_than_1024_files_open_still_sends():
    """libcurl's sockets then have descriptors select() cannot watch: the transport waits in
    slices rather than on them (or spinning), and every event still goes."""
    import os
    import resource

    from ffsim import Receiver, bundled, run

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"the open files limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200) if hard == resource.RLIM_INFINITY
                                                else min(max(soft, 1200), hard), hard))
    hog = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        assert max(hog) >= 1024
        with Receiver(http="127.0.0.1:0") as rx:
            result = run(bundled("parking-gate"), http=rx.url + "x")
            assert result.summary.delivered_all and rx.wait(count=12, timeout=10)
    finally:
        for fd in hog:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
