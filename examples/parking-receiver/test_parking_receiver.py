"""The parking receiver against simulated cameras (ffsim's pytest plugin: installing ffsim is
enough for the ffsim_camera fixture).

Each test plays a scenario through a real HTTP connection to the app (the `parking` fixture of
conftest.py) and reads the database right after: at the default speed ("max") ffsim_camera
returns once every packet has been answered, and the app commits before it answers.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings

from ffsim import ScenarioBuilder
from ffsim.pytest_plugin import bundled_scenarios
from ffsim.testing import scenarios
from ffsim.vocabulary import GENERATIONS

BUNDLED = {path.stem: path for path in bundled_scenarios()}  # the scenarios that come with ffsim
FULL_FRAME = [(0, 300), (1920, 300), (1920, 1080), (0, 1080)]


def expected_passages(run) -> dict[tuple[str, str], dict]:
    """(camera, carID) -> the last event the camera sent for that passage, from the run's report."""
    last = {}
    for attempt in run.attempts:
        payload = attempt.payload
        last[payload["sensorProviderID"], payload["carID"]] = payload
    return last


def test_parking_gate_stores_every_car_with_its_direction(ffsim_camera, parking):
    run = ffsim_camera(BUNDLED["parking-gate"], http=parking.url)

    assert run.summary.delivered_all
    assert {a.status for a in run.attempts} == {200}
    rows = {p["plate"]: p for p in parking.passages()}
    assert {plate: p["direction"] for plate, p in rows.items()} == {
        "5SX2207": "in", "2AB4455": "in", "1AZ9981": "out", "7T13030": "in"}
    assert {p["state"] for p in rows.values()} == {"lost"}  # every passage closed
    # one image (the vehicle crop) with every event of the passage
    events_per_car = defaultdict(int)
    for attempt in run.attempts:
        events_per_car[attempt.car_id] += 1
    assert {p["car_id"]: p["images"] for p in rows.values()} == events_per_car
    # the car waiting 8 s at the barrier: first seen and last update are the camera's capture times
    gate = rows["5SX2207"]
    assert gate["last_update"] - gate["first_seen"] > 8000


def test_a_misread_is_replaced_by_the_corrected_plate(ffsim_camera, parking):
    run = ffsim_camera(BUNDLED["misread-corrected"], http=parking.url)

    assert run.attempts[0].plate == "5SX22B7"  # the New had it wrong
    (passage,) = parking.passages()
    assert (passage["plate"], passage["state"]) == ("5SX2287", "lost")


def test_a_car_back_after_the_lost_timeout_is_a_new_passage(ffsim_camera, parking):
    ffsim_camera(BUNDLED["occlusion"], http=parking.url)

    rows = parking.passages()
    assert [(p["plate"], p["car_id"], p["direction"]) for p in rows] == [
        ("5SX2207", "1", "in"),  # hidden for 2 s behind a bus: still one passage
        ("4A27788", "2", "in"),
        ("4A27788", "3", "out"),  # parked 12 s outside the zone, then drove back
    ]


@pytest.mark.ffsim_bundled
def test_every_bundled_scenario_is_stored(ffsim_camera, ffsim_bundled_scenario, parking):
    # the first two minutes (busy-road's traffic goes on all day), every profile over HTTP to us
    run = ffsim_camera(ffsim_bundled_scenario, http=parking.url, until="2m")

    assert {a.status for a in run.attempts} == {200}
    expected = expected_passages(run)
    stored = {(p["camera"], p["car_id"]): p for p in parking.passages()}
    assert stored.keys() == expected.keys()
    for key, last in expected.items():
        assert (stored[key]["plate"], stored[key]["state"]) == (last["plateUTF8"], last["carState"])


def test_json_bodies_with_two_images_going_out(ffsim_camera, parking):
    scenario = (ScenarioBuilder(name="exit", seed=3, start="2026-11-24T18:00:00Z")
                .camera(device_id="EXIT-1")
                .zone(1, FULL_FRAME, direction=180)  # the arrow points into the car park
                .vehicle("5SX 2207", [(960, 1060), (960, 320)], at="1s", speed=300)  # driving out
                .profile(1, format="json", image="frame", second_image=True))

    run = ffsim_camera(scenario, http=parking.url)

    assert {a.status for a in run.attempts} == {200}
    (passage,) = parking.passages()
    assert (passage["camera"], passage["plate"], passage["direction"]) == ("EXIT-1", "5SX2207", "out")
    assert passage["images"] == 2 * len(run.attempts)  # the frame and the plate crop, inline in ImageArray


