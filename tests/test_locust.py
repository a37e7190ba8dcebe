"""The Locust extra (ffsim[locust]): a fleet on Locust's master and two workers, on loopback.

Locust monkey-patches the process it is imported in (gevent), so nothing here imports it or
gevent: Locust's master and workers, and the gevent driver's checks, run as subprocesses,
against ffsim's own receiver in this process.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ffsim.receiver.server import Receiver

# CI installs the extra (.ci/run): there a missing Locust is a failure, not a skip
pytestmark = pytest.mark.skipif(importlib.util.find_spec("locust") is None and not os.environ.get("CI"),
                                reason="Locust is not installed (pip install 'ffsim[locust]')")

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "ffsim" / "scenarios"
LOCUSTFILE = ROOT / "ffsim" / "load" / "locustfile.py"
BIN = Path(sys.executable).parent
LOCUST = [str(BIN / "locust")] if (BIN / "locust").exists() else [sys.executable, "-m", "locust"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_cluster(tmp_path: Path, ffsim_args: list[str], users: int, run_time: str,
                timeout_s: float = 60.0, rate: float | None = None) -> tuple[subprocess.CompletedProcess, dict[str, Any], dict[str, str]]:
    """A master and two workers (three `locust` processes); the master's result, its CSV's
    Aggregated row and ffsim's summary."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    workers = [subprocess.Popen([*LOCUST, "-f", str(LOCUSTFILE), "--worker", "--master-host", "127.0.0.1",
                                 "--master-port", str(port)], cwd=tmp_path, env=env,
                                stdout=open(tmp_path / f"worker{n}.log", "w"), stderr=subprocess.STDOUT)
               for n in (1, 2)]
    try:
        master = subprocess.run(
            [*LOCUST, "-f", str(LOCUSTFILE), "--headless", "--master", "--master-bind-host", "127.0.0.1",
             "--master-bind-port", str(port), "--expect-workers", "2", "--expect-workers-max-wait", "30",
             "-u", str(users), "-r", str(rate or users), "-t", run_time, "--csv", str(tmp_path / "out"), "--only-summary",
             "--ffsim-summary", str(tmp_path / "summary.json"), *ffsim_args],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout_s)
        for w in workers:  # the master's quit message ends them
            w.wait(timeout=15)
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
    logs = "".join((tmp_path / f"worker{n}.log").read_text() for n in (1, 2))
    assert master.returncode == 0, master.stdout + master.stderr + logs
    with open(tmp_path / "out_stats.csv", newline="") as f:
        aggregated = next(row for row in csv.DictReader(f) if row["Name"] == "Aggregated")
    summary = json.loads((tmp_path / "summary.json").read_text())
    return master, summary, aggregated


def stable_count(rx: Receiver, quiet_s: float = 0.3, timeout_s: float = 10.0) -> int:
    """The receiver's record count once it has not changed for quiet_s (nothing more comes)."""
    deadline = time.monotonic() + timeout_s
    count, since = len(rx.records), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = len(rx.records)
        if now != count:
            count, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            break
    return count


def road_with_three_profiles(tmp_path: Path) -> Path:
    """busy-road.yaml, its profiles HTTP: new/update/lost, new/lost and new."""
    text = (SCENARIOS / "busy-road.yaml").read_text(encoding="utf-8")
    head = text[:text.index("profiles:")]
    scenario = tmp_path / "road3.yaml"
    scenario.write_text(head + "profiles:\n  - {id: 1, protocol: http, events: [new, update, lost]}\n"
                        "  - {id: 2, protocol: http, events: [new, lost]}\n"
                        "  - {id: 3, protocol: http, events: [new]}\n", encoding="utf-8")
    return scenario


def per_camera_in_order(records: list[Any]) -> dict[str, int]:
    """Packets per camera; asserts each camera's profile sent its events in order, once each."""
    last: dict[tuple[str, str], int] = {}
    counts: dict[str, int] = {}
    for r in records:
        assert r.status in (200, None) and isinstance(r.payload, dict) and not r.violations, r
        key = (r.payload["sensorProviderID"], r.payload["profileID"])
        counter = int(r.payload["packetCounter"])
        assert counter > last.get(key, 0), f"{key}: packet {counter} after {last[key]}"
        last[key] = counter
        counts[key[0]] = counts.get(key[0], 0) + 1
    return counts


def test_fleet_on_master_and_two_workers(tmp_path: Path) -> None:
    """Six cameras of a scenario that ends, at speed max: every camera runs once over the
    cluster, Locust counts every delivery the receiver got, and the test ends by itself."""
    with Receiver(http="127.0.0.1:0", max_records=None) as rx:
        master, summary, aggregated = run_cluster(tmp_path, [
            "--ffsim-fleet", str(SCENARIOS / "parking-gate.yaml"), "--ffsim-cameras", "6",
            "--ffsim-http", f"{rx.http_url}listener.php"], users=6, run_time="60s")
        assert "every camera has ended" in master.stderr, master.stderr  # it ended by itself, not at -t
        expected = 6 * 12  # the scenario's 12 events per camera
        assert rx.wait(count=expected, timeout=10)
        records = rx.records
    assert int(aggregated["Request Count"]) == len(records) == expected
    assert int(aggregated["Failure Count"]) == 0
    counts = per_camera_in_order(records)
    assert counts == {f"CAMERA-{n:03}": 12 for n in range(1, 7)}
    assert summary["ran"] == 6 and summary["states"] == {"finished": 6}
    assert summary["totals"]["sent"] == expected and summary["totals"]["buffered"] == 0
    assert sorted(c["index"] for c in summary["cameras_detail"]) == list(range(6))


