"""ffsim.testing: the strategies give valid scenarios, which end, and every listed vehicle makes a
passage on every profile."""

from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ffsim.engine import NEW
from ffsim.protocol import Camera
from ffsim.scenario import Scenario, ScenarioBuilder, scenario_from_dict, scenario_from_text
from ffsim.testing import MAX_TIME_US, plates, scenario_builders, scenarios, vehicles, zones
from ffsim.vocabulary import LOST, RELIABLE

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def lifecycles(scenario: Scenario):
    """Per profile: carID -> the states sent, in order, and plate -> its News; the last send time."""
    states: dict[int, dict[int, list[str]]] = {p.id: {} for p in scenario.profiles}
    news: dict[int, Counter] = {p.id: Counter() for p in scenario.profiles}
    last = 0
    for packet in Camera(scenario, scenario.start_us).packets():
        event = packet.event
        states[packet.profile].setdefault(event.passage.car_id, []).append(event.state)
        if event.state == NEW:
            news[packet.profile][event.passage.vehicle.plate] += 1
        assert packet.time_us >= last
        last = packet.time_us
    return states, news, last


@FAST
@given(scenarios(max_vehicles=5, protocols=("http", "tcp"), max_profiles=3))
def test_every_listed_vehicle_makes_a_passage_on_every_profile(scenario):
    states, news, last = lifecycles(scenario)
    assert last < MAX_TIME_US  # and the run ended by itself: no flow without until
    listed = Counter(v.plate for v in scenario.vehicles)
    for profile in scenario.profiles:
        for plate, count in listed.items():  # traffic may add passages, never take one away
            assert news[profile.id][plate] >= count, (profile.id, plate)
        for car_id, seq in states[profile.id].items():
            assert seq[0] == NEW and seq[-1] == LOST and seq.count(NEW) == 1 and seq.count(LOST) == 1
            assert seq.count(RELIABLE) == (1 if RELIABLE in profile.events else 0)


@FAST
@given(scenario_builders(max_vehicles=3, protocols=("http", "tcp"), firmware=None, max_flows=1))
def test_what_a_builder_makes_loads_the_same_from_its_yaml_and_its_dict(builder):
    scenario = builder.build("s")
    assert scenario_from_text(builder.to_yaml(), "s") == scenario
    assert scenario_from_dict(builder.to_dict(), "s") == scenario


@FAST
@given(scenarios(max_vehicles=2, protocols=("tcp",), firmware="2019", max_flows=0, resolution=(1280, 720)))
def test_the_arguments_are_kept(scenario):
    assert scenario.camera.firmware == "2019" and (scenario.camera.width, scenario.camera.height) == (1280, 720)
    assert {p.protocol for p in scenario.profiles} == {"tcp"}
    assert not scenario.traffic and 1 <= len(scenario.vehicles) <= 2
    assert all(RELIABLE not in p.events for p in scenario.profiles)  # 2019 firmware has none


@FAST
@given(plates(), st.data())
def test_plates_and_vehicles_fit_the_builder(plate, data):
    assert 1 <= len(plate) <= 32 and plate.strip()
    zone_list = data.draw(zones((1280, 720)))
    vehicle = data.draw(vehicles(zone_list, (1280, 720), fps=25))
    builder = ScenarioBuilder().camera(resolution=(1280, 720), fps=25)
    for zone in zone_list:
        builder.zone(**zone)
    scenario = builder.vehicle(**vehicle).vehicle(plate, [(10, 10)]).build()
    assert scenario.vehicles[1].plate == plate


def test_wrong_arguments_are_refused_when_given():
    with pytest.raises(ValueError, match="protocols: 'udp'"):
        scenarios(protocols=("udp",))
    with pytest.raises(ValueError, match="firmware: '2025'"):
        scenarios(firmware="2025")
    with pytest.raises(ValueError, match="no plate generator"):
        plates(["XXX"])
