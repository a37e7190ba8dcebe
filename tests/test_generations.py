"""Payload shapes of the firmware generations and the field defaults (FF-EVENTS.md section 10).

The expected key lists are written out from section 10 (tests/field_payloads.py), not read
from ffsim's tables, so that a mistake in the tables cannot agree with itself.
"""

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ffsim.protocol import Camera
from ffsim.scenario import ScenarioError, load_scenario

from .cli import ffsim
from .field_payloads import KEYS  # section 10's key lists, written out there

VEHICLE_INFO = {
    "2019": None,
    "2021-lpv": None,
    "2021-cammra": ["brand", "model", "type", "color", "confidenceMMR", "confidenceColor", "coordinates"],
    "2024-lpv": ["view", "type", "color"],
    "2024-cammra": ["view", "type", "color", "brand", "model", "confidenceMMR", "confidenceColor"],
    "documented": ["type", "view", "brand", "color", "model", "confidenceMMR", "confidenceColor"],
}
CAMERA_INFO = {
    "2019": None,
    "2021-lpv": {"SerialNumber": "ACCC8E000001", "ProdShortName": "AXIS P1465-LE", "MACAddress": "AC:CC:8E:00:00:01"},
    "2021-cammra": {"SerialNumber": "ACCC8E000001", "ProdShortName": "AXIS P1465-LE",
                    "MACAddress": "AC:CC:8E:00:00:01"},
    "2024-lpv": {"SerialNumber": "ACCC8E000001", "ProdShortName": "AXIS P1465-LE", "IPAddress": "10.0.3.21",
                 "MACAddress": "ACCC8E000001"},
    "2024-cammra": {"SerialNumber": "ACCC8E000001", "ProdShortName": "AXIS P1465-LE", "MACAddress": ""},
    "documented": {"SerialNumber": "ACCC8E000001", "ProdShortName": "AXIS P1465-LE", "IPAddress": "10.0.3.21",
                   "MACAddress": "ACCC8E000001"},
}
PLATE_IMAGE_TYPE = {"2019": "png", "2021-lpv": "jpg", "2021-cammra": "jpeg", "2024-lpv": "jpeg",
                    "2024-cammra": "jpeg", "documented": "jpeg"}

# Kyiv in summer: +3 h, as the 2021 field payloads show
SCENARIO = """\
version: 1
seed: 7
start: 2026-06-14T16:04:36
camera: {{firmware: {firmware}, timezone: Europe/Kyiv, device_id: GATE-1, serial: ACCC8E000001,
         model: AXIS P1465-LE, mac: ACCC8E000001, ip: 10.0.3.21, geotag: {{lat: 55.70421, lon: 13.19366}}{camera}}}
zones: [{{id: 1, polygon: [[0, 300], [1920, 300], [1920, 1080], [0, 1080]], direction: 180}}]
vehicles:
  - {{plate: 5SX 2207, brand: Skoda, model: Octavia, color: WHITE, at: 0.12s, path: [[960, 320], [960, 1060]],
     duration: 4s, reads: [{{text: 5SX2201, confidence: 0.6412, for: 0.3s}}, {{text: 5SX2207, confidence: 0.8731}}]}}
profiles:
  - {{id: 1{profile}}}
"""
ROOT = Path(__file__).resolve().parents[1]
START_UTC_MS = int(datetime(2026, 6, 14, 13, 4, 36, tzinfo=timezone.utc).timestamp() * 1000)


def packets(tmp_path, firmware="2024-lpv", camera="", profile="", text=SCENARIO):
    path = tmp_path / "s.yaml"
    path.write_text(text.format(firmware=firmware, camera=camera, profile=profile))
    scenario = load_scenario(path)
    return list(Camera(scenario, scenario.start_us).packets())


def local(ms: int, zone="Europe/Kyiv") -> str:
    moment = datetime.fromtimestamp(ms / 1000, ZoneInfo(zone))
    return moment.strftime("%Y%m%d %H%M%S") + "%03d" % (ms % 1000)


