"""A multipart/form-data body as its parts, read by python-multipart (sans-I/O, no copies of the
body beyond the parts themselves); the receiver's one multipart parser.

A part is a file when its Content-Disposition names a filename (the camera's images, and
its event when sent as a file), otherwise a field; either way its bytes are kept as they
came (the event's text is checked as the bytes the camera sent). What the receiver must
refuse is raised as MultipartError with words for the violation: no boundary, a part
without a Content-Disposition, a body that ends before its closing boundary, malformed
framing, and more than ``max_parts`` parts (TooManyParts, raised as soon as the part over
the limit begins, so that a body of thousands of parts costs little).
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from typing import NamedTuple

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header


# the parser logs what it raises about (hostile bodies' bytes): to a logger of its own that keeps quiet
_QUIET = logging.Logger("ffsim.receiver.multipart")
_QUIET.addHandler(logging.NullHandler())


class MultipartError(ValueError):
    """The body cannot be read as multipart/form-data (the message says why)."""


class TooManyParts(MultipartError):
    pass


class Part(NamedTuple):
    name: str | None  # the Content-Disposition's name
    filename: str | None  # None: a field (no filename given)
    content_type: str  # the part's Content-Type ("" when it has none)
    data: bytes


def mimetype(content_type: str) -> str:
    """The media type of a Content-Type header value, lower case, without its parameters."""
    return parse_options_header(content_type)[0].decode("latin-1")


_FILENAME_STAR = re.compile(r"(?i)(?:^|;)\s*filename\*\s*=\s*([^;]*)")


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8", "replace")


def parse(content_type: str, body: bytes, max_parts: int) -> list[Part]:
    """The parts of body, in order (see the module's text); MultipartError when it is unreadable."""
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise MultipartError("no boundary in the Content-Type")
    parts: list[Part] = []
    headers: dict[str, str] = {}
    field: list[bytes] = []
    value: list[bytes] = []
    chunks: list[bytes] = []
    done = False

    def on_part_begin() -> None:
        if len(parts) >= max_parts:
            raise TooManyParts(f"more than {max_parts} parts")
        headers.clear()
        chunks.clear()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        field.append(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        value.append(data[start:end])

    def on_header_end() -> None:
        name = b"".join(field).decode("latin-1").strip(" \t").lower()
        headers.setdefault(name, b"".join(value).decode("utf-8", "replace").strip(" \t"))
        field.clear()
        value.clear()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        chunks.append(data[start:end])

    def on_part_end() -> None:
        disposition = headers.get("content-disposition")
        if disposition is None:
            raise MultipartError("a part without a Content-Disposition header")
        _, params = parse_options_header(disposition)
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        filename = params.get(b"filename")
        if filename is None and (star := _FILENAME_STAR.search(disposition)) is not None:
            # RFC 5987 (charset'language'percent-encoded), which the library drops: a file part
            # all the same, never discarded as a plain field
            raw = star.group(1).strip().strip('"')
            _charset, _, rest = raw.partition("'")
            _, _, quoted = rest.partition("'")
            filename = urllib.parse.unquote_to_bytes(quoted if rest else raw)
        parts.append(Part(_text(params.get(b"name")), _text(filename), headers.get("content-type", ""), data))

    def on_end() -> None:
        nonlocal done
        done = True

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_part_data": on_part_data, "on_part_end": on_part_end,
        "on_end": on_end})
    parser.logger = _QUIET
    try:
        parser.write(body)
        parser.finalize()
    except MultipartParseError as exc:
        raise MultipartError(str(exc)) from None
    except ValueError as exc:
        if isinstance(exc, MultipartError):
            raise
        raise MultipartError(str(exc)) from None
    if not done:
        raise MultipartError("the body ends before its closing boundary")
    return parts
