"""Whatever arrives, the validator answers with findings, never an exception, and stays small
(issue 8, items 1, 11 and 16): decode() for the packet's text, Validator.check for any JSON
shape and any image bytes, check_heartbeat for any heartbeat, bounded state per sender."""

import base64
import functools
import io
import json
import os
import struct
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from ffsim.protocol import Camera
from ffsim.receiver.validate import (DEEP, MAX_DEPTH, MAX_IMAGE_PIXELS, MAX_IMAGES, MAX_LISTED, MAX_PROFILES, NOTICE,
                                     VIOLATION, Finding, Validator, check_heartbeat, decode, image_check,
                                     is_heartbeat)
from ffsim.scenario import load_scenario

from .field_payloads import KEYS, T0, image_array_entry, jpeg, passage, payload, wire

SHAPES = ("2019", "2021-lpv", "2021-cammra", "2024-lpv", "2024-cammra", "documented")


def texts(found):
    return [str(f) for f in found]


def depth(value):
    """Nesting depth of containers, without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (list, dict)):
            deepest = max(deepest, d + 1)
            stack.extend((c, d + 1) for c in (v.values() if isinstance(v, dict) else v))
    return deepest


# -- decode: the packet's text --------------------------------------------------------------------
@pytest.mark.parametrize("gen", SHAPES)
def test_decode_of_what_cameras_send_is_json_loads_without_finding(gen):
    for p, _ in passage(gen, 412377, T0, 11890300):
        assert decode(wire(p)) == (json.loads(wire(p)), [])


def test_decode_names_the_position_of_what_is_not_json():
    assert decode(b'{\n  "a": 1,\n  "b": ]\n}') == (None, [
        Finding("json", "not JSON at line 3 column 8 (character 19): Expecting value")])
    assert texts(decode(b"")[1]) == ["json: empty: no JSON value"]
    assert texts(decode(b"[1, 2")[1]) == ["json: not JSON at line 1 column 6 (character 5): Expecting ',' delimiter"]
    assert texts(decode(b'{"a": 1} x')[1]) == ["json: not JSON at line 1 column 10 (character 9): Extra data"]


def test_decode_of_bytes_that_are_not_utf8_keeps_the_rest():
    p, found = decode(b'{"plateText": "AB\xff\xfe12", "carID": "7"}')
    assert p == {"plateText": "AB\ufffd\ufffd12", "carID": "7"}
    assert texts(found) == ["json: not UTF-8: byte 0xff at byte 17 (invalid start byte); bytes that are not UTF-8 "
                            "are read as U+FFFD"]


def test_decode_of_a_byte_order_mark_or_utf16():
    assert decode(b'\xef\xbb\xbf{"a": 1}') == ({"a": 1}, [
        Finding("json", "starts with a byte order mark (RFC 8259: a JSON text has none)")])
    assert decode('{"a": "é"}'.encode("utf-16")) == ({"a": "é"}, [
        Finding("json", "UTF-16, not UTF-8 (RFC 8259: JSON is UTF-8)")])


def test_decode_of_deep_nesting_cuts_it_with_its_position_and_stays_storable():
    text = b'{"carID": "1",\n "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    p, found = decode(text)
    assert texts(found) == [f"json: nested more than {MAX_DEPTH} levels deep at line 2 column {6 + MAX_DEPTH} "
                            f"(character {21 + MAX_DEPTH - 1}): what lies deeper is cut"]
    assert p["carID"] == "1" and depth(p) == MAX_DEPTH
    innermost = functools.reduce(lambda v, _: v[0], range(MAX_DEPTH - 2), p["x"])
    assert innermost == [json.loads(DEEP)]
    assert json.loads(json.dumps({"payload": p})) == {"payload": p}  # a record of it can be written
    objects = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    p, found = decode(objects)
    assert depth(p) == MAX_DEPTH and "at line 1 column 2561 (character 2560)" in found[0].message
    # exactly the limit is no finding; brackets in strings are no nesting
    assert decode(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH)[1] == []
    assert decode(json.dumps(["[" * 1000 + "{" * 1000]).encode()) == (["[" * 1000 + "{" * 1000], [])


def test_decode_of_deep_nesting_that_never_closes_is_not_json():
    p, found = decode(b"[" * 100_000)
    assert p is None
    assert texts(found) == [
        f"json: nested more than {MAX_DEPTH} levels deep at line 1 column {MAX_DEPTH + 1} (character {MAX_DEPTH}): "
        "what lies deeper is cut",
        "json: not JSON at line 1 column 100001 (character 100000): Expecting ',' delimiter"]


def test_decode_of_an_integer_over_4300_digits_keeps_its_text():
    p, found = decode(b'{"packetCounter": ' + b"9" * 5000 + b', "n": -' + b"1" * 4301 + b', "ok": 12}')
    assert p == {"packetCounter": "9" * 5000, "n": "-" + "1" * 4301, "ok": 12}
    assert texts(found) == ["json: an integer of 5000 digits, more than 4300 (2 such): kept as its text"]
    json.dumps(p)


def test_decode_of_numbers_beyond_a_double_keeps_their_text():
    p, found = decode(b'{"lat": 1e400, "lon": -' + b"9" * 400 + b'.5, "ok": 1.5}')
    assert p == {"lat": "1e400", "lon": "-" + "9" * 400 + ".5", "ok": 1.5}
    assert texts(found) == ["json: the number 1e400 is beyond a double's range (2 such): kept as its text"]
    json.dumps(p, allow_nan=False)


def test_decode_of_nan_and_infinity_is_a_violation_and_stays_json():
    p, found = decode(b'{"lat": NaN, "lon": Infinity, "x": [-Infinity, NaN]}')
    assert p == {"lat": "NaN", "lon": "Infinity", "x": ["-Infinity", "NaN"]}
    assert texts(found) == [
        'json: NaN (2 times) is not JSON (RFC 8259 has no NaN or Infinity): kept as the string "NaN"',
        'json: Infinity is not JSON (RFC 8259 has no NaN or Infinity): kept as the string "Infinity"',
        'json: -Infinity is not JSON (RFC 8259 has no NaN or Infinity): kept as the string "-Infinity"']
    assert all(f.severity == VIOLATION for f in found)
    json.dumps(p, allow_nan=False)


def test_decode_of_a_lone_surrogate_keeps_it_and_says_where():
    p, found = decode(b'{"plateText": "\\ud800", "v": {"k\\udfff": 1}, "ok": "\\ud83d\\ude00"}')
    assert p == {"plateText": "\ud800", "v": {"k\udfff": 1}, "ok": "\U0001F600"}
    assert texts(found) == [
        "json: a lone surrogate \\ud800 in $.plateText: not a character (RFC 8259 section 8.2); kept as it is",
        "json: a lone surrogate \\udfff in a key of $.v: not a character (RFC 8259 section 8.2); kept as it is"]
    assert json.loads(json.dumps(p)) == p  # storable (as an escape)


def test_decode_of_duplicate_keys_keeps_the_last_value_and_names_the_object():
    p, found = decode(b'{"carID": "1", "vehicle_info": {"type": "CAR", "type": "BUS"}, '
                      b'"ImageArray": [{"a b": 1, "a b": 2}], "carID": "2"}')
    assert p == {"carID": "2", "vehicle_info": {"type": "BUS"}, "ImageArray": [{"a b": 2}]}
    assert sorted(texts(found)) == sorted([
        'json: duplicate key "carID" in the payload: the last value counts',
        'json: duplicate key "type" in $.vehicle_info: the last value counts',
        'json: duplicate key "a b" in $.ImageArray[0]: the last value counts'])


def test_decode_findings_stay_few_however_many_problems():
    many = "[" + ", ".join(['{"a": 1, "a": 2, "b": "\\udc00", "c": NaN}'] * 10_000) + "]"
    p, found = decode(many.encode())
    assert len(p) == 10_000
    assert len(found) <= 2 * MAX_LISTED + 3
    assert "json: duplicate keys in 10000 objects in all (the first 5 named)" in texts(found)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20)


@given(json_values)
def test_decode_of_any_json_text_is_json_loads(value):
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False, indent=1)):
        assert decode(text.encode()) == (json.loads(text), [])


@given(json_values, st.lists(st.tuples(st.integers(0, 10_000), st.binary(min_size=0, max_size=4)
                                       | st.sampled_from([b"NaN", b"[" * 600, b"]", b"\\ud800", b"9" * 4400,
                                                          b"1e999", b'"', b"\xff", b"\xef\xbb\xbf", b"{"])),
                             max_size=4))
def test_decode_of_mangled_text_never_raises_and_stays_storable(value, edits):
    text = json.dumps(value).encode()
    for at, insert in edits:
        at %= len(text) + 1
        text = text[:at] + insert + text[at:]
    p, found = decode(text)
    assert all(isinstance(f, Finding) and f.rule == "json" and f.severity == VIOLATION for f in found)
    assert all(len(str(f)) < 300 for f in found)
    if p is None:  # not JSON (said so), or the JSON text null
        assert found or text.strip() == b"null"
    json.dumps(p, allow_nan=False)  # what the receiver stores is JSON again
    assert depth(p) <= MAX_DEPTH
    if not found:
        assert json.loads(text) == p


# -- heartbeats ---------------------------------------------------------------------------------
from .test_heartbeat import SCENARIO as HEARTBEAT_SCENARIO  # noqa: E402


@pytest.mark.parametrize("fields", ["", "fields: [system.timestamp, ALPV.numberOfReads]",
                                    "fields: [identify.macAddress]"])
def test_ffsim_heartbeats_have_no_finding(tmp_path, fields):
    path = tmp_path / "s.yaml"
    path.write_text(HEARTBEAT_SCENARIO % fields)  # the heartbeat tests' scenario
    scenario = load_scenario(path)
    beats = [p.payload for p in Camera(scenario, scenario.start_us).packets_and_heartbeats(180_000_000)
             if not hasattr(p, "profile")]
    assert len(beats) == 4
    for beat in beats:
        assert is_heartbeat(beat) and check_heartbeat(json.loads(json.dumps(beat))) == []


@pytest.mark.parametrize("beat, expected", [
    ({"ALPV": 5}, ["heartbeat: ALPV must be an object, got 5"]),
    ({"system": []}, ["heartbeat: system must be an object, got []"]),
    ({"identify": None, "ALPV": {}}, ["heartbeat: identify must be an object, got null"]),
    ({"ALPV": {"numFrames": 5, "device_ID": ["x"]}},
     ["heartbeat: ALPV.device_ID must be a string, got [\"x\"]", "heartbeat: ALPV.numFrames must be a string, got 5"]),
    ({"ALPV": {"numFrames": "²", "numberOfReads": "٣", "numFramesAvg": "5\n"}},
     ["heartbeat: ALPV.numFrames must be digits, got '²'", "heartbeat: ALPV.numFramesAvg must be digits, got '5\\n'",
      "heartbeat: ALPV.numberOfReads must be digits, got '٣'"]),
    ({"system": {"timestamp": "yesterday"}},
     ["heartbeat: system.timestamp 'yesterday' is not an ISO 8601 time like '2026-11-24T08:00:00.000Z'"]),
    ({"identify": {"macAddress": "nope"}}, ["heartbeat: identify.macAddress 'nope' is not a MAC address"]),
    ({"ALPV": {"device_ID": "G"}, "extra": 1}, ["heartbeat: unknown groups ['extra']"]),
    ({"ALPV": {"device_ID": "G", "fan": "on"}}, ["heartbeat: ALPV has keys no known camera sends: fan"]),
    ({"x": 1}, ["heartbeat: unknown groups ['x']", "heartbeat: none of the groups system, identify, ALPV"]),
    ([1], ["heartbeat: a heartbeat is a JSON object, not an array"]),
])
def test_a_heartbeat_of_any_shape_gets_findings(beat, expected):
    found = check_heartbeat(beat)
    assert sorted(texts(found)) == sorted(expected)
    assert [f.severity for f in found] == [NOTICE if "no known camera" in f.message else VIOLATION for f in found]


def test_heartbeat_findings_stay_short():
    found = check_heartbeat({f"g{i}" * 50: i for i in range(10_000)} | {"ALPV": {f"k{i}": 1 for i in range(10_000)}})
    assert len(found) == 2 and all(len(str(f)) < 700 for f in found)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                        st.sampled_from(["system", "identify", "ALPV", "timestamp", "numFrames", "macAddress",
                                         "device_ID", "x"]) | st.text(max_size=4), inner, max_size=4),
                    max_leaves=12))
def test_a_heartbeat_never_raises(beat):
    assert all(isinstance(f, Finding) and f.severity in (VIOLATION, NOTICE) for f in check_heartbeat(beat))


# -- any JSON shape in any field ---------------------------------------------------------------
ODD = [[1], ["1"], {"a": 1}, {}, [], 5, -1, 10**30, 1.5, float("nan"), float("inf"), None, True, False, "", "²",
       "٣", "١٢", "5\n", "\ud800", "\x1b[2J", "x" * 10_000, "0.٨٦٨٨٠٠", "٢٠٢٤٠٦١٤ ١٤٠٤٣٦٣٧٢"]
FIELDS = sorted(set().union(*map(set, KEYS.values())) | {"ImageArray"})


@pytest.mark.parametrize("key", FIELDS)
def test_every_field_with_any_value_gets_findings_never_an_exception(key):
    v = Validator()
    for gen in ("2019", "2024-lpv", "2021-cammra"):
        for counter, value in enumerate(ODD, 1):
            for state in ("new", "update", "lost"):
                p = payload(gen, state, counter, 77, **{key: value})
                raw = json.dumps(p).encode()
                for images in (None, [("image/jpeg", jpeg())], [(None, b"\xff\xd8\xff")]):
                    found = v.check(p, "cam|" + gen, raw, images)
                    assert all(isinstance(f, Finding) and len(str(f)) < 1000 for f in found)
            if value not in ("",) and key in ("packetCounter", "carID", "capture_timestamp", "plateConfidence",
                                              "datetime", "sensorProviderID", "profileID", "carState") \
                    and key in p:
                assert any(f.severity == VIOLATION for f in v.check(p, "other", raw)), (key, value)
    json.dumps(v.sender_summary())
    assert all(isinstance(f, Finding) for f in v.open_passages())


@pytest.mark.parametrize("key, value", [
    ("packetCounter", "٣"), ("packetCounter", "²"), ("packetCounter", "5\n"), ("carID", "٤١٢٣٧٧"),
    ("capture_timestamp", "١٧١٨٣٧٣٨٧٦٣٧٢"), ("capture_timestamp", f"{T0}\n"), ("plateConfidence", "0.٨٦٨٨٠٠"),
    ("plateConfidence", "0.868800\n"), ("datetime", "٢٠٢٤٠٦١٤ ١٦٠٤٣٦٣٧٢"), ("datetime", "20240614 160436372\n"),
    ("frame_timestamp", "1718373875706442\n"), ("timeProcessing", "٠"),
])
def test_digits_of_other_scripts_or_with_a_final_newline_are_violations(key, value):
    """int() and float() read '٣' as 3 and ignore a final newline; the protocol's numbers are ASCII."""
    p = payload("2024-lpv", **{key: value})
    found = [f for f in Validator().check(p, "cam", wire(p)) if f.severity == VIOLATION]
    assert found, (key, value)
    assert any(key in f.message for f in found)