@pytest.mark.parametrize("firmware", list(KEYS))
def test_each_generation_has_its_keys_order_and_formats(tmp_path, firmware):
    got = packets(tmp_path, firmware)
    assert [p.payload["carState"] for p in got] == ["new", "update", "update", "lost"]
    for packet in got:
        payload = packet.payload.as_dict()
        assert list(payload) == KEYS[firmware]
        assert json.loads(packet.payload.camera_json()) == payload
        assert packet.payload.compact() == json.dumps(payload, ensure_ascii=False)
        assert payload["plateImageType"] == PLATE_IMAGE_TYPE[firmware]
        assert payload.get("camera_info") == CAMERA_INFO[firmware]
        info = payload.get("vehicle_info")
        assert (list(info) if info is not None else None) == VEHICLE_INFO[firmware]
        # datetime is the camera's local time (+3 h in Kyiv in June)
        if "capture_timestamp" in payload:
            ms = int(payload["capture_timestamp"])
            assert payload["datetime"] == local(ms)
            assert payload["capture_ts"] == str(ms * 1_000_000)
        else:
            assert payload["datetime"].startswith("20260614 16")
        assert all(type(v) is int for v in payload["plateCoordinates"])
    first = got[0].payload.as_dict()
    assert first["plateImageSize"] == ("0" if firmware != "documented" else
                                       str(len(got[0].payload.attachments[0].data)))
    if firmware in ("2024-lpv", "2024-cammra"):
        assert first["plateCoordinatesRelative"] == first["plateCoordinates"]
    elif firmware != "2019":
        assert first["plateCoordinatesRelative"] != first["plateCoordinates"]  # crop-relative


def test_cammra_2021_vehicle_info_in_percent_with_the_vehicle_box(tmp_path):
    payload = packets(tmp_path, "2021-cammra")[0].payload.as_dict()
    info = payload["vehicle_info"]
    assert re.fullmatch(r"\d{2}\.\d{6}", info["confidenceMMR"]) and float(info["confidenceMMR"]) > 1
    assert [type(v) for v in info["coordinates"]] == [int] * 4
    left, top, w, h = payload["plateCoordinates"]
    x, y, vw, vh = info["coordinates"]
    assert x <= left and left + w <= x + vw and y <= top and top + h <= y + vh  # the plate is on the vehicle


def test_image_paths_and_names_per_generation(tmp_path):
    lpv = packets(tmp_path, "2024-lpv")[0].payload.as_dict()
    # local time, a save time tens to hundreds of ms after the capture, the packet's counter
    name = re.fullmatch(r"localdata/images/12/(\d{14})_(\d+)lp_5SX2201_1\.jpg", lpv["imageFile2"])
    assert name, lpv["imageFile2"]
    saved = datetime.strptime(name.group(1), "%Y%m%d%H%M%S").replace(tzinfo=ZoneInfo("Europe/Kyiv"))
    saved_ms = int(saved.timestamp()) * 1000 + int(name.group(2)) // 1000
    assert 20 <= saved_ms - int(lpv["capture_timestamp"]) <= 300
    assert lpv["imagesURI"][0] == "/local/fflprapp/tools.cgi?action=getImage&name=" + lpv["imageFile2"][17:]
    cammra = packets(tmp_path, "2021-cammra")[0].payload.as_dict()
    # SD card, UTC, milliseconds, plate, country, make, model, colour
    assert re.fullmatch(r"/var/spool/storage/SD_DISK/fflprapp/images/13/20260614130436_\d{3}_roi_5SX2201_CZE_"
                        r"Skoda_Octavia_WHITE\.jpg", cammra["imageFile"]), cammra["imageFile"]
    assert re.fullmatch(r"/local/fflprapp/tools\.cgi\?action=getImage&name=12/20260614130436_\d{3}_lp_5SX2201_CZE_"
                        r"Skoda_Octavia_WHITE\.jpg", cammra["imagesURI"][0]), cammra["imagesURI"][0]


def test_frame_timestamp_has_sub_millisecond_digits_and_capture_is_its_millisecond(tmp_path):
    got = [p.payload.as_dict() for p in packets(tmp_path)]
    phases = {int(p["frame_timestamp"]) % 1000 for p in got if p["carState"] != "lost"}
    assert len(phases) == 1 and phases != {0}  # one frame clock, with a phase of its own
    for p in got:
        if p["carState"] != "lost":
            assert int(p["frame_timestamp"]) // 1000 == int(p["capture_timestamp"])
    # the documented shape keeps whole milliseconds
    doc = packets(tmp_path, "documented")[0].payload.as_dict()
    assert doc["frame_timestamp"] == doc["capture_timestamp"] + "000"
    # and the phase is a setting
    fixed = packets(tmp_path, camera=", frame_phase: 0.437ms")[0].payload.as_dict()
    assert fixed["frame_timestamp"].endswith("437")


