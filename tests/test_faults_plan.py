"""The fault plan (sans-I/O): each schedule-level and payload fault does exactly what it says to the
camera's packet stream, and nothing else; every packet is accounted for."""

import base64
import json

import pytest

import ffsim
from ffsim import scenario_from_text
from ffsim.faults.plan import FaultPlan
from ffsim.protocol import Camera
from ffsim.protocol.jsonwire import camera_json

GATE = ffsim.bundled("parking-gate").read_text()


def gate(faults: str, profiles: str = "") -> ffsim.Scenario:
    return scenario_from_text(GATE + profiles + "faults:\n" + faults)


def sent(scenario, until_us=None):
    camera = Camera(scenario, scenario.start_us)
    return list(FaultPlan(scenario, until_us=until_us).apply(camera.packets(until_us)))


def counters(items):
    return [(s.packet.profile, int(s.packet.payload.counter)) for s in items]


def plain(scenario):
    return [(p.profile, int(p.payload.counter)) for p in ffsim.events(scenario.__class__(**{
        **{f: getattr(scenario, f) for f in scenario.__dataclass_fields__}, "faults": ()}))]


def test_no_faults_is_the_stream_itself():
    scenario = ffsim.load_scenario(ffsim.bundled("parking-gate"))
    items = sent(scenario)
    assert [s.packet.json_bytes() for s in items] == [p.json_bytes() for p in ffsim.events(scenario)]
    assert all(s.faults == [] and s.wire is None and not s.coalesced for s in items)


def test_duplicate_sends_the_same_bytes_again_after_the_delay():
    scenario = gate("  - {type: duplicate, at: 18s, events: [lost], delay: 2s, copies: 2}\n")
    items = sent(scenario)
    order = counters(items)
    assert order == plain(scenario)[:8] + [(1, 8), (1, 8)] + plain(scenario)[8:]
    copies = [s for s in items if s.faults]
    assert [s.faults for s in copies] == [[{"type": "duplicate", "name": "duplicate", "of": 8, "copy": 1}],
                                         [{"type": "duplicate", "name": "duplicate", "of": 8, "copy": 2}]]
    original = next(s for s in items if counters([s]) == [(1, 8)] and not s.faults)
    assert all(c.packet.json_bytes() == original.packet.json_bytes() for c in copies)
    assert all(c.time_us == original.time_us + 2_000_000 for c in copies)
    assert [s.time_us for s in items] == sorted(s.time_us for s in items)


def test_reorder_at_sends_the_hit_packet_after_window_minus_one_later_ones():
    scenario = gate("  - {type: reorder, at: 9s, window: 3}\n")
    order = counters(sent(scenario))
    assert order[4:7] == [(1, 6), (1, 7), (1, 5)]
    assert sorted(order) == plain(scenario)  # nothing lost, nothing added


def test_reorder_during_shuffles_blocks_seeded_and_never_keeps_the_order():
    scenario = gate("  - {type: reorder, during: [0s, 60s], window: 4, seed: 1}\n")
    order = [c for _, c in counters(sent(scenario))]
    assert sorted(order) == list(range(1, 13))
    for start in (0, 4, 8):  # each block of 4 keeps its packets, in another order
        assert sorted(order[start:start + 4]) == list(range(start + 1, start + 5))
        assert order[start:start + 4] != list(range(start + 1, start + 5))
    assert order == [c for _, c in counters(sent(scenario))]  # seeded: the same again


def test_burst_holds_the_outage_and_releases_it_in_order_at_its_end():
    scenario = gate("  - {type: burst, during: [3s, 26s]}\n")
    items = sent(scenario)
    assert counters(items) == plain(scenario)  # the order is kept
    held = [s for s in items if s.faults]
    assert [int(s.packet.payload.counter) for s in held] == [3, 4, 5, 6, 7, 8, 9]
    assert {s.time_us for s in held} == {26_000_000}
    assert held[0].faults == [{"type": "burst", "name": "burst", "held_ms": 22000}]


def test_tcp_coalesce_puts_the_following_documents_into_one_write():
    scenario = gate("  - {type: tcp_coalesce, at: 4s, documents: 3, profiles: [2]}\n",
                    "profiles: [{id: 1}, {id: 2, protocol: tcp, framing: newline}]\n")
    items = sent(scenario)
    joined = [s for s in items if s.coalesced]
    assert len(joined) == 1
    first = joined[0]
    assert [int(d.packet.payload.counter) for d in first.documents()] == [3, 4, 5]
    assert first.packet.profile == 2 and first.time_us == 9_000_000  # when the last of them is due
    # every packet still goes out exactly once
    flat = [(d.packet.profile, int(d.packet.payload.counter)) for s in items for d in s.documents()]
    assert sorted(flat) == sorted(plain(scenario))


