"""Hand-made payloads in the shapes real cameras send (FF-EVENTS.md section 10), written
here key by key and value by value, not by ffsim's payload builder: the validator is
judged against the field, not against ffsim's own idea of it."""

from __future__ import annotations

import base64
import io
import json
import time

from PIL import Image

# key lists as section 10 states them (not imported from ffsim: the test must be able to fail)
SECTION4 = ("packetCounter capture_timestamp frame_timestamp capture_ts datetime plateText plateUnicode plateUTF8 "
            "plateASCII plateCountry plateISO3166-2 plateRegion plateRegionCode plateList plateListMode "
            "plateListDescription plateConfidence carState roiID geotag imageType plateImageType plateImageSize "
            "carMoveDirection timeProcessing plateCoordinates plateCoordinatesRelative carID GEOtarget imagesURI "
            "imageFile imageFile2 profileID vehicle_info camera_info sensorProviderID").split()
NOT_2021 = {"plateISO3166-2", "plateRegion", "plateRegionCode", "plateList", "plateListMode", "plateListDescription",
            "imageFile2", "profileID"}
KEYS = {
    "2019": ("packetCounter datetime plateText plateCountry plateConfidence cameraId carState geotag imageType "
             "plateImageType plateImageSize carMoveDirection timeProcessing plateCoordinates carID GEOtarget "
             "sensorProviderID").split(),
    "2021-lpv": [k for k in SECTION4 if k not in NOT_2021 | {"vehicle_info"}],
    "2021-cammra": [k for k in SECTION4 if k not in NOT_2021],
    "2024-lpv": SECTION4,
    "2024-cammra": SECTION4,
    "documented": SECTION4,
}
# the time zone of each shape's evidence: Kyiv +3 (2021), +2 (2024), a quarter-hour zone, UTC
OFFSET_H = {"2019": 1, "2021-lpv": 3, "2021-cammra": 3, "2024-lpv": 2, "2024-cammra": 5.75, "documented": 0}
T0 = 1718373876372  # 2024-06-14 14:04:36.372 UTC