def test_a_lost_names_the_images_of_the_result_it_finalises(tmp_path):
    new, _, update_text, lost = [p.payload.as_dict() for p in packets(tmp_path)]
    assert lost["imageFile"] == new["imageFile"]
    assert lost["imageFile2"] == update_text["imageFile2"]  # with the Update's own counter
    assert lost["imageFile2"].endswith("_3.jpg")
    own = packets(tmp_path, camera=", lost_images: capture")[-1].payload.as_dict()
    assert own["imageFile2"].endswith("lp_5SX2207_4.jpg")


def test_settings_that_vary_within_a_generation(tmp_path):
    camera = (", mac_format: colons, storage: sd_card, recognises: [view, make], make_key: make, "
              "plate_crop_name: lpup, plate_image_size: actual, relative_coordinates: crop, first_packet_counter: 9")
    got = packets(tmp_path, camera=camera.replace(", first_packet_counter: 9", ""),
                  profile=", first_packet_counter: 11890300, format: json, image_format: jpeg")
    p = got[0].payload.as_dict()
    assert p["camera_info"]["MACAddress"] == "AC:CC:8E:00:00:01"
    assert p["imageFile"].startswith("/var/spool/storage/SD_DISK/fflprapp/images/13/")
    assert list(p["vehicle_info"]) == ["view", "make", "model", "confidenceMMR", "confidenceColor"]
    assert "lpup_5SX2201_11890300" in p["imageFile2"]
    assert p["packetCounter"] == "11890300" and got[1].payload["packetCounter"] == "11890301"
    assert p["plateImageSize"] == str(len(got[0].payload.attachments[0].data)) != "0"
    assert p["plateCoordinatesRelative"] != p["plateCoordinates"]
    assert p["ImageArray"][0]["ImageType"] == "" and p["ImageArray"][0]["ImageFormat"] == "jpg"
    named = packets(tmp_path, camera=", image_array_type: named", profile=", format: json")[0].payload.as_dict()
    assert named["ImageArray"][0]["ImageType"] == "vehicle"


def test_first_car_id_and_unknown_firmware(tmp_path):
    text = SCENARIO.replace("zones:", "recognition: {{first_car_id: 412977}}\nzones:")
    assert packets(tmp_path, text=text)[0].payload["carID"] == "412977"
    with pytest.raises(ScenarioError, match="camera.firmware must be one of: 2019, 2021-lpv"):
        packets(tmp_path, firmware="2022")


def test_time_zone_daylight_saving_and_start_offsets(tmp_path):
    # Prague goes from +1 to +2 at 01:00 UTC on 2026-03-29: datetime follows, epoch times do not jump
    text = SCENARIO.replace("start: 2026-06-14T16:04:36", "start: 2026-03-29T00:59:59Z").replace(
        "Europe/Kyiv", "Europe/Prague")
    got = [p.payload.as_dict() for p in packets(tmp_path, text=text)]
    stamps = [(int(p["capture_timestamp"]), p["datetime"]) for p in got]
    assert stamps[0][1].startswith("20260329 0159") and stamps[-1][1].startswith("20260329 0300")
    for ms, stamp in stamps:
        assert stamp == local(ms, "Europe/Prague")
    # a start without an offset is the camera's local time; with one, that instant
    assert int(got[0]["capture_timestamp"]) - 200 == int(datetime(2026, 3, 29, 0, 59, 59,
                                                                    tzinfo=timezone.utc).timestamp() * 1000)
    naive = packets(tmp_path)[0].payload.as_dict()
    assert int(naive["capture_timestamp"]) == START_UTC_MS + 200
    with pytest.raises(ScenarioError, match="unknown time zone 'Europe/Prag'; did you mean 'Europe/Prague'"):
        packets(tmp_path, text=SCENARIO.replace("Europe/Kyiv", "Europe/Prag"))


