"""Engine events to the camera's JSON payloads, one builder per sending profile.

Key order, value types and formats follow FF-EVENTS.md section 4 and the samples.

Most of a payload is the same in every packet of a profile (camera, geotag,
profile...). For each profile and text style, the payload is rendered once by
the real encoders with placeholder tokens where values change; a packet then
only fills those slots, with vehicle fragments memoised on the vehicle. The
text equals what the encoders write for the whole dict (the tests compare them
byte for byte).
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from json.encoder import encode_basestring

from ..engine.lists import ListMatcher
from ..engine.plates import ascii_fold
from ..engine.vehicle import LOST, Event, Vehicle
from ..scenario.model import Profile, Scenario
from ..render import ImageRenderer, encode
from .crops import Box, plate_box, relative_box
from .jsonwire import render, render_value, u_escape

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

COMPACT, CAMERA = "compact", "camera"  # json.dumps(ensure_ascii=False) text / the camera's bytes


class _Stamps:
    """UTC 'YYYYMMDD' and 'HHMMSS' of an epoch second, remembering the last one asked
    (packets come in time order, and an event's image names share its second)."""

    __slots__ = ("second", "day", "clock")

    def __init__(self):
        self.second = None
        self.day = self.clock = ""

    def __call__(self, second: int) -> tuple[str, str]:
        if second != self.second:
            tm = time.gmtime(second)
            self.second = second
            self.day = "%04d%02d%02d" % (tm.tm_year, tm.tm_mon, tm.tm_mday)
            self.clock = "%02d%02d%02d" % (tm.tm_hour, tm.tm_min, tm.tm_sec)
        return self.day, self.clock


def format_datetime(epoch_ms: int, stamps: _Stamps | None = None) -> str:
    """'YYYYMMDD HHMMSSfff' in UTC."""
    seconds, ms = divmod(epoch_ms, 1000)
    day, clock = (stamps or _Stamps())(seconds)
    return "%s %s%03d" % (day, clock, ms)


def safe_plate(plate: str) -> str:
    """The plate as it stands in image names: ASCII-folded, anything but letters and digits as '_'."""
    return "".join([ch if ch.isalnum() else "_" for ch in ascii_fold(plate)])


def image_name(epoch_us: int, kind: str, plate: str, counter: int, extension: str,
               stamps: _Stamps | None = None) -> str:
    """YYYYmmddHHMMSS_<microseconds><kind>_<PLATE>_<packetCounter>.<ext>, as on the camera.

    The microseconds within the second are not zero-padded: the vendor's example
    ``20240614160426_32557roi_...`` shows five digits. ``plate`` is given as
    :func:`safe_plate` makes it, so a name is always a safe file name.
    """
    seconds, micro = divmod(epoch_us, 1_000_000)
    day, clock = (stamps or _Stamps())(seconds)
    return "%s%s_%d%s_%s_%d.%s" % (day, clock, micro, kind, plate, counter, extension)


# -- templates ---------------------------------------------------------------------------
_MARK = "\ue000"  # a private-use character: never in a token's surroundings by accident


def _token(i: int) -> str:
    return f"{_MARK}{i}{_MARK}"


_TEXT_BLOCK = (
    "plateText", "plateUnicode", "plateUTF8", "plateASCII", "plateCountry", "plateISO3166-2",
    "plateRegion", "plateRegionCode", "plateList", "plateListMode", "plateListDescription",
)


def _skeleton(builder: PayloadBuilder) -> tuple[dict, set[str], int]:
    """The payload with a token in each place that changes, the tokens of "raw" slots
    (which take ready JSON text) and the number of slots. The other slots sit inside
    a JSON string and take text that needs no escaping. Slots are numbered in order
    of appearance, which is the order of the values given to the template."""
    count = 0
    raw: set[str] = set()

    def slot(is_raw: bool = False) -> str:
        nonlocal count
        token = _token(count)
        count += 1
        if is_raw:
            raw.add(token)
        return token

    out: dict[str, object] = {}
    for key in ("packetCounter", "capture_timestamp", "frame_timestamp", "capture_ts", "datetime"):
        out[key] = slot()
    for key in _TEXT_BLOCK:
        out[key] = slot(True)
    out["plateConfidence"] = slot()
    out["carState"] = slot()
    out["roiID"] = slot()
    out["geotag"] = builder.geotag
    out["imageType"] = builder.image_type
    out["plateImageType"] = builder.profile.image_format
    out["plateImageSize"] = slot()
    out["carMoveDirection"] = slot()
    out["timeProcessing"] = "0"
    out["plateCoordinates"] = [slot(True) for _ in range(4)]
    out["plateCoordinatesRelative"] = [slot(True) for _ in range(4)]
    out["carID"] = slot()
    out["GEOtarget"] = builder.geo_target
    out["imagesURI"] = [URI_PREFIX + slot(), URI_PREFIX + slot()]
    if builder.inline:
        out["ImageArray"] = slot(True)
    out["imageFile"] = FILE_PREFIX + slot()
    out["imageFile2"] = FILE_PREFIX + slot()
    out["profileID"] = builder.profile_id
    out["vehicle_info"] = slot(True)
    out["camera_info"] = builder.camera_info
    out["sensorProviderID"] = builder.device_id
    return out, raw, count


def _template(builder: PayloadBuilder, style: str) -> str:
    skeleton, raw, count = _skeleton(builder)
    text = json.dumps(skeleton, ensure_ascii=False) if style == COMPACT else render(skeleton, escape=False)
    text = text.replace("%", "%%")
    for i in range(count):
        token = _token(i)
        text = text.replace(f'"{token}"' if token in raw else token, "%s", 1)
    return text


@dataclass(frozen=True, slots=True)
class Attachment:
    """An image sent with a packet: a multipart part, or an ImageArray entry."""

    field: str  # multipart field name: image, image2
    filename: str
    image_format: str  # jpeg | png | bmp
    data: bytes

    @property
    def content_type(self) -> str:
        return "image/" + self.image_format

    def array_entry(self) -> dict:
        return {"ImageType": "", "ImageFormat": EXTENSION[self.image_format],
                "BinaryImage": base64.b64encode(self.data).decode("ascii")}


class Payload:
    """One packet's JSON payload; the dict and both texts are made on demand."""

    __slots__ = ("_builder", "_vehicle", "_values", "_text", "_list", "attachments")

    def __init__(self, builder: PayloadBuilder, vehicle: Vehicle, values: tuple, text: str, listed: tuple,
                 attachments: tuple[Attachment, ...]):
        self._builder = builder
        self._vehicle = vehicle
        self._values = values  # the slots that need no escaping, in order (see build)
        self._text = text
        self._list = listed
        self.attachments = attachments

    def _fragments(self, style: str) -> tuple[tuple, str]:
        """JSON text of the text block and of vehicle_info, memoised on the vehicle."""
        cache = self._vehicle.cache
        key = (style, self._text)
        block = cache.get(key)
        if block is None:
            v, text = self._vehicle, self._text
            plain = encode_basestring(text)
            escaped = u_escape(text) if style == CAMERA else plain
            ascii_text = encode_basestring(ascii_fold(text)) if self._builder.fold_ascii else plain
            block = cache[key] = (escaped, escaped, plain, ascii_text) + tuple(
                encode_basestring(x) for x in (v.country, v.iso3166_2, v.region, v.region_code, *self._list)
            )
        info = cache.get(style)
        if info is None:
            data = vehicle_info(self._vehicle)
            info = cache[style] = json.dumps(data, ensure_ascii=False) if style == COMPACT else render_value(data, "  ")
        return block, info

    def _image_array(self) -> list[dict]:
        return [a.array_entry() for a in self.attachments]

    def _render(self, style: str) -> str:
        v = self._values
        block, info = self._fragments(style)
        if self._builder.inline:
            array = self._image_array()
            text = json.dumps(array) if style == COMPACT else render_value(array, "  ")
            values = v[:5] + block + v[5:21] + (text,) + v[21:] + (info,)
        else:
            values = v[:5] + block + v[5:] + (info,)
        return self._builder.template(style) % values

    def compact(self) -> str:
        """Exactly ``json.dumps(self.as_dict(), ensure_ascii=False)``."""
        return self._render(COMPACT)

    def camera_json(self) -> bytes:
        """The payload as the camera writes it: what the HTTP ``event`` part carries."""
        return (self._render(CAMERA) + "\n").encode("utf-8")

    def as_dict(self) -> dict:
        v, text, veh, b = self._values, self._text, self._vehicle, self._builder
        out = {
            "packetCounter": v[0], "capture_timestamp": v[1], "frame_timestamp": v[2], "capture_ts": v[3],
            "datetime": v[4], "plateText": text, "plateUnicode": text, "plateUTF8": text,
            "plateASCII": ascii_fold(text) if b.fold_ascii else text, "plateCountry": veh.country,
            "plateISO3166-2": veh.iso3166_2, "plateRegion": veh.region, "plateRegionCode": veh.region_code,
            "plateList": self._list[0], "plateListMode": self._list[1], "plateListDescription": self._list[2],
            "plateConfidence": v[5], "carState": v[6], "roiID": v[7], "geotag": dict(b.geotag),
            "imageType": b.image_type, "plateImageType": b.profile.image_format, "plateImageSize": v[8],
            "carMoveDirection": v[9], "timeProcessing": "0",
            "plateCoordinates": list(v[10:14]), "plateCoordinatesRelative": list(v[14:18]), "carID": v[18],
            "GEOtarget": b.geo_target, "imagesURI": [URI_PREFIX + v[19], URI_PREFIX + v[20]],
        }
        if b.inline:
            out["ImageArray"] = self._image_array()
        out.update({
            "imageFile": FILE_PREFIX + v[21], "imageFile2": FILE_PREFIX + v[22], "profileID": b.profile_id,
            "vehicle_info": vehicle_info(veh), "camera_info": dict(b.camera_info), "sensorProviderID": b.device_id,
        })
        return out

    def __getitem__(self, key: str):
        return self.as_dict()[key]


class PayloadBuilder:
    """Numbers the packets of one profile and writes each event's payload."""

    def __init__(self, scenario: Scenario, profile: Profile, start_us: int, lists: ListMatcher,
                 renderer: ImageRenderer | None = None):
        cam = scenario.camera
        self.profile = profile
        self.attach = profile.image_kind != "none"
        self.inline = profile.inline_images and self.attach  # ImageArray only when images travel in the JSON
        self.renderer = renderer or ImageRenderer(cam.width, cam.height, scenario.photos)
        self.start_us = start_us
        self.lists = lists
        self.counter = 0
        self.fold_ascii = scenario.recognition.fold_ascii
        self.frame_w, self.frame_h = cam.width, cam.height
        self.event_types = profile.events
        self.image_kind = profile.image_kind
        self.image_type = IMAGE_TYPE[profile.image_kind]
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
        # per passage: image -> its path, named with the packetCounter of the
        # first packet of this profile that carried it
        self._images: dict[object, dict[object, str]] = {}
        self._templates: dict[str, str] = {}
        self._stamps = _Stamps()

    def build(self, ev: Event) -> Payload | None:
        """The payload of ev for this profile, or None if the profile does not send its type."""
        state = ev.state
        passage = ev.passage
        if state not in self.event_types:
            if state == LOST:
                self._images.pop(passage, None)
            return None
        self.counter = counter = self.counter + 1
        v = passage.vehicle
        start_us = self.start_us
        cap_us = start_us + ev.capture_us
        cap_ms = cap_us // 1000
        # images of this passage: plate images by shot, the vehicle image under None
        images = self._images.pop(passage, None) if state == LOST else self._images.get(passage)
        if images is None:
            images = {}
            if state != LOST:
                self._images[passage] = images
        stamps = self._stamps
        shot = ev.plate_shot
        lp = images.get(shot)
        if lp is None:
            lp = images[shot] = self.plate_dir + image_name(
                start_us + shot[0], "lp", _safe(v, shot[1]), counter, self.extension, stamps)
        roi = images.get(None)
        if roi is None:
            shot = ev.vehicle_shot
            roi = images[None] = self.vehicle_dir + image_name(
                start_us + shot[0], "roi", _safe(v, shot[1]), counter, self.extension, stamps)
        seconds, ms = divmod(cap_ms, 1000)
        day, clock = stamps(seconds)
        box = plate_box(ev.x, ev.y, v.plate_w, v.plate_h, self.frame_w, self.frame_h)
        if self.attach:
            attachments, rel = self._attachments(ev, v, box, lp, roi, counter)
            size = str(len(attachments[0].data))
        else:
            attachments, rel, size = (), relative_box(self.image_kind, box, self.frame_w, self.frame_h), "0"
        values = (
            str(counter), str(cap_ms), "0" if state == LOST else str(cap_us), "%d000000" % cap_ms,
            "%s %s%03d" % (day, clock, ms), "%.6f" % ev.confidence, state, str(ev.zone), size, ev.direction,
        ) + box + rel + (str(passage.car_id), lp, roi, roi, lp)
        return Payload(self, v, values, ev.text, self.lists.match(ev.text), attachments)

    def _image(self, kind: str, v: Vehicle, ev: Event) -> tuple[bytes, Box]:
        """The encoded image of this kind, and where the plate lies in it.

        Crops show the vehicle as first recognised in the passage and serve all its
        events; a frame shows the capture of the event."""
        fmt = self.profile.image_format
        moment = ev.vehicle_shot[0] if kind in ("vehicle", "plate") else ev.capture_us
        key = ("img", kind, fmt, moment)
        found = v.cache.get(key)
        if found is None:
            # the same picture whichever profile asks first, and whatever it sends
            x, y = (ev.x, ev.y) if moment == ev.capture_us else v.trajectory.position(moment)
            img = self.renderer.render(kind, v, x, y)
            box = plate_box(x, y, v.plate_w, v.plate_h, self.frame_w, self.frame_h)
            found = v.cache[key] = (encode(img, fmt), relative_box(kind, box, self.frame_w, self.frame_h))
        return found

    def _attachments(self, ev: Event, v: Vehicle, box: Box, lp: str, roi: str,
                     counter: int) -> tuple[tuple[Attachment, ...], Box]:
        kind, fmt = self.image_kind, self.profile.image_format
        data, rel = self._image(kind, v, ev)
        if kind == "plate":
            name = lp
        elif kind == "vehicle":
            name = roi
        else:
            name = image_name(self.start_us + ev.capture_us, "frame", _safe(v, ev.text), counter, self.extension,
                              self._stamps)
        out = [Attachment("image", name.rpartition("/")[2], fmt, data)]
        if self.profile.second_image:
            out.append(Attachment("image2", lp.rpartition("/")[2], fmt, self._image("plate", v, ev)[0]))
        return tuple(out), rel

    def template(self, style: str) -> str:
        found = self._templates.get(style)
        if found is None:
            found = self._templates[style] = _template(self, style)
        return found


def _safe(v: Vehicle, text: str) -> str:
    key = ("safe", text)
    found = v.cache.get(key)
    if found is None:
        found = v.cache[key] = safe_plate(text)
    return found


def vehicle_info(v: Vehicle) -> dict:
    return {
        "type": v.type,
        "view": v.view,
        "brand": v.brand,
        "color": v.color,
        "model": v.model,
        "confidenceMMR": "%.6f" % v.confidence_mmr,
        "confidenceColor": "%.6f" % v.confidence_color,
    }