def test_vehicle_info_confidence_in_other_scripts_is_a_violation():
    p = payload("2021-cammra", vehicle_info={"confidenceMMR": "٩٦.٦٥٧٩٦٧", "confidenceColor": "88.1\n"})
    found = Validator().check(p, "cam", wire(p))
    assert {f.message.split(" must")[0] for f in found if f.rule == "format"} == {
        "vehicle_info.confidenceMMR", "vehicle_info.confidenceColor"}


def test_values_json_cannot_write_get_findings():
    """A payload made in Python (not by decode) may hold an integer too long for str()."""
    huge = 10 ** 5000
    p = payload("2024-lpv", carID=huge, carMoveDirection=huge, plateCoordinates=[huge], vehicle_info={"type": huge})
    found = Validator().check(p, "cam")
    assert "type: carID must be a string, got (a int)" in texts(found)
    assert "type: plateCoordinates must be 4 integers, got (a list)" in texts(found)


def test_sender_and_raw_of_other_types_are_taken():
    p = payload("2024-lpv")
    assert Validator().check(p, 5, wire(p).decode()) == []


def test_findings_stay_short_whatever_the_keys():
    p = payload("2024-lpv") | {("k%d" % i) * 100: i for i in range(10_000)}
    p["vehicle_info"] = {f"v{i}": i for i in range(10_000)}
    p["camera_info"] = dict(p["camera_info"]) | {f"c{i}" * 100: "x" for i in range(10_000)}
    found = Validator().check(p, "cam")
    assert len(found) <= 3 * MAX_LISTED
    assert all(len(str(f)) < 700 for f in found)
    assert "type: vehicle_info: 9995 more values are not strings" in texts(found)
    assert any(str(f).startswith("keys: unknown: k0k0") and str(f).endswith(" and 9990 more") for f in found)


