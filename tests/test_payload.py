"""Payloads: exact keys, order, types, formats and bytes (FF-EVENTS.md section 4)."""

import json
import re
import textwrap
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ffsim.generations import SECTION4_KEYS
from ffsim.protocol import Camera
from ffsim.protocol.jsonwire import camera_json, u_escape
from ffsim.protocol.payload import format_datetime, image_name, safe_plate
from ffsim.scenario import load_scenario

SAMPLES = Path(__file__).resolve().parent / "samples"
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"

SAMPLE_LIKE = """\
version: 1
seed: 7
start: 2026-11-24T08:00:00Z
camera: {firmware: documented, device_id: GATE-1, serial: ACCC8E000001, model: AXIS P1465-LE, mac: ACCC8E000001,
         ip: 10.0.3.21, geotag: {lat: 50.08804, lon: 14.42076}, resolution: [1920, 1080], fps: 10}
zones: [{id: 1, polygon: [[0, 300], [1920, 300], [1920, 1080], [0, 1080]], direction: 180}]
vehicles:
  - {plate: 5SX 2207, country: CZE, brand: Skoda, model: Octavia, color: WHITE, view: front,
     confidence_mmr: 0.9812, confidence_color: 0.944, at: 0.12s, path: [[960, 320], [960, 1060]], duration: 4s,
     reads: [{text: 5SX2201, confidence: 0.6412, for: 0.3s}, {text: 5SX2207, confidence: 0.8731}]}
profiles:
  - {id: 1, events: [new, update, lost]}
  - {id: 2, events: [lost], device_id: PRG-82}
"""


def packets(tmp_path, text=SAMPLE_LIKE, **kw):
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text))
    scenario = load_scenario(path)
    return list(Camera(scenario, scenario.start_us, **kw).packets())


@pytest.mark.parametrize("name", ["new", "update", "lost"])
def test_camera_json_writes_the_samples_byte_for_byte(name):
    raw = (SAMPLES / f"{name}.json").read_bytes()
    assert camera_json(json.loads(raw)) == raw


def test_keys_order_and_types_match_the_samples(tmp_path):
    sample = json.loads((SAMPLES / "new.json").read_bytes())
    for packet in packets(tmp_path):
        payload = packet.payload.as_dict()
        assert list(payload) == list(sample) == list(SECTION4_KEYS)
        for key, value in payload.items():
            assert type(value) is type(sample[key]), key
            if isinstance(value, dict):
                assert list(value) == list(sample[key])
                assert all(type(v) is type(sample[key][k]) for k, v in value.items())
            if isinstance(value, list):
                assert [type(v) for v in value] == [type(v) for v in sample[key]]


def test_compact_text_and_camera_bytes_equal_the_encoders(tmp_path):
    for packet in packets(tmp_path):
        d = packet.payload.as_dict()
        assert packet.payload.compact() == json.dumps(d, ensure_ascii=False)
        assert packet.payload.camera_json() == camera_json(d)
        assert json.loads(packet.payload.camera_json()) == d


def test_plate_text_is_u_escaped_on_the_wire(tmp_path):
    raw = packets(tmp_path)[0].payload.camera_json()
    assert b'"plateText": "\\u0035\\u0053\\u0058\\u0032\\u0032\\u0030\\u0031",' in raw
    assert b'"plateUnicode": "\\u0035\\u0053\\u0058\\u0032\\u0032\\u0030\\u0031",' in raw
    assert b'"plateUTF8": "5SX2201",' in raw
    assert u_escape("TÖ") == '"\\u0054\\u00d6"'
    assert u_escape("\U0001F697") == '"\\ud83d\\ude97"'


def test_timestamps_are_consistent(tmp_path):
    for packet in packets(tmp_path):
        p = packet.payload.as_dict()
        ms = int(p["capture_timestamp"])
        assert p["capture_ts"] == str(ms * 1_000_000)
        assert p["datetime"] == format_datetime(ms)
        assert re.fullmatch(r"\d{8} \d{9}", p["datetime"])
        if p["carState"] == "lost":
            assert p["frame_timestamp"] == "0"
        else:
            assert int(p["frame_timestamp"]) // 1000 == ms
        assert re.fullmatch(r"\d\.\d{6}", p["plateConfidence"])


