"""Properties of whole runs over random scenarios: lifecycles, counters, order, determinism."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ffsim.faults.timing import restart_windows
from ffsim.protocol import Camera
from ffsim.scenario import load_scenario
from ffsim.vocabulary import STATE_RANK as RANK
W, H = 1280, 720


@st.composite
def scenarios(draw):
    zones = [{"id": 1, "polygon": [[0, 200], [W, 200], [W, 500], [0, 500]], "direction": draw(st.sampled_from([0, 180, 90]))}]
    if draw(st.booleans()):
        zones.append({"id": 2, "polygon": [[0, 450], [W, 450], [W, H], [0, H]], "direction": 180})
    vehicles = []
    for i in range(draw(st.integers(0, 6))):
        path = [[draw(st.integers(0, W)), draw(st.integers(0, H))] for _ in range(draw(st.integers(1, 3)))]
        if draw(st.booleans()):
            path[0] = {"at": path[0], "wait": f"{draw(st.integers(0, 8))}s"}
        v = {"plate": draw(st.sampled_from(["5SX 2207", "AB 123", "TÖL 5"])), "at": f"{draw(st.integers(0, 20))}s",
             "path": path, "speed": draw(st.integers(50, 600))}
        if draw(st.booleans()):
            start = draw(st.integers(0, 5))
            v["hidden"] = [[f"{start}s", f"{start + draw(st.integers(1, 9))}s"]]
        if draw(st.booleans()):
            v["reads"] = [{"text": "5SX22O7", "confidence": 0.4, "for": "0.3s"}, {"text": "5SX2207"}]
        vehicles.append(v)
    traffic = []
    if draw(st.booleans()):
        traffic.append({"zone": 1, "rate": f"{draw(st.integers(60, 3000))}/h", "until": "2m",
                        "direction": {"in": 0.5, "out": 0.5},
                        "misread": draw(st.sampled_from([0.3, {"growing": 0.3, "regression": 0.3}])),
                        "countries": {"CZE": 1, "DEU": 1, "GBR": 1, "USA": 1, "POL": 1, "UKR": 1, "FRA": 1, "SWE": 1}})
    profiles = [{"id": 1}]
    if draw(st.booleans()):
        profiles.append({"id": 3, "events": draw(st.sampled_from(
            [["lost"], ["new", "lost"], ["update"], ["new", "update", "reliable", "lost"]]))})
    return {
        "version": 1, "seed": draw(st.integers(0, 10**6)), "start": "2026-11-24T08:00:00Z",
        "camera": {"resolution": [W, H], "fps": draw(st.sampled_from([5, 10, 12.5, 25]))},
        "recognition": {"lost_timeout": draw(st.sampled_from(["2s", "5s"])),
                        "update_interval": draw(st.sampled_from(["0s", "300ms"])),
                        "reliable_confidence": draw(st.sampled_from([0.5, 0.9])),
                        "reliable_timeout": draw(st.sampled_from(["0.5s", "1s", "9s"]))},
        "zones": zones, "vehicles": vehicles, "traffic": traffic, "profiles": profiles,
    }


def run(tmp_path, doc):
    path = tmp_path / "s.yaml"
    path.write_text(json.dumps(doc))
    scenario = load_scenario(path)
    return [(p.epoch_ms, p.profile, p.payload.camera_json()) for p in Camera(scenario, scenario.start_us).packets()]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                     HealthCheck.too_slow])
@given(scenarios())
def test_lifecycle_counters_and_order(tmp_path, doc):
    packets = run(tmp_path, doc)
    full = [(t, json.loads(raw)) for t, profile, raw in packets if profile == 1]
    # send order: time, then carID, then New, Update, Lost
    keys = [(t, int(p["carID"]), RANK[p["carState"]]) for t, p in full]
    assert keys == sorted(keys)
    passages = {}
    for t, p in full:
        passages.setdefault(p["carID"], []).append((t, p))
    timeout = int(doc["recognition"]["lost_timeout"][:-1]) * 1000
    news = [int(p["carID"]) for _, p in full if p["carState"] == "new"]
    assert news == sorted(news) and len(set(news)) == len(news)
    for car_id, events in passages.items():
        states = [p["carState"] for _, p in events]
        assert states[0] == "new" and states[-1] == "lost"
        assert states.count("new") == 1 and states.count("lost") == 1
        assert events[0][1]["carMoveDirection"] == "unknown"
        lost_time, lost = events[-1]
        assert lost["frame_timestamp"] == "0"
        assert lost_time - int(lost["capture_timestamp"]) > timeout
        directions = [p["carMoveDirection"] for _, p in events[1:]]
        decided = [d for d in directions if d != "unknown"]
        assert len(set(decided)) <= 1  # decided once per passage
    every = [(t, json.loads(raw)) for t, profile, raw in packets if profile == 3]
    if every and any(p["carState"] == "reliable" for _, p in every):
        # a profile that sends everything: one Reliable per passage, between its New and its Lost
        keys = [(t, int(p["carID"]), RANK[p["carState"]]) for t, p in every]
        assert keys == sorted(keys)
        states: dict[str, list[str]] = {}
        for _, p in every:
            states.setdefault(p["carID"], []).append(p["carState"])
        for car_id, seq in states.items():
            assert seq[0] == "new" and seq[-1] == "lost" and seq.count("reliable") == 1
            # the same passages as the default profile, which leaves the Reliable out
            assert [s for s in seq if s != "reliable"] == [p["carState"] for _, p in passages[car_id]]
    for profile in {p for _, p, _ in packets}:
        counters = [int(json.loads(raw)["packetCounter"]) for _, pr, raw in packets if pr == profile]
        assert counters == list(range(1, len(counters) + 1))
    assert run(tmp_path, doc) == packets  # same file and seed: same bytes


@st.composite
def restarts(draw):
    """1 or 2 restarts within the first 25 s (vehicles arrive in the first 20), apart, some of them
    taking carIDs or packetCounters from a value of their own."""
    faults, end = [], 0
    for _ in range(draw(st.integers(1, 2))):
        start = end + draw(st.integers(0, 12_000))
        down = draw(st.sampled_from([200, 1000, 3000]) | st.integers(200, 10_000))  # ms: at least a frame at 5 fps
        fault = {"type": "restart", "at": f"{start}ms", "down": f"{down}ms"}
        fault.update(draw(st.sampled_from([{}, {}, {"first_car_id": 100}, {"first_packet_counter": 7}])))
        faults.append(fault)
        end = start + down
    return faults


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(scenarios(), restarts())
def test_restarts_cut_passages_and_start_counters_and_car_ids_again(tmp_path, doc, faults):
    doc["faults"] = faults
    path = tmp_path / "s.yaml"
    path.write_text(json.dumps(doc))
    scenario = load_scenario(path)
    windows = restart_windows(scenario)
    packets = list(Camera(scenario, scenario.start_us).packets())
    starts = [w.start_us for w in windows]

    def epoch(t: int) -> int:
        return sum(1 for s in starts if s <= t)

    for w in windows:
        assert not [p for p in packets if w.start_us <= p.time_us < w.end_us]
    # no event of a passage begun before a restart at or after it
    begun: dict[int, int] = {}
    for p in packets:
        begun.setdefault(id(p.event.passage), p.event.time_us)
        assert epoch(begun[id(p.event.passage)]) == epoch(p.time_us)
    by_epoch: dict[tuple[int, int], list[dict]] = {}
    for p in packets:
        by_epoch.setdefault((p.profile, epoch(p.time_us)), []).append(json.loads(p.json_bytes()))
    for (profile, e), payloads in by_epoch.items():
        restart = windows[e - 1].restart if e else None
        # carIDs after a restart start at the first value, packetCounters at the profile's first
        first_car = restart.first_car_id if restart is not None and restart.first_car_id is not None else 1
        news = [int(p["carID"]) for p in payloads if p["carState"] == "new"]
        assert news == list(range(first_car, first_car + len(news)))
        first_counter = (restart.first_packet_counter if restart is not None and restart.first_packet_counter
                         is not None else 1)
        counters = [int(p["packetCounter"]) for p in payloads]
        assert counters == list(range(first_counter, first_counter + len(counters)))
        if profile != 1:
            continue
        # within an epoch each passage is whole but may be cut at its end: a New first, at most one Lost, last
        states: dict[str, list[str]] = {}
        for p in payloads:
            states.setdefault(p["carID"], []).append(p["carState"])
        for seq in states.values():
            assert seq[0] == "new" and seq.count("new") == 1 and "lost" not in seq[:-1]


def test_traffic_is_deterministic_and_seed_dependent(tmp_path):
    doc = {"version": 1, "seed": 1, "start": "2026-11-24T08:00:00Z",
           "zones": [{"id": 1, "polygon": [[0, 300], [1920, 300], [1920, 1080], [0, 1080]], "direction": 180}],
           "traffic": [{"zone": 1, "rate": "600/h", "until": "10m", "misread": 0.2,
                        "countries": {"CZE": 1, "DEU": 1, "GBR": 1, "USA": 1, "POL": 1, "UKR": 1, "FRA": 1, "SWE": 1}}]}
    first = run(tmp_path, doc)
    assert first == run(tmp_path, doc)
    doc["seed"] = 2
    assert run(tmp_path, doc) != first
    payloads = [json.loads(raw) for _, _, raw in first]
    countries = {p["plateCountry"] for p in payloads}
    assert countries == {"CZE", "DEU", "GBR", "USA", "POL", "UKR", "FRA", "SWE"}
    assert {p["carMoveDirection"] for p in payloads} == {"unknown", "in", "out"}
    assert {p["vehicle_info"]["color"] for p in payloads} <= {
        "BEIGE", "BLACK", "BLUE", "BROWN", "GRAY", "GREEN", "ORANGE", "RED", "WHITE", "YELLOW", "SILVER"}
    # misreads get corrected: the Lost of a passage whose New was misread carries another text
    by_car = {}
    for p in payloads:
        by_car.setdefault(p["carID"], []).append(p)
    corrected = [ev for ev in by_car.values() if ev[0]["plateUTF8"] != ev[-1]["plateUTF8"]]
    assert corrected
    for events in corrected:
        assert float(events[-1]["plateConfidence"]) > float(events[0]["plateConfidence"])
    assert 60 <= len(by_car) <= 150  # ~100 arrivals in 10 minutes at 600/h