# -- images ---------------------------------------------------------------------------------------
def png(width, height, rows=b"\0"):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def jpeg_claiming(width, height):
    data = bytearray(jpeg((16, 8)))
    at = data.index(b"\xff\xc0")
    data[at + 5:at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def bmp_claiming(width, height):
    data = bytearray(jpeg((16, 8), "BMP"))
    data[18:26] = struct.pack("<ii", width, height)
    return bytes(data)


@pytest.mark.parametrize("make", [png, jpeg_claiming, bmp_claiming])
@pytest.mark.parametrize("width, height", [(60000, 60000), (10000, 10000), (8000, 7000), (65535, 1000)])
def test_an_image_claiming_too_many_pixels_is_a_violation_without_decoding(make, width, height):
    """Over Pillow's bomb limit it raised, between its warning and error limits it passed
    with a warning, and under them a 56-megapixel picture was taken for a camera's."""
    p = payload("2024-lpv")
    found = Validator().check(p, "cam", wire(p), [("image/jpeg", make(width, height))])
    assert any(f"claims {width}x{height} pixels, more than {MAX_IMAGE_PIXELS:,}" in f.message for f in found), found


def test_an_image_within_the_limit_passes():
    assert image_check(jpeg((1920, 1080))) == ("JPEG", None)
    assert image_check(jpeg((64, 32), "PNG")) == ("PNG", None)
    assert image_check(jpeg((64, 32), "BMP")) == ("BMP", None)


def noisy_jpeg():
    out = io.BytesIO()
    Image.effect_noise((256, 128), 64).convert("RGB").save(out, "JPEG")
    return out.getvalue()


BROKEN_IMAGES = [
    ("empty", b"", "not a JPEG, PNG or BMP image"),
    ("garbage", bytes(range(256)) * 4, "not a JPEG, PNG or BMP image"),
    ("gif", b"GIF89a" + b"\0" * 100, "not a JPEG, PNG or BMP image"),
    ("jpeg signature only", b"\xff\xd8\xff", "a JPEG that ends before its frame header"),
    ("jpeg cut in its header", jpeg()[:100], "JPEG"),
    ("jpeg cut in its pixels", noisy_jpeg()[:-400], "truncated"),
    ("jpeg of endless segments", b"\xff\xd8" + b"\xff\xe0\x00\x02" * 100_000,
     "a JPEG of more than 10000 segments before its frame header"),
    ("jpeg of endless fill", b"\xff\xd8" + b"\xff" * 1_000_000, "a JPEG that ends before its frame header"),
    ("jpeg of no markers", b"\xff\xd8\xff\xe0" + b"\0" * 1_000_000, "a JPEG that ends before its frame header"),
    ("png without header", b"\x89PNG\r\n\x1a\n", "a PNG without its IHDR header"),
    ("png cut", jpeg((64, 32), "PNG")[:-30], "Truncated File Read"),
    ("png of endless chunks", png(4, 4)[:-12] + b"\0\0\0\0tEXt\0\0\0\0" * 100_000, "a PNG of more than 10000 chunks"),
    ("png bad checksum", png(4, 4)[:-16] + b"\0\0\0\0" + png(4, 4)[-12:], "PNG"),
    ("bmp cut", jpeg((64, 32), "BMP")[:3000], "a BMP that ends inside its pixels (3000 bytes, 6198 needed)"),
    ("bmp header only", b"BM" + b"\0" * 10, "a BMP that ends inside its header"),
]


@pytest.mark.parametrize("name, data, words", BROKEN_IMAGES, ids=[b[0] for b in BROKEN_IMAGES])
def test_a_truncated_or_garbage_image_is_a_violation(name, data, words):
    fmt, error = image_check(data)
    assert fmt is None and words in error, error
    assert "0x" not in error  # no object address from Pillow's messages: the same bytes, the same words
    p = payload("2024-lpv", ImageArray=[image_array_entry(data)])
    found = Validator().check(p, "cam", None, [("image/jpeg", data)])
    assert [f.message for f in found if f.rule == "image"] == [f"image does not decode: {error}",
                                                                f"ImageArray[0] does not decode: {error}"]


def test_images_are_checked_up_to_a_limit_per_packet():
    p = payload("2024-lpv", ImageArray=[image_array_entry(b"x" * 10)] * 1000)
    found = Validator().check(p, "cam", None, [("image/jpeg", b"y")] * 1000)
    assert len(found) == 2 * MAX_IMAGES + 2
    assert {str(f) for f in found if f.severity == NOTICE} == {
        f"image: 1000 images: only the first {MAX_IMAGES} are checked",
        f"image: ImageArray has 1000 images: only the first {MAX_IMAGES} are checked"}


# -- the property: any JSON, any field, any image, many times per sender --------------------------
NAMES = sorted(set(FIELDS) | {"lat", "lon", "view", "type", "color", "make", "model", "confidenceMMR",
                              "SerialNumber", "MACAddress", "ImageType", "ImageFormat", "BinaryImage"})
SPECIAL = st.sampled_from(["", "²", "٣", "5\n", "new", "update", "reliable", "lost", "1", "2", "0", "jpeg", "png",
                           "unknown", "in", "\ud800", "\x1b[2J", "x" * 300, "20240614 160436372", "00000000 000000000",
                           "99991231 235959999+1400", "0.868800", str(T0), str(T0 * 1000), "4" * 20,
                           base64.b64encode(jpeg((8, 8))).decode(), "!!"])
scalars = (st.none() | st.booleans() | st.integers() | st.integers(-10**25, 10**25) | st.floats()
           | st.text(st.characters(exclude_categories=()), max_size=12) | SPECIAL)
any_json = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=6), inner,
                                                                 max_size=8),
    max_leaves=25)
