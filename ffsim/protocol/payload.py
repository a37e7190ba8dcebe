"""Engine events to the camera's JSON payloads, one builder per sending profile.

The shape of a payload (which keys, in which order, how values are spelled) is
that of the camera's firmware generation, read from the tables in
:mod:`ffsim.generations`; FF-EVENTS.md sections 4 and 10 are the source.

Most of a payload is the same in every packet of a profile (camera, geotag,
profile...). For each profile and text style, the payload is rendered once by
the real encoders with placeholder tokens where values change; a packet then
only fills those slots, with vehicle fragments memoised on the vehicle. The
text equals what the encoders write for the whole dict (the tests compare them
byte for byte), and the dict itself is read back from the same skeleton, so the
layout is written down once, in the generation's key list.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import zoneinfo
from datetime import datetime
from json.encoder import encode_basestring
from operator import itemgetter

from ..engine.lists import ListMatcher
from ..engine.plates import ascii_fold
from ..engine.vehicle import LOST, Event, Vehicle
from ..faults.clock import CameraClock
from ..render import ImageRenderer
from ..scenario.model import Profile, Restart, Scenario
from .crops import Box, crop_box, plate_box, relative_box
from ..units import camera_zone
from ..generations import STORAGE_PREFIX, URI_PREFIX, format_mac, generation
from .jsonwire import render, render_value, u_escape

IMAGE_TYPE = {"vehicle": "vehicle", "plate": "plate", "frame": "frame", "frame_downsized": "frame", "none": "vehicle"}
EXTENSION = {"jpeg": "jpg", "png": "png", "bmp": "bmp"}

COMPACT, CAMERA = "compact", "camera"  # json.dumps(ensure_ascii=False) text / the camera's bytes
_MASK = (1 << 64) - 1
_DRAWING = threading.Lock()
# the kind of an image: the word for it in the camera's file names, and a number that
# keeps its seeded save delay apart from the other kinds'
_NAME_KINDS = {"plate": ("lp", 1), "vehicle": ("roi", 2), "frame": ("frame", 3)}


class _Stamps:
    """'YYYYMMDD' and 'HHMMSS' of an epoch second in a time zone (daylight saving included),
    remembering the last one asked (packets come in time order, and an event's values
    share its second)."""

    __slots__ = ("zone", "second", "day", "clock")

    def __init__(self, zone: str = "UTC"):
        self.zone: zoneinfo.ZoneInfo | None = None if zone == "UTC" else camera_zone(zone)
        self.second: int | None = None
        self.day = self.clock = ""

    def __call__(self, second: int) -> tuple[str, str]:
        if second != self.second:
            self.second = second
            if self.zone is None:
                tm = time.gmtime(second)
                y, mo, d, h, mi, s = tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec
            else:
                moment = datetime.fromtimestamp(second, self.zone)
                y, mo, d, h, mi, s = moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second
            self.day = "%04d%02d%02d" % (y, mo, d)
            self.clock = "%02d%02d%02d" % (h, mi, s)
        return self.day, self.clock


def format_datetime(epoch_ms: int, zone: str = "UTC") -> str:
    """'YYYYMMDD HHMMSSfff' of epoch_ms in the time zone."""
    seconds, ms = divmod(epoch_ms, 1000)
    day, clock = _Stamps(zone)(seconds)
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


def cammra_2021_name(epoch_us: int, kind: str, v: Vehicle, plate: str, extension: str, stamps: _Stamps) -> str:
    """YYYYmmddHHMMSS_<ms>_<kind>_<PLATE>_<COUNTRY>_<Make>_<Model>_<COLOR>.<ext>, CAMMRA's 2021 names."""
    seconds, micro = divmod(epoch_us, 1_000_000)
    day, clock = stamps(seconds)
    return "%s%s_%03d_%s_%s_%s_%s_%s_%s.%s" % (day, clock, micro // 1000, kind, plate, v.country,
                                               safe_plate(v.brand), safe_plate(v.model), v.color, extension)