@pytest.mark.parametrize("protocol", ["http", "tcp"])
def test_a_stop_counts_every_attempt(tmp_path: Path, protocol: str) -> None:
    """A fleet stopped by -t in the middle of its traffic: the attempts on the wire at the stop
    are finished and counted, so that Locust's count is the receiver's exactly (HTTP through
    the gevent libcurl driver; JSON over TCP, one connection per event, through TcpTransport)."""
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(f"version: 1\nname: road\ngroups:\n  - scenario: {SCENARIOS / 'busy-road.yaml'}\n"
                     "    count: 4\n    device_id: \"ROAD-{n}\"\n")
    with Receiver(http="127.0.0.1:0", tcp="127.0.0.1:0", max_records=None) as rx:
        target = ["--ffsim-http", str(rx.http_url)] if protocol == "http" else ["--ffsim-tcp", str(rx.tcp_address)]
        master, summary, aggregated = run_cluster(tmp_path, [
            "--ffsim-fleet", str(fleet), "--ffsim-speed", "100", *target], users=4, run_time="4s")
        sent = summary["totals"]["sent"]
        assert rx.wait(count=sent, timeout=10)
        stable_count(rx)  # nothing more may come: the cameras are stopped
        records = rx.records
    assert sent > 20, summary
    assert int(aggregated["Request Count"]) == len(records) == sent, (aggregated, summary)
    counts = per_camera_in_order(records)
    assert set(counts) == {f"ROAD-{n}" for n in range(1, 5)}
    assert summary["states"] == {"stopped": 4}


def test_a_stop_during_the_ramp_up(tmp_path: Path) -> None:
    """A stop while users are still spawning (-r slow, a receiver that answers in 1 s): no
    camera starts after the stop, the attempts on the wire are counted, and ffsim's summary
    lists every camera that ran."""
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(f"version: 1\nname: road\ngroups:\n  - scenario: {road_with_three_profiles(tmp_path)}\n"
                     "    count: 40\n    device_id: \"ROAD-{n}\"\n")
    with Receiver(http="127.0.0.1:0", max_records=None, delay_s=1.0) as rx:
        master, summary, aggregated = run_cluster(tmp_path, [
            "--ffsim-fleet", str(fleet), "--ffsim-until", "10m", "--ffsim-http", f"{rx.http_url}listener.php"],
            users=40, rate=8, run_time="3s")
        sent = summary["totals"]["sent"]
        assert rx.wait(count=sent, timeout=10)
        stable_count(rx)
        records = rx.records
    assert sent > 0 and int(aggregated["Request Count"]) == len(records) == sent, (aggregated, summary)
    ran = {c["device_id"] for c in summary["cameras_detail"]}
    assert 0 < summary["ran"] == len(ran) < 40, summary
    assert set(per_camera_in_order(records)) <= ran
    assert summary["states"] == {"stopped": len(ran)}


def test_a_dead_receiver_at_speed_max(tmp_path: Path) -> None:
    """Speed max against a receiver that is down: the camera waits the drain once (not once per
    profile), then buffers and drops like a camera, and ends by itself after its drain."""
    dead = f"http://127.0.0.1:{free_port()}/listener.php"
    master, summary, aggregated = run_cluster(tmp_path, [
        "--ffsim-fleet", str(road_with_three_profiles(tmp_path)), "--ffsim-until", "2m", "--ffsim-drain", "1s",
        "--ffsim-http", dead, "--exit-code-on-error", "0"], users=1, run_time="60s")
    assert "every camera has ended" in master.stderr, master.stderr  # by itself after its drain, not at -t
    assert summary["states"] == {"finished": 1} and summary["totals"]["sent"] == 0, summary
    assert summary["totals"]["dropped"] + summary["totals"]["buffered"] > 0, summary
    assert int(aggregated["Request Count"]) == int(aggregated["Failure Count"]) > 0


