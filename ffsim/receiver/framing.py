"""Where one JSON document ends in a TCP byte stream, found without decoding it (sans-I/O).

Cameras write JSON documents back to back on a TCP connection, with or without
whitespace between them, in reads of any size. Framing by brackets and strings alone
(all ASCII, which UTF-8 never uses inside a multi-byte character) means a document
that will not decode (invalid UTF-8, a lone surrogate, a 5,000-digit number, 100,000
brackets) is still one document: it is recorded with its violations and the documents
after it are read as usual. Bytes between documents that cannot start one are handed
back as junk, up to the next ``{`` or ``[``.
"""

from __future__ import annotations

import re

_OUTSIDE = re.compile(rb'[{}\[\]"]')  # what matters between strings
_INSIDE = re.compile(rb'["\\]')  # what matters inside a string
_START = re.compile(rb"[{\[]")
_SPACE = b" \t\r\n"

DOCUMENT = "document"
JUNK = "junk"


class JsonFramer:
    """feed(bytes) -> [(DOCUMENT | JUNK, bytes)], in stream order. The scan resumes where it
    stopped, so a document arriving in many reads costs one pass over its bytes."""

    def __init__(self, limit: int):
        self.limit = limit
        self.overflow = False  # a document grew past limit bytes: the stream cannot be followed further
        self.documents = 0  # documents handed back so far
        self._buffer = bytearray()
        self._scan = 0  # where the scan resumes, in _buffer
        self._depth = 0  # > 0: inside a document that starts at _buffer[0]
        self._in_string = False

    @property
    def pending(self) -> int:
        """Bytes of a document begun and not finished (0 between documents)."""
        return len(self._buffer) if self._depth else 0

    def feed(self, data: bytes) -> list[tuple[str, bytes]]:
        if self.overflow:
            raise ValueError("the stream was given up after a document over the limit")
        self._buffer += data
        out: list[tuple[str, bytes]] = []
        buffer = self._buffer
        while True:
            if not self._depth:
                start = 0
                while start < len(buffer) and buffer[start] in _SPACE:
                    start += 1
                if start == len(buffer):
                    buffer.clear()
                    self._scan = 0
                    return out
                if buffer[start] not in b"{[":
                    found = _START.search(buffer, start)
                    end = found.start() if found else len(buffer)
                    out.append((JUNK, bytes(buffer[start:end])))
                    del buffer[:end]
                    continue
                del buffer[:start]
                self._depth, self._scan, self._in_string = 1, 1, False
            end = self._advance()
            if end is None:
                self.overflow = len(buffer) > self.limit
                return out
            out.append((DOCUMENT, bytes(buffer[:end])))
            self.documents += 1
            del buffer[:end]
            self._scan = 0

    def _advance(self) -> int | None:
        """Scan on from _scan; the end of the document (exclusive), or None when it has not all come."""
        buffer, index = self._buffer, self._scan
        while True:
            if self._in_string:
                found = _INSIDE.search(buffer, index)
                if found is None:
                    self._scan = len(buffer)
                    return None
                index = found.start()
                if buffer[index] == 0x5C:  # backslash: the next byte is escaped, whatever it is
                    if index + 1 >= len(buffer):
                        self._scan = index  # look at the escape again when the next byte is here
                        return None
                    index += 2
                    continue
                self._in_string = False
                index += 1
                continue
            found = _OUTSIDE.search(buffer, index)
            if found is None:
                self._scan = len(buffer)
                return None
            index = found.start()
            byte = buffer[index]
            index += 1
            if byte == 0x22:  # "
                self._in_string = True
            elif byte in b"{[":
                self._depth += 1
            else:
                self._depth -= 1
                if not self._depth:
                    return index

    def rest(self) -> bytes:
        """What is left: the start of a document that never finished."""
        return bytes(self._buffer)
