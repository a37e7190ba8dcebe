"""`ffsim events` through the command line: in this process (tests/cli.py), and end to end, as
`python -m ffsim` in a process of its own, where a process is what is tested (the output of two
processes, a pipe closed by its reader)."""

import json
import subprocess
import sys
import time
from pathlib import Path

from ffsim.protocol import Camera
from ffsim.scenario import load_scenario

from .cli import ffsim as in_process

ROOT = Path(__file__).resolve().parents[1]
GATE = ROOT / "scenarios" / "parking-gate.yaml"


def python_m_ffsim(*args):
    return subprocess.run([sys.executable, "-m", "ffsim", *args], capture_output=True, timeout=120)


def ffsim(*args):
    return in_process(*args, text=False)


def lines(result):
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


def test_one_json_line_per_event_in_send_order():
    result = python_m_ffsim("events", str(GATE))
    assert result.returncode == 0, result.stderr
    got = lines(result)
    assert [list(item) for item in got] == [["time", "profile", "payload"]] * len(got)
    assert [item["time"] for item in got] == sorted(item["time"] for item in got)
    scenario = load_scenario(GATE)
    expected = [p.payload.as_dict() for p in Camera(scenario, scenario.start_us).packets()]
    assert [item["payload"] for item in got] == expected
    first = result.stdout.decode().splitlines()[0]
    assert first.startswith('{"time": 1795507202000, "profile": 1, "payload": {"packetCounter": "1", ')


def test_payload_only_prints_the_camera_bytes_one_after_the_other():
    result = ffsim("events", str(GATE), "--payload-only")
    scenario = load_scenario(GATE)
    expected = b"".join(p.payload.camera_json() for p in Camera(scenario, scenario.start_us).packets())
    assert result.stdout == expected
    assert result.stdout.startswith(b'{\n  "packetCounter": "1",\n  "capture_timestamp": "1795507202000",')


def test_same_file_same_bytes():
    """Two processes: two hash seeds, so no order of a set or dict of str can reach the output."""
    assert python_m_ffsim("events", str(GATE)).stdout == python_m_ffsim("events", str(GATE)).stdout


def test_until_stops_at_that_virtual_time_inclusive():
    got = lines(ffsim("events", str(GATE), "--until", "9s"))
    assert [item["payload"]["carState"] for item in got] == ["new", "update", "new", "update", "new"]
    assert got[-1]["time"] == 1795507209000  # an event at exactly 9 s is included


def test_start_overrides_the_scenario():
    got = lines(ffsim("events", str(GATE), "--start", "2030-01-01T00:00:00Z"))
    assert got[0]["time"] == 1893456002000
    assert got[0]["payload"]["datetime"] == "20300101 000002000"


def test_start_defaults_to_the_moment_the_run_starts(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(GATE.read_text().replace("start: 2026-11-24T08:00:00Z\n", ""))
    before = time.time()
    got = lines(ffsim("events", str(path)))
    after = time.time()
    first = got[0]["time"] / 1000 - 2.0  # the first car is recognised 2 s after t=0
    # the camera's frames lag t=0 by a phase under a millisecond (camera.frame_phase, seeded)
    assert before - 0.01 <= first <= after + 0.01, (before, first, after)


def test_profile_selects_one_profile(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(GATE.read_text() + "profiles:\n  - {id: 1}\n  - {id: 2, events: [lost]}\n")
    both = lines(ffsim("events", str(path)))
    assert {item["profile"] for item in both} == {1, 2}
    only = lines(ffsim("events", str(path), "--profile", "2"))
    assert only == [item for item in both if item["profile"] == 2]
    assert [item["payload"]["packetCounter"] for item in only] == ["1", "2", "3", "4"]


def test_unknown_profile_is_an_error():
    result = ffsim("events", str(GATE), "--profile", "3")
    assert result.returncode == 1
    assert b"profile 3 is not defined" in result.stderr and b"Traceback" not in result.stderr


def test_invalid_scenario_gives_positions_and_exit_1(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("version: 1\nzones: 3\n")
    result = ffsim("events", str(path))
    assert result.returncode == 1
    assert result.stderr.decode().startswith(f"{path}:2:8: zones must list 1 or 2 zones")


def test_bad_option_values_are_clear():
    result = ffsim("events", str(GATE), "--until", "soon")
    assert result.returncode == 2 and b"duration" in result.stderr and b"Traceback" not in result.stderr


def test_a_closed_pipe_is_not_an_error():
    busy = ROOT / "scenarios" / "busy-road.yaml"
    proc = subprocess.Popen([sys.executable, "-m", "ffsim", "events", str(busy)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()
    assert proc.wait(timeout=60) == 0
    assert b"Traceback" not in proc.stderr.read()


def test_events_with_a_target_prints_what_run_sends(tmp_path):
    from tests.servers import TcpListener, WerkzeugReceiver, wait_for

    # TCP: the profile carries no image by default; here it names one, so ImageArray travels too
    text = (ROOT / "scenarios" / "misread-corrected.yaml").read_text() + "\nprofiles: [{id: 1, image: plate}]\n"
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with TcpListener() as listener:
        printed = ffsim("events", str(path), "--tcp", listener.target, "--payload-only")
        assert printed.returncode == 0, printed.stderr
        run = ffsim("run", str(path), "--tcp", listener.target, "--speed", "max", "--quiet")
        assert run.returncode == 0, run.stderr
        wait_for(lambda: listener.data == printed.stdout, 10, "the listener has not read what run sent")
    assert b'"ImageArray"' in printed.stdout
    # HTTP: the event parts are the printed payloads, in order
    with WerkzeugReceiver() as receiver:
        printed = ffsim("events", str(GATE), "--http", receiver.url, "--payload-only")
        assert printed.returncode == 0, printed.stderr
        assert ffsim("run", str(GATE), "--http", receiver.url, "--speed", "max", "--quiet").returncode == 0
    printed = printed.stdout
    assert b"".join(r.files["event"][2] for r in receiver.requests) == printed


def test_events_rejects_a_malformed_target():
    result = ffsim("events", str(GATE), "--tcp", "nowhere")
    assert result.returncode == 1 and b"malformed TCP target 'nowhere'" in result.stderr
