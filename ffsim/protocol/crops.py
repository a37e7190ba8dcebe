"""Where the plate lies in the frame and in each kind of attached image.

Shared by the payload (``plateCoordinates``, ``plateCoordinatesRelative``) and
the image renderer, so the numbers always describe the pictures sent.

Pixel positions round half up (``int(v + 0.5)``); every position that could
be negative is clamped at 0 right after, where truncation and flooring agree.
"""

from __future__ import annotations

DOWNSIZED_WIDTH = 640  # width of the "frame_downsized" image
EU_PLATE_WIDTH = 140.0  # pixels at a 1920-pixel-wide frame (engine.plates.PLATE_SIZES)

Box = tuple[int, int, int, int]  # left, top, width, height


def plate_box(x: float, y: float, w: float, h: float, frame_w: int, frame_h: int) -> Box:
    """The plate's box around its centre (x, y), clipped to the frame."""
    left = int(x - w / 2 + 0.5)
    left = 0 if left < 0 else (frame_w - 1 if left > frame_w - 1 else left)
    top = int(y - h / 2 + 0.5)
    top = 0 if top < 0 else (frame_h - 1 if top > frame_h - 1 else top)
    right = int(x + w / 2 + 0.5)
    right = frame_w if right > frame_w else (left + 1 if right < left + 1 else right)
    bottom = int(y + h / 2 + 0.5)
    bottom = frame_h if bottom > frame_h else (top + 1 if bottom < top + 1 else bottom)
    return (left, top, right - left, bottom - top)


def crop_box(kind: str, plate: Box, frame_w: int, frame_h: int) -> Box:
    """The region of the frame that an image of this kind shows (before any scaling)."""
    left, top, w, h = plate
    if kind == "plate":
        pad = max(2, int(h * 0.25 + 0.5))
        x0, y0 = max(0, left - pad), max(0, top - pad)
        x1, y1 = min(frame_w, left + w + pad), min(frame_h, top + h + pad)
        return (x0, y0, x1 - x0, y1 - y0)
    if kind == "frame" or kind == "frame_downsized":
        return (0, 0, frame_w, frame_h)
    # vehicle (also used when no image is attached): the car around its plate,
    # plate low in the picture as on the front or rear of a car. A car is about as wide
    # whatever its plate's shape: at least 4.2 widths of a European plate (140 px at 1920)
    span = max(w, EU_PLATE_WIDTH * frame_w / 1920.0)
    width, height = int(span * 4.2 + 0.5), int(span * 3.0 + 0.5)
    x0 = max(0, int(left + w / 2 - width / 2 + 0.5))
    y0 = max(0, int(top + h * 2.5 - height + 0.5))
    x1, y1 = min(frame_w, x0 + width), min(frame_h, y0 + height)
    return (x0, y0, x1 - x0, y1 - y0)


def scale_of(kind: str, frame_w: int) -> float:
    return DOWNSIZED_WIDTH / frame_w if kind == "frame_downsized" and frame_w > DOWNSIZED_WIDTH else 1.0


def relative_box(kind: str, box: Box, frame_w: int, frame_h: int) -> Box:
    """The plate's box inside an image of this kind (plateCoordinatesRelative)."""
    left, top, bw, bh = box
    x0, y0, _, _ = crop_box(kind, box, frame_w, frame_h)
    s = scale_of(kind, frame_w)
    if s == 1.0:
        return (left - x0, top - y0, bw, bh)
    return (int((left - x0) * s + 0.5), int((top - y0) * s + 0.5), max(1, int(bw * s + 0.5)), max(1, int(bh * s + 0.5)))