deep = st.builds(lambda v, n: functools.reduce(lambda acc, i: [acc] if i % 2 else {"a": acc}, range(n), v),
                 scalars, st.integers(0, MAX_DEPTH - 2))


def mutated(gen, changes, nested):
    p = payload(gen)
    for key, value in changes:
        p[key] = value
    for group, key, value in nested:
        if isinstance(p.get(group), dict):
            p[group] = dict(p[group]) | {key: value}
        elif isinstance(p.get(group), list) and p[group]:
            p[group] = [value] + p[group][1:]
    return p


payloads = st.one_of(
    st.builds(mutated, st.sampled_from(SHAPES),
              st.lists(st.tuples(st.sampled_from(NAMES) | st.text(max_size=4), any_json | deep), max_size=6),
              st.lists(st.tuples(st.sampled_from(["vehicle_info", "camera_info", "geotag", "plateCoordinates",
                                                  "imagesURI", "ImageArray"]),
                                 st.sampled_from(NAMES), any_json), max_size=3)),
    st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=6), any_json | deep, max_size=20),
    any_json,
)
IMAGES = [jpeg(), jpeg((16, 16), "PNG"), jpeg((16, 16), "BMP"), png(60000, 60000), jpeg_claiming(60000, 60000),
          bmp_claiming(60000, -60000), noisy_jpeg()[:-400], b"", b"\xff\xd8\xff", b"BM", b"\x89PNG\r\n\x1a\n"]