# -- the gevent driver, in a subprocess (gevent's monkey-patching stays out of pytest) -----------------
DRIVER_CHECK = r"""
import json, sys
from gevent import monkey
monkey.patch_all()
import gevent
from ffsim.load.gevent_curl import GeventCurl
from ffsim.runner import message_of, sending_profiles
from ffsim.scenario.loader import load_scenario
from ffsim.protocol import Camera
from ffsim.transport import Message
from ffsim.transport.http import HttpTransport
from ffsim.transport.tcp import TcpTransport
import dataclasses

url, tcp, dead, slow_url = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[5]
scenario = load_scenario(sys.argv[4])
profile = sending_profiles(scenario)[1]
packets = [p for p in Camera(scenario, 0).packets_and_heartbeats(None)][:3]
messages = [message_of(p, profile) for p in packets]
curl = GeventCurl(32)
out = {}
ticks = [0]
def ticker():
    while True:
        gevent.sleep(0.001)
        ticks[0] += 1
tk = gevent.spawn(ticker)
# the same message, through the gevent driver and through the transport's own (blocking) send
a, b = HttpTransport(profile, url + "gevent"), HttpTransport(profile, url + "plain")
out["gevent"] = curl.send(a, messages[0]).detail
out["plain"] = b.send(messages[0]).detail
# 20 transports at once, 10 events each, while another greenlet runs
json_profile = dataclasses.replace(profile, format="json")
transports = [HttpTransport(json_profile, url + "many") for _ in range(20)]
results = []
ticks[0] = 0
gevent.joinall([gevent.spawn(lambda t=t: [results.append(curl.send(t, messages[1]).detail) for _ in range(10)])
                for t in transports])
out["many"] = sorted(set(results)), len(results)
out["ticks"] = ticks[0]
out["refused"] = curl.send(HttpTransport(json_profile, dead), messages[1]).detail
# a greenlet killed in the middle of a send: the transfer is aborted, the exception goes on
slow = HttpTransport(json_profile, slow_url)
g = gevent.spawn(curl.send, slow, messages[1])
while curl.in_flight == 0:  # the transfer is under way
    gevent.sleep(0.001)
g.kill(block=True)
out["killed"] = type(g.exception).__name__ if g.exception else repr(g.value)
out["in_flight"] = curl.in_flight
# TCP under monkey-patching: cooperative (select.poll and sockets are gevent's)
tcp_profile = dataclasses.replace(profile, protocol="tcp", url=tcp)
tk.kill()
yields = [0]
def yielder():  # counts the hub's turns: runs only while the sending greenlet waits
    while True:
        gevent.sleep(0)
        yields[0] += 1
tk = gevent.spawn(yielder)
gevent.sleep(0)
yields[0] = 0
out["tcp"] = [TcpTransport(tcp_profile, tcp).send(Message(m.json, (), "x")).detail for m in messages]
out["tcp_ticks"] = yields[0]
curl.close()
tk.kill()
print(json.dumps(out))
"""


def test_gevent_driver(tmp_path: Path) -> None:
    script = tmp_path / "check.py"
    script.write_text(DRIVER_CHECK)
    dead = f"http://127.0.0.1:{free_port()}/"
    with Receiver(http="127.0.0.1:0", tcp="127.0.0.1:0", max_records=None) as rx:
        rx_slow = Receiver(http="127.0.0.1:0", delay_s=5.0).start()
        try:
            result = subprocess.run([sys.executable, str(script), str(rx.http_url), str(rx.tcp_address), dead,
                                     str(SCENARIOS / "parking-gate.yaml"), str(rx_slow.http_url)],
                                    capture_output=True, text=True, timeout=60, cwd=ROOT)
        finally:
            rx_slow.stop()
        assert result.returncode == 0, result.stderr
        out = json.loads(result.stdout.strip().splitlines()[-1])
        assert rx.wait(count=1 + 1 + 200 + 3, timeout=10)
        records = rx.records
    assert out["gevent"] == out["plain"] == "200"
    assert out["many"] == [["200"], 200]
    assert out["ticks"] > 0  # the hub ran other greenlets during the transfers
    assert out["refused"] == "refused"
    assert "GreenletExit" in out["killed"] and out["in_flight"] == 0
    assert out["tcp"] == ["sent"] * 3
    assert out["tcp_ticks"] > 0  # the TCP sends let other greenlets run (Locust's monkey-patching)
    # the same request on the wire: headers in order (libcurl draws a new multipart boundary
    # for each request) and body
    gevent_rec = next(r for r in records if r.path.endswith("gevent"))
    plain_rec = next(r for r in records if r.path.endswith("plain"))

    def masked(headers: list[Any]) -> list[list[str]]:
        return [[k, re.sub(r"boundary=-+\w+", "boundary=*", v)] for k, v in headers]

    assert masked(gevent_rec.headers) == masked(plain_rec.headers)
    assert any(k == "Content-Type" and "multipart/form-data" in v for k, v in gevent_rec.headers)
    assert gevent_rec.payload == plain_rec.payload and len(gevent_rec.images) == len(plain_rec.images) > 0


def test_ffsim_locust_runs_locust_with_ffsim_s_locustfile(tmp_path):
    """`ffsim locust ARGS` is `locust -f <ffsim's locustfile> ARGS` (a real process: it execs)."""
    result = subprocess.run([sys.executable, "-m", "ffsim", "locust", "--version"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and "locust" in (result.stdout + result.stderr).lower(), result.stderr
    listed = subprocess.run([sys.executable, "-m", "ffsim", "locust", "--list"], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path)
    assert listed.returncode == 0 and "CameraUser" in listed.stdout, listed.stdout + listed.stderr
