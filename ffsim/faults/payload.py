"""Payload faults: a packet's JSON or images made wrong on purpose, one named way at a time.

Sans-I/O: each fault turns a payload into a ``FaultedPayload`` that stands in for it everywhere
(``camera_json()`` for the wire, ``compact()`` for ``ffsim events``, ``as_dict()``,
``attachments``). The JSON is changed as data and written again by the camera's own writer
(``protocol.jsonwire``), so everything but the fault stays byte for byte the camera's; invalid
UTF-8 is put into the bytes themselves, since no JSON value can hold it.
"""

from __future__ import annotations

import json
import re

from ..engine.plates import Rng
from ..protocol.jsonwire import camera_json
from ..protocol.payload import Attachment
from ..scenario.model import PayloadFault

_SURROGATE = re.compile("[\udc80-\udcff]")
_COM_MAX = 65533  # the data of one JPEG comment segment (its length field counts itself)


def _with_data(original: Attachment, data: bytes) -> Attachment:
    """An image part whose bytes a fault chose: the camera's field, name and type, other bytes."""
    return Attachment(original.field, original.filename, original.image_format, original.image_type, lambda: data)


class FaultedPayload:
    """A payload after a fault: the interface of protocol.payload.Payload that transports,
    `ffsim events` and the tests use."""

    __slots__ = ("_dict", "_bytes", "attachments", "counter")

    def __init__(self, data: dict, attachments: tuple, counter: str, raw: bytes | None = None):
        self._dict = data
        self._bytes = raw if raw is not None else camera_json(data)
        self.attachments = attachments
        self.counter = counter  # the packet's counter as the camera counted it, even with the key gone

    def camera_json(self) -> bytes:
        return self._bytes

    def compact(self) -> str:
        text = json.dumps(self._dict, ensure_ascii=False)
        # bytes that are not UTF-8 (surrogate-escaped) are shown as their escapes: the line stays UTF-8
        return _SURROGATE.sub(lambda m: "\\u%04x" % ord(m.group()), text)

    def as_dict(self) -> dict:
        return json.loads(json.dumps(self._dict))

    def __getitem__(self, key: str):
        return self._dict[key]


def _wrong(value: object, as_type: str) -> object:
    """The value as another JSON type, saying what it said where it can: "3" as a number is 3, 3 as
    a string is "3" (a value already of that type stays as it is)."""
    if as_type == "null":
        return None
    if as_type == "number":
        if isinstance(value, bool) or value is None:
            return int(bool(value))
        if isinstance(value, (int, float)):
            return value
        if isinstance(value, str):
            for kind in (int, float):
                try:
                    return kind(value)
                except ValueError:
                    pass
            return 0
        return len(value) if isinstance(value, (list, dict)) else 0
    if as_type == "string":
        return value if isinstance(value, str) else json.dumps(value)
    if as_type == "object":
        return {"value": value}
    if as_type == "array":
        return [value]
    return value not in ("", "0", 0, None, False, [], {})  # bool


def _field(data: dict, path: str) -> tuple[dict, str] | None:
    """The dict holding a dotted key (vehicle_info.color), and the last key; None if absent."""
    *parents, last = path.split(".")
    node: object = data
    for key in parents:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        return None
    return (node, last) if last in node else None


def _oversized(data: bytes, image_format: str, size: int) -> bytes:
    """The image grown to about `size` bytes and still valid: JPEG comment segments after the
    start of image, or (PNG, BMP) bytes after the image's end, which decoders ignore."""
    grow = max(0, size - len(data))
    if image_format != "jpeg" or not data.startswith(b"\xff\xd8"):
        return data + b"\0" * grow
    segments = []
    while grow > 4:
        n = min(_COM_MAX, grow - 4)
        segments.append(b"\xff\xfe" + (n + 2).to_bytes(2, "big") + b" " * n)
        grow -= n + 4
    return data[:2] + b"".join(segments) + data[2:]


def _bad_image(fault: PayloadFault, data: bytes, image_format: str, rng: Rng) -> bytes | None:
    if fault.kind == "empty_image":
        return b""
    if fault.kind == "undecodable_image":
        if fault.how == "truncated":
            return data[: len(data) // 2]
        # seeded garbage of the image's length, not starting like any image format
        return b"\x00" + bytes(rng.index(256) for _ in range(max(15, len(data) - 1)))
    if fault.kind == "oversized_image":
        return _oversized(data, image_format, fault.size)
    return None


def apply(fault: PayloadFault, payload, inline: bool, rng: Rng) -> tuple[FaultedPayload, dict]:
    """The payload with the fault, and the fault's label details (besides type and name)."""
    data = payload.as_dict()
    attachments = tuple(payload.attachments)
    detail: dict = {}
    kind = fault.kind
    if kind == "missing_image":
        detail["images"] = len(attachments)
        attachments = ()
        if inline and isinstance(data.get("ImageArray"), list):
            data["ImageArray"] = []
    elif kind in ("empty_image", "undecodable_image", "oversized_image"):
        changed = []
        for a in attachments:
            bad = _bad_image(fault, a.data, a.image_format, rng)
            assert bad is not None
            changed.append(_with_data(a, bad))
        attachments = tuple(changed)
        detail["bytes"] = [len(a.data) for a in attachments]
        if inline and isinstance(data.get("ImageArray"), list):
            data["ImageArray"] = [a.array_entry() for a in attachments]
    elif kind == "missing_field":
        found = _field(data, fault.field)
        if found is not None:
            del found[0][found[1]]
        detail["field"] = fault.field
    elif kind == "wrong_type":
        found = _field(data, fault.field)
        if found is not None:
            node, key = found
            node[key] = _wrong(node[key], fault.as_type)
        detail.update(field=fault.field, **{"as": fault.as_type})
    elif kind == "invalid_utf8_plate":
        return _invalid_utf8(fault, payload, data, attachments)
    return FaultedPayload(data, attachments, payload.counter), detail


def _invalid_utf8(fault: PayloadFault, payload, data: dict, attachments: tuple) -> tuple[FaultedPayload, dict]:
    """The fault's bytes put at the start of the plate's value, in the bytes the camera writes."""
    raw = payload.camera_json()
    prefix = b'"' + fault.field.encode() + b'": "'
    at = raw.find(prefix)
    if at < 0:  # the generation has no such key (the loader checks it; a payload may still lack it)
        return FaultedPayload(data, attachments, payload.counter, raw), {"field": fault.field, "bytes": ""}
    at += len(prefix)
    data[fault.field] = fault.data.decode("utf-8", "surrogateescape") + str(data.get(fault.field, ""))
    return (FaultedPayload(data, attachments, payload.counter, raw[:at] + fault.data + raw[at:]),
            {"field": fault.field, "bytes": fault.data.hex()})
