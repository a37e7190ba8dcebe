"""TCP delivery against real receivers on loopback: what counts as sent, and what does not.

In process (the Runner), since the CLI is not what is tested here.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from ffsim.protocol import Camera
from ffsim.runner import Runner
from ffsim.scenario import load_scenario

from .servers import OneReadTcpReceiver, TcpListener

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
FAST = (0.01, 0.05)  # backoff: retries come quickly, the policy is the same


def scenario_with(tmp_path, profile: str, base: str = "parking-gate.yaml"):
    path = tmp_path / "s.yaml"
    path.write_text((SCENARIOS / base).read_text() + "profiles:\n" + textwrap.indent(textwrap.dedent(profile), "  "))
    return load_scenario(path)


def run(scenario, target: str, until_us: int | None = None, drain_s: float = 30.0):
    scenario = scenario.retargeted(None, target)
    lines = []
    summary = Runner(scenario, scenario.start_us, None, lambda p, item, outcome: lines.append(outcome.detail),
                     FAST).run(until_us, drain_s)
    return summary, lines


def texts(scenario, until_us: int | None = None) -> list[bytes]:
    scenario = scenario.retargeted(None, "127.0.0.1:9")  # the target does not change the payloads
    return [p.payload.camera_json() for p in Camera(scenario, scenario.start_us).packets(until_us)]


def test_the_field_receiver_gets_every_event_under_the_default_settings():
    """accept, one recv(65536), close: the receiver written for a real camera."""
    scenario = load_scenario(SCENARIOS / "busy-road.yaml")
    assert {p.framing for p in scenario.profiles} == {"per-connection"}  # the default, not a setting of the file
    until = 5 * 60 * 1_000_000
    with OneReadTcpReceiver() as rx:
        summary, _ = run(scenario, rx.target, until)
    expected = texts(scenario, until)
    assert len(expected) > 100
    assert rx.connections == expected  # one event per connection, each whole, in order
    assert summary.delivered_all and summary.profiles["1"]["sent"] == len(expected)


def test_short_reads_are_failures_then_retried(tmp_path):
    scenario = scenario_with(tmp_path, "- {id: 1, protocol: tcp}\n")
    with OneReadTcpReceiver(short=3, few=10) as rx:
        summary, lines = run(scenario, rx.target)
    expected = texts(scenario)
    c = summary.profiles["1"]
    # the three connections that read 10 bytes were reset (unread bytes): failed, not sent
    assert c["failed"] == 3 and c["retried"] == 3 and c["sent"] == len(expected)
    assert rx.connections[:3] == [expected[0][:10]] * 3
    assert rx.connections[3:] == expected  # then every event, once, in order
    assert sum("reset" in line and "retrying" in line for line in lines) == 3
    assert summary.delivered_all


def test_without_buffer_short_reads_are_dropped_not_sent(tmp_path):
    scenario = scenario_with(tmp_path, "- {id: 1, protocol: tcp, buffer: false}\n")
    expected = texts(scenario)
    with OneReadTcpReceiver(short=len(expected), few=10) as rx:
        summary, _ = run(scenario, rx.target)
    assert summary.profiles["1"] == {"sent": 0, "failed": len(expected), "retried": 0, "rejected": 0,
                                     "dropped": len(expected), "unconfirmed": 0, "buffered": 0}
    assert len(rx.connections) == len(expected) and not summary.delivered_all


def test_a_receiver_that_keeps_the_connection_open_fails_the_attempt(tmp_path):
    """Decision: no close within the timeout is not a receipt; the event is sent again
    (the receiver may see it twice, which it can detect by packetCounter; a loss it could not)."""
    scenario = scenario_with(tmp_path, "- {id: 1, protocol: tcp, timeout: 200ms, events: [new]}\n")
    with OneReadTcpReceiver(hold=1) as rx:
        summary, lines = run(scenario, rx.target)
    expected = texts(scenario)
    assert summary.profiles["1"]["failed"] == 1 and summary.profiles["1"]["sent"] == len(expected)
    assert "kept the connection open" in lines[0]
    assert rx.connections == [expected[0]] + expected


def test_a_kept_connection_reset_with_unread_events_is_reported(tmp_path):
    """A receiver that reads one event per connection, on a kept (newline) connection:
    later events on it are lost, and ffsim must not claim it delivered everything."""
    scenario = scenario_with(tmp_path, "- {id: 1, protocol: tcp, framing: newline}\n")
    with OneReadTcpReceiver(first_event_only=True) as rx:
        summary, _ = run(scenario, rx.target)
    expected = texts(scenario)
    got = [data for data in rx.connections if data]
    lost = len(expected) - len(got)
    assert set(got) <= set(expected) and lost > 0
    c = summary.profiles["1"]
    assert c["unconfirmed"] >= lost  # an upper bound of what was lost, never less
    assert not summary.delivered_all


def test_kept_connections_read_to_the_end_are_confirmed(tmp_path):
    """A receiver that reads until ffsim closes: nothing unconfirmed, one connection."""
    scenario = scenario_with(tmp_path, "- {id: 1, protocol: tcp, framing: none}\n")
    with TcpListener() as rx:
        summary, _ = run(scenario, rx.target)
        data = rx.data  # the listener has read everything: ffsim waited for its close
    assert data == b"".join(t.rstrip(b"\n") for t in texts(scenario))
    assert len(rx.connections) == 1 and summary.delivered_all
    assert summary.profiles["1"]["unconfirmed"] == 0


def test_the_default_framing_is_one_connection_per_event(tmp_path):
    scenario = scenario_with(tmp_path, "- {id: 1, protocol: tcp}\n")
    assert scenario.profiles[0].framing == "per-connection"