def test_start_option_without_offset_is_camera_local(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.format(firmware="2024-lpv", camera="", profile=""))
    result = ffsim("events", path, "--start", "2026-01-10T08:00:00")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    first = json.loads(out.splitlines()[0])["payload"]
    assert first["datetime"] == "20260110 080000200"  # Kyiv in winter: +2 h
    assert first["capture_timestamp"] == str(int(datetime(2026, 1, 10, 6, 0, 0, 200_000,
                                                          tzinfo=timezone.utc).timestamp() * 1000))


def test_reliable_needs_a_firmware_that_sends_it(tmp_path):
    with pytest.raises(ScenarioError, match="firmware 2021-lpv sends no Reliable event"):
        packets(tmp_path, "2021-lpv", profile=", events: [new, reliable, lost]")
    got = packets(tmp_path, profile=", events: [new, update, reliable, lost]")
    states = [p.payload["carState"] for p in got]
    assert states.count("reliable") == 1 and states[0] == "new" and states[-1] == "lost"


def test_events_prints_nothing_rendered_for_the_default_profile(tmp_path):
    # images are drawn when their bytes are needed: the default payloads never need them
    got = packets(tmp_path)
    for packet in got:
        packet.payload.compact()
        packet.payload.camera_json()
        assert all(a._data is None for a in packet.payload.attachments)
    documented = packets(tmp_path, "documented")  # plateImageSize is the image's size: drawn
    assert documented[0].payload.attachments[0]._data is not None


def validated(tmp_path, text, until_us=None, sender=lambda packet: "cam"):
    """(findings, packets) of the scenario's traffic through the receiver's validator, at real time."""
    from ffsim.receiver.validate import Validator

    path = tmp_path / "v.yaml"
    path.write_text(text)
    scenario = load_scenario(path)
    validator, found, got = Validator(), [], list(Camera(scenario, scenario.start_us).packets(until_us))
    for packet in got:
        raw = packet.payload.camera_json()
        found += validator.check(json.loads(raw), sender(packet), raw, None, packet.time_us / 1e6)
    return found, got


def test_a_daylight_saving_change_is_one_notice_not_a_violation(tmp_path):
    # Prague falls back from +2 to +1 at 01:00 UTC on 2026-10-25; passages under way then
    # still send events captured before it (a Lost repeats its result's capture time)
    road = (ROOT / "scenarios" / "busy-road.yaml").read_text().replace("start: 2026-11-24T00:00:00Z", "")
    text = road.replace("camera: {", "camera: {timezone: Europe/Prague, ", 1) + "start: 2026-10-25T00:50:00Z\n"
    found, got = validated(tmp_path, text, 20 * 60_000_000)
    offsets = {datetime.strptime(p.payload["datetime"], "%Y%m%d %H%M%S%f").replace(tzinfo=timezone.utc).timestamp()
               * 1000 - int(p.payload["capture_timestamp"]) for p in got}
    assert offsets == {7_200_000, 3_600_000}  # both sides of the change
    assert [(f.severity, f.rule) for f in found] == [("notice", "timestamps")], found


def test_a_camera_that_recognises_nothing_sends_an_empty_vehicle_info(tmp_path):
    got = packets(tmp_path, camera=", recognises: []")
    assert all(p.payload.as_dict()["vehicle_info"] == {} for p in got)
    text = SCENARIO.format(firmware="2024-lpv", camera=", recognises: []", profile="")
    assert [f for f in validated(tmp_path, text)[0] if f.severity == "violation"] == []


def test_a_start_that_the_clocks_skip_is_an_error(tmp_path):
    text = SCENARIO.replace("start: 2026-06-14T16:04:36", "start: 2026-03-29T03:30:00")  # Kyiv skips 03:00-04:00
    with pytest.raises(ScenarioError, match="does not exist in Europe/Kyiv .*give an offset"):
        packets(tmp_path, text=text)


def test_time_zones_come_from_the_tzdata_package_only(tmp_path):
    # "localtime" and file paths name the machine's own files: the output would depend on the machine
    for name in ("localtime", "Europe", "/etc/localtime", "../zoneinfo/UTC"):
        with pytest.raises(ScenarioError, match="unknown time zone"):
            packets(tmp_path, text=SCENARIO.replace("Europe/Kyiv", repr(name)))