def jpeg(size=(64, 32), fmt="JPEG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 200, 200)).save(out, fmt)
    return out.getvalue()


def local(ms: int, offset_h: float) -> str:
    shifted = ms + int(offset_h * 3_600_000)
    return time.strftime("%Y%m%d %H%M%S", time.gmtime(shifted // 1000)) + "%03d" % (shifted % 1000)


def payload(gen: str, state: str = "new", counter: int = 11890300, car: int = 412377, ms: int = T0,
            plate: str = "1AB1234", direction: str | None = None, device: str = "PRG-82", **changes) -> dict:
    """One event of a passage in the shape of generation gen, values as the field shows them."""
    offset_h = changes.pop("offset_h", OFFSET_H[gen])
    direction = direction or ("unknown" if state == "new" else "in")
    stamp = local(ms, offset_h)
    sd = "/var/spool/storage/SD_DISK/fflprapp/images/"
    name_time = stamp.replace(" ", "")[:14]
    if gen == "2021-cammra":  # <ms>_lp_<PLATE>_<COUNTRY>_<Make>_<Model>_<COLOR>, UTC
        lp = f"{sd}9/{local(ms, 0).replace(' ', '')[:14]}_{ms % 1000}_lp_{plate}_UKR_Skoda_Octavia_WHITE.jpg"
        roi = lp.replace("_lp_", "_roi_")
    else:
        folder = sd if gen == "2021-lpv" else "localdata/images/"
        kind = "lpup" if gen == "2024-cammra" else "lp"
        lp = f"{folder}9/{name_time}_{ms % 1000 * 1000 + 464}{kind}_{plate}_{counter}.jpg"
        roi = f"{folder}36/{name_time}_{ms % 1000 * 1000 + 32}roi_{plate}_{counter - 1}.jpg"
    box = [519, 633, 141, 42]
    values = {
        "packetCounter": str(counter),
        "capture_timestamp": str(ms),
        # sub-millisecond digits; the field once showed the frame 666 ms before the capture
        "frame_timestamp": "0" if state == "lost" else str((ms - 666) * 1000 + 442),
        "capture_ts": f"{ms}000000",
        "datetime": stamp,
        "plateText": plate, "plateUnicode": plate, "plateUTF8": plate, "plateASCII": plate,
        "plateCountry": "UKR", "plateISO3166-2": "", "plateRegion": "", "plateRegionCode": "",
        "plateList": "", "plateListMode": "", "plateListDescription": "",
        "plateConfidence": "0.868800",
        "cameraId": "1",
        "carState": state,
        "roiID": "1",
        "geotag": {"lat": 55.70421, "lon": 13.19366},  # the factory geotag many cameras keep
        "imageType": "vehicle",
        "plateImageType": {"2019": "png", "2021-lpv": "jpg"}.get(gen, "jpeg"),
        "plateImageSize": "0",
        "carMoveDirection": direction,
        "timeProcessing": "0",
        "plateCoordinates": box,
        "plateCoordinatesRelative": box if gen in ("2024-lpv", "2024-cammra") else [219, 333, 141, 42],
        "carID": str(car),
        "GEOtarget": "Camera",
        "imagesURI": ["/local/fflprapp/tools.cgi?action=getImage&name=" + lp.split("images/")[1]],
        "imageFile": roi,
        "imageFile2": lp,
        "profileID": "1",
        "vehicle_info": {
            "2021-cammra": {"brand": "Skoda", "model": "Octavia", "type": "CAR", "color": "WHITE",
                            "confidenceMMR": "96.657967", "confidenceColor": "88.100000",
                            "coordinates": [400, 300, 640, 480]},
            "2024-lpv": {"view": "front", "type": "PICKUP", "color": "BLACK"},
            "2024-cammra": {"view": "rear", "type": "CAR", "color": "SILVER", "make": "Skoda", "model": "Octavia",
                            "confidenceMMR": "0.912000", "confidenceColor": "0.870000"},
            "documented": {"type": "CAR", "view": "front", "brand": "Skoda", "color": "WHITE", "model": "Octavia",
                           "confidenceMMR": "0.981200", "confidenceColor": "0.944000"},
        }.get(gen),
        "camera_info": {
            "2021-lpv": {"SerialNumber": "ACCC8E000001", "ProdShortName": "AXIS P1445-LE",
                         "MACAddress": "AC:CC:8E:00:00:01"},
            "2021-cammra": {"SerialNumber": "ACCC8E000002", "ProdShortName": "AXIS P1455-LE",
                            "MACAddress": "AC:CC:8E:00:00:02"},
            "2024-lpv": {"SerialNumber": "ACCC8E000003", "ProdShortName": "AXIS Q1805-LE",
                         "IPAddress": "10.0.3.177", "MACAddress": "ACCC8E000003"},
            "2024-cammra": {"SerialNumber": "ACCC8E000004", "ProdShortName": "AXIS Q1700-LE", "MACAddress": ""},
            "documented": {"SerialNumber": "ACCC8E000005", "ProdShortName": "AXIS P1465-LE",
                           "IPAddress": "10.0.3.21", "MACAddress": "ACCC8E000005"},
        }.get(gen),
        "sensorProviderID": device,
    }
    out = {k: values[k] for k in KEYS[gen]}
    if gen == "2019":
        out["plateConfidence"] = "0.912000"
    for key, value in changes.items():
        if value is DROP:
            out.pop(key, None)
        else:
            out[key] = value
    return out


DROP = object()


def wire(p: dict) -> bytes:
    """The camera's JSON text: plateText and plateUnicode as lowercase \\uXXXX escapes."""
    text = json.dumps(p, indent=2, ensure_ascii=False)
    for key in ("plateText", "plateUnicode"):
        if isinstance(p.get(key), str):
            escaped = "".join("\\u%04x" % ord(ch) for ch in p[key])
            text = text.replace(f'"{key}": {json.dumps(p[key], ensure_ascii=False)}', f'"{key}": "{escaped}"', 1)
    return (text + "\n").encode()


def passage(gen: str, car: int, start_ms: int, counter: int, lost_after_ms: int = 5000, reliable: bool = False,
            **kw) -> list[tuple[dict, int]]:
    """A passage as (payload, sender time ms): New, an Update with the direction 40 ms later, a
    grown plate text 200 ms later, optionally a Reliable 1 s after the New, and the Lost
    lost_after_ms after the last event, repeating the capture time of its result."""
    out = [(payload(gen, "new", counter, car, start_ms, "1AB123", **kw), start_ms),
           (payload(gen, "update", counter + 1, car, start_ms + 40, "1AB123", **kw), start_ms + 40),
           (payload(gen, "update", counter + 2, car, start_ms + 240, "1AB1234", **kw), start_ms + 240)]
    last = start_ms + 240
    if reliable:
        out.append((payload(gen, "reliable", counter + 3, car, last, "1AB1234", **kw), start_ms + 1000))
    out.append((payload(gen, "lost", counter + len(out), car, last, "1AB1234", **kw), last + lost_after_ms))
    return out


def image_array_entry(data: bytes, image_type: str = "", fmt: str = "jpg") -> dict:
    return {"ImageType": image_type, "ImageFormat": fmt, "BinaryImage": base64.b64encode(data).decode()}