def test_a_passage_stays_open_until_its_lost(ffsim_camera, parking):
    scenario = (ScenarioBuilder(seed=1, start="2026-11-24T08:00:00Z")
                .recognition(lost_timeout="5s")
                .zone(1, FULL_FRAME, direction=180)
                .vehicle("2AB 4455", [(960, 320), (960, 1070)], at="1s", duration="3s"))  # gone at 4 s

    ffsim_camera(scenario, http=parking.url, until="6s")  # stop before the Lost, due at about 9 s
    (passage,) = parking.passages()
    assert (passage["state"], passage["direction"]) == ("update", "in")

    ffsim_camera(scenario, http=parking.url)  # the camera again, this time to the end
    (passage,) = parking.passages()
    assert passage["state"] == "lost"


@pytest.mark.parametrize("content_type, body", [
    ("application/json", b"{not json"),
    ("application/json", b'["an", "array"]'),
    ("multipart/form-data; boundary=x", b'--x\r\nContent-Disposition: form-data; name="photo"\r\n\r\n1\r\n--x--\r\n'),
], ids=["not-json", "not-an-object", "no-event-part"])
def test_unreadable_bodies_are_refused(parking, content_type, body):
    request = urllib.request.Request(parking.url, data=body, headers={"Content-Type": content_type})
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=5)
    assert answer.value.code == 400
    assert parking.passages() == []


@pytest.mark.ffsim_firmware
def test_every_firmware_generation_is_accepted(ffsim_camera, ffsim_firmware, parking, request):
    if ffsim_firmware == "2019":
        request.applymarker(pytest.mark.xfail(
            strict=True, raises=AssertionError,
            reason="2019 firmware sends 17 keys: no plateUTF8 and no capture_timestamp, which the receiver "
                   "needs (it answers 400)"))

    run = ffsim_camera(BUNDLED["parking-gate"], http=parking.url, firmware=ffsim_firmware)

    assert {a.status for a in run.attempts} == {200}
    assert sorted(p["plate"] for p in parking.passages()) == ["1AZ9981", "2AB4455", "5SX2207", "7T13030"]


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenarios(max_vehicles=3, max_flows=0, firmware=[g for g in GENERATIONS if g != "2019"]))
def test_any_camera_any_traffic(ffsim_camera, parking, scenario):
    # random cameras, zones, plates, misreads, occlusions; the database is shared by the examples
    parking.clear()
    run = ffsim_camera(scenario, http=parking.url)

    assert {a.status for a in run.attempts} == {200}
    stored = {(p["camera"], p["car_id"]): p for p in parking.passages()}
    expected = expected_passages(run)
    assert stored.keys() == expected.keys()
    for key, lost in expected.items():
        assert lost["carState"] == "lost"  # every passage of these scenarios ends
        row = stored[key]
        assert (row["plate"], row["direction"], row["state"]) == (
            lost["plateUTF8"], lost["carMoveDirection"], "lost")


def test_the_receiver_under_continuous_traffic(ffsim_camera, parking):
    enough = threading.Event()
    answers = 0

    def on_attempt(attempt):  # called by ffsim's delivery thread after every attempt
        nonlocal answers
        answers += attempt.ok
        if answers >= 40:
            enough.set()

    # busy-road's traffic goes on for a day; until="1h" (which it never reaches here) spares stop() the
    # counting of a whole day of events never sent
    run = ffsim_camera(BUNDLED["busy-road"], http=parking.url, until="1h", background=True, on_attempt=on_attempt)
    assert enough.wait(timeout=30), "the camera did not get 40 answers"
    run.stop()  # mid-traffic: the sends in progress are aborted, some passages are still open

    delivered = run.delivered()
    assert len(delivered) >= 40 and {a.status for a in delivered} == {200}
    assert not [a for a in run.attempts if a.rejected]
    stored = {p["car_id"]: p["state"] for p in parking.passages()}
    # an aborted send may have been stored before its answer was lost
    assert {a.car_id for a in delivered} <= stored.keys() <= {a.car_id for a in run.attempts}
    assert "lost" in stored.values() and set(stored.values()) - {"lost"}  # closed ones, and ones under way


# -- faults on purpose: what a camera in the field does on a bad day ---------------------------------
# One test per fault family (ffsim's scenarios/faults/, or its catalogue through the ffsim_faults
# marker). Where this receiver mishandles a fault the test is an expected failure with the reason:
# that is what the tests are for; fix the receiver and the xfail turns into a failure to remove.
FAULTS = {path.stem: path for path in (BUNDLED["parking-gate"].parent / "faults").glob("*.yaml")}


def events_per_car(run) -> dict[str, int]:
    """How many distinct events (packetCounters) of each passage the camera sent."""
    sent = defaultdict(set)
    for attempt in run.attempts:
        sent[attempt.car_id].add(attempt.counter)
    return {car: len(counters) for car, counters in sent.items()}


@pytest.mark.xfail(strict=True, raises=AssertionError, reason="a re-sent event adds its images again (images = images + excluded.images): "
                                       "the receiver does not recognise an identical re-send")
