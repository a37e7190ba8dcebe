"""ffsim load's driver (ffsim.load.run): a fleet on one loop keeps every camera's semantics.

Real receivers on loopback: every camera's events arrive complete and in order (compared with
`ffsim events` of that camera) when the receiver fails 10 % of requests; the wire is `ffsim
run`'s; a stop ends the run at once with every event accounted for.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ffsim import Run, bundled, events
from ffsim.load.run import LoadRun
from ffsim.receiver.server import Receiver
from ffsim.scenario.fleet import fleet_from_scenario, fleet_from_text

from .servers import RawRecorder, wait_for
from .test_multi import normalised
from .test_stop import Holder

START_US = 1_760_000_000_000_000  # a fixed t=0: the payloads' times are the expected ones


def fleet_file(tmp_path: Path, targets: str = "") -> str:
    text = f"""version: 1
name: rush
seed: 5
duration: 3m
{targets}
groups:
  - scenario: {bundled("parking-gate")}
    name: gate
    count: 3
    device_id: "GATE-{{n:02}}"
    ramp: 300ms
    offset: [0s, 10s]
  - scenario: {bundled("misread-corrected")}
    name: road
    count: 2
    offset_spread: seeded
    offset: [0s, 5s]
"""
    path = tmp_path / "fleet.yaml"
    path.write_text(text)
    return str(path)


def expected_payloads(fleet, until_us: int, http: str | None = None, tcp: str | None = None) -> dict[str, list]:
    """Per device id, the payloads `ffsim events` gives for that camera, in order."""
    out: dict[str, list] = {}
    for camera in fleet.cameras:
        local = until_us - camera.start_us
        packets = [] if local < 0 else events(camera.scenario, until=local / 1e6, start=START_US + camera.start_us,
                                              http=http, tcp=tcp)
        out[camera.device_id] = [json.loads(p.json_bytes()) for p in packets]
    return out


def stored_payloads(receiver: Receiver) -> dict[str, list]:
    out: dict[str, list] = {}
    for record in receiver.records:
        if record.status is not None and record.status != 200 or record.payload is None:
            continue
        payload = record.payload
        out.setdefault(payload["sensorProviderID"], []).append(payload)
    return out


def test_every_camera_s_events_arrive_complete_and_in_order_when_a_tenth_of_the_requests_fail(tmp_path):
    with Receiver(http="127.0.0.1:0", fail_rate=0.1, seed=3) as receiver:
        url = receiver.http_url + "events"
        fleet = fleet_from_text(Path(fleet_file(tmp_path)).read_text(), "fleet.yaml")
        run = LoadRun(fleet, http=url, speed="max", start=START_US, backoff=(0.001, 0.01))
        summary = run.play()
        expected = expected_payloads(fleet, fleet.duration_us, http=url)
        total = sum(len(v) for v in expected.values())
        assert total > 30
        wait_for(lambda: len(stored_payloads(receiver)) and sum(map(len, stored_payloads(receiver).values())) >= total,
                 what="the receiver to store every event")
        stored = stored_payloads(receiver)
    assert summary.total["delivered"] == total == summary.handed
    assert summary.total["failed"] > 0 and summary.total["retried"] == summary.total["failed"]
    assert summary.ok and summary.accounted and summary.not_sent == 0
    assert set(stored) == set(expected) == {c.device_id for c in fleet.cameras}
    for device, payloads in expected.items():
        assert stored[device] == payloads, device  # complete, in order, each once


def test_tcp_cameras_keep_their_order_too(tmp_path):
    with Receiver(http=None, tcp="127.0.0.1:0") as receiver:
        fleet = fleet_from_scenario(bundled("misread-corrected"), cameras=4)
        run = LoadRun(fleet, tcp=receiver.tcp_address, speed="max", start=START_US, until="40s")
        summary = run.play()
        expected = expected_payloads(fleet, 40_000_000, tcp=receiver.tcp_address)
        total = sum(len(v) for v in expected.values())
        wait_for(lambda: sum(map(len, stored_payloads(receiver).values())) >= total, what="every TCP event")
        stored = stored_payloads(receiver)
    assert summary.ok and summary.total["delivered"] == total
    assert stored == expected


def test_with_no_target_the_built_in_receiver_checks_delivered_against_stored():
    fleet = fleet_from_scenario(bundled("parking-gate"), cameras=3)
    summary = LoadRun(fleet, speed="max", until="1m").play()
    e2e = summary.end_to_end
    assert e2e is not None and e2e["delivered"] == summary.total["delivered"] > 0
    assert e2e["stored"] == e2e["delivered"] and e2e["lost"] == e2e["duplicates"] == 0
    assert summary.totals["total"]["lost"] == 0  # the `lost` threshold metric is known


def test_the_wire_of_a_fleet_camera_is_ffsim_run_s(tmp_path):
    fleet = fleet_from_scenario(bundled("misread-corrected"), cameras=2)
    with RawRecorder() as loaded, RawRecorder() as alone:
        LoadRun(fleet, http=loaded.url, speed="max", start=START_US, until="30s").play()
        camera = fleet.cameras[1]
        Run(camera.scenario, http=alone.url, speed="max", start=START_US + camera.start_us, until="30s").play()
        mine = [normalised(r) for r in loaded.requests]
        theirs = [normalised(r) for r in alone.requests]
    device = camera.device_id.encode()
    mine = [(h.replace(str(loaded.port), "PORT"), b) for h, b in mine if device in b]
    theirs = [(h.replace(str(alone.port), "PORT"), b) for h, b in theirs]
    assert mine and mine == theirs


def test_a_stop_ends_the_run_at_once_with_every_event_accounted_for():
    holder = Holder()  # accepts, never reads nor answers: every send hangs
    url = f"http://{holder.target}/events"
    try:
        fleet = fleet_from_scenario(bundled("busy-road"), cameras=5)
        run = LoadRun(fleet, http=url, speed="max", until="2m").start()
        wait_for(lambda: len(holder.held) >= 5, what="every camera sending")
        run.stop()
        summary = run.wait(timeout=2)
    finally:
        holder.close()
    assert summary is not None and summary.interrupted
    assert summary.accounted
    total = sum(1 for c in fleet.cameras for _ in events(c.scenario, until=(120_000_000 - c.start_us) / 1e6,
                                                               http=url, heartbeats=True))
    assert summary.not_sent is not None
    assert summary.handed + summary.not_sent == total
    assert summary.buffered >= 5  # the events on the wire stay buffered


def test_speed_n_measures_lateness_per_group():
    fleet = fleet_from_scenario(bundled("misread-corrected"), cameras=2)
    summary = LoadRun(fleet, speed=200, until="20s").play()
    lateness = summary.total["lateness_ms"]
    assert lateness["count"] == summary.handed > 0
    assert summary.lateness["scheduled"] == summary.handed


def test_a_fleet_without_an_end_is_refused_before_anything_is_sent(tmp_path):
    scenario = tmp_path / "endless.yaml"
    scenario.write_text(Path(bundled("busy-road")).read_text().replace("until: 24h, ", ""))
    with pytest.raises(ValueError, match="until"):
        LoadRun(fleet_from_scenario(str(scenario), cameras=2), http="http://127.0.0.1:9/")


def test_a_target_that_cannot_work_ends_the_load_with_one_clear_reason(tmp_path):
    import trustme

    ca = trustme.CA()  # a certificate nobody trusts: a fatal outcome, not an outage
    cert = tmp_path / "cert.pem"
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(cert))
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert))
    with Receiver(http="127.0.0.1:0", ssl_context=context) as receiver:
        fleet = fleet_from_scenario(bundled("parking-gate"), cameras=3)
        summary = LoadRun(fleet, http=receiver.http_url + "e", speed="max", until="1m").play()
    assert summary.fatal and "certificate" in summary.fatal[0]
    assert not summary.interrupted and not summary.ok
    assert summary.total["delivered"] == 0 and summary.accounted


def test_faults_in_a_fleet_are_sent_and_the_end_to_end_check_counts_copies_on_purpose(tmp_path):
    gate = bundled("parking-gate")
    text = (f"version: 1\nfleet: true\ngroups:\n  - scenario: {gate}\n    count: 3\n    faults:\n"
            "      - {type: duplicate, at: 18s, cameras: [2, 3]}\n      - {type: burst, during: [3s, 26s]}\n"
            "      - {type: missing_field, at: 25s, field: plateUTF8, cameras: [1]}\n")
    fleet = fleet_from_text(text, str(tmp_path / "fleet.yaml"))
    summary = LoadRun(fleet, speed="max").play()
    e2e = summary.end_to_end
    assert (e2e["delivered"], e2e["stored"], e2e["planned_duplicates"], e2e["duplicates"], e2e["lost"]) == \
        (38, 36, 2, 0, 0)
    assert e2e["violations"] == e2e["planned_faults"] == 1  # the payload fault's, on purpose
    assert summary.delivered_all


def test_coalesced_tcp_documents_are_counted_one_by_one_end_to_end(tmp_path):
    gate = tmp_path / "gate.yaml"
    gate.write_text(bundled("parking-gate").read_text() + "profiles: [{id: 1, protocol: tcp, framing: newline}]\n")
    text = (f"version: 1\nfleet: true\ngroups:\n  - scenario: {gate}\n    count: 2\n    faults:\n"
            "      - {type: tcp_coalesce, at: 4s, documents: 3}\n")
    summary = LoadRun(fleet_from_text(text, str(tmp_path / "fleet.yaml")), speed="max").play()
    e2e = summary.end_to_end
    assert summary.total["delivered"] == 2 * 10  # two writes of three: an attempt each
    assert (e2e["delivered"], e2e["stored"], e2e["duplicates"], e2e["lost"]) == (24, 24, 0, 0)
    assert summary.delivered_all