def test_share_strikes_the_same_packets_whatever_else_is_in_the_scenario():
    one = gate("  - {type: duplicate, share: 0.5, seed: 4}\n")
    two = gate("  - {type: reorder, at: 30s, window: 2}\n  - {type: duplicate, share: 0.5, seed: 4}\n")
    hit = lambda s: sorted(f["of"] for i in sent(s) for f in i.faults if f["type"] == "duplicate")  # noqa: E731
    assert hit(one) == hit(two) and 0 < len(hit(one)) < 12


def test_rate_strikes_seeded_moments():
    scenario = gate("  - {type: duplicate, rate: 6/min, seed: 9}\n")
    first = [f["of"] for i in sent(scenario) for f in i.faults]
    assert first and first == [f["of"] for i in sent(scenario) for f in i.faults]


def payload_of(scenario, counter: int, profile: int = 1):
    return next(s for s in sent(scenario) if (s.packet.profile, int(s.packet.payload.counter)) == (profile, counter))


def test_missing_field_and_wrong_type_rewrite_the_json_as_the_camera_writes_it():
    scenario = gate("  - {type: missing_field, at: 2s, field: plateUTF8}\n"
                    "  - {type: wrong_type, at: 4s, field: vehicle_info.color, as: number}\n")
    missing = payload_of(scenario, 1)
    original = next(iter(ffsim.events(ffsim.bundled("parking-gate"))))
    expected = original.payload.as_dict()
    del expected["plateUTF8"]
    assert missing.packet.json_bytes() == camera_json(expected)
    assert missing.faults == [{"type": "missing_field", "name": "missing_field", "field": "plateUTF8"}]
    wrong = json.loads(payload_of(scenario, 3).packet.json_bytes())
    assert wrong["vehicle_info"]["color"] == 0 and isinstance(wrong["carID"], str)


def test_invalid_utf8_plate_puts_the_bytes_into_the_wire_and_an_escape_into_the_line():
    scenario = gate("  - {type: invalid_utf8_plate, at: 2s, bytes: c328}\n")
    packet = payload_of(scenario, 1).packet
    raw = packet.json_bytes()
    assert b'"plateUTF8": "\xc3\x285SX2207"' in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    line = packet.payload.compact()
    line.encode("utf-8")  # the events line stays UTF-8
    assert '"plateUTF8": "\\udcc3(5SX2207"' in line