images = st.lists(st.tuples(st.none() | st.sampled_from(["image/jpeg", "image/png", "", "x; y"]) | st.text(max_size=8),
                            st.sampled_from(IMAGES) | st.binary(max_size=40)), max_size=3)


def as_raw(p):
    try:
        return json.dumps(p).encode()
    except (ValueError, RecursionError):
        return None


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(st.tuples(payloads, st.none() | images, st.sampled_from(["cam", "cam|b", "other"])),
                min_size=1, max_size=10))
def test_any_json_any_image_many_times_per_sender_never_raises(packets):
    v = Validator(max_senders=2, max_passages=8)
    arrival = 100.0
    for p, pictures, sender in packets:
        for again in range(2):
            arrival += 0.5
            found = v.check(p, sender, as_raw(p) if again else None, pictures, arrival)
            assert isinstance(found, list)
            for f in found:
                assert isinstance(f, Finding) and f.severity in (VIOLATION, NOTICE)
                assert isinstance(f.rule, str) and isinstance(f.message, str) and f.message
                assert len(str(f)) < 1000
    assert all(isinstance(f, Finding) for f in v.open_passages())
    json.dumps(v.sender_summary())
    assert len(v.senders) <= 2 and len(v.passages) <= 8


# -- memory ---------------------------------------------------------------------------------------
def state_size(v):
    """Everything the validator holds, counted in entries."""
    total = len(v.senders) + len(v.passages) + len(v.forgotten)
    for s in v.senders.values():
        total += len(s.profiles) + len(s.generations) + len(s.findings) + len(s.clock.points)
        total += sum(len(pr.recent) for pr in s.profiles.values())
    return total