def test_the_sample_passage(tmp_path):
    got = [p.payload.as_dict() for p in packets(tmp_path, profiles=[1])]
    new, update_dir, update_text, lost = got
    assert new["capture_timestamp"] == "1795507200200"  # first frame at or after 0.12 s
    assert new["datetime"] == "20261124 080000200"
    assert new["frame_timestamp"] == "1795507200200000"
    assert (new["carState"], new["carMoveDirection"], new["plateUTF8"], new["plateConfidence"]) == (
        "new", "unknown", "5SX2201", "0.641200")
    assert (update_text["plateUTF8"], update_text["plateConfidence"]) == ("5SX2207", "0.873100")
    assert lost["capture_timestamp"] == "1795507204100"  # the last recognition: last frame before the end, 4.12 s
    assert lost["carID"] == new["carID"] == "1"
    assert [p["packetCounter"] for p in got] == ["1", "2", "3", "4"]
    assert new["geotag"] == {"lat": 50.08804, "lon": 14.42076}
    assert new["camera_info"] == {"SerialNumber": "ACCC8E000001", "ProdShortName": "AXIS P1465-LE",
                                  "IPAddress": "10.0.3.21", "MACAddress": "ACCC8E000001"}
    assert new["vehicle_info"] == {"type": "CAR", "view": "front", "brand": "Skoda", "color": "WHITE",
                                   "model": "Octavia", "confidenceMMR": "0.981200", "confidenceColor": "0.944000"}
    assert new["sensorProviderID"] == "GATE-1" and new["profileID"] == "1"
    assert new["plateRegion"] == "Stredocesky" and new["plateRegionCode"] == "S"
    assert new["imageType"] == "vehicle" and new["plateImageType"] == "jpeg"
    # plate box of 140 x 30 around the plate centre (960, 320 + 0.08 s * 185 px/s)
    # plate 140 x 30 around its centre: (960, 320 + 0.08 s * 185 px/s = 334.8) at the first frame
    assert new["plateCoordinates"] == [890, 320, 140, 30]
    # vehicle crop 588 x 420 centred on the plate, clipped at the top of the frame
    assert new["plateCoordinatesRelative"] == [224, 320, 140, 30]


def test_image_names_keep_the_packet_in_which_they_were_taken(tmp_path):
    new, update_dir, update_text, lost = [p.payload.as_dict() for p in packets(tmp_path, profiles=[1])]
    assert new["imageFile"] == "localdata/images/13/20261124080000_200000roi_5SX2201_1.jpg"
    assert new["imageFile2"] == "localdata/images/12/20261124080000_200000lp_5SX2201_1.jpg"
    assert new["imagesURI"] == [
        "/local/fflprapp/tools.cgi?action=getImage&name=12/20261124080000_200000lp_5SX2201_1.jpg",
        "/local/fflprapp/tools.cgi?action=getImage&name=13/20261124080000_200000roi_5SX2201_1.jpg",
    ]
    # an Update takes a new plate image and keeps the vehicle image of the New
    assert update_dir["imageFile2"] == "localdata/images/12/20261124080000_500000lp_5SX2201_2.jpg"
    assert update_dir["imageFile"] == new["imageFile"]
    assert update_text["imageFile2"] == "localdata/images/12/20261124080000_700000lp_5SX2207_3.jpg"
    # the Lost carries the plate image of its capture, the last recognition (4.1 s), first sent in packet 4
    assert lost["imageFile"] == new["imageFile"]
    assert lost["imageFile2"] == "localdata/images/12/20261124080004_100000lp_5SX2207_4.jpg"


def test_each_profile_counts_its_own_packets(tmp_path):
    got = packets(tmp_path)
    by_profile = {}
    for packet in got:
        by_profile.setdefault(packet.profile, []).append(packet.payload.as_dict())
    assert [p["packetCounter"] for p in by_profile[1]] == ["1", "2", "3", "4"]
    lost_only = by_profile[2]
    assert [(p["carState"], p["packetCounter"], p["profileID"], p["sensorProviderID"]) for p in lost_only] == [
        ("lost", "1", "2", "PRG-82")]
    # its images were first carried by its own packet 1
    assert lost_only[0]["imageFile"].endswith("roi_5SX2201_1.jpg")
    assert lost_only[0]["imageFile2"] == "localdata/images/12/20261124080004_100000lp_5SX2207_1.jpg"


def test_image_name_format():
    assert image_name(1718373876464953, "lp", "1AB1234", 13046, "jpg") == "20240614140436_464953lp_1AB1234_13046.jpg"
    assert safe_plate("TÖLSL 123") == "TOLSL_123"
    assert image_name(1718373866032557, "roi", "TOLSL_123", 5, "png") == "20240614140426_32557roi_TOLSL_123_5.png"


