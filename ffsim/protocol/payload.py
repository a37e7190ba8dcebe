"""Engine events to the camera's JSON payloads, one builder per sending profile.

Key order, value types and formats follow FF-EVENTS.md section 4 and the samples.
"""

from __future__ import annotations

import time

from ..engine.lists import ListMatcher
from ..engine.plates import ascii_fold
from ..engine.vehicle import LOST, Event, Vehicle
from ..scenario.model import Profile, Scenario
from .crops import plate_box, relative_box

IMAGE_TYPE = {"vehicle": "vehicle", "plate": "plate", "frame": "frame", "frame_downsized": "frame", "none": "vehicle"}
EXTENSION = {"jpeg": "jpg", "png": "png", "bmp": "bmp"}
URI_PREFIX = "/local/fflprapp/tools.cgi?action=getImage&name="
FILE_PREFIX = "localdata/images/"

KEY_ORDER = (
    "packetCounter", "capture_timestamp", "frame_timestamp", "capture_ts", "datetime",
    "plateText", "plateUnicode", "plateUTF8", "plateASCII", "plateCountry", "plateISO3166-2",
    "plateRegion", "plateRegionCode", "plateList", "plateListMode", "plateListDescription",
    "plateConfidence", "carState", "roiID", "geotag", "imageType", "plateImageType", "plateImageSize",
    "carMoveDirection", "timeProcessing", "plateCoordinates", "plateCoordinatesRelative", "carID",
    "GEOtarget", "imagesURI", "imageFile", "imageFile2", "profileID", "vehicle_info", "camera_info",
    "sensorProviderID",
)


def format_datetime(epoch_ms: int) -> str:
    """'YYYYMMDD HHMMSSfff' in UTC."""
    seconds, ms = divmod(epoch_ms, 1000)
    tm = time.gmtime(seconds)
    return "%04d%02d%02d %02d%02d%02d%03d" % (tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms)


def image_name(epoch_us: int, kind: str, plate: str, counter: int, extension: str) -> str:
    """YYYYmmddHHMMSS_<microseconds><kind>_<PLATE>_<packetCounter>.<ext>, as on the camera.

    The microseconds within the second are not zero-padded: the vendor's example
    ``20240614160426_32557roi_...`` shows five digits.
    """
    seconds, micro = divmod(epoch_us, 1_000_000)
    tm = time.gmtime(seconds)
    safe = "".join(ch if ch.isalnum() else "_" for ch in ascii_fold(plate))
    return "%04d%02d%02d%02d%02d%02d_%d%s_%s_%d.%s" % (
        tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micro, kind, safe, counter, extension,
    )


class PayloadBuilder:
    """Numbers the packets of one profile and writes each event's payload."""

    def __init__(self, scenario: Scenario, profile: Profile, start_us: int, lists: ListMatcher):
        cam = scenario.camera
        self.profile = profile
        self.start_us = start_us
        self.lists = lists
        self.counter = 0
        self.fold_ascii = scenario.recognition.fold_ascii
        self.frame = (cam.width, cam.height)
        self.image_kind = profile.image
        self.image_type = IMAGE_TYPE[profile.image]
        self.extension = EXTENSION[profile.image_format]
        self.plate_dir = f"{cam.plate_folder}/"
        self.vehicle_dir = f"{cam.vehicle_folder}/"
        self.geotag = {"lat": cam.lat, "lon": cam.lon}
        self.camera_info = {
            "SerialNumber": cam.serial,
            "ProdShortName": cam.model,
            "IPAddress": cam.ip,
            "MACAddress": cam.mac,
        }
        self.geo_target = cam.geo_target
        self.device_id = profile.device_id if profile.device_id is not None else cam.device_id
        self.profile_id = str(profile.id)
        # packetCounter of the first packet of this profile that carried each image
        self._image_counters: dict[object, dict[tuple, int]] = {}

    def wants(self, ev: Event) -> bool:
        return ev.state in self.profile.events

    def build(self, ev: Event) -> dict | None:
        """The payload of ev for this profile, or None if the profile does not send its type."""
        if ev.state not in self.profile.events:
            if ev.state == LOST:
                self._image_counters.pop(ev.passage, None)
            return None
        self.counter += 1
        counter = self.counter
        v = ev.passage.vehicle
        text = ev.text
        cap_us = self.start_us + ev.capture_us
        cap_ms = cap_us // 1000
        plate_list, list_mode, list_description = self.lists.match(text)
        box = plate_box(ev.x, ev.y, v.plate_w, v.plate_h, *self.frame)
        rel = relative_box(self.image_kind, box, *self.frame)
        counters = self._image_counters.setdefault(ev.passage, {})
        lp_key = ("lp",) + ev.plate_shot
        roi_key = ("roi",) + ev.vehicle_shot
        lp_counter = counters.setdefault(lp_key, counter)
        roi_counter = counters.setdefault(roi_key, counter)
        lp = self.plate_dir + image_name(self.start_us + ev.plate_shot[0], "lp", ev.plate_shot[1], lp_counter, self.extension)
        roi = self.vehicle_dir + image_name(
            self.start_us + ev.vehicle_shot[0], "roi", ev.vehicle_shot[1], roi_counter, self.extension
        )
        if ev.state == LOST:
            del self._image_counters[ev.passage]
        return {
            "packetCounter": str(counter),
            "capture_timestamp": str(cap_ms),
            "frame_timestamp": "0" if ev.state == LOST else str(cap_us),
            "capture_ts": str(cap_ms * 1_000_000),
            "datetime": format_datetime(cap_ms),
            "plateText": text,
            "plateUnicode": text,
            "plateUTF8": text,
            "plateASCII": ascii_fold(text) if self.fold_ascii else text,
            "plateCountry": v.country,
            "plateISO3166-2": v.iso3166_2,
            "plateRegion": v.region,
            "plateRegionCode": v.region_code,
            "plateList": plate_list,
            "plateListMode": list_mode,
            "plateListDescription": list_description,
            "plateConfidence": "%.6f" % ev.confidence,
            "carState": ev.state,
            "roiID": str(ev.zone),
            "geotag": self.geotag,
            "imageType": self.image_type,
            "plateImageType": self.profile.image_format,
            "plateImageSize": "0",
            "carMoveDirection": ev.direction,
            "timeProcessing": "0",
            "plateCoordinates": list(box),
            "plateCoordinatesRelative": list(rel),
            "carID": str(ev.passage.car_id),
            "GEOtarget": self.geo_target,
            "imagesURI": [URI_PREFIX + lp, URI_PREFIX + roi],
            "imageFile": FILE_PREFIX + roi,
            "imageFile2": FILE_PREFIX + lp,
            "profileID": self.profile_id,
            "vehicle_info": vehicle_info(v),
            "camera_info": self.camera_info,
            "sensorProviderID": self.device_id,
        }


def vehicle_info(v: Vehicle) -> dict:
    info = v.cache.get("vehicle_info")
    if info is None:
        info = v.cache["vehicle_info"] = {
            "type": v.type,
            "view": v.view,
            "brand": v.brand,
            "color": v.color,
            "model": v.model,
            "confidenceMMR": "%.6f" % v.confidence_mmr,
            "confidenceColor": "%.6f" % v.confidence_color,
        }
    return info