# the thorough profile (tests/conftest.py) sends five times as many
HOSTILE_PACKETS = 100_000 if os.environ.get("FFSIM_HYPOTHESIS_PROFILE") == "thorough" else 20_000


def test_a_hostile_sender_cannot_grow_the_state():
    """20,000 packets, each with a carID, a sensorProviderID (sender) or a profileID never seen: the
    limits (64 senders, 1000 passages, 8 profiles a sender) are reached within the first 2,000."""
    n = HOSTILE_PACKETS
    v = Validator(speed=None, max_senders=64, max_passages=1000)
    sizes = []
    base = payload("2024-lpv")
    for i in range(n):
        p = dict(base, carID=str(10**6 + i), packetCounter=str(i + 1), profileID=str(i % 5000))
        if i % 2:
            p["sensorProviderID"] = f"d{i}"
        v.check(p, "".join(["10.0.0.9:1|", p["sensorProviderID"]]), None, None, i / 100)
        if i % (n // 10) == n // 10 - 1:
            sizes.append(state_size(v))
    assert len(v.senders) == 64 and len(v.passages) == 1000
    assert all(len(s.profiles) <= MAX_PROFILES for s in v.senders.values())
    assert len(sizes) == 10 and max(sizes) <= sizes[0] * 1.05  # no growth after the first tenth
    assert v.forgotten["senders"] == n // 2 + 1 - 64 and v.forgotten["open passages"] == n - 1000
    # the hostile sender's passages share one copy of its name, however it arrives
    assert len({id(name) for name, *_ in v.passages if name == "10.0.0.9:1|PRG-82"}) == 1
    assert len(v.open_passages()) == 1000 and len(v.sender_summary()) == 64
