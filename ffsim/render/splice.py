"""JPEG frames that re-encode only the blocks a vehicle covers.

A frame is the same noisy road every time with a vehicle somewhere on it. The
road is encoded once with a restart marker every `k` MCUs (16x16 pixel blocks
at 4:2:0 chroma subsampling), `k` dividing the number of MCUs in a row, so each
restart interval is a fixed rectangle of the frame whose entropy-coded bytes
depend on its pixels alone (restarts reset the DC predictions and byte-align
the bit stream). A frame is then the road's bytes with the intervals under the
vehicle replaced by those of a small encode of that rectangle, the markers
renumbered as they stand in the whole frame. The result is byte-identical to
encoding the whole frame with the same settings (tests/test_images.py checks
it), at the cost of the small encode.
"""

from __future__ import annotations

import io
import re

from PIL import Image

MCU = 16  # pixels: one MCU at 4:2:0
SUBSAMPLING = "4:2:0"  # fixed: the MCU size above depends on it
EOI = b"\xff\xd9"
MARKERS = [b"\xff" + bytes([0xD0 + i]) for i in range(8)]
_RST = re.compile(rb"\xff[\xd0-\xd7]")  # in entropy-coded data, a 0xff byte is followed by 0x00


def jpeg(img: Image.Image, quality: int, interval: int = 0, subsampling: str = SUBSAMPLING) -> bytes:
    """Pillow's JPEG encode, settings spelt out so that no change of Pillow's defaults changes the bytes."""
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality, subsampling=subsampling, restart_marker_blocks=interval)
    return out.getvalue()


def interval_for(width: int) -> int:
    """MCUs per restart interval: the largest divisor of the MCU row up to 8 (128 pixels)."""
    mcus = -(-width // MCU)
    return max(d for d in range(1, min(8, mcus) + 1) if mcus % d == 0)


def _split(data: bytes) -> tuple[bytes, list[bytes]]:
    """(everything up to the scan data, the scan's restart intervals without their markers)."""
    pos = 2  # after SOI
    while True:
        # marker segments: 0xff, type, 2-byte length that counts itself
        kind = data[pos + 1]
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        pos += 2 + length
        if kind == 0xDA:  # start of scan: entropy-coded data follows
            break
    if not data.endswith(EOI):
        raise ValueError("JPEG does not end with EOI")
    return data[:pos], _RST.split(data[pos:-2])


class SplicedJpeg:
    """A frame's JPEG encoded once, whose rectangles of restart intervals can be replaced."""

    def __init__(self, img: Image.Image, quality: int):
        self.width, self.height = img.size
        self.quality = quality
        self.k = interval_for(self.width)
        self.per_row = -(-self.width // MCU) // self.k  # intervals in a row of MCUs
        self.rows = -(-self.height // MCU)
        self.header, segments = _split(jpeg(img, quality, self.k))
        if len(segments) != self.per_row * self.rows:
            raise ValueError(f"expected {self.per_row * self.rows} restart intervals, found {len(segments)}")
        # each interval with the marker that follows it in the whole frame (none after the last)
        self.segments = [s + MARKERS[i % 8] for i, s in enumerate(segments)]
        self.segments[-1] = segments[-1]

    def region(self, left: int, top: int, right: int, bottom: int) -> tuple[int, int, int, int]:
        """The smallest rectangle of whole restart intervals holding the pixel box [left, right) x [top, bottom)."""
        step = self.k * MCU
        x0, y0 = max(0, left) // step * step, max(0, top) // MCU * MCU
        x1 = min(self.width, -(-min(self.width, right) // step) * step)
        y1 = min(self.height, -(-min(self.height, bottom) // MCU) * MCU)
        return (x0, y0, max(x1, x0 + 1), max(y1, y0 + 1))

    def splice(self, patch: Image.Image, box: tuple[int, int, int, int]) -> bytes:
        """The frame's JPEG with patch (the pixels of box, a rectangle from region()) in place."""
        x0, y0, x1, y1 = box
        step = self.k * MCU
        first_col, cols = x0 // step, -(-(x1 - x0) // step)
        first_row = y0 // MCU
        _, new = _split(jpeg(patch, self.quality, self.k))
        if len(new) != cols * -(-(y1 - y0) // MCU):
            raise ValueError("patch is not a rectangle of whole restart intervals")
        segments = self.segments.copy()
        last = len(segments) - 1
        for j, data in enumerate(new):
            i = (first_row + j // cols) * self.per_row + first_col + j % cols
            segments[i] = data if i == last else data + MARKERS[i % 8]
        return b"".join((self.header, *segments, EOI))
