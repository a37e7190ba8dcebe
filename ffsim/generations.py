"""Payload shapes of the camera's firmware generations, as data (FF-EVENTS.md section 10).

A generation says which keys a payload has and in which order, how some values
are spelled, and the defaults of the camera settings that vary within it (MAC
format, storage, what the camera recognises, ...). The payload builder and the
receiver's validator both read these tables; a new generation is a new entry.

``documented`` is the vendor documentation's ideal (ffsim's output before field
evidence was gathered): UTC where the camera has no other zone, crop-relative
boxes, the image's size in ``plateImageSize``, a seven-key ``vehicle_info``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .vocabulary import DEFAULT_GENERATION, GENERATIONS

# FF-EVENTS.md section 4, in order: the 2023-2024 payload (ImageArray comes after imagesURI)
SECTION4_KEYS = (
    "packetCounter", "capture_timestamp", "frame_timestamp", "capture_ts", "datetime",
    "plateText", "plateUnicode", "plateUTF8", "plateASCII", "plateCountry", "plateISO3166-2",
    "plateRegion", "plateRegionCode", "plateList", "plateListMode", "plateListDescription",
    "plateConfidence", "carState", "roiID", "geotag", "imageType", "plateImageType", "plateImageSize",
    "carMoveDirection", "timeProcessing", "plateCoordinates", "plateCoordinatesRelative", "carID",
    "GEOtarget", "imagesURI", "imageFile", "imageFile2", "profileID", "vehicle_info", "camera_info",
    "sensorProviderID",
)
_NOT_IN_2021 = {"plateISO3166-2", "plateRegion", "plateRegionCode", "plateList", "plateListMode",
                "plateListDescription", "imageFile2", "profileID"}
KEYS_2021_CAMMRA = tuple(k for k in SECTION4_KEYS if k not in _NOT_IN_2021)
KEYS_2021_LPV = tuple(k for k in KEYS_2021_CAMMRA if k != "vehicle_info")
KEYS_2019 = (
    "packetCounter", "datetime", "plateText", "plateCountry", "plateConfidence", "cameraId", "carState",
    "geotag", "imageType", "plateImageType", "plateImageSize", "carMoveDirection", "timeProcessing",
    "plateCoordinates", "carID", "GEOtarget", "sensorProviderID",
)

# every key any generation sends, with ImageArray: what a receiver may meet
ALL_KEYS = frozenset(SECTION4_KEYS) | frozenset(KEYS_2019) | {"ImageArray"}
# keys whose values are not strings
NON_STRING_KEYS = frozenset({"geotag", "plateCoordinates", "plateCoordinatesRelative", "imagesURI", "ImageArray",
                             "vehicle_info", "camera_info"})

# every camera_info key a generation writes, in the order they write them
CAMERA_INFO_KEYS = ("SerialNumber", "ProdShortName", "IPAddress", "MACAddress")
STORAGE_PREFIX = {"internal": "localdata/images/", "sd_card": "/var/spool/storage/SD_DISK/fflprapp/images/"}
URI_PREFIX = "/local/fflprapp/tools.cgi?action=getImage&name="


@dataclass(frozen=True, slots=True)
class Generation:
    name: str
    keys: tuple[str, ...]
    # -- how values are written --------------------------------------------------------
    plate_image_type: tuple[tuple[str, str], ...]  # image format -> plateImageType
    camera_info: tuple[str, ...]  # its keys ('' when the generation has none)
    vehicle_info: str  # documented | cammra-2021 | current | none
    image_names: str  # standard: YYYYmmddHHMMSS_<us><kind>_<PLATE>_<counter>; cammra-2021: <ms>_<kind>_<PLATE>_...
    local_names: bool  # image names in the camera's local time (else UTC)
    reliable: bool  # this firmware can send the Reliable event
    # -- defaults of the camera settings that vary within a generation ---------------
    image_format: str = "jpeg"
    mac_format: str = "plain"  # plain | colons | empty | as-given
    storage: str = "internal"  # internal | sd_card
    recognises: tuple[str, ...] = ("view", "type", "color")
    relative_coordinates: str = "frame"  # frame (equal to plateCoordinates) | crop
    plate_image_size: str = "zero"  # zero | actual
    frame_phase: bool = True  # frame times carry a seeded sub-millisecond phase
    save_delay_us: tuple[int, int] = (20_000, 300_000)  # images are saved (and named) this long after the
    # capture, seeded per image: tens to hundreds of milliseconds in the field
    lost_images: str = "result"  # result: the images of the result it finalises | capture: of its own capture

    def spell_image_type(self, image_format: str) -> str:
        return dict(self.plate_image_type).get(image_format, image_format)

    def vehicle_info_keys(self, recognises: tuple[str, ...], make_key: str = "brand") -> tuple[str, ...]:
        """The keys of vehicle_info, in this generation's order, for what the camera recognises."""
        if self.vehicle_info == "documented":  # the samples' seven keys, whatever is recognised
            return ("type", "view", "brand", "color", "model", "confidenceMMR", "confidenceColor")
        if self.vehicle_info == "none":
            return ()
        seen = set(recognises)
        if self.vehicle_info == "cammra-2021":
            keys = [make_key, "model"] if "make" in seen else []
            keys += [k for k in ("type", "color") if k in seen]
            keys += ["confidenceMMR"] if "make" in seen else []
            keys += ["confidenceColor"] if "color" in seen else []
            return tuple(keys + ["coordinates"])  # the vehicle's box, always
        keys = [k for k in ("view", "type", "color") if k in seen]
        if "make" in seen:
            keys += [make_key, "model", "confidenceMMR", "confidenceColor"]
        return tuple(keys)


