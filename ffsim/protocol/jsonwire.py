"""The camera's JSON text: two-space indentation as in the captured samples,
``plateText`` and ``plateUnicode`` written as ``\\uXXXX`` escapes (lowercase hex, as
most JSON writers do; the samples hold only digits there), every other string
as plain UTF-8, and a final newline.

The output equals ``json.dumps(payload, indent=2, ensure_ascii=False) + "\\n"``
except for those two keys; that reference is in the tests. It is written by
hand only because the standard library's indenting encoder is the slow pure
Python one, and this runs once per event per profile.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring as _string  # the C version when available

ESCAPED_KEYS = frozenset({"plateText", "plateUnicode"})
_float = float.__repr__


def u_escape(text: str) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if code > 0xFFFF:
            code -= 0x10000
            out.append("\\u%04x\\u%04x" % (0xD800 | (code >> 10), 0xDC00 | (code & 0x3FF)))
        else:
            out.append("\\u%04x" % code)
    out.append('"')
    return "".join(out)


def render_value(value, pad: str) -> str:
    """One value as it stands in the camera's text at indentation pad."""
    if type(value) is str:
        return _string(value)
    if isinstance(value, dict):
        if not value:
            return "{}"
        inner = pad + "  "
        sep = ",\n" + inner
        return "{\n" + inner + sep.join(_string(k) + ": " + render_value(v, inner) for k, v in value.items()) + "\n" + pad + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        inner = pad + "  "
        sep = ",\n" + inner
        return "[\n" + inner + sep.join(render_value(v, inner) for v in value) + "\n" + pad + "]"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return json.dumps(value) if value != value or value in (float("inf"), float("-inf")) else _float(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def render(payload: dict, escape: bool = True) -> str:
    """The payload's text as the camera writes it, without the final newline."""
    parts = []
    for key, value in payload.items():
        text = u_escape(value) if escape and key in ESCAPED_KEYS else render_value(value, "  ")
        parts.append("  " + _string(key) + ": " + text)
    return "{\n" + ",\n".join(parts) + "\n}"


def camera_json(payload: dict) -> bytes:
    """A payload dict as the camera writes it (what the HTTP ``event`` part carries)."""
    return (render(payload) + "\n").encode("utf-8")
