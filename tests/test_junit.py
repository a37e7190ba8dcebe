"""`ffsim run --junit FILE`: a test case per packet, failures with their answers."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from .servers import WerkzeugReceiver

ROOT = Path(__file__).resolve().parents[1]
GATE = ROOT / "scenarios" / "parking-gate.yaml"  # 12 packets on profile 1


def ffsim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ffsim", *args], capture_output=True, text=True, timeout=120)


def cases(path: Path) -> tuple[ET.Element, list[ET.Element]]:
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    (suite,) = root
    return suite, list(suite)


def test_every_packet_is_a_passing_case_when_delivered(tmp_path):
    report = tmp_path / "ffsim.xml"
    with WerkzeugReceiver() as rx:
        result = ffsim("run", str(GATE), "--http", rx.url, "--speed", "max", "-q", "--junit", str(report))
    assert result.returncode == 0, result.stderr
    suite, found = cases(report)
    packets = [c for c in found if c.get("classname") == "ffsim.parking-gate.profile1"]
    assert len(packets) == 12 == len(rx.requests)
    assert packets[0].get("name") == "packet 1 new car 1 5SX2207"
    assert suite.get("failures") == "0" and suite.get("tests") == str(len(found))
    assert not any(c.find("failure") is not None for c in found)
    assert os.stat(report).st_mode & 0o777 == 0o600


def test_a_rejected_packet_fails_with_its_answer(tmp_path):
    answers = iter([200, 400])  # the second packet is refused (400 is not retried), the rest taken

    def status():
        return next(answers, 200)

    report = tmp_path / "ffsim.xml"
    with WerkzeugReceiver(status=status) as rx:
        result = ffsim("run", str(GATE), "--http", rx.url, "--speed", "max", "-q", "--junit", str(report))
    assert result.returncode == 1
    suite, found = cases(report)
    failed = [c for c in found if c.find("failure") is not None]
    assert suite.get("failures") == "1" and [c.get("name") for c in failed] == ["packet 2 update car 1 5SX2207"]
    failure = failed[0].find("failure")
    assert failure.get("message") == "400 rejected" and failure.text == "attempt 1: 400 rejected"
    assert len(rx.requests) == 11


def test_packets_never_sent_fail_in_a_case_of_their_own(tmp_path):
    """A receiver that refuses every connection, no drain: packets stay buffered, the run ends."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    report = tmp_path / "ffsim.xml"
    result = ffsim("run", str(GATE), "--http", f"http://127.0.0.1:{port}/", "--speed", "max", "-q", "--drain", "0s",
                   "--junit", str(report))
    assert result.returncode == 1
    suite, found = cases(report)
    failed = [c for c in found if c.find("failure") is not None]
    assert len(failed) == 12  # every packet: refused and still buffered, or never attempted
    assert all(c.find("failure").get("message").startswith("not delivered, still buffered at the end") for c in failed)
    assert int(suite.get("failures")) == 12


def test_the_built_in_receiver_s_findings_are_a_case(tmp_path):
    report = tmp_path / "ffsim.xml"
    result = ffsim("run", str(GATE), "--speed", "max", "-q", "--junit", str(report))
    assert result.returncode == 0, result.stderr
    _, found = cases(report)
    (case,) = [c for c in found if c.get("name") == "built-in receiver: no protocol violations"]
    assert case.find("failure") is None


def test_events_dropped_before_any_attempt_are_failures_with_their_reason(tmp_path):
    """A full buffer drops events never attempted (an outage longer than the buffer)."""
    import socket

    scenario = tmp_path / "small-buffer.yaml"
    scenario.write_text(GATE.read_text() + "\nprofiles: [{id: 1, buffer_size: 2, format: json, image: none}]\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    report = tmp_path / "ffsim.xml"
    result = ffsim("run", str(scenario), "--http", f"http://127.0.0.1:{port}/", "--speed", "max", "-q",
                   "--drain", "1s", "--junit", str(report))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    suite, found = cases(report)
    messages = [c.find("failure").get("message") for c in found if c.find("failure") is not None]
    assert messages.count("dropped: buffer full") == 10  # 12 events, 2 kept
    assert len(messages) == 12 and int(suite.get("failures")) == 12


def test_a_report_that_cannot_be_written_is_refused_before_the_run(tmp_path):
    result = ffsim("run", str(GATE), "--speed", "max", "-q", "--junit", str(tmp_path / "missing" / "r.xml"))
    assert result.returncode == 1 and "cannot write" in result.stderr
    assert "built-in receiver" not in result.stdout + result.stderr  # nothing was sent