def test_image_faults_replace_the_image_bytes_and_keep_the_part():
    scenario = gate("  - {type: empty_image, at: 2s}\n  - {type: undecodable_image, at: 4s, how: truncated}\n"
                    "  - {type: oversized_image, at: 9s, size: 300KB}\n  - {type: missing_image, at: 16s}\n")
    good = {int(p.payload.counter): p for p in ffsim.events(ffsim.bundled("parking-gate"))}
    empty, cut, big, gone = (payload_of(scenario, c).packet for c in (1, 3, 5, 7))
    assert [a.data for a in empty.payload.attachments] == [b""]
    whole = good[3].payload.attachments[0].data
    assert cut.payload.attachments[0].data == whole[: len(whole) // 2]
    padded = big.payload.attachments[0].data
    assert 299_000 < len(padded) <= 300_000 and padded.startswith(b"\xff\xd8\xff\xfe")
    from PIL import Image
    import io
    assert Image.open(io.BytesIO(padded)).size == Image.open(io.BytesIO(good[5].payload.attachments[0].data)).size
    assert gone.payload.attachments == () and gone.json_bytes() == good[7].json_bytes()  # imageType still named


def test_image_faults_act_on_the_image_array_of_json_payloads():
    scenario = gate("  - {type: empty_image, at: 2s}\n", "profiles: [{id: 1, format: json}]\n")
    data = json.loads(payload_of(scenario, 1).packet.json_bytes())
    assert [base64.b64decode(e["BinaryImage"]) for e in data["ImageArray"]] == [b""]


@pytest.mark.parametrize("profile", ["{id: 1}", "{id: 1, format: json}", "{id: 1, protocol: tcp}"])
def test_payload_faults_rewrite_every_generation_byte_for_byte_but_for_the_fault(profile):
    for firmware in ffsim.vocabulary.GENERATIONS:
        text = GATE.replace("fps: 10}", f"fps: 10, firmware: {firmware}}}") + f"profiles: [{profile}]\n"
        for p in ffsim.events(scenario_from_text(text)):  # the writer the faults use is the camera's own
            assert camera_json(p.payload.as_dict()) == p.json_bytes(), firmware
        key = "carState"  # in every generation, never the last key
        faulted = scenario_from_text(text + f"faults: [{{type: missing_field, share: 1, field: {key}}}]\n")
        for good, bad in zip(ffsim.events(scenario_from_text(text)), ffsim.events(faulted)):
            before, after = good.json_bytes().splitlines(), bad.json_bytes().splitlines()
            assert [line for line in before if line not in after] == [b'  "%s": "%s",' % (
                key.encode(), good.payload[key].encode())], firmware
            assert [line for line in after if line not in before] == [], firmware


def test_events_lines_carry_the_marks_and_payload_only_the_bytes(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "dup.yaml"
    path.write_text(GATE + "faults:\n  - {type: duplicate, at: 18s, events: [lost]}\n")
    events = [sys.executable, "-W", "ignore", "-m", "ffsim", "events", str(path)]
    lines = subprocess.run(events, capture_output=True, text=True, check=True).stdout.splitlines()
    plain_lines = subprocess.run(events + ["--no-faults"], capture_output=True, text=True,
                                 check=True).stdout.splitlines()
    assert len(lines) == len(plain_lines) + 1
    marked = [json.loads(line) for line in lines if '"fault"' in line]
    assert [list(m) for m in marked] == [["time", "profile", "fault", "payload"]]
    assert marked[0]["fault"] == [{"type": "duplicate", "name": "duplicate", "of": 8, "copy": 1}]
    assert [line for line in lines if '"fault"' not in line] == plain_lines


# -- faults on the same packets: every packet once, in time order, every fault done ----------------------
TWO = "profiles: [{id: 1}, {id: 2, protocol: tcp, framing: newline}]\n"


def in_time_order(items) -> bool:
    return [s.time_us for s in items] == sorted(s.time_us for s in items)


def every_packet_once(scenario, items) -> bool:
    flat = sorted((d.packet.profile, int(d.packet.payload.counter)) for s in items for d in s.documents()
                  if not any(f["type"] == "duplicate" for f in d.faults))
    return flat == sorted(plain(scenario))


@pytest.mark.parametrize("faults", [
    "  - {type: reorder, during: [0s, 5s], window: 4, profiles: [1], seed: 1}\n",
    "  - {type: reorder, during: [0s, 25s], window: 5, events: [new], seed: 1}\n",
    "  - {type: tcp_coalesce, at: 2s, documents: 3, profiles: [2]}\n  - {type: burst, during: [3s, 26s]}\n",
    "  - {type: tcp_coalesce, at: 4s, documents: 3, profiles: [2]}\n  - {type: reorder, at: 6s, window: 2}\n"
    "  - {type: duplicate, share: 0.5, seed: 2}\n  - {type: burst, during: [20s, 31s], profiles: [1]}\n",
    "  - {type: reorder, at: 42s, window: 3}\n  - {type: tcp_coalesce, at: 40s, documents: 5, profiles: [2]}\n",
    "  - {type: reorder, share: 1, window: 3}\n  - {type: tcp_coalesce, share: 1, documents: 3}\n"
    "  - {type: duplicate, share: 1}\n",
], ids=["block-left-open", "block-closed-by-time", "coalesce-then-burst", "everything", "at-the-end", "share-1"])
def test_combined_faults_keep_time_order_and_every_packet(faults):
    scenario = gate(faults, TWO)
    items = sent(scenario)
    assert in_time_order(items)
    assert every_packet_once(scenario, items)
    # a held packet goes out within a few others of its profile (at most a window, a write, a burst)
    for profile in (1, 2):
        order = [int(d.packet.payload.counter) for s in items for d in s.documents()
                 if d.packet.profile == profile and not any(f["type"] == "duplicate" for f in d.faults)]
        assert all(abs(n - 1 - i) <= 8 for i, n in enumerate(order)), order
    for s in items:  # every copy is the packet it names
        for d in s.documents():
            for f in d.faults:
                if f["type"] == "duplicate":
                    assert int(d.packet.payload.counter) == f["of"]
    kinds = {f["type"] for s in items for d in s.documents() for f in d.faults}
    assert kinds == {f.type for f in scenario.faults}  # each fault struck and left its mark


def test_a_burst_holds_a_packet_a_coalesce_was_gathering_for():
    items = sent(gate("  - {type: tcp_coalesce, at: 2s, documents: 3, profiles: [2]}\n"
                      "  - {type: burst, during: [3s, 26s], profiles: [2]}\n", TWO))
    for s in items:
        for d in s.documents():
            if d.packet.profile == 2 and 3_000_000 <= d.packet.time_us < 26_000_000:
                assert s.time_us == 26_000_000


def test_a_duplicate_of_a_coalesced_document_copies_that_document():
    items = sent(gate("  - {type: tcp_coalesce, at: 4s, documents: 3, profiles: [2]}\n"
                      "  - {type: duplicate, at: 6s, profiles: [2]}\n", TWO))
    (copy,) = [s for s in items if any(f["type"] == "duplicate" for f in s.faults)]
    assert copy.faults[0]["of"] == int(copy.packet.payload.counter) == 5


def test_a_tcp_split_of_a_coalesced_document_splits_the_write():
    items = sent(gate("  - {type: tcp_coalesce, at: 4s, documents: 3, profiles: [2]}\n"
                      "  - {type: tcp_split, at: 6s, profiles: [2]}\n", TWO))
    (write,) = [s for s in items if s.coalesced]
    assert write.wire is not None and write.wire.kind == "tcp_split"