def test_fault_duplicate_a_re_sent_event_is_counted_once(ffsim_camera, parking):
    run = ffsim_camera(FAULTS["duplicate"], http=parking.url)

    assert [a.faults[0]["type"] for a in run.attempts if a.faults] == ["duplicate", "duplicate"]
    rows = {p["car_id"]: p for p in parking.passages()}
    assert {car: p["state"] for car, p in rows.items()} == dict.fromkeys(events_per_car(run), "lost")
    assert {car: p["images"] for car, p in rows.items()} == events_per_car(run)


@pytest.mark.xfail(strict=True, raises=AssertionError, reason="first_seen is the capture time of the first event to arrive, not of the "
                                       "passage's New: an Update that overtakes its New moves it")
def test_fault_reorder_first_seen_is_the_new_s_capture_time(ffsim_camera, parking):
    run = ffsim_camera(FAULTS["reorder"], http=parking.url)

    news = {a.car_id: int(a.payload["capture_timestamp"]) for a in run.attempts if a.state == "new"}
    rows = {p["car_id"]: p for p in parking.passages()}
    assert {car: p["state"] for car, p in rows.items()} == dict.fromkeys(news, "lost")
    assert {car: p["first_seen"] for car, p in rows.items()} == news


def test_fault_burst_the_flush_after_an_outage_is_stored_whole(ffsim_camera, parking):
    run = ffsim_camera(FAULTS["burst"], http=parking.url)

    assert len([a for a in run.attempts if a.faults]) == 7 and {a.status for a in run.attempts} == {200}
    rows = {p["plate"]: p for p in parking.passages()}
    assert sorted(rows) == ["1AZ9981", "2AB4455", "5SX2207", "7T13030"]
    assert {p["state"] for p in rows.values()} == {"lost"}


@pytest.mark.xfail(strict=True, raises=AssertionError, reason="carIDs start again at 1 after a restart and the key is camera + carID: a "
                                       "passage after the restart overwrites one from before it")
def test_fault_restart_passages_before_and_after_stay_apart(ffsim_camera, parking):
    run = ffsim_camera(FAULTS["restart"], http=parking.url)

    news = [a for a in run.attempts if a.state == "new"]
    assert any(a.faults and a.faults[0]["type"] == "restart" for a in run.attempts)
    assert len({a.car_id for a in news}) < len(news)  # carIDs were used twice
    assert len(parking.passages()) == len(news)  # one row per passage


def test_fault_clock_the_camera_s_time_is_stored_as_it_says(ffsim_camera, parking):
    run = ffsim_camera(FAULTS["clock"], http=parking.url)

    assert {a.status for a in run.attempts} == {200}
    rows = {p["plate"]: p for p in parking.passages()}
    # the camera's clock stepped back an hour at 20 s: the last car is first seen "before" the others
    assert rows["7T13030"]["first_seen"] < rows["5SX2207"]["first_seen"] - 3_000_000
    assert {p["state"] for p in rows.values()} == {"lost"}


@pytest.mark.ffsim_faults("reset_mid_body", "truncated_multipart", "trickle")
def test_fault_wire_a_cut_or_slow_request_is_stored_once(ffsim_camera, ffsim_fault, parking):
    run = ffsim_camera(BUNDLED["parking-gate"], http=parking.url, faults=[ffsim_fault])

    faulted = [a for a in run.attempts if a.faults]
    assert faulted and run.summary.delivered_all
    rows = {p["car_id"]: p for p in parking.passages()}
    assert {car: p["images"] for car, p in rows.items()} == events_per_car(run)  # nothing stored twice or half
    assert {p["state"] for p in rows.values()} == {"lost"}


MISHANDLED = {
    "missing_field": "answered 400 and never sent again (a refused event is not retried): the passage never "
                     "closes; fall back to plateText or plateASCII when plateUTF8 is missing",
    "invalid_utf8_plate": "json.loads fails on the bytes and the event is answered 400: the passage never closes",
}


@pytest.mark.ffsim_faults(families=["payload"])
def test_fault_payload_every_passage_is_stored_and_closed(ffsim_camera, ffsim_fault, parking, request):
    if ffsim_fault.name in MISHANDLED:
        request.applymarker(pytest.mark.xfail(strict=True, raises=AssertionError,
                                              reason=MISHANDLED[ffsim_fault.name]))

    run = ffsim_camera(BUNDLED["parking-gate"], http=parking.url, faults=[ffsim_fault])

    assert [a.faults[0]["type"] for a in run.attempts if a.faults] == [ffsim_fault.name]
    assert all(a.status < 500 for a in run.attempts)  # never a server error
    rows = parking.passages()
    assert sorted(p["plate"] for p in rows) == ["1AZ9981", "2AB4455", "5SX2207", "7T13030"]
    assert {p["state"] for p in rows} == {"lost"}