def test_plate_spaces_and_ascii_settings(tmp_path):
    text = SAMPLE_LIKE.replace("zones:", "recognition: {plate_separators: keep, plate_ascii: folded}\nzones:")
    text = text.replace("reads: [{text: 5SX2201, confidence: 0.6412, for: 0.3s}, {text: 5SX2207, confidence: 0.8731}]",
                        "reads: [{text: TÖ 123}]")
    p = packets(tmp_path, text, profiles=[1])[0].payload.as_dict()
    assert (p["plateUTF8"], p["plateASCII"]) == ("TÖ 123", "TO 123")
    p = packets(tmp_path, SAMPLE_LIKE, profiles=[1])[-1].payload.as_dict()
    assert p["plateUTF8"] == "5SX2207"  # "5SX 2207" in the scenario: separators stripped by default


def test_lists_fill_the_list_fields(tmp_path):
    got = {}
    path = SCENARIOS / "lists.yaml"
    scenario = load_scenario(path)
    for packet in Camera(scenario, scenario.start_us).packets():
        p = packet.payload.as_dict()
        got[p["plateUTF8"]] = (p["plateList"], p["plateListMode"], p["plateListDescription"])
    assert got == {
        "3AC1234": ("Allow list", "allow", "CEO"),
        "3AC1284": ("Allow list", "allow", "CEO"),
        "8U17000": ("Block list", "block", "stolen 2026-10-02"),
        "5E50011": ("Custom list", "custom", "delivery"),
        "9Z99999": ("", "", ""),
    }
    strict = tmp_path / "strict.yaml"
    strict.write_text(path.read_text().replace("match: soft", "match: strict"))
    scenario = load_scenario(strict)
    lists = {p.payload["plateUTF8"]: p.payload["plateList"] for p in Camera(scenario, 0).packets()}
    assert lists["3AC1284"] == "" and lists["3AC1234"] == "Allow list"


def test_soft_match_allows_two_differences_not_three():
    from ffsim.engine.lists import ListMatcher, edit_distance
    from ffsim.scenario.model import ListEntry, Lists

    m = ListMatcher(Lists(allow=(ListEntry("ABC1234", "x"),)), lambda s: s)
    assert m.match("ABC1234")[0] == "Allow list"
    assert m.match("ABC1284")[0] == "Allow list"
    assert m.match("A8C1284")[0] == "Allow list"
    assert m.match("A8C12B4")[0] == "Allow list"  # two differences
    assert m.match("A8C12B9") == ("", "", "")  # three
    assert m.match("ABC123")[0] == "Allow list"  # a missing character is a difference too
    assert edit_distance("kitten", "sitting", 5) == 3


# anything YAML can carry in a double-quoted string (json.dumps escapes the C0 controls)
hostile = st.text(
    st.characters(blacklist_categories=("Cs", "Co", "Cn"),
                  blacklist_characters=[chr(c) for c in range(0x7F, 0xA0)] + ["\ufeff"]),
    max_size=12,
)


def q(text):
    return json.dumps(text, ensure_ascii=False)



@given(hostile, hostile, hostile, hostile)
def test_any_text_in_the_scenario_gives_the_encoders_bytes(tmp_path_factory, plate, brand, description, device):
    """Quotes, backslashes, %, control and non-ASCII characters in user text."""
    assume(plate != "")  # an empty plate is a problem of the scenario (test_validate), not a payload
    tmp = tmp_path_factory.mktemp("h")
    text = SAMPLE_LIKE.replace("plate: 5SX 2207", f"plate: {q(plate)}")
    text = text.replace("brand: Skoda", f"brand: {q(brand)}")
    text = text.replace("device_id: PRG-82", f"device_id: {q(device)}")
    text = text.replace("reads: [{text: 5SX2201, confidence: 0.6412, for: 0.3s}, {text: 5SX2207, confidence: 0.8731}]",
                        f"reads: [{{text: {q(plate)}}}]")
    text += f"lists: {{custom: [{{plate: {q(plate)}, description: {q(description)}}}]}}\n"
    for packet in packets(tmp, text):
        d = packet.payload.as_dict()
        assert packet.payload.compact() == json.dumps(d, ensure_ascii=False)
        assert packet.payload.camera_json() == camera_json(d)
        assert json.loads(packet.payload.camera_json()) == d