def _mix(x: int) -> int:
    """splitmix64's finaliser: a well-spread 64-bit number from any integer, the same everywhere."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


# -- the slots of a payload ------------------------------------------------------------------
# Per packet, the values that change are kept in this order; a generation's template picks
# the ones its keys use. The text block and vehicle_info are JSON text that depends on the
# style (plateText is \u-escaped in the camera's bytes), ImageArray is made only when asked.
_TEXT_BLOCK = (
    "plateText", "plateUnicode", "plateUTF8", "plateASCII", "plateCountry", "plateISO3166-2",
    "plateRegion", "plateRegionCode", "plateList", "plateListMode", "plateListDescription",
)
# the slots filled by PayloadBuilder.build, in its order; the text block goes after the first five
_HEAD = ("packetCounter", "capture_timestamp", "frame_timestamp", "capture_ts", "datetime")
_BUILT = _HEAD + ("plateConfidence", "carState", "roiID", "plateImageSize", "carMoveDirection", "box0", "box1",
                  "box2", "box3", "rel0", "rel1", "rel2", "rel3", "carID", "lp", "roi")
_SLOT = {name: i for i, name in enumerate(_HEAD + _TEXT_BLOCK + _BUILT[len(_HEAD):] + ("vehicle_info", "ImageArray"))}
_SIMPLE_KEYS = frozenset(_HEAD) | {"plateConfidence", "carState", "roiID", "plateImageSize", "carMoveDirection",
                                   "carID"}
_MARK = "\ue000"  # a private-use character: never in a token's surroundings by accident
_TOKEN = re.compile(_MARK + r"(\d+)" + _MARK)


class _Layout:
    """A generation's payload as a skeleton: constants in place, a token where a value changes.

    ``order[n]`` is the slot of the n-th token; ``raw`` the tokens that stand for a whole
    JSON value (the others sit inside a string and take text that needs no escaping)."""

    def __init__(self, builder: PayloadBuilder):
        self.order: list[int] = []
        self.raw: set[int] = set()
        b = builder
        skeleton: dict[str, object] = {}
        for key in b.generation.keys:
            if key in _SIMPLE_KEYS:
                skeleton[key] = self.slot(key)
            elif key in _TEXT_BLOCK or key == "vehicle_info":
                skeleton[key] = self.slot(key, raw=True)
            elif key == "plateCoordinates":
                skeleton[key] = [self.slot(f"box{i}", raw=True) for i in range(4)]
            elif key == "plateCoordinatesRelative":
                skeleton[key] = [self.slot(f"rel{i}", raw=True) for i in range(4)]
            elif key == "imagesURI":
                skeleton[key] = [URI_PREFIX + self.slot("lp"), URI_PREFIX + self.slot("roi")]
                if b.inline:
                    skeleton["ImageArray"] = self.slot("ImageArray", raw=True)
            elif key == "imageFile":
                skeleton[key] = b.storage + self.slot("roi")
            elif key == "imageFile2":
                skeleton[key] = b.storage + self.slot("lp")
            elif key == "camera_info":
                skeleton[key] = b.camera_info
            else:
                skeleton[key] = b.constants[key]
        if b.inline and "ImageArray" not in skeleton:
            skeleton["ImageArray"] = self.slot("ImageArray", raw=True)
        self.skeleton = skeleton
        self.pick = itemgetter(*self.order)
        self.templates = {style: self._template(style) for style in (COMPACT, CAMERA)}

    def slot(self, name: str, raw: bool = False) -> str:
        n = len(self.order)
        self.order.append(_SLOT[name])
        if raw:
            self.raw.add(n)
        return f"{_MARK}{n}{_MARK}"

    def _template(self, style: str) -> str:
        text = (json.dumps(self.skeleton, ensure_ascii=False) if style == COMPACT
                else render(self.skeleton, escape=False))
        text = text.replace("%", "%%")
        for n in range(len(self.order)):
            token = f"{_MARK}{n}{_MARK}"
            text = text.replace(f'"{token}"' if n in self.raw else token, "%s", 1)
        return text

    def fill(self, node: object, values: tuple) -> object:
        """The skeleton with the values in place, as Python values."""
        if isinstance(node, str):
            whole = _TOKEN.fullmatch(node)
            if whole is not None and int(whole.group(1)) in self.raw:
                return json.loads(values[self.order[int(whole.group(1))]])
            return _TOKEN.sub(lambda m: values[self.order[int(m.group(1))]], node)
        if isinstance(node, dict):
            return {k: self.fill(v, values) for k, v in node.items()}
        if isinstance(node, list):
            return [self.fill(v, values) for v in node]
        return node


class Attachment:
    """An image sent with a packet: a multipart part, or an ImageArray entry.
    Its picture is drawn when its bytes are first asked for (an image never sent costs nothing)."""

    __slots__ = ("field", "filename", "image_format", "image_type", "_make", "_data")

    def __init__(self, field: str, filename: str, image_format: str, image_type: str, make):
        self.field = field  # multipart field name: image, image2
        self.filename = filename
        self.image_format = image_format  # jpeg | png | bmp
        self.image_type = image_type  # ImageArray[].ImageType: "" or the kind
        self._make = make
        self._data: bytes | None = None

    @property
    def data(self) -> bytes:
        if self._data is None:
            self._data = self._make()
            self._make = None
        return self._data

    @property
    def content_type(self) -> str:
        return "image/" + self.image_format

    def array_entry(self) -> dict:
        return {"ImageType": self.image_type, "ImageFormat": EXTENSION[self.image_format],
                "BinaryImage": base64.b64encode(self.data).decode("ascii")}


class Payload:
    """One packet's JSON payload; the dict and both texts are made on demand."""

    __slots__ = ("_builder", "_vehicle", "_values", "_text", "_list", "_info", "attachments")

    def __init__(self, builder: PayloadBuilder, vehicle: Vehicle, values: tuple, text: str, listed: tuple,
                 info: dict | None, attachments: tuple[Attachment, ...]):
        self._builder = builder
        self._vehicle = vehicle
        self._values = values  # the style-independent slots, in order (see PayloadBuilder.build)
        self._text = text
        self._list = listed
        self._info = info  # vehicle_info when it changes per packet (CAMMRA 2021's coordinates)
        self.attachments = attachments

    @property
    def counter(self) -> str:
        return self._values[0]

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
        if self._info is not None:
            return block, _json_text(self._info, style)
        info_key = ("info", style)
        info = cache.get(info_key)
        if info is None:
            info = cache[info_key] = _json_text(self._builder.vehicle_info(self._vehicle), style)
        return block, info

    def _full(self, style: str) -> tuple:
        v = self._values
        block, info = self._fragments(style)
        array = _json_text([a.array_entry() for a in self.attachments], style) if self._builder.inline else ""
        return v[:5] + block + v[5:] + (info, array)

    def compact(self) -> str:
        """Exactly ``json.dumps(self.as_dict(), ensure_ascii=False)``."""
        layout = self._builder.layout
        return layout.templates[COMPACT] % layout.pick(self._full(COMPACT))

    def camera_json(self) -> bytes:
        """The payload as the camera writes it: what the HTTP ``event`` part carries."""
        layout = self._builder.layout
        return (layout.templates[CAMERA] % layout.pick(self._full(CAMERA)) + "\n").encode("utf-8")

    def as_dict(self) -> dict:
        layout = self._builder.layout
        out = layout.fill(layout.skeleton, self._full(COMPACT))
        assert isinstance(out, dict)
        return out

    def __getitem__(self, key: str):
        if key == "packetCounter":
            return self._values[0]
        return self.as_dict()[key]