_SPELL_JPEG = (("jpeg", "jpeg"),)
_SPELL_JPG = (("jpeg", "jpg"),)

TABLE: dict[str, Generation] = {
    g.name: g for g in (
        Generation("2019", KEYS_2019, _SPELL_JPEG, camera_info=(), vehicle_info="none", image_names="standard",
                   local_names=True, reliable=False, image_format="png", recognises=(),
                   relative_coordinates="none"),
        Generation("2021-lpv", KEYS_2021_LPV, _SPELL_JPG, camera_info=("SerialNumber", "ProdShortName", "MACAddress"),
                   vehicle_info="none", image_names="standard", local_names=False, reliable=False,
                   mac_format="colons", storage="sd_card", recognises=(), relative_coordinates="crop"),
        Generation("2021-cammra", KEYS_2021_CAMMRA, _SPELL_JPEG,
                   camera_info=("SerialNumber", "ProdShortName", "MACAddress"), vehicle_info="cammra-2021",
                   image_names="cammra-2021", local_names=False, reliable=False, mac_format="colons",
                   storage="sd_card", recognises=("type", "color", "make"), relative_coordinates="crop"),
        Generation("2024-lpv", SECTION4_KEYS, _SPELL_JPEG,
                   camera_info=("SerialNumber", "ProdShortName", "IPAddress", "MACAddress"), vehicle_info="current",
                   image_names="standard", local_names=True, reliable=True),
        Generation("2024-cammra", SECTION4_KEYS, _SPELL_JPEG,
                   camera_info=("SerialNumber", "ProdShortName", "MACAddress"), vehicle_info="current",
                   image_names="standard", local_names=True, reliable=True, mac_format="empty",
                   recognises=("view", "type", "color", "make")),
        Generation("documented", SECTION4_KEYS, _SPELL_JPEG,
                   camera_info=("SerialNumber", "ProdShortName", "IPAddress", "MACAddress"),
                   vehicle_info="documented", image_names="standard", local_names=False, reliable=True,
                   mac_format="as-given", recognises=("view", "type", "color", "make"),
                   relative_coordinates="crop", plate_image_size="actual", save_delay_us=(0, 0), frame_phase=False,
                   lost_images="capture"),
    )
}
assert tuple(TABLE) == GENERATIONS and DEFAULT_GENERATION in TABLE
assert all(set(g.camera_info) <= set(CAMERA_INFO_KEYS) for g in TABLE.values())


def generation(name: str) -> Generation:
    return TABLE[name]


def format_mac(mac: str, style: str) -> str:
    """The MAC address as a generation writes it: 'ACCC8E000001', 'AC:CC:8E:00:00:01' or ''."""
    if style == "as-given":
        return mac
    if style == "empty":
        return ""
    digits = "".join(ch for ch in mac if ch.isalnum()).upper()
    if style == "plain":
        return digits
    if len(digits) != 12:  # not a MAC address: colons would only garble it
        return mac
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))