def _json_text(value: object, style: str) -> str:
    return json.dumps(value, ensure_ascii=False) if style == COMPACT else render_value(value, "  ")


class PayloadBuilder:
    """Numbers the packets of one profile and writes each event's payload."""

    def __init__(self, scenario: Scenario, profile: Profile, start_us: int, lists: ListMatcher,
                 renderer: ImageRenderer | None = None, clock: CameraClock | None = None):
        """clock: the camera's clock when a clock fault is on (ffsim.faults.clock); None: true time."""
        cam = scenario.camera
        gen = self.generation = generation(cam.firmware)
        self.camera = cam
        self.profile = profile
        self.attach = profile.image_kind != "none"
        self.inline = profile.inline_images and self.attach  # ImageArray only when images travel in the JSON
        self.renderer = renderer or ImageRenderer(cam.width, cam.height, scenario.photos, scenario.road_seed)
        self.start_us = start_us  # epoch microseconds of frame 0 (the frame clock's phase included)
        self.lists = lists
        self.counter = profile.first_packet_counter - 1
        self.fold_ascii = scenario.recognition.fold_ascii
        self.frame_w, self.frame_h = cam.width, cam.height
        self.event_types = profile.events
        self.image_kind = profile.image_kind
        self.image_type = IMAGE_TYPE[profile.image_kind]
        self.extension = EXTENSION[profile.image_format]
        self.plate_dir = f"{cam.plate_folder}/"
        self.vehicle_dir = f"{cam.vehicle_folder}/"
        self.storage = STORAGE_PREFIX[cam.storage]
        self.plate_kind = cam.plate_crop_name
        self.cammra_names = gen.image_names == "cammra-2021"
        self.lost_own_capture = cam.lost_images == "capture"
        self.actual_size = cam.plate_image_size == "actual"
        self.relative = cam.relative_coordinates
        self.save_delay = cam.image_save_delay_us
        self.seed_key = _mix(scenario.seed & _MASK)
        device_id = profile.device_id if profile.device_id is not None else cam.device_id
        self.constants = {
            "geotag": {"lat": cam.lat, "lon": cam.lon},
            "imageType": self.image_type,
            "plateImageType": gen.spell_image_type(profile.image_format),
            "timeProcessing": "0",
            "GEOtarget": cam.geo_target,
            "profileID": str(profile.id),
            "sensorProviderID": device_id,
            "cameraId": cam.camera_id,
        }
        known = {"SerialNumber": cam.serial, "ProdShortName": cam.model, "IPAddress": cam.ip,
                 "MACAddress": format_mac(cam.mac, cam.mac_format)}
        self.camera_info = {key: known[key] for key in gen.camera_info}
        self.vehicle_info_keys = gen.vehicle_info_keys(cam.recognises, cam.make_key)
        # image names are made only where a payload or an attachment shows them (not in 2019's)
        self.names = self.attach or not {"imagesURI", "imageFile", "imageFile2"}.isdisjoint(gen.keys)
        # per passage: image -> its path, named with the packetCounter of the
        # first packet of this profile that carried it
        self._images: dict[object, dict[object, str]] = {}
        self._stamps = _Stamps(cam.timezone)
        self._name_stamps = _Stamps(cam.timezone if gen.local_names else "UTC")
        self.local_names = gen.local_names
        self.clock = clock
        self._zones: dict[str, _Stamps] = {}  # a wrong_timezone's stamps, by zone
        self.layout = _Layout(self)

    def restart(self, restart: Restart) -> None:
        """The camera restarted: the packetCounter starts again (unless the restart keeps it), and
        the images of the passages it cut are forgotten (their Lost, which would drop them, never comes)."""
        if restart.counters != "keep":
            first = restart.first_packet_counter
            self.counter = (first if first is not None else self.profile.first_packet_counter) - 1
        self._images.clear()

    def _zone_stamps(self, zone: str) -> _Stamps:
        found = self._zones.get(zone)
        if found is None:
            found = self._zones[zone] = _Stamps(zone)
        return found

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
        stamps = self._stamps
        clock = self.clock
        if clock is not None:  # what the camera writes: its own clock's time of the capture
            cap_us += clock.offset_us(ev.capture_us)
            zone = clock.zone_at(ev.capture_us)
            if zone is not None:
                stamps = self._zone_stamps(zone)
        cap_ms = cap_us // 1000
        # images of this passage: plate images by shot, the vehicle image under None
        images = self._images.pop(passage, None) if state == LOST else self._images.get(passage)
        if images is None:
            images = {}
            if state != LOST:
                self._images[passage] = images
        lp = roi = ""
        if self.names:
            shot = (ev.capture_us, ev.text) if state == LOST and self.lost_own_capture else ev.plate_shot
            found = images.get(shot)
            if found is None:
                found = images[shot] = self.plate_dir + self._name(v, shot[0], "plate", shot[1], counter)
            lp = found
            found = images.get(None)
            if found is None:
                shot = ev.vehicle_shot
                found = images[None] = self.vehicle_dir + self._name(v, shot[0], "vehicle", shot[1], counter)
            roi = found
        seconds, ms = divmod(cap_ms, 1000)
        day, hms = stamps(seconds)
        box = plate_box(ev.x, ev.y, v.plate_w, v.plate_h, self.frame_w, self.frame_h)
        attachments = self._attachments(ev, v, lp, roi, counter) if self.attach else ()
        if self.relative != "crop":
            rel = box
        else:  # the box inside the attached kind of image (the vehicle crop when none is attached)
            rel = relative_box(self.image_kind, box, self.frame_w, self.frame_h)
        size = str(len(attachments[0].data)) if self.actual_size and attachments else "0"
        values = (
            str(counter), str(cap_ms), "0" if state == LOST else str(cap_us), "%d000000" % cap_ms,
            "%s %s%03d" % (day, hms, ms), "%.6f" % ev.confidence, state, str(ev.zone), size, ev.direction,
            str(box[0]), str(box[1]), str(box[2]), str(box[3]), str(rel[0]), str(rel[1]), str(rel[2]), str(rel[3]),
            str(passage.car_id), lp, roi,
        )
        info = None
        if self.generation.vehicle_info == "cammra-2021":
            info = self.vehicle_info(v, crop_box("vehicle", box, self.frame_w, self.frame_h))
        return Payload(self, v, values, ev.text, self.lists.match(ev.text), info, attachments)

    def _name(self, v: Vehicle, capture_us: int, kind: str, text: str, counter: int) -> str:
        """The camera's file name of an image of this kind (plate, vehicle, frame) taken at
        capture_us: named after the moment it was saved, a seeded delay after the capture
        (the same for every profile)."""
        low, high = self.save_delay
        saved_us = self.start_us + capture_us
        stamps = self._name_stamps
        clock = self.clock
        if clock is not None:  # named by the camera's own clock (and zone, where names are local)
            saved_us += clock.offset_us(capture_us)
            zone = clock.zone_at(capture_us) if self.local_names else None
            if zone is not None:
                stamps = self._zone_stamps(zone)
        if high > 0:
            salt = _NAME_KINDS[kind][1]
            saved_us += low + _mix(self.seed_key ^ (v.seq << 40) ^ (capture_us << 2) ^ salt) % (high - low + 1)
        if self.cammra_names:
            return cammra_2021_name(saved_us, _NAME_KINDS[kind][0], v, _safe(v, text), self.extension, stamps)
        name_kind = self.plate_kind if kind == "plate" else _NAME_KINDS[kind][0]
        return image_name(saved_us, name_kind, _safe(v, text), counter, self.extension, stamps)

    def vehicle_info(self, v: Vehicle, vehicle_box: Box | None = None) -> dict:
        """vehicle_info as this generation writes it, with the keys of what the camera recognises."""
        style = self.generation.vehicle_info
        percent = 100.0 if style == "cammra-2021" else 1.0
        known: dict[str, object] = {
            "view": v.view, "type": v.type, "color": v.color, "brand": v.brand, "make": v.brand, "model": v.model,
            "confidenceMMR": "%.6f" % (v.confidence_mmr * percent),
            "confidenceColor": "%.6f" % (v.confidence_color * percent),
            "coordinates": list(vehicle_box) if vehicle_box is not None else [0, 0, 0, 0],
        }
        return {key: known[key] for key in self.vehicle_info_keys}

    def _image(self, kind: str, v: Vehicle, ev: Event) -> bytes:
        """The encoded image of this kind. Crops show the vehicle as first recognised in the
        passage and serve all its events; a frame shows the capture of the event."""
        fmt, quality = self.profile.image_format, self.profile.image_quality
        moment = ev.vehicle_shot[0] if kind in ("vehicle", "plate") else ev.capture_us
        key = ("img", kind, fmt, quality, moment)
        found = v.cache.get(key)
        if found is None:
            # profiles send (and so draw) from threads of their own: each picture is drawn once,
            # the same whichever profile asks first
            with _DRAWING:
                found = v.cache.get(key)
                if found is None:
                    x, y = (ev.x, ev.y) if moment == ev.capture_us else v.trajectory.position(moment)
                    found = v.cache[key] = self.renderer.image(kind, v, x, y, fmt, quality)
        return found

    def _attachments(self, ev: Event, v: Vehicle, lp: str, roi: str, counter: int) -> tuple[Attachment, ...]:
        kind, fmt = self.image_kind, self.profile.image_format
        if kind == "plate":
            name = lp
        elif kind == "vehicle":
            name = roi
        else:
            name = self._name(v, ev.capture_us, "frame", ev.text, counter)
        named = self.camera.image_array_type == "named"
        out = [Attachment("image", name.rpartition("/")[2], fmt, self.image_type if named else "",
                          lambda: self._image(kind, v, ev))]
        if self.profile.second_image:
            out.append(Attachment("image2", lp.rpartition("/")[2], fmt, "plate" if named else "",
                                  lambda: self._image("plate", v, ev)))
        return tuple(out)


def _safe(v: Vehicle, text: str) -> str:
    key = ("safe", text)
    found = v.cache.get(key)
    if found is None:
        found = v.cache[key] = safe_plate(text)
    return found
